"""The local raw zone: what Firehose does on AWS, for ``make run`` and the tests.

A second consumer of the readings stream (the job is the first), polling every shard with the
job's own reader (``core/kinesis_reader.py``: parents before children after a reshard),
de-aggregating KPL records as Firehose does, and writing the lines of ``archive/raw_format.py``
into ``<raw>/dt=/hour=/`` files every ``flush_s`` seconds, each file written whole and then
renamed into place. Positions are saved after the files they cover, so a crash repeats records
rather than losing them (Firehose is at-least-once too); the reprocess step drops the repeats.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path

from archive.raw_format import SUFFIX, RawRecord, encode_file, partition
from core import kpl
from core.aws import permanent_cause
from core.kinesis_reader import KinesisRecord, StreamPoller

log = logging.getLogger("archive")


def raw_records(record: KinesisRecord) -> list[RawRecord]:
    """A Kinesis record as Firehose hands it on: one per user record of a KPL aggregate, else
    itself; a damaged aggregate is kept whole (the job dead-letters it, the raw zone keeps it)."""
    if kpl.is_aggregated(record.data):
        try:
            units = kpl.deaggregate(record.data)
        except kpl.AggregationError:
            units = None
        if units is not None:
            return [RawRecord(record.arrival_ms, record.shard_id, record.sequence_number, i, record.partition_key, data)
                    for i, data in enumerate(units)]
    return [RawRecord(record.arrival_ms, record.shard_id, record.sequence_number, None, record.partition_key,
                      record.data)]


class Archiver:
    def __init__(self, poller: StreamPoller, stream: str, root: Path, state_file: Path, flush_s: float = 5.0,
                 name: str = "wardwatch-raw"):
        self.poller, self.stream, self.root, self.state_file = poller, stream, root, state_file
        self.flush_s, self.name = flush_s, name
        self.positions: dict[str, str | None] = {}
        self.pending: list[RawRecord] = []
        self.pending_positions: dict[str, str] = {}
        self.records = self.files = 0
        self.created = ""
        self.last_flush = time.monotonic()

    def resume(self) -> None:
        """Continue after the last flushed record of this stream; a stream deleted and recreated
        under the same name (another creation time) is read from its start."""
        self.created = self.poller.discover()
        state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        if state.get("stream") == self.stream and state.get("created") == self.created:
            self.positions = state["positions"]
            self.records, self.files = state.get("records", 0), state.get("files", 0)
        else:
            self.positions = {}  # the reader's initial position: TRIM_HORIZON, every record kept

    def step(self) -> int:
        created = self.poller.discover()  # refreshed with the shard list, every discovery interval
        if created != self.created:
            # Deleted and recreated under the same name: the new stream numbers its records afresh,
            # so positions kept for the old one would skip its first records. Read it from its start.
            log.warning("archive: %s was recreated; reading the new stream from its start", self.stream)
            self.flush()
            self.created, self.positions = created, {}
        records, changed = self.poller.poll_round({**self.positions, **self.pending_positions})
        for record in records:
            self.pending.extend(raw_records(record))
        self.pending_positions.update(changed)
        if time.monotonic() - self.last_flush >= self.flush_s:
            self.flush()
        return len(records)

    def flush(self) -> None:
        by_part: dict[str, list[RawRecord]] = {}
        for r in self.pending:
            by_part.setdefault(partition(r.arrival_ms), []).append(r)
        for part, records in by_part.items():
            first = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(records[0].arrival_ms / 1000))
            folder = self.root / part
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{self.name}-{first}-{uuid.uuid4().hex[:12]}{SUFFIX}"
            _write_whole(target, encode_file(records))
            self.files += 1
        self.records += len(self.pending)
        self.positions.update(self.pending_positions)
        self.pending, self.pending_positions = [], {}
        self.last_flush = time.monotonic()
        _write_whole(self.state_file, json.dumps({"stream": self.stream, "created": self.created,
                                                  "positions": self.positions, "records": self.records,
                                                  "files": self.files}).encode())

    def run(self, stop: threading.Event) -> None:
        """Archive until ``stop``; then flush what is buffered. A fault that will not heal by
        waiting (credentials, access, a missing stream) ends the archiver with its cause."""
        delay = 0.5
        while not stop.is_set():
            try:
                if not self.created:
                    self.resume()
                got = self.step()
                delay = 0.5
            except Exception as exc:
                cause = permanent_cause(exc)
                if cause:
                    self.flush()
                    raise SystemExit(f"archive: FATAL: {cause}") from exc
                log.warning("archive: reading %s failed (%s); retrying in %.0f s", self.stream, type(exc).__name__,
                            delay)
                stop.wait(delay)
                delay = min(delay * 2, 30)
                continue
            if not got:
                stop.wait(0.5)
        self.flush()


def _write_whole(path: Path, blob: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
