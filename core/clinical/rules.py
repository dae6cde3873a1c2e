"""Every clinical threshold WardWatch uses, declared once as data.

The scoring code in ``scores.py`` reads these tables and ``reference.py`` renders them into
``docs/CLINICAL_RULES.md``; a test fails if the page and the tables disagree. Change a rule
here, regenerate the page (``make docs``), and the code and the page move together.

Banding convention (documented choice, see CLINICAL.md "Values between chart bands"):
values are first rounded half-up to the chart's precision (whole numbers for rates, SpO2
and blood pressure; one decimal for temperature), then matched against inclusive bounds.
So 35.04 degC rounds to 35.0 and scores 3 on NEWS2; 35.05 rounds to 35.1 and scores 1.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

# The comparisons a rule may name, for the flags below and the detection limits.
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Band:
    """An inclusive range ``[low, high]`` on the rounded value; ``None`` means unbounded."""

    low: float | None
    high: float | None
    points: int

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class BandedParameter:
    """One row of a published chart: a vital, its unit, its chart precision and its bands."""

    name: str
    label: str
    unit: str
    decimals: int
    bands: tuple[Band, ...]


def _bands(*rows: tuple[float | None, float | None, int]) -> tuple[Band, ...]:
    return tuple(Band(lo, hi, pts) for lo, hi, pts in rows)


# --- NEWS2: Royal College of Physicians, National Early Warning Score 2 (2017), Chart 1 ---
NEWS2_SOURCE = "Royal College of Physicians. National Early Warning Score (NEWS) 2, 2017. Chart 1 and Chart 4."

NEWS2_PARAMETERS: dict[str, BandedParameter] = {
    "respiratory_rate": BandedParameter(
        "respiratory_rate", "Respiration rate", "/min", 0,
        _bands((None, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, None, 3)),
    ),
    "spo2_scale1": BandedParameter(
        "spo2_scale1", "SpO2 scale 1", "%", 0,
        _bands((None, 91, 3), (92, 93, 2), (94, 95, 1), (96, None, 0)),
    ),
    # Scale 2 (hypercapnic respiratory failure, prescribed target 88-92%): on air any value
    # >= 88 scores 0; on oxygen, values above the target band score 1, 2, 3.
    "spo2_scale2_air": BandedParameter(
        "spo2_scale2_air", "SpO2 scale 2, on air", "%", 0,
        _bands((None, 83, 3), (84, 85, 2), (86, 87, 1), (88, None, 0)),
    ),
    "spo2_scale2_oxygen": BandedParameter(
        "spo2_scale2_oxygen", "SpO2 scale 2, on oxygen", "%", 0,
        _bands((None, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0), (93, 94, 1), (95, 96, 2), (97, None, 3)),
    ),
    "systolic_bp": BandedParameter(
        "systolic_bp", "Systolic blood pressure", "mm[Hg]", 0,
        _bands((None, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, None, 3)),
    ),
    "heart_rate": BandedParameter(
        "heart_rate", "Pulse", "/min", 0,
        _bands((None, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2), (131, None, 3)),
    ),
    "temperature_c": BandedParameter(
        "temperature_c", "Temperature", "Cel", 1,
        _bands((None, 35.0, 3), (35.1, 36.0, 1), (36.1, 38.0, 0), (38.1, 39.0, 1), (39.1, None, 2)),
    ),
}
# Air or oxygen: oxygen scores 2, air 0. ACVPU: Alert 0; new Confusion, Voice, Pain, Unresponsive 3.
NEWS2_OXYGEN_POINTS = {False: 0, True: 2}
NEWS2_ACVPU_POINTS = {"A": 0, "C": 3, "V": 3, "P": 3, "U": 3}


@dataclass(frozen=True)
class RiskBand:
    name: str
    min_total: int
    max_total: int | None
    monitoring: str
    response: str


# RCP Chart 4. "low-medium" applies when any single parameter scores 3 and the total is below 5.
NEWS2_RISK_BANDS: tuple[RiskBand, ...] = (
    RiskBand("low", 0, 0, "minimum 12-hourly", "Continue routine NEWS2 monitoring."),
    RiskBand("low", 1, 4, "minimum 4-6-hourly",
             "Inform registered nurse, who must assess the patient and decide whether increased "
             "frequency of monitoring and/or escalation of care is required."),
    RiskBand("medium", 5, 6, "minimum hourly",
             "Urgent response threshold: registered nurse to inform the medical team; urgent "
             "assessment by a clinician or team with core competencies in the care of acutely ill "
             "patients; clinical care in an environment with monitoring facilities."),
    RiskBand("high", 7, None, "continuous monitoring of vital signs",
             "Emergency response threshold: registered nurse to inform the medical team "
             "immediately (at least specialist registrar level); emergency assessment by a "
             "clinical team or critical care outreach team with critical-care competencies; "
             "consider transfer to a level 2 or 3 clinical care facility (HDU or ICU)."),
)
NEWS2_RED_SCORE_BAND = RiskBand(
    "low-medium", 0, 4, "minimum 1-hourly",
    "A score of 3 in any single parameter: registered nurse to inform the medical team, who "
    "will review and decide whether escalation of care is necessary.",
)
# Monitoring interval in minutes per band (used for re-alert cadence); 12-hourly, 4-hourly,
# hourly, continuous (the job re-alerts a continuous-band patient every 15 minutes).
NEWS2_MONITORING_MINUTES = {"low_zero": 720, "low": 240, "low-medium": 60, "medium": 60, "high": 15}
# "Observations overdue for band": the longest gap Chart 4 allows between full observation sets
# (12-hourly; 4-6-hourly, so 6 h; hourly; hourly). "Continuous monitoring" in the high band is
# read as monitors plus a full set at least hourly (the interpretation is ours, stated here).
# The job alerts once the gap exceeds this times detection.overdue.grace.
OBSERVATION_OVERDUE_MINUTES = {"low_zero": 720, "low": 360, "low-medium": 60, "medium": 60, "high": 60}

# --- qSOFA: Seymour CW et al. JAMA 2016;315(8):762-774. One point each; >= 2 positive. ---
QSOFA_SOURCE = "Seymour CW et al. Assessment of Clinical Criteria for Sepsis. JAMA 2016;315(8):762-774."
QSOFA_SBP_MAX = 100  # systolic <= 100 mmHg
QSOFA_RR_MIN = 22  # respiratory rate >= 22 /min
QSOFA_POSITIVE = 2

# --- SIRS vital-sign criteria: Bone RC et al., ACCP/SCCM Consensus Conference, Chest 1992. ---
SIRS_SOURCE = "Bone RC et al. ACCP/SCCM Consensus Conference. Chest 1992;101(6):1644-1655."
SIRS_TEMP_HIGH_C = 38.0  # > 38 degC
SIRS_TEMP_LOW_C = 36.0  # < 36 degC
SIRS_HR_MIN = 90  # > 90 /min
SIRS_RR_MIN = 20  # > 20 /min
SIRS_MET = 2  # two or more criteria (the stream has no labs: vital-sign criteria only)

# --- MEWS: Subbe CP et al. QJM 2001;94(10):521-526. ---
# The published table leaves gaps at 70/40/130/200/30/38.5; closed as one monitor maker does:
# <=70, <=40, >=130, >=200, >=30, >=38.5.
MEWS_SOURCE = "Subbe CP et al. Validation of a modified Early Warning Score. QJM 2001;94(10):521-526."
MEWS_PARAMETERS: dict[str, BandedParameter] = {
    "systolic_bp": BandedParameter(
        "systolic_bp", "Systolic blood pressure", "mm[Hg]", 0,
        _bands((None, 70, 3), (71, 80, 2), (81, 100, 1), (101, 199, 0), (200, None, 2)),
    ),
    "heart_rate": BandedParameter(
        "heart_rate", "Heart rate", "/min", 0,
        _bands((None, 40, 2), (41, 50, 1), (51, 100, 0), (101, 110, 1), (111, 129, 2), (130, None, 3)),
    ),
    "respiratory_rate": BandedParameter(
        "respiratory_rate", "Respiratory rate", "/min", 0,
        _bands((None, 8, 2), (9, 14, 0), (15, 20, 1), (21, 29, 2), (30, None, 3)),
    ),
    "temperature_c": BandedParameter(
        "temperature_c", "Temperature", "Cel", 1,
        _bands((None, 34.9, 2), (35.0, 38.4, 0), (38.5, None, 2)),
    ),
}
# AVPU; new confusion (C of ACVPU) is scored as V, the nearest AVPU level.
MEWS_AVPU_POINTS = {"A": 0, "C": 1, "V": 1, "P": 2, "U": 3}
MEWS_HIGH_RISK = 5  # >= 5 linked to ICU admission and death

# --- Shock index = HR / SBP (Allgower & Burri 1967; grading as in CLINICAL.md). ---
# Lower-inclusive thresholds on the index rounded to two decimals.
SHOCK_INDEX_SOURCE = "Allgower M, Burri C. Dtsch Med Wochenschr 1967; grading per CLINICAL.md."
SHOCK_INDEX_DECIMALS = 2
SHOCK_INDEX_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("severe", 1.41),  # > 1.4
    ("moderate", 1.0),  # 1.0-1.4: haemodynamic compromise
    ("mild", 0.71),  # > 0.7 (above the normal range 0.5-0.7)
    ("normal", 0.0),
)

# --- Blood pressure category: Whelton PK et al., 2017 ACC/AHA Hypertension Guideline. ---
# Checked in this order (crisis first: the source system checked stage 2 first, so crisis
# never fired). A category applies when systolic >= its sbp OR diastolic >= its dbp.
BP_SOURCE = "Whelton PK et al. 2017 ACC/AHA Guideline for High Blood Pressure in Adults. Hypertension 2018;71:e13-e115."
BP_CATEGORIES: tuple[tuple[str, int, int | None], ...] = (
    ("crisis", 180, 120),
    ("stage_2", 140, 90),
    ("stage_1", 130, 80),
    ("elevated", 120, None),  # 120-129 and diastolic < 80 (lower diastolic already excluded)
    ("normal", 0, None),
)


@dataclass(frozen=True)
class VitalFlag:
    """A simple threshold flag carried over from a source system (SOURCE_SYSTEMS.md B, E)."""

    vital: str
    name: str
    op: str  # "<", "<=", ">", ">="
    threshold: float
    unit: str
    source: str


_B = "Source system B (ER vitals enrichment)"
_E = "Source system E (ER analytics) / A (report 10)"
VITAL_FLAGS: tuple[VitalFlag, ...] = (
    VitalFlag("heart_rate", "hr_low", "<", 60, "/min", _B),
    VitalFlag("heart_rate", "hr_high", ">", 100, "/min", _B),
    VitalFlag("spo2", "spo2_low", "<", 95, "%", _B),
    VitalFlag("spo2", "spo2_low_oxygen", "<", 92, "%", _E),
    VitalFlag("temperature_c", "temp_low", "<", (97 - 32) * 5 / 9, "Cel", _B + ": < 97 degF"),
    VitalFlag("temperature_c", "temp_high", ">", (99 - 32) * 5 / 9, "Cel", _B + ": > 99 degF"),
    VitalFlag("blood_glucose_mg_dl", "glucose_low", "<", 70, "mg/dL", _B),
    VitalFlag("blood_glucose_mg_dl", "glucose_high", ">=", 180, "mg/dL", _B),
)

# Values outside these ranges are not physiology but a broken record: rejected by validation.
# Ranges are generous (survivable extremes plus margin) so that real critical values pass.
PLAUSIBLE_RANGES: dict[str, tuple[float, float, str]] = {
    "heart_rate": (0, 350, "/min"),
    "respiratory_rate": (0, 120, "/min"),
    "spo2": (0, 100, "%"),
    "systolic_bp": (0, 350, "mm[Hg]"),
    "diastolic_bp": (0, 250, "mm[Hg]"),
    "temperature_c": (20, 46, "Cel"),
    "blood_glucose_mg_dl": (0, 3000, "mg/dL"),
    "oxygen_flow_l_min": (0, 80, "L/min"),
}
