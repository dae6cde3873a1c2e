"""``python -m producer.requeue``: put dead-lettered records back on the stream, unchanged.

After the cause is fixed (a source corrected, a validation bug fixed in the job), the records
the job refused are read from the quarantine (``dead_letter_raw``, the records byte for byte)
and written to the readings stream again, keyed by patient as the sources key them, so the job
reads them like any other record. Which records: one day, optionally only one stage and only
those whose reason (in the lake's ``dead_letter``) contains a text. Nothing about a record's
content is printed: only counts.

  python -m producer.requeue --quarantine data/quarantine --lake data/lake --day 2026-12-02 \\
      --reason-contains "unit" --stream wardwatch-vitals --endpoint-url http://127.0.0.1:5000 [--dry-run]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from core import aws
from producer.kinesis_writer import KinesisWriter
from reports.catalog import check_day


def records(quarantine: str, lake: str, day: str, stage: str | None, reason: str | None) -> list[tuple[str, bytes]]:
    """(partition key, bytes) of the day's quarantined records that match."""
    import duckdb

    con = duckdb.connect()
    raw = f"read_parquet('{quarantine.rstrip('/')}/dead_letter_raw/dt={day}/*/*.parquet', union_by_name = true)"
    if not list(Path(quarantine, "dead_letter_raw", f"dt={day}").glob("*/*.parquet")):
        return []
    where, params = ["TRUE"], []
    if stage:
        where.append("r.stage = ?")
        params.append(stage)
    join = ""
    if reason:
        join = (f"JOIN read_parquet('{lake.rstrip('/')}/dead_letter/dt={day}/*/*.parquet', union_by_name = true) d "
                "USING (raw_id)")
        where.append("strpos(d.reason, ?) > 0")
        params.append(reason)
    rows = con.execute(f"SELECT DISTINCT r.raw_id, r.payload, r.kinesis_seq FROM {raw} r {join} WHERE "
                       f"{' AND '.join(where)} ORDER BY r.kinesis_seq, r.raw_id", params).fetchall()
    out = []
    for raw_id, payload, _ in rows:
        data = base64.b64decode(payload[7:]) if payload.startswith("base64:") else payload.encode("utf-8", "surrogatepass")
        out.append((partition_key(data, raw_id), data))
    return out


def partition_key(data: bytes, fallback: str) -> str:
    """The patient, as the sources key records, when the record names one; else the raw id."""
    try:
        obj = json.loads(data)
    except ValueError:
        return fallback
    pid = obj.get("patient_id") if isinstance(obj, dict) else None
    return pid if isinstance(pid, str) and 0 < len(pid) <= 256 else fallback


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m producer.requeue", description=__doc__.splitlines()[0])
    p.add_argument("--quarantine", default="data/quarantine", help="the quarantine folder (lake.quarantine.path)")
    p.add_argument("--lake", default="data/lake", help="the curated lake (for --reason-contains)")
    p.add_argument("--day", required=True, help="UTC day the records were refused, YYYY-MM-DD")
    p.add_argument("--stage", choices=("parse", "validate", "enrich"), help="only dead letters of this stage")
    p.add_argument("--reason-contains", help="only dead letters whose reason contains this text")
    p.add_argument("--stream", default="wardwatch-vitals")
    p.add_argument("--endpoint-url", default="", help="the local moto server; empty on AWS")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--dry-run", action="store_true", help="count what would be requeued, send nothing")
    args = p.parse_args(argv)
    try:
        day = check_day(args.day)
    except ValueError as exc:
        print(f"requeue: {exc}", file=sys.stderr)
        return 2
    found = records(args.quarantine, args.lake, day, args.stage, args.reason_contains)
    if args.dry_run or not found:
        print(f"requeue: {len(found)} quarantined record(s) of {day} match" + (" (dry run: nothing sent)" if found else ""))
        return 0
    writer = KinesisWriter(aws.client("kinesis", args.region, args.endpoint_url), args.stream)
    for key, data in found:
        writer.put(key, data)
    writer.flush()
    failed = len(writer.stats.failed)
    print(f"requeue: {writer.stats.records_sent} record(s) of {day} put back on {args.stream}, {failed} failed")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
