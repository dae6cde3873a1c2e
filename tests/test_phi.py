"""Dead letters keep no identities: the scrub (core/schema/phi.py) and the job's dead-letter rows."""

from __future__ import annotations

import json

from core.schema.phi import MAX_SCRUBBED_CHARS, scrub
from flink_app.operators import dead_letter_row, quarantine_rows, whole_record_row

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
