"""Writing records to Kinesis with PutRecords, within the service limits, losing nothing.

Limits (Kinesis Data Streams API reference, PutRecords): at most 500 records and 5 MiB per
call, 1 MiB per record (data plus partition key). Only the entries a call reports as failed
are sent again, with exponential backoff and full jitter; a record that still fails after the
last attempt is counted and kept in ``failed`` for the caller, never dropped silently.
"""

from __future__ import annotations

import logging
import random
import time
import zlib
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from core import kpl

log = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024


class RecordTooLarge(ValueError):
    pass


@dataclass
class WriterStats:
    records_sent: int = 0
    bytes_sent: int = 0
    calls: int = 0
    retried_entries: int = 0
    throttled_entries: int = 0
    failed: list[tuple[str, bytes, str]] = field(default_factory=list)  # (key, data, last error)


class KinesisWriter:
    def __init__(self, client, stream_name: str, max_attempts: int = 8, base_delay_s: float = 0.05,
                 max_delay_s: float = 5.0):
        self.client = client
        self.stream_name = stream_name
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.stats = WriterStats()
        self._batch: list[tuple[str, bytes]] = []
        self._batch_bytes = 0

    def put(self, partition_key: str, data: bytes) -> None:
        size = len(data) + len(partition_key.encode())
        if size > MAX_BYTES_PER_RECORD:
            raise RecordTooLarge(f"record of {size} bytes exceeds the 1 MiB Kinesis limit")
        if len(self._batch) >= MAX_RECORDS_PER_CALL or self._batch_bytes + size > MAX_BYTES_PER_CALL:
            self.flush()
        self._batch.append((partition_key, data))
        self._batch_bytes += size

    def flush(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if batch:
            self._send(batch)

    def _send(self, entries: list[tuple[str, bytes]]) -> None:
        pending = entries
        last_error = ""
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** attempt)))
                self.stats.retried_entries += len(pending)
            try:
                self.stats.calls += 1
                resp = self.client.put_records(
                    StreamName=self.stream_name,
                    Records=[{"PartitionKey": k, "Data": d} for k, d in pending],
                )
            except (ClientError, BotoCoreError) as exc:
                last_error = str(exc)
                log.warning("PutRecords call failed (attempt %d): %s", attempt + 1, exc)
                continue  # the whole call failed: every entry is still pending
            retry = []
            for entry, result in zip(pending, resp["Records"], strict=True):
                if "ErrorCode" in result:
                    if result["ErrorCode"] == "ProvisionedThroughputExceededException":
                        self.stats.throttled_entries += 1
                    last_error = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}"
                    retry.append(entry)
                else:
                    self.stats.records_sent += 1
                    self.stats.bytes_sent += len(entry[1])
            pending = retry
            if not pending:
                return
        for k, d in pending:
            self.stats.failed.append((k, d, last_error))
        log.error("%d record(s) failed after %d attempts: %s", len(pending), self.max_attempts, last_error)


class AggregatingWriter:
    """Packs readings into KPL-aggregated Kinesis records (``core/kpl.py``) before ``KinesisWriter``.

    Each patient's readings always go to the same bucket, and a bucket's records always carry
    the same partition key, so one patient's readings stay on one shard and in order (what the
    job's per-patient detection needs). A Kinesis record holds up to ``max_readings``
    readings and stays under 1 MiB. Counts are of readings, not Kinesis records.
    """

    def __init__(self, writer: KinesisWriter, buckets: int = 64, max_readings: int = 200,
                 max_bytes: int = MAX_BYTES_PER_RECORD // 2):
        self.writer = writer
        self.buckets = buckets
        self.max_readings = max_readings
        self.max_bytes = max_bytes
        self._pending: dict[int, list[tuple[str, bytes]]] = {}
        self._pending_bytes: dict[int, int] = {}
        self.readings_emitted = 0

    def put(self, partition_key: str, data: bytes) -> None:
        bucket = zlib.crc32(partition_key.encode()) % self.buckets
        size = len(data) + len(partition_key) + 16  # data, key and protobuf framing
        if size > self.max_bytes:
            raise RecordTooLarge(f"reading of {size} bytes exceeds the {self.max_bytes}-byte aggregate limit")
        if self._pending_bytes.get(bucket, 0) + size > self.max_bytes:
            self._emit(bucket)
        self._pending.setdefault(bucket, []).append((partition_key, data))
        self._pending_bytes[bucket] = self._pending_bytes.get(bucket, 0) + size
        if len(self._pending[bucket]) >= self.max_readings:
            self._emit(bucket)

    def _emit(self, bucket: int) -> None:
        readings = self._pending.pop(bucket, [])
        self._pending_bytes.pop(bucket, None)
        if readings:
            self.writer.put(f"wardwatch-agg-{bucket:04d}", kpl.aggregate(readings))
            self.readings_emitted += len(readings)

    def flush(self) -> None:
        for bucket in list(self._pending):
            self._emit(bucket)
        self.writer.flush()

    @property
    def readings_failed(self) -> int:
        return sum(len(kpl.deaggregate(data)) for _, data, _ in self.writer.stats.failed)
