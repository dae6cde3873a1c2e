"""Reading Kinesis shards with boto3, resumable from a sequence number.

No Flink import: the Flink operator (``flink_app.operators.source``) keeps each shard's last
sequence number in keyed state and calls ``poll`` with it, so a restart from a checkpoint
resumes right after the last record the snapshot saw: nothing lost, nothing read twice.
"""

from __future__ import annotations

import logging
import random
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

SHARD_END = "SHARD_END"  # stored instead of a sequence number once a closed shard is drained
FROM_START = "FROM_START"  # stored for the shards of a recreated stream: read it from its oldest record
_THROTTLED = {"ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException"}


class SourceUnavailable(RuntimeError):
    """Reading cannot go on until someone acts; the job fails with this cause rather than sit silent."""


def epoch_ms(value) -> int:
    """Arrival time in ms from botocore's datetime or, with raw timestamps, epoch seconds."""
    return int((value.timestamp() if isinstance(value, datetime) else float(value)) * 1000)


@dataclass(frozen=True)
class KinesisRecord:
    shard_id: str
    sequence_number: str
    arrival_ms: int
    partition_key: str
    data: bytes


@dataclass
class PollResult:
    records: list[KinesisRecord]
    position: str | None  # the sequence number to store (last record read), SHARD_END, or unchanged
    millis_behind: int | None
    throttled: bool = False


class KinesisShardReader:
    """Polls shards of one stream; caches shard iterators so a poll is one GetRecords call."""

    def __init__(self, client, stream_name: str, initial_position: str = "TRIM_HORIZON",
                 initial_timestamp: str = "", limit: int = 1000):
        self.client = client
        self.stream_name = stream_name
        self.initial_position = initial_position
        self.initial_timestamp = datetime.fromisoformat(initial_timestamp.replace("Z", "+00:00")) if initial_timestamp else None
        self.limit = limit
        # shard id -> (iterator, the stored position it continues from)
        self._iterators: dict[str, tuple[str, str | None]] = {}
        self._backoff_until: dict[str, float] = {}
        self._backoff_s: dict[str, float] = {}

    def list_shards(self) -> list[dict]:
        shards: list[dict] = []
        kwargs: dict = {"StreamName": self.stream_name}
        while True:
            resp = self.client.list_shards(**kwargs)
            shards.extend(resp["Shards"])
            token = resp.get("NextToken")
            if not token:
                return shards
            kwargs = {"NextToken": token}

    def created(self) -> str:
        """The stream's creation time: a stream deleted and recreated under the same name has
        another, and positions stored for the old one mean nothing in it."""
        summary = self.client.describe_stream_summary(StreamName=self.stream_name)["StreamDescriptionSummary"]
        return str(summary["StreamCreationTimestamp"])

    def _new_iterator(self, shard_id: str, position: str | None) -> str:
        kwargs = {"StreamName": self.stream_name, "ShardId": shard_id}
        if position == FROM_START:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        elif position:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=position)
        elif self.initial_position == "AT_TIMESTAMP":
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=self.initial_timestamp)
        else:
            kwargs.update(ShardIteratorType=self.initial_position)
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def poll(self, shard_id: str, position: str | None) -> PollResult:
        """One GetRecords call for ``shard_id`` continuing after ``position`` (None: initial position)."""
        if position == SHARD_END:
            return PollResult([], SHARD_END, 0)
        now = time.monotonic()
        if self._backoff_until.get(shard_id, 0) > now:
            return PollResult([], position, None, throttled=True)
        cached = self._iterators.get(shard_id)
        iterator = cached[0] if cached and cached[1] == position else None
        try:
            if iterator is None:
                iterator = self._new_iterator(shard_id, position)
            resp = self.client.get_records(ShardIterator=iterator, Limit=self.limit)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _THROTTLED:
                self._throttle(shard_id)
                return PollResult([], position, None, throttled=True)
            if code == "ExpiredIteratorException":
                self._iterators.pop(shard_id, None)
                return PollResult([], position, None)
            raise
        self._backoff_s.pop(shard_id, None)
        records = [
            KinesisRecord(shard_id, r["SequenceNumber"], epoch_ms(r["ApproximateArrivalTimestamp"]),
                          r["PartitionKey"], r["Data"])
            for r in resp["Records"]
        ]
        new_position = records[-1].sequence_number if records else position
        next_iterator = resp.get("NextShardIterator")
        if next_iterator is None:
            new_position = SHARD_END  # closed shard fully read: children may start
            self._iterators.pop(shard_id, None)
        else:
            self._iterators[shard_id] = (next_iterator, new_position)
        return PollResult(records, new_position, resp.get("MillisBehindLatest"))

    def _throttle(self, shard_id: str) -> None:
        """Exponential backoff with full jitter, 0.2 s doubling to 10 s."""
        delay = min(10.0, self._backoff_s.get(shard_id, 0.1) * 2)
        self._backoff_s[shard_id] = delay
        self._backoff_until[shard_id] = time.monotonic() + random.uniform(0, delay)
        log.warning("GetRecords throttled on %s; backing off up to %.1fs", shard_id, delay)


class StreamPoller:
    """One polling round over every shard of a stream, parents before children.

    After a reshard, a child shard is read only once each of its parents (ParentShardId,
    AdjacentParentShardId) has been read to its end, or has expired from the stream, so the
    records of one partition key keep their order across splits and merges. Positions are
    the caller's (Flink state); this class keeps only the cached shard list.

    Read-ahead: while the stream is behind (a shard returned a full batch), the next round is
    fetched in the background right after a round is handed out, so reading overlaps the
    processing of what was read. The caller's positions still move only when it takes a round:
    a prefetched round that is never taken (a failure, a restore) is simply read again.
    """

    def __init__(self, reader: KinesisShardReader, discovery_interval_s: float = 10.0, max_concurrent_shards: int = 8,
                 read_ahead: bool = True, min_call_interval_s: float = 0.2):
        self.reader = reader
        self.discovery_interval_s = discovery_interval_s
        self.read_ahead = read_ahead
        self.min_call_interval_s = min_call_interval_s  # Kinesis allows 5 GetRecords calls/s per shard
        self.shards: list[dict] = []
        self.created = ""
        self.listed_at = float("-inf")
        self.millis_behind: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent_shards, thread_name_prefix="kinesis-get-records")
        self._ahead_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinesis-read-ahead")
        self._ahead: tuple[dict, Future] | None = None
        self._last_round = float("-inf")

    def _discover(self) -> None:
        now = time.monotonic()
        if now - self.listed_at >= self.discovery_interval_s:
            self.created = self.reader.created()
            self.shards = self.reader.list_shards()
            self.listed_at = now

    def discover(self) -> str:
        """The stream's identity (creation time), refreshed with the shard list."""
        self._discover()
        return self.created

    def eligible(self, positions: dict[str, str | None]) -> list[str]:
        listed = {s["ShardId"] for s in self.shards}
        out = []
        for shard in self.shards:
            parents = [p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p]
            parents_done = all(p not in listed or positions.get(p) == SHARD_END for p in parents)
            if parents_done and positions.get(shard["ShardId"]) != SHARD_END:
                out.append(shard["ShardId"])
        return out

    def poll_round(self, positions: dict[str, str | None]) -> tuple[list[KinesisRecord], dict[str, str]]:
        """(records, {shard: new position}) for one GetRecords call per eligible shard."""
        result = None
        if self._ahead is not None:
            ahead_positions, future = self._ahead
            self._ahead = None
            try:
                fetched = future.result()
                if ahead_positions == positions:  # else the caller moved (restore): read again
                    result = fetched
            except Exception as exc:  # surfaced by the synchronous read below if it persists
                log.warning("read-ahead failed: %s", exc)
        if result is None:
            result = self._round(positions)
        records, changed, full = result
        if self.read_ahead and full:
            following = {**positions, **changed}
            self._ahead = (following, self._ahead_pool.submit(self._round, following, self._last_round))
        return records, changed

    def _round(self, positions: dict[str, str | None], not_before: float = float("-inf")):
        """One round: (records, changed positions, whether any shard returned a full batch)."""
        wait = not_before + self.min_call_interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_round = time.monotonic()
        self._discover()
        records: list[KinesisRecord] = []
        changed: dict[str, str] = {}
        ending = {s["ShardId"]: s.get("SequenceNumberRange", {}).get("EndingSequenceNumber") for s in self.shards}
        shard_ids = self.eligible(positions)
        if len(shard_ids) > 1:  # GetRecords calls overlap: each waits on the network, not on the GIL
            results = list(self._pool.map(lambda s: self.reader.poll(s, positions.get(s)), shard_ids))
        else:
            results = [self.reader.poll(s, positions.get(s)) for s in shard_ids]
        for shard_id, result in zip(shard_ids, results, strict=True):
            records.extend(result.records)
            end = ending.get(shard_id)
            if (not result.records and not result.throttled and end is not None and result.position not in (None, SHARD_END)
                    and int(result.position) >= int(end)):
                # A closed shard read up to its ending sequence number. Kinesis says so with a null
                # NextShardIterator; some emulators (moto) never do, so check the number too.
                result.position = SHARD_END
            if result.millis_behind is not None:
                self.millis_behind[shard_id] = result.millis_behind
            if result.position is not None and result.position != positions.get(shard_id):
                changed[shard_id] = result.position
                if result.position == SHARD_END:
                    self.listed_at = float("-inf")  # a shard closed: look for its children now
        full = any(len(r.records) >= self.reader.limit for r in results)
        return records, changed, full

    @property
    def lag_ms(self) -> int:
        return max(self.millis_behind.values(), default=0)
