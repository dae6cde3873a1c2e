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


def before(records: list[KinesisRecord], cutoff_ms: int, inclusive: bool) -> int:
    """How many of a shard's records (in order) arrived before ``cutoff_ms`` (or at it, ``inclusive``)."""
    return next((i for i, r in enumerate(records)
                 if r.arrival_ms > cutoff_ms or (r.arrival_ms == cutoff_ms and not inclusive)), len(records))


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


@dataclass
class Round:
    """What one GetRecords call per shard brought: records by shard, moved positions, which shards
    were read, and which returned a full batch (more is waiting) or were throttled."""

    records: dict[str, list[KinesisRecord]]
    changed: dict[str, str]
    polled: set[str]
    full: set[str]
    throttled: set[str]


class StreamPoller:
    """One polling round over every shard of a stream, parents before children.

    After a reshard, a child shard is read only once each of its parents (ParentShardId,
    AdjacentParentShardId) has been read to its end, or has expired from the stream, so the
    records of one partition key keep their order across splits and merges. Positions are
    the caller's (Flink state); this class keeps only the cached shard list, and the records it
    holds back (below).

    Aligned shards (``align``): while the stream is behind, shards are handed out only up to the
    same arrival time. A full batch of a dense shard spans less time than one of a sparse shard;
    handed out as read, one shard ran minutes ahead of the other, the job's one watermark followed
    it, and the other shard's readings of those minutes came late and were left out of the windows
    (a reprocessed day). What lies past the slowest behind shard's last arrival is held here, not
    handed out: the caller's positions stop at the last record handed out, so a restore reads the
    held records again, and a shard that holds records is not read until the others catch up (one
    batch per shard at most is held). Live, no shard returns a full batch and nothing is held.

    Read-ahead: while the stream is behind (a shard returned a full batch), the next round is
    fetched in the background right after a round is handed out, so reading overlaps the
    processing of what was read. The caller's positions still move only when it takes a round:
    a prefetched round that is never taken (a failure, a restore) is simply read again.
    """

    def __init__(self, reader: KinesisShardReader, discovery_interval_s: float = 10.0, max_concurrent_shards: int = 8,
                 read_ahead: bool = True, min_call_interval_s: float = 0.2, align: bool = True):
        self.reader = reader
        self.discovery_interval_s = discovery_interval_s
        self.read_ahead = read_ahead
        self.align = align
        self.min_call_interval_s = min_call_interval_s  # Kinesis allows 5 GetRecords calls/s per shard
        self.shards: list[dict] = []
        self.created = ""
        self.listed_at = float("-inf")
        self.millis_behind: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent_shards, thread_name_prefix="kinesis-get-records")
        self._ahead_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kinesis-read-ahead")
        self._ahead: tuple[tuple, Future] | None = None
        self._last_round = float("-inf")
        self._handed: dict[str, str | None] | None = None  # the caller's positions once it stores a round's
        self._held: dict[str, list[KinesisRecord]] = {}  # read, not handed out (past the aligned arrival)
        self._fetched: dict[str, str] = {}  # where reading goes on, for shards read past what was handed out
        self._behind: set[str] = set()  # shards whose last read returned a full batch
        self._last_arrival: dict[str, int] = {}  # of the last record handed out, per shard

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
        if positions != self._handed:  # the first call, or the caller went back (a restore): start from its positions
            self._held, self._fetched, self._ahead = {}, {}, None
        fetch, skip = {**positions, **self._fetched}, frozenset(self._held)
        result = None
        if self._ahead is not None:
            key, future = self._ahead
            self._ahead = None
            try:
                fetched = future.result()
                if key == (tuple(sorted(fetch.items())), skip):  # else the positions moved: read again
                    result = fetched
            except Exception as exc:  # surfaced by the synchronous read below if it persists
                log.warning("read-ahead failed: %s", exc)
        if result is None:
            result = self._round(fetch, positions, skip)
        records, changed = self._hand_out(positions, result)
        if self.read_ahead and result.full:
            following, skip = {**self._handed, **self._fetched}, frozenset(self._held)
            self._ahead = ((tuple(sorted(following.items())), skip),
                           self._ahead_pool.submit(self._round, following, self._handed, skip, self._last_round))
        return records, changed

    def _hand_out(self, positions: dict[str, str | None], result: Round) -> tuple[list[KinesisRecord], dict[str, str]]:
        """The round's records up to the aligned arrival time (all of them when no shard is behind),
        and the positions of the last record handed out per shard; the rest is held."""
        self._behind = (self._behind - (result.polled - result.throttled)) | result.full
        by_shard = {s: self._held.pop(s, []) + result.records.get(s, []) for s in set(self._held) | set(result.records)}
        cut = [rs[-1].arrival_ms for s, rs in by_shard.items() if s in self._behind and rs]
        # A throttled shard that was behind has more to read: the others wait at its last record.
        cut += [self._last_arrival[s] for s in result.throttled & self._behind if s in self._last_arrival]
        take = {s: len(rs) for s, rs in by_shard.items()}
        if self.align and cut:
            # Before the cutoff, not at it: records put together share an arrival time across
            # shards, and the behind shard may have more of that moment still unread. Only when
            # that would hand out nothing (a whole batch of one moment), up to it.
            take = {s: before(rs, min(cut), inclusive=False) for s, rs in by_shard.items()}
            if not any(take.values()):
                take = {s: before(rs, min(cut), inclusive=True) for s, rs in by_shard.items()}
        out: list[KinesisRecord] = []
        handed = dict(positions)
        for shard, records in by_shard.items():
            n = take[shard]
            out += records[:n]
            if n:
                self._last_arrival[shard] = records[n - 1].arrival_ms
            if n < len(records):
                self._held[shard] = records[n:]
                if n:
                    handed[shard] = records[n - 1].sequence_number
                if shard in result.changed:
                    self._fetched[shard] = result.changed[shard]
        for shard, position in result.changed.items():
            if shard not in self._held:
                handed[shard] = position
                self._fetched.pop(shard, None)
        for shard in list(self._fetched):
            if shard not in self._held:  # its held records all went out: the caller is where reading is
                handed[shard] = self._fetched.pop(shard)
        self._handed = handed
        return out, {s: p for s, p in handed.items() if p != positions.get(s)}

    def _round(self, fetch: dict[str, str | None], positions: dict[str, str | None], skip: frozenset = frozenset(),
               not_before: float = float("-inf")) -> Round:
        """One GetRecords call per eligible shard not in ``skip``, from the ``fetch`` positions
        (eligibility by the caller's ``positions``: a parent is done once the caller has all of it)."""
        wait = not_before + self.min_call_interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_round = time.monotonic()
        self._discover()
        ending = {s["ShardId"]: s.get("SequenceNumberRange", {}).get("EndingSequenceNumber") for s in self.shards}
        shard_ids = [s for s in self.eligible(positions) if s not in skip]
        if len(shard_ids) > 1:  # GetRecords calls overlap: each waits on the network, not on the GIL
            results = list(self._pool.map(lambda s: self.reader.poll(s, fetch.get(s)), shard_ids))
        else:
            results = [self.reader.poll(s, fetch.get(s)) for s in shard_ids]
        out = Round({}, {}, set(shard_ids), set(), set())
        for shard_id, result in zip(shard_ids, results, strict=True):
            if result.records:
                out.records[shard_id] = result.records
            if result.throttled:
                out.throttled.add(shard_id)
            if len(result.records) >= self.reader.limit:
                out.full.add(shard_id)
            end = ending.get(shard_id)
            if (not result.records and not result.throttled and end is not None and result.position not in (None, SHARD_END)
                    and int(result.position) >= int(end)):
                # A closed shard read up to its ending sequence number. Kinesis says so with a null
                # NextShardIterator; some emulators (moto) never do, so check the number too.
                result.position = SHARD_END
            if result.millis_behind is not None:
                self.millis_behind[shard_id] = result.millis_behind
            if result.position is not None and result.position != fetch.get(shard_id):
                out.changed[shard_id] = result.position
                if result.position == SHARD_END:
                    self.listed_at = float("-inf")  # a shard closed: look for its children now
        return out

    @property
    def lag_ms(self) -> int:
        return max(self.millis_behind.values(), default=0)
