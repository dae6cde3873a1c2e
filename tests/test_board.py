"""The ward board: what it reads from the lake, and the page in a real browser.

The fixture lake is written the way the job writes it: every reading goes through the job's
own per-patient path (decode -> carry-forward -> enrich -> detect, ``core.patient_path``) and
its rows and alerts through the job's LakeWriter. The browser test runs the board as
``python -m board`` against that lake and a moto server, drives Debian's Chromium with
Playwright, clicks Acknowledge, reads the acknowledgement the board put on the readings stream,
hands it to the same per-patient path (the job's code, run here without Flink: the Flink
operator around it is tested in test_e2e_pipeline) and writes what it returns to the lake; the
board must then show the episode acknowledged without a reload.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from board.acks import ack_event
from board.wards import BoardSource
from core.config import Config
from core.detect import PatientState, alert_row
from core.patient_path import PatientPath
from core.schema.events import AckEvent, InvalidRecord, decode
from flink_app.io.lake import LakeWriter

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
NAMES = {"H01": "Northgate General", "H02": "Riverside"}
SETTINGS = {"enrich.carry_forward.max_age.ms": 3_600_000}  # values older than 1 h are stale (and not scored)
T0 = (int(time.time()) - 20 * 60) * 1000  # the fixture's readings span the last 20 minutes


def reading(pid, hospital, unit, bed, at_s, **vitals):
    return {"schema_version": 1, "type": "vitals", "reading_id": f"{pid}-{at_s}", "patient_id": pid,
            "encounter_id": f"E-{pid}", "hospital_id": hospital, "unit": unit, "bed": bed, "device_id": f"dev-{pid}",
            "source": "bedside", "ts": T0 + at_s * 1000, **vitals}


NORMAL = {"heart_rate": 72, "respiratory_rate": 14, "spo2": 97, "systolic_bp": 124, "diastolic_bp": 78,
          "temperature_c": 36.8, "consciousness": "A", "on_oxygen": False}


def ward_events() -> list[dict]:
    events = []
    for s in range(0, 20 * 60, 30):
        # H01 ICU-03: hypoxic and tachycardic for 20 minutes (critical SpO2, NEWS2 high) -> an episode that escalates
        events.append(reading("P-A", "H01", "ICU", "ICU-03", s, **{**NORMAL, "spo2": 82, "heart_rate": 128,
                                                                   "respiratory_rate": 27, "on_oxygen": True}))
        # H01 Ward-A-02: well
        events.append(reading("P-B", "H01", "Ward-A", "Ward-A-02", s, **NORMAL))
        # H02 ICU-03 (the same unit and bed name in another hospital): monitor only, no temperature or ACVPU
        events.append(reading("P-C", "H02", "ICU", "ICU-03", s, heart_rate=115, respiratory_rate=23, spo2=94,
                              systolic_bp=102))
    # H02 Ward-B-01: a full set 70 minutes ago (stale now), then heart rate only
    events.append(reading("P-E", "H02", "Ward-B", "Ward-B-01", -50 * 60, **NORMAL))
    events.append(reading("P-E", "H02", "Ward-B", "Ward-B-01", 19 * 60, heart_rate=88))
    # H01 Ward-A-05: readings, then discharged: the bed is free
    events.append(reading("P-D", "H01", "Ward-A", "Ward-A-05", 60, **NORMAL))
    events.append({"schema_version": 1, "type": "encounter", "event_id": "dis-P-D", "event": "discharge",
                   "patient_id": "P-D", "encounter_id": "E-P-D", "hospital_id": "H01", "ts": T0 + 120_000,
                   "unit": "Ward-A", "bed": "Ward-A-05"})
    return sorted(events, key=lambda e: e["ts"])


class FixtureWard:
    """The job's per-patient path over ``ward_events``, written to a lake as the job writes it."""

    def __init__(self, lake: Path):
        self.lake = lake
        self.settings = Config(SETTINGS).as_dict()
        self.path = PatientPath(self.settings)
        self.states: dict[str, PatientState] = {}
        self.writer = LakeWriter(str(lake))
        self.alerts: list = []
        rows: dict[str, list] = {"vitals": [], "encounters": [], "alerts": []}
        for i, event in enumerate(ward_events()):
            alerts = self.handle(json.dumps(event).encode(), rows, i)
            self.alerts += alerts
        last = max(e["ts"] for e in ward_events())
        for state in self.states.values():
            rows["alerts"] += [alert_row(a) for a in self.path.tick(state, last)]
        rows["unit_load_5m"] = [
            {"hospital_id": "H01", "unit": "ICU", "window_start": last - 300_000, "window_end": last, "patients": 1,
             "critical_patients": 1, "urgent_patients": 0, "readings": 10, "alerts": len(self.alerts)},
            {"hospital_id": "H01", "unit": "Ward-A", "window_start": last - 300_000, "window_end": last, "patients": 1,
             "critical_patients": 0, "urgent_patients": 0, "readings": 10, "alerts": 0}]
        for table, table_rows in rows.items():
            self.writer.write(table, table_rows, f"fixture-{table}")

    def handle(self, data: bytes, rows: dict, seq: int) -> list:
        """One record through the job's path, as if it arrived half a second after it was taken."""
        event = decode(data, now_ms=int(time.time() * 1000))
        state = self.states.setdefault(event.patient_id, PatientState())
        now = event.ts_ms + 500
        table, row, alerts = self.path.handle(state, event, ("shard-0", str(seq), now, now))
        if table:
            rows[table].append(row)
        rows["alerts"] += [alert_row(a) for a in alerts]
        return alerts

    def answer(self, data: bytes, n: int) -> list:
        """An acknowledgement from the stream through the job's path; what it returns is written to the lake."""
        rows: dict[str, list] = {"vitals": [], "encounters": [], "alerts": []}
        alerts = self.handle(data, rows, 10_000 + n)
        self.writer.write("alerts", rows["alerts"], f"ack-{n}")
        return alerts


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> FixtureWard:
    return FixtureWard(tmp_path_factory.mktemp("lake"))


def source(ward) -> BoardSource:
    return BoardSource(str(ward.lake), NAMES, stale_after_ms=SETTINGS["enrich.carry_forward.max_age.ms"])


def test_board_shows_every_occupied_bed_with_its_latest_vitals_and_news2(ward):
    board = source(ward).board()
    beds = {(h["hospital_id"], u["unit"], b["bed"]): b for h in board["hospitals"] for u in h["units"] for b in u["beds"]}
    assert set(beds) == {("H01", "ICU", "ICU-03"), ("H01", "Ward-A", "Ward-A-02"), ("H02", "ICU", "ICU-03"),
                         ("H02", "Ward-B", "Ward-B-01")}  # Ward-A-05's patient was discharged
    assert [h["name"] for h in board["hospitals"]] == ["Northgate General", "Riverside"]
    a = beds[("H01", "ICU", "ICU-03")]
    assert a["patient_id"] == "P-A" and a["vitals"]["spo2"]["value"] == 82 and a["news2"]["band"] == "high"
    assert beds[("H01", "Ward-A", "Ward-A-02")]["news2"] == {"total": 0, "partial": 0, "band": "low", "missing": [],
                                                             "carried": [], "spo2_scale": 1}
    c = beds[("H02", "ICU", "ICU-03")]["news2"]  # no temperature or ACVPU: a partial sum and what is missing
    assert c["total"] is None and c["partial"] >= 5 and set(c["missing"]) == {"temperature_c", "consciousness", "on_oxygen"}
    e = beds[("H02", "Ward-B", "Ward-B-01")]["vitals"]
    assert e["heart_rate"] == {"value": 88, "age_s": 30, "stale": False}  # the clock: the newest reading (19.5 min)
    assert e["temperature_c"]["stale"] and e["temperature_c"]["age_s"] == (50 + 19.5) * 60
    icu = next(u for u in board["hospitals"][0]["units"] if u["unit"] == "ICU")
    assert icu["load"]["critical"] == 1 and icu["load"]["patients"] == 1


def test_board_shows_open_episodes_with_their_state(ward):
    board = source(ward).board()
    a = next(b for h in board["hospitals"] for u in h["units"] for b in u["beds"] if b["patient_id"] == "P-A")
    paged = [x for x in ward.alerts if x.patient_id == "P-A"]
    assert paged, "the fixture's hypoxic patient must page"
    [episode] = a["alerts"]  # one voice per patient: one episode on the tile
    last = [x for x in paged if x.status != "acknowledged"][-1]
    assert episode["episode_id"] == paged[0].episode_id and episode["last_alert_id"] == paged[-1].alert_id
    expected = {"open": "open", "worsened": "open", "re-alert": "open", "escalated": "escalated", "overdue": "overdue"}
    assert episode["state"] == expected[paged[-1].status] and episode["severity"] == last.severity
    assert "Northgate General" not in episode["message"] or "ICU-03" in episode["message"]
    others = [b for h in board["hospitals"] for u in h["units"] for b in u["beds"] if b["patient_id"] == "P-B"]
    assert others[0]["alerts"] == []


def test_patient_view_has_the_trend_and_the_alert_timeline(ward):
    p = source(ward).patient("P-A")
    assert (p["hospital"], p["unit"], p["bed"]) == ("Northgate General", "ICU", "ICU-03")
    assert len(p["points"]) == 40 and all(pt["spo2"] == 82 for pt in p["points"])
    assert [t["alert_id"] for t in p["timeline"]] == [a.alert_id for a in ward.alerts if a.patient_id == "P-A"]
    assert source(ward).patient("nobody") is None


def test_acknowledgement_is_the_event_the_job_understands(ward):
    stored = source(ward).alert(ward.alerts[-1].alert_id)
    data = ack_event(stored, "charge nurse 4", now_ms=int(time.time() * 1000), ack_id="k1")
    event = decode(data)
    assert isinstance(event, AckEvent) and event.alert_id == stored["episode_id"] and event.by == "charge nurse 4"
    assert event.patient_id == stored["patient_id"] and event.hospital_id == stored["hospital_id"]
    with pytest.raises(InvalidRecord):
        ack_event(stored, "x" * 300, now_ms=int(time.time() * 1000))  # the job would dead-letter it: never sent
    with pytest.raises(ValueError):
        ack_event(stored, "nurse", action="delete")


@pytest.fixture
def board_server(ward, moto_endpoint, unique, tmp_path):
    from core import aws

    stream = f"board-vitals-{unique}"
    kinesis = aws.client("kinesis", "us-east-1", moto_endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    config = tmp_path / "config.json"
    config.write_text(json.dumps([
        {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": moto_endpoint}},
        {"PropertyGroupId": "source", "PropertyMap": {"stream.name": stream}},
        {"PropertyGroupId": "lake", "PropertyMap": {"path": str(ward.lake)}},
        {"PropertyGroupId": "delivery", "PropertyMap": {"hospital.names": json.dumps(NAMES)}},
        {"PropertyGroupId": "enrich", "PropertyMap": {"carry_forward.max_age.ms": str(SETTINGS["enrich.carry_forward.max_age.ms"])}},
        {"PropertyGroupId": "board", "PropertyMap": {"port": "0"}},
    ]))
    url_file = tmp_path / "url"
    with open(tmp_path / "board.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "board", "--config", str(config), "--url-file", str(url_file)],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 30
    while not url_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "board.log").read_text()
        time.sleep(0.2)
    yield url_file.read_text(), kinesis, stream
    proc.terminate()
    proc.wait(10)


def read_stream(kinesis, stream: str) -> list[bytes]:
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [r["Data"] for r in kinesis.get_records(ShardIterator=it)["Records"]]


def test_ward_board_in_a_real_browser(ward, board_server):
    """Chromium shows the fixture's beds and alerts; Acknowledge reaches the job; the state changes live."""
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
    url, kinesis, stream = board_server
    assert url.startswith("http://127.0.0.1:")
    results = ROOT / "bench" / "results"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(url) else None)
        page.goto(url)
        tiles = page.locator("article.bed")
        expect(tiles).to_have_count(4)
        shown = sorted(zip(page.locator("section.hospital").evaluate_all(
            "hs => hs.flatMap(h => [...h.querySelectorAll('article.bed')].map(b => h.dataset.hospital))"),
            tiles.evaluate_all("bs => bs.map(b => b.dataset.bed)"), strict=True))
        assert shown == [("H01", "ICU-03"), ("H01", "Ward-A-02"), ("H02", "ICU-03"), ("H02", "Ward-B-01")]
        icu = page.locator("section.hospital[data-hospital=H01] article.bed[data-bed=ICU-03]")
        expect(icu.locator(".news2")).to_contain_text("NEWS2 high")
        expect(icu).to_contain_text("SpO₂ 82 %")
        riverside = page.locator("section.hospital[data-hospital=H02] article.bed[data-bed=ICU-03]")
        expect(riverside).to_contain_text("NEWS2 missing: air/O₂, ACVPU, T")
        expect(riverside.locator(".news2")).to_contain_text("partial")
        alert = icu.locator(".alert")
        expect(alert).to_have_count(1)
        state_before = alert.get_attribute("data-state")
        assert state_before in ("open", "escalated", "overdue")
        expect(page.locator("section.hospital[data-hospital=H02] .alert")).to_have_count(len(
            [b for h in source(ward).board()["hospitals"] if h["hospital_id"] == "H02" for u in h["units"]
             for b in u["beds"] for _ in b["alerts"]]))
        page.screenshot(path=str(results / "ward_board.png"), full_page=True)

        # The patient view: trend and timeline
        icu.click()
        expect(page.locator("#patient")).to_be_visible()
        expect(page.locator("#p-title")).to_contain_text("Northgate General (H01), ICU, bed ICU-03")
        expect(page.locator(".chart[data-series=spo2] polyline")).to_have_count(1)
        expect(page.locator("#p-timeline li")).to_have_count(len([a for a in ward.alerts if a.patient_id == "P-A"]))
        page.screenshot(path=str(results / "ward_board_patient.png"), full_page=True)
        page.keyboard.press("Escape")

        # Acknowledge: refused without a name, then sent
        alert.locator("button.ack").click()
        expect(page.locator("#toast")).to_contain_text("Say who is acknowledging")
        assert read_stream(kinesis, stream) == []
        page.fill("#by", "charge nurse 4")
        alert.locator("button.ack").click()
        expect(alert.locator("button.ack")).to_have_text("sent to the job")
        deadline = time.monotonic() + 10
        while not (records := read_stream(kinesis, stream)) and time.monotonic() < deadline:
            time.sleep(0.2)
        [record] = records
        answered = ward.answer(record, 1)  # the job's per-patient path, on the record the board sent
        assert [a.status for a in answered] == ["acknowledged"]
        assert answered[0].episode_id == alert.get_attribute("data-episode")
        # the board sees the new lake file and re-renders without a reload
        expect(icu.locator(".alert")).to_have_attribute("data-state", "acknowledged", timeout=15_000)
        expect(icu.locator("button.ack")).to_have_count(0)
        page.screenshot(path=str(results / "ward_board_acknowledged.png"), full_page=True)
        browser.close()
    assert outside == [], f"the board fetched something not served by itself: {outside}"
