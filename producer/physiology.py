"""Vital signs from physiology, not independent draws.

Each patient has a personal baseline; every vital follows an Ornstein-Uhlenbeck process
(mean-reverting noise) around that baseline plus a mild day/night rhythm; a deterioration
scenario moves the means over hours as CLINICAL.md describes; measurement artefacts
(motion spikes, probe-off dropouts, missing values) are added on top of the true state.
Pure Python with a seeded ``random.Random`` so a run is reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

# Per-vital OU parameters: reversion rate theta (1/min) and noise sigma (unit/sqrt(min)).
OU = {
    "heart_rate": (0.15, 2.2),
    "respiratory_rate": (0.10, 0.6),
    "spo2": (0.25, 0.5),
    "systolic_bp": (0.08, 2.0),
    "diastolic_bp": (0.08, 1.3),
    "temperature_c": (0.02, 0.03),
}
# Day/night amplitude (peak ~17:00, trough ~05:00): heart rate, blood pressure and temperature.
CIRCADIAN = {"heart_rate": 4.0, "systolic_bp": 5.0, "diastolic_bp": 3.0, "temperature_c": 0.25}

# How far each scenario moves each mean at full severity (1.0). Sources: CLINICAL.md physiology
# (sepsis: fever, tachycardia, tachypnoea, falling BP, then confusion; haemorrhage: ATLS class
# progression; respiratory failure: rising RR, falling SpO2, then oxygen started).
SCENARIOS: dict[str, dict[str, float]] = {
    "sepsis": {"temperature_c": 2.3, "heart_rate": 45, "respiratory_rate": 12, "systolic_bp": -35, "diastolic_bp": -18,
               "spo2": -4},
    # ATLS class III at full severity: pulse 120-140, RR 30-40, systolic falling.
    "haemorrhage": {"heart_rate": 50, "respiratory_rate": 16, "systolic_bp": -35, "diastolic_bp": -15, "spo2": -2},
    "respiratory_failure": {"respiratory_rate": 18, "spo2": -13, "heart_rate": 25},
    "arrhythmia": {},  # episodic: handled apart
}
SCENARIO_HOURS = {"sepsis": (3, 8), "haemorrhage": (0.5, 2), "respiratory_failure": (2, 6), "arrhythmia": (0.2, 1)}


@dataclass
class Scenario:
    kind: str
    onset_ms: int
    duration_ms: int  # time from onset to full severity
    oxygen_started_ms: int | None = None
    arrhythmia_rate: float = 0.0  # heart rate during an arrhythmia episode
    treated_after_ms: int = 2 * HOUR_MS  # time at full severity before treatment takes effect
    recovery_ms: int = 5 * HOUR_MS  # time for treatment to bring severity down to the residual
    residual: float = 0.15

    def severity(self, t_ms: int) -> float:
        if t_ms < self.onset_ms:
            return 0.0
        x = (t_ms - self.onset_ms) / self.duration_ms
        if x < 1:
            return x * x * (3 - 2 * x)  # smoothstep: slow start, then faster
        treated = self.onset_ms + self.duration_ms + self.treated_after_ms
        if t_ms <= treated:
            return 1.0
        return max(self.residual, 1.0 - (t_ms - treated) / self.recovery_ms)  # responds to treatment


@dataclass
class PatientPhysiology:
    baseline: dict[str, float]
    rng: random.Random
    scenario: Scenario | None = None
    copd: bool = False  # hypercapnic: prescribed SpO2 target 88-92%, NEWS2 scale 2
    state: dict[str, float] = field(default_factory=dict)
    t_ms: int | None = None
    on_oxygen: bool = False
    artefacts: list[dict] = field(default_factory=list)  # ground truth: every injected artefact episode
    active: dict[str, dict] = field(default_factory=dict)  # vital -> the artefact episode in progress
    last_measured: dict[str, int] = field(default_factory=dict)

    @classmethod
    def new(cls, rng: random.Random, age: int, scenario: Scenario | None = None) -> PatientPhysiology:
        copd = age > 55 and rng.random() < 0.08
        sbp = rng.gauss(118 + 0.3 * max(0, age - 30), 12)
        baseline = {
            "heart_rate": rng.gauss(76, 9),
            "respiratory_rate": rng.gauss(15, 1.8),
            "spo2": min(99.0, rng.gauss(90.5, 1.0) if copd else rng.gauss(97.3, 1.0)),
            "systolic_bp": sbp,
            "diastolic_bp": sbp * rng.uniform(0.58, 0.68),
            "temperature_c": rng.gauss(36.8, 0.25),
        }
        return cls(baseline=baseline, rng=rng, scenario=scenario, copd=copd, state=dict(baseline))

    def _mean(self, name: str, t_ms: int) -> float:
        hour = (t_ms / HOUR_MS) % 24
        mu = self.baseline[name] + CIRCADIAN.get(name, 0.0) * math.cos(2 * math.pi * (hour - 17) / 24)
        sc = self.scenario
        if sc is not None and sc.kind != "arrhythmia":
            s = sc.severity(t_ms)
            mu += SCENARIOS[sc.kind].get(name, 0.0) * s
            if name == "spo2" and self.on_oxygen:
                mu += 5.0  # supplemental oxygen lifts saturation
        return mu

    def advance(self, t_ms: int) -> dict[str, float]:
        """Move the true state to ``t_ms`` and return it (exact OU transition, any step size)."""
        if self.t_ms is None:
            self.t_ms = t_ms
        dt_min = max(0.0, (t_ms - self.t_ms) / MINUTE_MS)
        self.t_ms = t_ms
        sc = self.scenario
        if sc is not None and sc.kind == "respiratory_failure" and not self.on_oxygen and self.state["spo2"] < 91:
            self.on_oxygen = True  # the ward starts oxygen (NEWS2 +2)
            sc.oxygen_started_ms = t_ms
        for name, (theta, sigma) in OU.items():
            mu = self._mean(name, t_ms)
            decay = math.exp(-theta * dt_min)
            sd = sigma * math.sqrt((1 - decay * decay) / (2 * theta))
            self.state[name] = mu + (self.state[name] - mu) * decay + sd * self.rng.gauss(0, 1)
        # Arrhythmia: paroxysmal episodes, seven minutes on, fourteen off, until treatment takes hold.
        if sc is not None and sc.kind == "arrhythmia" and sc.severity(t_ms) >= 0.5 and (t_ms // (7 * MINUTE_MS)) % 3 == 0:
            self.state["heart_rate"] = sc.arrhythmia_rate + self.rng.gauss(0, 3)
        self.state["spo2"] = min(100.0, self.state["spo2"])
        return self.state

    def consciousness(self, t_ms: int) -> str:
        sc = self.scenario
        if sc is None or sc.kind == "arrhythmia":
            return "A"
        s = sc.severity(t_ms)
        if s > 0.95:
            return "V"
        if s > 0.75 or (sc.kind == "haemorrhage" and s > 0.6):
            return "C"
        return "A"


# Measurement artefacts: episodes in time (a motion burst, a probe off, a lead off, a cuff
# reading taken during movement), each lasting a few seconds, so a fast monitor reports several
# readings of one episode. Rates per monitored hour, from published monitoring data:
# - SpO2 false desaturation (motion): conventional pulse oximetry gave 10 false SpO2 <= 90%
#   alarms in 42 monitored hours (0.24/h; Malviya S et al., Anesth Analg 2000;90:1336-40); under
#   motion one oximeter read within 7% of the arterial value only 76% of the time (Barker SJ,
#   Shah NK, Anesthesiology 1996;85:774-81). Depth 5-15 points.
# - probe off / data dropout: similar incidence to false alarms in the same study; the
#   oximeter reports nothing.
# - ECG motion / lead-off heart-rate artefacts: 88.8% of 12,671 annotated ICU arrhythmia alarms
#   were false, at 187 audible alarms per bed per day (Drew BJ et al., PLoS One 2014;9:e110274),
#   i.e. a few false heart-rate events per bed-hour; we take 0.3/h of spikes of +35-70/min.
# - NIBP cuff errors (movement during the oscillometric cycle): modelled as 2% of cuff
#   automated cuff readings off by 20-40 mmHg; an assumption (no rate in CLINICAL.md's sources),
#   stated as such. A nurse repeats an implausible manual pressure, and a spot SpO2 or pulse read
#   while the patient moves (watching the pleth, the patient at rest), so manual sets have none:
#   an assumption too, the one the detector's "a nurse's set is acted on at once" rests on.
# Durations 3-15 s: shorter than the critical tier's validation time (detection.critical.confirm.ms).
ARTEFACT_RATES_PER_HOUR = {"spo2_motion": 0.24, "probe_off": 0.24, "hr_motion": 0.3}
ARTEFACT_SECONDS = (3, 15)
CUFF_ERROR_SHARE = 0.02
MISSING_VALUE_SHARE = 0.01  # a value the device left out of one reading
_ARTEFACT_VITAL = {"spo2_motion": "spo2", "probe_off": "spo2", "hr_motion": "heart_rate"}


def _artefact_episode(p: PatientPhysiology, kind: str, t_ms: int) -> dict:
    rng = p.rng
    end = t_ms + int(rng.uniform(*ARTEFACT_SECONDS) * 1000)
    offset = {"spo2_motion": -rng.uniform(5, 15), "hr_motion": rng.uniform(35, 70)}.get(kind, 0.0)
    episode = {"kind": kind, "vital": _ARTEFACT_VITAL[kind], "start_ms": t_ms, "end_ms": end, "offset": offset}
    p.artefacts.append(episode)
    return episode


def _active_artefact(p: PatientPhysiology, vital: str, t_ms: int) -> dict | None:
    """The artefact episode covering this vital at ``t_ms``, starting a new one at its rate."""
    episode = p.active.get(vital)
    if episode is not None and episode["end_ms"] > t_ms:
        return episode
    last = p.last_measured.get(vital)
    p.last_measured[vital] = t_ms
    if last is None:
        return None
    hours = max(0.0, (t_ms - last) / HOUR_MS)
    for kind, rate in ARTEFACT_RATES_PER_HOUR.items():
        if _ARTEFACT_VITAL[kind] == vital and p.rng.random() < 1 - math.exp(-rate * hours):
            p.active[vital] = _artefact_episode(p, kind, t_ms)
            return p.active[vital]
    return None


def measure(p: PatientPhysiology, t_ms: int, vitals: tuple[str, ...], automated: bool = True) -> dict[str, float | None]:
    """What a device reports: the true state, rounded as devices do, with artefacts (recorded
    in ``p.artefacts`` as ground truth). ``automated=False`` (a nurse's observation set): no
    motion artefact and no cuff error, as a nurse repeats an implausible manual reading."""
    true = p.advance(t_ms)
    rng = p.rng
    out: dict[str, float | None] = {}
    cuff_error = automated and "systolic_bp" in vitals and rng.random() < CUFF_ERROR_SHARE
    if cuff_error:
        offset = rng.choice([-1, 1]) * rng.uniform(20, 40)
        p.artefacts.append({"kind": "cuff_error", "vital": "systolic_bp", "start_ms": t_ms, "end_ms": t_ms + 1,
                            "offset": offset})
    for name in vitals:
        v = true[name]
        episode = _active_artefact(p, name, t_ms) if name in ("spo2", "heart_rate") else None
        if episode is not None and not automated:
            # The nurse repeats the reading: none in a manual set. Drawn as for a device all the same,
            # so every other value of the simulated day stays what it was (bench.detection's "before").
            if episode["start_ms"] == t_ms:
                p.artefacts.remove(episode)
                p.active.pop(name, None)
            episode = None
        if rng.random() < MISSING_VALUE_SHARE:
            out[name] = None
            continue
        if episode is not None:
            if episode["kind"] == "probe_off":
                out[name] = None  # probe off: the oximeter reports nothing
                continue
            v += episode["offset"]
        if cuff_error and name in ("systolic_bp", "diastolic_bp"):
            v += offset * (1.0 if name == "systolic_bp" else 0.6)
        if name == "temperature_c":
            out[name] = round(v, 1)
        else:
            out[name] = float(min(100, max(0, round(v)))) if name == "spo2" else float(max(0, round(v)))
    sbp, dbp = out.get("systolic_bp"), out.get("diastolic_bp")
    if sbp is not None and dbp is not None and dbp >= sbp:
        out["diastolic_bp"] = sbp - 5  # a monitor never reports a diastolic above the systolic
    return out
