"""A job that has written its lake to S3 stops cleanly.

The job's Python runs inside the JVM (thread mode). With the lake written through pyarrow's S3
filesystem, whose AWS SDK for C++ is never shut down there, every such JVM crashed with SIGSEGV
at exit (``pthread_mutex_lock`` in the VM thread) and left ``hs_err_pid*.log`` in the working
folder: an operator stopping the job read "A fatal error has been detected by the Java Runtime
Environment". The real job (mini-cluster) on a moto server over HTTP, stopped with SIGTERM.
"""

from __future__ import annotations

import json
import time

from conftest import ROOT, s3_table, start_job, stop_job, write_job_config
from test_exactly_once import readings

from core import aws
from infra.local.stack import create_resources

CRASH = "A fatal error has been detected by the Java Runtime Environment"


def test_a_job_that_wrote_its_lake_to_s3_exits_without_a_jvm_crash(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"exit-{unique}", topic_name=f"exit-{unique}",
                           queue_name=f"exit-{unique}")
    aws.client("s3", res.region, moto_endpoint).create_bucket(Bucket=f"exit-{unique}")
    lake = f"s3://exit-{unique}/lake"
    records = readings(int(time.time() * 1000) - 60_000)[:40]
    aws.client("kinesis", res.region, moto_endpoint).put_records(StreamName=res.stream_name, Records=[
        {"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]} for r in records])
    config = write_job_config(tmp_path / "config.json", {
        "aws": {"endpoint.url": moto_endpoint, "region": res.region},
        "source": {"stream.name": res.stream_name},
        "alerts": {"stream.name": res.alerts_stream},
        "lake": {"path": lake, "quarantine.path": f"s3://exit-{unique}/quarantine", "flush.interval.ms": "500"},
        "job": {"checkpoint.dir": str(tmp_path / "chk"), "checkpoint.interval.ms": "1000"}})
    crash_reports = set(ROOT.glob("hs_err_pid*.log"))
    log = tmp_path / "job.log"
    job = start_job(config, log)
    try:
        deadline = time.monotonic() + 120
        while len(s3_table(lake, "vitals", moto_endpoint)) < len(records) and time.monotonic() < deadline:
            assert job.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        assert len(s3_table(lake, "vitals", moto_endpoint)) == len(records)
    finally:
        stop_job(job)
    time.sleep(1)  # a crashing JVM writes its report as it dies
    assert CRASH not in log.read_text(), log.read_text()[-3000:]
    assert set(ROOT.glob("hs_err_pid*.log")) == crash_reports
