"""Dead letters keep no identities: the scrub (core/schema/phi.py) and the job's dead-letter rows."""

from __future__ import annotations

import json

import duckdb

from core.schema.phi import MAX_SCRUBBED_CHARS, scrub
from core.schema.tables import TABLES
from flink_app.io.lake import LakeWriter
from flink_app.operators import LakeSink, dead_letter_row, quarantine_rows, sink_dead_letters, whole_record_row

RECORD = {"schema_version": 1, "type": "vitals", "reading_id": "r1", "patient_id": "P-0007-000001",
          "hospital_id": "H01", "heart_rate": "fast", "Patient_Name": "Jane Roe", "dob": "1950-02-03",
          "contact": {"E-mail": "jane@example.org", "telecom": "+44 20 7946 0958", "note": "call 020 7946 0958"},
          "notes": "NHS 943 476 5919, SSN 123-45-6789, mail jane.roe@example.org"}


def test_identifying_fields_and_values_are_removed_and_the_rest_kept():
    out = scrub(json.dumps(RECORD))
    for secret in ("Jane", "Roe", "1950-02-03", "example.org", "7946", "943 476 5919", "123-45-6789"):
        assert secret not in out, secret
    body, _, said = out.partition(" [removed: ")
    kept = json.loads(body)
    assert kept["heart_rate"] == "fast" and kept["reading_id"] == "r1" and kept["hospital_id"] == "H01"
    assert kept["notes"] == "NHS [NHS number removed], SSN [social-security number removed], mail [e-mail removed]"
    assert "field Patient_Name" in said and "field dob" in said and "e-mail" in said


def test_text_that_is_not_json_is_scrubbed_by_pattern_and_capped():
    assert scrub("name=Jane, phone 07700 900123, jane@example.org") == (
        "name=[removed], phone [phone number removed], [e-mail removed] [removed: e-mail, field name, phone number]")
    big = scrub("x" * 100_000)
    assert len(big) < MAX_SCRUBBED_CHARS + 100 and big.endswith("more characters in the quarantine]")


def test_a_dead_letter_goes_scrubbed_to_the_lake_and_unchanged_to_the_quarantine():
    data = json.dumps(RECORD).encode()
    row = dead_letter_row("parse", "impossible value: heart_rate='fast'", data, "shard-0", "42", 1_000)
    assert "Jane" not in row["payload"] and "Jane" not in row["reason"]
    [raw] = quarantine_rows([row])
    assert raw["payload"].encode() == data and raw["raw_id"] == row["raw_id"] and raw["kinesis_seq"] == "42"
    binary = whole_record_row("not UTF-8", b"\xff\xfe" * 10, "shard-0", "43", 1_000)
    assert binary["payload"] == "binary record of 20 bytes (in the quarantine)"
    assert quarantine_rows([binary])[0]["payload"].startswith("base64:")


def test_nothing_a_source_sends_makes_the_scrub_fail():
    for payload in ("[" * 5000, "[" * 900 + "]" * 900, "{" * 2000, "", "\x00\x1b[31m", '{"name": ' * 300):
        assert isinstance(scrub(payload), str)


ENCOUNTER = {"schema_version": 1, "type": "encounter", "event_id": "ev1", "event": "discharge",
             "patient_id": "P-0007-000001", "hospital_id": "H01", "unit": "ward-3",
             "doctor_name": "Dr Who", "discharge_notes": "Mrs Jane Roe went home to her daughter",
             "symptoms": ["fever since her trip with Jane"], "length_of_stay_days": "three"}


def test_free_text_fields_are_removed_whatever_they_say():
    """Free text (page text, a clinician's notes, reasons, symptoms) can name anyone in words no
    pattern knows; its value was kept verbatim in dead_letter.payload."""
    out = scrub(json.dumps(ENCOUNTER))
    for secret in ("Jane", "Roe", "daughter", "Dr Who", "trip"):
        assert secret not in out, secret
    body, _, said = out.partition(" [removed: ")
    kept = json.loads(body)
    assert kept["discharge_notes"] == "[free text removed: 38 characters]"
    assert kept["symptoms"] == "[free text removed: 1 item]"
    assert kept["length_of_stay_days"] == "three" and kept["hospital_id"] == "H01"
    assert "free text discharge_notes" in said and "free text symptoms" in said and "field doctor_name" in said


def test_a_row_the_lake_cannot_hold_is_dead_lettered_by_column_name_and_scrubbed():
    """A derived row the table cannot hold was dead-lettered as repr(row): no column names, so
    the scrub removed nothing and the doctor's name and the notes went to the lake verbatim."""
    names = TABLES["encounters"].names
    row = tuple({"event_id": "ev1", "patient_id": "P-1", "hospital_id": "H01", "doctor_name": "Dr Who",
                 "discharge_notes": "Mrs Jane Roe went home", "length_of_stay_days": True,
                 "kinesis_shard": "shardId-000000000001", "kinesis_seq": "4711", "patient_key": "k" * 32}.get(name) for name in names)
    [dead] = sink_dead_letters("encounters", [(row, "encounters row not writable: ArrowTypeError: bool")])
    assert dead["stage"] == "sink" and dead["reason"].startswith("encounters row not writable")
    for secret in ("Dr Who", "Jane", "Roe"):
        assert secret not in dead["payload"], secret
    body, _, said = dead["payload"].partition(" [removed: ")
    kept = json.loads(body)
    assert kept["table"] == "encounters" and kept["row"]["hospital_id"] == "H01"
    assert kept["row"]["length_of_stay_days"] is True and kept["row"]["patient_key"] == "k" * 32
    assert "field doctor_name" in said and "free text discharge_notes" in said
    # Not what a source sent: the record it came from is in the raw zone, at the position given.
    assert (dead["kinesis_shard"], dead["kinesis_seq"]) == ("shardId-000000000001", "4711")
    assert quarantine_rows([dead]) == [] and dead["raw_id"] is None


def test_the_lake_sink_writes_such_a_row_to_dead_letter_scrubbed_and_the_rest_of_the_flush(tmp_path):
    """The sink's own path (LakeSink._commit on a real LakeWriter, read back with DuckDB); no
    Flink runtime is needed for it, so none is started."""
    names = TABLES["encounters"].names
    good = {"event_id": "ev0", "event": "admit", "patient_id": "P-1", "hospital_id": "H01", "ts": 1_767_225_600_000}
    bad = {**good, "event_id": "ev1", "doctor_name": "Dr Who", "length_of_stay_days": "three"}
    sink = LakeSink.__new__(LakeSink)
    sink.lineage = "L1"
    lake = LakeWriter(str(tmp_path))
    sink._commit(lake, "encounters", [tuple(r.get(n) for n in names) for r in (good, bad)], 1)
    con = duckdb.connect()
    kept = con.sql(f"SELECT event_id FROM read_parquet('{tmp_path}/encounters/**/*.parquet')").fetchall()
    [(stage, reason, payload)] = con.sql(
        f"SELECT stage, reason, payload FROM read_parquet('{tmp_path}/dead_letter/**/*.parquet')").fetchall()
    assert kept == [("ev0",)] and stage == "sink" and "length_of_stay_days" in reason
    assert "Dr Who" not in payload and json.loads(payload.partition(" [removed: ")[0])["row"]["event_id"] == "ev1"


def test_an_identifier_code_is_not_taken_for_a_phone_number():
    """P-0007-000001 came out as "P-[phone number removed]": the operator lost which record failed."""
    out = scrub(json.dumps({"patient_id": "P-0007-000001", "encounter_id": "E-0007-000001-01",
                            "note": "call 020 7946 0958 or +44 20 7946 0958"}))
    kept = json.loads(out.partition(" [removed: ")[0])
    assert kept["patient_id"] == "P-0007-000001" and kept["encounter_id"] == "E-0007-000001-01"
    assert kept["note"] == "call [phone number removed] or [phone number removed]"
