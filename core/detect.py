"""Deterioration detection as a plain-Python state machine, one state per patient.

The keyed Flink operator keeps ``PatientState`` in state and calls ``Detector.step`` for each
enriched reading, ``on_encounter`` for encounter events, ``on_ack`` for acknowledgements and
``tick`` on a timer. Two layers, as the alarm-fatigue evidence asks (CLINICAL.md):

**Conditions** (one per rule): each reading is reduced to an ``Evaluation`` (breached? critical?
recovered?). A standard breach becomes active once the *time in breach* within a window
reaches the persistence (20 s; Görges 2009: a 19 s delay removes 67% of ignored alarms), so a
value flapping across the limit still pages, and a single reading never does. A critical
value becomes active once it has been confirmed: ``detection.critical.confirm.readings``
critical readings (3) among the last five, spanning at least ``detection.critical.confirm.ms`` (20 s by
default: longer than the motion and probe artefacts the simulator injects at published rates,
within the 30 s SpO2 delay monitor makers allow and Taenzer 2010's >30 s surveillance rule; the
third reading is for slow devices, where two artefacts in a row occur by chance). A nurse's observation set is acted on at
once. A condition clears past a hysteresis margin (monitor data: held there for
``detection.clear.confirm.ms``), or after ``detection.clear.hold.ms`` back
inside its limit; NEWS2 de-escalates from critical after ``detection.deescalate.ms`` without
an emergency score.

**One voice per patient**: the conditions feed one episode (one page stream) per patient.
It opens with the worst active condition as its headline and the others as context, pages
again only when it gets worse, re-alerts on one clock at the RCP Chart 4 monitoring interval of
the patient's band, escalates to the next tier when nobody acknowledges it, and ends with one
all-clear. Acknowledgements stop re-alerts and escalation for a while; a bed can be silenced;
discharge ends it. Pages about readings older than ``detection.delayed.after.ms`` (a catch-up)
are held: an episode that opens and closes inside the backlog is recorded, not paged; one still
open when the data is live again (or open that long) is paged marked delayed. A job replaying a
reprocessed day (``detection.replay``) judges each reading at its own time instead, as it was live.
"""

from __future__ import annotations

import hashlib
import json
from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass, field

from core.carry_forward import LastSeen
from core.clinical.rules import COMPARISONS, NEWS2_MONITORING_MINUTES, OBSERVATION_OVERDUE_MINUTES
from core.clinical.scores import NEWS2_PARAMETER_NAMES
from core.config import SETTINGS
from core.schema.events import Alert, clock_text, iso_ms, place_text


@dataclass(frozen=True)
class ThresholdRule:
    name: str
    vital: str
    label: str
    unit: str
    op: str  # "<", "<=", ">", ">="
    standard: str  # configuration key of the standard (persistent) limit
    critical: str  # configuration key of the critical (confirmed) limit
    clear_margin: float  # recovery past the standard limit that ends a condition at once
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
# Headline order among conditions of equal severity: the aggregate score first.
RULE_PRIORITY = {"news2": 0, "spo2_low": 1, "heart_rate_high": 2, "heart_rate_low": 3, "news2_red_score": 4,
                 "news2_rapid_rise": 5}
RAPID_RISE_WINDOW_MS = 30 * 60_000
SEVERITY_ORDER = {"info": 0, "warning": 1, "urgent": 2, "critical": 3}


@dataclass
class Evaluation:
    breached: bool
    critical: bool
    recovered: bool
    _text: str | None = None  # what a nurse reads: "SpO2 88% (limit <92)"
    _values: dict | None = None
    # Builds (text, values) when a page needs them: most readings raise none, and formatting
    # them for every reading was a tenth of the per-reading work.
    describe: Callable[[], tuple[str, dict]] | None = None
    # Threshold rules: the same reading said against the standard limit, for a critical value
    # whose critical tier is not (yet) confirmed: "URGENT ... 35/min (limit <=35)" read wrong.
    as_standard: Callable[[], tuple[str, dict]] | None = None

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
class Condition:
    """One rule's state for one patient."""

    samples: list = field(default_factory=list)  # [(ts, breached)] within the persistence window
    recent: list = field(default_factory=list)  # [(ts, critical)] of the last readings, for confirmation
    active: bool = False
    critical: bool = False
    since_ms: int = 0  # first breaching reading of this condition
    last_critical_ms: int = 0
    inside_since_ms: int | None = None  # back inside the limit (not yet past the margin) since
    recovered_since_ms: int | None = None  # past the recovery margin since (monitor data must stay there)
    text: str = ""
    values: dict = field(default_factory=dict)
    baseline: int | None = None  # rapid rise: the NEWS2 it rose from


@dataclass
class Episode:
    """The patient's one page stream."""

    alert_id: str
    start_ms: int
    severity: str
    headline: str
    last_page_ms: int = 0
    peak: str = ""  # the highest severity paged in this episode: back up to it is not "worse"
    opened_page_ms: int | None = None  # when the first page went out (None while held in a backlog)
    realerts: int = 0
    worsened: int = 0
    tier: int = 0  # escalation tiers paged since the last acknowledgement
    escalations: int = 0  # escalation pages of the episode: an acknowledgement resets tier, not this
    unanswered_since_ms: int | None = None  # first page not acknowledged (escalation counts from it)
    # ... and the processing time it was sent: people answer in wall-clock time, so a backlog
    # replayed fast (make run at SPEED 60) must not escalate before anyone could have answered.
    unanswered_since_proc_ms: int | None = None
    acked_until_ms: int = 0
    acked_by: str | None = None
    acks: int = 0  # acknowledgements of this episode since it last got worse (each doubles the pause)
    acked_severity: str = ""  # the episode's severity when last acknowledged


@dataclass
class PatientState:
    conditions: dict[str, Condition] = field(default_factory=dict)
    episode: Episode | None = None
    # complete NEWS2 total -> the latest time it was seen, last 30 min. The lowest total in a
    # window needs only each total's latest sighting: at most 21 entries, however often readings come.
    news2_history: dict[int, int] = field(default_factory=dict)
    last_band: str | None = None
    last_total: int | None = None
    last_seen: LastSeen = field(default_factory=LastSeen)  # carry-forward values and standing facts
    where: dict = field(default_factory=dict)  # ids and location of the latest reading
    limits: dict[str, float] = field(default_factory=dict)  # clinician-adjusted limits (order events)
    silenced_until_ms: int = 0
    silence_reason: str | None = None
    last_ts: int | None = None  # event time of the latest reading
    last_processed_ms: int | None = None  # processing time it was handled at
    overdue_since_ms: int | None = None  # an overdue alert was raised for the gap since then
    timer_ms: int | None = None  # the operator's pending detection timer (processing time)
    touched_ms: int | None = None  # processing time of the patient's latest event (idle state expiry)

    def reset(self) -> None:
        """Nothing of a stay outlives it: values, limits and history start afresh (readmission)."""
        self.__init__()


def alert_id(patient_id: str, rule: str, episode_start_ms: int) -> str:
    """Stable across replays: the same episode always gets the same id (SNS/consumer dedup key)."""
    return hashlib.sha256(f"{patient_id}|{rule}|{episode_start_ms}".encode()).hexdigest()[:24]


def _band_key(state: PatientState) -> str | None:
    """The patient's band as the RCP Chart 4 tables key it: a total of 0 has its own interval."""
    band = state.last_band
    return "low_zero" if band == "low" and state.last_total == 0 else band


def _oldest_seen(state: PatientState) -> int | None:
    """Time of the oldest latest value among the NEWS2 parameters (None: none seen yet)."""
    seen = [t for name, (_, t) in state.last_seen.values.items() if name in NEWS2_PARAMETER_NAMES]
    return min(seen) if seen else None


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _minutes(ms: float) -> str:
    minutes = ms / 60_000
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def parse_unit_overrides(text: str, name: str = "detection.unit.overrides") -> dict[str, dict[str, float]]:
    """``"ICU:spo2.low=90,heart_rate.high=140;Ward-A:persistence.ms=30000"`` -> per-unit settings."""
    out: dict[str, dict[str, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        unit, sep, assignments = part.partition(":")
        if not sep or not unit:
            raise ValueError(f"{name}: {part!r} should read UNIT:key=value,...")
        for assignment in assignments.split(","):
            key, sep, value = assignment.partition("=")
            if not sep:
                raise ValueError(f"{name}: {assignment!r} should read key=value")
            try:
                out.setdefault(unit.strip(), {})[f"detection.{key.strip()}"] = float(value)
            except ValueError:
                raise ValueError(f"{name}: {value!r} for {key.strip()} is not a number") from None
    return out


def parse_tiers(text: str, name: str) -> list[tuple[str, int]]:
    """``"charge_nurse@10,rapid_response@20"`` -> [(tier, minutes after the first page in ms)], increasing."""
    tiers = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        tier, sep, minutes = part.partition("@")
        try:
            delay = float(minutes)
        except ValueError:
            delay = -1
        if not sep or not tier.strip() or delay <= 0:
            raise ValueError(f"{name}: {part!r} should read TIER@MINUTES with MINUTES > 0")
        tiers.append((tier.strip(), int(delay * 60_000)))
    if [d for _, d in tiers] != sorted(d for _, d in tiers):
        raise ValueError(f"{name}: tiers must be listed in increasing delay")
    return tiers


def parse_unit_tiers(text: str, name: str = "detection.escalation.units") -> dict[str, list[tuple[str, int]]]:
    """``"ICU:charge_nurse@5,rapid_response@10;Ward-A:..."`` -> per-unit escalation tiers."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        unit, sep, tiers = part.partition(":")
        if not sep or not unit.strip():
            raise ValueError(f"{name}: {part!r} should read UNIT:TIER@MINUTES,...")
        out[unit.strip()] = parse_tiers(tiers, name)
    return out


# Limits a unit may set for itself: the numeric ones (not the switch of a replay, nor texts).
PER_UNIT = frozenset(x.name for x in SETTINGS if x.group == "detection" and x.type in (int, float))


class Detector:
    def __init__(self, settings: dict, rules: tuple[ThresholdRule, ...] = RULES):
        needed = [k for r in rules for k in (r.standard, r.critical, r.standard_scale2) if k]
        needed += ["detection.persistence.ms", "detection.news2.persistence.ms", "detection.news2.urgent",
                   "detection.news2.emergency", "detection.news2.rapid_rise", "detection.triage.max_wait.min"]
        missing = [k for k in needed if k not in settings]
        if missing:
            raise ValueError(f"no value configured for {', '.join(missing)}")
        # Settings not passed (and not required above) take the configuration model's defaults.
        defaults = {x.name: x.default for x in SETTINGS if x.group == "detection" and x.name not in needed}
        self.settings = {**defaults, **settings}
        self.rules = rules
        s = self.settings
        self.unit_settings: dict[str, dict[str, float]] = {}
        for source in ("detection.unit.defaults", "detection.unit.overrides"):
            for unit, overrides in parse_unit_overrides(str(s.get(source, "")), source).items():
                unknown = [k for k in overrides if k not in s]
                if unknown:
                    raise ValueError(f"{source}: unknown setting {unknown[0][10:]!r} for unit {unit}")
                whole_job = [k for k in overrides if k not in PER_UNIT]
                if whole_job:
                    raise ValueError(f"{source}: {whole_job[0][10:]!r} is set for the whole job, not per unit ({unit})")
                self.unit_settings.setdefault(unit, {}).update(overrides)
        self.replay = bool(s["detection.replay"])
        self.tiers = parse_tiers(str(s["detection.escalation"]), "detection.escalation")
        self.unit_tiers = parse_unit_tiers(str(s["detection.escalation.units"]))
        for key in ("detection.critical.confirm.ms", "detection.persistence.window.ms", "detection.clear.hold.ms",
                    "detection.clear.confirm.ms", "detection.deescalate.ms", "detection.delayed.after.ms"):
            if float(s[key]) <= 0:
                raise ValueError(f"{key} must be positive, got {s[key]}")

    def limit(self, key: str, unit: str, state: PatientState | None = None) -> float:
        """A limit: the patient's adjusted one (an order), else the unit's, else the default."""
        if state is not None and state.limits:
            value = state.limits.get(key[10:])
            if value is not None:
                return value
        return self.unit_settings.get(unit, {}).get(key, self.settings[key])

    # ---- rules -> evaluations -----------------------------------------------------------
    def _threshold(self, rule: ThresholdRule, row: dict, state: PatientState) -> Evaluation | None:
        value = row.get(rule.vital)
        if value is None:
            return None  # absent parameter: the condition neither opens nor closes
        unit = row["unit"]
        standard, critical = self.limit(rule.standard, unit, state), self.limit(rule.critical, unit, state)
        if rule.standard_scale2 and row.get("spo2_scale") == 2:
            standard = self.limit(rule.standard_scale2, unit, state)
        is_critical = rule.breached(value, critical)
        limit = critical if is_critical else standard
        adult = "" if row.get("news2_not_applicable") is None else " (adult limit)"
        def describe(shown: float = limit) -> tuple[str, dict]:
            return (f"{rule.label} {_fmt(value)}{rule.unit} (limit {rule.op}{_fmt(shown)}){adult}",
                    {rule.vital: value, "limit": shown})
        return Evaluation(rule.breached(value, standard), is_critical, rule.recovered(value, standard),
                          describe=describe, as_standard=lambda: describe(standard))

    def _news2(self, row: dict, state: PatientState) -> Evaluation | None:
        """NEWS2 >= urgent / emergency, from a complete set or from a partial sum that proves it.

        Sub-scores are never negative, so the sum of the known parameters is a lower bound of
        the total: a partial sum of 5 or more is at least urgent, whatever the missing values.
        """
        total, partial = row.get("news2_total"), row.get("news2_partial")
        missing = row.get("news2_missing") or []
        unit = row["unit"]
        urgent = self.limit("detection.news2.urgent", unit, state)
        emergency = self.limit("detection.news2.emergency", unit, state)
        if total is None:
            if not partial or partial < urgent:
                return None  # the known part proves nothing: neither opens nor closes
            score, exact = partial, False
        else:
            score, exact = total, True
        band = row.get("news2_band")

        def describe():
            if exact:
                return f"NEWS2 {score} ({band})", {"news2": score}
            names = ", ".join(m.replace("_", " ") for m in missing)
            return f"NEWS2 at least {score} ({names} not measured)", {"news2_at_least": score, "missing": names}
        return Evaluation(score >= urgent, score >= emergency, exact and score <= urgent - 2, describe=describe)

    def _red_score(self, row: dict) -> Evaluation | None:
        scores = {p: row.get(f"news2_{p}") for p in RED_SCORE_PARAMETERS}
        known = {p: s for p, s in scores.items() if s is not None}
        if not known:
            return None
        threes = [p for p, s in known.items() if s == 3]
        # Recovered only once every known parameter scores 0-1: a value hovering at the 2/3 boundary
        # (SBP 88-95, RR 23-26) keeps one episode instead of a new page at each crossing.
        settled = all(s <= 1 for s in known.values())

        def describe():
            text = "score 3 in " + ", ".join(p.replace("_", " ") for p in threes) if threes else "no parameter at 3"
            return f"NEWS2 {text}", {"parameters": ",".join(threes)}
        return Evaluation(bool(threes), False, settled, describe=describe)

    def _rapid_rise(self, row: dict, state: PatientState) -> Evaluation | None:
        total = row.get("news2_total")
        if total is None:
            return None
        ts = row["ts"]
        window = [v for v, seen in state.news2_history.items() if ts - seen <= RAPID_RISE_WINDOW_MS]
        if not window:
            return None
        lowest = min(window)
        cond = state.conditions.get("news2_rapid_rise")
        base = cond.baseline if cond is not None and cond.active and cond.baseline is not None else lowest
        rise = self.limit("detection.news2.rapid_rise", row["unit"], state)
        near_urgent = total >= self.limit("detection.news2.urgent", row["unit"], state) - 1
        # Closes when the rise is gone: the score is back within the rise of where it started.
        return Evaluation(total - lowest >= rise and near_urgent, False, total - base < rise,
                          describe=lambda: (f"NEWS2 rose {base}→{total} within 30 min", {"news2": total, "from": base}))

    def _evaluations(self, row: dict, state: PatientState) -> list[tuple[str, Evaluation | None]]:
        out: list[tuple[str, Evaluation | None]] = [(r.name, self._threshold(r, row, state)) for r in self.rules]
        if row.get("news2_not_applicable") is None:  # under 16 or pregnant: no NEWS2-derived rule (RCP 2017)
            red = self._red_score(row) if self.limit("detection.news2.red_score", row["unit"], state) > 0 else None
            out += [("news2", self._news2(row, state)), ("news2_red_score", red),
                    ("news2_rapid_rise", self._rapid_rise(row, state))]
        return out

    # ---- conditions -----------------------------------------------------------------------
    def _update(self, name: str, cond: Condition, ev: Evaluation, row: dict, state: PatientState) -> None:
        ts = row["ts"]
        unit = row["unit"]
        score_rule = name in SCORE_RULES
        persistence = self.limit("detection.news2.persistence.ms" if score_rule else "detection.persistence.ms", unit,
                                 state)
        reliable = row.get("source") == "manual" or persistence <= 0
        window = max(self.limit("detection.persistence.window.ms", unit, state), 2 * persistence)
        # Readings of one patient may arrive out of order (several devices, several shards):
        # samples are kept in time order and spans measured from the earliest to the latest.
        insort(cond.samples, (ts, ev.breached))
        newest = cond.samples[-1][0]
        cond.samples = [s for s in cond.samples if newest - s[0] <= window]
        if ev.breached and not cond.active:
            cond.since_ms = min(cond.since_ms or ts, ts)
        # Critical confirmation: N critical readings among the last 2N-1, spanning the confirmation
        # time. Not N in a row: a true value hovering at the limit (HR 33-38 around 35) would
        # break every run and wait minutes; an artefact of a few seconds spans too little.
        needed = int(self.limit("detection.critical.confirm.readings", unit, state))
        insort(cond.recent, (ts, ev.critical))
        del cond.recent[:-max(1, 2 * needed - 1)]
        if ev.critical:
            cond.last_critical_ms = max(cond.last_critical_ms, ts)
        critical_ts = [t for t, crit in cond.recent if crit]
        confirm = self.limit("detection.critical.confirm.ms", unit, state)
        # 10% allowance for device clock jitter: five 5-s readings span 19.9 s as often as 20.1 s, and
        # a steady HR of 151-161 waited 70 s for a span of exactly 20 s (bench.detection). Artefacts last <= 15 s.
        critical_confirmed = ev.critical and (reliable or (
            len(critical_ts) >= needed and critical_ts[-1] - critical_ts[0] >= 0.9 * confirm))
        # Standard: time in breach within the window, each breaching reading counted until the next.
        in_breach = sum(b - a for (a, hit), (b, _) in zip(cond.samples, cond.samples[1:], strict=False) if hit)
        breaches = sum(hit for _, hit in cond.samples)
        standard_confirmed = ev.breached and (reliable or (breaches >= 2 and in_breach >= persistence))
        if score_rule and not reliable:
            critical_confirmed = critical_confirmed and standard_confirmed  # a NEWS2 of 7 from monitors waits too
        elif ev.critical and not critical_confirmed and not cond.active:
            # A critical value awaiting confirmation does not page urgent first: an URGENT then a
            # CRITICAL a reading later were two pages for one event (bench.detection, arrhythmia).
            standard_confirmed = False
        if ev.breached or ev.critical:
            critical_now = cond.critical or critical_confirmed
            if ev.critical and not critical_now and ev.as_standard is not None:
                cond.text, cond.values = ev.as_standard()
            elif not (critical_now and not ev.critical and cond.text):  # critical: keeps its critical reading's text
                cond.text, cond.values = ev.text, ev.values
            if name == "news2_rapid_rise" and not cond.active:
                cond.baseline = ev.values.get("from")
        # De-escalate a critical condition without a critical reading for deescalate.ms, also while
        # the standard breach goes on (it returned before reaching this, so it never de-escalated).
        if cond.critical and not ev.critical and ts - cond.last_critical_ms >= self.limit("detection.deescalate.ms", unit, state):
            cond.critical = False
        if standard_confirmed or critical_confirmed:
            cond.active = True
            cond.critical = cond.critical or critical_confirmed
            cond.inside_since_ms = None
            return
        if not cond.active:
            if not any(hit for _, hit in cond.samples):
                cond.since_ms = 0  # the breach did not persist: forgotten
            return
        # Active: clear at once past the margin, or after a hold back inside the limit.
        if ev.recovered:
            # A nurse's set clears at once; monitor data must stay recovered for clear.confirm.ms, or a
            # value hovering about the margin opened a new episode (a new page) each time it crossed back.
            if cond.recovered_since_ms is None:
                cond.recovered_since_ms = ts
            if reliable or ts - cond.recovered_since_ms >= self.limit("detection.clear.confirm.ms", unit, state):
                self._reset(cond)
            return
        cond.recovered_since_ms = None
        if not ev.breached:
            if cond.inside_since_ms is None:
                cond.inside_since_ms = ts
            elif ts - cond.inside_since_ms >= self.limit("detection.clear.hold.ms", unit, state):
                self._reset(cond)
        else:
            cond.inside_since_ms = None

    @staticmethod
    def _reset(cond: Condition) -> None:
        cond.active = cond.critical = False
        cond.since_ms = 0
        cond.inside_since_ms = cond.baseline = cond.recovered_since_ms = None
        cond.samples = []
        cond.recent = []

    # ---- the patient's voice ----------------------------------------------------------------
    def step(self, state: PatientState, row: dict) -> list[Alert]:
        """Advance one patient's state with one enriched ``vitals`` row; return the alerts raised."""
        ts = row["ts"]
        state.where = {k: row[k] for k in ("patient_id", "encounter_id", "hospital_id", "unit", "bed")}
        if state.last_ts is None or ts >= state.last_ts:
            state.last_ts = ts
            state.last_processed_ms = row.get("processed_ts") or ts
        for name, ev in self._evaluations(row, state):
            if ev is None:
                continue
            cond = state.conditions.get(name)
            if cond is None:
                if not ev.breached:
                    continue
                cond = state.conditions[name] = Condition()
            self._update(name, cond, ev, row, state)
            if not cond.active and not cond.since_ms:
                del state.conditions[name]
        if row.get("news2_total") is not None:
            state.last_total, state.last_band = row["news2_total"], row.get("news2_band")
            history = state.news2_history
            for old in [v for v, seen in history.items() if ts - seen > RAPID_RISE_WINDOW_MS]:
                del history[old]
            total = row["news2_total"]
            history[total] = max(history.get(total, ts), ts)
        # The reader's clock: when the job handles the reading, or, replaying a reprocessed day, the
        # reading's own time (that day's age would otherwise hold every episode as a catch-up).
        now = ts if self.replay else row.get("processed_ts") or ts
        out = self._voice(state, ts, now, row)
        out += self._overdue(state, ts)
        return out

    def _voice(self, state: PatientState, ts: int, now: int, row: dict | None = None) -> list[Alert]:
        active = {n: c for n, c in state.conditions.items() if c.active}
        ep = state.episode
        delayed_after = self.limit("detection.delayed.after.ms", state.where.get("unit", ""), state)
        backlog = now - ts > delayed_after
        out: list[Alert] = []
        if not active:
            if ep is not None:
                state.episode = None
                paged = ep.opened_page_ms is not None and not self._silenced(state, ts)
                out.append(self._page(state, ep, "all-clear", "info", f"{ep.alert_id}-clear", ts, paged=paged,
                                      context={}, row=row, now=now))
            return out
        worst = max(active, key=lambda n: (active[n].critical, -RULE_PRIORITY.get(n, 9)))
        severity = "critical" if active[worst].critical else "urgent"
        if ep is None:
            start = min(c.since_ms or ts for c in active.values())
            ep = state.episode = Episode(alert_id(state.where["patient_id"], "episode", start), start, severity, worst)
        elif SEVERITY_ORDER[severity] > SEVERITY_ORDER[ep.peak or ep.severity] and ep.opened_page_ms is not None:
            ep.severity, ep.headline = severity, worst
            ep.worsened += 1
            ep.acked_until_ms, ep.acks = 0, 0  # worse than what was acknowledged: it needs a new look
            return [self._send(state, ep, "worsened", f"{ep.alert_id}-w{ep.worsened}", ts, now, active, backlog, row)]
        else:
            ep.severity, ep.headline = severity, worst
        if ep.opened_page_ms is None:
            # Held in a backlog until the data is live again or the episode has lasted the delay.
            if backlog and ts - ep.start_ms < delayed_after:
                return out
            ep.opened_page_ms = now
            return [self._send(state, ep, "open", ep.alert_id, ts, now, active, backlog, row,
                               delayed=backlog or ts - ep.start_ms >= delayed_after)]
        return self._follow_up(state, ep, ts, now, active, backlog, row)

    def _follow_up(self, state: PatientState, ep: Episode, ts: int, now: int, active: dict, backlog: bool,
                   row: dict | None) -> list[Alert]:
        """Re-alert on the patient's one clock; escalate an unacknowledged urgent or critical episode."""
        if ts < ep.acked_until_ms:
            return []
        if ep.acks and SEVERITY_ORDER[ep.severity] < SEVERITY_ORDER.get(ep.acked_severity, 0):
            # Better than what the ward acknowledged (critical then, urgent now): the plan is
            # working, so the acknowledgement holds for another (longer) pause instead of a reminder.
            self._pause(ep, ts)
            return []
        unit = state.where.get("unit", "")
        tiers = self.unit_tiers.get(unit, self.tiers)
        if ep.tier < len(tiers) and ep.unanswered_since_ms is not None:
            tier, delay = tiers[ep.tier]
            waited = ep.unanswered_since_proc_ms is None or now - ep.unanswered_since_proc_ms >= delay
            if ts - ep.unanswered_since_ms >= delay and waited:
                ep.tier += 1
                ep.escalations += 1  # the page's own id: the same tier may be paged again after an answer
                at = self._due(ep, ep.unanswered_since_ms + delay, ts)
                return [self._send(state, ep, "escalated", f"{ep.alert_id}-e{ep.escalations}", at,
                                   at if self.replay else now, active, backlog, row, tier=tier)]
        realert = self._realert_ms(state, ep)
        if ts - ep.last_page_ms >= realert:
            ep.realerts += 1
            at = self._due(ep, ep.last_page_ms + realert, ts)
            return [self._send(state, ep, "re-alert", f"{ep.alert_id}-r{ep.realerts}", at, at if self.replay else now,
                               active, backlog, row)]
        return []

    def _due(self, ep: Episode, due_ms: int, ts: int) -> int:
        """When a re-alert or escalation is paged: now; replaying, when it fell due. Live, the job's
        timer fires on time; a replay reads a day 60 times faster than it happened, so the timer
        (on processing time) comes a reading late, and each re-alert, timed from the one before,
        came later than the last (bench.reprocess: 39 of 200 pages over 5 minutes late, up to 11)."""
        return min(ts, max(due_ms, ep.acked_until_ms)) if self.replay else ts

    def _realert_ms(self, state: PatientState, ep: Episode) -> int:
        """Re-alert at the minimum monitoring interval of the patient's NEWS2 band (RCP Chart 4)."""
        key = _band_key(state) or ("high" if ep.severity == "critical" else "medium")
        minutes = NEWS2_MONITORING_MINUTES.get(key, 60)
        if ep.severity == "critical":
            minutes = min(minutes, NEWS2_MONITORING_MINUTES["high"])
        return minutes * 60_000

    def _pause(self, ep: Episode, ts: int, minutes: float | None = None) -> None:
        """Pause re-alerts and escalation: for ``minutes`` if the ward named them, else for
        ``ack.minutes`` doubled per earlier acknowledgement of the same unchanged episode, up to
        ``ack.max.minutes``. A ward that has answered a persisting, not-worsening episode twice knows
        of it: re-alerts every two hours were 43% of all pages in the detection benchmark. Worse
        pages at once whatever the pause."""
        base = self.settings["detection.ack.minutes"]
        minutes = minutes or max(base, min(self.settings["detection.ack.max.minutes"], base * 2 ** ep.acks))
        ep.acked_until_ms = ts + int(minutes * 60_000)
        ep.acks += 1
        ep.acked_severity = ep.severity

    @staticmethod
    def _silenced(state: PatientState, ts: int) -> bool:
        return ts < state.silenced_until_ms

    def _send(self, state: PatientState, ep: Episode, status: str, aid: str, ts: int, now: int, active: dict,
              backlog: bool, row: dict | None, tier: str | None = None, delayed: bool | None = None) -> Alert:
        ep.last_page_ms = ts
        paged = not self._silenced(state, ts)
        if paged and SEVERITY_ORDER[ep.severity] > SEVERITY_ORDER.get(ep.peak, 0):
            ep.peak = ep.severity
        if paged and ep.unanswered_since_ms is None:
            ep.unanswered_since_ms, ep.unanswered_since_proc_ms = ts, now
        return self._page(state, ep, status, ep.severity, aid, ts, paged=paged, context=active, row=row, tier=tier,
                          delayed=backlog if delayed is None else delayed, now=now)

    def _page(self, state: PatientState, ep: Episode, status: str, severity: str, aid: str, ts: int, *,
              paged: bool, context: dict, row: dict | None, tier: str | None = None, delayed: bool = False,
              now: int | None = None) -> Alert:
        """The page; its times are told against ``now``, the processing time (the reader's clock)."""
        w = state.where
        where = place_text(w["hospital_id"], w["unit"], w["bed"])
        now = ts if now is None else now
        since = clock_text(ep.start_ms, now)
        head = context.get(ep.headline)
        others = [c.text for n, c in sorted(context.items(), key=lambda kv: RULE_PRIORITY.get(kv[0], 9))
                  if n != ep.headline and c.text]
        age = self._oldest_value_age_ms(state, ts, row)
        if status == "all-clear":
            text = f"ALL CLEAR {where}: back in range (episode since {since})"
        else:
            prefix = {"re-alert": "STILL ", "worsened": "WORSE ", "escalated": f"ESCALATED to {(tier or '').replace('_', ' ')} "}.get(status, "")
            late = f"DELAYED (reading of {clock_text(ts, now)}) " if delayed else ""
            text = f"{late}{prefix}{severity.upper()} {where}: {head.text if head else ep.headline} since {since}"
            if others:
                text += " · also " + "; ".join(others)
            if state.last_total is not None and ep.headline != "news2" and "news2" not in context:
                text += f" · NEWS2 {state.last_total}"
            if row is not None and row.get("news2_not_applicable") and any(n not in SCORE_RULES for n in context):
                text += " · NEWS2 not applicable: " + row["news2_not_applicable"].split(" (")[0]
            if age is not None and age >= 5 * 60_000:
                text += f" · oldest value {_minutes(age)} old"
        values = dict(head.values) if head is not None else {}
        return Alert(
            alert_id=aid, rule=ep.headline, severity=severity, status=status, patient_id=w["patient_id"],
            encounter_id=w["encounter_id"], hospital_id=w["hospital_id"], unit=w["unit"], bed=w["bed"], ts_ms=ts,
            episode_start_ms=ep.start_ms, message=text, values=values, news2_total=state.last_total, paged=paged,
            delayed=delayed, tier=tier, context=sorted(n for n in context if n != ep.headline),
            oldest_value_age_s=None if age is None else round(age / 1000, 1), episode_id=ep.alert_id,
        )

    @staticmethod
    def _oldest_value_age_ms(state: PatientState, ts: int, row: dict | None) -> int | None:
        if row is not None and row.get("news2_carried_max_age_s") is not None:
            return int(row["news2_carried_max_age_s"] * 1000)
        oldest = _oldest_seen(state)
        return None if oldest is None else ts - oldest

    # ---- time passing, observations overdue -------------------------------------------------
    def _overdue(self, state: PatientState, now_event_ms: int) -> list[Alert]:
        """"Observations overdue for band": the oldest NEWS2 parameter is older than the band's
        minimum monitoring interval (RCP 2017 Chart 4) times the grace factor."""
        band = state.last_band
        if band is None or not state.where:
            return []
        interval = OBSERVATION_OVERDUE_MINUTES.get(_band_key(state))
        oldest = _oldest_seen(state)
        if interval is None or oldest is None:
            return []
        if state.overdue_since_ms is not None and state.overdue_since_ms != oldest:
            state.overdue_since_ms = None  # new observations since: the gap is over
        due = oldest + interval * 60_000 * float(self.settings["detection.overdue.grace"])
        if now_event_ms < due or state.overdue_since_ms is not None:
            return []
        state.overdue_since_ms = oldest
        w = state.where
        text = (f"OBSERVATIONS OVERDUE {place_text(w['hospital_id'], w['unit'], w['bed'])}: last full set "
                f"{_minutes(now_event_ms - oldest)} ago; NEWS2 {state.last_total} ({band}) asks for "
                f"{'continuous monitoring and an hourly set' if band == 'high' else 'a set every ' + _minutes(interval * 60_000)}")
        return [Alert(alert_id=alert_id(w["patient_id"], "observations_overdue", oldest), rule="observations_overdue",
                      severity="warning", status="overdue", patient_id=w["patient_id"], encounter_id=w["encounter_id"],
                      hospital_id=w["hospital_id"], unit=w["unit"], bed=w["bed"], ts_ms=now_event_ms,
                      episode_start_ms=oldest, message=text, values={"since": iso_ms(oldest)},
                      news2_total=state.last_total,
                      # Paged while an episode is open (the ward has been told the band is real);
                      # otherwise recorded for the ward board, not paged: a band reached by a few
                      # monitor readings that never persisted is not a reason to page (bench.detection).
                      paged=state.episode is not None and not self._silenced(state, now_event_ms),
                      oldest_value_age_s=round((now_event_ms - oldest) / 1000, 1))]

    def tick(self, state: PatientState, processing_ms: int) -> list[Alert]:
        """Time passing without readings (a timer): re-alerts, escalation, observations overdue.

        The patient's event-time clock is its latest reading's time plus the processing time since
        it was handled, so a backlog being replayed does not look like hours without readings."""
        if state.last_ts is None or state.last_processed_ms is None:
            return []
        now_event = state.last_ts + max(0, processing_ms - state.last_processed_ms)
        out: list[Alert] = []
        ep = state.episode
        if ep is not None and ep.opened_page_ms is not None:
            active = {n: c for n, c in state.conditions.items() if c.active}
            if active:
                reader = now_event if self.replay else processing_ms
                out += self._follow_up(state, ep, now_event, reader, active, False, None)
        return out + self._overdue(state, now_event)

    def next_tick_ms(self, state: PatientState) -> int | None:
        """Processing time at which ``tick`` may have something to say (None: nothing pending)."""
        if state.last_ts is None or state.last_processed_ms is None or not state.where:
            return None
        offset = state.last_processed_ms - state.last_ts
        times = []
        ep = state.episode
        if ep is not None and ep.opened_page_ms is not None:
            times.append(max(ep.acked_until_ms, ep.last_page_ms + self._realert_ms(state, ep)))
            tiers = self.unit_tiers.get(state.where.get("unit", ""), self.tiers)
            if ep.tier < len(tiers) and ep.unanswered_since_ms is not None:
                delay = tiers[ep.tier][1]
                proc = (ep.unanswered_since_proc_ms or 0) + delay - offset  # in event time, like the others
                times.append(max(ep.unanswered_since_ms + delay, proc))
        if state.last_band is not None and state.overdue_since_ms is None:
            times.append(state.last_ts + 60_000)  # overdue is checked each minute without readings
        return min(times) + offset if times else None

    # ---- events -----------------------------------------------------------------------------
    def on_encounter(self, state: PatientState, event: dict) -> list[Alert]:
        """Encounter events: discharge ends paging, orders set limits, triage 1-2 waiting too long alerts."""
        kind = event.get("event")
        if event.get("unit") and state.where:
            state.where = {**state.where, "unit": event["unit"], "bed": event.get("bed") or state.where["bed"]}
        limits = event.get("limits") or {}
        if limits:
            state.limits.update({k: float(v) for k, v in limits.items() if f"detection.{k}" in self.settings})
        if kind == "discharge":
            out = []
            ep = state.episode
            if ep is not None:
                out.append(self._page(state, ep, "all-clear", "info", f"{ep.alert_id}-clear", event["ts"], paged=False,
                                      context={}, row=None))
            state.episode = None
            state.conditions.clear()
            state.overdue_since_ms = None
            state.last_band = state.last_total = None  # no observations are due after discharge
            return out
        if kind != "er_triage" or event.get("triage_level") not in (1, 2):
            return []
        wait = event.get("wait_minutes")
        limit = self.limit("detection.triage.max_wait.min", event.get("unit") or "ER")
        if wait is None or wait <= limit:
            return []
        start = event.get("arrival_ts") or event["ts"]
        where = place_text(event["hospital_id"], event.get("unit") or "ER", event.get("bed") or "?")
        since = clock_text(start, event["ts"])
        return [Alert(
            alert_id=alert_id(event["patient_id"], "triage_wait", start), rule="triage_wait", severity="urgent",
            status="open", patient_id=event["patient_id"], encounter_id=event["encounter_id"],
            hospital_id=event["hospital_id"], unit=event.get("unit") or "ER", bed=event.get("bed") or "?",
            ts_ms=event["ts"], episode_start_ms=start,
            message=f"URGENT {where}: triage {event['triage_level']} patient waited {_fmt(wait)} min "
                    f"(limit {_fmt(limit)}) since {since}",
            values={"wait_minutes": wait, "limit": limit, "triage_level": event["triage_level"]},
        )]

    def on_ack(self, state: PatientState, ack) -> list[Alert]:
        """An acknowledgement, a silence or a resume from the ward (``AckEvent``); recorded, never paged."""
        ts = ack.ts_ms
        ep = state.episode
        if not state.where:
            return []
        if ack.action == "silence":
            state.silenced_until_ms = ts + int((ack.minutes or self.settings["detection.silence.minutes"]) * 60_000)
            state.silence_reason = ack.reason
            text = f"bed silenced for {_minutes(state.silenced_until_ms - ts)} by {ack.by}"
        elif ack.action == "resume":
            state.silenced_until_ms = 0
            text = f"paging resumed by {ack.by}"
        else:
            if ep is None or not (ack.alert_id or "").startswith(ep.alert_id):
                return []  # an episode already over, or another patient's id: nothing to stop
            self._pause(ep, ts, ack.minutes)
            ep.acked_by = ack.by
            ep.unanswered_since_ms, ep.unanswered_since_proc_ms, ep.tier = None, None, 0  # answered: escalation stops
            text = f"acknowledged by {ack.by}; re-alerts paused for {_minutes(ep.acked_until_ms - ts)}"
        w = state.where
        episode_id = ep.alert_id if ep is not None else alert_id(w["patient_id"], "bed", ts)
        return [Alert(alert_id=f"{episode_id}-ack-{hashlib.sha256(ack.ack_id.encode()).hexdigest()[:8]}",
                      rule=ep.headline if ep else "bed", severity="info",
                      status="acknowledged" if ack.action == "acknowledge" else ack.action, patient_id=w["patient_id"],
                      encounter_id=w["encounter_id"], hospital_id=w["hospital_id"], unit=w["unit"], bed=w["bed"],
                      ts_ms=ts, episode_start_ms=ep.start_ms if ep else ts,
                      message=f"{place_text(w['hospital_id'], w['unit'], w['bed'])}: {text}", values={"by": ack.by},
                      paged=False, episode_id=ep.alert_id if ep else None)]


def alert_row(alert: Alert, *, sequence: str | None = None, streamed_ms: int | None = None) -> dict:
    """The ``alerts`` table row for an alert."""
    return {
        "alert_id": alert.alert_id, "rule": alert.rule, "severity": alert.severity, "status": alert.status,
        "patient_id": alert.patient_id, "encounter_id": alert.encounter_id, "hospital_id": alert.hospital_id,
        "unit": alert.unit, "bed": alert.bed, "ts": alert.ts_ms, "episode_start": alert.episode_start_ms,
        "message": alert.message, "values_json": json.dumps(alert.values, sort_keys=True),
        "news2_total": alert.news2_total, "streamed": sequence is not None, "stream_sequence": sequence,
        "streamed_ts": streamed_ms, "paged": alert.paged, "delayed": alert.delayed, "tier": alert.tier,
        "context": list(alert.context), "oldest_value_age_s": alert.oldest_value_age_s,
        "episode_id": alert.episode_id,
    }
