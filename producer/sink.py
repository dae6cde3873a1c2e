"""Where produced records go: Kinesis (through KinesisWriter) or a JSON-lines file."""

from __future__ import annotations

import time
from pathlib import Path

from core import aws
from producer.kinesis_writer import AggregatingWriter, KinesisWriter


class KinesisSink:
    """Readings to Kinesis, one record each, or KPL-aggregated (``aggregate``); counts are of readings."""

    def __init__(self, stream: str, region: str, endpoint_url: str = "", aggregate: bool = False):
        self.writer = KinesisWriter(aws.client("kinesis", region, endpoint_url), stream)
        self.aggregator = AggregatingWriter(self.writer) if aggregate else None
        self.t0 = time.monotonic()

    def put(self, key: str, data: bytes) -> None:
        (self.aggregator or self.writer).put(key, data)

    def flush(self) -> None:
        (self.aggregator or self.writer).flush()

    def close(self) -> None:
        self.flush()

    def stats_dict(self) -> dict:
        s = self.writer.stats
        stats = {"sent": s.records_sent, "bytes": s.bytes_sent, "calls": s.calls, "retried": s.retried_entries,
                 "throttled": s.throttled_entries, "failed": len(s.failed)}
        if self.aggregator:
            failed = self.aggregator.readings_failed
            stats.update(kinesis_records=s.records_sent, sent=self.aggregator.readings_emitted - failed, failed=failed)
        return stats

    def describe(self) -> str:
        s = self.stats_dict()
        rate = s["sent"] / max(1e-9, time.monotonic() - self.t0)
        packed = f" in {s['kinesis_records']} KPL-aggregated records" if self.aggregator else ""
        return (f"{s['sent']} readings to Kinesis{packed} ({rate:.0f}/s), {s['retried']} retried, "
                f"{s['failed']} failed")


class FileSink:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = path.open("wb")
        self.count = 0
        self.t0 = time.monotonic()

    def put(self, key: str, data: bytes) -> None:
        self.f.write(data + b"\n")
        self.count += 1

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        self.f.close()

    def stats_dict(self) -> dict:
        return {"sent": self.count, "failed": 0}

    def describe(self) -> str:
        rate = self.count / max(1e-9, time.monotonic() - self.t0)
        return f"{self.count} records to file ({rate:.0f}/s)"
