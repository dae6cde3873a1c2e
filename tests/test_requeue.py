"""Dead letters go back on the stream unchanged from the quarantine (producer/requeue.py), on moto."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from core import aws
from flink_app.io.lake import LakeWriter
from flink_app.operators import dead_letter_row, quarantine_rows, whole_record_row
from producer.requeue import main as requeue


def test_requeue_puts_the_refused_records_back_byte_for_byte(tmp_path, moto_endpoint, unique, capsys):
    now = int(time.time() * 1000)
    day = datetime.fromtimestamp(now / 1000, UTC).date().isoformat()
    bad_unit = json.dumps({"type": "vitals", "patient_id": "P-9", "unit": 7, "patient_name": "Jane Roe"}).encode()
    not_json = b"heart_rate=80, name=Jane"
    binary = b"\xf3\x89\x9a\xc2" * 5
    dead = [dead_letter_row("parse", "wrong type: unit must be a string", bad_unit, "s-0", "1", now),
            dead_letter_row("parse", "not JSON: expecting value", not_json, "s-0", "2", now),
            whole_record_row("not UTF-8", binary, "s-0", "3", now)]
    lake, quarantine = tmp_path / "lake", tmp_path / "quarantine"
    LakeWriter(str(lake)).write("dead_letter", dead, "t")
    LakeWriter(str(quarantine)).write("dead_letter_raw", quarantine_rows(dead), "t")
    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    stream = f"requeue-{unique}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    common = ["--quarantine", str(quarantine), "--lake", str(lake), "--day", day, "--stream", stream,
              "--endpoint-url", moto_endpoint]

    assert requeue([*common, "--reason-contains", "unit", "--dry-run"]) == 0
    assert "1 quarantined record(s)" in capsys.readouterr().out
    assert requeue(common) == 0
    out = capsys.readouterr().out
    assert "3 record(s) of" in out and "Jane" not in out
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got = kinesis.get_records(ShardIterator=it)["Records"]
    assert sorted(r["Data"] for r in got) == sorted([bad_unit, not_json, binary])
    assert {r["PartitionKey"] for r in got if r["Data"] == bad_unit} == {"P-9"}  # keyed by patient, as sources do
    assert requeue([*common, "--day", "2020-01-01"]) == 0 and "0 quarantined" in capsys.readouterr().out
