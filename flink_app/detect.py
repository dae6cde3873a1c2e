"""Critical-event detection as a plain-Python state machine, one state per patient.

The Flink operator keeps ``PatientState`` in keyed state and calls ``Detector.step`` for each
enriched reading. Two tiers, as monitor makers do and as the alarm-fatigue evidence asks
(CLINICAL.md, "Alarm fatigue"):

* a **critical** limit alerts on the first reading past it, with no delay;
* a **standard** limit alerts only once the breach has persisted for ``persistence`` (default
  20 s; Goerges 2009: a 19 s delay removes 67% of ignored alarms), or at once when the value
  was taken by a nurse (a manual observation is not an artefact).

One alert per patient, rule and episode; an escalation if a standard episode passes the
critical limit; an all-clear once the value has recovered past the standard limit by a
hysteresis margin, so a value hovering at the limit does not page again and again.
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
    standard: str  # configuration key of the standard (persistent) limit
    critical: str  # configuration key of the critical (immediate) limit
    clear_margin: float  # recovery past the standard limit that ends an episode
    standard_scale2: str | None = None  # SpO2 rules: the standard limit for NEWS2 scale 2 patients

    def breached(self, value: float, limit: float) -> bool:
        return {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[self.op]

    def recovered(self, value: float, limit: float) -> bool:
        if self.op in ("<", "<="):
            return value >= limit + self.clear_margin
        return value <= limit - self.clear_margin


# Defaults (configuration): SpO2 < 92% is the source systems' low-oxygen alert; heart rate
# >= 131 or <= 40 scores 3 on NEWS2 (RCP 2017 Chart 1). Critical limits are set past them.
RULES: tuple[ThresholdRule, ...] = (
    # Scale 2 patients (hypercapnic, prescribed target 88-92%, RCP 2017) have their own limit.
    ThresholdRule("spo2_low", "spo2", "SpO2", "%", "<", "detection.spo2.low", "detection.spo2.critical.low", 2,
                  "detection.spo2.scale2.low"),
    ThresholdRule("heart_rate_high", "heart_rate", "Heart rate", "/min", ">=", "detection.heart_rate.high",
                  "detection.heart_rate.critical.high", 10),
    ThresholdRule("heart_rate_low", "heart_rate", "Heart rate", "/min", "<=", "detection.heart_rate.low",
                  "detection.heart_rate.critical.low", 5),
)


@dataclass
class Episode:
    alert_id: str
    start_ms: int  # first breaching reading
    worst: float
    open: bool = False  # False while a standard breach is pending its persistence
    severity: str = "urgent"


@dataclass
class PatientState:
    episodes: dict[str, Episode] = field(default_factory=dict)


def alert_id(patient_id: str, rule: str, episode_start_ms: int) -> str:
    """Stable across replays: the same episode always gets the same id (SNS/consumer dedup key)."""
    return hashlib.sha256(f"{patient_id}|{rule}|{episode_start_ms}".encode()).hexdigest()[:24]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


class Detector:
    def __init__(self, settings: dict[str, float], rules: tuple[ThresholdRule, ...] = RULES):
        needed = [k for r in rules for k in (r.standard, r.critical, r.standard_scale2) if k]
        needed.append("detection.persistence.ms")
        missing = [k for k in needed if k not in settings]
        if missing:
            raise ValueError(f"no value configured for {', '.join(missing)}")
        self.rules = rules
        self.settings = settings
        self.persistence_ms = settings["detection.persistence.ms"]

    def step(self, state: PatientState, row: dict) -> list[Alert]:
        """Advance one patient's state with one enriched ``vitals`` row; return alerts to send."""
        out: list[Alert] = []
        ts = row["ts"]
        for rule in self.rules:
            value = row.get(rule.vital)
            if value is None:
                continue  # absent parameter: the episode neither opens nor closes
            standard, critical = self.settings[rule.standard], self.settings[rule.critical]
            if rule.standard_scale2 and row.get("spo2_scale") == 2:
                standard = self.settings[rule.standard_scale2]
            ep = state.episodes.get(rule.name)
            is_critical = rule.breached(value, critical)
            if ep is None:
                if rule.breached(value, standard):
                    ep = Episode(alert_id(row["patient_id"], rule.name, ts), ts, value)
                    state.episodes[rule.name] = ep
                    if is_critical or row.get("source") == "manual" or self.persistence_ms <= 0:
                        out.append(self._open(ep, rule, row, value, standard, critical, is_critical))
                continue
            if not ep.open:
                if not rule.breached(value, standard):
                    del state.episodes[rule.name]  # the breach did not persist: no alert
                elif is_critical or ts - ep.start_ms >= self.persistence_ms:
                    out.append(self._open(ep, rule, row, value, standard, critical, is_critical))
                continue
            if rule.recovered(value, standard):
                del state.episodes[rule.name]
                out.append(self._alert(rule, row, ep.alert_id + "-clear", ep.start_ms, value, standard,
                                       "all-clear", "info"))
                continue
            if rule.breached(value, ep.worst):
                ep.worst = value
            if is_critical and ep.severity != "critical":
                ep.severity = "critical"
                out.append(self._alert(rule, row, ep.alert_id + "-esc", ep.start_ms, value, critical,
                                       "escalated", "critical"))
        return out

    def _open(self, ep: Episode, rule: ThresholdRule, row: dict, value: float, standard: float, critical: float,
              is_critical: bool) -> Alert:
        ep.open, ep.severity = True, "critical" if is_critical else "urgent"
        limit = critical if is_critical else standard
        return self._alert(rule, row, ep.alert_id, ep.start_ms, value, limit, "open", ep.severity)

    def _alert(self, rule: ThresholdRule, row: dict, aid: str, start_ms: int, value: float, limit: float,
               status: str, severity: str) -> Alert:
        where = f"{row['unit']} bed {row['bed']}"
        since = iso_ms(start_ms)[11:16] + "Z"
        news2 = row.get("news2_total")
        tail = f" · NEWS2 {news2}" if news2 is not None else ""
        if status == "all-clear":
            text = f"ALL CLEAR {where}: {rule.label} {_fmt(value)}{rule.unit} back in range (episode since {since})"
        else:
            text = (f"{severity.upper()} {where}: {rule.label} {_fmt(value)}{rule.unit} "
                    f"(limit {rule.op}{_fmt(limit)}) since {since}{tail}")
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
