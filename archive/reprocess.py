"""``python -m archive.reprocess``: put a raw day back on a stream, for a job on a fresh lineage.

Why a stream and not a file source: the job then reads it exactly as it read the day the first
time (same parsing, de-aggregation, dead letters, event-time windows), with nothing to keep in
step. The records go out unchanged, with their partition keys, each shard's records in their
original order and repeats (an at-least-once delivery into the raw zone) dropped. Use a stream
of its own (``--create``), never the live one: a reprocess must not page anyone, and the job
that reads it runs with ``alerts.stream.name`` empty and ``detection.replay`` on, so it judges each
reading at its own time instead of as a days-old catch-up (docs/runbooks/reprocess-a-day.md).

The raw zone is a local folder (``data/raw``) or ``s3://bucket/prefix`` on AWS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from archive.raw_format import SUFFIX, RawFormatError, RawRecord, day_files, decode_file, replay_order
from core import aws
from core.aws import permanent_cause
from producer.kinesis_writer import KinesisWriter


def parse_hours(text: str) -> range:
    """``0-23``, ``7`` or ``6-9``: the hours (UTC) of the day to take."""
    first, _, last = text.partition("-")
    try:
        hours = range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hours {text!r}: expected H or H-H, 0..23") from None
    if not hours or hours.start < 0 or hours.stop > 24:
        raise argparse.ArgumentTypeError(f"--hours {text!r}: expected H or H-H within 0..23")
    return hours


def read_day(raw: str, day: str, hours: range, region: str, endpoint: str) -> Iterator[RawRecord]:
    if raw.startswith("s3://"):
        bucket, _, prefix = raw[5:].partition("/")
        s3 = aws.client("s3", region, endpoint)
        for hour in hours:
            kwargs = {"Bucket": bucket, "Prefix": f"{prefix.rstrip('/')}/dt={day}/hour={hour:02d}/".lstrip("/")}
            for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
                for obj in sorted(page.get("Contents", []), key=lambda o: o["Key"]):
                    if obj["Key"].endswith(SUFFIX):
                        blob = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                        yield from decode_file(blob, f"s3://{bucket}/{obj['Key']}")
    else:
        for path in day_files(Path(raw), day, hours):
            yield from decode_file(path.read_bytes(), str(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m archive.reprocess", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--raw", required=True, help="the raw zone: a folder (data/raw) or s3://bucket/raw")
    p.add_argument("--day", required=True, help="the day to reprocess, YYYY-MM-DD (UTC, by arrival in the stream)")
    p.add_argument("--hours", type=parse_hours, default=range(24), help="hours of the day, H or H-H (default 0-23)")
    p.add_argument("--stream", required=True, help="the stream to put the records on (not the live one)")
    p.add_argument("--create", type=int, metavar="SHARDS", help="create the stream first with this many shards")
    p.add_argument("--endpoint-url", default="", help="the local AWS (moto); empty on AWS")
    p.add_argument("--region", default="us-east-1")
    args = p.parse_args(argv)
    try:
        records, repeats = replay_order(read_day(args.raw, args.day, args.hours, args.region, args.endpoint_url))
    except RawFormatError as exc:
        print(f"reprocess: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"reprocess: reading {args.raw}: {permanent_cause(exc) or exc}", file=sys.stderr)
        return 2
    if not records:
        print(f"reprocess: no raw records for {args.day} hours {args.hours.start}-{args.hours.stop - 1} "
              f"under {args.raw}", file=sys.stderr)
        return 1
    kinesis = aws.client("kinesis", args.region, args.endpoint_url)
    try:
        if args.create:
            kinesis.create_stream(StreamName=args.stream, ShardCount=args.create)
            kinesis.get_waiter("stream_exists").wait(StreamName=args.stream, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        writer = KinesisWriter(kinesis, args.stream)
        for record in records:
            writer.put(record.partition_key, record.data)
        writer.flush()
    except (BotoCoreError, ClientError) as exc:
        print(f"reprocess: {permanent_cause(exc) or exc}; nothing more was put on {args.stream}", file=sys.stderr)
        return 2
    failed = len(writer.stats.failed)
    print(f"reprocess: {writer.stats.records_sent} records of {args.day} put on {args.stream} "
          f"({repeats} repeated deliveries dropped, {failed} failed)")
    print(f"reprocess: next, a job on a fresh lineage: --set source.stream.name={args.stream} --set job.lineage=<new> "
          "--set lake.path=<a lake of its own> --set alerts.stream.name= --set detection.replay=true "
          "(docs/runbooks/reprocess-a-day.md)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
