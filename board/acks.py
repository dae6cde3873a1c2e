"""An acknowledgement from the board, as the job's own ``ack`` event on the readings stream.

The event is built here and checked with the job's decoder (``core.schema.events.decode``)
before it is sent, so the board can only send what the job understands. It goes on the stream
the job reads, keyed by patient like every other event of that patient, so it is ordered with
the patient's readings.
"""

from __future__ import annotations

import json
import time
import uuid

from core.schema.events import decode

ACTIONS = ("acknowledge", "silence", "resume")


def ack_event(alert: dict, by: str, *, action: str = "acknowledge", minutes: float | None = None,
              now_ms: int | None = None, ack_id: str | None = None) -> bytes:
    """The record for one answer to ``alert`` (a stored alert row); InvalidRecord if the job would refuse it."""
    if action not in ACTIONS:
        raise ValueError(f"action {action!r}: expected one of {', '.join(ACTIONS)}")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    event = {"schema_version": 1, "type": "ack", "ack_id": ack_id or uuid.uuid4().hex, "patient_id": alert["patient_id"],
             "hospital_id": alert["hospital_id"], "by": by.strip(), "ts": now_ms, "action": action,
             "alert_id": alert["episode_id"] if action == "acknowledge" else None}
    if minutes is not None:
        event["minutes"] = minutes
    data = json.dumps({k: v for k, v in event.items() if v is not None}).encode()
    decode(data, now_ms=now_ms)  # raises InvalidRecord where the job would dead-letter it
    return data


class AckSender:
    """Puts acknowledgements on the readings stream (a thin Kinesis adapter)."""

    def __init__(self, kinesis, stream_name: str):
        self.kinesis, self.stream_name = kinesis, stream_name

    def send(self, data: bytes, patient_id: str) -> str:
        return self.kinesis.put_record(StreamName=self.stream_name, Data=data, PartitionKey=patient_id)["SequenceNumber"]
