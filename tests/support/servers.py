"""Real local servers for tests (an HTTP recorder) and a free port helper."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.browser import free_port  # noqa: F401  (the one implementation, re-exported)


class Recorder(BaseHTTPRequestHandler):
    """Records JSON POSTs; answers ``fail_first`` requests with ``fail_status`` first."""

    server: RecordingServer

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append(json.loads(body or b"null"))
            self.server.headers.append(dict(self.headers.items()))
            failing = self.server.fail_first > 0
            if failing:
                self.server.fail_first -= 1
            gate, self.server.hold_first = self.server.hold_first, None
        if gate is not None:  # the first request is answered only once the test opens the gate
            self.server.holding.set()
            gate.wait(60)
        self.send_response(self.server.fail_status if failing else 200)
        self.end_headers()
        self.wfile.write(b"nope" if failing else b"ok")

    def log_message(self, *args):
        pass


class RecordingServer(ThreadingHTTPServer):
    def __init__(self, fail_first: int = 0, fail_status: int = 500, hold_first: threading.Event | None = None):
        super().__init__(("127.0.0.1", 0), Recorder)
        self.requests: list = []
        self.headers: list[dict] = []  # each request's headers, in the order they came
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.hold_first = hold_first  # when given, the first request waits for it before its answer
        self.holding = threading.Event()  # set while that first request waits
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
