"""Simulated hospitals: units, beds, doctors and patients, their encounters and their vital signs.

At the start each hospital holds a census of admitted patients (admitted hours or days
before); new patients arrive through the ER at a rate that keeps the census steady, are
triaged and waited per source system E, and are either treated and sent home or admitted to
the unit their reason for visit calls for (source system A, made consistent). Surgery goes
on to Recovery and then a Ward; discharges come with a bill and a payment.

Identities come from Faker (seeded) and stay in the producer's registry
(``Simulator.registry()``); the stream carries pseudonymous ids only (P-0007-000123: seed, then number, so two seeds never share a patient), as a hospital
integration engine would send to an analytics platform.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from faker import Faker

from producer import encounters as enc
from producer.physiology import HOUR_MS, MINUTE_MS, SCENARIO_HOURS, PatientPhysiology, Scenario, measure

SECOND_MS = 1000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Cadence:
    """How often one device of a unit reports, and which vitals it carries."""

    device: str  # monitor | nibp | obs | wearable
    every_ms: int
    vitals: tuple[str, ...]
    source: str = "bedside"
    consciousness: bool = False


MONITOR = ("heart_rate", "spo2", "respiratory_rate")
BP = ("systolic_bp", "diastolic_bp")
FULL = ("heart_rate", "spo2", "respiratory_rate", "systolic_bp", "diastolic_bp", "temperature_c")

# Unit kinds: share of beds, and measurement cadence (ICU every few seconds, wards every few
# hours plus a wearable every minute). Pass another table to Simulator to change it.
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
UNIT_NAMES = {"ICU": "ICU", "ER": "ER", "Surgery": "Surgery", "Recovery": "Recovery", "Ward": "Ward-A"}


def with_cadence(overrides: dict[tuple[str, str], float], base: dict[str, dict] = UNIT_KINDS) -> dict[str, dict]:
    """A copy of the unit table with some devices' intervals changed: {(unit kind, device): seconds}."""
    from dataclasses import replace

    table = {kind: dict(spec) for kind, spec in base.items()}
    for (kind, device), seconds in overrides.items():
        if kind not in table:
            raise ValueError(f"unknown unit kind {kind!r}; known: {', '.join(table)}")
        devices = [c.device for c in table[kind]["cadence"]]
        if device not in devices:
            raise ValueError(f"unit kind {kind} has no device {device!r}; it has {', '.join(devices)}")
        if seconds <= 0:
            raise ValueError(f"cadence of {kind}:{device} must be positive")
        table[kind]["cadence"] = tuple(replace(c, every_ms=int(seconds * 1000)) if c.device == device else c
                                       for c in table[kind]["cadence"])
    return table


def unit_kind(unit: str) -> str:
    return unit.split("-")[0]


@dataclass
class Doctor:
    doctor_id: str
    name: str
    hospital_id: str


@dataclass
class Patient:
    patient_id: str
    encounter_id: str
    name: str  # registry only: never put on the stream
    age: int
    gender: str
    blood_group: str
    pre_existing: str
    hospital_id: str
    reason: enc.Reason
    triage: int
    doctor: Doctor
    insurance: str
    payment_method: str
    readmission: bool
    physiology: PatientPhysiology
    arrival_ms: int
    admitted_ms: int
    unit: str = "ER"
    bed: str = ""
    bed_type: str = "general"
    generation: int = 0  # bumped on every move, so the old unit's device schedule lapses
    unit_history: list[str] = field(default_factory=list)


@dataclass
class Hospital:
    hospital_id: str
    name: str
    free_beds: dict[str, list[str]]  # unit name -> free bed labels
    doctors: list[Doctor]
    overflow: int = 0


class Simulator:
    """Produces encounter events and readings in time order over a simulated span."""

    def __init__(self, n_patients: int = 100, n_hospitals: int = 3, seed: int = 7, start_ms: int = 0,
                 deteriorating_share: float = 0.15, onset_within_ms: int = 2 * HOUR_MS,
                 unit_kinds: dict[str, dict] | None = None):
        self.rng = random.Random(seed)
        self.fake = Faker()
        self.fake.seed_instance(seed)
        self.seed = seed
        self.start_ms = start_ms
        self.units = unit_kinds or UNIT_KINDS
        self.deteriorating_share = deteriorating_share
        self.onset_within_ms = onset_within_ms
        self.patients: dict[str, Patient] = {}
        self._reading_seq = 0
        self._event_seq = 0
        self._heap: list[tuple[int, int, str, tuple]] = []
        self._order = 0
        self._now = start_ms
        self._patient_seq = 0
        self._everyone: dict[str, Patient] = {}
        per_hospital = -(-n_patients // n_hospitals)
        self.hospitals = [self._hospital(h, per_hospital) for h in range(n_hospitals)]
        mean_stay_days = sum(r.weight * sum(r.stay_days) / 2 for r in enc.REASONS) / sum(r.weight for r in enc.REASONS)
        self.arrival_every_ms = mean_stay_days * DAY_MS / max(1, n_patients)  # keeps the census steady
        self._census = [self._admit_census(i % n_hospitals) for i in range(n_patients)]
        self._record_truth()

    # ---- set-up -------------------------------------------------------------------------
    def _hospital(self, h: int, per_hospital: int) -> Hospital:
        hid = f"H{h + 1:02d}"
        free = {}
        for kind, spec in self.units.items():
            beds = max(2, round(per_hospital * spec["share"] * 1.3))  # ~75% occupancy
            name = UNIT_NAMES.get(kind, kind)
            free[name] = [f"{name}-{b + 1:02d}" for b in range(beds)]
        doctors = [Doctor(f"D-{h + 1:02d}{d + 1:02d}", f"Dr. {self.fake.last_name()}", hid) for d in range(7)]
        return Hospital(hid, f"{self.fake.city()} General Hospital", free, doctors)

    def _take_bed(self, hospital: Hospital, unit: str) -> str:
        beds = hospital.free_beds.setdefault(unit, [])
        if beds:
            return beds.pop(self.rng.randrange(len(beds)))
        hospital.overflow += 1
        return f"{unit}-X{hospital.overflow:02d}"  # corridor / overflow bed

    def _free_bed(self, p: Patient) -> None:
        if p.bed and "-X" not in p.bed:
            self.hospitals[int(p.hospital_id[1:]) - 1].free_beds.setdefault(p.unit, []).append(p.bed)

    def _new_patient(self, hospital: Hospital, arrival_ms: int, census: bool) -> Patient:
        rng = self.rng
        self._patient_seq += 1
        n = self._patient_seq
        reason = enc.draw_reason(rng)
        gender = rng.choice(["female", "male"])
        if reason.name == "pregnancy checkup":
            gender = "female"
        age = max(1, min(98, int(rng.gauss(58, 20)))) if reason.er_department != "pediatrics" else rng.randint(1, 15)
        if reason.name == "pregnancy checkup":
            age = rng.randint(18, 44)
        scenario = None
        risk = self.deteriorating_share if census else reason.scenario_risk * self.deteriorating_share / 0.15
        if rng.random() < risk:
            kind = reason.scenario or rng.choice(list(SCENARIO_HOURS))
            lo, hi = SCENARIO_HOURS[kind]
            onset = (self.start_ms if census else arrival_ms) + int(rng.uniform(0, self.onset_within_ms))
            scenario = Scenario(kind, onset, int(rng.uniform(lo, hi) * HOUR_MS),
                                arrhythmia_rate=rng.choice([155.0, 165.0, 36.0]),
                                treated_after_ms=int(rng.uniform(1, 3) * HOUR_MS),
                                recovery_ms=int(rng.uniform(3, 8) * HOUR_MS))
        insurance, method = enc.draw_payment(rng)
        p = Patient(
            patient_id=f"P-{self.seed:04d}-{n:06d}", encounter_id=f"E-{self.seed:04d}-{n:06d}", name=self.fake.name(), age=age,
            gender=gender, blood_group=rng.choices([b for b, _ in enc.BLOOD_GROUPS], [w for _, w in enc.BLOOD_GROUPS])[0],
            pre_existing=rng.choice(enc.PRE_EXISTING), hospital_id=hospital.hospital_id, reason=reason,
            triage=enc.draw_triage(rng, reason), doctor=rng.choice(hospital.doctors), insurance=insurance,
            payment_method=method, readmission=rng.random() < enc.READMISSION_SHARE,
            physiology=PatientPhysiology.new(random.Random(rng.getrandbits(64)), age, scenario),
            arrival_ms=arrival_ms, admitted_ms=arrival_ms,
        )
        self.patients[p.patient_id] = p
        return p

    def _admit_census(self, h: int) -> Patient:
        """A patient already in a bed at the start, admitted some time before."""
        hospital = self.hospitals[h]
        p = self._new_patient(hospital, self.start_ms, census=True)
        stay = self.rng.uniform(*p.reason.stay_days) * DAY_MS
        p.admitted_ms = self.start_ms - int(self.rng.uniform(0.05, 0.9) * stay)
        p.arrival_ms = p.admitted_ms - int(self.rng.uniform(1, 4) * HOUR_MS)
        target = p.reason.unit if p.reason.stay_days[1] > 1 else "Ward"
        if target == "Surgery":
            target = self.rng.choice(["Surgery", "Recovery", "Ward"])
        self._place(p, UNIT_NAMES.get(target, target))
        self._schedule(p.admitted_ms + int(stay), "discharge", (p.patient_id,))
        return p

    # ---- scheduling ---------------------------------------------------------------------
    def _schedule(self, t_ms: int, kind: str, payload: tuple) -> None:
        self._order += 1
        heapq.heappush(self._heap, (t_ms, self._order, kind, payload))

    def _place(self, p: Patient, unit: str) -> None:
        self._free_bed(p)
        hospital = self.hospitals[int(p.hospital_id[1:]) - 1]
        p.unit_history.append(p.unit)
        p.unit = unit
        p.bed = self._take_bed(hospital, unit)
        p.bed_type = enc.draw_bed_type(self.rng, unit_kind(unit)) if unit_kind(unit) in enc.BED_TYPES else "general"
        p.generation += 1
        now = max(self.start_ms, self._now)
        for j, cadence in enumerate(self.units[unit_kind(unit)]["cadence"]):
            # Stagger devices so patients do not all report on the same tick.
            self._schedule(now + self.rng.randrange(cadence.every_ms), "vitals", (p.patient_id, p.generation, j))

    # ---- events -------------------------------------------------------------------------
    def _event(self, p: Patient, event: str, ts: int, **fields) -> dict:
        self._event_seq += 1
        out = {"schema_version": 1, "type": "encounter", "event_id": f"EV-{self.seed:04d}-{self._event_seq:08d}",
               "event": event, "patient_id": p.patient_id, "encounter_id": p.encounter_id,
               "hospital_id": p.hospital_id, "ts": ts}
        out.update({k: v for k, v in fields.items() if v is not None})
        return out

    def _admission(self, p: Patient, ts: int) -> dict:
        state = p.physiology.advance(ts)
        r = p.reason
        return self._event(
            p, "admission", ts, unit=p.unit, bed=p.bed, bed_type=p.bed_type, room=p.bed, age_years=p.age,
            gender=p.gender, blood_group=p.blood_group, pre_existing_condition=p.pre_existing,
            reason_for_visit=r.name, symptoms=list(r.symptoms), medications=list(r.medications), tests=list(r.tests),
            is_emergency=p.triage <= 3, critical_condition=r.critical, triage_level=p.triage,
            doctor_id=p.doctor.doctor_id, doctor_name=p.doctor.name, arrival_ts=p.arrival_ms,
            insurance_provider=p.insurance, payment_method=p.payment_method, readmission_30d=p.readmission,
            systolic_bp=round(state["systolic_bp"]), diastolic_bp=round(state["diastolic_bp"]),
            spo2=round(min(100.0, state["spo2"])),
        )

    def _discharge(self, p: Patient, ts: int) -> list[dict]:
        r = p.reason
        stay_days = round((ts - p.admitted_ms) / DAY_MS, 2)
        covid = ("positive" if self.rng.random() < 0.6 else "negative") if r.name == "COVID symptoms" else (
            "negative" if self.rng.random() < 0.3 else "not_tested")
        notes = self.rng.choice(["Stable, follow up with GP in 1 week.", "Discharged home with medication.",
                                 "Follow-up appointment booked.", "Advised rest and fluids."])
        amount = enc.bill(self.rng, r, stay_days, unit_kind(p.unit))
        payment = self._event(p, "payment", ts + 5 * MINUTE_MS, amount=amount, insurance_provider=p.insurance,
                              payment_method=p.payment_method)
        self._schedule(payment["ts"], "emit", (payment,))
        out = [
            self._event(p, "discharge", ts, unit=p.unit, bed=p.bed, reason_for_visit=r.name,
                        length_of_stay_days=stay_days, treatment_minutes=float(self.rng.randint(*r.treatment_minutes)),
                        discharge_notes=notes, readmission_30d=p.readmission, covid_test=covid,
                        critical_condition=r.critical, doctor_id=p.doctor.doctor_id),
        ]
        self._free_bed(p)
        p.generation += 1  # devices stop
        del self.patients[p.patient_id]
        return out

    def _reading(self, p: Patient, cadence: Cadence, t_ms: int) -> dict | None:
        values = measure(p.physiology, t_ms, cadence.vitals, automated=cadence.source != "manual")
        if all(values.get(name) is None for name in cadence.vitals):
            return None  # every value dropped out: nothing is sent
        self._reading_seq += 1
        ph = p.physiology
        event = {
            "schema_version": 1, "type": "vitals", "reading_id": f"R-{self.seed:04d}-{self._reading_seq:010d}",
            "patient_id": p.patient_id, "encounter_id": p.encounter_id, "hospital_id": p.hospital_id,
            "unit": p.unit, "bed": p.bed, "device_id": f"{cadence.device}-{p.hospital_id}-{p.bed}",
            "source": cadence.source, "ts": t_ms, **{k: v for k, v in values.items() if v is not None},
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
        if p.reason.name == "pregnancy checkup":
            event["pregnant"] = True
        return event

    def _arrival(self, t_ms: int) -> list[dict]:
        rng = self.rng
        hospital = rng.choice(self.hospitals)
        p = self._new_patient(hospital, t_ms, census=False)
        wait = enc.draw_wait(rng, p.triage)
        seen = t_ms + int(wait * MINUTE_MS)
        self._place(p, "ER")
        treat = rng.randint(*p.reason.treatment_minutes) * MINUTE_MS
        if p.reason.stay_days[1] <= 1:  # treated in the ER and sent home
            self._schedule(seen + treat, "discharge", (p.patient_id,))
        else:
            self._schedule(seen + treat, "admit", (p.patient_id,))
        self._schedule(t_ms + int(rng.expovariate(1 / self.arrival_every_ms)), "arrival", ())
        self._schedule(seen, "emit", (self._event(p, "er_triage", seen, unit="ER", bed=p.bed, age_years=p.age, gender=p.gender,
                            blood_group=p.blood_group, pre_existing_condition=p.pre_existing,
                            reason_for_visit=p.reason.name, symptoms=list(p.reason.symptoms),
                            triage_level=p.triage, wait_minutes=wait, er_department=p.reason.er_department,
                            doctor_id=p.doctor.doctor_id, doctor_name=p.doctor.name, arrival_ts=t_ms,
                            is_emergency=p.triage <= 3, critical_condition=p.reason.critical,
                            readmission_30d=p.readmission),))
        return []

    def _move(self, p: Patient, to_unit: str, ts: int) -> dict:
        from_unit = p.unit
        self._place(p, UNIT_NAMES.get(to_unit, to_unit))
        return self._event(p, "transfer", ts, from_unit=from_unit, unit=p.unit, bed=p.bed, bed_type=p.bed_type)

    def _handle(self, t_ms: int, kind: str, payload: tuple) -> list[dict]:
        if kind == "arrival":
            return self._arrival(t_ms)
        if kind == "emit":  # an event prepared earlier, due now
            return [payload[0]]
        p = self.patients.get(payload[0])
        if p is None:
            return []
        if kind == "vitals":
            _, generation, j = payload
            if generation != p.generation:
                return []  # the patient moved: this device schedule has lapsed
            cadence = self.units[unit_kind(p.unit)]["cadence"][j]
            jitter = int(self.rng.uniform(-0.05, 0.05) * cadence.every_ms)
            self._schedule(t_ms + cadence.every_ms + jitter, "vitals", payload)
            reading = self._reading(p, cadence, t_ms)
            return [reading] if reading else []
        if kind == "admit":
            p.admitted_ms = t_ms
            self._place(p, UNIT_NAMES.get(p.reason.unit, p.reason.unit))
            stay = self.rng.uniform(*p.reason.stay_days) * DAY_MS
            self._schedule(t_ms + int(stay), "discharge", (p.patient_id,))
            if unit_kind(p.unit) == "Surgery":
                self._schedule(t_ms + int(self.rng.uniform(1.5, 4) * HOUR_MS), "transfer", (p.patient_id, "Recovery"))
            return [self._admission(p, t_ms)]
        if kind == "transfer":
            to = payload[1]
            if to == "Recovery":
                self._schedule(t_ms + int(self.rng.uniform(2, 6) * HOUR_MS), "transfer", (p.patient_id, "Ward"))
            return [self._move(p, to, t_ms)]
        if kind == "discharge":
            return self._discharge(p, t_ms)
        raise ValueError(kind)

    # ---- public -------------------------------------------------------------------------
    def registry(self) -> list[dict]:
        """Identities (the simulated hospital's patient index): for the producer's own files only."""
        return [{"patient_id": p.patient_id, "name": p.name, "age": p.age, "gender": p.gender,
                 "hospital_id": p.hospital_id} for p in self.patients.values()]

    def ground_truth(self) -> list[dict]:
        """Deterioration scenarios with their timeline, to score detection against."""
        truth = [self._timeline(p) for p in self._everyone.values() if p.physiology.scenario is not None]
        return sorted(truth, key=lambda g: (g["onset_ms"], g["patient_id"]))

    def patient_truth(self) -> list[dict]:
        """Every patient simulated so far: traits, scenario timeline and every injected artefact."""
        out = []
        for p in self._everyone.values():
            ph = p.physiology
            out.append({"patient_id": p.patient_id, "hospital_id": p.hospital_id, "age": p.age,
                        "pregnant": p.reason.name == "pregnancy checkup", "scale2": ph.copd,
                        "baseline": {k: round(v, 1) for k, v in ph.baseline.items()},
                        "scenario": self._timeline(p) if ph.scenario else None, "artefacts": list(ph.artefacts)})
        return out

    @staticmethod
    def _timeline(p: Patient) -> dict:
        sc = p.physiology.scenario
        full = sc.onset_ms + sc.duration_ms
        treated = full + sc.treated_after_ms
        return {"patient_id": p.patient_id, "encounter_id": p.encounter_id, "scenario": sc.kind,
                "onset_ms": sc.onset_ms, "full_severity_ms": full, "treatment_ms": treated,
                "end_ms": treated + int((1 - sc.residual) * sc.recovery_ms),
                "oxygen_started_ms": sc.oxygen_started_ms, "scale2": p.physiology.copd, "age": p.age,
                "arrhythmia_rate": sc.arrhythmia_rate if sc.kind == "arrhythmia" else None,
                "hospital_id": p.hospital_id}

    def _record_truth(self) -> None:
        for p in self.patients.values():
            self._everyone.setdefault(p.patient_id, p)

    def events(self, until_ms: int | None = None) -> Iterator[dict]:
        """Census admissions, then every event in timestamp order from ``start_ms``."""
        for p in self._census:
            yield self._admission(p, p.admitted_ms)
        self._schedule(self.start_ms + int(self.rng.expovariate(1 / self.arrival_every_ms)), "arrival", ())
        while self._heap:
            t_ms, _, kind, payload = heapq.heappop(self._heap)
            if until_ms is not None and t_ms >= until_ms:
                return
            self._now = t_ms
            out = self._handle(t_ms, kind, payload)
            if kind == "arrival":
                self._record_truth()
            yield from out
