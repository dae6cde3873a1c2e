"""The end-to-end canary: a synthetic patient who must page, every few minutes, a queue no clinician reads.

Why: every alarm on the job's own metrics can stay green while pages stop (a routing mistake, a
topic policy, a subscription filter, the delivery service's credentials). Only a page that goes
the whole way, stream -> job -> alerts stream -> delivery -> SNS -> subscriber, proves the way
is open. Each run admits a new patient in the canary hospital, sends three critical readings
10 s apart (critical is confirmed by three readings spanning 20 s, ``core/detect.py``), then
discharges the patient (the episode ends, nothing escalates, the state is freed).

Canary pages go only to the canary queue: it subscribes with a filter on the canary hospital and
unit, and every clinical subscription filters on its own hospitals and units (``infra/alerting.py``),
so a clinician never sees one. The job keeps the canary's rows out of the curated lake, in a
``canary`` folder beside it (``lake.canary.path``), so no report or dashboard counts them.

Plain Python but the handler's one boto3 call; the Lambda ships this file and ``core/canary.py``.
"""

from __future__ import annotations

import json
import os
import time

from core.canary import CANARY_BED, CANARY_HOSPITAL, CANARY_UNIT

READINGS = 3
SPACING_MS = 10_000
# Critical on SpO2 (82% < 85%) with a raised rate and breathing: NEWS2 well into the red.
VITALS = {"heart_rate": 118, "spo2": 82, "respiratory_rate": 26, "systolic_bp": 104, "diastolic_bp": 70,
          "temperature_c": 37.9, "on_oxygen": False, "consciousness": "A"}


def canary_records(now_ms: int) -> list[tuple[str, bytes]]:
    """(partition key, record) for one canary run ending at ``now_ms``: admission, three critical
    readings, discharge; a new patient each run (the id carries the run's minute)."""
    run = time.strftime("%Y%m%d%H%M", time.gmtime(now_ms / 1000))
    patient, encounter = f"CANARY-{run}", f"CANARY-E-{run}"
    start = now_ms - READINGS * SPACING_MS
    where = {"patient_id": patient, "encounter_id": encounter, "hospital_id": CANARY_HOSPITAL, "unit": CANARY_UNIT,
             "bed": CANARY_BED}

    def encounter_event(event: str, ts: int) -> dict:
        return {"schema_version": 1, "type": "encounter", "event_id": f"{encounter}-{event}", "event": event,
                "ts": ts, **where}

    records = [encounter_event("admission", start - 1000)]
    records += [{"schema_version": 1, "type": "vitals", "reading_id": f"{patient}-R{i}", "device_id": "canary",
                 "ts": start + i * SPACING_MS, **where, **VITALS} for i in range(READINGS)]
    records.append(encounter_event("discharge", now_ms))
    return [(patient, json.dumps(r, separators=(",", ":")).encode()) for r in records]


def handler(event: dict | None = None, context=None) -> dict:
    """EventBridge, every ``canary_minutes``: put one canary run on the vitals stream, in order
    (one PutRecord each, sequence-number ordered), so the readings reach the job as sent."""
    import boto3

    kinesis = boto3.client("kinesis")
    stream = os.environ["STREAM_NAME"]
    previous = None
    records = canary_records(int(time.time() * 1000))
    for key, data in records:
        kwargs = {"SequenceNumberForOrdering": previous} if previous else {}
        previous = kinesis.put_record(StreamName=stream, PartitionKey=key, Data=data, **kwargs)["SequenceNumber"]
    print(json.dumps({"canary": "sent", "records": len(records)}))  # no patient data: the canary has none
    return {"records": len(records)}
