"""``python -m board --config FILE``: the ward board on http://127.0.0.1:PORT/ (``make run`` starts it).

Reads the lake at ``lake.path`` and sends acknowledgements to ``source.stream.name`` (the
stream the job reads) through ``aws.endpoint.url``; hospital names from
``delivery.hospital.names``. Listens on 127.0.0.1 only. SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
from pathlib import Path

from core.config import Config, ConfigError, load_property_file, parse_set_flags


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m board", description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, help="property-group JSON file (the one configuration model)")
    p.add_argument("--set", action="append", default=[], metavar="GROUP.KEY=VALUE", help="override one setting")
    p.add_argument("--url-file", type=Path, help="write the board's URL here once it listens (for make run and tests)")
    p.add_argument("--read-only", action="store_true", help="no acknowledge action (no stream is written)")
    args = p.parse_args(argv)
    try:
        overrides = load_property_file(args.config) if args.config else {}
        cfg = Config({**overrides, **parse_set_flags(args.set)})
    except ConfigError as exc:
        print(f"board: {exc}", file=sys.stderr)
        return 2
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as ServerConfig

    from board.acks import AckSender
    from board.app import create_app
    from board.wards import BoardSource

    source = BoardSource(cfg["lake.path"], json.loads(cfg["delivery.hospital.names"]),
                         stale_after_ms=cfg["enrich.carry_forward.max_age.ms"], hours=cfg["board.trend.hours"])
    sender = None
    if not args.read_only:
        from core import aws

        sender = AckSender(aws.client("kinesis", cfg["aws.region"], cfg["aws.endpoint.url"]),
                           cfg["source.stream.name"])
    port = cfg["board.port"] or free_port()
    server = ServerConfig()
    server.bind = [f"127.0.0.1:{port}"]  # never beyond loopback
    server.accesslog = None  # request paths carry patient ids: not logged
    server.errorlog = "-"
    url = f"http://127.0.0.1:{port}/"
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        serving = asyncio.ensure_future(serve(create_app(source, sender), server, shutdown_trigger=stop.wait))
        await asyncio.sleep(0.3)
        if serving.done():
            serving.result()  # the port is taken, say so
        print(f"board: ward board on {url}", flush=True)
        if args.url_file:
            args.url_file.write_text(url)
        await serving

    try:
        asyncio.run(run())
    except OSError as exc:
        print(f"board: cannot listen on 127.0.0.1:{port} ({exc}); set board.port to a free port", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
