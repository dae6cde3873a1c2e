"""qSOFA, vital-sign SIRS, MEWS, shock index, BP category and flags at every boundary (by hand)."""

import pytest

from core.clinical import (
    bp_category,
    mews_score,
    qsofa_score,
    rules,
    shock_index,
    sirs_vital_criteria,
    vital_flags,
)


@pytest.mark.parametrize("sbp,rr,acvpu,met", [
    (101, 21, "A", 0), (100, 21, "A", 1), (101, 22, "A", 1), (101, 21, "C", 1), (100, 22, "A", 2),
    (90, 30, "V", 3), (100.4, 21.6, "A", 2),
])
def test_qsofa(sbp, rr, acvpu, met):
    r = qsofa_score(systolic_bp=sbp, respiratory_rate=rr, consciousness=acvpu)
    assert r.met == met and r.positive == (met >= 2) and r.complete


def test_qsofa_missing():
    r = qsofa_score(systolic_bp=95)
    assert r.met == 1 and set(r.missing) == {"respiratory_rate", "altered_mentation"}


@pytest.mark.parametrize("temp,hr,rr,met", [
    (38.0, 90, 20, 0), (38.1, 90, 20, 1), (36.0, 90, 20, 0), (35.9, 90, 20, 1),
    (37.0, 91, 20, 1), (37.0, 90, 21, 1), (38.5, 120, 28, 3),
])
def test_sirs_vital_criteria(temp, hr, rr, met):
    r = sirs_vital_criteria(temperature_c=temp, heart_rate=hr, respiratory_rate=rr)
    assert r.met == met and r.positive == (met >= 2)


@pytest.mark.parametrize("field,value,points", [
    ("systolic_bp", 60, 3), ("systolic_bp", 70, 3), ("systolic_bp", 71, 2), ("systolic_bp", 80, 2),
    ("systolic_bp", 81, 1), ("systolic_bp", 100, 1), ("systolic_bp", 101, 0), ("systolic_bp", 199, 0),
    ("systolic_bp", 200, 2),
    ("heart_rate", 40, 2), ("heart_rate", 41, 1), ("heart_rate", 50, 1), ("heart_rate", 51, 0),
    ("heart_rate", 100, 0), ("heart_rate", 101, 1), ("heart_rate", 110, 1), ("heart_rate", 111, 2),
    ("heart_rate", 129, 2), ("heart_rate", 130, 3),
    ("respiratory_rate", 8, 2), ("respiratory_rate", 9, 0), ("respiratory_rate", 14, 0), ("respiratory_rate", 15, 1),
    ("respiratory_rate", 20, 1), ("respiratory_rate", 21, 2), ("respiratory_rate", 29, 2), ("respiratory_rate", 30, 3),
    ("temperature_c", 34.9, 2), ("temperature_c", 35.0, 0), ("temperature_c", 38.4, 0), ("temperature_c", 38.5, 2),
])
def test_mews_boundaries(field, value, points):
    base = dict(systolic_bp=120, heart_rate=70, respiratory_rate=12, temperature_c=37.0, consciousness="A")
    r = mews_score(**{**base, field: value})
    assert r.subscores[field] == points
    assert r.total == points


@pytest.mark.parametrize("acvpu,points", [("A", 0), ("C", 1), ("V", 1), ("P", 2), ("U", 3)])
def test_mews_avpu(acvpu, points):
    r = mews_score(systolic_bp=120, heart_rate=70, respiratory_rate=12, temperature_c=37.0, consciousness=acvpu)
    assert r.total == points


def test_mews_high_risk_and_missing():
    r = mews_score(systolic_bp=75, heart_rate=135, respiratory_rate=12, temperature_c=37.0, consciousness="A")
    assert r.total == 5 and r.high_risk
    partial = mews_score(heart_rate=135)
    assert partial.total is None and partial.partial_total == 3 and partial.high_risk is None


@pytest.mark.parametrize("hr,sbp,value,category", [
    (60, 120, 0.5, "normal"), (84, 120, 0.7, "normal"), (85, 120, 0.71, "mild"), (99, 100, 0.99, "mild"),
    (100, 100, 1.0, "moderate"), (140, 100, 1.4, "moderate"), (141, 100, 1.41, "severe"),
])
def test_shock_index(hr, sbp, value, category):
    si = shock_index(heart_rate=hr, systolic_bp=sbp)
    assert (si.value, si.category) == (value, category)
    assert si.compromised == (value >= 1.0)


def test_shock_index_undefined():
    assert shock_index(heart_rate=80, systolic_bp=None) is None
    assert shock_index(heart_rate=80, systolic_bp=0) is None


@pytest.mark.parametrize("sbp,dbp,category", [
    (119, 79, "normal"), (120, 79, "elevated"), (129, 79, "elevated"), (130, 79, "stage_1"), (119, 80, "stage_1"),
    (139, 89, "stage_1"), (140, 70, "stage_2"), (110, 90, "stage_2"), (179, 119, "stage_2"),
    (180, 70, "crisis"), (110, 120, "crisis"), (200, 130, "crisis"),
])
def test_bp_category_crisis_first(sbp, dbp, category):
    assert bp_category(systolic_bp=sbp, diastolic_bp=dbp) == category


@pytest.mark.parametrize("vitals,flags", [
    ({"heart_rate": 59}, ["hr_low"]), ({"heart_rate": 60}, []), ({"heart_rate": 100}, []),
    ({"heart_rate": 101}, ["hr_high"]),
    ({"spo2": 95}, []), ({"spo2": 94}, ["spo2_low"]), ({"spo2": 92}, ["spo2_low"]),
    ({"spo2": 91}, ["spo2_low", "spo2_low_oxygen"]),
    ({"temperature_c": 36.1}, ["temp_low"]),  # 96.98 degF < 97
    ({"temperature_c": 36.2}, []), ({"temperature_c": 37.2}, []),
    ({"temperature_c": 37.3}, ["temp_high"]),  # 99.14 degF > 99
    ({"blood_glucose_mg_dl": 69}, ["glucose_low"]), ({"blood_glucose_mg_dl": 70}, []),
    ({"blood_glucose_mg_dl": 179}, []), ({"blood_glucose_mg_dl": 180}, ["glucose_high"]),
])
def test_vital_flags(vitals, flags):
    assert vital_flags(vitals) == flags


@pytest.mark.parametrize("parameter", [*rules.NEWS2_PARAMETERS.values(), *rules.MEWS_PARAMETERS.values()],
                         ids=lambda p: p.name)
def test_band_tables_are_ordered_and_gap_free_at_chart_precision(parameter):
    """band_points relies on it: every rounded value falls in exactly one band, in chart order."""
    bands = parameter.bands
    step = 10 ** -parameter.decimals
    assert bands[0].low is None and bands[-1].high is None
    for before, after in zip(bands, bands[1:], strict=False):
        assert after.low == pytest.approx(before.high + step), (before, after)
