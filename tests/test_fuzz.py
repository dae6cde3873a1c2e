"""Property-based fuzzing of the job's plain-Python stages: no input makes an exception escape.

Arbitrary JSON, and valid readings, encounters and acknowledgements with fields replaced by
arbitrary JSON, go through what the job does with a record: decode -> carry-forward ->
enrich -> detect (``PatientPath``, the code ``PatientProcess`` runs) -> 1-minute windows ->
the rows of every table -> a real Parquet file per table, read back. The operators catch
any exception as a last resort; this test shows that resort is never needed, so no record
reaches the dead-letter table as an "internal error" and none can restart the job.
"""

from __future__ import annotations

import json
import tempfile

import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.render import render
from core.detect import PatientState, alert_row
from core.patient_path import PatientPath, default_settings
from core.schema.events import InvalidRecord, decode, decode_alert, encode
from core.windows import PatientMinute, WindowSet
from flink_app.io.lake import LakeWriter, to_tuples
from flink_app.operators import dead_letter_row

NOW = 1_795_000_000_000  # 2026-11-18: the records below are around this time
BASE = {
    "vitals": {"schema_version": 1, "type": "vitals", "reading_id": "r1", "patient_id": "p1", "encounter_id": "e1",
               "hospital_id": "H01", "unit": "Ward-A", "bed": "Ward-A-01", "device_id": "d1", "ts": NOW - 60_000,
               "heart_rate": 135, "respiratory_rate": 26, "spo2": 89, "systolic_bp": 95, "diastolic_bp": 60,
               "temperature_c": 38.9, "consciousness": "V", "on_oxygen": True, "oxygen_flow_l_min": 2,
               "age_years": 70, "pregnant": False, "spo2_scale": 2, "source": "bedside"},
    "encounter": {"schema_version": 1, "type": "encounter", "event_id": "ev1", "event": "order", "patient_id": "p1",
                  "encounter_id": "e1", "hospital_id": "H01", "ts": NOW - 120_000, "unit": "Ward-A", "bed": "Ward-A-01",
                  "spo2_scale": 2, "limits": {"heart_rate.high": 140}, "arrival_ts": NOW - 3_600_000,
                  "triage_level": 2, "amount": 12.5},
    "ack": {"schema_version": 1, "type": "ack", "ack_id": "a1", "patient_id": "p1", "hospital_id": "H01",
            "ts": NOW - 30_000, "by": "nurse-7", "action": "silence", "minutes": 30, "reason": "probe off"},
}

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=80)
           | st.sampled_from(["", "-0.0", "1e18", "0001-01-01T00:00:00+01:00", "2026-11-18T08:00:00Z", "\r\n", "\x00",
                              "\x1b[31m", "A", "V", "true", "false", "NaN", "x" * 10_000]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELDS = sorted({k for base in BASE.values() for k in base} | {"value", "unit", "temperature_f", "blood_glucose_mg_dl"})


@st.composite
def mutated(draw) -> bytes:
    """A valid record of one kind with 1-4 fields replaced, removed or added as arbitrary JSON."""
    record = dict(BASE[draw(st.sampled_from(sorted(BASE)))])
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(FIELDS))
        action = draw(st.sampled_from(["replace", "remove", "wrap"]))
        if action == "remove":
            record.pop(name, None)
        elif action == "wrap" and isinstance(record.get(name), (int, float)):
            record[name] = {"value": record[name], "unit": draw(json_values)}
        else:
            record[name] = draw(json_values)
    return json.dumps(record, allow_nan=True).encode()


records = st.lists(mutated() | json_values.map(lambda v: json.dumps(v, allow_nan=True).encode())
                   | st.binary(max_size=64), min_size=1, max_size=6)


def run_stages(path: PatientPath, payloads: list[bytes], lake: LakeWriter, n: int) -> dict[str, int]:
    """Rows written per table."""
    states: dict[str, PatientState] = {}
    windows: dict[str, WindowSet] = {}
    rows: dict[str, list[dict]] = {"vitals": [], "encounters": [], "alerts": [], "dead_letter": [], "vitals_1m": []}
    for i, data in enumerate(payloads):
        try:
            event = decode(data, now_ms=NOW)
        except InvalidRecord as exc:
            assert exc.reason and len(exc.reason) <= 2_000
            rows["dead_letter"].append(dead_letter_row("parse", exc.reason, data, "shard-0", str(i), NOW))
            continue
        state = states.setdefault(event.patient_id, PatientState())
        table, row, alerts = path.handle(state, event, ("shard-0", str(i), NOW, NOW))
        alerts += path.tick(state, NOW + 3_600_000)
        if table is not None:
            rows[table].append(row)
        if table == "vitals":
            ws = windows.setdefault(event.patient_id, WindowSet(60_000, 30_000))
            acc, _ = ws.get(row["ts"], NOW - 3_600_000, NOW, PatientMinute)
            if acc is not None:
                acc.add(row)
        for alert in alerts:
            # Every alert the job raises crosses the alerts stream and renders to a valid SNS request.
            message = render(decode_alert(encode(alert)), {}).sns_request("arn:t", {})
            assert not any(ord(c) < 32 for c in message["Subject"]) and len(message["Subject"]) < 100, message["Subject"]
            rows["alerts"].append(alert_row(alert))
    for ws in windows.values():
        rows["vitals_1m"] += [acc.row() for acc in ws.due(NOW + 86_400_000, NOW + 86_400_000)]
    written = {}
    for table, table_rows in rows.items():
        if table_rows:
            files = lake.write(table, to_tuples(table, table_rows), f"fuzz-{n}")
            written[table] = sum(pq.read_table(f).num_rows for f in files)
            assert written[table] == len(table_rows)
    return written


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_no_record_makes_an_exception_escape_any_stage(payloads):
    with tempfile.TemporaryDirectory() as lake_dir:
        run_stages(PatientPath(default_settings()), payloads, LakeWriter(lake_dir), 0)


def test_the_fuzzer_reaches_every_kind_of_outcome():
    """The property above is only as good as the stages its inputs reach: the base records must
    give rows in every table, alerts included, and a pager message, not only refusals."""
    later = {**BASE["vitals"], "reading_id": "r2", "ts": NOW - 20_000}
    payloads = [json.dumps(BASE["encounter"]).encode(), json.dumps(BASE["vitals"]).encode(),
                json.dumps(later).encode(), b"\xff", json.dumps(BASE["ack"]).encode()]
    with tempfile.TemporaryDirectory() as lake_dir:
        written = run_stages(PatientPath(default_settings()), payloads, LakeWriter(lake_dir), 1)
    assert written["vitals"] == 2 and written["encounters"] == 1 and written["dead_letter"] == 1
    assert written["alerts"] >= 1 and written["vitals_1m"] >= 1
