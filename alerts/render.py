"""What a page says: one alert rendered for the pager, the ward board, e-mail and SMS.

E-mail leaves AWS in clear, so it gets a notice (hospital, unit, severity) and no clinical detail.

Pure (no boto3): the consumer renders, then hands the page to SNS. A page names hospital, unit
and bed in words, because bed labels repeat across hospitals ("ICU-02" existed in two hospitals
of one ``make run``); it carries no patient or encounter id (those stay in the lake). Every page
has a ``page_id`` that is the same however often the alert record is read again or the alert
raised again by a replay, so a repeat can be dropped by every consumer (the ledger, the local
pager, an integration).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from core.schema.events import Alert, iso_ms, place_text

SUBJECT_LIMIT = 99  # SNS: a Subject is under 100 characters, one line
SMS_LIMIT = 160
MACHINE_FIELDS = ("alert_id", "episode_id", "rule", "severity", "status", "tier", "hospital_id", "unit", "bed",
                  "message", "values", "news2_total", "delayed", "context", "oldest_value_age_s")


def page_id(alert: Alert) -> str:
    """One id per page (not per episode): an episode's open, re-alert and escalation pages differ.

    The detector's alert id already names the page (an episode's id, with the number of the
    re-alert, worsening or escalation); its time does not belong in the key: a page a timer raises carries the
    processing time it fired, which differs when a restarted job replays from its checkpoint."""
    key = f"{alert.alert_id}|{alert.status}|{alert.tier or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def hospital_words(hospital_id: str, names: dict[str, str]) -> str:
    name = names.get(hospital_id)
    return f"{name} ({hospital_id})" if name else f"hospital {hospital_id}"


def place_words(alert: Alert, names: dict[str, str]) -> str:
    return f"{hospital_words(alert.hospital_id, names)}, {alert.unit}, bed {alert.bed}"


def one_line(text: str) -> str:
    """No CR/LF or other control characters: SNS rejects them in a Subject, pagers mangle them."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


@dataclass(frozen=True)
class Page:
    page_id: str
    alert: Alert
    text: str  # the one line a pager shows
    held_since_ms: int | None = None  # first failed attempt: the page is delivered late, and says so

    def line(self) -> str:
        if self.held_since_ms is None:
            return self.text
        return f"HELD, raised {iso_ms(self.alert.ts_ms)[11:19]}Z: {self.text}"

    def notice(self, names: dict[str, str]) -> str:
        """What may leave AWS in clear: which hospital and unit have a page, of what severity."""
        a = self.alert
        held = "HELD " if self.held_since_ms is not None else ""
        return one_line(f"{held}{a.severity.upper()} page, {hospital_words(a.hospital_id, names)}, {a.unit}")

    def subject(self, names: dict[str, str]) -> str:
        """SNS puts the Subject on e-mail only (and in the envelope of non-raw HTTP deliveries): the notice."""
        line = self.notice(names)
        return line if len(line) <= SUBJECT_LIMIT else line[:SUBJECT_LIMIT - 1] + "…"

    def body(self, names: dict[str, str]) -> dict:
        """The machine-readable page (SQS integrations, the ward board)."""
        a = self.alert
        body = {k: getattr(a, k) for k in MACHINE_FIELDS}
        body.update(page_id=self.page_id, hospital=hospital_words(a.hospital_id, names), text=self.line(),
                    ts=iso_ms(a.ts_ms), episode_start=iso_ms(a.episode_start_ms),
                    held=self.held_since_ms is not None)
        return body

    def email(self, names: dict[str, str]) -> str:
        """The e-mail body: a notice, no clinical detail. SNS hands e-mail to SMTP, unencrypted end to
        end, to mailboxes outside AWS and the BAA; bed, values and times stay on the pager, the ward
        board and the queues, inside AWS."""
        a = self.alert
        lines = [self.notice(names), "",
                 f"Hospital:  {hospital_words(a.hospital_id, names)}",
                 f"Unit:      {a.unit}",
                 f"Severity:  {a.severity.upper()}" + (f" (escalated to {a.tier.replace('_', ' ')})" if a.tier else ""),
                 f"Status:    {a.status}"]
        if self.held_since_ms is not None:
            lines.append("Note:      delivery was held (notification service unavailable)")
        lines += ["", "The bed and the values are on the ward board and the unit's pager: e-mail leaves the",
                  "hospital's AWS account unencrypted, so it carries neither.",
                  "", f"Page id {self.page_id}: a repeat of this id is the same page."]
        return "\n".join(lines)

    def sms(self) -> str:
        line = self.line()
        return line if len(line) <= SMS_LIMIT else line[:SMS_LIMIT - 1] + "…"

    def attributes(self) -> dict[str, str]:
        """What subscription filter policies match on: hospital and unit together, never unit alone."""
        a = self.alert
        return {"hospital": a.hospital_id, "unit": a.unit, "severity": a.severity, "status": a.status,
                "rule": a.rule, "tier": a.tier or "primary", "page_id": self.page_id}

    def sns_request(self, topic_arn: str, names: dict[str, str]) -> dict:
        """SNS Publish arguments: one message per protocol (JSON for queues, text for e-mail and SMS)."""
        machine = json.dumps(self.body(names), sort_keys=True)
        email = self.email(names)
        message = {"default": machine, "sqs": machine, "lambda": machine, "https": machine, "http": machine,
                   "email": email, "email-json": email, "sms": self.sms()}
        return {"TopicArn": topic_arn, "Subject": self.subject(names), "MessageStructure": "json",
                "Message": json.dumps(message),
                "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in self.attributes().items()}}


def render(alert: Alert, names: dict[str, str]) -> Page:
    """The page for an alert: the detector's text with the place spelled out."""
    where = place_text(alert.hospital_id, alert.unit, alert.bed)
    words = place_words(alert, names)
    text = alert.message.replace(where, words, 1) if where in alert.message else f"{words}: {alert.message}"
    return Page(page_id(alert), alert, one_line(text))
