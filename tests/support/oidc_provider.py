"""A real OpenID Connect provider for the tests (Node's certified ``oidc-provider``) and a token-tampering proxy.

``OidcProvider`` runs ``tests/support/oidc/provider.mjs`` on 127.0.0.1 with a signing key made here, test
clients and users in groups. ``TamperingProxy`` sits in front of it for the refusal tests: it serves the
provider's discovery document with the token endpoint pointed at itself, forwards the code exchange to the
provider, and, when told to, hands the app an ID token that was tampered with, has expired, or names
another audience (re-signed with the provider's own key, so only that one claim is wrong).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.browser import free_port

OIDC_DIR = Path(__file__).resolve().parent / "oidc"


def ensure_node_modules() -> None:
    """Install the pinned provider from the npm registry once (``npm ci``), under a lock for parallel runs."""
    if (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if not npm:
        raise RuntimeError("npm is missing: install Node.js and npm (apt-get install nodejs npm) for the SSO tests.")
    with open(OIDC_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True,
                           timeout=600)


def _wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the OpenID provider exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class OidcProvider:
    """``oidc-provider`` on a free port of 127.0.0.1. ``users``: login -> claims (email, name, groups…)."""

    def __init__(self, workdir: Path, *, users: dict, clients: list[dict]):
        from joserfc.jwk import RSAKey

        ensure_node_modules()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        config = {"port": self.port, "clients": clients, "users": users,
                  "jwks": {"keys": [self.key.as_dict(private=True)]}}
        self.config_file = Path(workdir) / "oidc-config.json"
        self.config_file.write_text(json.dumps(config))
        self.log = open(Path(workdir) / "oidc-provider.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs")], cwd=OIDC_DIR,
                                     env={"PATH": "/usr/local/bin:/usr/bin:/bin", "OIDC_CONFIG": str(self.config_file)},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        try:
            _wait_http(self.discovery_url, 60, self.proc)
        except Exception:
            self.stop()
            raise

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class TamperingProxy:
    """Discovery and token endpoint in front of ``provider``; ``mode`` decides what the app receives.

    Modes: ``pass`` (unchanged), ``tampered`` (a claim changed, signature kept), ``expired`` (re-signed,
    expired an hour ago), ``wrong_audience`` (re-signed for another client).
    """

    def __init__(self, provider: OidcProvider):
        self.provider = provider
        self.mode = "pass"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/.well-known/openid-configuration":
                    return self._send(404, b"{}")
                meta = json.loads(urllib.request.urlopen(provider.discovery_url, timeout=10).read())
                meta["token_endpoint"] = proxy.url + "/token"
                self._send(200, json.dumps(meta).encode())

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                meta = json.loads(urllib.request.urlopen(provider.discovery_url, timeout=10).read())
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in {"authorization", "content-type", "accept"}}
                request = urllib.request.Request(meta["token_endpoint"], data=body, headers=headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as resp:
                        status, payload = resp.status, json.loads(resp.read())
                except urllib.error.HTTPError as exc:
                    return self._send(exc.code, exc.read())
                if "id_token" in payload:
                    payload["id_token"] = proxy.rewrite(payload["id_token"])
                self._send(status, json.dumps(payload).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def rewrite(self, id_token: str) -> str:
        from joserfc import jwt

        if self.mode == "pass":
            return id_token
        header_b64, payload_b64, signature = id_token.split(".")
        claims = _b64json(payload_b64)
        if self.mode == "tampered":
            claims["email"] = "mallory@evil.example"
            forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
            return f"{header_b64}.{forged}.{signature}"
        now = int(time.time())
        if self.mode == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
        elif self.mode == "wrong_audience":
            claims["aud"] = "another-app"
        else:
            raise ValueError(self.mode)
        return jwt.encode({"alg": "RS256", "kid": self.provider.key.kid}, claims, self.provider.key)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.shutdown()
        self.server.server_close()
