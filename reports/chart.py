"""What a report's chart shows, declared in its SQL file, and the chart drawn from it.

Each report says in a ``-- chart:`` line which columns are the bar labels, which the values
and (optionally) which column splits bars into series, e.g.::

    -- chart: label=department value=critical_cases
    -- chart: label=hospital_id,unit value=pct series=band
    -- chart: none (one row of figures: the table says it all)

Guessing from column types plotted the wrong column in 10 of 17 charts; a declaration is
checked against the report's own columns by the tests. ``chart_data`` is plain Python (what
the chart will show, and why not when it shows nothing), ``draw`` is the matplotlib part.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field

import pyarrow as pa

MAX_BARS = 20
MAX_LABEL = 40
# NEWS2 bands keep their clinical colours wherever they are a series (RCP chart colours, roughly).
BAND_COLOURS = {"low": "#2e7d32", "low-medium": "#f9a825", "medium": "#ef6c00", "high": "#c62828", "not scored": "#9e9e9e"}


@dataclass(frozen=True)
class ChartSpec:
    labels: tuple[str, ...]
    values: tuple[str, ...]  # one bar per value column (grouped), or one column split by ``series``
    series: str | None = None

    def columns(self) -> tuple[str, ...]:
        return (*self.labels, *self.values, *((self.series,) if self.series else ()))


def parse_spec(line: str) -> ChartSpec | None:
    """``label=a,b value=c [series=d]`` -> ChartSpec; ``none ...`` -> None. Anything else is refused."""
    line = line.strip()
    if line.startswith("none"):
        return None
    parts = dict(p.split("=", 1) for p in line.split() if "=" in p)
    unknown = set(parts) - {"label", "value", "series"}
    if unknown or "label" not in parts or "value" not in parts or len(parts) != len(line.split()):
        raise ValueError(f"chart line {line!r}: expected 'label=col[,col] value=col[,col] [series=col]' or 'none (why)'")
    return ChartSpec(tuple(parts["label"].split(",")), tuple(parts["value"].split(",")), parts.get("series"))


@dataclass
class ChartData:
    """What a chart shows: one label per bar group, one list of values per series (None: no bar)."""

    title: str
    value_name: str
    labels: list[str] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    total_groups: int = 0
    stacked: bool = False  # series split from one column (bands of a unit) stack; value columns stand side by side
    why_none: str | None = None  # set when there is nothing to draw, and said on the page

    @property
    def truncated(self) -> bool:
        return self.total_groups > len(self.labels)

    def caption(self) -> str:
        if self.why_none:
            return f"No chart: {self.why_none}."
        return f"First {len(self.labels)} of {self.total_groups} shown (the table has them all)." if self.truncated else ""


def plain(value) -> str:
    """A label as plain text: no mathtext (``$...$``), no control characters, at most MAX_LABEL characters."""
    text = "–" if value is None else re.sub(r"[\x00-\x1f\x7f]", " ", str(value))
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def chart_data(table: pa.Table, spec: ChartSpec, title: str) -> ChartData:
    missing = [c for c in spec.columns() if c not in table.column_names]
    if missing:
        raise ValueError(f"{title}: chart names columns the report does not have: {', '.join(missing)}")
    value_name = " / ".join(v.replace("_", " ") for v in spec.values)
    data = ChartData(title, value_name, stacked=spec.series is not None)
    rows = table.to_pylist()
    if not rows:
        data.why_none = "no rows for this day"
        return data
    if all(r[v] is None for r in rows for v in spec.values):
        data.why_none = f"every {value_name} is empty"
        return data
    groups: dict[tuple, dict[str, float | None]] = {}
    for r in rows:  # rows keep the report's order; a label seen again adds its series to the same group
        key = tuple(r[c] for c in spec.labels)
        bars = groups.setdefault(key, {})
        for v in spec.values:
            name = plain(r[spec.series]) if spec.series else v.replace("_", " ")
            if name in bars:
                raise ValueError(f"{title}: two rows share the label {key} and series {name!r}; the chart would merge them")
            bars[name] = r[v]
    data.total_groups = len(groups)
    shown = list(groups.items())[:MAX_BARS]
    data.labels = [" / ".join(plain(k) for k in key) for key, _ in shown]
    names = list(dict.fromkeys(n for _, bars in shown for n in bars))
    data.series = {n: [bars.get(n) for _, bars in shown] for n in names}
    return data


def draw(data: ChartData) -> str | None:
    """A horizontal bar chart (stacked when split by series) as a PNG data URI; None when nothing to draw."""
    if data.why_none or not data.labels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(data.labels)
    fig, ax = plt.subplots(figsize=(8 if len(data.series) > 1 else 7, 0.35 * n + 1.2))
    ys = list(range(n))[::-1]
    left = [0.0] * n
    grouped = len(data.series) > 1 and not data.stacked
    height = 0.8 / len(data.series) if grouped else 0.8
    for i, (name, values) in enumerate(data.series.items()):
        nums = [v or 0 for v in values]
        colour = {"color": BAND_COLOURS[name]} if name in BAND_COLOURS else {}
        if grouped:
            ax.barh([y + 0.4 - height * (i + 0.5) for y in ys], nums, height=height, label=name, **colour)
        else:
            ax.barh(ys, nums, left=left, height=height, label=name, **colour)
            left = [a + b for a, b in zip(left, nums, strict=True)]
    ax.set_yticks(ys, data.labels)
    ax.set_xlabel(data.value_name)
    for text in (*ax.get_yticklabels(), ax.xaxis.label):
        text.set_parse_math(False)
    if len(data.series) > 1:
        legend = ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        for text in legend.get_texts():
            text.set_parse_math(False)
    if data.truncated:
        ax.set_title(f"first {n} of {data.total_groups}", fontsize=9, loc="right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

