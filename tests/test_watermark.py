"""Event time drives the windows: with the wall-clock fallback switched off, 1-minute windows
close as the watermark passes them.

A batch's timestamp is its earliest reading (job.EventTime), so the watermark reflects a batch
once a later one arrives; a patient's windows close when the patient's next batch sees that
watermark (or on the wall-clock deadline, switched off here). So: 18 readings over six minutes,
then one at 06:30 (the watermark moves to 06:25), then one at 06:40, which closes minutes 0-5.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import aws
from infra.local.stack import create_resources
from tests.test_e2e_pipeline import read_table, reading

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def test_windows_close_on_the_watermark(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"wm-{unique}", topic_name=f"wm-{unique}",
                           queue_name=f"wm-{unique}")
    base = (int(time.time()) // 60 - 30) * 60_000
    # One patient, one reading every 20 s for six minutes of event time.
    records = [reading(i, base + i * 20_000, "P-1", "ICU-01", heart_rate=80, spo2=97) for i in range(18)]
    kinesis = aws.client("kinesis", res.region, res.endpoint)
    kinesis.put_records(StreamName=res.stream_name,
                        Records=[{"Data": json.dumps(r).encode(), "PartitionKey": "P-1"} for r in records])
    lake = tmp_path / "lake"
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": res.endpoint, "region": res.region}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": res.stream_name}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(lake), "flush.interval.ms": "500"}},
        {"PropertyGroupId": "windows", "PropertyMap": {"idle.close.ms": "3600000"}},  # no wall-clock closing
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(tmp_path / "chk")}},
    ]))
    log = tmp_path / "job.log"
    with open(log, "wb") as out:
        job = subprocess.Popen([sys.executable, "-m", "flink_app", "--config", str(config)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    later = [reading(98, base + 6 * 60_000 + 30_000, "P-1", "ICU-01", heart_rate=80, spo2=97),
             reading(99, base + 6 * 60_000 + 40_000, "P-1", "ICU-01", heart_rate=80, spo2=97)]
    try:
        deadline = time.monotonic() + 120
        minutes = []
        while time.monotonic() < deadline and len(minutes) < 6:
            assert job.poll() is None, log.read_text()[-3000:]
            written = len(read_table(lake, "vitals"))
            if later and written == 20 - len(later):  # the previous batch is in: send the next
                kinesis.put_record(StreamName=res.stream_name, Data=json.dumps(later.pop(0)).encode(),
                                   PartitionKey="P-1")
            minutes = read_table(lake, "vitals_1m")
            time.sleep(1)
        time.sleep(2)
        minutes = read_table(lake, "vitals_1m")
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)
    # The watermark (06:30 - 5 s) has closed minutes 0-5, three readings each; minute 6 stays open.
    assert sorted(m["window_start"].timestamp() * 1000 for m in minutes) == [base + k * 60_000 for k in range(6)]
    assert all(m["readings"] == 3 and m["late_readings"] == 0 for m in minutes)
