"""What a reprocessed day's alerts are worth: one simulated day through the job's per-patient path
live, then again as ``archive.reprocess`` replays it, days later and faster than it happened.

    .venv/bin/python -m bench.reprocess [--patients 100] [--hours 24] [--age-days 3] [--speedup 60]

Live: each record is read as it arrives (processing time = its time), the detection timer ticks
each minute, and the ward acknowledges each page after 3 minutes (as in ``bench.detection``).
Replay: the same records, acknowledgements included (the raw zone keeps every record of the
stream), read ``--age-days`` later at ``--speedup`` times their pace, timers on processing time,
as the replay job reads them; once as before (``detection.replay`` off) and once with it on.

Printed and written to ``bench/results/reprocess.json``: how many of the live day's alert rows and
pages the replay rebuilt exactly (id, status, severity, rule, time, paged, delayed, text), how many
pages it sent too within 5 minutes of the live time (a timer's page takes its timer's clock), and
how many rows it made that the live day did not have.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import orjson

from bench.detection import START_MS, is_page, ward_ack
from core.config import Config
from core.detect import PatientState
from core.patient_path import PatientPath
from producer.hospital import HOUR_MS, MINUTE_MS, Simulator

RESULTS = Path(__file__).parent / "results" / "reprocess.json"
DAY_MS = 24 * HOUR_MS


def key(alert) -> tuple:
    """An alert row as the lake keeps it, less the columns that say when the job read it."""
    return (alert.alert_id, alert.status, alert.severity, alert.rule, alert.ts_ms, alert.paged, alert.delayed,
            alert.message)


class Reader:
    """The job's per-patient path over records, with the job's clock passed in."""

    def __init__(self, replay: bool):
        self.path = PatientPath({**Config().as_dict(), "detection.replay": replay})
        self.states: dict[str, PatientState] = {}
        self.rows: list = []

    def read(self, data: bytes, now_ms: int) -> list:
        alerts = self.path.process(self.states, data, now_ms)
        self.rows += alerts
        return alerts

    def tick(self, processing_ms: int) -> None:
        for state in self.states.values():
            self.rows += self.path.tick(state, processing_ms)


def live(patients: int, hours: float, seed: int, ack_after_min: float) -> tuple[list, list[tuple[int, bytes]]]:
    """The live day's alerts, and every record its stream carried (time, bytes) in arrival order."""
    reader = Reader(replay=False)
    records: list[tuple[int, bytes]] = []
    acks: list[tuple[int, bytes]] = []
    next_tick = START_MS + MINUTE_MS

    def read(ts: int, data: bytes) -> None:
        records.append((ts, data))
        for a in reader.read(data, ts):
            ack = ward_ack(a, ack_after_min)
            if ack is not None:
                acks.append(ack)
                acks.sort(key=lambda x: x[0])

    sim = Simulator(n_patients=patients, seed=seed, start_ms=START_MS)
    for event in sim.events(until_ms=START_MS + int(hours * HOUR_MS)):
        while acks and acks[0][0] <= event["ts"]:
            read(*acks.pop(0))
        while event["ts"] >= next_tick:
            reader.tick(next_tick)
            next_tick += MINUTE_MS
        read(event["ts"], orjson.dumps(event))
    return reader.rows, records


def replayed(records: list[tuple[int, bytes]], replay: bool, age_ms: int, speedup: float) -> list:
    """The same records read ``age_ms`` later at ``speedup`` times their pace, timers on processing time."""
    reader = Reader(replay)
    start = START_MS + age_ms
    step = max(1, int(MINUTE_MS / speedup))  # the timers' grain, as the live run's minute
    next_tick = start + step
    for ts, data in records:
        now = start + int((ts - START_MS) / speedup)
        while now >= next_tick:
            reader.tick(next_tick)
            next_tick += step
        reader.read(data, now)
    return reader.rows


def same_pages(live_rows: list, rows: list, within_ms: int) -> int:
    """Pages of the live day the replay sent too (same id, status, severity, rule, paged, delayed),
    at a time within ``within_ms``: a page a timer raises (re-alert, escalation, overdue) takes the
    time of the timer's clock, which a replay read at another pace reaches a little later."""
    def by_page(alerts: list) -> dict[tuple, list[int]]:
        out: dict[tuple, list[int]] = {}
        for a in alerts:
            if is_page(a):
                k = key(a)
                out.setdefault(k[:4] + k[5:7], []).append(a.ts_ms)
        return out
    want, got = by_page(live_rows), by_page(rows)
    return sum(sum(abs(a - b) <= within_ms for a, b in zip(sorted(ts), sorted(got.get(k, [])), strict=False))
               for k, ts in want.items())


def compare(live_rows: list, rows: list) -> dict:
    want, got = Counter(map(key, live_rows)), Counter(map(key, rows))
    pages_want = Counter(key(a) for a in live_rows if is_page(a))
    pages_got = Counter(key(a) for a in rows if is_page(a))
    return {"alert_rows": sum(got.values()), "rows_rebuilt_exactly": sum((want & got).values()),
            "rows_not_in_live_day": sum((got - want).values()), "pages": sum(pages_got.values()),
            "pages_rebuilt_exactly": sum((pages_want & pages_got).values()),
            "pages_rebuilt_within_5_min": same_pages(live_rows, rows, 5 * MINUTE_MS),
            "delayed_pages": sum(n for k, n in pages_got.items() if k[6])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--hours", type=float, default=24)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--age-days", type=float, default=3, help="how old the day is when it is replayed")
    p.add_argument("--speedup", type=float, default=60, help="how much faster than it happened it is read")
    p.add_argument("--ack-after-min", type=float, default=3)
    args = p.parse_args()
    t0 = time.perf_counter()
    live_rows, records = live(args.patients, args.hours, args.seed, args.ack_after_min)
    age = int(args.age_days * DAY_MS)
    result = {"patients": args.patients, "hours": args.hours, "seed": args.seed, "age_days": args.age_days,
              "speedup": args.speedup, "records": len(records),
              "live": {"alert_rows": len(live_rows), "pages": sum(map(is_page, live_rows)),
                       "delayed_pages": sum(1 for a in live_rows if is_page(a) and a.delayed)},
              "before (detection.replay off)": compare(live_rows, replayed(records, False, age, args.speedup)),
              "after (detection.replay on)": compare(live_rows, replayed(records, True, age, args.speedup)),
              "seconds": round(time.perf_counter() - t0, 1),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                       text=True).stdout.strip()}
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
