"""The simulator: reproducible, valid, clinically consistent encounters and physiology; clock; replay; CLI."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from core.schema.events import EncounterEvent, VitalsReading, decode, parse_timestamp
from producer import encounters as enc
from producer.clock import SimClock
from producer.hospital import Simulator
from producer.physiology import HOUR_MS, PatientPhysiology, Scenario

ROOT = Path(__file__).resolve().parent.parent
START = parse_timestamp("2026-11-20T00:00:00Z")


@pytest.fixture(scope="module")
def day() -> tuple[list[dict], Simulator]:
    sim = Simulator(60, 2, seed=11, start_ms=START)
    return list(sim.events(START + 24 * HOUR_MS)), sim


def test_same_seed_same_records_different_seed_different():
    a = list(Simulator(20, 1, seed=3, start_ms=START).events(START + HOUR_MS))
    b = list(Simulator(20, 1, seed=3, start_ms=START).events(START + HOUR_MS))
    c = list(Simulator(20, 1, seed=4, start_ms=START).events(START + HOUR_MS))
    assert a == b and a != c


def test_every_record_is_valid_and_in_time_order(day):
    events, _ = day
    decoded = [decode(json.dumps(e)) for e in events]
    census = [d for d in decoded if isinstance(d, EncounterEvent) and d.ts_ms < START]
    assert len(census) == 60 and all(d.event == "admission" for d in census)
    stream = [d.ts_ms for d in decoded if d.ts_ms >= START]
    assert stream == sorted(stream)
    assert len({e["reading_id"] for e in events if e["type"] == "vitals"}) == sum(e["type"] == "vitals" for e in events)


def test_no_name_or_birth_date_on_the_stream(day):
    events, sim = day
    names = {p["name"] for p in sim.registry()}
    blob = "\n".join(json.dumps(e) for e in events)
    assert names and not any(n in blob for n in names)
    assert "date_of_birth" not in blob and '"name"' not in blob


def test_encounters_follow_the_reason_for_visit(day):
    events, _ = day
    reasons = {r.name: r for r in enc.REASONS}
    kinds = defaultdict(int)
    for e in events:
        if e["type"] != "encounter":
            continue
        kinds[e["event"]] += 1
        if e["event"] in ("admission", "er_triage"):
            r = reasons[e["reason_for_visit"]]
            assert e["critical_condition"] == r.critical
            assert r.triage[e["triage_level"] - 1] > 0
        if e["event"] == "er_triage":
            lo, hi = enc.TRIAGE_WAIT_MINUTES[e["triage_level"]]
            assert lo <= e["wait_minutes"] <= hi
            assert e["er_department"] == reasons[e["reason_for_visit"]].er_department
        if e.get("insurance_provider") == "none":
            assert e["payment_method"] in ("cash", "credit card")
        if e.get("payment_method") == "insurance":
            assert e["insurance_provider"] in enc.INSURERS
    assert {"admission", "er_triage", "discharge", "payment"} <= set(kinds)
    assert kinds["discharge"] == kinds["payment"] or kinds["payment"] == kinds["discharge"] - 1  # last bill pending


def test_surgery_goes_to_recovery_then_ward():
    sim = Simulator(40, 1, seed=5, start_ms=START)
    path = defaultdict(list)
    for e in sim.events(START + 3 * 24 * HOUR_MS):
        if e["type"] == "encounter" and e["event"] in ("admission", "transfer"):
            path[e["patient_id"]].append(e["unit"])
    surgical = [units for units in path.values() if units[0] == "Surgery" and len(units) > 1]
    assert surgical and all(units[:3] == ["Surgery", "Recovery", "Ward-A"][: len(units)] for units in surgical)


def _series(p: PatientPhysiology, hours: float, step_min: float = 1) -> list[dict]:
    out, t = [], START
    while t < START + hours * HOUR_MS:
        out.append(dict(p.advance(t)))
        t += int(step_min * 60_000)
    return out


def test_stable_patients_look_like_physiology():
    import random

    for seed in range(20):
        p = PatientPhysiology.new(random.Random(seed), 50)
        s = _series(p, 24)
        hr = [x["heart_rate"] for x in s]
        assert 45 < statistics.median(hr) < 110 and statistics.pstdev(hr) < 12
        assert 12 < statistics.median(x["respiratory_rate"] for x in s) < 20
        assert statistics.median(x["spo2"] for x in s) >= (88 if p.copd else 94)
        assert 35.8 < statistics.median(x["temperature_c"] for x in s) < 37.6
        # mean-reverting, not independent draws: successive minutes are strongly correlated
        assert statistics.correlation(hr[:-1], hr[1:]) > 0.7


@pytest.mark.parametrize("kind,check", [
    ("sepsis", lambda b, a: a["temperature_c"] > b["temperature_c"] + 1.2 and a["heart_rate"] > b["heart_rate"] + 25
     and a["systolic_bp"] < b["systolic_bp"] - 25 and a["respiratory_rate"] > b["respiratory_rate"] + 8),
    ("haemorrhage", lambda b, a: a["heart_rate"] > b["heart_rate"] + 40 and a["systolic_bp"] < b["systolic_bp"] - 35),
    ("respiratory_failure", lambda b, a: a["respiratory_rate"] > b["respiratory_rate"] + 12),
])
def test_deterioration_moves_the_vitals_the_way_the_literature_says(kind, check):
    import random

    p = PatientPhysiology.new(random.Random(1), 60, Scenario(kind, START + HOUR_MS, 2 * HOUR_MS))
    s = _series(p, 5, step_min=5)
    before = {k: statistics.mean(x[k] for x in s[:12]) for k in s[0]}
    after = {k: statistics.mean(x[k] for x in s[-12:]) for k in s[0]}
    assert check(before, after)
    if kind == "respiratory_failure":
        assert p.on_oxygen and p.scenario.oxygen_started_ms > START + HOUR_MS


def test_clock():
    wall = [1000.0]
    clock = SimClock(start_ms=0, speed=60, wall=lambda: wall[0])
    assert clock.wait_s(60_000) == pytest.approx(1.0)  # one simulated minute = one real second
    fast = SimClock(start_ms=0, speed=0, wall=lambda: wall[0])
    assert fast.wait_s(999_000) == 0
    assert fast.wait_s(1_010_000) == pytest.approx(10.0)  # never stamp the future
    with pytest.raises(ValueError):
        SimClock(0, -1)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "producer", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_reproducible_file_output(tmp_path):
    args = ["--patients", "30", "--speed", "0", "--span", "30m", "--start", "2026-11-20T00:00:00Z", "--quiet"]
    assert run_cli(*args, "--out", str(tmp_path / "a.jsonl"), "--ground-truth", str(tmp_path / "gt.jsonl")).returncode == 0
    assert run_cli(*args, "--out", str(tmp_path / "b.jsonl")).returncode == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").stat().st_size > 0


def test_replay_csv_jsonl_and_fhir(tmp_path):
    csv_path = tmp_path / "export.csv"
    csv_path.write_text(
        "type,reading_id,patient_id,encounter_id,hospital_id,unit,bed,device_id,ts,heart_rate,spo2,temperature_f,on_oxygen\n"
        "vitals,r2,P1,E1,H1,ICU,ICU-1,m1,2026-11-20T00:01:00Z,88,95,99.5,false\n"
        "vitals,r1,P1,E1,H1,ICU,ICU-1,m1,2026-11-20T00:00:00Z,86,96,,true\n"
        "vitals,r3,P1,E1,H1,ICU,ICU-1,m1,2026-11-20T00:02:00Z,fast,96,,\n")
    out = tmp_path / "out.jsonl"
    res = run_cli("--replay", str(csv_path), "--speed", "0", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert ("record 3 (sent; the job drops these fields): heart_rate: wrong type: heart_rate must be a number, "
            "got str") in res.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reading_id"] for r in rows] == ["r1", "r2", "r3"]  # replayed in time order; r3 keeps its SpO2
    r2 = decode(json.dumps(rows[1]))
    assert isinstance(r2, VitalsReading) and round(r2.temperature_c, 1) == 37.5 and rows[0]["on_oxygen"] is True

    jl = tmp_path / "export.jsonl"
    jl.write_text(out.read_text() + "{broken\n")
    res = run_cli("--replay", str(jl), "--speed", "0", "--out", str(tmp_path / "o2.jsonl"))
    assert res.returncode == 0 and "line 4: not JSON" in res.stderr
    assert len((tmp_path / "o2.jsonl").read_text().splitlines()) == 3

    bundle = {"resourceType": "Bundle", "entry": [{"resource": {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "subject": {"reference": "Patient/p9"},
        "effectiveDateTime": "2026-11-20T00:00:00Z", "valueQuantity": {"value": 77, "code": "/min"}}}]}
    fh = tmp_path / "bundle.json"
    fh.write_text(json.dumps(bundle))
    res = run_cli("--replay", str(fh), "--speed", "0", "--fhir-unit", "Ward-B", "--fhir-bed", "B-2", "--out",
                  str(tmp_path / "o3.jsonl"))
    assert res.returncode == 0, res.stderr
    [rec] = [json.loads(x) for x in (tmp_path / "o3.jsonl").read_text().splitlines()]
    assert (rec["patient_id"], rec["unit"], rec["bed"], rec["heart_rate"]["value"]) == ("p9", "Ward-B", "B-2", 77)


def test_cli_help_and_bad_arguments():
    res = run_cli("--help")
    assert res.returncode == 0 and "--replay" in res.stdout and "Examples" in res.stdout
    assert run_cli("--patients", "0").returncode == 2
    assert "not a duration" in run_cli("--span", "soon").stderr


def test_cadence_is_configurable():
    from producer.hospital import with_cadence

    units = with_cadence({("Ward", "wearable"): 10})
    sim = Simulator(10, 1, seed=2, start_ms=START, unit_kinds=units)
    ward = [e for e in sim.events(START + HOUR_MS) if e["type"] == "vitals" and e["device_id"].startswith("wearable")]
    default = [e for e in Simulator(10, 1, seed=2, start_ms=START).events(START + HOUR_MS)
               if e["type"] == "vitals" and e["device_id"].startswith("wearable")]
    assert len(ward) > 5 * len(default) > 0
    with pytest.raises(ValueError, match="no device 'pump'"):
        with_cadence({("ICU", "pump"): 1})
    assert "--cadence: unknown unit kind 'Lab'" in run_cli("--cadence", "Lab:x=1").stderr


def test_artefacts_at_their_rates_on_devices_and_none_in_a_nurses_set():
    """Monitors carry motion/probe artefacts (rates cited in physiology.py); a nurse repeats an
    implausible spot reading, so a manual set carries none (the detector acts on it at once)."""
    import random

    from producer.physiology import ARTEFACT_RATES_PER_HOUR, measure

    vitals = ("heart_rate", "spo2", "systolic_bp", "diastolic_bp")
    monitor = PatientPhysiology.new(random.Random(7), 60)
    for i in range(200 * 720):  # 200 h at 5 s
        measure(monitor, START + i * 5000, vitals)
    per_hour = len([a for a in monitor.artefacts if a["kind"] != "cuff_error"]) / 200
    assert 0.5 * sum(ARTEFACT_RATES_PER_HOUR.values()) < per_hour < 1.5 * sum(ARTEFACT_RATES_PER_HOUR.values())
    nurse = PatientPhysiology.new(random.Random(7), 60)
    for i in range(2000):
        measure(nurse, START + i * 3_600_000, vitals, automated=False)
    assert nurse.artefacts == []
