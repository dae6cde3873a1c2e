"""Replaying real exports: JSON lines, CSV and FHIR R4 Bundles, with their original timing or faster.

Every record is turned into the stream's JSON (``events.py`` shape) and validated on the way:
a record that would be dead-lettered by the job is reported here with its reason instead.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from core.schema.events import InvalidRecord, decode
from core.schema.fhir import from_fhir

# CSV columns that hold numbers or booleans; everything else stays a string.
_NUMERIC = {"heart_rate", "respiratory_rate", "spo2", "systolic_bp", "diastolic_bp", "temperature_c", "temperature_f",
            "blood_glucose_mg_dl", "oxygen_flow_l_min", "spo2_scale", "schema_version", "age_years", "triage_level",
            "wait_minutes", "treatment_minutes", "length_of_stay_days", "amount"}
_BOOLEAN = {"on_oxygen", "pregnant", "is_emergency", "critical_condition", "readmission_30d"}


def _csv_value(name: str, raw: str):
    if raw is None or raw == "":  # an empty cell, or a short row
        return None
    if name in _NUMERIC:
        try:
            number = float(raw)
        except ValueError:
            return raw  # left as text: validation names the field and the wrong type
        return int(number) if number.is_integer() and name in ("spo2_scale", "schema_version", "age_years",
                                                                  "triage_level") else number
    if name in _BOOLEAN:
        return {"true": True, "false": False, "1": True, "0": False}.get(raw.lower(), raw)
    if name == "ts" and raw.isdigit():
        return int(raw)
    return raw


def read_records(path: Path, fmt: str | None = None, **fhir_location) -> Iterator[tuple[dict | None, str | None]]:
    """(record, None) for each usable record, (None, reason) for each rejected one."""
    fmt = fmt or {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "fhir"}.get(path.suffix.lower())
    if fmt == "jsonl":
        with path.open("rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line), None
                    except json.JSONDecodeError as exc:
                        yield None, f"line {n}: not JSON: {exc.msg}"
    elif fmt == "csv":
        with path.open(newline="", errors="replace") as f:  # a bad byte becomes U+FFFD: validation names the field
            for row in csv.DictReader(f):
                rec = {k: _csv_value(k, v) for k, v in row.items() if k}
                rec.setdefault("schema_version", 1)
                yield {k: v for k, v in rec.items() if v is not None}, None
    elif fmt == "fhir":
        try:
            resource = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield None, f"{path.name}: not a FHIR JSON document: {getattr(exc, 'msg', None) or exc.reason}"
            return
        result = from_fhir(resource, **fhir_location)
        for rid, reason in result.rejected:
            yield None, f"{rid}: {reason}" if not reason.startswith(rid) else reason
        for reading in result.readings:
            yield reading, None
    else:
        raise ValueError(f"cannot tell the format of {path}: use --format jsonl, csv or fhir")


def replay(path: Path, fmt: str | None = None, **fhir_location) -> tuple[list[dict], list[str]]:
    """Valid records sorted by timestamp, and the reasons for the rejected ones."""
    good: list[tuple[int, int, dict]] = []
    rejected: list[str] = []
    for i, (rec, reason) in enumerate(read_records(path, fmt, **fhir_location)):
        if rec is None:
            rejected.append(reason)
            continue
        try:
            event = decode(json.dumps(rec))
        except InvalidRecord as exc:
            rejected.append(f"record {i + 1}: {exc.reason}")
            continue
        if event.__dict__.get("rejected_fields"):  # sent as is: the job removes the same fields with the reasons
            rejected.append(f"record {i + 1} (sent; the job drops these fields): " + "; ".join(event.rejected_fields))
        rec["ts"] = event.ts_ms  # normalised to epoch ms, so the clock can pace it
        good.append((event.ts_ms, i, rec))
    good.sort(key=lambda t: (t[0], t[1]))
    return [rec for _, _, rec in good], rejected
