"""Soak benchmark: the whole local pipeline (``make run``) for an hour; memory and checkpoints over time.

    .venv/bin/python -m bench.soak [--minutes 60] [--patients 100] [--speed 60] [--interval 30]

Runs ``infra.local.run`` (moto, the job, the raw-zone archiver, the delivery service with its KCL
JVM, the ward board, the producer) into a scratch data folder, and every ``--interval`` seconds
records the resident memory (RSS) and CPU time of every process it started, by role, the size of the newest
checkpoint, and what has been sent and written. At 60x, an hour of wall time is 60 simulated
hours: patients are admitted and discharged all along (churn), so per-patient state that is never
freed would show as growing job memory and checkpoints.

Flat is the target. The figure per process: RSS at the end of the first tenth (warm), at the end,
the peak, and the slope over the second half in MB per hour (a least-squares line; noise of a few
MB/h is garbage collection and caches), and its CPU in cores over each half (work that grows with
the run's age). For each JVM also, from ``jstat -gc``: the slopes of the old
generation, metaspace, committed heap and of native memory (RSS less committed heap and
metaspace), which say where a growth lives. Writes ``bench/results/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROLES = (  # first match on the command line wins
    ("flink JVM", ("org.apache.flink", "pyflink", "flink-dist")),
    ("KCL JVM", ("MultiLangDaemon", "amazon_kclpy", "kcl")),
    ("job (python)", ("-m flink_app",)),
    ("delivery record processor", ("alerts.consumer", "alerts/consumer")),
    ("delivery (python)", ("-m alerts",)),
    ("raw-zone archiver", ("-m archive",)),
    ("ward board", ("-m board",)),
    ("producer", ("-m producer",)),
    ("moto", ("moto_server",)),
    ("make run", ("infra.local.run",)),
)


def children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(d.name))
    return out


def tree(root: int) -> list[int]:
    kids, out, todo = children(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def role(pid: int) -> str | None:
    try:
        cmd = (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")).decode(errors="replace")
    except OSError:
        return None
    for name, marks in ROLES:
        if any(m in cmd for m in marks):
            return name
    return None


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds the process has used so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_cores(samples: list[dict], role_name: str) -> float | None:
    """A role's CPU use between the first and last of ``samples``, in cores (CPU s per wall s)."""
    points = [(s["t_s"], s["cpu_s"][role_name]) for s in samples if role_name in s.get("cpu_s", {})]
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return None
    return round((points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]), 3)


def jvm_memory(pid: int) -> dict[str, float] | None:
    """Heap, old generation and metaspace in use, and GC so far, from ``jstat -gc`` (the JDK's own
    tool): RSS alone cannot tell a leak on the heap from native memory (PEMJA's embedded Python,
    glibc arenas, direct buffers) or a heap that has simply not been collected yet."""
    try:
        out = subprocess.run(["jstat", "-gc", str(pid)], capture_output=True, text=True, timeout=10).stdout.split("\n")
        names, values = out[0].split(), [float(v) for v in out[1].split()]
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return None
    gc = dict(zip(names, values, strict=False))
    kb = 1024
    return {"heap_mb": round((gc["S0U"] + gc["S1U"] + gc["EU"] + gc["OU"]) / kb, 1),
            "heap_committed_mb": round((gc["S0C"] + gc["S1C"] + gc["EC"] + gc["OC"]) / kb, 1),
            "old_mb": round(gc["OU"] / kb, 1), "metaspace_mb": round(gc["MU"] / kb, 1),
            "gc_count": int(gc.get("YGC", 0) + gc.get("FGC", 0)), "gc_s": round(gc.get("GCT", 0.0), 2)}


def newest_checkpoint_mb(folder: Path) -> float | None:
    """The newest completed checkpoint (one with its _metadata; a checkpoint in progress has none yet)."""
    chks = [c for c in folder.glob("**/chk-*") if c.is_dir() and (c / "_metadata").exists()]
    if not chks:
        return None
    newest = max(chks, key=lambda c: int(c.name.split("-")[1]))
    return sum(f.stat().st_size for f in newest.rglob("*") if f.is_file()) / 1e6


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    xs, ys = [p[0] / 3600 for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den, 1) if den else None


def summarize(all_samples: list[dict], args, summary_lines: list[str], exit_code: int | None) -> dict:
    """The figures of a soak from its samples (also ``--summarize FILE`` to recompute a saved one)."""
    samples = [s for s in all_samples if "producer" in s["rss_mb"]] or all_samples  # steady part, not the shutdown
    warm = samples[max(0, len(samples) // 10 - 1)] if samples else {}
    second_half = samples[len(samples) // 2:]
    roles = sorted({r for s in samples for r in s["rss_mb"]})
    per_role = {r: {"warm_mb": warm.get("rss_mb", {}).get(r), "end_mb": samples[-1]["rss_mb"].get(r) if samples else None,
                    "peak_mb": max((s["rss_mb"].get(r, 0) for s in samples), default=None),
                    "second_half_slope_mb_per_h": slope_per_hour([(s["t_s"], s["rss_mb"][r]) for s in second_half
                                                                  if r in s["rss_mb"]]),
                    # CPU in cores over each half: a process whose work grows with the run's age shows here
                    "cpu_cores_first_half": cpu_cores(samples[: len(samples) // 2 + 1], r),
                    "cpu_cores_second_half": cpu_cores(second_half, r)} for r in roles}
    jvms = sorted({r for s in samples for r in s.get("jvm", {})})
    # Old generation after the run's collections is what a heap leak would grow; heap used swings with
    # every young collection, so its slope is noise. Native = RSS - committed heap - metaspace.
    per_jvm = {r: {**{f"{k}_second_half_slope_mb_per_h": slope_per_hour(
                       [(s["t_s"], s["jvm"][r][k]) for s in second_half if r in s.get("jvm", {})])
                      for k in ("old_mb", "metaspace_mb", "heap_committed_mb")},
                   "native_second_half_slope_mb_per_h": slope_per_hour(
                       [(s["t_s"], s["rss_mb"][r] - s["jvm"][r]["heap_committed_mb"] - s["jvm"][r]["metaspace_mb"])
                        for s in second_half if r in s.get("jvm", {}) and r in s["rss_mb"]]),
                   "end": samples[-1].get("jvm", {}).get(r)} for r in jvms}
    chk = [(s["t_s"], s["checkpoint_mb"]) for s in samples if s["checkpoint_mb"]]  # 0: caught in progress
    return {
        "command": ("MALLOC_ARENA_MAX=" + os.environ["MALLOC_ARENA_MAX"] + " " if os.environ.get("MALLOC_ARENA_MAX") else "")
        + f"python -m bench.soak --minutes {args.minutes:g} --patients {args.patients} --speed {args.speed:g}",
        "minutes": args.minutes, "patients": args.patients, "speed": args.speed,
        # glibc's arena cap, if set for the run (every process inherits it): native memory's main knob
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        "readings_sent": samples[-1]["sent"] if samples else 0,
        "readings_per_s": round(samples[-1]["sent"] / samples[-1]["t_s"], 1) if samples and samples[-1]["t_s"] else None,
        "rss": per_role,
        "jvm": per_jvm,
        "checkpoint_mb": {"first": chk[0][1] if chk else None, "last": chk[-1][1] if chk else None,
                          "peak": max((c for _, c in chk), default=None),
                          "second_half_slope_mb_per_h": slope_per_hour([c for c in chk if c[0] >= chk[len(chk) // 2][0]])
                          if chk else None},
        "run_summary": summary_lines, "exit_code": exit_code, "samples": all_samples,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--speed", type=float, default=60)
    p.add_argument("--interval", type=float, default=30, help="seconds between samples")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak.json")
    p.add_argument("--summarize", type=Path, help="recompute the figures of a saved result file, run nothing")
    args = p.parse_args(argv)
    if args.summarize:
        saved = json.loads(args.summarize.read_text())
        for key in ("minutes", "patients", "speed"):
            setattr(args, key, saved[key])
        result = summarize(saved["samples"], args, saved["run_summary"], saved["exit_code"])
        args.summarize.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
        return 0
    data = Path(tempfile.mkdtemp(prefix="wardwatch-soak-"))
    log = open(data / "run.log", "wb")  # noqa: SIM115 (the child keeps it)
    run = subprocess.Popen([sys.executable, "-m", "infra.local.run", "--duration", str(args.minutes * 60),
                            "--patients", str(args.patients), "--speed", str(args.speed), "--data-dir", str(data),
                            "--board-port", "0"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    print(f"soak: make run for {args.minutes:g} min, {args.patients} patients at {args.speed:g}x; data in {data}",
          flush=True)
    all_samples, t0 = [], time.monotonic()
    try:
        while run.poll() is None:
            time.sleep(args.interval)
            by_role: dict[str, float] = {}
            cpu: dict[str, float] = {}
            jvm: dict[str, dict[str, float]] = {}
            for pid in tree(run.pid):
                name = role(pid)
                if name:
                    by_role[name] = round(by_role.get(name, 0) + rss_mb(pid), 1)
                    cpu[name] = round(cpu.get(name, 0) + cpu_s(pid), 2)
                    if name.endswith("JVM") and (memory := jvm_memory(pid)):
                        jvm[name] = memory
            stats_file = data / "run" / "producer-stats.json"
            sent = json.loads(stats_file.read_text()).get("sent", 0) if stats_file.exists() else 0
            sample = {"t_s": round(time.monotonic() - t0), "rss_mb": by_role, "cpu_s": cpu, "jvm": jvm, "sent": sent,
                      "checkpoint_mb": newest_checkpoint_mb(data / "checkpoints"),
                      "lake_files": sum(1 for _ in (data / "lake").glob("*/dt=*/hour=*/*.parquet"))}
            all_samples.append(sample)
            print(f"soak: {sample['t_s']:>5} s · sent {sent:,} · checkpoint {sample['checkpoint_mb']} MB · "
                  + ", ".join(f"{k} {v:.0f}" for k, v in sorted(by_role.items())) + " MB", flush=True)
    except KeyboardInterrupt:
        os.killpg(run.pid, signal.SIGINT)
    run.wait()
    log.close()
    summary_lines = [ln for ln in (data / "run.log").read_text(errors="replace").splitlines()
                     if ln.startswith(("WardWatch run summary", "  rows by table", "  delivery:", "  raw zone:"))]
    result = summarize(all_samples, args, summary_lines, run.returncode)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
