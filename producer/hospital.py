"""Simulated hospitals: units, beds, doctors and patients, and the readings they produce.

Identities come from Faker (seeded) and stay in the producer's registry: the stream carries
pseudonymous ids only (P-000123), as a hospital integration engine would send to analytics.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from faker import Faker

from producer.physiology import HOUR_MS, MINUTE_MS, SCENARIO_HOURS, PatientPhysiology, Scenario, measure

SECOND_MS = 1000


@dataclass(frozen=True)
class Cadence:
    """How often each device of a unit reports, and which vitals it carries."""

    device: str  # monitor | nibp | thermometer | obs | wearable
    every_ms: int
    vitals: tuple[str, ...]
    source: str = "bedside"
    consciousness: bool = False


MONITOR = ("heart_rate", "spo2", "respiratory_rate")
BP = ("systolic_bp", "diastolic_bp")
FULL = ("heart_rate", "spo2", "respiratory_rate", "systolic_bp", "diastolic_bp", "temperature_c")

# Unit kinds: share of beds, and measurement cadence (ICU every few seconds, wards every few
# hours plus a wearable every minute). Configurable by passing another table to Simulator.
UNIT_KINDS: dict[str, dict] = {
    "ICU": {"share": 0.12, "cadence": (Cadence("monitor", 5 * SECOND_MS, MONITOR),
                                       Cadence("nibp", 15 * MINUTE_MS, BP),
                                       Cadence("obs", HOUR_MS, ("temperature_c",), "manual", True))},
    "ER": {"share": 0.15, "cadence": (Cadence("monitor", 30 * SECOND_MS, MONITOR),
                                      Cadence("obs", 30 * MINUTE_MS, FULL, "manual", True))},
    "Surgery": {"share": 0.10, "cadence": (Cadence("monitor", 10 * SECOND_MS, MONITOR),
                                           Cadence("nibp", 5 * MINUTE_MS, BP))},
    "Recovery": {"share": 0.10, "cadence": (Cadence("monitor", 15 * SECOND_MS, MONITOR),
                                            Cadence("obs", 15 * MINUTE_MS, FULL, "manual", True))},
    "Ward": {"share": 0.53, "cadence": (Cadence("wearable", MINUTE_MS, ("heart_rate", "spo2"), "wearable"),
                                        Cadence("obs", 4 * HOUR_MS, FULL, "manual", True))},
}


@dataclass
class Patient:
    patient_id: str
    encounter_id: str
    name: str  # registry only: never put on the stream
    age: int
    gender: str
    hospital_id: str
    unit: str
    bed: str
    physiology: PatientPhysiology
    devices: dict[str, str] = field(default_factory=dict)


@dataclass
class Hospital:
    hospital_id: str
    name: str
    units: dict[str, list[str]]  # unit name -> bed labels


def build_hospitals(n_patients: int, n_hospitals: int, rng: random.Random, fake: Faker) -> list[Hospital]:
    hospitals = []
    per_hospital = -(-n_patients // n_hospitals)
    for h in range(n_hospitals):
        hid = f"H{h + 1:02d}"
        units: dict[str, list[str]] = {}
        for kind, spec in UNIT_KINDS.items():
            beds = max(1, round(per_hospital * spec["share"] * 1.2))  # ~80% occupancy
            name = kind if kind != "Ward" else "Ward-A"
            units[name] = [f"{name}-{b + 1:02d}" for b in range(beds)]
        hospitals.append(Hospital(hid, f"{fake.city()} General Hospital", units))
    return hospitals


class Simulator:
    """Produces readings for every patient in time order over a simulated span."""

    def __init__(self, n_patients: int = 100, n_hospitals: int = 3, seed: int = 7, start_ms: int = 0,
                 deteriorating_share: float = 0.15, onset_within_ms: int = 2 * HOUR_MS):
        self.rng = random.Random(seed)
        self.fake = Faker()
        self.fake.seed_instance(seed)
        self.start_ms = start_ms
        self.hospitals = build_hospitals(n_patients, n_hospitals, self.rng, self.fake)
        self.patients: list[Patient] = []
        self._seq = 0
        free = [(h, unit, bed) for h in self.hospitals for unit, beds in h.units.items() for bed in beds]
        self.rng.shuffle(free)
        for i in range(n_patients):
            h, unit, bed = free[i % len(free)]
            age = max(16, min(98, int(self.rng.gauss(62, 18))))
            scenario = None
            if self.rng.random() < deteriorating_share:
                kind = self.rng.choice(list(SCENARIO_HOURS))
                lo, hi = SCENARIO_HOURS[kind]
                scenario = Scenario(kind, start_ms + int(self.rng.uniform(0, onset_within_ms)),
                                    int(self.rng.uniform(lo, hi) * HOUR_MS),
                                    arrhythmia_rate=self.rng.choice([155.0, 165.0, 36.0]))
            prng = random.Random(self.rng.getrandbits(64))
            self.patients.append(Patient(
                patient_id=f"P-{i + 1:06d}", encounter_id=f"E-{seed:04d}-{i + 1:06d}", name=self.fake.name(),
                age=age, gender=self.rng.choice(["female", "male"]), hospital_id=h.hospital_id, unit=unit, bed=bed,
                physiology=PatientPhysiology.new(prng, age, scenario),
            ))

    def ground_truth(self) -> list[dict]:
        """Scenario onsets, to score detection against."""
        return [{"patient_id": p.patient_id, "scenario": p.physiology.scenario.kind,
                 "onset_ms": p.physiology.scenario.onset_ms,
                 "full_severity_ms": p.physiology.scenario.onset_ms + p.physiology.scenario.duration_ms,
                 "hospital_id": p.hospital_id, "unit": p.unit, "bed": p.bed}
                for p in self.patients if p.physiology.scenario is not None]

    def _reading(self, p: Patient, cadence: Cadence, t_ms: int) -> dict:
        self._seq += 1
        values = measure(p.physiology, t_ms, cadence.vitals)
        ph = p.physiology
        event = {
            "schema_version": 1, "type": "vitals", "reading_id": f"R-{self._seq:010d}",
            "patient_id": p.patient_id, "encounter_id": p.encounter_id, "hospital_id": p.hospital_id,
            "unit": p.unit, "bed": p.bed, "device_id": f"{cadence.device}-{p.bed}", "source": cadence.source,
            "ts": t_ms, **{k: v for k, v in values.items() if v is not None},
        }
        if "spo2" in cadence.vitals:
            event["spo2_scale"] = 2 if ph.copd else 1
            event["on_oxygen"] = ph.on_oxygen
            if ph.on_oxygen:
                event["oxygen_flow_l_min"] = 2.0
                event["oxygen_device"] = "nasal cannula"
        if cadence.consciousness:
            event["consciousness"] = ph.consciousness(t_ms)
        event["age_years"] = p.age
        return event

    def admissions(self) -> list[dict]:
        """One admission event per patient at the start of the run (no name: ids only)."""
        return [{
            "schema_version": 1, "type": "encounter", "event_id": f"EV-{p.encounter_id}-adm", "event": "admission",
            "patient_id": p.patient_id, "encounter_id": p.encounter_id, "hospital_id": p.hospital_id,
            "ts": self.start_ms, "unit": p.unit, "bed": p.bed, "age_years": p.age, "gender": p.gender,
            "bed_type": "ICU" if p.unit == "ICU" else "general",
        } for p in self.patients]

    def events(self, until_ms: int | None = None) -> Iterator[dict]:
        """Admissions, then readings in timestamp order from ``start_ms`` (until ``until_ms`` or forever)."""
        yield from self.admissions()
        heap: list[tuple[int, int, int]] = []
        for i, p in enumerate(self.patients):
            for j, cadence in enumerate(UNIT_KINDS[p.unit.split("-")[0]]["cadence"]):
                # Stagger devices so patients do not all report on the same tick.
                heapq.heappush(heap, (self.start_ms + self.rng.randrange(cadence.every_ms), i, j))
        while heap:
            t_ms, i, j = heapq.heappop(heap)
            if until_ms is not None and t_ms >= until_ms:
                return
            p = self.patients[i]
            cadence = UNIT_KINDS[p.unit.split("-")[0]]["cadence"][j]
            reading = self._reading(p, cadence, t_ms)
            if any(name in reading for name in cadence.vitals):  # every value dropped out: nothing sent
                yield reading
            jitter = int(self.rng.uniform(-0.05, 0.05) * cadence.every_ms)
            heapq.heappush(heap, (t_ms + cadence.every_ms + jitter, i, j))
