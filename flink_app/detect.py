"""Critical-event detection as a plain-Python state machine, one state per patient.

The keyed Flink operator keeps ``PatientState`` in state and calls ``Detector.step`` for each
enriched reading (and ``Detector.on_encounter`` for encounter events). Every rule reduces a
reading to an ``Evaluation`` (breached? critical? recovered?) and one shared episode machine
turns evaluations into alerts, as the alarm-fatigue evidence asks (CLINICAL.md):

* a **critical** condition alerts on the first reading, with no delay;
* a **standard** condition alerts only once it has persisted for ``persistence`` (default
  20 s; Goerges 2009: a 19 s delay removes 67% of ignored alarms), or at once when the value
  was taken by a nurse (a manual observation is not an artefact);
* one alert per patient, rule and episode; an escalation if it turns critical; a re-alert
  while it lasts, at the NEWS2 minimum monitoring interval of the patient's current band
  (RCP 2017 Chart 4); an all-clear once it has recovered past a hysteresis margin.

Rules: SpO2 low and heart rate high/low (two-tier limits: NEWS2 "3" values and the source
systems' SpO2 < 92%), NEWS2 >= 5 urgent / >= 7 emergency, a single NEWS2 parameter scoring 3
(RR, SBP, temperature, ACVPU: SpO2 and pulse have their own rules), a rapid rise of NEWS2 by
3 or more within 30 minutes, and a triage 1-2 patient waiting over 15 minutes (the source
systems' undone recommendation).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from flink_app.carry_forward import LastSeen
from flink_app.clinical.rules import COMPARISONS, NEWS2_MONITORING_MINUTES
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
        return COMPARISONS[self.op](value, limit)

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
RED_SCORE_PARAMETERS = ("respiratory_rate", "systolic_bp", "temperature_c", "consciousness")
SCORE_RULES = ("news2", "news2_red_score", "news2_rapid_rise")
RAPID_RISE_WINDOW_MS = 30 * 60_000


@dataclass
class Evaluation:
    breached: bool
    critical: bool
    recovered: bool
    _text: str | None = None  # what a nurse reads: "SpO2 88% (limit <92)"
    _values: dict | None = None
    # Builds (text, values) when an alert needs them: most readings raise none, and formatting
    # them for every reading was a tenth of the per-reading work.
    describe: Callable[[], tuple[str, dict]] | None = None

    def _described(self) -> None:
        if self._text is None and self.describe is not None:
            self._text, self._values = self.describe()

    @property
    def text(self) -> str:
        self._described()
        return self._text or ""

    @property
    def values(self) -> dict:
        self._described()
        return self._values if self._values is not None else {}


@dataclass
class Episode:
    alert_id: str
    start_ms: int  # first breaching reading
    open: bool = False  # False while a standard breach is pending its persistence
    severity: str = "urgent"
    last_alert_ms: int = 0
    realerts: int = 0
    baseline: int | None = None  # rapid-rise: the NEWS2 it rose from


@dataclass
class PatientState:
    episodes: dict[str, Episode] = field(default_factory=dict)
    # complete NEWS2 total -> the latest time it was seen, last 30 min. The lowest total in a
    # window needs only each total's latest sighting: at most 21 entries, however often readings come.
    news2_history: dict[int, int] = field(default_factory=dict)
    last_band: str | None = None
    last_total: int | None = None
    last_seen: LastSeen = field(default_factory=LastSeen)  # carry-forward values


def alert_id(patient_id: str, rule: str, episode_start_ms: int) -> str:
    """Stable across replays: the same episode always gets the same id (SNS/consumer dedup key)."""
    return hashlib.sha256(f"{patient_id}|{rule}|{episode_start_ms}".encode()).hexdigest()[:24]


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def parse_unit_overrides(text: str) -> dict[str, dict[str, float]]:
    """``"ICU:spo2.low=90,heart_rate.high=140;Ward-A:persistence.ms=30000"`` -> per-unit settings."""
    out: dict[str, dict[str, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        unit, sep, assignments = part.partition(":")
        if not sep or not unit:
            raise ValueError(f"detection.unit.overrides: {part!r} should read UNIT:key=value,...")
        for assignment in assignments.split(","):
            key, sep, value = assignment.partition("=")
            if not sep:
                raise ValueError(f"detection.unit.overrides: {assignment!r} should read key=value")
            try:
                out.setdefault(unit.strip(), {})[f"detection.{key.strip()}"] = float(value)
            except ValueError:
                raise ValueError(f"detection.unit.overrides: {value!r} for {key.strip()} is not a number") from None
    return out


class Detector:
    def __init__(self, settings: dict, rules: tuple[ThresholdRule, ...] = RULES):
        needed = [k for r in rules for k in (r.standard, r.critical, r.standard_scale2) if k]
        needed += ["detection.persistence.ms", "detection.news2.persistence.ms", "detection.news2.urgent", "detection.news2.emergency",
                   "detection.news2.rapid_rise", "detection.triage.max_wait.min"]
        missing = [k for k in needed if k not in settings]
        if missing:
            raise ValueError(f"no value configured for {', '.join(missing)}")
        self.rules = rules
        self.settings = settings
        self.unit_settings = parse_unit_overrides(str(settings.get("detection.unit.overrides", "")))
        for unit, overrides in self.unit_settings.items():
            unknown = [k for k in overrides if k not in settings]
            if unknown:
                raise ValueError(f"detection.unit.overrides: unknown setting {unknown[0][10:]!r} for unit {unit}")

    def limit(self, key: str, unit: str) -> float:
        return self.unit_settings.get(unit, {}).get(key, self.settings[key])

    # ---- rules -> evaluations -----------------------------------------------------------
    def _threshold(self, rule: ThresholdRule, row: dict) -> Evaluation | None:
        value = row.get(rule.vital)
        if value is None:
            return None  # absent parameter: the episode neither opens nor closes
        unit = row["unit"]
        standard, critical = self.limit(rule.standard, unit), self.limit(rule.critical, unit)
        if rule.standard_scale2 and row.get("spo2_scale") == 2:
            standard = self.limit(rule.standard_scale2, unit)
        is_critical = rule.breached(value, critical)
        limit = critical if is_critical else standard
        return Evaluation(rule.breached(value, standard), is_critical, rule.recovered(value, standard),
                          describe=lambda: (f"{rule.label} {_fmt(value)}{rule.unit} (limit {rule.op}{_fmt(limit)})",
                                            {rule.vital: value, "limit": limit}))

    def _score(self, name: str, row: dict, state: PatientState) -> Evaluation | None:
        total = row.get("news2_total")
        if name == "news2":
            if total is None:
                return None
            urgent, emergency = self.limit("detection.news2.urgent", row["unit"]), self.limit(
                "detection.news2.emergency", row["unit"])
            band = row.get("news2_band")
            return Evaluation(total >= urgent, total >= emergency, total <= urgent - 2,
                              describe=lambda: (f"NEWS2 {total} ({band})", {"news2": total}))
        if name == "news2_red_score":
            scores = {p: row.get(f"news2_{p}") for p in RED_SCORE_PARAMETERS}
            known = {p: s for p, s in scores.items() if s is not None}
            if not known:
                return None
            threes = [p for p, s in known.items() if s == 3]

            def describe():
                text = "score 3 in " + ", ".join(p.replace("_", " ") for p in threes) if threes else "no parameter at 3"
                return f"NEWS2 {text}", {"parameters": ",".join(threes)}
            return Evaluation(bool(threes), False, not threes, describe=describe)
        if name == "news2_rapid_rise":
            if total is None:
                return None
            ts = row["ts"]
            window = [v for v, seen in state.news2_history.items() if ts - seen <= RAPID_RISE_WINDOW_MS]
            if not window:
                return None
            lowest = min(window)
            ep = state.episodes.get(name)
            base = ep.baseline if ep is not None and ep.baseline is not None else lowest
            rise = self.limit("detection.news2.rapid_rise", row["unit"])
            return Evaluation(total - lowest >= rise, False, total <= base + 1,
                              describe=lambda: (f"NEWS2 rose {lowest}→{total} within 30 min",
                                                {"news2": total, "from": lowest}))
        raise ValueError(name)

    # ---- the episode machine ------------------------------------------------------------
    def step(self, state: PatientState, row: dict) -> list[Alert]:
        """Advance one patient's state with one enriched ``vitals`` row; return alerts to send."""
        out: list[Alert] = []
        ts = row["ts"]
        evaluations = [(r.name, self._threshold(r, row)) for r in self.rules]
        evaluations += [(name, self._score(name, row, state)) for name in SCORE_RULES]
        manual = row.get("source") == "manual"
        for name, ev in evaluations:
            if ev is None:
                continue
            # Scores built from continuous monitoring (with carried values) must hold for longer,
            # and even a NEWS2 of 7 waits for it: one transient reading is not an emergency.
            # A nurse's observation set is acted on at once (RCP 2017).
            score_rule = name in SCORE_RULES
            persistence = self.limit("detection.news2.persistence.ms" if score_rule else "detection.persistence.ms",
                                     row["unit"])
            reliable = manual or persistence <= 0
            immediate = reliable or (ev.critical and not score_rule)
            ep = state.episodes.get(name)
            if ep is None:
                if ev.breached:
                    ep = Episode(alert_id(row["patient_id"], name, ts), ts)
                    if name == "news2_rapid_rise":
                        ep.baseline = int(ev.values["from"])
                    state.episodes[name] = ep
                    if immediate:
                        out.append(self._open(ep, name, row, ev))
                continue
            if not ep.open:
                if not ev.breached:
                    del state.episodes[name]  # the breach did not persist: no alert
                elif immediate or ts - ep.start_ms >= persistence:
                    out.append(self._open(ep, name, row, ev))
                continue
            if ev.recovered:
                del state.episodes[name]
                out.append(self._alert(name, row, ep.alert_id + "-clear", ep.start_ms, ev, "all-clear", "info"))
            elif ev.critical and ep.severity != "critical":
                ep.severity, ep.last_alert_ms = "critical", ts
                out.append(self._alert(name, row, ep.alert_id + "-esc", ep.start_ms, ev, "escalated", "critical"))
            elif ts - ep.last_alert_ms >= self._realert_ms(row, state):
                ep.realerts += 1
                ep.last_alert_ms = ts
                out.append(self._alert(name, row, f"{ep.alert_id}-r{ep.realerts}", ep.start_ms, ev, "re-alert",
                                       ep.severity))
        if row.get("news2_total") is not None:
            state.last_total, state.last_band = row["news2_total"], row.get("news2_band")
            history = state.news2_history
            for old in [v for v, seen in history.items() if ts - seen > RAPID_RISE_WINDOW_MS]:
                del history[old]
            total = row["news2_total"]
            history[total] = max(history.get(total, ts), ts)
        return out

    def _realert_ms(self, row: dict, state: PatientState) -> int:
        """Re-alert at the minimum monitoring interval of the patient's NEWS2 band (RCP Chart 4)."""
        band = row.get("news2_band") or state.last_band
        total = row.get("news2_total") if row.get("news2_total") is not None else state.last_total
        key = "low_zero" if band == "low" and total == 0 else (band or "medium")
        return NEWS2_MONITORING_MINUTES.get(key, 60) * 60_000

    def on_encounter(self, state: PatientState, event: dict) -> list[Alert]:
        """Encounter events: a triage 1-2 patient who waited longer than the limit."""
        if event.get("event") != "er_triage" or event.get("triage_level") not in (1, 2):
            return []
        wait = event.get("wait_minutes")
        limit = self.limit("detection.triage.max_wait.min", event.get("unit") or "ER")
        if wait is None or wait <= limit:
            return []
        start = event.get("arrival_ts") or event["ts"]
        row = {**event, "unit": event.get("unit") or "ER", "bed": event.get("bed") or "?", "news2_total": None}
        ev = Evaluation(True, False, False,
                        f"triage {event['triage_level']} patient waited {_fmt(wait)} min (limit {_fmt(limit)})",
                        {"wait_minutes": wait, "limit": limit, "triage_level": event["triage_level"]})
        return [self._alert("triage_wait", row, alert_id(event["patient_id"], "triage_wait", start), start, ev,
                            "open", "urgent")]

    def _open(self, ep: Episode, name: str, row: dict, ev: Evaluation) -> Alert:
        ep.open, ep.severity, ep.last_alert_ms = True, "critical" if ev.critical else "urgent", row["ts"]
        return self._alert(name, row, ep.alert_id, ep.start_ms, ev, "open", ep.severity)

    def _alert(self, rule: str, row: dict, aid: str, start_ms: int, ev: Evaluation, status: str,
               severity: str) -> Alert:
        where = f"{row['unit']} bed {row['bed']}"
        since = iso_ms(start_ms)[11:16] + "Z"
        news2 = row.get("news2_total")
        tail = f" · NEWS2 {news2}" if news2 is not None and not rule.startswith("news2") else ""
        if status == "all-clear":
            text = f"ALL CLEAR {where}: {ev.text}, back in range (episode since {since})"
        else:
            prefix = {"re-alert": "STILL ", "escalated": "ESCALATED "}.get(status, "")
            text = f"{prefix}{severity.upper()} {where}: {ev.text} since {since}{tail}"
        return Alert(
            alert_id=aid, rule=rule, severity=severity, status=status, patient_id=row["patient_id"],
            encounter_id=row["encounter_id"], hospital_id=row["hospital_id"], unit=row["unit"], bed=row["bed"],
            ts_ms=row["ts"], episode_start_ms=start_ms, message=text, values=ev.values, news2_total=news2,
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

