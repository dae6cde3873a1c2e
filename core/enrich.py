"""Enrichment of one reading: flags and early-warning scores, as a row of the ``vitals`` table.

Plain Python on the clinical core. The Flink operator only calls ``enrich``.
"""

from __future__ import annotations

from core.clinical import (
    bp_category,
    mews_score,
    news2_score,
    qsofa_score,
    shock_index,
    sirs_vital_criteria,
    vital_flags,
)
from core.schema.events import VitalsReading


def enrich(reading: VitalsReading, *, scored: dict | None = None, carried: dict[str, int] | None = None,
           shard: str = "", seq: str = "", arrival_ms: int | None = None, processed_ms: int | None = None) -> dict:
    """The ``vitals`` row for a reading.

    Scores use ``scored`` (this reading's values completed by ``carry_forward``) when given,
    else only what this reading carries; flags are always this reading's own. The measured
    columns are never filled in with carried values.
    """
    # The values to score: this reading's, completed by carry-forward. A plain dict, not
    # dataclasses.replace: that re-ran the constructor, a fifth of the per-reading work.
    v = {**reading.__dict__, **scored} if scored is not None else reading.__dict__
    rr, spo2, sbp, hr, temp, acvpu = (v["respiratory_rate"], v["spo2"], v["systolic_bp"], v["heart_rate"],
                                      v["temperature_c"], v["consciousness"])
    news2 = news2_score(
        respiratory_rate=rr, spo2=spo2, spo2_scale=v["spo2_scale"] or 1, on_oxygen=v["on_oxygen"], systolic_bp=sbp,
        heart_rate=hr, consciousness=acvpu, temperature_c=temp, age=v["age_years"], pregnant=bool(v["pregnant"]),
    )
    qsofa = qsofa_score(respiratory_rate=rr, systolic_bp=sbp, consciousness=acvpu)
    sirs = sirs_vital_criteria(temperature_c=temp, heart_rate=hr, respiratory_rate=rr)
    mews = mews_score(systolic_bp=sbp, heart_rate=hr, respiratory_rate=rr, temperature_c=temp, consciousness=acvpu)
    si = shock_index(heart_rate=hr, systolic_bp=sbp)
    row = dict(reading.__dict__)  # shallow: every field is a scalar (asdict deep-copies, 35% of the cost)
    for drop in ("schema_version", "type"):
        row.pop(drop)
    row["ts"] = row.pop("ts_ms")
    row["spo2_scale"] = v["spo2_scale"] or 1  # the scale the reading was scored on
    row.update(
        flags=vital_flags(reading.vitals()),
        news2_total=news2.total, news2_partial=news2.partial_total, news2_missing=list(news2.missing),
        news2_band=news2.band, news2_red_score=news2.red_score, news2_not_applicable=news2.not_applicable_reason,
        **{f"news2_{name}": news2.subscores.get(name) for name in
           ("respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature_c")},
        qsofa=qsofa.met, qsofa_complete=qsofa.complete, sirs_vital_criteria=sirs.met,
        mews_total=mews.total, shock_index=si.value if si else None, shock_index_category=si.category if si else None,
        bp_category=bp_category(systolic_bp=sbp, diastolic_bp=v["diastolic_bp"]),
        kinesis_shard=shard, kinesis_seq=seq, arrival_ts=arrival_ms, processed_ts=processed_ms,
        news2_carried=sorted(carried or {}),
        news2_carried_max_age_s=max(carried.values()) / 1000 if carried else None,
        age_years=v["age_years"], pregnant=v["pregnant"],
    )
    return row
