"""The job between faults of the network and of AWS (issue 16, item 6): nothing lost, nothing twice.

The real job talks to the local AWS (Kinesis reads, the alerts stream, its lake on S3) only through the
fault-injecting proxy on 127.0.0.1 (``infra/local/faults.py``), while a producer writes past it
straight to moto. In turn, with a few seconds of health between: HTTP 500s, throttling, connection
resets, answers lost after the work was done (a write the job cannot know succeeded), requests
swallowed with no answer, and every request 3 s late. Once the faults clear, every reading is in
the lake exactly once, every alert is in the lake once and on the alerts stream (repeats there
carry the same id: the delivery service's ledger pages each id once), and the job is still running.
The full disk and the recreated stream are in ``test_loud_failures.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from conftest import s3_table, start_job, stop_job, write_job_config
from test_exactly_once import read_alerts_stream, readings

from core import aws
from infra.local.faults import FaultProxy
from infra.local.stack import create_resources

pytestmark = pytest.mark.e2e
FAULTS = ("error", "throttle", "reset", "reset-after", "delay", "drop")  # drop last: it blocks reads for 20 s
FAULT_S, HEALTHY_S, FAULT_MAX_S = 8, 4, 60


def test_faults_between_the_job_and_aws_lose_nothing_and_repeat_nothing(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"faults-{unique}", topic_name=f"faults-{unique}",
                           queue_name=f"faults-{unique}")
    records = readings(int(time.time() * 1000) - 400 * 5000 - 60_000)
    kinesis = aws.client("kinesis", res.region, moto_endpoint)
    with FaultProxy(moto_endpoint) as proxy:
        proxy.drop_s = 25  # longer than the job's read timeout (20 s): the client gives up first
        aws.client("s3", res.region, moto_endpoint).create_bucket(Bucket=f"lake-{unique}")
        lake = f"s3://lake-{unique}/lake"

        def lake_rows(_, table):
            return s3_table(lake, table, moto_endpoint)
        config = write_job_config(tmp_path / "config.json", {
            "aws": {"endpoint.url": proxy.endpoint, "region": res.region},
            "source": {"stream.name": res.stream_name, "max.records.per.poll": "200"},
            "alerts": {"stream.name": res.alerts_stream},
            "lake": {"path": lake, "quarantine.path": f"s3://lake-{unique}/quarantine", "flush.interval.ms": "700"},
            "detection": {"delayed.after.ms": "3600000"},  # the readings are up to 35 min old: page them as live
            "job": {"checkpoint.dir": str(tmp_path / "chk"), "checkpoint.interval.ms": "1000"}})
        job = start_job(config, tmp_path / "job.log")
        done = threading.Event()

        def produce():  # straight to moto, ~60 readings/s, through every fault
            for i in range(0, len(records), 50):
                resp = kinesis.put_records(StreamName=res.stream_name, Records=[
                    {"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]} for r in records[i:i + 50]])
                assert resp["FailedRecordCount"] == 0
                time.sleep(0.8)
            done.set()

        try:
            deadline = time.monotonic() + 120
            while not lake_rows(lake, "vitals") and time.monotonic() < deadline:  # the job is up and reading
                assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
                time.sleep(0.5)
            producer = threading.Thread(target=produce, daemon=True)
            producer.start()
            for fault in FAULTS:
                time.sleep(HEALTHY_S)
                proxy.mode = fault
                time.sleep(FAULT_S)
                # Held until it has met the job: a job waiting out a restart's backoff sends nothing,
                # and a fault that meets no request proves nothing.
                deadline = time.monotonic() + FAULT_MAX_S
                while not proxy.faulted.get(fault) and time.monotonic() < deadline:
                    time.sleep(0.2)
                proxy.mode = None
                assert job.poll() is None, f"the job died on {fault}:\n{(tmp_path / 'job.log').read_text()[-3000:]}"
            producer.join(180)
            assert done.is_set()
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and len({r["reading_id"] for r in lake_rows(lake, "vitals")}) < len(records):
                assert job.poll() is None, (tmp_path / "job.log").read_text()[-3000:]
                time.sleep(1)
            time.sleep(4)  # the last alerts reach the stream
            assert job.poll() is None  # alive: each fault healed by itself, so nothing had to fail
        finally:
            stop_job(job)
    assert all(proxy.faulted.get(f) for f in FAULTS), json.dumps(proxy.faulted)  # each fault met the job
    ids = Counter(r["reading_id"] for r in lake_rows(lake, "vitals"))
    assert len(ids) == len(records), f"{len(records) - len(ids)} readings missing"
    assert [k for k, n in ids.items() if n > 1] == [], "readings written twice"
    assert lake_rows(lake, "dead_letter") == []
    alerts = Counter(r["alert_id"] for r in lake_rows(lake, "alerts"))
    on_stream = Counter(a["alert_id"] for a in read_alerts_stream(kinesis, res.alerts_stream))
    assert alerts and set(alerts) == set(on_stream) and max(alerts.values()) == 1
    print(f"\nfaults met: {proxy.faulted}; {len(alerts)} alerts, {sum(on_stream.values()) - len(on_stream)} "
          "written to the alerts stream again (same ids)")
