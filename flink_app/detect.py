"""Critical-event detection as a plain-Python state machine, one state per patient.

The Flink operator keeps ``PatientState`` in keyed state and calls ``Detector.step`` for each
enriched reading. One alert opens an episode per patient and rule; nothing more is sent while
the condition persists; an all-clear closes it once the value has recovered past the limit
by a hysteresis margin (so a value hovering at the limit does not page again and again).
Critical limits alert with no persistence delay (CLINICAL.md, "Alarm fatigue": a separate
critical limit that alarms at once). Default limits are NEWS2 "3 in a single parameter"
(RCP 2017 Chart 1) and the source systems' SpO2 < 92% low-oxygen alert.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from flink_app.schema.events import Alert, iso_ms


@dataclass(frozen=True)
class ThresholdRule:
    name: str
    vital: str
    label: str
    unit: str
    op: str  # "<", "<=", ">", ">="
    setting: str  # the configuration key holding the limit
    clear_margin: float  # the value must recover this far past the limit to end the episode
    severity: str = "critical"

    def breached(self, value: float, limit: float) -> bool:
        return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[self.op]

    def recovered(self, value: float, limit: float) -> bool:
        if self.op in ("<", "<="):
            return value >= limit + self.clear_margin
        return value <= limit - self.clear_margin


RULES: tuple[ThresholdRule, ...] = (
    ThresholdRule("spo2_low", "spo2", "SpO2", "%", "<", "detection.spo2.low", 2),
    ThresholdRule("heart_rate_high", "heart_rate", "Heart rate", "/min", ">=", "detection.heart_rate.critical.high", 10),
    ThresholdRule("heart_rate_low", "heart_rate", "Heart rate", "/min", "<=", "detection.heart_rate.critical.low", 5),
)


@dataclass
class Episode:
    alert_id: str
    start_ms: int
    worst: float


@dataclass
class PatientState:
    episodes: dict[str, Episode] = field(default_factory=dict)


def alert_id(patient_id: str, rule: str, episode_start_ms: int) -> str:
    """Stable across replays: the same episode always gets the same id (SNS/consumer dedup key)."""
    return hashlib.sha256(f"{patient_id}|{rule}|{episode_start_ms}".encode()).hexdigest()[:24]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class Detector:
    def __init__(self, limits: dict[str, float], rules: tuple[ThresholdRule, ...] = RULES):
        missing = [r.setting for r in rules if r.setting not in limits]
        if missing:
            raise ValueError(f"no limit configured for {', '.join(missing)}")
        self.rules = rules
        self.limits = limits

    def step(self, state: PatientState, row: dict) -> list[Alert]:
        """Advance one patient's state with one enriched ``vitals`` row; return alerts to send."""
        out: list[Alert] = []
        for rule in self.rules:
            value = row.get(rule.vital)
            if value is None:
                continue  # absent parameter: the episode neither opens nor closes
            limit = self.limits[rule.setting]
            episode = state.episodes.get(rule.name)
            if episode is None and rule.breached(value, limit):
                aid = alert_id(row["patient_id"], rule.name, row["ts"])
                state.episodes[rule.name] = Episode(aid, row["ts"], value)
                out.append(self._alert(rule, row, aid, row["ts"], value, limit, "open"))
            elif episode is not None:
                if rule.recovered(value, limit):
                    del state.episodes[rule.name]
                    out.append(self._alert(rule, row, episode.alert_id + "-clear", episode.start_ms, value, limit, "all-clear"))
                elif rule.breached(value, episode.worst):  # worse than the worst so far
                    episode.worst = value
        return out

    def _alert(self, rule: ThresholdRule, row: dict, aid: str, start_ms: int, value: float, limit: float,
               status: str) -> Alert:
        where = f"{row['unit']} bed {row['bed']}"
        since = iso_ms(start_ms)[11:16] + "Z"
        news2 = row.get("news2_total")
        tail = f" · NEWS2 {news2}" if news2 is not None else ""
        if status == "all-clear":
            text = f"ALL CLEAR {where}: {rule.label} {_fmt(value)}{rule.unit} back in range (episode since {since})"
            severity = "info"
        else:
            text = f"{rule.severity.upper()} {where}: {rule.label} {_fmt(value)}{rule.unit} (limit {rule.op}{_fmt(limit)}) since {since}{tail}"
            severity = rule.severity
        return Alert(
            alert_id=aid, rule=rule.name, severity=severity, status=status, patient_id=row["patient_id"],
            encounter_id=row["encounter_id"], hospital_id=row["hospital_id"], unit=row["unit"], bed=row["bed"],
            ts_ms=row["ts"], episode_start_ms=start_ms, message=text,
            values={rule.vital: value, "limit": limit}, news2_total=news2,
        )


def alert_row(alert: Alert, *, published: bool, message_id: str | None, publish_ms: int | None) -> dict:
    """The ``alerts`` table row for an alert."""
    return {
        "alert_id": alert.alert_id, "rule": alert.rule, "severity": alert.severity, "status": alert.status,
        "patient_id": alert.patient_id, "encounter_id": alert.encounter_id, "hospital_id": alert.hospital_id,
        "unit": alert.unit, "bed": alert.bed, "ts": alert.ts_ms, "episode_start": alert.episode_start_ms,
        "message": alert.message, "values_json": json.dumps(alert.values, sort_keys=True),
        "news2_total": alert.news2_total, "published": published, "sns_message_id": message_id,
        "publish_ts": publish_ms,
    }
