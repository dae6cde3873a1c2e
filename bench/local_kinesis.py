"""What the local AWS's Kinesis costs as its stream grows: moto as it is, and with
``infra/local/kinesis_shards.py`` (what ``make run`` and the tests serve).

    .venv/bin/python -m bench.local_kinesis [--sizes 10000,50000,100000] [--batch 500]

One shard filled with 200-byte records in PutRecords of ``--batch``; at each size: one PutRecords
of ``--batch`` (ms), and one GetRecords of a consumer that has caught up (at the tail, where
every consumer of a live stream polls four times a second, and finds nothing new), each the
median of 5. Each variant runs in a process of its own
(moto's models in process, through boto3: moto's own cost, without HTTP, which is the same for
both). An hour of ``make run`` at 60x puts ~225,000 records on each of its two shards.
Writes ``bench/results/local_kinesis.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"moto as it is (before)": False, "with kinesis_shards (after)": True}


def measure(sizes: list[int], batch: int, patched: bool) -> dict:
    import boto3
    from moto import mock_aws

    if patched:
        from infra.local import kinesis_shards

        kinesis_shards.install()
    out = {}
    with mock_aws():
        k = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b")
        k.create_stream(StreamName="s", ShardCount=1)
        shard = k.list_shards(StreamName="s")["Shards"][0]["ShardId"]
        records = [{"Data": b"x" * 200, "PartitionKey": str(i)} for i in range(batch)]
        n, fill_s = 0, 0.0
        for size in sizes:
            t = time.perf_counter()
            while n < size:
                k.put_records(StreamName="s", Records=records)
                n += batch
            fill_s += time.perf_counter() - t
            puts, gets = [], []
            for _ in range(5):
                t = time.perf_counter()
                k.put_records(StreamName="s", Records=records)
                puts.append(time.perf_counter() - t)
                n += batch
                tail = k.get_shard_iterator(StreamName="s", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
                t = time.perf_counter()
                k.get_records(ShardIterator=tail, Limit=1000)
                gets.append(time.perf_counter() - t)
            out[str(size)] = {"put_records_ms": round(statistics.median(puts) * 1e3, 1),
                              "get_records_caught_up_ms": round(statistics.median(gets) * 1e3, 2),
                              "fill_s": round(fill_s, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.local_kinesis", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,50000,100000", help="records on the shard at each measurement")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--variant", choices=["before", "after"], help=argparse.SUPPRESS)  # the child process
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "local_kinesis.json")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.variant:
        print(json.dumps(measure(sizes, args.batch, args.variant == "after")))
        return 0
    result: dict = {"command": f"python -m bench.local_kinesis --sizes {args.sizes} --batch {args.batch}",
                    "batch": args.batch, "results": {}}
    for label, patched in VARIANTS.items():
        child = subprocess.run([sys.executable, "-m", "bench.local_kinesis", "--sizes", args.sizes, "--batch",
                                str(args.batch), "--variant", "after" if patched else "before"],
                               cwd=ROOT, capture_output=True, text=True, check=True)
        result["results"][label] = json.loads(child.stdout.strip().splitlines()[-1])
        print(label, json.dumps(result["results"][label]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
