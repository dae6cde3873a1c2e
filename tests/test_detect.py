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
    [a] = det.step(PatientState(), r)
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
