"""Event schema: encode/decode, unit normalisation, and a precise reason for every rejection."""

import json
import time

import pytest

from flink_app.schema.events import (
    EncounterEvent,
    InvalidRecord,
    VitalsReading,
    decode,
    encode,
    parse_timestamp,
)

NOW = 1_795_000_000_000  # fixed "now" for the future-timestamp check


def base(**extra) -> dict:
    r = {"schema_version": 1, "type": "vitals", "reading_id": "R1", "patient_id": "P-1", "encounter_id": "E-1",
         "hospital_id": "H01", "unit": "ICU", "bed": "ICU-01", "device_id": "mon-1", "ts": "2026-11-18T08:00:00Z",
         "heart_rate": 80}
    r.update(extra)
    return r


def reject(obj) -> str:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    with pytest.raises(InvalidRecord) as exc:
        decode(data, now_ms=NOW)
    return exc.value.reason


def test_roundtrip_reading():
    r = decode(json.dumps(base(spo2=95, on_oxygen=True, oxygen_flow_l_min=2, consciousness="A")), now_ms=NOW)
    assert isinstance(r, VitalsReading)
    assert r.ts_ms == parse_timestamp("2026-11-18T08:00:00Z")
    again = decode(encode(r), now_ms=NOW)
    assert again == r


def test_fahrenheit_is_normalised_to_celsius():
    r = decode(json.dumps(base(temperature={"value": 98.6, "unit": "[degF]"})), now_ms=NOW)
    assert r.temperature_c == pytest.approx(37.0)
    r2 = decode(json.dumps(base(temperature_f=101.3)), now_ms=NOW)
    assert r2.temperature_c == pytest.approx(38.5)
    r3 = decode(json.dumps(base(temperature_c={"value": 37.2, "unit": "Cel"})), now_ms=NOW)
    assert r3.temperature_c == 37.2


def test_other_units_normalised():
    r = decode(json.dumps(base(systolic_bp={"value": 16, "unit": "kPa"}, diastolic_bp=70,
                               blood_glucose_mg_dl={"value": 5.5, "unit": "mmol/L"})), now_ms=NOW)
    assert r.systolic_bp == pytest.approx(120.01, abs=0.01)
    assert r.blood_glucose_mg_dl == pytest.approx(99.09, abs=0.01)


def test_oxygen_flow_implies_oxygen():
    assert decode(json.dumps(base(oxygen_flow_l_min=2)), now_ms=NOW).on_oxygen is True


@pytest.mark.parametrize("obj,reason", [
    (base(patient_id=None), "missing field: patient_id"),
    ({k: v for k, v in base().items() if k != "bed"}, "missing field: bed"),
    (base(unit="  "), "missing field: unit is empty"),
    ({k: v for k, v in base().items() if k != "ts"}, "missing field: ts"),
    ({k: v for k, v in base().items() if k != "schema_version"}, "missing field: schema_version"),
    (base(schema_version=9), "unsupported schema_version 9; supported: (1,)"),
    (base(heart_rate="80"), "wrong type: heart_rate must be a number, got str"),
    (base(heart_rate=True), "wrong type: heart_rate must be a number, got bool"),
    (base(patient_id=12), "wrong type: patient_id must be a string, got int"),
    (base(on_oxygen="yes"), "wrong type: on_oxygen must be true or false, got str"),
    (base(heart_rate=900), "impossible value: heart_rate=900 outside 0..350 /min"),
    (base(spo2=140), "impossible value: spo2=140 outside 0..100 %"),
    (base(temperature_c=60), "impossible value: temperature_c=60 outside 20..46 Cel"),
    (base(temperature={"value": 150, "unit": "[degF]"}), "impossible value: temperature=150 outside 20..46 Cel"),
    (base(temperature={"value": 37, "unit": "K"}),
     "unknown unit: temperature.unit='K', expected 'Cel' or one of ['[degF]']"),
    (base(systolic_bp=80, diastolic_bp=90), "impossible value: diastolic_bp=90 is not below systolic_bp=80"),
    (base(consciousness="X"), "impossible value: consciousness='X', expected one of A/C/V/P/U"),
    (base(spo2_scale=3), "impossible value: spo2_scale=3, expected 1 or 2"),
    (base(ts="yesterday"), "unparsable timestamp: ts='yesterday'"),
    (base(ts="2026-11-18T08:00:00"), "unparsable timestamp: ts='2026-11-18T08:00:00' has no UTC offset"),
    (base(ts=[1]), "wrong type: ts must be an ISO-8601 string or epoch milliseconds, got list"),
    (base(ts=NOW + 6 * 60_000),
     "timestamp too far in the future: ts=2026-11-18T11:12:40.000Z is more than 5 min after 2026-11-18T11:06:40.000Z"),
    (base(heart_rate=None), "missing field: a reading needs at least one vital sign"),
    (base(type="lab"), "unknown record type 'lab'; expected 'vitals' or 'encounter'"),
])
def test_rejections_carry_a_precise_reason(obj, reason):
    assert reject(obj) == reason


def test_not_json_and_not_object():
    assert reject(b"\xff\xfe").startswith("not JSON: ")
    assert reject(b"[1, 2]") == "wrong type: record must be a JSON object, got list"


def test_timestamp_just_inside_future_window_is_accepted():
    assert decode(json.dumps(base(ts=NOW + 4 * 60_000)), now_ms=NOW).ts_ms == NOW + 4 * 60_000


def test_encounter_event_roundtrip_and_validation():
    obj = {"schema_version": 1, "type": "encounter", "event_id": "EV1", "event": "er_triage", "patient_id": "P-1",
           "encounter_id": "E-1", "hospital_id": "H01", "ts": "2026-11-18T08:00:00Z", "triage_level": 2,
           "er_department": "cardiology", "wait_minutes": 12.5, "reason_for_visit": "chest pain",
           "symptoms": ["chest pain", "sweating"], "arrival_ts": "2026-11-18T07:50:00Z", "insurance_provider": "Aetna",
           "payment_method": "insurance", "critical_condition": True}
    e = decode(json.dumps(obj), now_ms=NOW)
    assert isinstance(e, EncounterEvent)
    assert e.triage_level == 2 and e.arrival_ts_ms == parse_timestamp("2026-11-18T07:50:00Z")
    assert decode(encode(e), now_ms=NOW) == e
    assert reject({**obj, "event": "teleport"}).startswith("impossible value: event='teleport'")
    assert reject({**obj, "triage_level": 7}) == "impossible value: triage_level=7, expected 1..5"
    assert reject({**obj, "symptoms": "cough"}) == "wrong type: symptoms must be a list of strings"
    assert reject({**obj, "wait_minutes": "long"}) == "wrong type: wait_minutes must be a number, got str"
    assert reject({**obj, "critical_condition": "yes"}) == "wrong type: critical_condition must be true or false, got str"
    assert reject({**obj, "age_years": 200}) == "impossible value: age_years=200"


def test_epoch_milliseconds_accepted():
    now = int(time.time() * 1000)
    assert decode(json.dumps(base(ts=now)), now_ms=now).ts_ms == now
