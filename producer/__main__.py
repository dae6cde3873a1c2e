"""``python -m producer``: simulate hospitals and stream their vital signs to Kinesis or a file."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import orjson

from producer.clock import SimClock

DESCRIPTION = """\
Simulate hospital patients (physiology-based vital signs, deterioration scenarios) and write
their readings as JSON to an Amazon Kinesis stream (PutRecords, partition key = patient id)
or to a JSON-lines file.

It can also replay an export (JSON lines, CSV with one column per field, or a FHIR R4
Bundle of vital-signs Observations) with its original timing (--speed 1), faster, or as fast
as possible (--speed 0).

Examples:
  python -m producer --endpoint-url http://127.0.0.1:5000 --duration 60
  python -m producer --patients 1000 --speed 0 --span 6h --out readings.jsonl
  python -m producer --replay export.csv --speed 10 --endpoint-url http://127.0.0.1:5000
"""


def parse_span(text: str) -> int:
    """'90s', '30m', '6h', '2d' or plain seconds -> milliseconds."""
    units = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    text = text.strip()
    try:
        if text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text) * 1000)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h)") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m producer", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sim = p.add_argument_group("simulation")
    sim.add_argument("--patients", type=int, default=100, help="patients to simulate (default 100)")
    sim.add_argument("--hospitals", type=int, default=3, help="hospitals they are spread over (default 3)")
    sim.add_argument("--seed", type=int, default=7, help="random seed; with --start, the same seed gives byte-identical output")
    sim.add_argument("--deteriorating", type=float, default=0.15,
                     help="share of patients given a deterioration scenario (default 0.15)")
    sim.add_argument("--cadence", action="append", default=[], metavar="UNIT:DEVICE=SECONDS",
                     help="change how often a device reports, e.g. ICU:monitor=1 or Ward:obs=3600 (repeatable); "
                          "devices: ICU monitor/nibp/obs, ER monitor/obs, Surgery monitor/nibp, "
                          "Recovery monitor/obs, Ward wearable/obs")
    clock = p.add_argument_group("clock")
    clock.add_argument("--speed", type=float, default=60.0,
                       help="simulated seconds per real second; 0 = as fast as possible (default 60)")
    clock.add_argument("--duration", type=float, default=None,
                       help="stop after this many real seconds (default: run until Ctrl-C, or --span)")
    clock.add_argument("--span", type=parse_span, default=None,
                       help="simulated time to cover, e.g. 6h; with --speed 0 this bounds the run")
    clock.add_argument("--start", default=None,
                       help="simulated start, ISO-8601; default: so that the run ends at the present "
                            "(readings are never stamped in the future)")
    rep = p.add_argument_group("replay")
    rep.add_argument("--replay", type=Path, default=None, help="replay this file instead of simulating")
    rep.add_argument("--format", choices=("jsonl", "csv", "fhir"), default=None,
                     help="format of --replay (default: from the extension .jsonl/.csv/.json)")
    rep.add_argument("--shift-to-now", action="store_true",
                     help="move the replayed timestamps so that the last one is now")
    rep.add_argument("--fhir-hospital", default="unknown", help="hospital id for FHIR Observations")
    rep.add_argument("--fhir-unit", default="unknown", help="unit for FHIR Observations")
    rep.add_argument("--fhir-bed", default="unknown", help="bed for FHIR Observations")
    out = p.add_argument_group("output")
    out.add_argument("--stream", default="wardwatch-vitals", help="Kinesis stream name")
    out.add_argument("--region", default="us-east-1", help="AWS region")
    out.add_argument("--endpoint-url", default="", help="Kinesis endpoint, e.g. the local moto server")
    out.add_argument("--aggregate", action="store_true",
                     help="pack readings into KPL-aggregated Kinesis records (fewer, larger records; the job unpacks them)")
    out.add_argument("--out", type=Path, default=None, help="write JSON lines to this file instead of Kinesis")
    out.add_argument("--ground-truth", type=Path, default=None,
                     help="write the deterioration scenarios and their onset times here (JSON lines)")
    out.add_argument("--stats-file", type=Path, default=None, help="write final counts here as JSON")
    out.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def write_stats(path: Path, stats: dict) -> None:
    """Whole or absent: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(stats))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.patients < 1:
        print("producer: --patients must be at least 1", file=sys.stderr)
        return 2
    from producer.hospital import Simulator
    from producer.sink import FileSink, KinesisSink

    now_ms = int(time.time() * 1000)
    if args.start:
        from core.schema.events import InvalidRecord, parse_timestamp

        try:
            start_ms = parse_timestamp(args.start, "--start")
        except InvalidRecord as exc:
            print(f"producer: {exc.reason}", file=sys.stderr)
            return 2
    elif args.span:
        start_ms = now_ms - args.span
    elif args.duration and args.speed:
        start_ms = now_ms - int(args.duration * args.speed * 1000)
    else:
        start_ms = now_ms - 3_600_000
    until_ms = start_ms + args.span if args.span else None

    sim = None
    if args.replay:
        from producer.replay import replay

        try:
            records, rejected = replay(args.replay, args.format, hospital_id=args.fhir_hospital,
                                       unit=args.fhir_unit, bed=args.fhir_bed)
        except (OSError, ValueError) as exc:
            print(f"producer: cannot replay {args.replay}: {exc}", file=sys.stderr)
            return 2
        for reason in rejected:
            print(f"producer: skipped {reason}", file=sys.stderr)
        if not records:
            print(f"producer: {args.replay} holds no valid record", file=sys.stderr)
            return 1
        if args.shift_to_now:
            shift = now_ms - records[-1]["ts"]
            for rec in records:
                rec["ts"] += shift
        start_ms, until_ms = records[0]["ts"], None
        events = iter(records)
    else:
        from producer.hospital import with_cadence

        try:
            overrides = {}
            for spec in args.cadence:
                target, _, seconds = spec.partition("=")
                kind, _, device = target.partition(":")
                overrides[(kind, device)] = float(seconds)
            units = with_cadence(overrides)
        except ValueError as exc:
            print(f"producer: --cadence: {exc}", file=sys.stderr)
            return 2
        sim = Simulator(args.patients, args.hospitals, args.seed, start_ms, args.deteriorating, unit_kinds=units)
        events = sim.events(until_ms)
    sink = FileSink(args.out) if args.out else KinesisSink(args.stream, args.region, args.endpoint_url,
                                                                         aggregate=args.aggregate)
    clock = SimClock(start_ms, args.speed)

    # SIGTERM (and Ctrl-C) set a flag checked between records, so a PutRecords call in flight
    # completes and is counted: the totals then match what is really on the stream.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    deadline = time.monotonic() + args.duration if args.duration else None
    produced = 0
    last_report = last_stats = time.monotonic()
    reason = "finished"
    try:
        for event in events:
            wait = clock.wait_s(event["ts"])
            if wait > 0:
                sink.flush()
                if deadline is not None and time.monotonic() + wait > deadline:
                    stopping.wait(max(0.0, deadline - time.monotonic()))
                    reason = "stopped" if stopping.is_set() else "duration reached"
                    break
                stopping.wait(wait)
            if stopping.is_set():
                reason = "stopped"
                break
            if deadline is not None and time.monotonic() >= deadline:
                reason = "duration reached"
                break
            sink.put(event["patient_id"], orjson.dumps(event))
            produced += 1
            if not args.quiet and time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                print(f"producer: {sink.describe()} · simulated {time.strftime('%H:%M', time.gmtime(event['ts'] / 1000))}Z",
                      file=sys.stderr, flush=True)
            if args.stats_file and time.monotonic() - last_stats >= 5:  # make run's status line reads it
                last_stats = time.monotonic()
                write_stats(args.stats_file, {**sink.stats_dict(), "produced": produced, "reason": "running"})
    finally:
        sink.close()
        if args.ground_truth and sim is not None:  # scenarios of every patient simulated, new arrivals included
            args.ground_truth.parent.mkdir(parents=True, exist_ok=True)
            args.ground_truth.write_text("".join(json.dumps(g) + "\n" for g in sim.ground_truth()))
    stats = sink.stats_dict()
    stats.update(produced=produced, reason=reason)
    if args.stats_file:
        write_stats(args.stats_file, stats)
    if not args.quiet:
        print(f"producer: {reason}; {sink.describe()}", file=sys.stderr)
    return 1 if stats.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
