"""``python -m archive``: the local raw-zone archiver (what Firehose does on AWS); see archive/local.py."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from archive.local import Archiver
from core import aws
from core.kinesis_reader import KinesisShardReader, StreamPoller


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m archive", description=__doc__)
    p.add_argument("--stream", required=True, help="the readings stream")
    p.add_argument("--raw-dir", type=Path, required=True, help="the raw zone's root (dt=/hour= folders)")
    p.add_argument("--state-file", type=Path, help="positions, to continue after a restart (default: <raw-dir>/_state.json)")
    p.add_argument("--endpoint-url", default="", help="the local AWS (moto); empty on AWS")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--flush-s", type=float, default=5.0, help="seconds between files (Firehose buffers 60-900 s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.raw_dir.mkdir(parents=True, exist_ok=True)
    client = aws.client("kinesis", args.region, args.endpoint_url, raw_timestamps=True)
    poller = StreamPoller(KinesisShardReader(client, args.stream), discovery_interval_s=5, read_ahead=False,
                          align=False)  # it keeps every record as read: order across shards does not matter
    archiver = Archiver(poller, args.stream, args.raw_dir, args.state_file or args.raw_dir / "_state.json",
                        flush_s=args.flush_s)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.info("archive: %s -> %s", args.stream, args.raw_dir)
    archiver.run(stop)
    logging.info("archive: stopped; %d records in %d files", archiver.records, archiver.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
