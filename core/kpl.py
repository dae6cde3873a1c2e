"""The Kinesis Producer Library's aggregated record format: many readings in one Kinesis record.

Why: Kinesis charges and limits per record (1,000 records/s and 1 MiB/s per shard), and a
consumer pays a fixed cost per record (the GetRecords response, its parsing). KPL producers
pack user records into one Kinesis record; KCL and Flink's Kinesis connectors unpack them.
WardWatch reads both: a record that is not aggregated passes through unchanged.

Format (KPL ``aggregation-format.md``): the 4 magic bytes ``F3 89 9A C2``, a protobuf
``AggregatedRecord``, then the MD5 digest of the protobuf bytes. The message classes are
built from the KPL's ``.proto`` declared below with the ``protobuf`` library (no protoc step).
"""

from __future__ import annotations

import hashlib

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

MAGIC = b"\xf3\x89\x9a\xc2"
DIGEST_SIZE = 16


class AggregationError(ValueError):
    """An aggregated record that cannot be unpacked; the message says why (dead-letter reason)."""


def _message_classes():
    """AggregatedRecord and its Record, as in the KPL's messages.proto (proto2)."""
    f = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="wardwatch_kpl_messages.proto", package="wardwatch.kpl",
                                               syntax="proto2")
    tag = proto.message_type.add(name="Tag")
    tag.field.add(name="key", number=1, type=f.TYPE_STRING, label=f.LABEL_REQUIRED)
    tag.field.add(name="value", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    record = proto.message_type.add(name="Record")
    record.field.add(name="partition_key_index", number=1, type=f.TYPE_UINT64, label=f.LABEL_REQUIRED)
    record.field.add(name="explicit_hash_key_index", number=2, type=f.TYPE_UINT64, label=f.LABEL_OPTIONAL)
    record.field.add(name="data", number=3, type=f.TYPE_BYTES, label=f.LABEL_REQUIRED)
    record.field.add(name="tags", number=4, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
                     type_name=".wardwatch.kpl.Tag")
    agg = proto.message_type.add(name="AggregatedRecord")
    agg.field.add(name="partition_key_table", number=1, type=f.TYPE_STRING, label=f.LABEL_REPEATED)
    agg.field.add(name="explicit_hash_key_table", number=2, type=f.TYPE_STRING, label=f.LABEL_REPEATED)
    agg.field.add(name="records", number=3, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
                  type_name=".wardwatch.kpl.Record")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("wardwatch.kpl.AggregatedRecord"))


AggregatedRecord = _message_classes()


def is_aggregated(data: bytes) -> bool:
    return data[:4] == MAGIC


def aggregate(records: list[tuple[str, bytes]]) -> bytes:
    """One Kinesis record's data holding ``(partition key, data)`` user records, in order."""
    msg = AggregatedRecord()
    keys: dict[str, int] = {}
    for key, data in records:
        index = keys.setdefault(key, len(keys))
        if index == len(msg.partition_key_table):
            msg.partition_key_table.append(key)
        msg.records.add(partition_key_index=index, data=data)
    body = msg.SerializeToString()
    return MAGIC + body + hashlib.md5(body).digest()


def deaggregate(data: bytes) -> list[bytes]:
    """The user records of an aggregated record, in order; raises ``AggregationError`` when it is corrupt."""
    body, digest = data[len(MAGIC):-DIGEST_SIZE], data[-DIGEST_SIZE:]
    if len(data) < len(MAGIC) + DIGEST_SIZE or hashlib.md5(body).digest() != digest:
        raise AggregationError("KPL aggregated record: MD5 digest does not match (truncated or corrupt)")
    msg = AggregatedRecord()
    try:
        msg.ParseFromString(body)
    except Exception as exc:  # protobuf's DecodeError; the message is what matters here
        raise AggregationError(f"KPL aggregated record: not a valid AggregatedRecord ({exc})") from None
    return [r.data for r in msg.records]
