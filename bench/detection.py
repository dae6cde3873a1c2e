"""Detection judged by what it pages, against the simulator's ground truth.

Simulated days (default 3 seeds x 200 patients x 24 h) go through the job's own per-patient
path (JSON decode -> carry-forward -> enrich -> detection, ``core.patient_path``) with
the readings' own time as the clock. The simulator records every deterioration scenario
(onset, full severity, treatment, end, oxygen start, traits) and every artefact it injected
(``producer/physiology.py``: motion desaturations, probe off, ECG motion, cuff errors).

    .venv/bin/python -m bench.detection [--seeds 3] [--patients 200] [--hours 24] [--label after]

Prints one table and adds an entry (keyed by ``--label``) to ``bench/results/detection.json``.
A page is an alert a clinician's pager receives: not an all-clear, not one recorded only. A
deterioration is *observable* when the data shows it before full severity (a non-artefact value
past a standard limit, or a NEWS2 or partial sum of 5 or more); ``in_hospital`` counts all.
The simulated ward acknowledges each page of an episode (open, worse, re-alert, escalated) after
``--ack-after-min`` minutes (0: never).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson

from producer.hospital import HOUR_MS, MINUTE_MS, Simulator, unit_kind

RESULTS = Path(__file__).parent / "results" / "detection.json"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
CADENCE_S = {"ICU": 5, "Surgery": 10, "Recovery": 15, "ER": 30, "Ward": 60}  # fastest device per unit kind
CRITICAL = {"spo2_low": ("spo2", lambda v: v < 85), "heart_rate_high": ("heart_rate", lambda v: v >= 150),
            "heart_rate_low": ("heart_rate", lambda v: v <= 35)}
RULE_VITALS = {"spo2_low": {"spo2"}, "heart_rate_high": {"heart_rate"}, "heart_rate_low": {"heart_rate"}}
ALL_VITALS = {"spo2", "heart_rate", "systolic_bp"}


def is_page(alert) -> bool:
    return getattr(alert, "paged", True) and alert.status != "all-clear" and alert.severity != "info"


def ward_ack(alert, ack_after_min: float) -> tuple[int, bytes] | None:
    """(due, record): the simulated ward acknowledging a page ``ack_after_min`` minutes after it,
    as the ward board sends it; None for a page nobody acknowledges (or with 0 minutes, any)."""
    if not (ack_after_min and is_page(alert) and alert.status in ("open", "worsened", "re-alert", "escalated")
            and alert.episode_id):
        return None
    due = alert.ts_ms + int(ack_after_min * MINUTE_MS)
    return due, orjson.dumps({"schema_version": 1, "type": "ack", "ack_id": f"A-{alert.alert_id}",
                              "patient_id": alert.patient_id, "hospital_id": alert.hospital_id, "by": "nurse",
                              "alert_id": alert.alert_id, "ts": due})


def replay(seed: int, patients: int, hours: float, ack_after_min: float = 3) -> dict:
    """One simulated day through the per-patient path; the raw facts the metrics need.

    The ward answers: ``ack_after_min`` minutes after each open, worsened or escalated page a
    nurse acknowledges it (an acknowledgement event on the stream, as the ward board sends);
    0 leaves every page unanswered."""
    from core import patient_path
    from core.detect import PatientState
    from core.schema.events import InvalidRecord, decode

    sim = Simulator(n_patients=patients, seed=seed, start_ms=START_MS)
    path = patient_path.PatientPath(patient_path.default_settings())
    states: dict = {}
    pages: list[dict] = []
    readings: dict[str, list[tuple[int, str, dict]]] = defaultdict(list)
    end = START_MS + int(hours * HOUR_MS)
    t0 = time.perf_counter()
    n = 0
    next_tick = START_MS + MINUTE_MS
    acks: list[tuple[int, bytes]] = []  # (due, ack record), kept in time order

    def record(alert) -> None:
        if not is_page(alert):
            return
        pages.append({"patient_id": alert.patient_id, "ts": alert.ts_ms, "rule": alert.rule,
                      "status": alert.status, "severity": alert.severity, "unit": alert.unit, "message": alert.message})
        ack = ward_ack(alert, ack_after_min)
        if ack is not None:
            acks.append(ack)
            acks.sort(key=lambda a: a[0])

    for event in sim.events(until_ms=end):
        while acks and acks[0][0] <= event["ts"]:
            due, ack = acks.pop(0)
            path.process(states, ack, now_ms=due)
        while event["ts"] >= next_tick and hasattr(path, "tick"):  # the job's detection timer, each minute
            for state in states.values():
                for alert in path.tick(state, next_tick):
                    record(alert)
            next_tick += MINUTE_MS
        try:
            decoded = decode(orjson.dumps(event), now_ms=event["ts"])
        except InvalidRecord:
            continue
        state = states.setdefault(decoded.patient_id, PatientState())
        table, row, alerts = path.handle(state, decoded, ("", "", event["ts"], event["ts"]))
        if table == "vitals":
            n += 1
            news2 = None if row["news2_not_applicable"] else max(row["news2_total"] or 0, row["news2_partial"] or 0)
            readings[row["patient_id"]].append((row["ts"], row["unit"], {"spo2": row["spo2"], "heart_rate": row["heart_rate"],
                                                                     "news2": news2, "scale": row["spo2_scale"]}))
        for alert in alerts:
            record(alert)
    elapsed = time.perf_counter() - t0
    return {"seed": seed, "readings": n, "seconds": elapsed, "pages": pages,
            "readings_by_patient": {p: r for p, r in readings.items()}, "truth": sim.patient_truth(), "end_ms": end}


def _covered(artefacts: list[dict], ts: int, vitals: set[str]) -> bool:
    """A value-changing artefact (not a probe off, which sends no value) covers this vital at ``ts``."""
    return any(a["start_ms"] <= ts <= a["end_ms"] and a["vital"] in vitals and a["kind"] != "probe_off"
               for a in artefacts)


def _evident(reading: tuple, artefacts: list[dict]) -> bool:
    """The data shows the deterioration: a measured (non-artefact) value past a standard limit,
    or a NEWS2 (or a partial sum proving it) of 5 or more."""
    ts, _, v = reading
    if _covered(artefacts, ts, ALL_VITALS):
        return False
    spo2_limit = 88 if v.get("scale") == 2 else 92
    return bool((v.get("news2") or 0) >= 5 or (v.get("heart_rate") is not None and not 40 < v["heart_rate"] < 131)
                or (v.get("spo2") is not None and v["spo2"] < spo2_limit))


def _hovering(scenario: dict | None, vital: str, is_critical) -> bool:
    """A heart rate whose simulated rhythm is not itself past the critical limit (the bradycardia
    runs at 36/min, one above the limit of 35): its critical readings are the beat-to-beat spread
    (+-3/min) around it. Reported apart from true critical events, whose latency is the target."""
    rate = (scenario or {}).get("arrhythmia_rate")
    return vital == "heart_rate" and rate is not None and not is_critical(rate)


def metrics(runs: list[dict]) -> dict:
    scen: dict[str, dict] = defaultdict(lambda: {"in_hospital": 0, "observable": 0, "paged": 0, "before_full": 0,
                                                 "leads_h": []})
    quiet_pages = quiet_hours = 0.0
    quiet_by_rule: Counter = Counter()  # what the pages of patients with no deterioration were
    artefact_rules: Counter = Counter()
    total_pages = realerts = 0
    worst_hours: list[int] = []
    artefact_critical = artefact_any = 0
    latency: dict[str, list[float]] = defaultdict(list)
    hovering: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        by_patient: dict[str, list[dict]] = defaultdict(list)
        for page in run["pages"]:
            by_patient[page["patient_id"]].append(page)
        total_pages += len(run["pages"])
        realerts += sum(p["status"] == "re-alert" for p in run["pages"])
        for truth in run["truth"]:
            pid = truth["patient_id"]
            reads = run["readings_by_patient"].get(pid, [])
            if not reads:
                continue
            pages = sorted(by_patient.get(pid, []), key=lambda p: p["ts"])
            page_ts = [p["ts"] for p in pages]
            for page in pages:
                vitals = RULE_VITALS.get(page["rule"], ALL_VITALS)
                if page["status"] in ("open", "worsened") and _covered(truth["artefacts"], page["ts"], vitals):
                    artefact_any += 1
                    artefact_critical += page["severity"] == "critical"
                    artefact_rules[f"{page['rule']} {page['severity']}"] += 1
            sc = truth["scenario"]
            if sc is None:
                quiet_pages += len(pages)
                quiet_by_rule.update(f"{p['rule']} {p['status']}" for p in pages)
                quiet_hours += (reads[-1][0] - reads[0][0]) / HOUR_MS
                continue
            read_ts = [r[0] for r in reads]
            onset, full = sc["onset_ms"], sc["full_severity_ms"]
            present = bisect_right(read_ts, full) > bisect_left(read_ts, onset) and read_ts[-1] >= full
            evidence = any(_evident(r, truth["artefacts"]) for r in reads[bisect_left(read_ts, onset):bisect_right(read_ts, full)])
            if present and full <= run["end_ms"]:
                scen[sc["scenario"]]["in_hospital"] += 1
            if present and evidence and full <= run["end_ms"]:
                s = scen[sc["scenario"]]
                s["observable"] += 1
                during = [t for t in page_ts if onset <= t <= sc["end_ms"]]
                if during:
                    s["paged"] += 1
                before = [t for t in page_ts if onset <= t <= full]
                if before:
                    s["before_full"] += 1
                    s["leads_h"].append((full - before[0]) / HOUR_MS)
            # Pages in the patient's worst hour (sliding 60 min).
            worst = max((bisect_right(page_ts, t + HOUR_MS - 1) - i for i, t in enumerate(page_ts)), default=0)
            worst_hours.append(worst)
            # Added latency of the critical tier: first genuine critical value -> first critical page of its rule.
            for vital, is_critical in CRITICAL.values():
                first = next((r for r in reads if r[2].get(vital) is not None and is_critical(r[2][vital])
                              and not _covered(truth["artefacts"], r[0], {vital})), None)
                if first is None:
                    continue
                if any(p["severity"] == "critical" and first[0] - 30 * MINUTE_MS <= p["ts"] < first[0] for p in pages):
                    continue  # already in a critical episode: nothing new to page
                paged = next((p["ts"] for p in pages if p["severity"] == "critical" and p["ts"] >= first[0]), None)
                if paged is not None and paged - first[0] <= 10 * MINUTE_MS:
                    (hovering if _hovering(sc, vital, is_critical) else latency)[unit_kind(first[1])].append(
                        (paged - first[0]) / 1000)
    scenarios = {}
    for kind, s in sorted(scen.items()):
        scenarios[kind] = {"in_hospital": s["in_hospital"], "observable": s["observable"], "paged": s["paged"], "paged_before_full": s["before_full"],
                           "share_before_full": round(s["before_full"] / s["observable"], 3) if s["observable"] else None,
                           "median_lead_h": round(statistics.median(s["leads_h"]), 2) if s["leads_h"] else None}
    def summary(by_kind: dict[str, list[float]]) -> dict:
        return {kind: {"cadence_s": CADENCE_S.get(kind), "events": len(v), "median_s": round(statistics.median(v), 1),
                       "max_s": round(max(v), 1)} for kind, v in sorted(by_kind.items()) if v}
    return {
        "scenarios": scenarios,
        "quiet_pages_per_100_patient_hours": round(100 * quiet_pages / quiet_hours, 2) if quiet_hours else None,
        "quiet_patient_hours": round(quiet_hours),
        "quiet_pages_by_rule": dict(quiet_by_rule.most_common()),
        "artefact_pages_by_rule": dict(artefact_rules.most_common()),
        "pages": total_pages,
        "realert_share": round(realerts / total_pages, 3) if total_pages else None,
        "worst_hour_pages_median": statistics.median(worst_hours) if worst_hours else None,
        "worst_hour_pages_max": max(worst_hours, default=None),
        "artefacts_paged": artefact_any,
        "artefacts_paged_critical": artefact_critical,
        "critical_added_latency_s": summary(latency),
        "critical_hovering_latency_s": summary(hovering),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--label", default="current")
    parser.add_argument("--ack-after-min", type=float, default=3)
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    with ProcessPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(replay, seeds, [args.patients] * len(seeds), [args.hours] * len(seeds),
                             [args.ack_after_min] * len(seeds)))
    result = metrics(runs)
    result.update(label=args.label, seeds=seeds, ack_after_min=args.ack_after_min, patients=args.patients, hours=args.hours,
                  readings=sum(r["readings"] for r in runs),
                  commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip())
    print(json.dumps(result, indent=1))
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    saved[args.label] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(saved, indent=1) + "\n")


if __name__ == "__main__":
    main()
