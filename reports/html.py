"""One self-contained HTML page: every report as a table, with the chart its SQL file declares.

Charts are matplotlib PNGs inlined as data URIs, so the page opens offline and can be mailed.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pyarrow as pa

from reports.catalog import Report
from reports.chart import ChartData, chart_data, draw

MAX_ROWS = 200


def chart_of(report: Report, table: pa.Table) -> ChartData | None:
    """What the report's declared chart shows for these rows (None: the report declares no chart)."""
    return chart_data(table, report.chart, report.title) if report.chart else None


def figure(report: Report, table: pa.Table) -> str:
    """The chart as an <img>, with what it leaves out or why there is none, said in words."""
    data = chart_of(report, table)
    if data is None or table.num_rows == 0:  # an empty report says so once, below
        return ""
    img = draw(data)
    caption = data.caption()
    note = f"<p class=note>{html.escape(caption)}</p>" if caption else ""
    return (f'<img alt="{html.escape(report.title)}: {html.escape(data.value_name)}" src="{img}">' if img else "") + note


def _cell(value) -> str:
    if value is None:
        return '<td class="null">–</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:,.2f}</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, datetime):
        return f"<td>{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z</td>"
    return f"<td>{html.escape(str(value))}</td>"


def section(report: Report, table: pa.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    body = "".join("<tr>" + "".join(_cell(v) for v in row.values()) + "</tr>"
                   for row in table.slice(0, MAX_ROWS).to_pylist())
    picture = figure(report, table)
    more = f"<p class=note>{table.num_rows - MAX_ROWS} more rows in {report.name}.csv</p>" if table.num_rows > MAX_ROWS else ""
    empty = "<p class=note>No rows for this day.</p>" if table.num_rows == 0 else ""
    return (f'<section id="{report.name}"><h2>{html.escape(report.title)}</h2>'
            f"<p class=src>{html.escape(report.source)}</p>{picture}{empty}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}</section>")


def dashboard_of(report: Report) -> str | None:
    """The source system's dashboard a report feeds, from its ``-- source:`` line."""
    m = re.search(r"dashboard ([A-Z][A-Za-z ]+?)(?:[.;]|$)", report.source)
    return m.group(1).strip() if m else None


def dashboards(results: list[tuple[Report, pa.Table]]) -> str:
    """The dashboards of the system we replace (SOURCE_SYSTEMS A), as pictures: their reports' charts side by side."""
    boards: dict[str, list[str]] = {}
    for report, table in results:
        board = dashboard_of(report)
        data = chart_of(report, table) if board else None
        img = draw(data) if data else None
        if img:
            boards.setdefault(board, []).append(
                f'<figure><img alt="{html.escape(report.title)}" src="{img}">'
                f'<figcaption><a href="#{report.name}">{html.escape(report.title)}</a></figcaption></figure>')
    return "".join(f'<section class="board"><h2>Dashboard: {html.escape(b)}</h2><div class="row">{"".join(f)}</div></section>'
                   for b, f in boards.items())


def render(day: str, results: list[tuple[Report, pa.Table]], lake: str) -> str:
    toc = "".join(f'<li><a href="#{r.name}">{html.escape(r.title)}</a> ({t.num_rows})</li>' for r, t in results)
    sections = dashboards(results) + "".join(section(r, t) for r, t in results)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WardWatch reports {day}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:.5em 0 2em}}
td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}}th{{background:#eef}}td.num{{text-align:right}}
td.null{{color:#999}}.src,.note{{color:#555;font-size:12px}}img{{display:block;max-width:100%}}
.row{{display:flex;flex-wrap:wrap;gap:1em}}.row figure{{margin:0;max-width:48%}}figcaption{{font-size:12px}}</style></head><body>
<h1>WardWatch daily reports, {day} (UTC)</h1><p class=src>Lake: {html.escape(lake)}. Generated
{datetime.now(UTC):%Y-%m-%d %H:%M}Z by <code>python -m reports</code>; the same SQL runs on Athena.</p>
<ol>{toc}</ol>{sections}</body></html>
"""
