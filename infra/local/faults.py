"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the local AWS, for tests and benchmarks.

Point a client (the job, SNS, a DynamoDB table) at it with an endpoint override: while ``failing``
is set it answers 500/503 like an AWS outage; with ``delay_s`` it forwards each request that late,
like a slow service (the request still goes through, as a slow SNS still delivers). ``mode``
picks other faults: ``"throttle"`` (HTTP 400 ProvisionedThroughputExceededException / SlowDown, as
Kinesis and S3 throttle), ``"reset"`` (the connection reset before any answer), ``"drop"`` (the
request swallowed: no answer until ``drop_s``, then the connection closed, as a lost packet looks
to a client) and ``"reset-after"`` (forwarded, the answer lost: the service did the work, the
client must retry a write it cannot know succeeded). The other clients keep talking to moto.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
import time
from urllib.parse import urlsplit

from flink_app.local_cluster import free_port

OUTAGE = (b'{"__type": "InternalFailure", "message": "injected outage"}',
          b'<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>'
          b'<Message>injected outage</Message></Error></ErrorResponse>')
THROTTLED = (b'{"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded (injected)"}',
             b'<Error><Code>SlowDown</Code><Message>Please reduce your request rate (injected)</Message></Error>')


class FaultProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.failing = threading.Event()
        self.delay_s = 0.0
        self.mode: str | None = None
        self.drop_s = 25.0
        self.refused = 0
        self.delayed = 0
        self.faulted: dict[str, int] = {}  # mode -> requests it hit
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's name)
                self._handle("POST")

            def do_GET(self):  # noqa: N802
                self._handle("GET")

            def do_PUT(self):  # noqa: N802
                self._handle("PUT")

            def do_HEAD(self):  # noqa: N802
                self._handle("HEAD")

            def do_DELETE(self):  # noqa: N802
                self._handle("DELETE")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else None
                json_protocol = "json" in (self.headers.get("Content-Type") or "")
                mode = "error" if outer.failing.is_set() else outer.mode
                if mode:
                    outer.faulted[mode] = outer.faulted.get(mode, 0) + 1
                if mode == "error":
                    outer.refused += 1
                    self._reply(500 if json_protocol else 503, OUTAGE[0 if json_protocol else 1], [])
                    return
                if mode == "throttle":
                    self._reply(400 if json_protocol else 503, THROTTLED[0 if json_protocol else 1], [])
                    return
                if mode == "reset":
                    self._reset()
                    return
                if mode == "drop":
                    time.sleep(outer.drop_s)
                    self._reset()
                    return
                if outer.delay_s or mode == "delay":
                    outer.delayed += 1
                    time.sleep(outer.delay_s or 3.0)
                try:
                    status, data, headers = outer.forward(method, self.path, body, self.headers.items())
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (its read timeout): a slow service looks like this
                if mode == "reset-after":
                    self._reset()  # the upstream did the work; the client never hears of it
                    return
                self._reply(status, data, headers, head=method == "HEAD")

            def _reset(self) -> None:
                """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
                self.close_connection = True
                try:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                except OSError:
                    pass

            def _reply(self, status: int, data: bytes, headers, head: bool = False) -> None:
                try:
                    self.send_response(status)
                    skip = {"transfer-encoding", "connection", "server", "date"} | (set() if head else {"content-length"})
                    for k, v in headers:
                        if k.lower() not in skip:
                            self.send_header(k, v)
                    if not head:  # a HEAD answer keeps the object's length and has no body
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def forward(self, method: str, path: str, body: bytes | None, headers) -> tuple[int, bytes, list]:
        """The request as the client sent it, to the upstream; its answer.

        http.client, not urllib: urllib adds ``Content-Type: application/x-www-form-urlencoded`` to
        a body sent without one (boto3's S3 PUTs), and moto then read the object as a form and
        stored it empty. ``Expect: 100-continue`` was answered here (http.server does) and the
        body read, so it is not passed on."""
        up = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers={k: v for k, v in headers
                                                           if k.lower() not in ("host", "expect", "connection")})
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheaders()
        finally:
            conn.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
