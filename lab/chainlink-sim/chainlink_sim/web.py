# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The web server, started only after boot: ``/health``, ``/readyz``, ``/health.txt`` (2.9+), ``/sessions``, ``/v2/ping``.

As in the real router, every route sits behind the authenticated rate limiter (``WebServer.RateLimit.Authenticated``
per ``AuthenticatedPeriod``, per client IP) and ``POST /sessions`` also behind the unauthenticated one; a request over
a limit gets 429 ``Limit exceeded``. The session cookie carries ``Secure`` when ``WebServer.SecureCookies`` is true.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import secrets
import ssl
import threading
import typing as t
import urllib.parse

from .config import Config
from .ratelimit import FixedWindowLimiter
from .version import Behaviour

Check = tuple[str, bool, str]  # (name, passing, output)


class WebServer:
    """A threaded HTTP server on ListenIP:HTTPPort answering the unauthenticated health routes like the node."""

    def __init__(
        self,
        behaviour: Behaviour,
        cfg: Config,
        checks: t.Callable[[], list[Check]],
        credentials: t.Callable[[], tuple[str, str] | None],
    ) -> None:
        self.behaviour = behaviour
        self.checks = checks
        self.credentials = credentials
        self.secure_cookies = cfg.secure_cookies
        self.authenticated = FixedWindowLimiter(cfg.rate_authenticated, cfg.rate_authenticated_period)
        self.unauthenticated = FixedWindowLimiter(cfg.rate_unauthenticated, cfg.rate_unauthenticated_period)
        self.sessions: set[str] = set()
        self.handler = self._handler_class()
        self.server: http.server.ThreadingHTTPServer | None = None
        self.tls_server: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def _serve(self, server: http.server.ThreadingHTTPServer, name: str) -> http.server.ThreadingHTTPServer:
        server.daemon_threads = True
        with self._lock:
            if self._stopped:
                server.server_close()
                return server
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True).start()
        return server

    def bind_http(self, ip: str, port: int) -> http.server.ThreadingHTTPServer:
        """Listen on ``ip:port`` (raises ``OSError``, e.g. the port is taken); ``serve`` it afterwards."""
        return http.server.ThreadingHTTPServer((ip, port), self.handler)

    def serve_http(self, server: http.server.ThreadingHTTPServer) -> None:
        self.server = self._serve(server, "web")

    def serve_tls(self, ip: str, port: int, cert_file: str, key_file: str) -> None:
        """``ListenAndServeTLS``: listen first, then load the key pair; raises ``OSError``/``ssl.SSLError`` on failure."""
        server = http.server.ThreadingHTTPServer((ip, port), self.handler)
        try:
            for path in (cert_file, key_file):  # Go reads the certificate, then the key: "open <path>: ..."
                with open(path, "rb"):
                    pass
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError):
            server.server_close()
            raise
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.tls_server = self._serve(server, "web-tls")

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            servers = [server for server in (self.server, self.tls_server) if server is not None]
        for server in servers:
            server.shutdown()
            server.server_close()

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        web = self

        class Handler(http.server.BaseHTTPRequestHandler):
            server_version = "chainlink-sim"
            sys_version = ""

            def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - signature of the base class
                return  # the node does not log each request at info level

            _rate_headers: dict[str, str]

            def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in {**getattr(self, "_rate_headers", {}), **(headers or {})}.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
                self.do_GET()

            def _limited(self, limiter: FixedWindowLimiter) -> bool:
                """The ulule middleware: rate headers on every response, 429 ``Limit exceeded`` over the limit."""
                decision = limiter.hit(self.client_address[0])
                self._rate_headers.update(decision.headers())
                if decision.reached:
                    self._send(429, b"Limit exceeded", "text/plain; charset=utf-8")
                return decision.reached

            def _get_route(self, path: str) -> bool:
                """A GET route exists (unrouted paths answer 404 outside the limiters, as gin's NoRoute does)."""
                return path in ("/health", "/readyz", "/v2/ping") or (path == "/health.txt" and web.behaviour.has_health_txt)

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                self._rate_headers = {}
                if self._get_route(url.path) and self._limited(web.authenticated):
                    return
                if url.path == "/health":
                    self._health(query, text="text/plain" in self.headers.get("Accept", ""))
                elif url.path == "/health.txt" and web.behaviour.has_health_txt:
                    self._health(query, text=True)
                elif url.path == "/readyz":
                    self._readyz(query)
                elif url.path == "/v2/ping":
                    if self._authenticated():
                        self._send(200, b'{"message":"pong"}')
                    else:
                        self._send(401, b'{"errors":[{"detail":"Unauthorized"}]}')
                else:
                    self._send(404, b"404 page not found", "text/plain; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                self._rate_headers = {}
                if urllib.parse.urlsplit(self.path).path != "/sessions":
                    self._send(404, b"404 page not found", "text/plain; charset=utf-8")
                    return
                # The root group's authenticated limiter first, then the session route's unauthenticated one.
                if self._limited(web.authenticated) or self._limited(web.unauthenticated):
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                creds = web.credentials()
                if not isinstance(body, dict) or creds is None or (body.get("email"), _hash(str(body.get("password", "")))) != creds:
                    self._send(401, b'{"errors":[{"detail":"Invalid email or password"}]}')
                    return
                token = secrets.token_hex(16)
                web.sessions.add(token)
                self._send(
                    200,
                    b'{"data":{"type":"session","id":"sessionID","attributes":{"authenticated":true}}}',
                    headers={"Set-Cookie": f"clsession={token}; Path=/; HttpOnly" + ("; Secure" if web.secure_cookies else "")},
                )

            def _authenticated(self) -> bool:
                cookie = self.headers.get("Cookie", "")
                parts = dict(p.strip().split("=", 1) for p in cookie.split(";") if "=" in p)
                return parts.get("clsession", "") in web.sessions

            def _health(self, query: dict[str, list[str]], text: bool) -> None:
                checks = web.checks()
                failing = any(not ok for _name, ok, _output in checks)
                status = web.behaviour.health_failing_status if failing else 200
                if "failing" in query and web.behaviour.health_failing_filter:
                    checks = [c for c in checks if not c[1]]
                if text:
                    lines = "".join(f"ok {name}\n" if ok else f"! {name}\n\t{out}\n" for name, ok, out in checks)
                    self._send(status, lines.encode(), "text/plain; charset=utf-8")
                    return
                self._send(status, _checks_document(checks), "application/vnd.api+json")

            def _readyz(self, query: dict[str, list[str]]) -> None:
                checks = web.checks()
                status = 200 if all(ok for _name, ok, _output in checks) else 503
                if "full" in query:
                    self._send(status, _checks_document(checks), "application/vnd.api+json")
                else:
                    self._send(status, b"", "text/plain")

        return Handler


def _checks_document(checks: list[Check]) -> bytes:
    """The JSON:API list of checks that /health and /readyz?full return."""
    data = [{"type": "checks", "id": name, "attributes": {"name": name, "status": "passing" if ok else "failing", "output": out}} for name, ok, out in checks]
    return json.dumps({"data": data}).encode()


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def hash_password(password: str) -> str:
    """How the double stores API passwords (the node uses bcrypt; the double only needs equality)."""
    return _hash(password)
