"""The report catalogue: one Athena (Trino) SQL file per report in ``reports/sql/``.

Each file starts with ``-- title:``, ``-- source:`` and ``-- chart:`` comments (``reports/chart.py``
says what a chart line declares). Queries take one parameter,
the report day, written ``${day}`` (YYYY-MM-DD, UTC) and filter the ``dt`` partition with it,
so each report reads only the partitions it needs. No engine import here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reports.chart import ChartSpec, parse_spec

SQL_DIR = Path(__file__).resolve().parent / "sql"
DAY = "${day}"


@dataclass(frozen=True)
class Report:
    name: str  # file stem, e.g. 07_readmission_rate
    title: str
    source: str
    sql: str  # Athena SQL with ${day}
    chart: ChartSpec | None = None
    chart_note: str = ""  # why a report has no chart

    def for_day(self, day: str) -> str:
        return self.sql.replace(DAY, check_day(day))


def check_day(day: str) -> str:
    """The day as YYYY-MM-DD; anything else is refused (it is pasted into SQL)."""
    try:
        return date.fromisoformat(day).isoformat() if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else _bad(day)
    except ValueError:
        return _bad(day)


def _bad(day: str) -> str:
    raise ValueError(f"report day {day!r}: expected YYYY-MM-DD")


def load(directory: Path = SQL_DIR) -> list[Report]:
    reports = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text()
        meta = dict(re.findall(r"^-- (title|source|chart): (.+)$", text, flags=re.M))
        for key in ("title", "chart"):
            if key not in meta:
                raise ValueError(f"{path.name}: first lines must include '-- {key}: ...'")
        try:
            spec = parse_spec(meta["chart"])
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None
        note = "" if spec else meta["chart"].strip().removeprefix("none").strip(" ()")
        reports.append(Report(path.stem, meta["title"].strip(), meta.get("source", "").strip(), text.strip(), spec, note))
    return reports


def find(name: str, reports: list[Report] | None = None) -> Report:
    reports = reports if reports is not None else load()
    matches = [r for r in reports if r.name == name or r.name.split("_", 1)[1] == name or r.name.startswith(f"{name}_")]
    if len(matches) != 1:
        raise KeyError(f"no single report named {name!r}; choose from: {', '.join(r.name for r in reports)}")
    return matches[0]
