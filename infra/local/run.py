"""``make run``: the whole pipeline on one machine.

Starts a moto server (the local AWS), creates the streams, alert topic, pager queue and page
ledger, starts the Flink job, the alert delivery service (``alerts/``, a KCL consumer of the
alerts stream), the ward board (``board/``, on 127.0.0.1) and the producer, prints every page
the pager receives, and at the end (or on Ctrl-C) stops everything it started and prints a
summary. ``SEED`` picks the simulated population; ``FRESH=1`` starts a new lake (the old one
is kept beside it), and a run that would add the same patients to a day the lake already
holds says so before it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.java import check_java
from core.windows import UNIT_DEADLINE_GRACE_MS
from infra.local.stack import (
    MotoServer,
    PageDeduplicator,
    create_resources,
    delivery_settings,
    receive_pages,
    use_local_credentials,
)

ROOT = Path(__file__).resolve().parents[2]
IDLE_CLOSE_MS, FLUSH_MS = 3000, 2000  # windows.idle.close.ms and lake.flush.interval.ms of a local run


def lake_files(lake: Path) -> set[Path]:
    return set(lake.glob("*/dt=*/hour=*/*.parquet")) if lake.exists() else set()


def lake_counts(files: set[Path]) -> dict[str, dict[str, int]]:
    """Rows and files per table among ``files``."""
    import pyarrow.parquet as pq

    out: dict[str, dict[str, int]] = {}
    for f in files:
        table = f.parts[-4]
        entry = out.setdefault(table, {"files": 0, "rows": 0})
        entry["files"] += 1
        entry["rows"] += pq.ParquetFile(f).metadata.num_rows
    return out


class Pager(threading.Thread):
    """Polls the SQS pager queue and prints each alert as it arrives."""

    def __init__(self, sqs, queue_url: str):
        super().__init__(daemon=True)
        self.sqs, self.queue_url = sqs, queue_url
        self.received: list[dict] = []
        self.dedup = PageDeduplicator()  # a repeat of a page id is the same page: shown once
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                pages = receive_pages(self.sqs, self.queue_url, wait_s=1)
            except Exception as exc:  # the moto server is going away at shutdown
                if not self.stopping.is_set():
                    print(f"pager: {exc}", file=sys.stderr)
                time.sleep(0.5)
                continue
            for page in pages:
                if self.dedup.first_time(page):
                    self.received.append(page)
                    print(f"[PAGER {time.strftime('%H:%M:%S')}] {page['alert']['text']}", flush=True)


def wait_for_delivery(status_file: Path, pager: Pager | None, timeout_s: float) -> None:
    """Let the delivery service page what the job wrote last (it polls the alerts stream)."""
    from alerts.consumer import read_status

    deadline = time.monotonic() + timeout_s
    last, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        status = read_status(str(status_file))
        if status != last:
            last, quiet_since = status, time.monotonic()
        elif time.monotonic() - quiet_since > 4 and not status.get("held"):
            return
        time.sleep(0.5)


def archive_progress(state_file: Path) -> dict:
    """What the raw-zone archiver has filed so far (records, files), from the state it saves after each file."""
    return json.loads(state_file.read_text()) if state_file.exists() else {}


def rotate(path: Path, keep: int = 5) -> Path:
    """Keep the last ``keep`` runs' logs: job.log -> job.log.1 -> ... (the newest run is job.log)."""
    for i in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{i + 1}"))
    if path.exists():
        path.replace(path.with_name(f"{path.name}.1"))
    return path


class FatalWatch(threading.Thread):
    """Prints, once each, the FATAL causes the job logs (Flink's own log, where its Python operators
    write in thread mode): a job that cannot read must not look healthy on the console."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder, self.seen, self.offsets = folder, set(), {}
        self.stopping = threading.Event()

    def scan(self) -> list[str]:
        new = []
        for path in sorted(self.folder.glob("*.log")):
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path, 0))
                chunk = f.read()
                self.offsets[path] = f.tell()
            for line in chunk.decode("utf-8", "replace").splitlines():
                if " ERROR " in line and "FATAL: " in line:
                    message = line[line.index("FATAL: "):].strip()
                    if message not in self.seen:
                        self.seen.add(message)
                        new.append(message)
        return new

    def run(self) -> None:
        while not self.stopping.wait(2):
            for message in self.scan():
                print(f"run: THE JOB IS FAILING and restarting: {message} (log: {self.folder})", file=sys.stderr,
                      flush=True)


def status_line(stats_file: Path, counter: LakeCounter, status_file: Path) -> str:
    """What the pipeline has done so far, for a line every few seconds."""
    from alerts.consumer import read_status

    sent = json.loads(stats_file.read_text()).get("sent", 0) if stats_file.exists() else 0
    rows = counter.rows()
    status = read_status(str(status_file))
    lag = "lag -" if counter.lag_s is None else f"lag {counter.lag_s:,.1f} s"
    return (f"run: status: {sent:,} sent · {rows.get('vitals', 0) + rows.get('encounters', 0):,} in the lake ({lag}) · "
            f"{rows.get('dead_letter', 0):,} dead-lettered · {counter.late:,} late · {rows.get('alerts', 0):,} alerts · "
            f"{status.get('delivered', 0):,} pages delivered, {status.get('held', 0):,} held")


class LakeCounter:
    """Rows per table in the files written since the run began, counted once per file; with the
    late readings among them, and the job's lag: how long the newest readings waited between
    arriving in Kinesis and being processed (None until a file of readings comes)."""

    def __init__(self, lake: Path, before: set[Path]):
        self.lake, self.before, self.counted, self.totals = lake, before, set(), {}
        self.late, self.lag_s = 0, None

    def rows(self) -> dict[str, int]:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        new = lake_files(self.lake) - self.before - self.counted
        vitals = {f for f in new if f.parts[-4] == "vitals"}
        for table, entry in lake_counts(new - vitals).items():
            self.totals[table] = self.totals.get(table, 0) + entry["rows"]
        readings = [pq.read_table(f, columns=["late", "arrival_ts", "processed_ts"]) for f in vitals]
        if readings:  # read once: rows, late readings and lag from the same columns
            self.totals["vitals"] = self.totals.get("vitals", 0) + sum(t.num_rows for t in readings)
            self.late += sum(pc.sum(t["late"]).as_py() or 0 for t in readings)
            newest = max(readings, key=lambda t: pc.max(t["processed_ts"]).as_py())
            ms = [pc.cast(newest[c], "int64") for c in ("processed_ts", "arrival_ts")]
            waited = pc.max(pc.subtract(*ms)).as_py()
            self.lag_s = None if waited is None else waited / 1000
        self.counted |= new
        return dict(self.totals)


def warn_overlap(lake: Path, seed: int, duration: float | None, speed: float) -> None:
    """Say so when this run would write patients the lake already holds for the same day: every
    report over that day would count them twice."""
    if not lake_files(lake):
        return
    import duckdb

    end = time.time()
    start = end - (duration * speed if duration else 3600)
    days = sorted({time.strftime("%Y-%m-%d", time.gmtime(t)) for t in (start, end)})
    prefix = f"P-{seed:04d}-"
    found = duckdb.sql(
        f"SELECT dt, count(DISTINCT patient_id) FROM read_parquet('{lake}/*/dt=*/*/*.parquet', hive_partitioning = true,"
        f" hive_types = {{'dt': VARCHAR, 'hour': INTEGER}}, union_by_name = true) WHERE dt IN ({', '.join('?' * len(days))})"
        " AND starts_with(patient_id, ?) GROUP BY dt", params=[*days, prefix]).fetchall()
    for day, n in found:
        print(f"run: warning: {lake} already holds {n} of this run's patients (SEED={seed}) on {day}: reports for {day} "
              "would count them twice. Use FRESH=1 for a new lake, or another SEED.", file=sys.stderr, flush=True)


def start_board(config_path: Path, run_dir: Path, env: dict, port: int) -> subprocess.Popen | None:
    """The ward board on 127.0.0.1; its URL is printed once it listens."""
    url_file = run_dir / "board.url"
    url_file.unlink(missing_ok=True)
    with open(rotate(run_dir / "board.log"), "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "board", "--config", str(config_path), "--url-file", str(url_file),
                                 "--set", f"board.port={port}"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 20
    while not url_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if url_file.exists():
        print(f"run: ward board on {url_file.read_text()} (live beds, NEWS2 and alerts; acknowledge from it)", flush=True)
    else:
        print(f"run: the ward board did not start (see {run_dir / 'board.log'}); the pipeline runs without it",
              file=sys.stderr, flush=True)
    return proc


def stop_process(proc: subprocess.Popen | None, name: str, timeout: float = 20) -> None:
    """Stop a process this runner started (its own session), politely then firmly."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"run: {name} did not stop in {timeout:.0f}s; killing it", file=sys.stderr)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make run", description=__doc__)
    p.add_argument("--duration", type=float, default=float(os.environ["DURATION"]) if os.environ.get("DURATION") else None,
                   help="seconds to produce for (env DURATION); default: until Ctrl-C")
    p.add_argument("--patients", type=int, default=int(os.environ.get("PATIENTS", 100)))
    p.add_argument("--speed", type=float, default=float(os.environ.get("SPEED", 60)),
                   help="simulated seconds per real second (env SPEED, default 60)")
    p.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", 0)),
                   help="port for the local AWS (env MOTO_PORT); default: a free one")
    p.add_argument("--taskmanagers", type=int, default=int(os.environ.get("TASKMANAGERS", 1)),
                   help="job.taskmanagers (env TASKMANAGERS): 1 = the embedded mini-cluster; N = a local "
                        "session cluster of N TaskManager JVMs")
    p.add_argument("--aggregate", action="store_true", default=os.environ.get("AGGREGATE", "") not in ("", "0"),
                   help="the producer sends KPL-aggregated records (env AGGREGATE=1)")
    p.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 7)),
                   help="the simulated population (env SEED, default 7); another seed gives other patient ids")
    p.add_argument("--fresh", action="store_true", default=os.environ.get("FRESH", "") not in ("", "0"),
                   help="a new lake for this run (env FRESH=1); the old one is moved aside, not deleted")
    p.add_argument("--board-port", type=int, default=int(os.environ.get("BOARD_PORT", 8765)),
                   help="port of the ward board on 127.0.0.1 (env BOARD_PORT, default 8765; 0 = any free port)")
    p.add_argument("--data-dir", type=Path, default=ROOT / "data")
    p.add_argument("--drain-timeout", type=float, default=90, help="seconds to wait for the job to catch up")
    args = p.parse_args(argv)

    # Ctrl-C and SIGTERM both mean "stop cleanly", even when started with SIGINT ignored
    # (as background jobs of a non-interactive shell are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    problem = check_java()
    if problem:
        print(f"run: {problem}", file=sys.stderr)
        return 2
    use_local_credentials()
    data = args.data_dir.resolve()
    run_dir = data / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    lake = data / "lake"
    if args.fresh and lake.exists() and any(lake.iterdir()):
        stamp = time.strftime('%Y%m%d-%H%M%S')
        lake.rename(data / f"lake-{stamp}")
        if (data / "raw").exists():  # the raw zone goes with the lake it can rebuild
            (data / "raw").rename(data / f"raw-{stamp}")
        print(f"run: FRESH=1: a new lake at {lake} and raw zone at {data / 'raw'}; the previous ones are kept at "
              f"{data / f'lake-{stamp}'} and {data / f'raw-{stamp}'}", flush=True)
    else:
        warn_overlap(lake, args.seed, args.duration, args.speed)
    before = lake_files(lake)

    moto = MotoServer(args.moto_port, run_dir / "moto.log").start()
    print(f"run: local AWS (moto) on {moto.endpoint}", flush=True)
    job = producer = delivery = board = archiver = None
    pager = None
    stats_file = run_dir / "producer-stats.json"
    stats_file.unlink(missing_ok=True)
    stats: dict = {}
    interrupted = False
    try:
        res = create_resources(moto.endpoint)
        print(f"run: Kinesis streams {res.stream_name} (2 shards) and {res.alerts_stream}, SNS topic, SQS pager "
              "queue, page ledger created", flush=True)
        config_path = run_dir / "config.json"
        from producer.hospital import Simulator

        names = {h.hospital_id: h.name for h in Simulator(args.patients).hospitals}  # the producer's defaults
        groups: dict[str, dict[str, str]] = {}
        for name, value in delivery_settings(res, **{"delivery.hospital.names": json.dumps(names),
                                                     "delivery.status.file": str(run_dir / "delivery" / "status.json")}).items():
            group, _, key = name.partition(".")
            groups.setdefault(group, {})[key] = value
        groups.update({
            "source": {"stream.name": res.stream_name},
            "lake": {"path": str(lake), "flush.interval.ms": str(FLUSH_MS), "pseudonym.key.file": str(data / "pseudonym.key")},
            "windows": {"idle.close.ms": str(IDLE_CLOSE_MS)},  # the last minute's windows land before the run stops
            "job": {"checkpoint.dir": str(data / "checkpoints"), "checkpoint.interval.ms": "5000",
                    "taskmanagers": str(args.taskmanagers), "cluster.dir": str(data / "cluster")},
        })
        config_path.write_text(json.dumps([{"PropertyGroupId": g, "PropertyMap": m} for g, m in groups.items()], indent=2))
        flink_logs = run_dir / "flink"  # Flink's own log and its Python operators' (thread mode), rotated by Flink
        flink_logs.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FLINK_LOG_DIR": str(flink_logs)}
        watch = FatalWatch(flink_logs)
        watch.scan()  # what earlier runs logged is not news
        watch.start()
        with open(rotate(run_dir / "job.log"), "wb") as job_log:
            job = subprocess.Popen([sys.executable, "-m", "flink_app", "--config", str(config_path)], cwd=ROOT,
                                   env=env, stdout=job_log, stderr=subprocess.STDOUT, start_new_session=True)
        shape = ("one JVM" if args.taskmanagers == 1
                 else f"local cluster of {args.taskmanagers} TaskManagers, logs in {data / 'cluster'}")
        print(f"run: Flink job starting (thread mode, {shape}, checkpoints every 5 s); logs: {run_dir / 'job.log'}, "
              f"{flink_logs}/ (its operators)", flush=True)
        for stale in (run_dir / "delivery").glob("status.*.json"):
            stale.unlink()
        with open(rotate(run_dir / "delivery.log"), "wb") as delivery_log:
            delivery = subprocess.Popen([sys.executable, "-m", "alerts", "--work-dir", str(run_dir / "delivery"),
                                         "--config", str(config_path)], cwd=ROOT, env=env, stdout=delivery_log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        print(f"run: alert delivery service starting (KCL MultiLangDaemon on {res.alerts_stream}); "
              f"log: {run_dir / 'delivery.log'}", flush=True)
        raw = data / "raw"
        (run_dir / "archive-state.json").unlink(missing_ok=True)  # positions in the last run's moto mean nothing now
        with open(rotate(run_dir / "archive.log"), "wb") as archive_log:
            archiver = subprocess.Popen([sys.executable, "-m", "archive", "--stream", res.stream_name, "--raw-dir",
                                         str(raw), "--state-file", str(run_dir / "archive-state.json"),
                                         "--endpoint-url", res.endpoint, "--region", res.region], cwd=ROOT, env=env,
                                        stdout=archive_log, stderr=subprocess.STDOUT, start_new_session=True)
        print(f"run: raw zone: every record of {res.stream_name} kept unchanged under {raw} (what Firehose does on "
              f"AWS; reprocess a day with python -m archive.reprocess); log: {run_dir / 'archive.log'}", flush=True)
        from core import aws

        pager = Pager(aws.client("sqs", res.region, res.endpoint), res.queue_url)
        pager.start()
        board = start_board(config_path, run_dir, env, args.board_port)
        cmd = [sys.executable, "-m", "producer", "--endpoint-url", res.endpoint, "--stream", res.stream_name,
               "--patients", str(args.patients), "--speed", str(args.speed), "--seed", str(args.seed),
               "--stats-file", str(stats_file),
               "--ground-truth", str(run_dir / "ground_truth.jsonl")]
        if args.duration:
            cmd += ["--duration", str(args.duration)]
        if args.aggregate:
            cmd.append("--aggregate")
        producer = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
        print(f"run: producer started: {args.patients} patients at {args.speed:g}x"
              + (f" for {args.duration:g} s" if args.duration else " until Ctrl-C"), flush=True)
        counter, next_status = LakeCounter(lake, before), time.monotonic() + 10
        while producer.poll() is None:
            if job.poll() is not None:
                print(f"run: the Flink job exited with code {job.returncode}; see {run_dir / 'job.log'}", file=sys.stderr)
                break
            if time.monotonic() >= next_status:
                print(status_line(stats_file, counter, run_dir / "delivery" / "status.json"), flush=True)
                next_status = time.monotonic() + 10
            time.sleep(0.5)
    except KeyboardInterrupt:
        interrupted = True
        print("\nrun: stopping… (the job gets 15 s to catch up; Ctrl-C again to skip)", flush=True)
        stop_process(producer, "producer")
    finally:
        stop_process(producer, "producer")
        if stats_file.exists():
            stats = json.loads(stats_file.read_text())
        produced = stats.get("sent", 0)
        if job is not None and job.poll() is None:
            # Let the job read and write what was produced before stopping it.
            if not interrupted:
                print("run: producer done; waiting for the job to drain the stream…", flush=True)
            deadline = time.monotonic() + (15 if interrupted else args.drain_timeout)
            try:
                while time.monotonic() < deadline and job.poll() is None:
                    c = lake_counts(lake_files(lake) - before)
                    consumed = sum(c.get(t, {}).get("rows", 0) for t in ("vitals", "encounters")) + \
                        c.get("dead_letter", {}).get("rows", 0)
                    if consumed >= produced:
                        # The last windows close on their quiet deadlines (the patients' minutes, then the
                        # units' once those minutes are in) and reach the lake on the next flush;
                        # stopped sooner, they were never written.
                        time.sleep((2 * IDLE_CLOSE_MS + UNIT_DEADLINE_GRACE_MS + 2 * FLUSH_MS) / 1000)
                        break
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        stop_process(job, "Flink job")
        archive_state = run_dir / "archive-state.json"
        deadline = time.monotonic() + (3 if interrupted else args.drain_timeout)
        while (archiver is not None and archiver.poll() is None and time.monotonic() < deadline and
               archive_progress(archive_state).get("records", 0) < produced):
            time.sleep(0.5)  # it files what it read every 5 s; the local AWS (and the stream) ends with the run
        stop_process(archiver, "raw-zone archiver")  # and writes what it still holds on SIGTERM
        if delivery is not None and not interrupted:
            wait_for_delivery(run_dir / "delivery" / "status.json", pager, timeout_s=30)
        stop_process(delivery, "alert delivery service", timeout=30)
        stop_process(board, "ward board", timeout=10)
        if pager is not None:
            time.sleep(1.5 if not interrupted else 0)
            pager.stopping.set()
            pager.join(timeout=3)
        moto.stop()
    counts = lake_counts(lake_files(lake) - before)
    from core.schema.tables import TABLES

    rows = {t: counts.get(t, {}).get("rows", 0) for t in TABLES}
    files = sum(v["files"] for v in counts.values())
    consumed = rows["vitals"] + rows["encounters"] + rows["dead_letter"]
    paged = len(pager.received) if pager else 0
    from alerts.consumer import read_status

    status = read_status(str(run_dir / "delivery" / "status.json"))
    print(f"\nWardWatch run summary: {stats.get('sent', 0)} records produced ({stats.get('failed', 0)} failed), "
          f"{consumed} consumed, {rows['dead_letter']} dead-lettered, {rows['alerts']} alerts ({paged} paged), "
          f"{files} files / {sum(rows.values())} rows written under {lake}")
    print("  rows by table: " + ", ".join(f"{t} {n}" for t, n in rows.items()))
    print(f"  delivery: {status.get('delivered', 0)} pages delivered ({status.get('delivered_late', 0)} after being "
          f"held), {status.get('held', 0)} still held, {status.get('duplicates_dropped', 0)} repeats dropped, "
          f"{status.get('dead_lettered', 0)} undeliverable; pager showed {paged}"
          + (f" and dropped {pager.dedup.repeats} repeated page ids" if pager and pager.dedup.repeats else ""))
    archived = archive_progress(archive_state)
    if archived.get("records", 0) < produced:
        print(f"run: warning: the raw zone missed {produced - archived.get('records', 0)} of this run's "
              f"records: the archiver had not caught up when the run stopped (see {run_dir / 'archive.log'})",
              file=sys.stderr)
    print(f"  raw zone: {archived.get('records', 0)} records unchanged in {archived.get('files', 0)} files under "
          f"{data / 'raw'} (python -m archive.reprocess --raw {data / 'raw'} --day <YYYY-MM-DD> rebuilds a day)")
    print(f"  reports over this lake: .venv/bin/python -m reports --lake {lake} --day <YYYY-MM-DD, UTC>")
    print(f"  ward board over this lake: .venv/bin/python -m board --config {run_dir / 'config.json'} --read-only")
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main())
