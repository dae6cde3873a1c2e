"""`python -m reports --day 2026-11-21`: run every report (or --report NAME) over the lake.

Writes one CSV per report and one self-contained HTML page (tables and charts inline) to
--out, with a progress line per report. The same SQL runs on Athena (infra/analytics.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv

from reports.catalog import check_day, find, load
from reports.engine import DialectError, LocalAthena
from reports.html import render


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports", description=__doc__.splitlines()[0])
    ap.add_argument("--lake", default="data/lake", help="lake root: a folder or s3://bucket/prefix")
    ap.add_argument("--day", default=datetime.now(UTC).date().isoformat(), help="report day, YYYY-MM-DD (UTC)")
    ap.add_argument("--report", action="append", help="run only this report (name or number); repeatable")
    ap.add_argument("--out", default="data/reports", help="folder for the CSVs and report.html")
    ap.add_argument("--endpoint-url", default="", help="S3 endpoint (the local moto server) for an s3:// lake")
    ap.add_argument("--list", action="store_true", help="list the reports and exit")
    ap.add_argument("--analyst", metavar="SQL",
                    help="run one query on the analyst views (no patient or encounter ids, no free text) and print CSV")
    args = ap.parse_args(argv)
    reports = load()
    if args.list:
        for r in reports:
            print(f"{r.name:40} {r.title}")
        return 0
    try:
        day = check_day(args.day)
        chosen = [find(n, reports) for n in args.report] if args.report else reports
    except (ValueError, KeyError) as exc:
        print(f"reports: {exc}", file=sys.stderr)
        return 2
    if not args.lake.startswith("s3://") and not Path(args.lake).is_dir():
        print(f"reports: no lake at {args.lake} (run `make run` first, or pass --lake)", file=sys.stderr)
        return 2
    engine = LocalAthena(args.lake, endpoint_url=args.endpoint_url)
    if args.analyst:
        try:
            pacsv.write_csv(engine.analyst_query(args.analyst), sys.stdout.buffer)
        except (DialectError, duckdb.Error) as exc:
            print(f"reports: {exc}", file=sys.stderr)
            return 1
        return 0
    days = engine.days()
    if day not in days:  # 27 empty CSVs would look like a quiet day; an absent day is not one
        listed = ", ".join(days[-14:]) if days else "none (the lake is empty)"
        print(f"reports: the lake {args.lake} has no data for {day}; days with data: {listed}", file=sys.stderr)
        return 1
    out = Path(args.out) / day
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for i, report in enumerate(chosen, 1):
        t0 = time.perf_counter()
        print(f"[{i:2}/{len(chosen)}] {report.title} …", end=" ", flush=True)
        try:
            table = engine.run(report, day)
        except DialectError as exc:
            print(f"refused: {exc}")
            return 1
        pacsv.write_csv(table, out / f"{report.name}.csv")
        results.append((report, table))
        print(f"{table.num_rows} rows, {time.perf_counter() - t0:.2f} s")
    html = out / "report.html"
    html.write_text(render(day, results, args.lake))
    print(f"CSV files and {html} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
