"""The local AWS: moto's WSGI application served by hypercorn on 127.0.0.1.

moto's own ``moto.server`` uses Werkzeug's server, which speaks HTTP/1.1 only. The Kinesis
Client Library's Kinesis client speaks HTTP/2 (prior knowledge, even over plain http), so the
delivery service could not read the alerts stream from it ("First received frame was not
SETTINGS"). hypercorn serves the same moto application over HTTP/1.1 and h2c, so boto3, the
Flink job and the KCL all talk to one moto. Its Kinesis shards cost what Kinesis's do
(``infra/local/kinesis_shards.py``), so a long run does not slow down on moto.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.middleware import AsyncioWSGIMiddleware


def never_empty(app):
    """hypercorn 0.18's WSGI adapter sends the status line with the first body chunk, so a
    response with no body (every HEAD, e.g. S3 HeadObject on a missing key) reached the client
    as HTTP 500 with no body. One empty chunk makes it send the real status and headers."""

    def wrapped(environ, start_response):
        body = app(environ, start_response)
        try:
            sent = False
            for chunk in body:
                sent = True
                yield chunk
            if not sent:
                yield b""
        finally:
            if hasattr(body, "close"):
                body.close()

    return wrapped


def application():
    """moto's WSGI application as hypercorn serves it, with Kinesis's costs and retention
    (``infra/local/kinesis_shards.py``) installed in this process."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import kinesis_shards

    kinesis_shards.install()
    return AsyncioWSGIMiddleware(never_empty(DomainDispatcherApplication(create_backend_app)),
                                 max_body_size=64 * 1024 * 1024)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m infra.local.moto_server")
    p.add_argument("-p", "--port", type=int, required=True)
    args = p.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds queue URLs and the like from it
    app = application()
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]  # never beyond loopback
    config.accesslog = None
    config.keep_alive_timeout = 75
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(run())


if __name__ == "__main__":
    main()
