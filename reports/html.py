"""One self-contained HTML page: every report as a table, with a bar chart where one fits.

Charts are matplotlib PNGs inlined as data URIs, so the page opens offline and can be mailed.
"""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pyarrow as pa  # noqa: E402

from reports.catalog import Report  # noqa: E402

MAX_ROWS = 200
MAX_BARS = 20


def chart(table: pa.Table) -> str | None:
    """A horizontal bar chart of the first numeric column against the first text column(s), as a data URI."""
    labels = [f.name for f in table.schema if pa.types.is_string(f.type)]
    values = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    if not labels or not values or table.num_rows == 0:
        return None
    rows = table.slice(0, MAX_BARS).to_pylist()
    names = [" / ".join(str(r[c]) for c in labels[:2]) for r in rows]
    nums = [r[values[-1]] or 0 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1))
    ax.barh(names[::-1], nums[::-1], color="#3b6ea5")
    ax.set_xlabel(values[-1].replace("_", " "))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


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
    img = chart(table)
    picture = f'<img alt="{html.escape(report.title)}" src="{img}">' if img else ""
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
        img = chart(table) if board else None
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
