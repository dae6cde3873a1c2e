"""Exactly once: the job is killed with SIGKILL mid-stream twice and restarted from its latest
checkpoint; the lake must then hold every produced reading exactly once, and every alert in
the lake must be on the alerts stream (at least once: a replay may write an alert again, with
the same ids, which the delivery service drops; tests/test_delivery_service.py).

Real parts throughout: moto server over HTTP (Kinesis), the PyFlink job in
its own process (thread mode), Parquet files on disk. Run on the embedded mini-cluster and on a
local session cluster of two TaskManagers (``job.taskmanagers=2``, parallelism 2), where the
SIGKILL to the job's process group takes down the whole cluster, JobManager and TaskManagers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
import pytest
from conftest import start_job

from core import aws
from flink_app.lineage import latest_checkpoint
from infra.local.stack import create_resources

pytestmark = pytest.mark.e2e

PATIENTS = 12
PER_PATIENT = 400  # 4,800 readings
DESATURATING = {0, 1, 2}  # these patients' SpO2 falls to 80% for a while: one critical episode each


def readings(base_ms: int) -> list[dict]:
    out = []
    for i in range(PER_PATIENT):
        for p in range(PATIENTS):
            spo2 = 80 if p in DESATURATING and 150 <= i < 200 else 97
            out.append({"schema_version": 1, "type": "vitals", "reading_id": f"R-{p:02d}-{i:04d}",
                        "patient_id": f"P-{p:02d}", "encounter_id": f"E-{p:02d}", "hospital_id": "H01",
                        "unit": "ICU", "bed": f"ICU-{p:02d}", "device_id": f"mon-{p:02d}",
                        "ts": base_ms + i * 5000, "heart_rate": 70 + i % 7, "spo2": spo2, "respiratory_rate": 16})
    return out


def lake_rows(lake: Path, table: str) -> list[dict]:
    path = lake / table
    if not path.exists():
        return []
    for _ in range(10):
        try:
            return ds.dataset(path, format="parquet", partitioning="hive").to_table().to_pylist()
        except FileNotFoundError:  # the restored job is undoing a flush right now: read again
            time.sleep(0.2)
    raise AssertionError("the lake kept changing under the reader")


def kill(job: subprocess.Popen) -> None:
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(30)


@pytest.mark.parametrize("taskmanagers", [1, 2], ids=["mini-cluster", "two-taskmanagers"])
def test_sigkill_twice_then_every_reading_once_and_every_alert_streamed(moto_endpoint, unique, tmp_path, taskmanagers):
    res = create_resources(moto_endpoint, stream_name=f"eo-{unique}", topic_name=f"eo-{unique}",
                           queue_name=f"eo-{unique}")
    base = int(time.time() * 1000) - PER_PATIENT * 5000 - 60_000
    records = readings(base)
    lake, chk = tmp_path / "lake", tmp_path / "chk"
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": res.endpoint, "region": res.region}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": res.stream_name, "max.records.per.poll": "200"}},
        {"PropertyGroupId": "alerts", "PropertyMap": {"stream.name": res.alerts_stream}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(lake), "flush.interval.ms": "700"}},
        # The readings are up to 35 min old: page them as live (the default holds pages about readings
        # older than 10 min, a catch-up, and records episodes that end inside it without paging).
        {"PropertyGroupId": "detection", "PropertyMap": {"delayed.after.ms": str(3_600_000)}},
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(chk), "checkpoint.interval.ms": "1000",
                                                    "taskmanagers": str(taskmanagers),
                                                    "cluster.dir": str(tmp_path / "cluster")}},
    ]))

    kinesis = aws.client("kinesis", res.region, res.endpoint)

    phases = [records[i:i + len(records) // 3] for i in range(0, len(records), len(records) // 3)]
    go = [threading.Event() for _ in phases]

    def produce():  # each phase streams at ~125 readings/s once its job is up, so every kill lands mid-stream
        for phase, start in zip(phases, go, strict=True):
            start.wait(300)
            for i in range(0, len(phase), 50):
                resp = kinesis.put_records(StreamName=res.stream_name, Records=[
                    {"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]} for r in phase[i:i + 50]])
                assert resp["FailedRecordCount"] == 0
                time.sleep(0.4)

    def wait_for_new_checkpoint(previous: str | None) -> str:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert job.poll() is None, log.read_text()[-3000:]
            latest = latest_checkpoint(chk)
            if latest and (previous is None or Path(latest).parent != Path(previous).parent):
                return latest  # the (re)started job has completed a checkpoint of its own
            time.sleep(0.3)
        raise AssertionError("no checkpoint from the job")

    log = tmp_path / "job.log"
    producer = threading.Thread(target=produce, daemon=True)
    job = start_job(config, log)
    producer.start()
    kills = 0
    checkpoint = None
    try:
        for k in range(2):
            checkpoint = wait_for_new_checkpoint(checkpoint)
            go[k].set()
            # Let the job read part of this phase, then kill it without warning.
            deadline = time.monotonic() + 120
            seen = len(lake_rows(lake, "vitals"))
            while time.monotonic() < deadline and len(lake_rows(lake, "vitals")) <= seen + 300:
                assert job.poll() is None, log.read_text()[-3000:]
                time.sleep(0.3)
            assert len(lake_rows(lake, "vitals")) < sum(len(p) for p in phases[:k + 1]), "the kill must land mid-stream"
            kill(job)
            kills += 1
            job = start_job(config, log, "--set", "job.restore.from=latest")
        wait_for_new_checkpoint(checkpoint)
        go[2].set()
        producer.join(120)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len({r["reading_id"] for r in lake_rows(lake, "vitals")}) < len(records):
            assert job.poll() is None, log.read_text()[-3000:]
            time.sleep(1)
        time.sleep(4)  # the last alerts reach the stream
    finally:
        if job.poll() is None:
            kill(job)

    assert kills == 2
    assert log.read_text().count("restoring from") == 2
    ids = Counter(r["reading_id"] for r in lake_rows(lake, "vitals"))
    assert len(ids) == len(records), f"{len(records) - len(ids)} readings missing"
    assert [k for k, n in ids.items() if n > 1] == [], "readings written twice"
    assert lake_rows(lake, "dead_letter") == []

    streamed = read_alerts_stream(kinesis, res.alerts_stream)
    opened = [a for a in streamed if a["status"] == "open"]
    on_stream = Counter(a["alert_id"] for a in streamed)
    alerts = Counter(r["alert_id"] for r in lake_rows(lake, "alerts"))
    assert set(alerts) == set(on_stream) and max(alerts.values()) == 1  # every alert streamed, one row each
    assert sorted({a["bed"] for a in opened}) == ["ICU-00", "ICU-01", "ICU-02"]
    repeats = sum(on_stream.values()) - len(on_stream)
    print(f"\n{taskmanagers} TM: {len(on_stream)} alerts, {repeats} written again by a replay (same ids)")
    assert all(r["streamed"] for r in lake_rows(lake, "alerts"))


def read_alerts_stream(kinesis, stream: str) -> list[dict]:
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = kinesis.get_records(ShardIterator=it, Limit=1000)
            out += [json.loads(r["Data"]) for r in resp["Records"]]
            if not resp["Records"]:
                break
            it = resp.get("NextShardIterator")
    return out
