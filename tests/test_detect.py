"""The detection state machine: tiers, persistence, hysteresis, one alert per episode, stable ids."""

import pytest

from flink_app.config import Config
from flink_app.detect import Detector, PatientState, alert_id

SETTINGS = {k: v for k, v in Config().as_dict().items() if k.startswith("detection.")}


def row(ts_s: float, source="bedside", **vitals) -> dict:
    return {"patient_id": "P-1", "encounter_id": "E-1", "hospital_id": "H01", "unit": "ICU", "bed": "ICU-02",
            "ts": int(ts_s * 1000), "source": source, "spo2_scale": 1, "news2_total": None, **vitals}


def run(rows, **settings):
    det = Detector({**SETTINGS, **settings})
    state = PatientState()
    return [(a.status, a.severity, a.rule) for r in rows for a in det.step(state, r)], state


def test_critical_limit_alerts_on_first_reading():
    alerts, _ = run([row(0, spo2=84)])
    assert alerts == [("open", "critical", "spo2_low")]


def test_standard_limit_waits_for_persistence():
    alerts, _ = run([row(0, spo2=90), row(10, spo2=90), row(19.9, spo2=89)])
    assert alerts == []
    alerts, _ = run([row(0, spo2=90), row(10, spo2=90), row(20, spo2=89)])
    assert alerts == [("open", "urgent", "spo2_low")]


def test_transient_breach_is_suppressed():
    alerts, state = run([row(0, spo2=90), row(5, spo2=96), row(30, spo2=96)])
    assert alerts == [] and state.episodes == {}


def test_manual_observation_alerts_at_once():
    alerts, _ = run([row(0, source="manual", spo2=90)])
    assert alerts == [("open", "urgent", "spo2_low")]


def test_one_alert_per_episode_then_all_clear_with_hysteresis():
    rows = [row(0, spo2=84), row(5, spo2=83), row(10, spo2=92), row(15, spo2=93), row(20, spo2=94), row(25, spo2=84)]
    alerts, _ = run(rows)
    # 92 and 93 are not recovered (limit 92 + margin 2): no flapping; 94 ends the episode; 84 opens a new one.
    assert alerts == [("open", "critical", "spo2_low"), ("all-clear", "info", "spo2_low"),
                      ("open", "critical", "spo2_low")]


def test_escalation_when_a_standard_episode_turns_critical():
    alerts, _ = run([row(0, heart_rate=135), row(25, heart_rate=138), row(30, heart_rate=155), row(35, heart_rate=160)])
    assert alerts == [("open", "urgent", "heart_rate_high"), ("escalated", "critical", "heart_rate_high")]


def test_missing_value_neither_opens_nor_closes():
    alerts, state = run([row(0, spo2=84), row(5, heart_rate=80), row(10)])
    assert alerts == [("open", "critical", "spo2_low")] and "spo2_low" in state.episodes


def test_scale2_patients_have_their_own_spo2_limit():
    r = row(0, source="manual", spo2=89)
    r["spo2_scale"] = 2
    assert run([r])[0] == []
    r2 = row(0, source="manual", spo2=87)
    r2["spo2_scale"] = 2
    assert run([r2])[0] == [("open", "urgent", "spo2_low")]


@pytest.mark.parametrize("value,expected", [(40, True), (41, False), (35, True)])
def test_bradycardia_limits(value, expected):
    alerts, _ = run([row(0, source="manual", heart_rate=value)])
    assert bool(alerts) is expected


def test_alert_content_and_stable_id():
    det = Detector(SETTINGS)
    r = row(1_795_000_000, spo2=82)
    r["news2_total"] = 9
    alerts = det.step(PatientState(), r)
    assert [x.rule for x in alerts] == ["spo2_low"]  # NEWS2 9 from a monitor waits for persistence
    manual = {**r, "source": "manual"}
    assert [x.rule for x in det.step(PatientState(), manual)] == ["spo2_low", "news2"]
    a = alerts[0]
    assert a.alert_id == alert_id("P-1", "spo2_low", r["ts"])
    assert a.alert_id == det.step(PatientState(), r)[0].alert_id  # a replay yields the same id
    assert a.message == "CRITICAL ICU bed ICU-02: SpO2 82% (limit <85) since 11:06Z · NEWS2 9"
    assert a.values == {"spo2": 82, "limit": 85}


def test_thresholds_are_configurable():
    alerts, _ = run([row(0, spo2=88)], **{"detection.spo2.critical.low": 90})
    assert alerts == [("open", "critical", "spo2_low")]
    alerts, _ = run([row(0, spo2=90)], **{"detection.persistence.ms": 0})
    assert alerts == [("open", "urgent", "spo2_low")]


def test_missing_setting_fails_fast():
    with pytest.raises(ValueError, match="detection.spo2.low"):
        Detector({k: v for k, v in SETTINGS.items() if k != "detection.spo2.low"})


def scored(ts_s: float, total: int | None, band: str | None = None, source="manual", **sub) -> dict:
    r = row(ts_s, source=source, news2_total=total, news2_band=band)
    r.update({f"news2_{k}": v for k, v in sub.items()})
    return r


def test_news2_urgent_then_emergency_then_clear():
    alerts, _ = run([scored(0, 5, "medium"), scored(60, 6, "medium"), scored(120, 7, "high"), scored(180, 4, "low"),
                     scored(240, 3, "low")])
    assert alerts == [("open", "urgent", "news2"), ("escalated", "critical", "news2"), ("all-clear", "info", "news2")]


def test_news2_from_monitors_waits_for_persistence_even_at_seven():
    assert run([scored(0, 7, "high", source="bedside"), scored(60, 7, "high", source="bedside")])[0] == []
    assert run([scored(0, 7, "high", source="bedside"), scored(300, 7, "high", source="bedside")])[0] == [
        ("open", "critical", "news2")]
    assert run([scored(0, 7, "high", source="bedside"), scored(60, 2, "low", source="bedside")])[0] == []
    assert run([scored(0, None)])[0] == []


def test_red_score_on_a_single_parameter():
    alerts, _ = run([scored(0, 3, "low-medium", respiratory_rate=3, systolic_bp=0), scored(60, 1, "low", respiratory_rate=1)])
    assert alerts == [("open", "urgent", "news2_red_score"), ("all-clear", "info", "news2_red_score")]


def test_rapid_rise_within_thirty_minutes():
    alerts, _ = run([scored(0, 1, "low"), scored(600, 2, "low"), scored(1500, 4, "low")])
    assert alerts == [("open", "urgent", "news2_rapid_rise")]
    # the same rise over more than 30 minutes is not rapid
    assert run([scored(0, 1, "low"), scored(1900, 4, "low")])[0] == []


def test_re_alert_at_the_band_monitoring_interval():
    rows = [row(0, spo2=84, news2_total=8, news2_band="high")] + [
        row(t, spo2=84, news2_total=8, news2_band="high") for t in (600, 900, 1200, 1800)]
    det = Detector(SETTINGS)
    state = PatientState()
    out = [(a.status, a.alert_id) for r in rows for a in det.step(state, r) if a.rule == "spo2_low"]
    # high band: continuous monitoring, re-alert every 15 minutes while the episode lasts
    assert [s for s, _ in out] == ["open", "re-alert", "re-alert"]
    assert out[1][1] == out[0][1] + "-r1" and out[2][1] == out[0][1] + "-r2"


def test_triage_wait():
    det = Detector(SETTINGS)
    ev = {"event": "er_triage", "patient_id": "P-9", "encounter_id": "E-9", "hospital_id": "H01", "unit": "ER",
          "bed": "ER-04", "ts": 1_795_000_000_000, "arrival_ts": 1_795_000_000_000 - 22 * 60_000,
          "triage_level": 2, "wait_minutes": 22.0}
    [a] = det.on_encounter(PatientState(), ev)
    assert (a.rule, a.severity) == ("triage_wait", "urgent")
    assert a.message == "URGENT ER bed ER-04: triage 2 patient waited 22 min (limit 15) since 10:44Z"
    assert det.on_encounter(PatientState(), {**ev, "wait_minutes": 15.0}) == []
    assert det.on_encounter(PatientState(), {**ev, "triage_level": 3}) == []


def test_per_unit_thresholds():
    settings = {**SETTINGS, "detection.unit.overrides": "ICU:spo2.critical.low=88"}
    alerts, _ = run([row(0, spo2=87)], **settings)
    assert alerts == [("open", "critical", "spo2_low")]
    ward = row(0, spo2=87)
    ward["unit"] = "Ward-A"
    assert run([ward], **settings)[0] == []  # pending persistence on the ward: default critical is 85
    with pytest.raises(ValueError, match="unknown setting 'spo2.lo'"):
        Detector({**SETTINGS, "detection.unit.overrides": "ICU:spo2.lo=1"})
