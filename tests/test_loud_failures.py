"""Failures that will not heal are loud: the job fails with the cause, and make run prints it.

The job test runs the real job (mini-cluster) against a moto server on a stream that does not
exist: before, it stayed RUNNING and logged a warning per poll to a file under site-packages.
"""

from __future__ import annotations

import json
import os
import signal
import time

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from conftest import start_job, stop_job, write_job_config
from test_exactly_once import readings

from core import aws
from core.aws import permanent_cause
from infra.local.run import FatalWatch, rotate
from infra.local.stack import create_resources


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetRecords")


def test_what_cannot_heal_is_told_apart_from_what_can():
    assert "does not exist" in permanent_cause(client_error("ResourceNotFoundException"))
    assert "access denied" in permanent_cause(client_error("AccessDeniedException"))
    assert "kms:Decrypt" in permanent_cause(client_error("KMSAccessDeniedException"))
    assert "credentials" in permanent_cause(NoCredentialsError())
    for transient in (client_error("InternalFailure"), client_error("ProvisionedThroughputExceededException"),
                      client_error("ServiceUnavailable"), EndpointConnectionError(endpoint_url="http://x"),
                      TimeoutError()):
        assert permanent_cause(transient) is None, transient


def test_the_job_fails_loudly_on_a_missing_stream(moto_endpoint, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": moto_endpoint}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": "no-such-stream"}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(tmp_path / "lake")}},
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(tmp_path / "chk")}},
    ]))
    assert fatal_causes(config, tmp_path) == ["FATAL: cannot read Kinesis stream no-such-stream: the stream does not "
                                              "exist (source.stream.name, aws.region) (ResourceNotFoundException)"]


def fatal_causes(config, tmp_path) -> list[str]:
    """Runs the real job until it tells a FATAL cause (or 120 s); the causes, each told once however
    often the job restarts on it (a second scan a few seconds later finds none new)."""
    logs = tmp_path / "flink"
    logs.mkdir()
    watch = FatalWatch(logs)
    job = start_job(config, tmp_path / "job.log", flink_logs=logs)
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 120
        while not seen and time.monotonic() < deadline and job.poll() is None:
            time.sleep(1)
            seen = watch.scan()
        assert seen, (tmp_path / "job.log").read_text()[-3000:]
        time.sleep(3)
        assert watch.scan() == []
        return seen
    finally:
        stop_job(job)


def test_logs_of_earlier_runs_are_kept_and_rotated(tmp_path):
    log = tmp_path / "job.log"
    for run in range(7):
        rotate(log, keep=5).write_text(f"run {run}")
    assert log.read_text() == "run 6"
    assert [(tmp_path / f"job.log.{i}").read_text() for i in range(1, 6)] == [f"run {6 - i}" for i in range(1, 6)]
    assert not (tmp_path / "job.log.6").exists()


def vitals_record(i: int, ts: int) -> bytes:
    return json.dumps({"schema_version": 1, "type": "vitals", "reading_id": f"R-{i:03d}", "patient_id": f"P-{i % 3}",
                       "encounter_id": "E-1", "hospital_id": "H01", "unit": "ICU", "bed": f"ICU-0{i % 3}",
                       "device_id": "m", "ts": ts, "heart_rate": 70 + i % 5}).encode()


def test_a_stream_deleted_and_recreated_under_the_same_name_is_read_from_its_start(moto_endpoint, unique, tmp_path):
    """Before, positions stored for the old stream skipped the new one's records (5,980 of 6,020
    lost, without a trace). While the stream is gone the job fails loudly and restarts; once it
    is back, it sees another creation time and reads the new stream from its oldest record."""
    import pyarrow.dataset as ds

    from core import aws

    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    stream = f"recreated-{unique}"

    def put(first: int, n: int) -> None:
        now = int(time.time() * 1000)
        kinesis.put_records(StreamName=stream, Records=[
            {"Data": vitals_record(i, now - 1000 + i), "PartitionKey": f"P-{i % 3}"} for i in range(first, first + n)])

    def readings() -> set[str]:
        path = tmp_path / "lake" / "vitals"
        return set(ds.dataset(path, partitioning="hive").to_table(columns=["reading_id"]).column(0).to_pylist()) \
            if path.exists() else set()

    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    put(0, 30)
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": moto_endpoint}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": stream, "shard.discovery.interval.ms": "1000"}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(tmp_path / "lake"), "flush.interval.ms": "500"}},
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(tmp_path / "chk"),
                                                    "checkpoint.interval.ms": "1000"}},
    ]))
    logs = tmp_path / "flink"
    logs.mkdir()
    job = start_job(config, tmp_path / "job.log", flink_logs=logs)
    try:
        deadline = time.monotonic() + 120
        while len(readings()) < 30 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(readings()) == 30, (tmp_path / "job.log").read_text()[-2000:]
        time.sleep(3)  # a checkpoint holds the old stream's positions
        kinesis.delete_stream(StreamName=stream)
        watch = FatalWatch(logs)
        deadline = time.monotonic() + 60
        while not any("does not exist" in m for m in watch.scan()) and time.monotonic() < deadline:
            time.sleep(1)
        kinesis.create_stream(StreamName=stream, ShardCount=1)
        kinesis.get_waiter("stream_exists").wait(StreamName=stream)
        put(100, 20)
        deadline = time.monotonic() + 150
        while len(readings()) < 50 and time.monotonic() < deadline:
            time.sleep(1)
        assert readings() == {f"R-{i:03d}" for i in [*range(30), *range(100, 120)]}
        assert any("was recreated" in p.read_text(errors="replace") for p in logs.glob("*.log"))
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)


def test_the_job_fails_loudly_when_the_lake_bucket_does_not_exist(moto_endpoint, unique, tmp_path):
    """A lake that cannot be written for a reason that will not heal (here: no such bucket) only
    restarted the job, with the cause in a Java stack trace deep in Flink's log."""
    res = create_resources(moto_endpoint, stream_name=f"nolake-{unique}", topic_name=f"nolake-{unique}",
                           queue_name=f"nolake-{unique}")
    aws.client("kinesis", res.region, moto_endpoint).put_records(StreamName=res.stream_name, Records=[
        {"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]} for r in readings(int(time.time() * 1000))[:5]])
    config = write_job_config(tmp_path / "config.json", {
        "aws": {"endpoint.url": moto_endpoint, "region": res.region},
        "source": {"stream.name": res.stream_name}, "alerts": {"stream.name": res.alerts_stream},
        "lake": {"path": f"s3://no-such-bucket-{unique}/lake", "flush.interval.ms": "500"},
        "job": {"checkpoint.dir": str(tmp_path / "chk")}})
    assert fatal_causes(config, tmp_path) == ["FATAL: cannot write the lake's vitals table: the bucket does not exist "
                                              "(lake.path, lake.quarantine.path, aws.region) (NoSuchBucket)"]
