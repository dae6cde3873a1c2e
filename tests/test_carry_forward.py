"""Carry-forward of absent NEWS2 parameters, with their age, and its effect on the vitals row."""

from core.carry_forward import LastSeen, carry_forward
from core.enrich import enrich
from core.schema.events import VitalsReading

H = 3_600_000


def reading(ts, **vitals) -> VitalsReading:
    return VitalsReading("r", "P-1", "E-1", "H01", "Ward-A", "W-1", "d", ts, **vitals)


def test_obs_then_wearable_gives_a_complete_score_with_ages():
    last = LastSeen()
    obs = reading(0, heart_rate=80, respiratory_rate=22, spo2=95, on_oxygen=False, systolic_bp=120, diastolic_bp=80,
                  temperature_c=37.0, consciousness="A", source="manual")
    scored, carried = carry_forward(obs, last, 5 * H)
    assert carried == {}
    row = enrich(obs, scored=scored, carried=carried)
    assert row["news2_total"] == 3  # RR 22 (2) + SpO2 95 (1)
    wear = reading(H, heart_rate=118, spo2=95, source="wearable")
    scored, carried = carry_forward(wear, last, 5 * H)
    row = enrich(wear, scored=scored, carried=carried)
    assert sorted(carried) == row["news2_carried"] == ["consciousness", "diastolic_bp", "on_oxygen", "respiratory_rate",
                                                       "systolic_bp", "temperature_c"]
    assert row["news2_carried_max_age_s"] == 3600
    assert row["news2_total"] == 5  # HR 118 (2) now, RR 22 (2) and SpO2 95 (1) carried
    assert row["respiratory_rate"] is None  # measured columns are never filled in


def test_too_old_values_are_not_carried_and_late_readings_do_not_overwrite():
    last = LastSeen()
    carry_forward(reading(0, respiratory_rate=20), last, 5 * H)
    scored, carried = carry_forward(reading(6 * H, heart_rate=70), last, 5 * H)
    assert "respiratory_rate" not in scored and carried == {}
    carry_forward(reading(7 * H, respiratory_rate=14), last, 5 * H)
    carry_forward(reading(6 * H + 1, respiratory_rate=30), last, 5 * H)  # late: older than what we hold
    assert last.values["respiratory_rate"] == (14, 7 * H)


def test_spo2_scale_is_carried_with_spo2():
    last = LastSeen()
    carry_forward(reading(0, spo2=89, spo2_scale=2, on_oxygen=False), last, 5 * H)
    scored, _ = carry_forward(reading(60_000, heart_rate=80), last, 5 * H)
    assert scored["spo2_scale"] == 2 and scored["spo2"] == 89
