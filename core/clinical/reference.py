"""Renders ``docs/CLINICAL_RULES.md`` from the tables in ``rules.py``.

``python -m core.clinical.reference > docs/CLINICAL_RULES.md`` (or ``make docs``); a test
fails when the committed page differs from what this prints, so the page is always the code.
"""

from __future__ import annotations

from core.clinical import rules
from core.clinical.rules import BandedParameter


def _num(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def band_text(low: float | None, high: float | None, decimals: int) -> str:
    if low is None:
        return f"≤ {_num(high, decimals)}"
    if high is None:
        return f"≥ {_num(low, decimals)}"
    if low == high:
        return _num(low, decimals)
    return f"{_num(low, decimals)}–{_num(high, decimals)}"


def banded_table(params: dict[str, BandedParameter]) -> list[str]:
    lines = ["| Parameter | Unit | Precision | Bands → points |", "|---|---|---|---|"]
    for p in params.values():
        bands = "; ".join(f"{band_text(b.low, b.high, p.decimals)} → {b.points}" for b in p.bands)
        lines.append(f"| {p.label} | `{p.unit}` | {p.decimals} dp | {bands} |")
    return lines


def render() -> str:
    out = [
        "# Clinical rules",
        "",
        "Generated from `core/clinical/rules.py` by `make docs`; do not edit by hand "
        "(`tests/test_reference_page.py` fails when this page and the code disagree).",
        "",
        "Values are rounded half-up to the chart precision shown, then matched against inclusive bands: "
        "35.04 °C counts as 35.0 and 35.05 °C as 35.1.",
        "",
        "## NEWS2",
        "",
        f"Source: {rules.NEWS2_SOURCE}",
        "",
        *banded_table(rules.NEWS2_PARAMETERS),
        "| Air or oxygen | — | — | "
        + "; ".join(f"{'oxygen' if k else 'air'} → {v}" for k, v in rules.NEWS2_OXYGEN_POINTS.items()) + " |",
        "| Consciousness (ACVPU) | — | — | "
        + "; ".join(f"{k} → {v}" for k, v in rules.NEWS2_ACVPU_POINTS.items()) + " |",
        "",
        "SpO2 scale 2 is used only for patients flagged with a prescribed target of 88–92% "
        "(hypercapnic respiratory failure); NEWS2 is not computed for under-16s or in pregnancy.",
        "",
        "| Total | Band | Minimum monitoring | Response |",
        "|---|---|---|---|",
    ]
    for b in rules.NEWS2_RISK_BANDS:
        total = str(b.min_total) if b.max_total == b.min_total else (
            f"{b.min_total}–{b.max_total}" if b.max_total is not None else f"≥ {b.min_total}")
        out.append(f"| {total} | {b.name} | {b.monitoring} | {b.response} |")
    red = rules.NEWS2_RED_SCORE_BAND
    out.append(f"| 3 in one parameter (total < 5) | {red.name} | {red.monitoring} | {red.response} |")
    out += [
        "",
        "## qSOFA",
        "",
        f"Source: {rules.QSOFA_SOURCE}",
        "",
        f"One point each: systolic BP ≤ {rules.QSOFA_SBP_MAX} mmHg; respiratory rate ≥ {rules.QSOFA_RR_MIN}/min; "
        f"altered mentation (any ACVPU level but A). Positive at ≥ {rules.QSOFA_POSITIVE}.",
        "",
        "## SIRS, vital-sign criteria",
        "",
        f"Source: {rules.SIRS_SOURCE}",
        "",
        f"Temperature > {rules.SIRS_TEMP_HIGH_C} °C or < {rules.SIRS_TEMP_LOW_C} °C; heart rate > {rules.SIRS_HR_MIN}/min; "
        f"respiratory rate > {rules.SIRS_RR_MIN}/min. Reported as \"vital-sign SIRS criteria met: n\" "
        f"(the stream carries no white-cell count); ≥ {rules.SIRS_MET} meets the vital-sign part.",
        "",
        "## MEWS",
        "",
        f"Source: {rules.MEWS_SOURCE} The published table's gaps are closed as one monitor maker does.",
        "",
        *banded_table(rules.MEWS_PARAMETERS),
        "| AVPU | — | — | " + "; ".join(f"{k} → {v}" for k, v in rules.MEWS_AVPU_POINTS.items()) + " |",
        "",
        f"A total ≥ {rules.MEWS_HIGH_RISK} is linked to ICU admission and death.",
        "",
        "## Shock index",
        "",
        f"Source: {rules.SHOCK_INDEX_SOURCE} Heart rate ÷ systolic BP, rounded to "
        f"{rules.SHOCK_INDEX_DECIMALS} decimals; the first category whose lower bound it reaches:",
        "",
        "| Category | From |",
        "|---|---|",
        *[f"| {name} | ≥ {lower:.2f} |" for name, lower in rules.SHOCK_INDEX_CATEGORIES],
        "",
        "## Blood pressure category",
        "",
        f"Source: {rules.BP_SOURCE} Checked top to bottom (crisis first); a category applies when "
        "the systolic or the diastolic reaches its bound.",
        "",
        "| Category | Systolic ≥ | or diastolic ≥ |",
        "|---|---|---|",
        *[f"| {name} | {sbp} | {dbp if dbp is not None else '—'} |" for name, sbp, dbp in rules.BP_CATEGORIES],
        "",
        "## Per-vital flags of the source systems",
        "",
        "| Flag | Vital | Condition | Source |",
        "|---|---|---|---|",
        *[f"| `{f.name}` | {f.vital} | {f.op} {f.threshold:.4g} {f.unit} | {f.source} |" for f in rules.VITAL_FLAGS],
        "",
        "## Plausible ranges (validation)",
        "",
        "A reading outside these ranges is not physiology but a broken record: it goes to the dead-letter table.",
        "",
        "| Vital | Range | Unit |",
        "|---|---|---|",
        *[f"| {name} | {lo:g}–{hi:g} | `{unit}` |" for name, (lo, hi, unit) in rules.PLAUSIBLE_RANGES.items()],
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
