"""The lake through Flink's filesystem sink and the connectors jar's Parquet format (issue 13):
every curated table written by a real Flink job, read back by pyarrow and DuckDB with the
column names and types of the Glue/Athena contract (core/schema/tables.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from core.detect import PatientState, alert_row
from core.patient_path import PatientPath, default_settings
from core.schema.events import decode
from core.schema.tables import TABLES
from flink_app.io.flink_lake import JAR, flink_row, row_data_type, sink_ddl
from flink_app.operators import dead_letter_row

pytestmark = pytest.mark.e2e
NOW = 1_795_000_000_000


def sample_rows() -> dict[str, list[dict]]:
    """One real row of each table, from the job's own code."""
    from core.windows import PatientMinute, UnitLoad

    path = PatientPath(default_settings())
    state = PatientState()
    vitals, alerts = [], []
    for i, t in enumerate((NOW, NOW + 10_000, NOW + 20_000)):
        reading = {"schema_version": 1, "type": "vitals", "reading_id": f"r{i}", "patient_id": "p1", "encounter_id": "e1",
                   "hospital_id": "H01", "unit": "ICU", "bed": "ICU-01", "device_id": "d1", "ts": t, "heart_rate": 160,
                   "spo2": 83}
        _, row, raised = path.handle(state, decode(json.dumps(reading), now_ms=NOW + 60_000), ("s", str(i), t, t))
        vitals.append(row)
        alerts += [alert_row(a) for a in raised]
    enc = {"schema_version": 1, "type": "encounter", "event_id": "ev1", "event": "admission", "patient_id": "p1",
           "encounter_id": "e1", "hospital_id": "H01", "ts": NOW, "unit": "ICU", "bed": "ICU-01", "symptoms": ["cough"]}
    _, encounter, _ = path.handle(state, decode(json.dumps(enc), now_ms=NOW + 60_000), ("s", "9", NOW, NOW))
    minute = PatientMinute(NOW - NOW % 60_000)
    for row in vitals:
        minute.add(row)
    load = UnitLoad(NOW - NOW % 300_000)
    load.add(minute.row())
    dead = dead_letter_row("parse", "not JSON", b"\xff", "s", "1", NOW)
    return {"vitals": vitals, "alerts": alerts, "encounters": [encounter], "vitals_1m": [minute.row()],
            "unit_load_5m": [load.row()], "dead_letter": [dead]}


def test_every_table_through_flinks_parquet_sink(tmp_path: Path):
    from pyflink.table import EnvironmentSettings, TableEnvironment

    assert JAR.exists(), f"{JAR} is missing: 'make jar' (make test builds it) needs Java 17 and Maven"
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("pipeline.jars", JAR.as_uri())
    t_env.get_config().set("table.local-time-zone", "UTC")
    rows = sample_rows()
    assert rows["alerts"], "the sample readings page (critical HR and SpO2): the alerts table gets a row"
    statements = t_env.create_statement_set()
    for table, table_rows in rows.items():
        t_env.execute_sql(sink_ddl(table, tmp_path.as_uri()))
        statements.add_insert(table, t_env.from_elements([flink_row(table, r) for r in table_rows],
                                                         row_data_type(table)))
    statements.execute().wait()
    for table, table_rows in rows.items():
        parts = sorted((tmp_path / table).glob("dt=*/hour=*/part-*"))
        assert parts and all((p.parent / "_SUCCESS").exists() for p in parts)  # partitions committed
        data = ds.dataset(parts, format="parquet").to_table()
        expected = TABLES[table]
        assert data.schema.names == expected.names, table
        for field in expected:
            got = data.schema.field(field.name).type
            if pa.types.is_timestamp(field.type):
                assert pa.types.is_timestamp(got) and got.unit == "ms", (table, field.name, got)
            else:
                assert got == field.type, (table, field.name, got)
        assert data.num_rows == len(table_rows)
    # Partitioned as the pyarrow writer does, and DuckDB (the reports) reads it with Hive partitions.
    got = duckdb.sql(f"SELECT reading_id, heart_rate, dt, hour FROM read_parquet('{tmp_path}/vitals/*/*/part-*', "
                     "hive_partitioning = true) ORDER BY reading_id").fetchall()
    assert got == [(f"r{i}", 160.0, date(2026, 11, 18), 11) for i in range(3)]
    [alert] = [a for a in ds.dataset(sorted((tmp_path / "alerts").glob("dt=*/hour=*/part-*")), format="parquet")
               .to_table().to_pylist() if a["severity"] == "critical"]
    assert alert["ts"].replace(tzinfo=None).isoformat() == "2026-11-18T11:07:00"  # 1795000020000 ms, UTC
