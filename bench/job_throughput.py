"""Whole-job benchmark: sustained readings/s through the PyFlink job, and alert latency.

    .venv/bin/python -m bench.job_throughput [--backlog 50000] [--live-seconds 40] [--live-rate 500]

1. Throughput: a backlog of simulated readings (1,000 patients) is put into the local Kinesis
   first; the job then drains it.
   Rate = readings committed to the lake per second, from the first Parquet file to the last
   (sampled every 0.5 s): end to end, start-up excluded.
2. Latency: with the job caught up, readings stream in live at --live-rate; every second a new
   patient starts desaturating (SpO2 80), one reading every 10 s, so its third critical reading
   confirms the critical value (detection.critical.confirm: 3 readings spanning 20 s);
   latency = SNS publish time (alerts.streamed_ts, on the alerts stream) - arrival in Kinesis
   (vitals.arrival_ts) of the reading that raised it (the alert's ts).
3. Where the time goes: the same per-reading Python work (decode, carry-forward, enrich,
   detect) timed alone in one process, against the job's per-reading cost.

Writes bench/results/job_throughput.json. Figures are for this machine (2 cores) and moto.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path

import orjson
import pyarrow.dataset as ds

from infra.local.stack import MotoServer, create_resources, use_local_credentials
from producer.hospital import Simulator
from producer.sink import KinesisSink

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "job_throughput.json"
CONFIRMING_READINGS = 3  # detection.critical.confirm.readings


def table(lake: Path, name: str, columns=None) -> list[dict]:
    path = lake / name
    if not path.exists():
        return []
    for _ in range(5):
        try:
            return ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=columns).to_pylist()
        except FileNotFoundError:
            time.sleep(0.2)
    return []


def count(lake: Path, name: str) -> int:
    path = lake / name
    if not path.exists():
        return 0
    try:
        return ds.dataset(path, format="parquet", partitioning="hive").count_rows()
    except FileNotFoundError:
        return 0


def python_work_per_reading(events: list[bytes]) -> float:
    """Seconds per reading of the plain-Python work the job does per reading, in one process."""
    from core.carry_forward import carry_forward
    from core.config import Config
    from core.detect import Detector, PatientState
    from core.enrich import enrich
    from core.schema.events import VitalsReading, decode

    det = Detector({k: v for k, v in Config().as_dict().items() if k.startswith("detection.")})
    states: dict[str, PatientState] = {}
    t0 = time.perf_counter()
    n = 0
    for data in events:
        ev = decode(data)
        if not isinstance(ev, VitalsReading):
            continue
        st = states.setdefault(ev.patient_id, PatientState())
        scored, carried = carry_forward(ev, st.last_seen, 5 * 3600 * 1000)
        det.step(st, enrich(ev, scored=scored, carried=carried))
        n += 1
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=50_000)
    ap.add_argument("--live-seconds", type=int, default=40)
    ap.add_argument("--live-rate", type=int, default=500)
    ap.add_argument("--patients", type=int, default=1000, help="patients in the simulated backlog")
    ap.add_argument("--taskmanagers", type=int, default=2,
                    help="TaskManager JVMs (job.taskmanagers); 1 = the embedded mini-cluster of `make run`")
    ap.add_argument("--aggregate", action="store_true",
                    help="put the readings KPL-aggregated (producer --aggregate): fewer, larger Kinesis records")
    ap.add_argument("--set", action="append", default=[], metavar="GROUP.KEY=VALUE",
                    help="a job setting to benchmark with, e.g. job.parallelism=2 (repeatable)")
    args = ap.parse_args()
    # SIGTERM (e.g. a timeout) must still run the clean-up below: the job runs in its own session.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    use_local_credentials()
    work = Path(tempfile.mkdtemp(prefix="wardwatch-bench-"))
    lake = work / "lake"
    now = int(time.time() * 1000)
    # ~50,000 readings per simulated hour for 1,000 patients: start early enough that the whole
    # backlog lies in the past (the job dead-letters readings stamped in the future).
    hours = max(1, 1000 // args.patients) * math.ceil(args.backlog / 40_000)
    sim = Simulator(args.patients, 5, seed=3, start_ms=now - 3_600_000 * hours)
    backlog = [orjson.dumps(e) for e in islice((e for e in sim.events() if e["type"] == "vitals"), args.backlog)]
    per_reading_python = python_work_per_reading(backlog)
    print(f"plain-Python work per reading (decode, carry-forward, enrich, detect): {per_reading_python * 1e6:.0f} µs")

    with MotoServer(log_path=work / "moto.log") as moto:
        res = create_resources(moto.endpoint, shards=4)
        writer = KinesisSink(res.stream_name, res.region, res.endpoint, aggregate=args.aggregate)
        t0 = time.perf_counter()
        for data in backlog:
            writer.put(orjson.loads(data)["patient_id"], data)
        writer.flush()
        print(f"backlog of {len(backlog)} readings put in {time.perf_counter() - t0:.1f} s")
        config = work / "config.json"
        config.write_text(json.dumps([
            {"PropertyGroupId": "aws", "PropertyMap": {"endpoint.url": res.endpoint, "region": res.region}},
            {"PropertyGroupId": "source", "PropertyMap": {"stream.name": res.stream_name}},
            {"PropertyGroupId": "alerts", "PropertyMap": {"stream.name": res.alerts_stream}},
            {"PropertyGroupId": "lake", "PropertyMap": {"path": str(lake), "flush.interval.ms": "1000"}},
            {"PropertyGroupId": "job", "PropertyMap": {"checkpoint.dir": str(work / "chk"), "cluster.dir": str(work / "cluster"),
                                                       "taskmanagers": str(args.taskmanagers)}},
        ]))
        started = time.perf_counter()
        with open(work / "job.log", "wb") as log:
            extra = [a for s in args.set for a in ("--set", s)]
            job = subprocess.Popen([sys.executable, "-m", "flink_app", "--config", str(config), *extra], cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            # Rate = rows made visible in the lake per second, from the first file to the last: the
            # whole job end to end (source, processing, Parquet commit), start-up excluded.
            first_seen = None
            while (n := count(lake, "vitals")) + count(lake, "dead_letter") < len(backlog):
                if job.poll() is not None or time.perf_counter() - started > 1800:
                    raise SystemExit(f"job stopped or too slow; see {work / 'job.log'}")
                if n and first_seen is None:
                    first_seen = (time.perf_counter(), n)
                time.sleep(0.5)
            done = time.perf_counter()
            dead = count(lake, "dead_letter")  # 0 expected: the backlog is all valid readings
            if first_seen is None:
                first_seen = (done, 0)
            span = max(done - first_seen[0], 1e-3)
            throughput = (len(backlog) - first_seen[1]) / span
            print(f"throughput: {len(backlog) - first_seen[1]} readings committed to the lake in {span:.1f} s = "
                  f"{throughput:,.0f} readings/s (first file {first_seen[0] - started:.0f} s after launch; "
                  f"{dead} dead-lettered)")

            # Live phase: steady readings plus one critical reading per second.
            live_writer = KinesisSink(res.stream_name, res.region, res.endpoint, aggregate=args.aggregate)
            stop = threading.Event()
            sent_critical = []

            def live():
                i = 0
                t_end = time.monotonic() + args.live_seconds
                while time.monotonic() < t_end:
                    tick = time.monotonic()
                    ts = int(time.time() * 1000)
                    for k in range(args.live_rate):
                        # k 0-2: patients L-i, L-(i-10), L-(i-20) send their first, second, third SpO2 80.
                        critical = k < CONFIRMING_READINGS and i >= 10 * k
                        pid = f"L-{i - 10 * k:06d}" if critical else f"N-{k % 200:04d}"
                        rec = {"schema_version": 1, "type": "vitals", "reading_id": f"LIVE-{i}-{k}", "patient_id": pid,
                               "encounter_id": "E", "hospital_id": "H09", "unit": "ICU", "bed": f"B-{k % 200}",
                               "device_id": "m", "ts": ts, "heart_rate": 80, "spo2": 80 if critical else 97}
                        live_writer.put(pid, orjson.dumps(rec))
                        if critical and k == CONFIRMING_READINGS - 1:
                            sent_critical.append(pid)  # its third: the alert is due
                    live_writer.flush()
                    i += 1
                    time.sleep(max(0.0, 1 - (time.monotonic() - tick)))
                stop.set()

            th = threading.Thread(target=live)
            th.start()
            th.join()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                alerts = [a for a in table(lake, "alerts") if a["patient_id"].startswith("L-")]
                if len(alerts) >= len(sent_critical):
                    break
                time.sleep(1)
            vit = {(r["patient_id"], r["ts"]): r for r in table(lake, "vitals", ["patient_id", "ts", "arrival_ts"])
                   if r["patient_id"].startswith("L-")}
            lat = sorted((a["streamed_ts"] - vit[a["patient_id"], a["ts"]]["arrival_ts"]).total_seconds()
                         for a in alerts if a["streamed_ts"] is not None and (a["patient_id"], a["ts"]) in vit)
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGTERM)
                job.wait(60)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    per_reading_job = 1 / throughput
    print(f"alert latency (Kinesis arrival -> SNS publish), {len(lat)} alerts: p50 {p50:.2f} s, p99 {p99:.2f} s")
    print(f"per reading: job {per_reading_job * 1e6:.0f} µs, of which the plain-Python work is "
          f"{per_reading_python * 1e6:.0f} µs ({100 * per_reading_python / per_reading_job:.0f}%); the rest is "
          f"framework (serialisation between Python operators, state access, the JVM/PEMJA bridge) and I/O")
    # One entry per set-up (TaskManagers and settings), so the mini-cluster and the session
    # cluster figures sit side by side; a re-run replaces its own entry.
    runs = json.loads(RESULTS.read_text()).get("runs", {}) if RESULTS.exists() else {}
    name = " ".join([f"taskmanagers={args.taskmanagers}", *(["kpl-aggregated"] if args.aggregate else []), *args.set])
    runs[name] = {
        "taskmanagers": args.taskmanagers, "kpl_aggregated": args.aggregate, "job_settings": args.set, "backlog_readings": len(backlog), "dead_lettered": dead,
        "throughput_readings_per_s": round(throughput),
        "alert_latency_s": {"p50": round(p50, 3), "p99": round(p99, 3), "alerts": len(lat),
                            "live_rate_per_s": args.live_rate},
        "per_reading_us": {"job_wall": round(per_reading_job * 1e6),
                           "plain_python_work": round(per_reading_python * 1e6)},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": {"cpus": os.cpu_count()}, "runs": runs}, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
