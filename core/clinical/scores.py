"""Early-warning scores computed from the tables in ``rules.py``.

Pure Python, no Flink or AWS imports: the job, the producer and the tests share it, and it
tests in milliseconds. Missing parameters are never scored as normal: each result names
what was missing and keeps the partial sum apart from the total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.clinical import rules
from core.clinical.rules import BandedParameter, RiskBand

ACVPU = ("A", "C", "V", "P", "U")


def chart_round(value: float, decimals: int) -> float:
    """Round half-up to chart precision (Python's round() is half-to-even: 36.05 -> 36.0)."""
    if round(value, decimals) == value:
        return float(value)  # already at chart precision, as nearly every device value is
    q = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP))


def band_points(parameter: BandedParameter, value: float) -> int:
    rounded = chart_round(value, parameter.decimals)
    for band in parameter.bands:
        if band.contains(rounded):
            return band.points
    raise ValueError(f"{parameter.name}={value} falls in no band of the chart")  # tables are gap-free


@dataclass(frozen=True)
class News2Result:
    """A NEWS2 score. ``total``, ``band`` and ``response`` are None unless every parameter is known.

    ``response`` is the RCP Chart 4 clinical response, led by the minimum monitoring frequency
    (also alone in ``monitoring``).
    """

    total: int | None
    partial_total: int
    subscores: dict[str, int]
    missing: tuple[str, ...]
    band: str | None
    monitoring: str | None
    response: str | None
    spo2_scale: int
    applicable: bool = True
    not_applicable_reason: str | None = None
    red_score: bool = False  # a single parameter scoring 3

    @property
    def complete(self) -> bool:
        return not self.missing and self.applicable


NEWS2_PARAMETER_NAMES = (
    "respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature_c",
)


def _risk_band(total: int, red_score: bool) -> RiskBand:
    for band in rules.NEWS2_RISK_BANDS:
        if total >= band.min_total and (band.max_total is None or total <= band.max_total):
            if red_score and band.name == "low":
                return rules.NEWS2_RED_SCORE_BAND
            return band
    raise ValueError(f"NEWS2 total {total} outside 0-20")


def news2_score(
    *,
    respiratory_rate: float | None = None,
    spo2: float | None = None,
    spo2_scale: int = 1,
    on_oxygen: bool | None = None,
    systolic_bp: float | None = None,
    heart_rate: float | None = None,
    consciousness: str | None = None,
    temperature_c: float | None = None,
    age: int | None = None,
    pregnant: bool = False,
) -> News2Result:
    """NEWS2 per RCP 2017 Chart 1; band and response per Chart 4.

    NEWS2 is not validated for under-16s or in pregnancy (RCP 2017): such patients get
    ``applicable=False`` with the reason, and no band, instead of a score that looks valid.
    """
    if spo2_scale not in (1, 2):
        raise ValueError(f"spo2_scale must be 1 or 2, got {spo2_scale!r}")
    if consciousness is not None and consciousness not in ACVPU:
        raise ValueError(f"consciousness must be one of {ACVPU}, got {consciousness!r}")
    p = rules.NEWS2_PARAMETERS
    subscores: dict[str, int] = {}
    missing: list[str] = []

    def score(name: str, value: object, points) -> None:
        if value is None:
            missing.append(name)
        else:
            subscores[name] = points(value)

    score("respiratory_rate", respiratory_rate, lambda v: band_points(p["respiratory_rate"], v))
    if spo2 is not None and spo2_scale == 2:
        if on_oxygen is None:
            # Up to 92% the scale-2 chart scores air and oxygen alike; above it, it cannot be
            # banded without knowing which.
            if chart_round(spo2, 0) <= 92:
                subscores["spo2"] = band_points(p["spo2_scale2_air"], spo2)
            else:
                missing.append("spo2")
        else:
            table = p["spo2_scale2_oxygen"] if on_oxygen else p["spo2_scale2_air"]
            subscores["spo2"] = band_points(table, spo2)
    else:
        score("spo2", spo2, lambda v: band_points(p["spo2_scale1"], v))
    score("on_oxygen", on_oxygen, lambda v: rules.NEWS2_OXYGEN_POINTS[bool(v)])
    score("systolic_bp", systolic_bp, lambda v: band_points(p["systolic_bp"], v))
    score("heart_rate", heart_rate, lambda v: band_points(p["heart_rate"], v))
    score("consciousness", consciousness, lambda v: rules.NEWS2_ACVPU_POINTS[v])
    score("temperature_c", temperature_c, lambda v: band_points(p["temperature_c"], v))

    partial = sum(subscores.values())
    red = any(v == 3 for v in subscores.values())
    reason = None
    if age is not None and age < 16:
        reason = "NEWS2 is not validated for patients under 16 (RCP 2017)"
    elif pregnant:
        reason = "NEWS2 is not validated in pregnancy (RCP 2017)"
    if missing or reason:
        return News2Result(None, partial, subscores, tuple(missing), None, None, None, spo2_scale,
                           reason is None, reason, red)
    band = _risk_band(partial, red)
    response = f"Monitoring: {band.monitoring}. {band.response}"
    return News2Result(partial, partial, subscores, (), band.name, band.monitoring, response,
                       spo2_scale, True, None, red)


@dataclass(frozen=True)
class CriteriaResult:
    """A count of criteria met, with those that could not be evaluated."""

    met: int
    criteria: dict[str, bool]
    missing: tuple[str, ...] = field(default_factory=tuple)
    threshold: int = 2

    @property
    def positive(self) -> bool:
        """True once enough criteria are met; missing ones cannot make it negative-for-sure."""
        return self.met >= self.threshold

    @property
    def complete(self) -> bool:
        return not self.missing


def _criteria(checks: dict[str, tuple[object, bool | None]], threshold: int) -> CriteriaResult:
    criteria = {name: bool(hit) for name, (value, hit) in checks.items() if value is not None}
    missing = tuple(name for name, (value, _) in checks.items() if value is None)
    return CriteriaResult(sum(criteria.values()), criteria, missing, threshold)


def qsofa_score(*, respiratory_rate: float | None = None, systolic_bp: float | None = None,
                consciousness: str | None = None) -> CriteriaResult:
    """qSOFA (Seymour 2016): SBP <= 100, RR >= 22, altered mentation (any ACVPU but A)."""
    rr = None if respiratory_rate is None else chart_round(respiratory_rate, 0)
    sbp = None if systolic_bp is None else chart_round(systolic_bp, 0)
    return _criteria({
        "systolic_bp": (sbp, sbp is not None and sbp <= rules.QSOFA_SBP_MAX),
        "respiratory_rate": (rr, rr is not None and rr >= rules.QSOFA_RR_MIN),
        "altered_mentation": (consciousness, consciousness is not None and consciousness != "A"),
    }, rules.QSOFA_POSITIVE)


def sirs_vital_criteria(*, temperature_c: float | None = None, heart_rate: float | None = None,
                        respiratory_rate: float | None = None) -> CriteriaResult:
    """Vital-sign SIRS criteria met (ACCP/SCCM 1992); the white-cell criterion needs labs we lack."""
    t = None if temperature_c is None else chart_round(temperature_c, 1)
    hr = None if heart_rate is None else chart_round(heart_rate, 0)
    rr = None if respiratory_rate is None else chart_round(respiratory_rate, 0)
    return _criteria({
        "temperature": (t, t is not None and (t > rules.SIRS_TEMP_HIGH_C or t < rules.SIRS_TEMP_LOW_C)),
        "heart_rate": (hr, hr is not None and hr > rules.SIRS_HR_MIN),
        "respiratory_rate": (rr, rr is not None and rr > rules.SIRS_RR_MIN),
    }, rules.SIRS_MET)


@dataclass(frozen=True)
class MewsResult:
    total: int | None
    partial_total: int
    subscores: dict[str, int]
    missing: tuple[str, ...]

    @property
    def high_risk(self) -> bool | None:
        return None if self.total is None else self.total >= rules.MEWS_HIGH_RISK


def mews_score(*, systolic_bp: float | None = None, heart_rate: float | None = None,
               respiratory_rate: float | None = None, temperature_c: float | None = None,
               consciousness: str | None = None) -> MewsResult:
    """MEWS (Subbe 2001) with the table's gaps closed as in ``rules.MEWS_PARAMETERS``."""
    values = {"systolic_bp": systolic_bp, "heart_rate": heart_rate,
              "respiratory_rate": respiratory_rate, "temperature_c": temperature_c}
    subscores = {name: band_points(rules.MEWS_PARAMETERS[name], v) for name, v in values.items() if v is not None}
    missing = [name for name, v in values.items() if v is None]
    if consciousness is None:
        missing.append("consciousness")
    else:
        subscores["consciousness"] = rules.MEWS_AVPU_POINTS[consciousness]
    partial = sum(subscores.values())
    return MewsResult(None if missing else partial, partial, subscores, tuple(missing))


@dataclass(frozen=True)
class ShockIndex:
    value: float
    category: str

    @property
    def compromised(self) -> bool:
        return self.value >= 1.0


def shock_index(*, heart_rate: float | None, systolic_bp: float | None) -> ShockIndex | None:
    """HR / SBP; None when either is missing or SBP is 0 (no pressure to divide by)."""
    if heart_rate is None or not systolic_bp:
        return None
    value = chart_round(heart_rate / systolic_bp, rules.SHOCK_INDEX_DECIMALS)
    for name, lower in rules.SHOCK_INDEX_CATEGORIES:
        if value >= lower:
            return ShockIndex(value, name)
    raise ValueError(f"shock index {value} is negative")


def bp_category(*, systolic_bp: float | None, diastolic_bp: float | None) -> str | None:
    """ACC/AHA 2017 category, crisis tested first; None when either pressure is missing."""
    if systolic_bp is None or diastolic_bp is None:
        return None
    sbp, dbp = chart_round(systolic_bp, 0), chart_round(diastolic_bp, 0)
    for name, sbp_min, dbp_min in rules.BP_CATEGORIES:
        if sbp >= sbp_min or (dbp_min is not None and dbp >= dbp_min):
            return name
    raise AssertionError("BP_CATEGORIES ends with a catch-all")



def vital_flags(vitals: dict[str, float | None]) -> list[str]:
    """Names of the source systems' simple per-vital flags that this reading raises."""
    out = []
    for flag in rules.VITAL_FLAGS:
        value = vitals.get(flag.vital)
        if value is not None and rules.COMPARISONS[flag.op](float(value), float(flag.threshold)):
            out.append(flag.name)
    return out
