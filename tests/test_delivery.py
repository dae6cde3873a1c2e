"""The delivery core (alerts/render.py, routing.py, delivery.py): plain Python, milliseconds.

The ledger and SNS here are in-memory stand-ins with the adapters' contract (``claim`` ->
new/delivered/claimed or LedgerUnavailable; ``publish`` -> id or PublishFailed), so outages can
be switched on and off per call. The real adapters run against moto in test_alerts.py and the
whole service under the KCL in test_delivery_service.py.
"""

from __future__ import annotations

import json

import pytest

from alerts.delivery import Delivery, LedgerUnavailable, PublishFailed
from alerts.render import page_id, render
from alerts.routing import Router
from core.config import Config, ConfigError
from core.schema.events import Alert, encode

T0 = 1_795_000_000_000
NAMES = {"H01": "Northgate General", "H02": "Riverside"}


def alert(i: int = 0, **kw) -> Alert:
    base = dict(alert_id=f"a{i}", rule="spo2_low", severity="critical", status="open", patient_id=f"P-{i:06d}",
                encounter_id="E-9", hospital_id="H01", unit="ICU", bed="ICU-04", ts_ms=T0 + i * 1000,
                episode_start_ms=T0, message="CRITICAL H01 ICU bed ICU-04: SpO2 82% (limit <85) since 11:06Z",
                values={"spo2": 82.0, "limit": 85}, news2_total=7)
    base.update(kw)
    return Alert(**base)


class Ledger:
    def __init__(self):
        self.items: dict[str, str] = {}
        self.down = False

    def claim(self, pid: str) -> str:
        if self.down:
            raise LedgerUnavailable("HTTP 500")
        if pid in self.items:
            return "delivered" if self.items[pid] == "delivered" else "claimed"
        self.items[pid] = "claimed"
        return "new"

    def mark_delivered(self, pid: str, message_id: str) -> None:
        if self.down:
            raise LedgerUnavailable("HTTP 500")
        self.items[pid] = "delivered"


class Sns:
    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []  # (topic, page id, line)
        self.failing: set[str] = set()  # topics that answer with an error

    def publish(self, page, topic):
        if topic in self.failing or "*" in self.failing:
            raise PublishFailed("InternalError: 503")
        self.sent.append((topic, page.page_id, page.line()))
        return f"m{len(self.sent)}"


class Clock:
    def __init__(self):
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


def delivery(ledger=None, routes=None) -> tuple[Delivery, Sns, Clock, list]:
    sns, clock, dead = Sns(), Clock(), []
    router = Router("arn:default", routes or [])
    d = Delivery(ledger=ledger, publisher=sns, router=router, names=NAMES, clock_ms=clock,
                 dead_letter=lambda data, reason: dead.append(reason), retry_max_ms=5000)
    return d, sns, clock, dead


# ---- rendering ------------------------------------------------------------------------------
def test_page_names_hospital_unit_and_bed_in_words_and_carries_no_patient_ids():
    page = render(alert(), NAMES)
    assert page.text == "CRITICAL Northgate General (H01), ICU, bed ICU-04: SpO2 82% (limit <85) since 11:06Z"
    body = page.body(NAMES)
    assert "patient_id" not in body and "encounter_id" not in body and "P-000000" not in json.dumps(body)
    assert body["hospital"] == "Northgate General (H01)" and body["page_id"] == page.page_id
    assert render(alert(hospital_id="H09", message="URGENT H09 ICU bed ICU-04: x"), NAMES).text == \
        "URGENT hospital H09, ICU, bed ICU-04: x"


def test_email_gets_readable_text_and_queues_get_json():
    request = render(alert(), NAMES).sns_request("arn:t", NAMES)
    per_protocol = json.loads(request["Message"])
    assert request["MessageStructure"] == "json"
    email = per_protocol["email"]
    assert email.startswith("CRITICAL page, Northgate General (H01), ICU") and "{" not in email
    assert "Hospital:  Northgate General (H01)" in email and "Unit:      ICU" in email
    assert json.loads(per_protocol["sqs"])["bed"] == "ICU-04"
    assert len(per_protocol["sms"]) <= 160
    attrs = {k: v["StringValue"] for k, v in request["MessageAttributes"].items()}
    assert (attrs["hospital"], attrs["unit"], attrs["page_id"]) == ("H01", "ICU", page_id(alert()))


def test_email_leaves_aws_without_clinical_detail():
    """Issue 16: the optional e-mail subscription sent the page text (bed, values, NEWS2, episode
    times) out of AWS in clear: SNS hands e-mail to SMTP, to mailboxes outside the BAA. E-mail (and
    e-mail-json, and the Subject, which SNS puts on e-mail) now says which hospital and unit have a
    page of what severity, and where to read it; the pager, queues and the ward board keep the detail."""
    a = alert(status="escalated", tier="charge_nurse", delayed=True)
    page = render(a, NAMES)
    request = page.sns_request("arn:t", NAMES)
    per_protocol = json.loads(request["Message"])
    leaving = {"subject": request["Subject"], "email": per_protocol["email"], "email-json": per_protocol["email-json"]}
    for protocol, text in leaving.items():
        for detail in ("ICU-04", "82", "SpO2", "spo2", "limit", "NEWS2", "11:06", "P-0", "E-9", a.alert_id):
            assert detail not in text, (protocol, detail, text)
        assert "Northgate General (H01)" in text and "ICU" in text and "CRITICAL" in text, (protocol, text)
    assert "ward board" in per_protocol["email"] and page.page_id in per_protocol["email"]
    assert "escalated to charge nurse" in per_protocol["email"]
    # What stays inside AWS keeps what the clinician needs.
    assert "bed ICU-04: SpO2 82%" in per_protocol["sms"] and json.loads(per_protocol["sqs"])["values"]["spo2"] == 82.0


def test_subject_is_one_line_under_100_characters():
    page = render(alert(unit="ICU line one\r\nSubject: injected " + "x" * 200), NAMES)
    assert "\n" not in page.subject(NAMES) and "\r" not in page.subject(NAMES) and len(page.subject(NAMES)) <= 99


def test_page_id_is_stable_and_differs_per_page_of_an_episode():
    assert page_id(alert()) == page_id(alert())
    ids = {page_id(alert(status=s, tier=t)) for s, t in (("open", None), ("re-alert", None), ("escalated", "charge_nurse"),
                                                        ("escalated", "rapid_response"))}
    assert len(ids) == 4


# ---- routing --------------------------------------------------------------------------------
def test_most_specific_route_wins_and_tiers_have_their_own_destination():
    cfg = Config({"delivery.topic.arn": "arn:default", "delivery.routes": json.dumps([
        {"tier": "rapid_response", "topic": "arn:rrt"},
        {"hospital": "H01", "unit": "ICU", "topic": "arn:h01-icu"},
        {"hospital": "H01", "unit": "ICU", "tier": "rapid_response", "topic": "arn:h01-icu-rrt"},
        {"hospital": "H02", "topic": "arn:h02"}])})
    router = Router.from_config(cfg)
    assert router.topic_for(alert()) == "arn:h01-icu"
    assert router.topic_for(alert(status="escalated", tier="rapid_response")) == "arn:h01-icu-rrt"
    assert router.topic_for(alert(hospital_id="H03", status="escalated", tier="rapid_response")) == "arn:rrt"
    assert router.topic_for(alert(hospital_id="H02", unit="Ward-A")) == "arn:h02"
    assert router.topic_for(alert(hospital_id="H03")) == "arn:default"


@pytest.mark.parametrize("settings, named", [
    ({"delivery.routes": "[{"}, "delivery.routes"),
    ({"delivery.routes": json.dumps([{"unit": "ICU"}]), "delivery.topic.arn": "arn:x"}, "delivery.routes"),
    ({"delivery.routes": json.dumps([{"topic": "arn:x", "ward": "A"}]), "delivery.topic.arn": "arn:x"}, "delivery.routes"),
    ({"delivery.hospital.names": "[]"}, "delivery.hospital.names"),
    ({}, "delivery.topic.arn"),
])
def test_routing_configuration_errors_name_the_setting(settings, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        Router.from_config(Config(settings))


# ---- delivery -------------------------------------------------------------------------------
def test_pages_held_through_an_sns_outage_are_all_delivered_later_and_say_so():
    d, sns, clock, _ = delivery(Ledger())
    sns.failing.add("*")
    for i in range(5):
        d.accept((100 + i, 0), encode(alert(i)))
    for _ in range(40):  # 40 s of outage, far past any retry budget
        clock.ms += 1000
        d.retry_due()
    assert sns.sent == [] and d.held == 5
    assert d.checkpoint_position() is None  # nothing checkpointed: a crash now re-reads all five
    assert d.counts.oldest_held_s == 40.0
    sns.failing.clear()
    clock.ms += 5000
    d.retry_due()
    assert [pid for _, pid, _ in sns.sent] == [page_id(alert(i)) for i in range(5)]
    held_at = "11:06:40Z"
    assert all(line.startswith("HELD, raised ") for _, _, line in sns.sent) and held_at[:5] in sns.sent[0][2]
    assert d.held == 0 and d.checkpoint_position() == (104, 0)
    assert (d.counts.delivered, d.counts.delivered_late) == (5, 5)


def test_a_held_page_holds_the_checkpoint_not_the_pages_after_it():
    d, sns, clock, _ = delivery(routes=None)
    d.router = Router("arn:default", [])
    sns.failing.add("arn:default")
    d.accept((1, 0), encode(alert(1)))
    sns.failing.clear()
    clock.ms += 10_000
    d.retry_due()
    d.accept((2, 0), encode(alert(2)))
    assert d.checkpoint_position() == (2, 0)


def test_one_broken_topic_does_not_hold_other_destinations():
    from alerts.routing import Route

    d, sns, clock, _ = delivery(routes=[Route("arn:rrt", tier="rapid_response")])
    d.router = Router("arn:default", [Route("arn:rrt", tier="rapid_response")])
    sns.failing.add("arn:rrt")
    d.accept((1, 0), encode(alert(1, status="escalated", tier="rapid_response")))
    d.accept((2, 0), encode(alert(2)))
    assert [t for t, _, _ in sns.sent] == ["arn:default"] and d.held == 1
    assert d.checkpoint_position() is None  # record 1 is still owed a page
    sns.failing.clear()
    clock.ms += 10_000
    d.retry_due()
    assert d.checkpoint_position() == (2, 0)


def test_a_ledger_outage_never_blocks_a_page_and_is_reconciled_later():
    ledger = Ledger()
    d, sns, clock, _ = delivery(ledger)
    ledger.down = True
    d.accept((1, 0), encode(alert(1)))
    d.accept((2, 0), encode(alert(2)))  # the ledger is not asked again for every page while it is down
    assert len(sns.sent) == 2 and d.counts.ledger_errors == 1  # paged anyway
    assert d.checkpoint_position() == (2, 0)
    ledger.down = False
    clock.ms += 5000
    d.retry_due()
    assert ledger.items == {page_id(alert(1)): "delivered", page_id(alert(2)): "delivered"}


def test_no_page_twice_a_repeat_of_a_delivered_page_is_dropped():
    ledger = Ledger()
    d, sns, _, _ = delivery(ledger)
    d.accept((1, 0), encode(alert(1)))
    d.accept((2, 0), encode(alert(1)))  # the job replayed it after a restore
    d2, sns2, _, _ = delivery(ledger)  # another worker (or a restart) reads it again
    d2.accept((1, 0), encode(alert(1)))
    assert len(sns.sent) == 1 and sns2.sent == []
    assert d.counts.duplicates_dropped == 1 and d2.counts.duplicates_dropped == 1


def test_a_claim_left_by_a_crashed_attempt_is_sent_again_with_the_same_id():
    ledger = Ledger()
    ledger.items[page_id(alert(1))] = "claimed"  # claimed, then the process died (before or after SNS)
    d, sns, _, _ = delivery(ledger)
    d.accept((1, 0), encode(alert(1)))
    assert [pid for _, pid, _ in sns.sent] == [page_id(alert(1))]


def test_unrenderable_records_go_to_the_dead_letter_queue_with_the_reason():
    d, sns, _, dead = delivery()
    d.accept((1, 0), b"not json")
    d.accept((2, 0), json.dumps({"type": "alert", "schema_version": 1, "ts": "2026-11-18T11:06:40Z"}).encode())
    d.accept((3, 0), encode(alert(3, unit="ICU\r\nX")))
    assert sns.sent == [] and len(dead) == 3 and d.counts.dead_lettered == 3
    assert dead[0].startswith("not JSON") and dead[1].startswith("alert lacks alert_id") and "control characters" in dead[2]
    assert d.checkpoint_position() == (3, 0)


def test_alerts_recorded_without_paging_are_not_sent():
    d, sns, _, _ = delivery()
    d.accept((1, 0), encode(alert(1, status="acknowledged", severity="info", paged=False)))
    assert sns.sent == [] and d.counts.not_paged == 1 and d.checkpoint_position() == (1, 0)
