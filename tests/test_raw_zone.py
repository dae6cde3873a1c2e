"""The raw zone (issue 16, item 7): every stream record kept unchanged, and a day rebuilt from it.

The Firehose Lambda and the local archiver write one format (``archive/raw_format.py``); the
end-to-end test runs the real archiver and the real job twice on a real moto server: once on the
original stream, once on a stream the raw day was put back on, on a fresh lineage, and compares
the curated rows. Firehose itself cannot run here (moto stores a delivery stream but never reads
a Kinesis source): its transform Lambda is tested on Firehose's documented event.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import start_job, stop_job, write_job_config

from archive import firehose
from archive.local import raw_records
from archive.raw_format import RawFormatError, RawRecord, decode_file, encode_file, from_line, replay_order, to_line
from core import aws
from core.kinesis_reader import KinesisRecord
from core.kpl import aggregate

ROOT = Path(__file__).resolve().parents[1]
ODD = [b"", b"\x00\xff\xfe binary", b"line one\nline two\r\n", "caf\u00e9 \u2603".encode("utf-16"),
       b'{"schema_version": 1, "type": "vitals"']


@pytest.mark.parametrize("data", ODD, ids=["empty", "binary", "newlines", "utf16", "truncated-json"])
def test_a_raw_line_keeps_any_bytes_exactly(data):
    record = RawRecord(1764633600123, "shardId-000000000001", "4963" * 10, None, "P-0001", data)
    line = to_line(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one line whatever the bytes hold
    assert from_line(line) == record
    assert list(decode_file(encode_file([record, record]), "f")) == [record, record]


def test_a_line_that_is_not_the_format_names_where_it_is():
    with pytest.raises(RawFormatError, match=r"raw/x.jsonl.gz line 3: not a raw-zone line"):
        from_line(b'{"v": 1, "arrival_ms": 5}', "raw/x.jsonl.gz line 3")
    with pytest.raises(RawFormatError, match="format version 7"):
        from_line(b'{"v": 7}', "f")
    with pytest.raises(RawFormatError, match="not gzip"):
        list(decode_file(b"plain text", "f"))


def test_the_firehose_lambda_writes_what_the_local_archiver_writes():
    """The same stream records through Firehose's transform (event as the Firehose developer guide
    documents it for a Kinesis source, aggregates already split by Firehose) and through the local
    archiver (which splits them itself) give the same lines and the same partitions."""
    arrival = 1764633600123  # 2025-12-02T00:00:00.123Z
    units = [b'{"reading_id": "R-1"}', b'{"reading_id": "R-2"}']
    kinesis = [KinesisRecord("shardId-000000000000", "49590338271490256608559692538361571095921575989136588898",
                             arrival, "P-1", b'{"reading_id": "R-0"}'),
               KinesisRecord("shardId-000000000001", "49590338271490256608559692538361571095921575989136588899",
                             arrival + 3_600_000, "wardwatch-agg-0003", aggregate([("P-2", u) for u in units])),
               KinesisRecord("shardId-000000000001", "49590338271490256608559692538361571095921575989136588900",
                             arrival + 3_600_001, "k", aggregate([("P-3", b"x")])[:-1])]  # damaged: kept whole
    local = [r for k in kinesis for r in raw_records(k)]
    assert [r.subsequence_number for r in local] == [None, 0, 1, None]

    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(arrival / 1000)) + ".123Z"
    event = {"invocationId": "inv-1", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:1:deliverystream/raw",
             "sourceKinesisStreamArn": "arn:aws:kinesis:eu-west-1:1:stream/vitals", "region": "eu-west-1",
             "records": [{"recordId": f"rec-{i}", "approximateArrivalTimestamp": r.arrival_ms + 5,  # Firehose's own
                          "data": base64.b64encode(r.data).decode(),
                          "kinesisRecordMetadata": {"shardId": r.shard_id, "partitionKey": r.partition_key,
                                                    "approximateArrivalTimestamp": iso if i == 0 else r.arrival_ms,
                                                    "sequenceNumber": r.sequence_number,
                                                    "subsequenceNumber": "" if r.subsequence_number is None
                                                    else str(r.subsequence_number)}}
                         for i, r in enumerate(local)]}
    out = firehose.handler(event)["records"]
    assert [o["recordId"] for o in out] == [f"rec-{i}" for i in range(4)] and {o["result"] for o in out} == {"Ok"}
    assert [base64.b64decode(o["data"]) for o in out] == [to_line(r) for r in local]
    assert [o["metadata"]["partitionKeys"] for o in out] == [
        {"dt": "2025-12-02", "hour": "00"}, {"dt": "2025-12-02", "hour": "01"}, {"dt": "2025-12-02", "hour": "01"},
        {"dt": "2025-12-02", "hour": "01"}]


def test_replay_drops_repeated_deliveries_and_keeps_each_shards_order():
    a = [RawRecord(1000 + i, "s-0", str(10 + i), None, "P-1", b"a%d" % i) for i in range(3)]
    b = [RawRecord(1000 + i, "s-1", str(20 + i), None, "P-2", b"b%d" % i) for i in range(3)]
    # s-0's third record arrived "earlier" by the approximate clock: the shard's order still rules.
    a[2] = RawRecord(999, "s-0", "12", None, "P-1", b"a2")
    ordered, repeats = replay_order([a[2], b[1], a[0], b[0], a[1], b[2], a[0], b[1]])
    assert repeats == 2
    assert [r.data for r in ordered if r.shard_id == "s-0"] == [b"a0", b"a1", b"a2"]
    assert [r.data for r in ordered if r.shard_id == "s-1"] == [b"b0", b"b1", b"b2"]
    assert len(ordered) == 6


# --- the real archiver and the real job, twice ---------------------------------------------------

PATIENTS, PER_PATIENT = 4, 40


def stream_records(base_ms: int) -> list[tuple[str, bytes]]:
    """(partition key, data): readings (one patient desaturating, to raise an alert), an encounter,
    a KPL aggregate, a damaged aggregate, a record that is not JSON and one with a bad field."""
    out = []
    for i in range(PER_PATIENT):
        for p in range(PATIENTS):
            spo2 = 82 if p == 0 and 10 <= i < 30 else 97
            out.append((f"P-{p}", json.dumps({
                "schema_version": 1, "type": "vitals", "reading_id": f"R-{p}-{i:03d}", "patient_id": f"P-{p}",
                "encounter_id": f"E-{p}", "hospital_id": "H01", "unit": "ICU", "bed": f"ICU-0{p}", "device_id": f"mon-{p}",
                "ts": base_ms + i * 5000, "heart_rate": 70 + i % 9, "spo2": spo2, "respiratory_rate": 16}).encode()))
    out.append(("P-9", json.dumps({"schema_version": 1, "type": "encounter", "event_id": "EV-1", "event": "admission",
                                   "patient_id": "P-9", "encounter_id": "E-9", "hospital_id": "H01", "unit": "ICU",
                                   "bed": "ICU-09", "ts": base_ms}).encode()))
    units = [json.dumps({"schema_version": 1, "type": "vitals", "reading_id": f"R-A-{i}", "patient_id": "P-8",
                         "encounter_id": "E-8", "device_id": "mon-8", "hospital_id": "H01", "unit": "ICU", "bed": "ICU-08", "ts": base_ms + i * 5000,
                         "heart_rate": 90}).encode() for i in range(3)]
    out.append(("wardwatch-agg-0001", aggregate([("P-8", u) for u in units])))
    out.append(("P-7", aggregate([("P-7", b'{"reading_id": "R-broken"}')])[:-1]))
    out.append(("P-6", b"\x00not json at all"))
    out.append(("P-5", json.dumps({"schema_version": 1, "type": "vitals", "reading_id": "R-bad-field",
                                   "patient_id": "P-5", "encounter_id": "E-5", "device_id": "mon-5", "hospital_id": "H01", "unit": "ICU", "bed": "ICU-05",
                                   "ts": base_ms, "heart_rate": 80, "spo2": "ninety"}).encode()))
    return out


# Columns that tell one pass over the records from another: where and when the record sat in its
# stream, when the job processed it, and the quarantine's id. Everything else must be equal.
PROVENANCE = {"kinesis_seq", "arrival_ts", "processed_ts", "raw_id", "stream_sequence"}
TABLES = ("vitals", "encounters", "dead_letter", "vitals_1m", "alerts", "unit_load_5m")


def curated(lake: Path, table: str) -> list[str]:
    path = lake / table
    if not path.exists():
        return []
    rows = ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(json.dumps({k: v for k, v in r.items() if k not in PROVENANCE}, sort_keys=True, default=str)
                  for r in rows)


@pytest.mark.e2e
def test_a_raw_day_reprocessed_on_a_fresh_lineage_gives_the_same_curated_rows(moto_endpoint, unique, tmp_path):
    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    original, replayed = f"vitals-{unique}", f"reprocess-{unique}"
    kinesis.create_stream(StreamName=original, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=original, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    # The original run must be live, as a ward's day was: readings 4-7 minutes old, well inside
    # detection.delayed.after.ms (10 min). At 10 minutes old (as here before) the original run held
    # some readings as a catch-up and not others, by when it read them, and the two runs' alerts
    # differed by a reading (CI). Pages tell a time with its day when the reader's day differs, so
    # the test does not straddle midnight (UTC).
    while (time.time() + 6 * 60) % 86_400 < 12 * 60:  # 23:54 to 00:06 UTC: wait (at most 12 min)
        time.sleep(5)
    records = stream_records((int(time.time()) // 60 - 4) * 60_000)
    for i in range(0, len(records), 100):
        resp = kinesis.put_records(StreamName=original, Records=[{"PartitionKey": k, "Data": d}
                                                                 for k, d in records[i:i + 100]])
        assert resp["FailedRecordCount"] == 0
    user_records = len(records) + 2  # the aggregate of three arrives as three, the damaged one whole

    raw = tmp_path / "raw"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(tmp_path / "archive.log", "wb") as log:
        archiver = subprocess.Popen([sys.executable, "-m", "archive", "--stream", original, "--raw-dir", str(raw),
                                     "--endpoint-url", moto_endpoint, "--flush-s", "1"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        state = raw / "_state.json"
        while time.monotonic() < deadline:
            if state.exists() and json.loads(state.read_text())["records"] >= user_records:
                break
            assert archiver.poll() is None, (tmp_path / "archive.log").read_text()
            time.sleep(0.5)
    finally:
        os.killpg(archiver.pid, signal.SIGTERM)
        archiver.wait(30)
    files = sorted(raw.glob("dt=*/hour=*/*.jsonl.gz"))
    lines = [line for f in files for line in gzip.decompress(f.read_bytes()).splitlines()]
    assert len(lines) == user_records, (tmp_path / "archive.log").read_text()
    kept = {from_line(line).data for line in lines}
    assert records[-2][1] in kept and records[-3][1] in kept  # the refused ones, unchanged

    days = sorted(p.name[3:] for p in raw.glob("dt=*"))
    for n, day in enumerate(days):
        done = subprocess.run([sys.executable, "-m", "archive.reprocess", "--raw", str(raw), "--day", day,
                               "--stream", replayed, "--endpoint-url", moto_endpoint]
                              + (["--create", "2"] if n == 0 else []), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "0 failed" in done.stdout and "--set alerts.stream.name= --set detection.replay=true" in done.stdout

    jobs = {}
    for stream, lineage in ((original, "1"), (replayed, f"reprocess-{unique}")):
        folder = tmp_path / stream
        folder.mkdir()
        config = write_job_config(folder / "config.json", {
            "aws": {"endpoint.url": moto_endpoint, "region": "us-east-1"},
            "source": {"stream.name": stream},
            "lake": {"path": str(folder / "lake"), "flush.interval.ms": "500"},
            "windows": {"idle.close.ms": "2000"},
            # The reprocess as its runbook runs it: no alerts stream, each reading judged at its own time.
            "detection": {"replay": str(stream == replayed).lower()},
            "job": {"checkpoint.dir": str(folder / "chk"), "checkpoint.interval.ms": "2000", "lineage": lineage}})
        jobs[stream] = (folder, start_job(config, folder / "job.log"))
    expected_vitals = PATIENTS * PER_PATIENT + 3 + 1  # + the aggregate's three + the one with a bad field
    try:
        deadline, stable = time.monotonic() + 240, {}
        while time.monotonic() < deadline:
            for folder, job in jobs.values():
                assert job.poll() is None, (folder / "job.log").read_text()[-3000:]
            counts = {s: tuple(len(curated(f / "lake", t)) for t in TABLES) for s, (f, _) in jobs.items()}
            if all(c[0] >= expected_vitals and c[2] >= 3 and c[3] and c[4] and c[5] for c in counts.values()):
                if counts == stable.get("counts"):
                    if time.monotonic() - stable["since"] > 6:  # nothing more for 6 s: the windows are in
                        break
                else:
                    stable = {"counts": counts, "since": time.monotonic()}
            time.sleep(1)
        else:
            raise AssertionError(f"the lakes did not settle: {stable}")
    finally:
        for _, job in jobs.values():
            stop_job(job)
    first, again = (jobs[s][0] / "lake" for s in (original, replayed))
    for table in TABLES:
        assert curated(again, table) == curated(first, table), table
    assert len(curated(first, "vitals")) == expected_vitals and len(curated(first, "alerts")) >= 1
    reasons = sorted(json.loads(r)["reason"] for r in curated(again, "dead_letter"))
    assert any("MD5" in r for r in reasons) and any("not JSON" in r or "UTF-8" in r for r in reasons), reasons


def test_the_archiver_reads_a_stream_recreated_under_the_same_name_from_its_start(moto_endpoint, unique, tmp_path):
    """Issue 16's finding for the job (positions never checked against the stream), for the archiver:
    a stream deleted and recreated under the same name numbers its records afresh, so positions kept
    for the old one would skip the new one's first records."""
    from archive.local import Archiver
    from core.kinesis_reader import KinesisShardReader, StreamPoller

    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    stream = f"recreated-{unique}"

    def create_and_put(*datas: bytes) -> None:
        kinesis.create_stream(StreamName=stream, ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
        for d in datas:
            kinesis.put_record(StreamName=stream, PartitionKey="P-1", Data=d)

    poller = StreamPoller(KinesisShardReader(kinesis, stream), discovery_interval_s=0, read_ahead=False)
    archiver = Archiver(poller, stream, tmp_path / "raw", tmp_path / "state.json", flush_s=0)

    def archive_until(n: int) -> None:
        deadline = time.monotonic() + 30
        while archiver.records < n and time.monotonic() < deadline:
            if not archiver.created:
                archiver.resume()
            archiver.step()
            time.sleep(0.2)

    create_and_put(b"old-1", b"old-2", b"old-3")
    archive_until(3)
    assert archiver.records == 3
    kinesis.delete_stream(StreamName=stream)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    time.sleep(1.1)  # another creation time (whole seconds) for the new stream
    create_and_put(b"new-1", b"new-2")
    archive_until(5)
    kept = sorted(r.data for f in (tmp_path / "raw").glob("dt=*/hour=*/*.jsonl.gz")
                  for r in decode_file(f.read_bytes(), str(f)))
    assert kept == [b"new-1", b"new-2", b"old-1", b"old-2", b"old-3"]
