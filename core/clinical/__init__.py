"""Clinical scoring core: plain Python, no Flink or AWS imports (tests run in milliseconds)."""

from core.clinical.scores import (
    CriteriaResult,
    MewsResult,
    News2Result,
    ShockIndex,
    bp_category,
    chart_round,
    mews_score,
    news2_score,
    qsofa_score,
    shock_index,
    sirs_vital_criteria,
    vital_flags,
)

__all__ = [
    "CriteriaResult", "MewsResult", "News2Result", "ShockIndex", "bp_category", "chart_round",
    "mews_score", "news2_score", "qsofa_score", "shock_index", "sirs_vital_criteria", "vital_flags",
]
