"""Real local HTTP servers for the outbound-request attack tests."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "TOP-SECRET-internal-token-4242"


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.requests.append({"method": self.command, "path": self.path,
                                         "headers": dict(self.headers.items()), "body": body})
        if self.server.delay:
            time.sleep(self.server.delay)
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = self.server.body.encode()
        self.send_response(self.server.status, self.server.reason)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer  # noqa: N815 - http.server API

    def log_message(self, *args):
        pass


class LocalServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that answers every request with ``body`` (or a redirect) and records it."""

    daemon_threads = True

    def __init__(self, *, body: str = SECRET, status: int = 200, reason: str | None = None,
                 redirect_to: str | None = None, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.body, self.status, self.reason = body, status, reason
        self.redirect_to, self.delay = redirect_to, delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class SmtpRecorder:
    """An aiosmtpd server on 127.0.0.1 that keeps every message; optional STARTTLS with ``tls_context``."""

    def __init__(self, tls_context=None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        messages: list = []

        class Keep(Message):
            def handle_message(self, message):
                messages.append(message)

        self.messages = messages
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        kwargs = {"tls_context": tls_context, "require_starttls": True} if tls_context else {}
        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
