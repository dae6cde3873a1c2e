"""The local AWS's Kinesis (moto with infra/local/kinesis_shards.py): Kinesis's costs and
retention, Kinesis's answers.

Two tests hold moto's models in this process (mock_aws) because what they check cannot be seen
over HTTP: that a put or a read does not walk the whole shard (on moto as it is, every put listed
every sequence number of its shard, so a long run slowed with each record), and that records
older than the retention expire (ageing a record needs its arrival time). The rest talks to the
real moto server over HTTP, the one make run and the other tests use.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from moto.kinesis import models

from core import aws
from infra.local import moto_server


class Unwalkable(OrderedDict):
    """A shard's records that refuse to be walked: only the first or last step is allowed."""

    def _refuse(self, *_):
        raise AssertionError("walked the whole shard")

    keys = values = items = _refuse

    def __iter__(self):
        it = super().__iter__()
        yield next(it)
        raise AssertionError("walked the whole shard")


def _shard(k, stream: str):
    backend = models.kinesis_backends["123456789012"]["us-east-1"]
    return backend.streams[stream].shards[k.list_shards(StreamName=stream)["Shards"][0]["ShardId"]]


@pytest.fixture
def local_kinesis():
    moto_server.application()  # what the moto server process does before it serves
    with mock_aws():
        k = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="local",
                         aws_secret_access_key="local")
        k.create_stream(StreamName="s", ShardCount=1)
        yield k


def test_a_put_and_a_read_at_the_tail_do_not_walk_the_shard(local_kinesis):
    k = local_kinesis
    for n in range(4):
        k.put_records(StreamName="s", Records=[{"Data": b"r", "PartitionKey": f"{n}-{i}"} for i in range(500)])
    shard = _shard(k, "s")
    shard.records = Unwalkable(shard.records)
    shard_id = shard.shard_id

    answer = k.put_records(StreamName="s", Records=[{"Data": b"new", "PartitionKey": "p"}] * 3)
    assert [r["SequenceNumber"] for r in answer["Records"]] == ["2001", "2002", "2003"]
    it = k.get_shard_iterator(StreamName="s", ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber="2000")["ShardIterator"]
    got = k.get_records(ShardIterator=it, Limit=2)
    assert [r["SequenceNumber"] for r in got["Records"]] == ["2000", "2001"]
    got = k.get_records(ShardIterator=got["NextShardIterator"])
    assert [r["Data"] for r in got["Records"]] == [b"new", b"new"] and got["MillisBehindLatest"] == 0
    k.describe_stream(StreamName="s")  # the shard's sequence range, from its ends only


def test_records_expire_after_the_stream_retention_period(local_kinesis):
    k = local_kinesis
    k.put_records(StreamName="s", Records=[{"Data": f"old{i}".encode(), "PartitionKey": "p"} for i in range(3)])
    shard = _shard(k, "s")
    for record in list(shard.records.values())[:2]:
        record.created_at -= 24 * 3600 + 1  # 24 h: the stream's retention (the minimum Kinesis allows)

    k.put_record(StreamName="s", Data=b"new", PartitionKey="p")
    it = k.get_shard_iterator(StreamName="s", ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in k.get_records(ShardIterator=it)["Records"]] == [b"old2", b"new"]
    it = k.get_shard_iterator(StreamName="s", ShardId=shard.shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                              StartingSequenceNumber="1")["ShardIterator"]  # a stored position since expired
    assert [r["SequenceNumber"] for r in k.get_records(ShardIterator=it)["Records"]] == ["3", "4"]


def test_reads_from_every_kind_of_position_over_http(moto_endpoint, unique):
    k = aws.client("kinesis", "us-east-1", moto_endpoint)
    stream = f"positions-{unique}"
    k.create_stream(StreamName=stream, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    shard_id = k.list_shards(StreamName=stream)["Shards"][0]["ShardId"]

    def read(kind: str, limit: int = 100, **extra) -> tuple[list[bytes], dict]:
        it = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=kind, **extra)["ShardIterator"]
        got = k.get_records(ShardIterator=it, Limit=limit)
        return [r["Data"] for r in got["Records"]], got

    latest = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="LATEST")["ShardIterator"]
    seqs = [r["SequenceNumber"] for r in k.put_records(
        StreamName=stream, Records=[{"Data": f"a{i}".encode(), "PartitionKey": "p"} for i in range(25)])["Records"]]
    time.sleep(0.3)
    between = datetime.now(UTC)
    time.sleep(0.3)
    k.put_records(StreamName=stream, Records=[{"Data": f"b{i}".encode(), "PartitionKey": "p"} for i in range(5)])

    paged, it = [], k.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                         ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for _ in range(4):
        got = k.get_records(ShardIterator=it, Limit=10)
        paged.append([r["Data"] for r in got["Records"]])
        it = got["NextShardIterator"]
    assert [len(p) for p in paged] == [10, 10, 10, 0]
    assert sum(paged, []) == [f"a{i}".encode() for i in range(25)] + [f"b{i}".encode() for i in range(5)]
    assert read("AT_SEQUENCE_NUMBER", 3, StartingSequenceNumber=seqs[7])[0] == [b"a7", b"a8", b"a9"]
    assert read("AFTER_SEQUENCE_NUMBER", 2, StartingSequenceNumber=seqs[7])[0] == [b"a8", b"a9"]
    assert read("AT_TIMESTAMP", Timestamp=between)[0] == [f"b{i}".encode() for i in range(5)]
    first, got = read("TRIM_HORIZON", 1)
    assert first == [b"a0"] and got["MillisBehindLatest"] >= 500  # a0 arrived >= 0.6 s before b4
    assert len(k.get_records(ShardIterator=latest)["Records"]) == 30
    assert read("LATEST")[0] == []
