"""NEWS2 against the RCP 2017 chart, written out by hand (not derived from rules.py).

Every band boundary of every parameter is checked on both sides.
"""

import pytest

from core.clinical import news2_score

NORMAL = dict(respiratory_rate=16, spo2=97, on_oxygen=False, systolic_bp=120, heart_rate=70,
              consciousness="A", temperature_c=37.0)


def sub(parameter: str, **change) -> int:
    result = news2_score(**{**NORMAL, **change})
    assert result.complete
    return result.subscores[parameter]


@pytest.mark.parametrize("value,points", [
    (4, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (40, 3),
])
def test_respiratory_rate_bands(value, points):
    assert sub("respiratory_rate", respiratory_rate=value) == points


@pytest.mark.parametrize("value,points", [
    (70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0),
])
def test_spo2_scale1_bands(value, points):
    assert sub("spo2", spo2=value) == points


@pytest.mark.parametrize("value,points", [
    (80, 3), (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 0), (97, 0), (100, 0),
])
def test_spo2_scale2_on_air(value, points):
    assert sub("spo2", spo2=value, spo2_scale=2, on_oxygen=False) == points


@pytest.mark.parametrize("value,points", [
    (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0), (93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3),
])
def test_spo2_scale2_on_oxygen(value, points):
    assert sub("spo2", spo2=value, spo2_scale=2, on_oxygen=True) == points


def test_oxygen_scores_two():
    assert sub("on_oxygen", on_oxygen=True) == 2
    assert sub("on_oxygen", on_oxygen=False) == 0


@pytest.mark.parametrize("value,points", [
    (60, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (250, 3),
])
def test_systolic_bands(value, points):
    assert sub("systolic_bp", systolic_bp=value) == points


@pytest.mark.parametrize("value,points", [
    (30, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3), (180, 3),
])
def test_pulse_bands(value, points):
    assert sub("heart_rate", heart_rate=value) == points


@pytest.mark.parametrize("value,points", [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness(value, points):
    assert sub("consciousness", consciousness=value) == points


@pytest.mark.parametrize("value,points", [
    (34.0, 3), (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2), (41.0, 2),
])
def test_temperature_bands(value, points):
    assert sub("temperature_c", temperature_c=value) == points


@pytest.mark.parametrize("value,points", [
    # Rounded half-up to chart precision before banding (documented in rules.py).
    (35.04, 3), (35.05, 1), (36.05, 0), (38.04, 0), (38.05, 1),
])
def test_temperature_rounds_to_one_decimal(value, points):
    assert sub("temperature_c", temperature_c=value) == points


@pytest.mark.parametrize("field,value,points", [
    ("respiratory_rate", 20.4, 0), ("respiratory_rate", 20.5, 2), ("heart_rate", 90.5, 1),
    ("heart_rate", 90.49, 0), ("spo2", 95.5, 0), ("systolic_bp", 110.5, 0), ("systolic_bp", 110.4, 1),
])
def test_rates_round_to_whole_numbers(field, value, points):
    assert sub(field, **{field: value}) == points


def test_all_normal_is_zero_low_twelve_hourly():
    r = news2_score(**NORMAL)
    assert (r.total, r.band) == (0, "low")
    assert "12-hourly" in r.monitoring


def test_worked_example_high():
    # RR 24 (2) + SpO2 93 (2) + air (0) + SBP 105 (1) + HR 115 (2) + Alert (0) + 38.5 (1) = 8
    r = news2_score(respiratory_rate=24, spo2=93, on_oxygen=False, systolic_bp=105, heart_rate=115,
                    consciousness="A", temperature_c=38.5)
    assert r.total == 8 and r.band == "high"
    assert "continuous" in r.monitoring and "critical care" in r.response.lower()


def test_worked_example_scale2_patient_on_oxygen():
    # COPD patient on 2 L/min at SpO2 95% scale 2: SpO2 2 + oxygen 2 + RR 22 (2) = 6 -> medium
    r = news2_score(respiratory_rate=22, spo2=95, spo2_scale=2, on_oxygen=True, systolic_bp=130, heart_rate=80,
                    consciousness="A", temperature_c=36.8)
    assert r.subscores == {"respiratory_rate": 2, "spo2": 2, "on_oxygen": 2, "systolic_bp": 0, "heart_rate": 0,
                           "consciousness": 0, "temperature_c": 0}
    assert (r.total, r.band) == (6, "medium")


@pytest.mark.parametrize("change,total,band", [
    ({"heart_rate": 95}, 1, "low"),
    ({"heart_rate": 115, "respiratory_rate": 21}, 4, "low"),
    ({"consciousness": "V"}, 3, "low-medium"),  # a single 3, total below 5
    ({"consciousness": "V", "heart_rate": 95}, 4, "low-medium"),
    ({"heart_rate": 115, "respiratory_rate": 21, "temperature_c": 38.5}, 5, "medium"),
    ({"consciousness": "V", "respiratory_rate": 22}, 5, "medium"),  # a single 3 does not lower a 5
    ({"heart_rate": 115, "respiratory_rate": 21, "systolic_bp": 95}, 6, "medium"),
    ({"heart_rate": 115, "respiratory_rate": 21, "systolic_bp": 95, "temperature_c": 38.5}, 7, "high"),
])
def test_risk_bands(change, total, band):
    r = news2_score(**{**NORMAL, **change})
    assert (r.total, r.band) == (total, band)


def test_missing_parameters_are_named_and_total_withheld():
    r = news2_score(respiratory_rate=30, heart_rate=140)
    assert r.total is None and r.band is None and r.response is None
    assert r.partial_total == 6
    assert set(r.missing) == {"spo2", "on_oxygen", "systolic_bp", "consciousness", "temperature_c"}
    assert not r.complete


def test_scale2_spo2_needs_air_or_oxygen():
    r = news2_score(**{**NORMAL, "spo2": 95, "spo2_scale": 2, "on_oxygen": None})
    assert "spo2" in r.missing and "on_oxygen" in r.missing


@pytest.mark.parametrize("kwargs,reason", [({"age": 15}, "under 16"), ({"pregnant": True}, "pregnancy")])
def test_not_applicable_populations(kwargs, reason):
    r = news2_score(**NORMAL, **kwargs)
    assert not r.applicable and reason in r.not_applicable_reason
    assert r.total is None and r.band is None
    assert news2_score(**NORMAL, age=16).total == 0


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="spo2_scale"):
        news2_score(**NORMAL, spo2_scale=3)
    with pytest.raises(ValueError, match="consciousness"):
        news2_score(**{**NORMAL, "consciousness": "X"})
