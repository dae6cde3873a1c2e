"""KPL aggregated records: the format, the producer's aggregating writer on moto's Kinesis."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pytest

from core import aws
from core.kpl import MAGIC, AggregationError, aggregate, deaggregate, is_aggregated
from infra.local.stack import create_resources
from producer.kinesis_writer import AggregatingWriter, KinesisWriter

# Made with aws-kinesis-agg 1.2.3 (awslabs' Python port of the KPL aggregator):
#   RecordAggregator().add_user_record("P-1", b'{"reading_id":"R-1"}'), then "P-2"/R-2, "P-1"/R-3
KPL_VECTOR = bytes.fromhex(
    "f3899ac20a03502d310a03502d321a1808001a147b2272656164696e675f6964223a22522d31227d1a1808011a147b22"
    "72656164696e675f6964223a22522d32227d1a1808001a147b2272656164696e675f6964223a22522d33227d978629e2"
    "95819dde921a32bd0bee6f3e")
VECTOR_RECORDS = [("P-1", b'{"reading_id":"R-1"}'), ("P-2", b'{"reading_id":"R-2"}'), ("P-1", b'{"reading_id":"R-3"}')]


def test_reads_what_the_kpl_aggregator_writes():
    assert is_aggregated(KPL_VECTOR)
    assert deaggregate(KPL_VECTOR) == [data for _, data in VECTOR_RECORDS]


def test_writes_what_the_kpl_aggregator_writes():
    assert aggregate(VECTOR_RECORDS) == KPL_VECTOR


def test_plain_json_is_not_aggregated():
    assert not is_aggregated(b'{"reading_id": "R-1"}')
    assert not is_aggregated(b"")


@pytest.mark.parametrize("damage, reason", [
    (lambda d: d[:-1], "MD5 digest does not match"),                 # truncated
    (lambda d: d[:10] + b"\x00" + d[11:], "MD5 digest does not match"),  # a flipped byte
    (lambda d: MAGIC + b"\xff\xff" + hashlib.md5(b"\xff\xff").digest(), "not a valid AggregatedRecord"),
    (lambda d: MAGIC + b"\x01", "MD5 digest does not match"),          # shorter than a digest
])
def test_corrupt_records_raise_with_a_reason(damage, reason):
    with pytest.raises(AggregationError, match=reason):
        deaggregate(damage(KPL_VECTOR))


def test_aggregating_writer_keeps_each_patient_on_one_shard_in_order(moto_endpoint, unique):
    res = create_resources(moto_endpoint, stream_name=f"agg-{unique}", topic_name=f"t-{unique}",
                           queue_name=f"q-{unique}", shards=4)
    client = aws.client("kinesis", res.region, res.endpoint)
    writer = AggregatingWriter(KinesisWriter(client, res.stream_name), buckets=16, max_readings=25)
    sent = [(f"P-{i % 30:02d}", f'{{"n": {i}}}'.encode()) for i in range(600)]
    for key, data in sent:
        writer.put(key, data)
    writer.flush()
    assert writer.readings_emitted == 600 and writer.readings_failed == 0
    kinesis_records = writer.writer.stats.records_sent
    assert 16 <= kinesis_records <= 600 // 25 + 16  # full aggregates plus one partial per bucket

    shards_of: dict[str, set[str]] = defaultdict(set)
    order: dict[str, list[bytes]] = defaultdict(list)
    got = 0
    for shard in client.list_shards(StreamName=res.stream_name)["Shards"]:
        it = client.get_shard_iterator(StreamName=res.stream_name, ShardId=shard["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = client.get_records(ShardIterator=it, Limit=10000)["Records"]
        got += len(records)
        for record in records:
            assert is_aggregated(record["Data"])
            for data in deaggregate(record["Data"]):
                n = int(data[6:-1])
                key = sent[n][0]
                shards_of[key].add(shard["ShardId"])
                order[key].append(data)
    assert got == kinesis_records
    assert all(len(shards) == 1 for shards in shards_of.values())
    assert {k: v for k, v in order.items()} == {
        key: [d for k, d in sent if k == key] for key in {k for k, _ in sent}}
