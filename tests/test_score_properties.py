"""Property tests: the scores never raise on a valid reading and rise where the chart rises."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clinical import mews_score, news2_score, qsofa_score, shock_index

rr = st.floats(0, 120, allow_nan=False)
spo2 = st.floats(0, 100, allow_nan=False)
sbp = st.floats(1, 350, allow_nan=False)
hr = st.floats(0, 350, allow_nan=False)
temp = st.floats(20, 46, allow_nan=False)
acvpu = st.sampled_from("ACVPU")
maybe = lambda s: st.none() | s  # noqa: E731


@given(maybe(rr), maybe(spo2), st.sampled_from([1, 2]), maybe(st.booleans()), maybe(sbp), maybe(hr), maybe(acvpu),
       maybe(temp))
def test_news2_never_raises_and_is_consistent(r, s, scale, o2, bp, pulse, c, t):
    res = news2_score(respiratory_rate=r, spo2=s, spo2_scale=scale, on_oxygen=o2, systolic_bp=bp, heart_rate=pulse,
                      consciousness=c, temperature_c=t)
    assert 0 <= res.partial_total <= 20
    assert res.partial_total == sum(res.subscores.values())
    assert all(0 <= v <= 3 for v in res.subscores.values())
    if res.complete:
        assert res.total == res.partial_total and res.band in ("low", "low-medium", "medium", "high")
    else:
        assert res.total is None and res.missing


def full(**kw):
    base = dict(respiratory_rate=16, spo2=97, on_oxygen=False, systolic_bp=120, heart_rate=70, consciousness="A",
                temperature_c=37.0)
    return news2_score(**{**base, **kw}).total


# (parameter, range over which the chart only rises one way, +1 if the score rises with the value)
MONOTONE = [
    ("respiratory_rate", (0, 16), -1), ("respiratory_rate", (16, 120), +1), ("spo2", (0, 100), -1),
    ("heart_rate", (70, 350), +1), ("systolic_bp", (1, 120), -1), ("temperature_c", (20, 37), -1),
]


@pytest.mark.parametrize("name,bounds,direction", MONOTONE)
@given(data=st.data())
def test_news2_rises_where_the_chart_rises(name, bounds, direction, data):
    a = data.draw(st.floats(*bounds, allow_nan=False))
    b = data.draw(st.floats(*bounds, allow_nan=False))
    lo, hi = sorted((a, b))
    worse, better = (hi, lo) if direction > 0 else (lo, hi)
    assert full(**{name: worse}) >= full(**{name: better})


@given(st.booleans(), spo2)
def test_oxygen_never_lowers_the_score(on_o2, s):
    assert full(on_oxygen=True, spo2=s) >= full(on_oxygen=False, spo2=s)


@given(maybe(sbp), maybe(hr), maybe(rr), maybe(temp), maybe(acvpu))
def test_other_scores_never_raise(b, h, r, t, c):
    m = mews_score(systolic_bp=b, heart_rate=h, respiratory_rate=r, temperature_c=t, consciousness=c)
    assert 0 <= m.partial_total <= 14
    q = qsofa_score(respiratory_rate=r, systolic_bp=b, consciousness=c)
    assert 0 <= q.met <= 3
    si = shock_index(heart_rate=h, systolic_bp=b)
    assert si is None or si.value >= 0
