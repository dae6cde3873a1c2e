"""The raw zone's one format: a JSON line per stream record, the record's bytes in base64.

Why base64 in JSON lines rather than the bytes themselves: a record may be anything a source
sent (binary, not UTF-8, containing newlines, a damaged KPL aggregate), and the raw zone exists
for exactly the records the job could not use; only an encoding of the bytes is lossless. The
Kinesis coordinates (shard, sequence and sub-sequence number) come along, so a copy delivered
twice (Firehose and the local archiver are both at-least-once) is dropped on reprocessing.

Partitioned ``dt=YYYY-MM-DD/hour=HH`` by the record's arrival in the stream (UTC): the only
time every record has, valid or not. Files are gzip JSON lines (``.jsonl.gz``) as Firehose's
GZIP compression writes them. Plain Python: the Firehose Lambda, the local archiver and the
reprocess tool all use this module and nothing else to read or write the format.
"""

from __future__ import annotations

import base64
import gzip
import heapq
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1
SUFFIX = ".jsonl.gz"


class RawFormatError(ValueError):
    """A raw line that is not this format; the message says which line and what is wrong."""


@dataclass(frozen=True)
class RawRecord:
    arrival_ms: int  # ApproximateArrivalTimestamp of the Kinesis record
    shard_id: str
    sequence_number: str
    subsequence_number: int | None  # position in a KPL aggregate; None: the Kinesis record as it was
    partition_key: str
    data: bytes

    @property
    def identity(self) -> tuple[str, str, int, int]:
        """The same record however often it was delivered (with its arrival time: a stream
        recreated under the same name, as every local run does, numbers its records afresh)."""
        return self.shard_id, self.sequence_number, self.subsequence_number or 0, self.arrival_ms

    def shard_order(self) -> tuple[int, int]:
        seq = int(self.sequence_number) if self.sequence_number.isdigit() else 0
        return seq, self.subsequence_number or 0


def to_line(record: RawRecord) -> bytes:
    return json.dumps({
        "v": FORMAT_VERSION, "arrival_ms": record.arrival_ms, "shard_id": record.shard_id,
        "sequence_number": record.sequence_number, "subsequence_number": record.subsequence_number,
        "partition_key": record.partition_key, "data": base64.b64encode(record.data).decode("ascii"),
    }, separators=(",", ":")).encode() + b"\n"


def from_line(line: bytes, where: str = "") -> RawRecord:
    try:
        obj = json.loads(line)
        if obj.get("v") != FORMAT_VERSION:
            raise RawFormatError(f"{where}: format version {obj.get('v')!r}, expected {FORMAT_VERSION}")
        return RawRecord(int(obj["arrival_ms"]), str(obj["shard_id"]), str(obj["sequence_number"]),
                         None if obj["subsequence_number"] is None else int(obj["subsequence_number"]),
                         str(obj["partition_key"]), base64.b64decode(obj["data"], validate=True))
    except RawFormatError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RawFormatError(f"{where}: not a raw-zone line ({type(exc).__name__}: {exc})") from None


def partition_values(arrival_ms: int) -> dict[str, str]:
    """Firehose dynamic-partitioning keys (``partitionKeyFromLambda:dt`` / ``:hour``)."""
    t = time.gmtime(arrival_ms / 1000)
    return {"dt": time.strftime("%Y-%m-%d", t), "hour": time.strftime("%H", t)}


def partition(arrival_ms: int) -> str:
    values = partition_values(arrival_ms)
    return f"dt={values['dt']}/hour={values['hour']}"


def encode_file(records: Iterable[RawRecord]) -> bytes:
    return gzip.compress(b"".join(to_line(r) for r in records), mtime=0)


def decode_file(blob: bytes, where: str) -> Iterator[RawRecord]:
    """The records of one raw file. Firehose may write several gzip members into one object;
    ``gzip.decompress`` reads them all."""
    try:
        text = gzip.decompress(blob)
    except (OSError, EOFError) as exc:
        raise RawFormatError(f"{where}: not gzip ({exc})") from None
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield from_line(line, f"{where} line {n}")


def day_files(root: Path, day: str, hours: Iterable[int] = range(24)) -> list[Path]:
    """The local raw files of ``day`` (UTC), hours in order."""
    return [f for h in hours for f in sorted((root / f"dt={day}" / f"hour={h:02d}").glob(f"*{SUFFIX}"))]


def replay_order(records: Iterable[RawRecord]) -> tuple[list[RawRecord], int]:
    """(records in stream order with repeats dropped, how many repeats).

    Each shard's records in sequence order (a patient's readings share a shard: their order is
    kept exactly), the shards merged by arrival time (parents before the children of a reshard).
    """
    seen: dict[tuple, RawRecord] = {}
    repeats = 0
    for r in records:
        if r.identity in seen:
            repeats += 1
        else:
            seen[r.identity] = r
    shards: dict[str, list[RawRecord]] = {}
    for r in seen.values():
        shards.setdefault(r.shard_id, []).append(r)
    ordered = [sorted(rs, key=RawRecord.shard_order) for rs in shards.values()]
    return list(heapq.merge(*ordered, key=lambda r: r.arrival_ms)), repeats
