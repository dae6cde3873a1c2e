"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the local AWS, for tests and benchmarks.

Point one client (SNS, a DynamoDB table) at it with an endpoint override: while ``failing`` is
set it answers 503 like an AWS outage; with ``delay_s`` it forwards each request that late, like
a slow service (the request still goes through, as a slow SNS still delivers). The other
clients keep talking to moto directly.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.error
import urllib.request

from flink_app.local_cluster import free_port

OUTAGE = (b'{"__type": "InternalFailure", "message": "injected outage"}',
          b'<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>'
          b'<Message>injected outage</Message></Error></ErrorResponse>')


class FaultProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.failing = threading.Event()
        self.delay_s = 0.0
        self.refused = 0
        self.delayed = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.failing.is_set():
                    outer.refused += 1
                    json_protocol = "json" in (self.headers.get("Content-Type") or "")
                    self._reply(500 if json_protocol else 503, OUTAGE[0 if json_protocol else 1], [])
                    return
                if outer.delay_s:
                    outer.delayed += 1
                    time.sleep(outer.delay_s)
                request = urllib.request.Request(outer.upstream + self.path, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                try:
                    with urllib.request.urlopen(request, timeout=60) as resp:
                        self._reply(resp.status, resp.read(), resp.getheaders())
                except urllib.error.HTTPError as err:
                    self._reply(err.code, err.read(), err.headers.items())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (its read timeout): a slow service looks like this

            def _reply(self, status: int, data: bytes, headers) -> None:
                try:
                    self.send_response(status)
                    for k, v in headers:
                        if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", free_port()), Handler)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
