"""Producer throughput: records/s generated, written to a file, and put into the local Kinesis (moto).

    .venv/bin/python -m bench.producer_throughput [--records 50000] [--patients 1000]

Writes bench/results/producer_throughput.json. Figures depend on the machine; moto's own
PutRecords handling (a Python web server) bounds the Kinesis figure locally.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from itertools import islice
from pathlib import Path

import orjson

from core import aws
from infra.local.stack import MotoServer, use_local_credentials
from producer.hospital import Simulator
from producer.sink import FileSink, KinesisSink

RESULTS = Path(__file__).resolve().parent / "results" / "producer_throughput.json"
START = 1_795_000_000_000


def events(n: int, patients: int) -> list[bytes]:
    return [orjson.dumps(e) for e in islice(Simulator(patients, 3, seed=1, start_ms=START).events(), n)]


def timed(label: str, n: int, fn) -> dict:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    out = {"what": label, "records": n, "seconds": round(dt, 3), "records_per_s": round(n / dt)}
    print(f"{label:<40} {n:>8} records in {dt:6.2f} s = {n / dt:>9,.0f} records/s")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--patients", type=int, default=1000)
    ap.add_argument("--shards", type=int, default=4)
    args = ap.parse_args()
    use_local_credentials()
    results = []
    holder: dict = {}
    results.append(timed("simulate + JSON encode", args.records,
                         lambda: holder.setdefault("data", events(args.records, args.patients))))
    data = holder["data"]
    keys = [orjson.loads(d)["patient_id"] for d in data]
    out = Path("/tmp/wardwatch-bench.jsonl")

    def to_file():
        sink = FileSink(out)
        for k, d in zip(keys, data, strict=True):
            sink.put(k, d)
        sink.close()

    results.append(timed("write JSON lines file", len(data), to_file))
    out.unlink(missing_ok=True)
    with MotoServer() as moto:
        client = aws.client("kinesis", "us-east-1", moto.endpoint)
        client.create_stream(StreamName="bench", ShardCount=args.shards)
        client.get_waiter("stream_exists").wait(StreamName="bench")
        sink = KinesisSink("bench", "us-east-1", moto.endpoint)

        def to_kinesis():
            for k, d in zip(keys, data, strict=True):
                sink.put(k, d)
            sink.close()

        r = timed(f"PutRecords into moto Kinesis ({args.shards} shards)", len(data), to_kinesis)
        r.update(sink.stats_dict())
        results.append(r)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
                                   "patients": args.patients, "results": results}, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
