"""What the analysts' pseudonymous keys cost the lake sink: one flush, with and without them.

    .venv/bin/python -m bench.lake_keys [--rows 50000] [--patients 2000] [--repeat 5]

The sink's own path for a flush of ``vitals`` rows as the job buffers them (column-ordered
tuples without keys): keys appended (``with_keys``: none, null keys, HMAC keys), rows to Arrow,
Parquet written to a scratch folder. Best of ``--repeat``, in microseconds a row, beside the
job's per-reading budget at the 5,000 readings/s target on two cores (400 us a reading per core).
Writes ``bench/results/lake_keys.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from core.pseudonym import Pseudonymiser, new_secret
from flink_app.io.lake import LakeWriter, to_tuples, with_keys

ROOT = Path(__file__).resolve().parents[1]
BUDGET_US = 2 * 1e6 / 5000  # two cores at 5,000 readings/s


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lake_keys", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--patients", type=int, default=2_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lake_keys.json")
    args = p.parse_args(argv)
    t0 = 1_795_000_000_000
    rows = to_tuples("vitals", [{"reading_id": f"R{i}", "patient_id": f"P-{i % args.patients:06d}",
                                 "encounter_id": f"E-{i % args.patients:06d}", "hospital_id": "H01", "unit": "ICU",
                                 "ts": t0 + i, "heart_rate": 80.0, "spo2": 97.0} for i in range(args.rows)])
    keys = Pseudonymiser(bytes.fromhex(new_secret()))
    cold = Pseudonymiser(bytes.fromhex(new_secret()))
    result: dict = {"command": f"python -m bench.lake_keys --rows {args.rows} --patients {args.patients}",
                    "rows": args.rows, "patients": args.patients, "us_per_row": {}}
    us = result["us_per_row"]
    us["append null keys"] = best(lambda: with_keys("vitals", rows, None), args.repeat) / args.rows * 1e6
    us["append HMAC keys, first sight of each id"] = best(lambda: with_keys("vitals", rows, cold), 1) / args.rows * 1e6
    us["append HMAC keys"] = best(lambda: with_keys("vitals", rows, keys), args.repeat) / args.rows * 1e6
    with tempfile.TemporaryDirectory() as scratch:
        for label, writer_keys in (("whole flush, null keys (before: no keys)", None), ("whole flush, HMAC keys", keys)):
            writer = LakeWriter(scratch, keys=writer_keys)
            us[label] = best(lambda w=writer: w.write("vitals", rows, "bench"), args.repeat) / args.rows * 1e6
    result["us_per_row"] = {k: round(v, 2) for k, v in us.items()}
    result["share_of_budget_pct"] = round(100 * (us["whole flush, HMAC keys"] - us["whole flush, null keys (before: no keys)"])
                                          / BUDGET_US, 2)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
