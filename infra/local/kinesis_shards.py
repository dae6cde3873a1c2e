"""moto's Kinesis shards made to cost what Kinesis's cost: O(1) a record put, O(records read) a
GetRecords, and records gone once the stream's retention has passed.

moto 5.2.5 (pinned) keeps a shard's records in an ``OrderedDict`` keyed by sequence number and
finds the newest by ``list(records.keys())[-1]`` on every put, and a GetRecords position by
scanning from the first record. So the local AWS slowed with every record it held: a 500-record
PutRecords took 124 ms on a 10,000-record shard and 957 ms on a 100,000-record one
(``bench/local_kinesis.py``), and it kept every record for ever (+209 MB/h in the hour's soak).
A long ``make run`` fell behind on moto, not on WardWatch.

A shard's sequence numbers are consecutive integers (moto numbers each put ``newest + 1``, and
split and merge re-put into fresh shards), so a position is a dictionary lookup. Where that does
not hold (a moto that numbers otherwise) every method falls back to moto's own.

Local only: ``infra/local/moto_server.py`` installs it in the process that serves moto.
"""

from __future__ import annotations

import time

from moto.kinesis import models

_original = {}


def _newest(shard) -> int:
    return next(reversed(shard.records)) if shard.records else 0


def _oldest(shard) -> int:
    return next(iter(shard.records)) if shard.records else 0


def _span(shard) -> tuple[int, int] | None:
    """(oldest, newest) sequence number when the shard's are consecutive, else None (moto's own
    methods then answer)."""
    first, newest = _oldest(shard), _newest(shard)
    return (first, newest) if shard.records and newest - first + 1 == len(shard.records) else None


def _get_records(shard, last_sequence_id: str, limit: int | None):
    """moto's semantics (records after ``last_sequence_id``, the newest position read, and how far
    the last one returned is behind the newest), reading only the records returned."""
    records = shard.records
    if not records:
        return [], int(last_sequence_id), 0
    span = _span(shard)
    if span is None:
        return _original["get_records"](shard, last_sequence_id, limit)
    first, newest = span
    last = int(last_sequence_id)
    end = newest if not limit else min(newest, max(last, first - 1) + limit)
    results = []
    for seq in range(max(last + 1, first), end + 1):
        record = records.get(seq)
        if record is None:  # expired by a put on another thread meanwhile: Kinesis skips it too
            continue
        results.append(record)
    if not results:
        return [], last, 0
    behind = records[newest].created_at - results[-1].created_at
    return results, results[-1].sequence_number, int(behind * 1000)


def _sequence_number_at(shard, at_timestamp: float) -> int:
    """The newest record created before ``at_timestamp`` (0: none), by bisection on arrival time,
    which only grows along a shard."""
    records, span = shard.records, _span(shard)
    if span is None:
        return _original["get_sequence_number_at"](shard, at_timestamp)
    first, newest = span
    if at_timestamp <= records[first].created_at:
        return 0
    lo, hi = first, newest  # records[lo] is before at_timestamp; find the last such
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if records[mid].created_at < at_timestamp:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _expire(shard, retention_hours: float) -> None:
    """Drops the records older than the retention period from the front of a shard, as Kinesis
    does. The stream's iterators then start at the oldest record kept."""
    cutoff = time.time() - retention_hours * 3600
    records = shard.records
    while records and records[next(iter(records))].created_at < cutoff:
        records.popitem(last=False)


def _stream_put_record(stream, partition_key: str, explicit_hash_key: str, data: str):
    sequence_number, shard_id = _original["put_record"](stream, partition_key, explicit_hash_key, data)
    _expire(stream.shards[shard_id], stream.retention_period_hours)
    return sequence_number, shard_id


def install() -> None:
    """Patches moto's Shard and Stream in this process (idempotent)."""
    if _original:
        return
    _original.update(get_records=models.Shard.get_records,
                     get_sequence_number_at=models.Shard.get_sequence_number_at,
                     put_record=models.Stream.put_record)
    models.Shard.get_max_sequence_number = _newest
    models.Shard.get_min_sequence_number = _oldest
    models.Shard.get_records = _get_records
    models.Shard.get_sequence_number_at = _sequence_number_at
    models.Stream.put_record = _stream_put_record
