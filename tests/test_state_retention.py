"""Per-patient state does not grow with patient churn: a discharge frees it, and so does silence.

Before, every patient ever seen kept its keyed state (values, history, limits) for as long as
the job ran; with patients admitted and discharged all day, state only grew.
"""

from __future__ import annotations

import json
import os
import signal
import time

from conftest import start_job

from core.config import Config
from core.detect import PatientState
from core.patient_path import PatientPath
from core.schema.events import decode

FULL = {"heart_rate": 72, "respiratory_rate": 14, "spo2": 97, "systolic_bp": 124, "temperature_c": 36.8,
        "consciousness": "A", "on_oxygen": False}


def reading(pid: str, i: int, ts: int, **vitals) -> dict:
    return {"schema_version": 1, "type": "vitals", "reading_id": f"R-{pid}-{i}", "patient_id": pid, "encounter_id": "E-1",
            "hospital_id": "H01", "unit": "Ward-A", "bed": "Ward-A-01", "device_id": "d", "ts": ts, **vitals}


def test_a_discharge_frees_the_patients_state_and_a_readmission_starts_afresh():
    path = PatientPath(Config().as_dict())
    state = PatientState()
    now = int(time.time() * 1000) - 60_000
    for event in (reading("P-1", 1, now, **FULL),
                  {"schema_version": 1, "type": "encounter", "event_id": "d1", "event": "discharge", "patient_id": "P-1",
                   "encounter_id": "E-1", "hospital_id": "H01", "ts": now + 1000, "unit": "Ward-A", "bed": "Ward-A-01"}):
        path.handle(state, decode(json.dumps(event)), ("s", "1", now, now))
    assert state == PatientState()  # nothing of the stay is kept
    _, row, _ = path.handle(state, decode(json.dumps(reading("P-1", 2, now + 2000, heart_rate=80))), ("s", "2", now, now))
    assert row["news2_carried"] == [] and row["news2_total"] is None  # no values carried across the stay


def test_a_silent_patient_is_forgotten_after_the_state_ttl(moto_endpoint, unique, tmp_path):
    """The real job with job.patient.state.ttl.ms = 60 s: a patient silent longer than that has no
    carry-forward any more (its state was freed); one heard from within it still has."""
    import pyarrow.dataset as ds

    from core import aws

    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    stream = f"ttl-{unique}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)

    def put(*records: dict) -> None:
        kinesis.put_records(StreamName=stream, Records=[{"Data": json.dumps(r).encode(), "PartitionKey": r["patient_id"]}
                                                        for r in records])

    def rows() -> dict[str, dict]:
        path = tmp_path / "lake" / "vitals"
        return {r["reading_id"]: r for r in ds.dataset(path, partitioning="hive").to_table().to_pylist()} \
            if path.exists() else {}

    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": moto_endpoint}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": stream}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(tmp_path / "lake"), "flush.interval.ms": "500"}},
        {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(tmp_path / "chk"),
                                                    "patient.state.ttl.ms": "60000"}},
    ]))
    job = start_job(config, tmp_path / "job.log")
    try:
        t0 = int(time.time() * 1000)
        put(reading("P-quiet", 1, t0, **FULL), reading("P-heard", 1, t0, **FULL))
        deadline = time.monotonic() + 90
        while len(rows()) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(rows()) == 2, (tmp_path / "job.log").read_text()[-2000:]
        time.sleep(40)
        put(reading("P-heard", 2, t0 + 40_000, heart_rate=75))  # within the TTL: remembered
        time.sleep(35)  # P-quiet has now been silent for more than 60 s
        put(reading("P-quiet", 2, t0 + 75_000, heart_rate=75), reading("P-heard", 3, t0 + 75_000, heart_rate=76))
        deadline = time.monotonic() + 60
        while len(rows()) < 5 and time.monotonic() < deadline:
            time.sleep(1)
        got = rows()
        assert got["R-P-heard-3"]["news2_total"] is not None and got["R-P-heard-3"]["news2_carried"]
        assert got["R-P-quiet-2"]["news2_carried"] == [] and got["R-P-quiet-2"]["news2_total"] is None
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)
