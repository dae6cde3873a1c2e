"""Why patients come, where they go, how long they stay, and how they pay.

The facts of SOURCE_SYSTEMS.md A (reasons for visit, their symptoms, medications and tests,
critical conditions, insurance and payment) and E (ER triage weights and waits, departments),
as data. Unlike source system A, department, triage, treatment time and length of stay follow
from the reason for the visit instead of being drawn independently.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    name: str
    weight: float  # relative frequency among arrivals
    symptoms: tuple[str, ...]
    medications: tuple[str, ...]
    tests: tuple[str, ...]
    er_department: str  # source system E's routing: trauma, pediatrics, general ER, cardiology, orthopedics
    unit: str  # where an admitted patient goes: ICU, Surgery, Ward (Recovery follows Surgery)
    critical: bool  # source system A's critical_condition list
    triage: tuple[float, float, float, float, float]  # weights of triage levels 1..5
    treatment_minutes: tuple[int, int]
    stay_days: tuple[float, float]
    scenario: str | None  # the deterioration this reason can lead to
    scenario_risk: float


def _r(name, weight, symptoms, meds, tests, dept, unit, critical, triage, treat, stay, scenario=None, risk=0.0):
    return Reason(name, weight, tuple(symptoms), tuple(meds), tuple(tests), dept, unit, critical, triage, treat, stay,
                  scenario, risk)


# Critical per source system A: chest pain, shortness of breath, asthma attack, stroke
# symptoms, COVID symptoms, allergic reaction. Triage weights are skewed from E's overall
# 5/15/40/30/10% by how urgent the reason is.
REASONS: tuple[Reason, ...] = (
    _r("chest pain", 8, ["chest pain", "sweating", "nausea"], ["aspirin", "nitroglycerin", "heparin"],
       ["ECG", "troponin", "chest X-ray"], "cardiology", "ICU", True, (20, 45, 30, 5, 0), (90, 360), (2, 6),
       "arrhythmia", 0.35),
    _r("high fever", 7, ["fever", "chills", "fatigue"], ["paracetamol", "ceftriaxone", "IV fluids"],
       ["blood culture", "CBC", "lactate"], "general ER", "Ward", False, (2, 15, 50, 28, 5), (60, 240), (2, 7),
       "sepsis", 0.3),
    _r("injury", 7, ["wound", "pain", "bleeding"], ["morphine", "tetanus vaccine"], ["X-ray", "CT"], "trauma",
       "Surgery", False, (8, 22, 40, 25, 5), (60, 300), (1, 5), "haemorrhage", 0.2),
    _r("routine checkup", 6, ["none"], ["none"], ["CBC", "metabolic panel"], "general ER", "Ward", False,
       (0, 0, 10, 40, 50), (20, 60), (0.2, 1), None),
    _r("abdominal pain", 7, ["abdominal pain", "nausea", "vomiting"], ["morphine", "ondansetron"],
       ["ultrasound", "CT", "lipase"], "general ER", "Surgery", False, (2, 15, 50, 28, 5), (60, 300), (1, 5),
       "sepsis", 0.1),
    _r("headache", 5, ["headache", "photophobia"], ["ibuprofen", "metoclopramide"], ["CT head"], "general ER",
       "Ward", False, (1, 8, 40, 40, 11), (30, 120), (0.5, 2), None),
    _r("shortness of breath", 7, ["dyspnoea", "cough", "wheeze"], ["salbutamol", "oxygen", "furosemide"],
       ["chest X-ray", "blood gas", "BNP"], "general ER", "Ward", True, (15, 40, 35, 10, 0), (60, 300), (2, 8),
       "respiratory_failure", 0.4),
    _r("back pain", 4, ["back pain"], ["ibuprofen", "diazepam"], ["X-ray"], "orthopedics", "Ward", False,
       (0, 3, 30, 50, 17), (30, 120), (0.5, 2), None),
    _r("broken bone", 5, ["deformity", "pain", "swelling"], ["morphine", "cefazolin"], ["X-ray"], "orthopedics",
       "Surgery", False, (2, 18, 50, 27, 3), (90, 360), (1, 6), "haemorrhage", 0.1),
    _r("diabetes checkup", 3, ["polyuria", "fatigue"], ["insulin", "metformin"], ["glucose", "HbA1c"], "general ER",
       "Ward", False, (0, 5, 25, 45, 25), (30, 90), (0.5, 2), None),
    _r("high blood pressure", 4, ["headache", "blurred vision"], ["labetalol", "amlodipine"], ["ECG", "creatinine"],
       "cardiology", "Ward", False, (5, 20, 45, 25, 5), (60, 180), (1, 3), "arrhythmia", 0.1),
    _r("pregnancy checkup", 3, ["none"], ["folic acid"], ["ultrasound", "urinalysis"], "general ER", "Ward", False,
       (0, 5, 30, 40, 25), (30, 90), (0.2, 1), None),
    _r("skin rash", 3, ["rash", "itching"], ["cetirizine", "hydrocortisone"], ["skin swab"], "general ER", "Ward", False,
       (0, 2, 20, 48, 30), (20, 60), (0.2, 1), None),
    _r("kidney stone", 3, ["flank pain", "haematuria"], ["morphine", "tamsulosin"], ["CT", "urinalysis"], "general ER",
       "Surgery", False, (1, 20, 55, 22, 2), (60, 240), (1, 3), "sepsis", 0.05),
    _r("asthma attack", 4, ["wheeze", "dyspnoea"], ["salbutamol", "prednisolone", "oxygen"], ["peak flow", "blood gas"],
       "pediatrics", "Ward", True, (15, 40, 35, 10, 0), (60, 240), (1, 4), "respiratory_failure", 0.3),
    _r("stroke symptoms", 3, ["facial droop", "arm weakness", "speech difficulty"], ["alteplase", "aspirin"],
       ["CT head", "MRI"], "general ER", "ICU", True, (45, 45, 10, 0, 0), (120, 480), (4, 12), None),
    _r("COVID symptoms", 4, ["fever", "cough", "loss of smell"], ["dexamethasone", "oxygen"], ["COVID PCR", "chest X-ray"],
       "general ER", "Ward", True, (5, 25, 45, 20, 5), (60, 240), (3, 10), "respiratory_failure", 0.3),
    _r("allergic reaction", 3, ["urticaria", "swelling", "wheeze"], ["adrenaline", "cetirizine", "hydrocortisone"],
       ["tryptase"], "general ER", "Ward", True, (20, 40, 30, 10, 0), (60, 240), (0.5, 2), None),
    _r("food poisoning", 3, ["vomiting", "diarrhoea"], ["ondansetron", "IV fluids"], ["stool culture"], "general ER",
       "Ward", False, (1, 10, 45, 35, 9), (60, 180), (0.5, 3), "sepsis", 0.05),
    _r("ear infection", 2, ["ear pain", "fever"], ["amoxicillin"], ["otoscopy"], "pediatrics", "Ward", False,
       (0, 2, 20, 48, 30), (20, 60), (0.2, 1), None),
)

# ER waits by triage level (source system E), minutes.
TRIAGE_WAIT_MINUTES = {1: (0, 5), 2: (5, 15), 3: (15, 60), 4: (30, 240), 5: (30, 240)}
INSURERS = ("Aetna", "Cigna", "Blue Cross", "UnitedHealth", "Humana")
UNINSURED_SHARE = 0.12
READMISSION_SHARE = 0.11  # arrivals flagged as readmitted within 30 days
BED_TYPES = {"ICU": "ICU", "Surgery": ("general", "semi-private", "private"),
             "Recovery": ("general", "semi-private"), "Ward": ("general", "semi-private", "private"),
             "ER": ("general",)}
BLOOD_GROUPS = (("O+", 38), ("A+", 34), ("B+", 9), ("AB+", 3), ("O-", 7), ("A-", 6), ("B-", 2), ("AB-", 1))
PRE_EXISTING = ("none", "hypertension", "diabetes", "asthma", "COPD", "heart failure", "chronic kidney disease")


def draw_reason(rng: random.Random) -> Reason:
    return rng.choices(REASONS, weights=[r.weight for r in REASONS])[0]


def draw_triage(rng: random.Random, reason: Reason) -> int:
    return rng.choices((1, 2, 3, 4, 5), weights=reason.triage)[0]


def draw_wait(rng: random.Random, triage: int) -> float:
    lo, hi = TRIAGE_WAIT_MINUTES[triage]
    return round(rng.uniform(lo, hi), 1)


def draw_payment(rng: random.Random) -> tuple[str, str]:
    """(insurance provider, payment method); the uninsured pay cash or card (source system A)."""
    if rng.random() < UNINSURED_SHARE:
        return "none", rng.choice(("cash", "credit card"))
    return rng.choice(INSURERS), "insurance"


def draw_bed_type(rng: random.Random, unit_kind: str) -> str:
    options = BED_TYPES[unit_kind]
    return options if isinstance(options, str) else rng.choice(options)


def bill(rng: random.Random, reason: Reason, stay_days: float, unit_kind: str) -> float:
    """A plausible charge: a base per reason plus a daily rate by unit."""
    daily = {"ICU": 4500, "Surgery": 2500, "Recovery": 2000, "Ward": 1500, "ER": 900}[unit_kind]
    return round(reason.treatment_minutes[1] * 6 + stay_days * daily * rng.uniform(0.85, 1.15), 2)
