"""Event schema: encode/decode, unit normalisation, and a precise reason for every rejection."""

import json
import time

import pytest

from core.schema.events import (
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
    (base(patient_id=12), "wrong type: patient_id must be a string, got int"),
    (base(ts="yesterday"), "unparsable timestamp: ts='yesterday'"),
    (base(ts="2026-11-18T08:00:00"), "unparsable timestamp: ts='2026-11-18T08:00:00' has no UTC offset"),
    (base(ts=[1]), "wrong type: ts must be an ISO-8601 string or epoch milliseconds, got list"),
    (base(ts=NOW + 6 * 60_000),
     "timestamp too far in the future: ts=2026-11-18T11:12:40.000Z is more than 5 min after 2026-11-18T11:06:40.000Z"),
    (base(heart_rate=None), "missing field: a reading needs at least one vital sign"),
    (base(type="lab"), "unknown record type 'lab'; expected 'vitals', 'encounter' or 'ack'"),
    # Issue 12: records that restarted the job, or that silently changed meaning.
    (base(ts=1e18), "impossible value: ts=1e+18 is outside 2024-01-01..2100-01-01"),
    (base(ts=1e300), "impossible value: ts=1e+300 is outside 2024-01-01..2100-01-01"),
    (base(ts="0001-01-01T00:00:00+01:00"), "impossible value: ts='0001-01-01T00:00:00+01:00' is outside 2024-01-01..2100-01-01"),
    (base(ts=1_763_000_000), "unparsable timestamp: ts=1763000000 looks like epoch seconds; send epoch milliseconds or ISO-8601"),
    (base(ts="2019-05-01T00:00:00Z"), "impossible value: ts='2019-05-01T00:00:00Z' is outside 2024-01-01..2100-01-01"),
    (base(patient_id="P" * 10_000), "impossible value: patient_id is 10000 characters long (at most 64)"),
    (base(bed="ICU-1\r\nSubject: x"), "impossible value: bed='ICU-1\\r\\nSubject: x' contains control characters"),
    (base(unit="\x1b[31mICU"), "impossible value: unit='\\x1b[31mICU' contains control characters"),
    (base(reading_id="r\x00"), "impossible value: reading_id='r\\x00' contains control characters"),
])
def test_rejections_carry_a_precise_reason(obj, reason):
    assert reject(obj) == reason


@pytest.mark.parametrize("fields,reason", [
    ({"spo2": "80"}, "spo2: wrong type: spo2 must be a number, got str"),
    ({"spo2": True}, "spo2: wrong type: spo2 must be a number, got bool"),
    ({"spo2": 140}, "spo2: impossible value: spo2=140 outside 0..100 %"),
    ({"temperature_c": 60}, "temperature_c: impossible value: temperature_c=60 outside 20..46 Cel"),
    ({"temperature": {"value": 150, "unit": "[degF]"}},
     "temperature_c: impossible value: temperature=150 outside 20..46 Cel"),
    ({"temperature": {"value": 37, "unit": "K"}},
     "temperature_c: unknown unit: temperature.unit='K', expected 'Cel' or one of ['[degF]']"),
    ({"spo2": {"value": 80, "unit": []}}, "spo2: wrong type: spo2.unit must be a string, got list"),
    ({"systolic_bp": 80, "diastolic_bp": 90}, "systolic_bp, diastolic_bp: diastolic 90 is not below systolic 80"),
    ({"diastolic_bp": 260}, "diastolic_bp: impossible value: diastolic_bp=260 outside 0..250 mm[Hg]"),
    ({"consciousness": "X"}, "consciousness: impossible value: consciousness='X', expected one of A/C/V/P/U"),
    ({"spo2_scale": 3}, "spo2_scale: impossible value: spo2_scale=3, expected one of 1/2"),
    ({"spo2_scale": True}, "spo2_scale: impossible value: spo2_scale=True, expected one of 1/2"),
    ({"on_oxygen": "yes"}, "on_oxygen: wrong type: on_oxygen must be true or false, got str 'yes'"),
    ({"pregnant": "false"}, "pregnant: wrong type: pregnant must be true or false, got str 'false'"),
    ({"spo2": -0.0}, "spo2: impossible value: spo2=-0.0 (a negative zero is a broken sender)"),
])
def test_a_bad_field_is_removed_with_its_reason_and_the_rest_is_kept(fields, reason):
    """Issue 12: a reading with HR 145 and a bad field used to be dead-lettered whole."""
    r = decode(json.dumps(base(heart_rate=145, **fields)), now_ms=NOW)
    assert r.rejected_fields == [reason]
    assert r.heart_rate == 145
    assert r.pregnant is None and r.spo2_scale is None  # never guessed from a bad value


def test_a_reading_with_nothing_usable_is_refused_with_every_reason():
    assert reject(base(heart_rate="80")) == "nothing usable: heart_rate: wrong type: heart_rate must be a number, got str"
    assert reject(base(heart_rate=-0.0)) == ("nothing usable: heart_rate: impossible value: heart_rate=-0.0 "
                                             "(a negative zero is a broken sender)")


def test_duplicate_keys_are_refused():
    text = json.dumps(base()).replace('"patient_id": "P-1"', '"patient_id": "P-1", "patient_id": "P-2"')
    assert reject(text.encode()) == "duplicate key: 'patient_id' appears twice (which value is meant cannot be told)"
    spaced = json.dumps(base()).replace('"bed": ', '"bed"  :  "X", "bed" : ')
    assert reject(spaced.encode()).startswith("duplicate key: 'bed'")


def test_reasons_are_capped():
    assert len(reject(base(ts="x" * 100_000))) < 320


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

    def removed(**fields):
        return decode(json.dumps({**obj, **fields}), now_ms=NOW).rejected_fields

    assert removed(triage_level=7) == ["triage_level: impossible value: triage_level=7, expected one of 1/2/3/4/5"]
    assert removed(symptoms="cough") == ["symptoms: must be a list of at most 50 short strings"]
    assert removed(wait_minutes="long") == ["wait_minutes: wrong type: wait_minutes must be a number, got str"]
    assert removed(critical_condition="yes") == [
        "critical_condition: wrong type: critical_condition must be true or false, got str 'yes'"]
    assert removed(age_years=200) == ["age_years: impossible value: age_years=200, expected a whole number 0..130"]
    # Issue 12: these encounter values restarted the job in the lake sink.
    assert removed(arrival_ts=1e19) == ["arrival_ts_ms: impossible value: arrival_ts_ms=1e+19 is outside 2024-01-01..2100-01-01"]
    no_arrival = {k: v for k, v in obj.items() if k != "arrival_ts"}
    assert decode(json.dumps({**no_arrival, "arrival_ts_ms": "abc"}), now_ms=NOW).rejected_fields == [
        "arrival_ts_ms: unparsable timestamp: arrival_ts_ms='abc'"]


def test_epoch_milliseconds_accepted():
    now = int(time.time() * 1000)
    assert decode(json.dumps(base(ts=now)), now_ms=now).ts_ms == now
