"""The detection state machine: confirmed critical tier, time-in-breach persistence, one voice per
patient, partial NEWS2, acknowledgement and escalation, backlog, overdue observations (issue 12)."""

import pickle

import pytest

from alerts.render import page_id
from core.config import Config
from core.detect import Detector, PatientState
from core.schema.events import AckEvent

SETTINGS = {k: v for k, v in Config().as_dict().items() if k.startswith("detection.")}
T0 = 1_795_000_000


def row(ts_s: float, source="bedside", unit="Ward-A", **vitals) -> dict:
    ts = int((T0 + ts_s) * 1000)
    return {"patient_id": "P-1", "encounter_id": "E-1", "hospital_id": "H01", "unit": unit, "bed": "W-02",
            "ts": ts, "processed_ts": ts, "source": source, "spo2_scale": 1, "news2_total": None, **vitals}


def run(rows, det=None, state=None, **settings):
    det = det or Detector({**SETTINGS, **settings})
    state = state or PatientState()
    alerts = [a for r in rows for a in det.step(state, r)]
    return [(a.status, a.severity, a.rule) for a in alerts if a.paged], state, alerts


def test_one_critical_reading_is_not_a_page_two_confirmed_ones_are():
    """Issue 12: one wearable SpO2 of 84 paged CRITICAL and cleared seconds later."""
    assert run([row(0, spo2=84), row(5, spo2=97), row(10, spo2=97)])[0] == []
    assert run([row(0, spo2=84), row(5, spo2=83), row(10, spo2=83), row(15, spo2=84)])[0] == []  # 15 s: artefact-long
    assert run([row(0, spo2=84), row(10, spo2=83), row(20, spo2=83)])[0] == [("open", "critical", "spo2_low")]


def test_critical_readings_arriving_out_of_order_still_confirm():
    """Monitor readings of one patient on different shards can arrive newest first (the e2e test did)."""
    pages = run([row(20, spo2=82), row(0, spo2=82), row(10, spo2=82)])[0]
    assert pages == [("open", "critical", "spo2_low")]


def test_a_critical_value_is_not_paged_urgent_first():
    """bench.detection: on 60-s ward monitors a HR of 166 paged URGENT at the second reading and
    WORSE CRITICAL at the third: two pages for one event. The standard tier waits while the value is critical."""
    pages = run([row(60 * i, heart_rate=166) for i in range(3)])[0]
    assert pages == [("open", "critical", "heart_rate_high")]
    # Not critical (140): the standard tier pages as before.
    assert run([row(60 * i, heart_rate=140) for i in range(2)])[0] == [("open", "urgent", "heart_rate_high")]


def test_two_artefacts_in_a_row_on_a_slow_monitor_do_not_page_critical():
    """bench.detection: on 60-s ward monitors two independent motion desaturations on consecutive
    readings paged CRITICAL twice a day per 100 patients; a third critical reading is needed."""
    pages = run([row(0, spo2=97), row(60, spo2=83), row(120, spo2=77), row(180, spo2=97)])[0]
    assert ("open", "critical", "spo2_low") not in pages
    assert run([row(0, spo2=83), row(60, spo2=80), row(120, spo2=79)])[0][-1][1] == "critical"


def test_a_critical_value_hovering_at_the_limit_confirms_without_a_clean_run():
    """bench.detection: ICU heart rate 33-38 around the limit of 35 broke every consecutive run and paged
    critical 434 s after the first critical reading; 3 of the last 5 readings confirm it."""
    hrs = [34, 38, 36, 35, 37, 34, 38, 33, 35]  # 5-s monitor: critical (<= 35) at 0, 15, 25, 35, 40 s
    alerts = run([row(5 * i, unit="ICU", heart_rate=hr) for i, hr in enumerate(hrs)])[2]
    first_critical = next(a for a in alerts if a.severity == "critical" and a.paged)
    assert first_critical.ts_ms - row(0)["ts"] == 35_000  # 3 of the last 5 (15, 25, 35 s) span 20 s


def test_a_nurse_observation_is_acted_on_at_once():
    assert run([row(0, source="manual", spo2=84)])[0] == [("open", "critical", "spo2_low")]
    assert run([row(0, source="manual", spo2=90)])[0] == [("open", "urgent", "spo2_low")]


def test_standard_limit_waits_for_time_in_breach():
    assert run([row(0, spo2=90), row(10, spo2=90), row(19.9, spo2=89)])[0] == []
    assert run([row(0, spo2=90), row(10, spo2=90), row(20, spo2=89)])[0] == [("open", "urgent", "spo2_low")]


def test_a_flapping_value_pages():
    """Issue 12: SpO2 alternating 91/92 every 5 s for 10 minutes paged nothing."""
    rows = [row(5 * i, spo2=91 if i % 2 == 0 else 92) for i in range(120)]
    alerts = run(rows)[0]
    assert alerts[:1] == [("open", "urgent", "spo2_low")]


def test_one_voice_per_patient_worst_first_others_as_context():
    rows = [row(0, source="manual", spo2=90, heart_rate=135, news2_total=6, news2_band="medium")]
    pages, _, alerts = run(rows)
    assert pages == [("open", "urgent", "news2")]
    assert alerts[0].context == ["heart_rate_high", "spo2_low"]
    assert "also SpO2 90% (limit <92); Heart rate 135/min (limit >=131)" in alerts[0].message
    assert alerts[0].message.startswith("URGENT H01 Ward-A bed W-02: NEWS2 6 (medium)")


def test_worse_pages_once_and_the_all_clear_ends_the_episode():
    rows = [row(0, source="manual", spo2=90), row(60, source="manual", spo2=84), row(120, source="manual", spo2=97)]
    assert run(rows)[0] == [("open", "urgent", "spo2_low"), ("worsened", "critical", "spo2_low"),
                            ("all-clear", "info", "spo2_low")]


def test_partial_news2_that_proves_urgent_pages_and_names_what_is_missing():
    """Issue 12: an obs set without RR but V, SBP 96, HR 114 (partial 8) paged nothing."""
    r = row(0, source="manual", news2_partial=8, news2_missing=["respiratory_rate"], heart_rate=114, systolic_bp=96,
            consciousness="V")
    pages, _, alerts = run([r])
    assert pages == [("open", "critical", "news2")]
    assert "NEWS2 at least 8 (respiratory rate not measured)" in alerts[0].message
    assert run([row(0, source="manual", news2_partial=4, news2_missing=["temperature_c"])])[0] == []


def test_news2_settled_at_four_clears_after_the_hold_instead_of_re_alerting():
    """Issue 12: a patient settled at 4 got 'STILL URGENT ... NEWS2 4 (low)' every 4 hours."""
    rows = [row(0, source="manual", news2_total=5, news2_band="medium")]
    rows += [row(60 * m, source="manual", news2_total=4, news2_band="low") for m in range(5, 40, 5)]
    pages = run(rows, **{"detection.escalation": "charge_nurse@600"})[0]
    assert pages == [("open", "urgent", "news2"), ("all-clear", "info", "news2")]


def test_rapid_rise_closes_when_the_rise_is_gone_and_reads_right():
    rows = [row(0, source="manual", news2_total=1, news2_band="low"), row(600, source="manual", news2_total=4, news2_band="low")]
    pages, state, alerts = run(rows)
    assert pages == [("open", "urgent", "news2_rapid_rise")] and "NEWS2 rose 1→4 within 30 min" in alerts[0].message
    pages, _, alerts = run([row(700, source="manual", news2_total=2, news2_band="low")], state=state)
    assert pages == [("all-clear", "info", "news2_rapid_rise")] and "rose" not in alerts[0].message


def test_re_alerts_on_one_clock_per_patient():
    rows = [row(60 * m, source="manual", spo2=84, heart_rate=160, news2_total=9, news2_band="high") for m in range(0, 61, 5)]
    pages = [p for p in run(rows, **{"detection.escalation": "charge_nurse@600"})[0]]
    assert [p[0] for p in pages] == ["open", "re-alert", "re-alert", "re-alert", "re-alert"]  # every 15 min, one stream


def test_acknowledgement_stops_re_alerts_and_escalation():
    det = Detector(SETTINGS)
    state = PatientState()
    [opened] = det.step(state, row(0, source="manual", spo2=90))
    ack = AckEvent("A1", "P-1", "H01", "nurse-7", opened.ts_ms + 60_000, alert_id=opened.alert_id)
    [acked] = det.on_ack(state, ack)
    assert (acked.status, acked.paged) == ("acknowledged", False)
    later = [a for m in range(5, 151, 5) for a in det.step(state, row(60 * m, source="manual", spo2=90))]
    # Nothing until the 120-min acknowledgement is over; then a re-alert, which escalates if unanswered.
    assert [(a.status, round((a.ts_ms - opened.ts_ms) / 60_000)) for a in later if a.paged] == [
        ("re-alert", 125), ("escalated", 135), ("escalated", 145)]


def _acked_day(det: Detector, state: PatientState, readings, answer_after_min: float = 3) -> list:
    """Readings every 5 min; the ward acknowledges every page ``answer_after_min`` later."""
    pages, due = [], []
    for r in readings:
        while due and due[0][0] <= r["ts"]:
            ts, page = due.pop(0)
            det.on_ack(state, AckEvent(f"A-{page.alert_id}", "P-1", "H01", "nurse-7", ts, alert_id=page.alert_id))
        for a in det.step(state, r):
            if a.paged and a.status != "all-clear":
                pages.append(a)
                due.append((a.ts_ms + int(answer_after_min * 60_000), a))
    return pages


def test_each_acknowledgement_of_an_unchanged_episode_doubles_the_pause_up_to_a_shift():
    """bench.detection: a patient at NEWS2 5 all day, acknowledged each time, got 'STILL URGENT'
    every two hours (11 re-alerts, 43% of all pages were re-alerts)."""
    det = Detector(SETTINGS)
    state = PatientState()
    day = [row(300 * i, source="manual", news2_total=5, news2_band="medium") for i in range(28 * 12)]
    pages = _acked_day(det, state, day)
    minutes = [round((p.ts_ms - pages[0].ts_ms) / 60_000) for p in pages]
    assert [p.status for p in pages] == ["open"] + ["re-alert"] * 4
    # Pauses of 120, 240, 480, then 720 (detection.ack.max.minutes) minutes after each acknowledgement.
    assert minutes == [0, 125, 370, 855, 1580]


def test_worse_pages_at_once_and_starts_the_pauses_again():
    det = Detector(SETTINGS)
    state = PatientState()
    urgent = [row(300 * i, source="manual", news2_total=5, news2_band="medium") for i in range(12 * 12)]
    _acked_day(det, state, urgent)  # 12 h: pauses 120, 240 and 480 used
    assert state.episode.acks == 3
    critical = [row(300 * i, source="manual", news2_total=8, news2_band="high") for i in range(12 * 12, 16 * 12)]
    pages = _acked_day(det, state, critical)
    assert [p.status for p in pages] == ["worsened", "re-alert"]
    assert round((pages[1].ts_ms - pages[0].ts_ms) / 60_000) == 125  # back to ack.minutes


def test_no_reminder_while_the_episode_is_better_than_when_acknowledged():
    """bench.detection: 'STILL URGENT' reminders of episodes acknowledged while critical."""
    det = Detector(SETTINGS)
    state = PatientState()
    critical = [row(300 * i, source="manual", news2_total=8, news2_band="high") for i in range(6)]
    pages = _acked_day(det, state, critical)
    assert [(p.status, p.severity) for p in pages] == [("open", "critical")]
    better = [row(300 * i, source="manual", news2_total=5, news2_band="medium") for i in range(6, 12 * 12)]
    pages += _acked_day(det, state, better)
    # Not at 125 min (the acknowledged critical is now urgent): the acknowledgement holds another 240.
    assert [(p.status, p.severity, round((p.ts_ms - pages[0].ts_ms) / 60_000)) for p in pages[1:]] == [
        ("re-alert", "urgent", 365)]


def test_unacknowledged_urgent_episode_escalates_through_the_tiers():
    rows = [row(60 * m, source="manual", spo2=90) for m in range(0, 31, 5)]
    _, _, alerts = run(rows)
    assert [(a.status, a.tier) for a in alerts] == [("open", None), ("escalated", "charge_nurse"),
                                                    ("escalated", "rapid_response")]
    assert alerts[1].message.startswith("ESCALATED to charge nurse URGENT H01 Ward-A bed W-02")


def test_escalation_tiers_per_unit():
    rows = [row(60 * m, source="manual", unit="ICU", spo2=90) for m in range(0, 11)]
    _, _, alerts = run(rows, **{"detection.escalation.units": "ICU:charge_nurse@2"})
    assert [(a.status, a.tier) for a in alerts] == [("open", None), ("escalated", "charge_nurse")]


def test_timer_ticks_escalate_without_new_readings():
    det = Detector(SETTINGS)
    state = PatientState()
    det.step(state, row(0, source="manual", spo2=90))
    assert det.tick(state, (T0 + 9 * 60) * 1000) == []
    [esc] = det.tick(state, (T0 + 10 * 60) * 1000)
    assert (esc.status, esc.tier) == ("escalated", "charge_nurse")
    assert det.next_tick_ms(state) == (T0 + 20 * 60) * 1000


def test_a_fast_replay_does_not_escalate_before_anyone_could_answer():
    """make run replays at SPEED 60: 10 event-minutes pass in 10 s, and the episode escalated to the
    charge nurse before a person could acknowledge. Escalation waits for the wall-clock delay too."""
    fast = [{**row(60 * m, source="manual", spo2=90), "processed_ts": (T0 + m) * 1000} for m in range(0, 31, 5)]
    _, state, alerts = run(fast)
    assert [a.status for a in alerts] == ["open"]
    det = Detector(SETTINGS)
    state = PatientState()
    det.step(state, fast[0])
    assert det.tick(state, (T0 + 9 * 60) * 1000) == []  # 9 wall-clock minutes
    [esc] = det.tick(state, (T0 + 10 * 60) * 1000)
    assert (esc.status, esc.tier) == ("escalated", "charge_nurse")


def test_silenced_bed_records_but_does_not_page_and_discharge_ends_the_episode():
    det = Detector(SETTINGS)
    state = PatientState()
    det.step(state, row(0, heart_rate=80))
    det.on_ack(state, AckEvent("A1", "P-1", "H01", "nurse-7", (T0 + 1) * 1000, action="silence", minutes=10))
    alerts = det.step(state, row(2, source="manual", spo2=84))
    assert [(a.status, a.paged) for a in alerts] == [("open", False)]
    [closed] = det.on_encounter(state, {"event": "discharge", "ts": (T0 + 30) * 1000, "patient_id": "P-1"})
    assert (closed.status, closed.paged) == ("all-clear", False) and state.episode is None


def test_an_episode_inside_a_backlog_is_recorded_not_paged_and_a_live_one_is_paged_delayed():
    old = [row(0, source="manual", spo2=90), row(120, source="manual", spo2=97)]
    for r in old:
        r["processed_ts"] = r["ts"] + 3_600_000  # read an hour late, after an outage
    pages, _, alerts = run(old)
    assert pages == [] and [(a.status, a.paged) for a in alerts] == [("all-clear", False)]  # recorded only
    still = [row(0, source="manual", spo2=90), row(700, source="manual", spo2=90)]
    for r in still:
        r["processed_ts"] = r["ts"] + 3_600_000
    pages, _, alerts = run(still)
    assert pages == [("open", "urgent", "spo2_low")] and alerts[0].delayed
    assert alerts[0].message.startswith("DELAYED (reading of ")


def test_a_page_replayed_a_day_late_says_the_day_of_its_reading():
    """A catch-up over a day old paged "DELAYED (reading of 11:18Z) ... since 11:06Z" at 13:18: a
    time of day that reads as minutes ago, or as one still to come."""
    still = [row(0, source="manual", spo2=90), row(700, source="manual", spo2=90)]
    for r in still:
        r["processed_ts"] = r["ts"] + 26 * 3_600_000  # read 26 hours late: the next UTC day
    pages, _, alerts = run(still)
    assert pages == [("open", "urgent", "spo2_low")]
    assert alerts[0].message.startswith("DELAYED (reading of 18 Nov 11:18Z) URGENT ")
    assert "since 18 Nov 11:06Z" in alerts[0].message
    live = [row(0, source="manual", spo2=90), row(60, source="manual", spo2=90)]
    assert " since 11:06Z" in run(live)[2][0].message  # the reader's own day: the time alone


def test_a_replayed_day_is_judged_as_it_was_live():
    """Issue 16, item 7: a day reprocessed after the stream's retention is days old when the replay
    job reads it, so every reading counted as a catch-up: an episode shorter than
    detection.delayed.after.ms vanished from the rebuilt alerts table, a longer one came out DELAYED,
    its times told with the replay's day. With detection.replay the alerts are the live day's."""
    day = 3 * 86_400_000
    short = [row(0, spo2=90), row(10, spo2=90), row(20, spo2=89), row(120, source="manual", spo2=97)]
    live = [(a.status, a.paged, a.delayed, a.ts_ms, a.message) for a in run(short)[2]]
    assert [s[:3] for s in live] == [("open", True, False), ("all-clear", True, False)]
    replayed = [{**r, "processed_ts": r["ts"] + day} for r in short]
    assert [(a.status, a.paged) for a in run(replayed)[2]] == [("all-clear", False)]  # as before: held, lost
    again = run(replayed, **{"detection.replay": True})[2]
    assert [(a.status, a.paged, a.delayed, a.ts_ms, a.message) for a in again] == live
    # Timers on a replay run on the patient's clock too: no re-alert or escalation at the first tick
    # just because the day is old, and the page it sends later tells the time of that clock.
    det = Detector({**SETTINGS, "detection.replay": True, "detection.escalation": "charge_nurse@10"})
    state = PatientState()
    assert [a.status for r in replayed[:3] for a in det.step(state, r)] == ["open"]
    assert det.tick(state, replayed[2]["processed_ts"] + 60_000) == []
    [escalated] = det.tick(state, replayed[2]["processed_ts"] + 10 * 60_000)
    assert escalated.status == "escalated" and escalated.ts_ms == short[2]["ts"] + 10 * 60_000
    assert "since 11:06Z" in escalated.message and "Nov" not in escalated.message


def test_a_replay_pages_re_alerts_and_escalations_when_they_fell_due():
    """bench.reprocess: a replay reads a day 60 times faster than it happened, so a timer on
    processing time comes a reading late; each re-alert is timed from the one before, and they
    drifted up to 11 minutes from the live day's. Replaying, they take the time they fell due."""
    rows = [row(0, spo2=90), row(10, spo2=90), row(20, spo2=89)] + [row(20 + 70 * k, spo2=89) for k in range(1, 12)]
    settings = {"detection.escalation": "charge_nurse@10"}
    live = {a.status: a.ts_ms for a in run(rows, **settings)[2]}
    replayed = {a.status: a.ts_ms for a in run(rows, **settings, **{"detection.replay": True})[2]}
    opened = row(20)["ts"]
    assert live["open"] == replayed["open"] == opened
    assert live["escalated"] == row(650)["ts"]  # the first reading after it fell due (the live job's timer is on time)
    assert replayed["escalated"] == opened + 10 * 60_000


def test_observations_overdue_for_the_band():
    """Issue 12: when carried values expired open episodes went quiet; nothing said obs were due."""
    det = Detector({**SETTINGS, "detection.escalation": "charge_nurse@600", "detection.news2.urgent": 6})
    state = PatientState()
    r = row(0, source="manual", news2_total=5, news2_band="medium")
    state.last_seen.values = {name: (0, r["ts"]) for name in ("respiratory_rate", "spo2", "heart_rate")}
    det.step(state, r)
    assert det.tick(state, r["ts"] + 80 * 60_000) == []
    [due] = det.tick(state, r["ts"] + 95 * 60_000)
    assert "last full set 95 min ago; NEWS2 5 (medium) asks for a set every 60 min" in due.message
    # No episode open (the band never paged): recorded for the ward board, not paged. On quiet
    # patients a band reached by a few monitor readings paged "overdue" 17 times a day (bench.detection).
    assert (due.status, due.rule, due.paged) == ("overdue", "observations_overdue", False)
    assert det.tick(state, r["ts"] + 200 * 60_000) == []  # one per gap
    # With the episode open, the overdue observations are paged.
    det = Detector({**SETTINGS, "detection.escalation": "charge_nurse@600"})
    state = PatientState()
    state.last_seen.values = {name: (0, r["ts"]) for name in ("respiratory_rate", "spo2", "heart_rate")}
    assert [a.rule for a in det.step(state, r) if a.paged] == ["news2"]
    due = [a for a in det.tick(state, r["ts"] + 95 * 60_000) if a.rule == "observations_overdue"]
    assert [a.paged for a in due] == [True]


def test_children_and_pregnancy_get_no_news2_derived_rule():
    """Issue 12: a 3-year-old with RR 26 and HR 135 got two URGENT pages on adult NEWS2 rules."""
    r = row(0, source="manual", respiratory_rate=26, heart_rate=135, news2_respiratory_rate=3, news2_partial=5,
            news2_not_applicable="NEWS2 is not validated for patients under 16 (RCP 2017)")
    pages, _, alerts = run([r])
    assert pages == [("open", "urgent", "heart_rate_high")]
    assert "(adult limit)" in alerts[0].message and "NEWS2 not applicable: NEWS2 is not validated" in alerts[0].message


def test_icu_ships_its_own_news2_defaults_and_an_order_adjusts_a_patient():
    icu = [row(0, source="manual", unit="ICU", news2_total=6, news2_band="medium")]
    assert run(icu)[0] == []
    assert run([{**icu[0], "news2_total": 7, "news2_band": "high"}])[0] == [("open", "urgent", "news2")]
    det = Detector(SETTINGS)
    state = PatientState()
    det.step(state, row(0, heart_rate=80))
    det.on_encounter(state, {"event": "order", "ts": T0 * 1000, "patient_id": "P-1", "limits": {"spo2.low": 88}})
    assert run([row(10, source="manual", spo2=89)], det=det, state=state)[0] == []


@pytest.mark.parametrize("value,expected", [(40, True), (41, False), (35, True)])
def test_bradycardia_limits(value, expected):
    assert bool(run([row(0, source="manual", heart_rate=value)])[0]) is expected


def test_settings_fail_fast_naming_the_setting():
    with pytest.raises(ValueError, match="detection.spo2.low"):
        Detector({k: v for k, v in SETTINGS.items() if k != "detection.spo2.low"})
    with pytest.raises(ValueError, match="unknown setting 'spo2.lo'"):
        Detector({**SETTINGS, "detection.unit.overrides": "ICU:spo2.lo=1"})
    with pytest.raises(ValueError, match="'replay' is set for the whole job, not per unit"):
        Detector({**SETTINGS, "detection.unit.overrides": "ICU:replay=1"})  # would be ignored, silently
    with pytest.raises(ValueError, match="detection.escalation"):
        Detector({**SETTINGS, "detection.escalation": "charge_nurse@0"})


def test_triage_wait():
    det = Detector(SETTINGS)
    ev = {"event": "er_triage", "patient_id": "P-9", "encounter_id": "E-9", "hospital_id": "H01", "unit": "ER",
          "bed": "ER-04", "ts": 1_795_000_000_000, "arrival_ts": 1_795_000_000_000 - 22 * 60_000,
          "triage_level": 2, "wait_minutes": 22.0}
    [a] = det.on_encounter(PatientState(), ev)
    assert (a.rule, a.severity) == ("triage_wait", "urgent")
    assert a.message == "URGENT H01 ER bed ER-04: triage 2 patient waited 22 min (limit 15) since 10:44Z"
    assert det.on_encounter(PatientState(), {**ev, "wait_minutes": 15.0}) == []


def test_a_lone_score_of_3_pages_on_the_ward_not_in_icu():
    """bench.detection: ICU patients without a deterioration got 23 red-score pages a day (SBP <= 90
    or RR >= 25 under continuous nursing); the ICU default (news2.red_score=0) keeps them off the pager."""
    r = dict(source="manual", systolic_bp=88, news2_systolic_bp=3, news2_total=3, news2_band="low-medium")
    assert run([row(0, **r)])[0] == [("open", "urgent", "news2_red_score")]
    assert run([row(0, unit="ICU", **r)])[0] == []


def test_a_rapid_rise_pages_only_near_the_urgent_threshold():
    """bench.detection: 'NEWS2 rose 0->3' paged URGENT on patients without a deterioration 19 times a day;
    a rise that ends in the low band is a trend for the board. 1->4 (one below urgent) still pages."""
    def rise(to):
        return [row(0, source="manual", news2_total=to - 3, news2_band="low"),
                row(600, source="manual", news2_total=to, news2_band="low")]
    assert run(rise(3))[0] == []
    assert run(rise(4))[0] == [("open", "urgent", "news2_rapid_rise")]


def test_a_value_hovering_about_the_recovery_margin_keeps_one_episode():
    """bench.detection: a scale-2 patient at SpO2 86-90% was paged 'open' seven times a day, and a
    paroxysmal arrhythmia every 20 min, each dip after a short recovery past the margin a new
    episode; monitor data must stay recovered for clear.confirm.ms (30 min)."""
    spo2 = [87] * 6 + [96] * 12 + [87] * 6 + [96] * 12 + [87] * 6  # 5-s monitor: 1-minute recoveries
    pages = run([row(5 * i, spo2=v) for i, v in enumerate(spo2)])[0]
    assert [p for p in pages if p[0] == "open"] == [("open", "urgent", "spo2_low")]
    # Recovered for 30 minutes, it ends: the next dip is a new episode.
    rows = [row(5 * i, spo2=87) for i in range(6)] + [row(30 + 5 * i, spo2=96) for i in range(370)]
    rows += [row(1900 + 5 * i, spo2=87) for i in range(6)]
    assert [p[0] for p in run(rows)[0] if p[0] in ("open", "all-clear")] == ["open", "all-clear", "open"]


def test_a_red_score_clears_only_once_the_parameter_settles():
    """A systolic hovering at the 2/3 boundary (88, 95, 88 ...) was a new red-score page at each crossing."""
    def sbp(ts, value):
        score = 3 if value <= 90 else 2 if value <= 100 else 1 if value <= 110 else 0
        return row(ts, source="manual", systolic_bp=value, news2_systolic_bp=score, news2_total=score)
    pages = run([sbp(0, 88), sbp(900, 95), sbp(1800, 88), sbp(2700, 96), sbp(3600, 89)])[0]
    assert [p for p in pages if p[0] in ("open", "all-clear")] == [("open", "urgent", "news2_red_score")]
    settled = run([sbp(0, 88), sbp(900, 115), sbp(1800, 88)])[0]
    assert [p[0] for p in settled if p[0] in ("open", "all-clear")] == ["open", "all-clear", "open"]


def test_device_clock_jitter_does_not_hold_back_a_steady_critical_value():
    """bench.detection: a steady HR of 151-161 on a 5-s monitor waited 70 s, five readings spanning
    19.9 s instead of 20 s again and again."""
    rows = [row(4.98 * i, unit="ICU", heart_rate=155) for i in range(12)]
    first = next(a for a in run(rows)[2] if a.severity == "critical")
    assert first.ts_ms - rows[0]["ts"] <= 20_000


def test_page_texts_say_the_limit_of_the_tier_they_page():
    """make run: 'CRITICAL ... Heart rate 40/min (limit <=40)' and 'URGENT ... Heart rate 35/min (limit <=35)'."""
    det = Detector(SETTINGS)
    state = PatientState()
    # Urgent (HR <= 40 for 20 s), then a critical reading not yet confirmed: still said against <= 40.
    pages = [a for r in [row(5 * i, heart_rate=38) for i in range(6)] for a in det.step(state, r) if a.paged]
    assert [a.severity for a in pages] == ["urgent"] and "(limit <=40)" in pages[0].message
    det.step(state, row(30, heart_rate=35))
    assert state.conditions["heart_rate_low"].text == "Heart rate 35/min (limit <=40)"
    # Critical confirmed, then a reading back at 40: the critical condition keeps its critical reading's text.
    crit = [a for r in [row(35 + 5 * i, heart_rate=33) for i in range(6)] for a in det.step(state, r) if a.paged]
    assert crit[-1].severity == "critical" and "33/min (limit <=35)" in crit[-1].message
    det.step(state, row(70, heart_rate=40))
    assert state.conditions["heart_rate_low"].text == "Heart rate 33/min (limit <=35)"


def test_back_up_to_a_severity_already_paged_is_not_worse():
    """make run: CRITICAL, a silent de-escalation (10 min without a critical reading), then 'WORSE
    CRITICAL' seconds later for the same heart rate: worse means past what was paged."""
    det = Detector(SETTINGS)
    state = PatientState()
    rows = [row(5 * i, heart_rate=33) for i in range(6)]  # critical, confirmed
    rows += [row(30 + 60 * m, heart_rate=38) for m in range(12)]  # 11 min urgent: de-escalates
    rows += [row(800 + 5 * i, heart_rate=32) for i in range(6)]  # critical again
    pages = [(a.status, a.severity) for r in rows for a in det.step(state, r) if a.paged]
    assert [p for p in pages if p[0] != "escalated"] == [("open", "critical")]  # unanswered: escalations aside
    assert state.episode.severity == "critical"
    # From urgent to critical for the first time is worse, and paged.
    state = PatientState()
    rows = [row(5 * i, heart_rate=38) for i in range(6)] + [row(30 + 5 * i, heart_rate=33) for i in range(6)]
    assert [(a.status, a.severity) for r in rows for a in det.step(state, r) if a.paged] == [
        ("open", "urgent"), ("worsened", "critical")]


def test_a_critical_condition_de_escalates_while_the_standard_breach_goes_on():
    """README: 'a critical condition de-escalates after 10 min without a critical reading'. It did not
    while the value stayed past the standard limit (the confirmed branch returned first)."""
    det = Detector(SETTINGS)
    state = PatientState()
    for r in [row(5 * i, heart_rate=33) for i in range(6)] + [row(30 + 60 * m, heart_rate=38) for m in range(12)]:
        det.step(state, r)
    assert state.conditions["heart_rate_low"].active and not state.conditions["heart_rate_low"].critical
    assert state.episode.severity == "urgent"


def test_a_timer_page_raised_again_after_a_restart_keeps_its_page_id():
    """A soak's job restarted from a checkpoint 13 minutes old and paged 91 escalations and
    re-alerts a second time: a timer raises its page at the processing time it fires, which is
    later on the replay, and the page id carried that time, so the ledger took each for a new page."""
    det = Detector(SETTINGS)
    state = PatientState()
    det.step(state, row(0, source="manual", spo2=90))
    checkpoint = pickle.dumps(state)  # what the last checkpoint holds
    [first] = det.tick(state, (T0 + 10 * 60) * 1000)  # the timer fires: escalated to the charge nurse
    [again] = det.tick(pickle.loads(checkpoint), (T0 + 10 * 60 + 37) * 1000)  # the restarted job's timer
    assert (first.status, again.alert_id) == ("escalated", first.alert_id) and again.ts_ms != first.ts_ms
    assert page_id(again) == page_id(first)  # the ledger drops the repeat


def test_a_second_escalation_after_an_acknowledgement_is_a_page_of_its_own():
    """An acknowledgement resets the escalation tiers, so the same tier is paged again later in the
    episode: that page must not share an id with the first (the ledger would drop it)."""
    det = Detector(SETTINGS)
    state = PatientState()
    pages = []
    for m in range(0, 171, 5):
        pages += [a for a in det.step(state, row(60 * m, source="manual", spo2=90)) if a.paged]
        if m == 15:  # the charge nurse answers the escalation
            det.on_ack(state, AckEvent("A1", "P-1", "H01", "nurse-7", (T0 + 60 * m) * 1000, alert_id=pages[0].alert_id))
    escalations = [a for a in pages if a.status == "escalated" and a.tier == "charge_nurse"]
    assert [round((a.ts_ms / 1000 - T0) / 60) for a in escalations] == [10, 145]
    assert len({page_id(a) for a in escalations}) == 2 and len({a.alert_id for a in escalations}) == 2
