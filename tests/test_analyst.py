"""Analysts' views (core/schema/analyst.py) on real Parquet in DuckDB, as the Athena views run them."""

import pytest

from core.pseudonym import Pseudonymiser
from core.schema.analyst import NO_VIEW, PARTITIONS, WITHHELD, analyst_tables, visible_columns
from core.schema.tables import TABLES
from flink_app.io.lake import LakeWriter
from reports.engine import ANALYST_SCHEMA, LocalAthena

T0 = 1_795_000_000_000
KEYS = Pseudonymiser(bytes(range(32)))


def test_every_withheld_column_exists_and_no_view_shows_an_id_or_free_text():
    every = {name for schema in TABLES.values() for name in schema.names}
    assert set(WITHHELD) <= every  # no stale entry that protects nothing
    for table in analyst_tables():
        shown = visible_columns(table)
        assert not set(shown) & set(WITHHELD), table
        assert ("patient_id" in TABLES[table].names) == ("patient_key" in shown), table
    assert set(analyst_tables()) | set(NO_VIEW) == set(TABLES)


@pytest.fixture
def lake(tmp_path):
    writer = LakeWriter(str(tmp_path), keys=KEYS)
    writer.write("vitals", [{"reading_id": f"R{i}", "patient_id": f"P-{i % 3}", "encounter_id": f"E-{i % 3}",
                             "hospital_id": "H01", "unit": "ICU", "bed": f"B{i % 3}", "device_id": "m1",
                             "ts": T0 + i * 1000, "heart_rate": 80.0 + i} for i in range(9)], "p1")
    writer.write("alerts", [{"alert_id": "A1", "patient_id": "P-1", "encounter_id": "E-1", "hospital_id": "H01",
                             "unit": "ICU", "bed": "B1", "ts": T0, "message": "CRITICAL bed B1", "severity": "critical"}], "p1")
    writer.write("encounters", [{"event_id": "V1", "event": "admit", "patient_id": "P-1", "encounter_id": "E-1",
                                 "hospital_id": "H01", "ts": T0, "discharge_notes": "Jane Roe, see GP",
                                 "doctor_name": "Dr Who", "age_years": 71}], "p1")
    return tmp_path


def test_the_analyst_schema_has_keys_instead_of_ids_and_joins_on_them(lake):
    engine = LocalAthena(str(lake))
    for table in analyst_tables():
        columns = [row[0] for row in engine.con.execute(f"DESCRIBE {ANALYST_SCHEMA}.{table}").fetchall()]
        assert columns == [*visible_columns(table), *PARTITIONS], table  # spelled out: view_columns is under test
    rows = engine.con.execute(f"""
        SELECT v.patient_key, count(*), max(a.severity), max(e.age_years)
        FROM {ANALYST_SCHEMA}.vitals v
        LEFT JOIN {ANALYST_SCHEMA}.alerts a USING (patient_key)
        LEFT JOIN {ANALYST_SCHEMA}.encounters e USING (patient_key)
        GROUP BY 1 ORDER BY 1""").fetchall()
    assert sorted(rows) == sorted([(KEYS.key("P-0"), 3, None, None), (KEYS.key("P-1"), 3, "critical", 71),
                                   (KEYS.key("P-2"), 3, None, None)])
    text = str(engine.con.execute(f"SELECT * FROM {ANALYST_SCHEMA}.encounters").fetchall()
               + engine.con.execute(f"SELECT * FROM {ANALYST_SCHEMA}.alerts").fetchall())
    for secret in ("P-1", "E-1", "Jane Roe", "Dr Who", "bed B1"):
        assert secret not in text
    with pytest.raises(Exception, match="dead_letter"):
        engine.con.execute(f"SELECT * FROM {ANALYST_SCHEMA}.dead_letter")


def test_the_reports_cli_runs_an_analyst_query_on_the_views_only(lake, capfd):
    from reports.__main__ import main

    sql = "SELECT patient_key, count(*) AS readings FROM vitals GROUP BY patient_key ORDER BY patient_key"
    assert main(["--lake", str(lake), "--analyst", sql]) == 0
    out = capfd.readouterr().out.splitlines()
    assert out[0] == '"patient_key","readings"' and sorted(out[1:]) == sorted(f'"{KEYS.key(f"P-{i}")}",3' for i in range(3))
    assert main(["--lake", str(lake), "--analyst", "SELECT patient_id FROM vitals"]) == 1
    assert "patient_id" in capfd.readouterr().err
