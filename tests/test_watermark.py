"""Event time drives the windows: with the wall-clock fallback switched off, 1-minute windows
close as the watermark passes them.

A batch's timestamp is its earliest reading (job.EventTime), so the watermark reflects a batch
once a later one arrives; a patient's minute closes on an event-time timer as that watermark
passes it (or on the wall-clock deadline, switched off here). So: 18 readings over six minutes,
then one at 06:30 (the watermark moves to 06:25: minutes 0-5 close), then one at 06:40.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import start_job, write_job_config

from core import aws
from infra.local.stack import create_resources
from tests.test_e2e_pipeline import read_table, reading

pytestmark = pytest.mark.e2e


def run_job(res, tmp_path: Path, idle_close_ms: int) -> tuple[subprocess.Popen, Path, Path]:
    """The real job on ``res``'s stream: (process, its lake, its log)."""
    lake, log = tmp_path / "lake", tmp_path / "job.log"
    config = write_job_config(tmp_path / "config.json", {
        "aws": {"endpoint.url": res.endpoint, "region": res.region}, "source": {"stream.name": res.stream_name},
        "lake": {"path": str(lake), "flush.interval.ms": "500"}, "windows": {"idle.close.ms": str(idle_close_ms)},
        "job": {"checkpoint.dir": str(tmp_path / "chk")}})
    return start_job(config, log), lake, log


def test_windows_close_on_the_watermark(moto_endpoint, unique, tmp_path):
    res = create_resources(moto_endpoint, stream_name=f"wm-{unique}", topic_name=f"wm-{unique}",
                           queue_name=f"wm-{unique}")
    base = (int(time.time()) // 60 - 30) * 60_000
    # One patient, one reading every 20 s for six minutes of event time.
    records = [reading(i, base + i * 20_000, "P-1", "ICU-01", heart_rate=80, spo2=97) for i in range(18)]
    kinesis = aws.client("kinesis", res.region, res.endpoint)
    kinesis.put_records(StreamName=res.stream_name,
                        Records=[{"Data": json.dumps(r).encode(), "PartitionKey": "P-1"} for r in records])
    job, lake, log = run_job(res, tmp_path, idle_close_ms=3_600_000)  # no wall-clock closing
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


def test_unit_load_has_every_minute_that_vitals_1m_has(moto_endpoint, unique, tmp_path):
    """A unit window must not close before its patients' minutes are in (issue 16, item 7).

    Sixteen minutes of a unit read faster than they happened, as a reprocess reads a raw day: a
    monitor every 10 s and a wearable that reports every 10 minutes. Before, a patient's minute left
    only with the patient's next batch (or on a wall-clock deadline, long here), while the unit
    window closed on the watermark two minutes past its end: the wearable's minute arrived after its
    unit window had closed and was dropped (counted in lateMinutes only), so what unit_load_5m held
    depended on how fast the stream was read, and a reprocessed day did not rebuild it."""
    res = create_resources(moto_endpoint, stream_name=f"ul-{unique}", topic_name=f"ul-{unique}",
                           queue_name=f"ul-{unique}")
    base = (int(time.time()) // 300 - 6) * 300_000  # a unit window's start, half an hour ago
    by_minute: dict[int, list[dict]] = {}
    for i in range(16 * 6):
        by_minute.setdefault(i // 6, []).append(reading(i, base + i * 10_000, "P-1", "ICU-01", heart_rate=80, spo2=97))
    for k in range(2):
        by_minute[10 * k].append(reading(200 + k, base + 20_000 + k * 600_000, "P-2", "ICU-02", heart_rate=90, spo2=95))
    kinesis = aws.client("kinesis", res.region, res.endpoint)

    def put(minute: int) -> None:
        rows = by_minute[minute]
        resp = kinesis.put_records(StreamName=res.stream_name, Records=[
            {"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]} for r in rows])
        assert resp["FailedRecordCount"] == 0

    # Wall-clock closing well after the test's pace: the watermark closes what is compared.
    job, lake, log = run_job(res, tmp_path, idle_close_ms=120_000)
    compared = [base, base + 300_000]  # the unit windows the watermark closes (it reaches 14:55)
    total = sum(len(rows) for rows in by_minute.values())
    try:
        put(0)
        deadline = time.monotonic() + 180
        while not read_table(lake, "vitals"):  # the job is reading: the rest comes at 30x its pace
            assert job.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        for minute in range(1, 16):
            put(minute)
            time.sleep(2)
        settled = None
        while time.monotonic() < deadline:
            assert job.poll() is None, log.read_text()[-3000:]
            closed = {int(u["window_start"].timestamp() * 1000) for u in read_table(lake, "unit_load_5m")}
            if len(read_table(lake, "vitals")) == total and set(compared) <= closed:
                settled = settled or time.monotonic()
                if time.monotonic() - settled > 5:  # anything more would be in by now
                    break
            time.sleep(1)
        minutes, loads = read_table(lake, "vitals_1m"), read_table(lake, "unit_load_5m")
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)
    ms = [(int(m["window_start"].timestamp() * 1000), m) for m in minutes]
    for start in compared:
        [load] = [u for u in loads if u["window_start"].timestamp() * 1000 == start]
        inside = [m for t, m in ms if start <= t < start + 300_000]
        assert (load["readings"], load["patients"]) == (sum(m["readings"] for m in inside),
                                                        len({m["patient_id"] for m in inside})), start
    # The wearable's first minute is in vitals_1m, and so in the first unit window.
    assert [m["readings"] for t, m in ms if m["patient_id"] == "P-2" and t < base + 300_000] == [1]
    assert [u["patients"] for u in loads if u["window_start"].timestamp() * 1000 == base] == [2]

