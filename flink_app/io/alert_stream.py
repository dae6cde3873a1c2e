"""Writing alerts to the alerts Kinesis stream, where the delivery service (``alerts/``) reads them.

At least once: a record the stream has not taken is retried until ``alerts.put.timeout.ms``;
past it the task fails, and Flink's restart replays from the last checkpoint, which raises the
alert again (same ids). Repeats are the delivery's to drop (its ledger and page ids), so the job
never waits on SNS, a pager or a ledger.
"""

from __future__ import annotations

import random
import time

from botocore.exceptions import BotoCoreError, ClientError

from core.schema.events import Alert, encode

MAX_BATCH = 500  # PutRecords takes up to 500 records per call


class AlertStreamUnavailable(RuntimeError):
    """The alerts stream did not take a record within the timeout: fail the task, replay, write again."""


class AlertStream:
    def __init__(self, client, stream_name: str, timeout_ms: int):
        self.client = client
        self.stream_name = stream_name
        self.timeout_ms = timeout_ms

    def put(self, alerts: list[Alert]) -> list[str]:
        """Write every alert (partition key: patient); their sequence numbers, in order."""
        out: list[str] = [""] * len(alerts)
        todo = list(range(len(alerts)))
        deadline = time.monotonic() + self.timeout_ms / 1000
        attempt, last = 0, ""
        while todo:
            batch = todo[:MAX_BATCH]
            try:
                resp = self.client.put_records(StreamName=self.stream_name, Records=[
                    {"Data": encode(alerts[i]), "PartitionKey": alerts[i].patient_id} for i in batch])
                failed = []
                for i, result in zip(batch, resp["Records"], strict=True):
                    if "SequenceNumber" in result:
                        out[i] = result["SequenceNumber"]
                    else:
                        failed.append(i)
                        last = f"{result.get('ErrorCode')}: {result.get('ErrorMessage', '')}"
                todo = failed + todo[MAX_BATCH:]
                if not failed:
                    attempt = 0
                    continue
            except (ClientError, BotoCoreError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            attempt += 1
            if time.monotonic() > deadline:
                raise AlertStreamUnavailable(f"alerts stream {self.stream_name} took no record for "
                                             f"{self.timeout_ms} ms (alerts.put.timeout.ms): {last[:300]}")
            time.sleep(min(2.0, random.uniform(0, 0.05 * 2 ** attempt)))
        return out
