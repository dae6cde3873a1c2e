"""What a lake flush to S3 costs through boto3 (the job's writer) and through pyarrow's S3 filesystem.

    .venv/bin/python -m bench.lake_s3 [--rows 5000] [--flushes 20] [--repeat 3]

The job's lake writer moved from pyarrow's S3 filesystem to boto3 (``flink_app/io/objects.py``:
the AWS SDK for C++ inside the JVM crashed it at every exit). This measures both on a moto
server over HTTP on 127.0.0.1: the same journaled flush of ``vitals`` rows (journal entry and
Parquet file), ``--flushes`` of them, best of ``--repeat``, in ms a flush and µs a row. moto's
own time is in both; on AWS each PUT also waits ~10-30 ms on the network, the same for both.
Writes ``bench/results/lake_s3.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from core import aws
from flink_app.io.lake import LakeWriter, _batches, to_tuples
from infra.local.stack import MotoServer, use_local_credentials

ROOT = Path(__file__).resolve().parents[1]


class PyarrowS3Writer(LakeWriter):
    """The journaled flush as the writer did it before: pyarrow's S3FileSystem (write path only)."""

    def __init__(self, uri: str, endpoint: str):
        super().__init__(uri, "us-east-1", endpoint)
        ep = urlparse(endpoint)
        self.fs = pafs.S3FileSystem(region="us-east-1", endpoint_override=ep.netloc, scheme=ep.scheme,
                                    retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=10))

    def commit(self, table, rows, lineage, flush_no, dead=None):
        by_partition = _batches(table, rows, self.keys)
        planned = [f"{self.root}/{table}/{p}/part-{lineage}-{flush_no:010d}.parquet" for p in by_partition]
        with self.fs.open_output_stream(f"{self.root}/_journal/{table}/{lineage}/{flush_no:010d}.json") as f:
            f.write(json.dumps({"flush": flush_no, "files": planned}).encode())
        for path, batch in zip(planned, by_partition.values(), strict=True):
            pq.write_table(batch, path, filesystem=self.fs, compression="zstd")
        return planned


def timed(writer: LakeWriter, rows: list[tuple], flushes: int, repeat: int, lineage: str) -> float:
    best = float("inf")
    for r in range(repeat):
        t = time.perf_counter()
        for n in range(flushes):
            writer.commit("vitals", rows, f"{lineage}{r}", n + 1)
        best = min(best, time.perf_counter() - t)
    return best / flushes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lake_s3", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=5_000, help="rows a flush")
    p.add_argument("--flushes", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lake_s3.json")
    args = p.parse_args(argv)
    t0 = 1_795_000_000_000
    rows = to_tuples("vitals", [{"reading_id": f"R{i}", "patient_id": f"P-{i % 500:06d}", "hospital_id": "H01",
                                 "unit": "ICU", "ts": t0 + i, "heart_rate": 80.0, "spo2": 97.0}
                                for i in range(args.rows)])
    use_local_credentials()
    result: dict = {"command": f"python -m bench.lake_s3 --rows {args.rows} --flushes {args.flushes}",
                    "rows_per_flush": args.rows, "flushes": args.flushes, "ms_per_flush": {}}
    with MotoServer() as moto:
        aws.client("s3", "us-east-1", moto.endpoint).create_bucket(Bucket="bench-lake")
        writers = {"boto3 (the job's writer)": LakeWriter("s3://bench-lake/boto3", "us-east-1", moto.endpoint),
                   "pyarrow S3FileSystem (before)": PyarrowS3Writer("s3://bench-lake/pyarrow", moto.endpoint)}
        for label, writer in writers.items():
            timed(writer, rows, 2, 1, "warm")
            result["ms_per_flush"][label] = round(timed(writer, rows, args.flushes, args.repeat, "L") * 1e3, 2)
    result["us_per_row"] = {k: round(v * 1e3 / args.rows, 2) for k, v in result["ms_per_flush"].items()}
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
