"""Kinesis writer and shard reader against a real moto server over HTTP."""

from __future__ import annotations

import json
import time
from datetime import datetime

from core import aws
from core.kinesis_reader import SHARD_END, KinesisShardReader
from producer.kinesis_writer import KinesisWriter


class ThrottlingKinesis:
    """Wraps a real (moto) client and fails every third PutRecords entry on the first two
    attempts with ProvisionedThroughputExceededException: moto never throttles, so the
    throttling is injected here; the records that do go through are really written to moto."""

    def __init__(self, client):
        self.client = client
        self.calls = 0

    def put_records(self, StreamName, Records):
        self.calls += 1
        keep, results = [], []
        for i, rec in enumerate(Records):
            if self.calls <= 2 and i % 3 == 0:
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"})
            else:
                keep.append(rec)
                results.append(None)
        real = iter(self.client.put_records(StreamName=StreamName, Records=keep)["Records"]) if keep else iter(())
        out = [r if r is not None else next(real) for r in results]
        return {"FailedRecordCount": sum("ErrorCode" in r for r in out), "Records": out}


def new_stream(endpoint: str, name: str, shards: int = 1):
    """A client and a fresh stream on the moto server."""
    client = aws.client("kinesis", "us-east-1", endpoint)
    client.create_stream(StreamName=name, ShardCount=shards)
    client.get_waiter("stream_exists").wait(StreamName=name)
    return client


def read_all(client, stream: str) -> list[bytes]:
    reader = KinesisShardReader(client, stream)
    data = []
    for shard in reader.list_shards():
        position = None
        while True:
            res = reader.poll(shard["ShardId"], position)
            data += [r.data for r in res.records]
            if not res.records:
                break
            position = res.position
    return data


def test_writer_with_throttling_delivers_exactly_n_distinct_records(moto_endpoint, unique):
    stream = f"w-{unique}"
    client = new_stream(moto_endpoint, stream, 2)
    throttling = ThrottlingKinesis(client)
    writer = KinesisWriter(throttling, stream, base_delay_s=0.001)
    n = 1234
    for i in range(n):
        writer.put(f"P-{i % 50}", json.dumps({"i": i}).encode())
    writer.flush()
    assert writer.stats.failed == [] and writer.stats.records_sent == n
    assert writer.stats.throttled_entries > 0 and writer.stats.retried_entries > 0
    got = [json.loads(d)["i"] for d in read_all(client, stream)]
    assert len(got) == n and sorted(got) == list(range(n))


def test_reader_resumes_after_a_sequence_number(moto_endpoint, unique):
    stream = f"r-{unique}"
    client = new_stream(moto_endpoint, stream, 1)
    for i in range(10):
        client.put_record(StreamName=stream, Data=str(i).encode(), PartitionKey="k")
    shard = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    reader = KinesisShardReader(client, stream, limit=4)
    first = reader.poll(shard, None)
    assert [r.data for r in first.records] == [b"0", b"1", b"2", b"3"]
    # A new reader (as after a restore) continues right after the stored position.
    fresh = KinesisShardReader(client, stream, limit=100)
    rest = fresh.poll(shard, first.position)
    assert [r.data for r in rest.records] == [str(i).encode() for i in range(4, 10)]
    assert rest.millis_behind is not None


def test_reader_latest_skips_history_and_closed_shard_ends(moto_endpoint, unique):
    stream = f"l-{unique}"
    client = new_stream(moto_endpoint, stream, 1)
    client.put_record(StreamName=stream, Data=b"old", PartitionKey="k")
    shard = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    reader = KinesisShardReader(client, stream, initial_position="LATEST")
    assert reader.poll(shard, None).records == []
    client.put_record(StreamName=stream, Data=b"new", PartitionKey="k")
    assert [r.data for r in reader.poll(shard, None).records] == [b"new"]
    assert reader.poll(shard, SHARD_END).position == SHARD_END


def test_resharding_reads_parents_before_children(moto_endpoint, unique):
    from core.kinesis_reader import StreamPoller

    stream = f"rs-{unique}"
    client = new_stream(moto_endpoint, stream, 1)
    for i in range(30):
        client.put_record(StreamName=stream, Data=f"a{i}".encode(), PartitionKey=f"k{i % 3}")
    parent = client.list_shards(StreamName=stream)["Shards"][0]
    mid = (int(parent["HashKeyRange"]["StartingHashKey"]) + int(parent["HashKeyRange"]["EndingHashKey"])) // 2
    client.split_shard(StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(mid))
    for i in range(30):
        client.put_record(StreamName=stream, Data=f"b{i}".encode(), PartitionKey=f"k{i % 3}")
    poller = StreamPoller(KinesisShardReader(client, stream, limit=7), discovery_interval_s=0)
    positions: dict = {}
    order = []
    for _ in range(40):
        eligible = poller.eligible(positions) if poller.shards else []
        records, changed = poller.poll_round(positions)
        positions.update(changed)
        order += [r.data.decode() for r in records]
        if eligible:
            assert len(eligible) == 1 or positions.get(parent["ShardId"]) == SHARD_END
    assert positions[parent["ShardId"]] == SHARD_END
    assert sorted(order) == sorted([f"a{i}" for i in range(30)] + [f"b{i}" for i in range(30)])
    first_b = min(i for i, d in enumerate(order) if d.startswith("b"))
    assert all(d.startswith("a") for d in order[:first_b]) and len(order[:first_b]) == 30


def test_read_ahead_overlaps_rounds_and_never_moves_positions_by_itself(moto_endpoint, unique):
    from core.kinesis_reader import StreamPoller

    stream = f"ra-{unique}"
    client = new_stream(moto_endpoint, stream, 1)
    client.put_records(StreamName=stream, Records=[{"Data": f"r{i}".encode(), "PartitionKey": "p"} for i in range(25)])
    calls = []

    class Counting(KinesisShardReader):
        def poll(self, shard_id, position):
            calls.append(position)
            return super().poll(shard_id, position)

    poller = StreamPoller(Counting(client, stream, limit=10), min_call_interval_s=0)
    positions: dict = {}
    records, changed = poller.poll_round(positions)
    assert [r.data for r in records] == [f"r{i}".encode() for i in range(10)]
    poller._ahead[1].result()  # a full batch: the next round was fetched in the background
    assert len(calls) == 2 and positions == {}  # ... without moving the caller's positions
    positions.update(changed)
    records, changed = poller.poll_round(positions)  # taken from the read-ahead
    assert [r.data for r in records] == [f"r{i}".encode() for i in range(10, 20)] and len(calls) >= 2
    # The caller goes back (a restore to the first round's position): the read-ahead is dropped.
    before = len(calls)
    records, _ = poller.poll_round(dict(positions))
    assert [r.data for r in records] == [f"r{i}".encode() for i in range(10, 20)]
    assert len(calls) > before


def test_a_shard_behind_is_not_overtaken_by_another(moto_endpoint, unique):
    """Issue 16 (a reprocessed day, a catch-up): a full batch of a dense shard spans less time than
    one of a sparse shard. Handed out as read, the sparse shard ran ahead, the job's watermark
    followed it, and the dense shard's next records came late (109 readings of a reprocessed day
    once the wall-clock deadlines waited). Rounds are now aligned on arrival time: nothing handed
    out is older than what an earlier round handed out, and a restore from the positions handed
    out loses nothing that was held."""
    from core.kinesis_reader import StreamPoller

    stream = f"al-{unique}"
    client = new_stream(moto_endpoint, stream, 2)
    shards = sorted(client.list_shards(StreamName=stream)["Shards"], key=lambda sh: int(sh["HashKeyRange"]["StartingHashKey"]))
    hash_key = {0: shards[0]["HashKeyRange"]["StartingHashKey"], 1: shards[1]["HashKeyRange"]["StartingHashKey"]}
    for i in range(30):  # each step: three records on the dense shard, one on the sparse one
        client.put_records(StreamName=stream, Records=[
            {"Data": f"{shard}-{i}-{k}".encode(), "PartitionKey": "p", "ExplicitHashKey": hash_key[shard]}
            for shard, k in ((0, 0), (0, 1), (0, 2), (1, 0))])
        time.sleep(0.01)

    def drain(poller, positions, rounds=40):
        out = []
        for _ in range(rounds):
            records, changed = poller.poll_round(positions)
            positions.update(changed)
            out.append(records)
        return out

    def overtaken(rounds) -> int:
        """Records older (by arrival) than something an earlier round handed out."""
        newest, n = 0, 0
        for records in rounds:
            n += sum(r.arrival_ms < newest for r in records)
            newest = max([newest, *(r.arrival_ms for r in records)])
        return n

    def poller(align=True):
        return StreamPoller(KinesisShardReader(client, stream, limit=10), discovery_interval_s=0,
                            min_call_interval_s=0, read_ahead=False, align=align)

    unaligned = drain(poller(align=False), {})
    assert overtaken(unaligned) > 0  # as before: the sparse shard's first batch ran 20 steps ahead
    rounds = drain(poller(), {})
    assert overtaken(rounds) == 0
    everything = sorted(r.data for rs in unaligned for r in rs)
    assert len(set(everything)) == 120 and sorted(r.data for rs in rounds for r in rs) == everything
    # Stop after two rounds (records held) and restore from the positions handed out: nothing lost, nothing twice.
    positions: dict = {}
    first = [r.data for rs in drain(poller(), positions, rounds=2) for r in rs]
    rest = [r.data for rs in drain(poller(), dict(positions)) for r in rs]
    assert len(first) < 40 and sorted(first + rest) == everything


def test_raw_timestamps_give_the_same_arrival_time(moto_endpoint, unique):
    stream = f"ts-{unique}"
    client = new_stream(moto_endpoint, stream, 1)
    client.put_record(StreamName=stream, Data=b"x", PartitionKey="p")
    raw = aws.client("kinesis", "us-east-1", moto_endpoint, raw_timestamps=True)
    shard = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    parsed = KinesisShardReader(client, stream).poll(shard, None).records[0]
    fast = KinesisShardReader(raw, stream).poll(shard, None).records[0]
    assert fast.arrival_ms == parsed.arrival_ms > 1_700_000_000_000
    # ... and the setting stays on that one client.
    assert isinstance(client.get_records(ShardIterator=client.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"][0]
        ["ApproximateArrivalTimestamp"], datetime)
