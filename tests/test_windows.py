"""Window accumulators and their closing rules (watermark, quiet-stream deadline, lateness)."""

from flink_app.windows import PATIENT_WINDOW_MS, PatientMinute, UnitLoad, WindowSet

T = 1_795_000_020_000  # 11:07:00Z, a minute boundary


def vit(ts, **v):
    return {"patient_id": "P-1", "encounter_id": "E", "hospital_id": "H01", "unit": "ICU", "bed": "ICU-1", "ts": ts,
            "flags": [], "news2_total": None, "news2_band": None, **v}


def test_patient_minute_aggregates():
    m = PatientMinute(T)
    m.add(vit(T, heart_rate=80, spo2=97, news2_total=2, news2_band="low", flags=["hr_low"]))
    m.add(vit(T + 5000, heart_rate=100, spo2=93, news2_total=5, news2_band="medium", flags=["spo2_low"]))
    m.add(vit(T + 9000, heart_rate=90))
    m.add_alert("critical", "open")
    m.add_alert("info", "all-clear")
    row = m.row()
    assert (row["readings"], row["heart_rate_min"], row["heart_rate_max"], row["heart_rate_mean"]) == (3, 80, 100, 90)
    assert (row["spo2_mean"], row["respiratory_rate_mean"], row["news2_max"], row["news2_band_worst"]) == (95, None, 5,
                                                                                                           "medium")
    assert row["flags"] == ["hr_low", "spo2_low"] and (row["alerts"], row["critical_alerts"]) == (1, 1)
    assert row["window_end"] - row["window_start"] == PATIENT_WINDOW_MS


def test_window_closes_on_watermark_and_late_records_are_refused():
    w = WindowSet(60_000, 30_000)
    acc, timers = w.get(T + 1000, watermark=T - 10_000, now_ms=0, factory=PatientMinute)
    assert acc is not None and timers == [(T + 59_999, T + 60_000 + 30_000)]
    assert w.get(T + 2000, watermark=T, now_ms=0, factory=PatientMinute) == (acc, [])
    assert w.due(watermark=T + 59_998, now_ms=0) == []
    assert w.due(watermark=T + 59_999, now_ms=0) == [acc]
    assert w.get(T + 3000, watermark=T + 59_999, now_ms=0, factory=PatientMinute) == (None, [])  # late
    nxt, _ = w.get(T + 61_000, watermark=T + 59_999, now_ms=0, factory=PatientMinute)
    assert nxt is not None and nxt.start == T + 60_000


def test_quiet_stream_closes_by_deadline_and_later_records_are_late():
    w = WindowSet(60_000, 30_000)
    acc, [(_, deadline)] = w.get(T, watermark=T - 5000, now_ms=T + 10, factory=PatientMinute)
    assert deadline == T + 90_000
    assert w.due(watermark=T - 5000, now_ms=deadline - 1) == []
    assert w.due(watermark=T - 5000, now_ms=deadline) == [acc]
    assert w.get(T + 50_000, watermark=T - 5000, now_ms=deadline, factory=PatientMinute)[0] is None
    # old data (a backfill): the deadline counts from now, not from the long-past window end
    _, [(_, d2)] = w.get(T + 600_000, watermark=0, now_ms=T + 10**7, factory=PatientMinute)
    assert d2 == T + 10**7 + 30_000


def test_unit_load():
    u = UnitLoad(T)
    base = {"hospital_id": "H01", "unit": "ICU", "readings": 10}
    u.add({**base, "patient_id": "a", "news2_max": 7, "alerts": 1, "critical_alerts": 0})
    u.add({**base, "patient_id": "b", "news2_max": 5, "alerts": 0})
    u.add({**base, "patient_id": "b", "news2_max": 2, "alerts": 1})
    u.add({**base, "patient_id": "c", "news2_max": None, "critical_alerts": 1, "alerts": 1})
    row = u.row()
    assert (row["patients"], row["critical_patients"], row["urgent_patients"], row["readings"], row["alerts"]) == (
        3, 2, 1, 40, 3)


def test_one_pending_timer_per_kind_and_the_next_when_it_fires():
    w = WindowSet(PATIENT_WINDOW_MS, 30_000)
    minute = PATIENT_WINDOW_MS
    # A backlog: three minutes of old data arrive at once (now is far later).
    now = T + 10 * minute
    _, first = w.get(T, watermark=0, now_ms=now, factory=PatientMinute)
    assert first == [(T + minute - 1, now + 30_000)]
    assert w.get(T + minute, watermark=0, now_ms=now, factory=PatientMinute)[1] == []  # later: no new timer
    assert w.get(T + 2 * minute, watermark=0, now_ms=now, factory=PatientMinute)[1] == []
    # The first event-time timer fires: one window closes, the next one's timer is registered.
    assert [a.start for a in w.due(watermark=T + minute - 1, now_ms=now)] == [T]
    assert w.next_timers() == [(T + 2 * minute - 1, None)]  # the deadline timer is still pending
    # A window earlier than the pending timer (out of order, not late) gets its own.
    w2 = WindowSet(PATIENT_WINDOW_MS, 30_000)
    w2.get(T + minute, watermark=0, now_ms=0, factory=PatientMinute)
    assert w2.get(T, watermark=0, now_ms=0, factory=PatientMinute)[1] == [(T + minute - 1, T + minute + 30_000)]
    # Everything closes in the end, and nothing is left to register.
    assert len(w.due(watermark=T + 3 * minute, now_ms=now)) == 2 and w.next_timers() == []
