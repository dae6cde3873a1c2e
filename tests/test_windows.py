"""Window accumulators and their closing rules (watermark, quiet-stream deadline)."""

import pytest

from core.windows import PATIENT_WINDOW_MS, PatientMinute, UnitLoad, WindowSet

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


def _simulate_unit(minutes_on_watermark: bool, speed: float = 1) -> tuple[list[dict], list[dict]]:
    """A unit for 20 minutes, read at ``speed`` times its pace (1: live; more: a reprocess or a
    lagging shard catching up), closed by the job's rules: the unit window closes on the
    watermark or its deadline; a patient's minute on the watermark (event timer) or, as before,
    only when the patient's next reading sees the watermark past it. Patients: two ICU monitors
    every 5 s, two ward monitors every 60 s, one hourly manual set."""
    from core.windows import UNIT_DEADLINE_GRACE_MS, UNIT_WINDOW_MS

    cadences = {"icu-1": (5_000, 0), "icu-2": (5_000, 2_000), "ward-1": (60_000, 17_000), "ward-2": (60_000, 49_000),
                "manual": (3_600_000, 30_000)}
    events = sorted((T + phase + k * every, p) for p, (every, phase) in cadences.items()
                    for k in range(20 * 60_000 // every + 1) if phase + k * every < 20 * 60_000)
    patients = {p: WindowSet(60_000, 30_000) for p in cadences}
    unit = WindowSet(UNIT_WINDOW_MS, 30_000, UNIT_DEADLINE_GRACE_MS)
    minutes, loads, max_ts, watermark = [], [], 0, 0
    # Then the stream goes quiet: two ticks an hour apart, the watermark no longer moving.
    for ts, p in events + [(T + 40 * 60_000, None), (T + 100 * 60_000, None)]:
        now = T + (ts - T) / speed + 1_000 if p else ts + 3_600_000
        # The unit operator sees a minute its patient operator sends before the watermark that closed it.
        unit_watermark, watermark = watermark, max_ts - 5_000
        if p is not None:
            acc, _ = patients[p].get(ts, watermark, now, PatientMinute)
            acc.add({**vit(ts, heart_rate=80), "patient_id": p})
        for name, ws in patients.items():
            if minutes_on_watermark or name == p or p is None:
                for acc in ws.due(watermark, now):
                    row = acc.row()
                    minutes.append(row)
                    unit_acc, _ = unit.get(row["window_start"], unit_watermark, now, UnitLoad)
                    if unit_acc is not None:
                        unit_acc.add(row)
        loads += [acc.row() for acc in unit.due(watermark, now)]
        max_ts = max(max_ts, ts if p else max_ts)
    return minutes, loads


@pytest.mark.parametrize("speed", [1, 20], ids=["read-live", "read-20x-faster"])
def test_unit_load_equals_what_the_patients_minutes_imply_for_every_window(speed):
    """Every unit window holds exactly the minutes of vitals_1m inside it, however fast the stream is
    read: a patient's minute closes on the watermark, before the watermark closes its unit window.
    Closed when the patient's next reading came instead (the old rule), a ward patient's minute
    reached a unit window that had closed, and unit_load_5m lost it (issue 12: ~38% of readings)."""
    from core.windows import UNIT_WINDOW_MS

    minutes, loads = _simulate_unit(True, speed)
    assert len(loads) == 5 and sum(m["readings"] for m in minutes) == 2 * 240 + 2 * 20 + 1  # 11:07 to 11:27: 5 windows
    assert sum(u["readings"] for u in loads) == sum(m["readings"] for m in minutes)
    for load in loads:
        inside = [m for m in minutes if load["window_start"] <= m["window_start"] < load["window_start"] + UNIT_WINDOW_MS]
        assert load["readings"] == sum(m["readings"] for m in inside), load["window_start"]
        assert load["patients"] == len({m["patient_id"] for m in inside})
    old_minutes, old_loads = _simulate_unit(False, speed)
    assert sum(u["readings"] for u in old_loads) < sum(m["readings"] for m in old_minutes)


def test_late_readings_are_counted_on_the_next_minute_row():
    w = WindowSet(60_000, 30_000)
    acc, _ = w.get(T, watermark=T - 5000, now_ms=0, factory=PatientMinute)
    acc.add(vit(T))
    assert w.due(watermark=T + 60_000, now_ms=0) == [acc]
    assert w.get(T + 1000, watermark=T + 60_000, now_ms=0, factory=PatientMinute)[0] is None  # late
    w.count_late(1, T + 60_000, 0)
    nxt, _ = w.get(T + 61_000, watermark=T + 60_000, now_ms=0, factory=PatientMinute)
    nxt.add(vit(T + 61_000))
    [row] = [a.row() for a in w.due(watermark=T + 130_000, now_ms=0)]
    assert (row["readings"], row["late_readings"]) == (1, 1)


def test_the_wall_clock_deadline_waits_while_the_watermark_moves():
    """A catch-up reads old minutes for longer than windows.idle.close.ms: the deadline counted from
    a window's opening closed a minute whose next readings were one batch away, and they came late
    (316 of a reprocessed day's readings). It is for a stream gone quiet: it waits while the
    watermark moves, and closes the window once the watermark has stood still that long."""
    w = WindowSet(PATIENT_WINDOW_MS, 3_000)
    now, old = T + 3 * 86_400_000, T  # data three days old (a reprocess)
    acc, _ = w.get(old, watermark=old - 60_000, now_ms=now, factory=PatientMinute)
    assert w.due(watermark=old - 30_000, now_ms=now + 3_000) == []  # the watermark moved: wait
    assert w.get(old + 20_000, watermark=old - 30_000, now_ms=now + 5_000, factory=PatientMinute)[0] is acc  # not late
    assert w.due(watermark=old - 30_000, now_ms=now + 5_999) == []
    # The watermark stands still while one large batch is handed on, but the operator still gets elements.
    assert w.due(watermark=old - 30_000, now_ms=now + 7_000, active_ms=now + 6_500) == []
    assert w.due(watermark=old - 30_000, now_ms=now + 9_499) == []
    assert w.due(watermark=old - 30_000, now_ms=now + 9_500) == [acc]  # 3 s without the watermark moving or an element
