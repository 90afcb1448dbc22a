"""A real HTTP(S) server in a thread on 127.0.0.1, serving canned answers.

It stands in for remote web servers the code under test talks to: a
provider's autoconfig host (over HTTPS with a trustme certificate for the
provider's name) and Thunderbird's ISP database (served from the reference
files in ``shared/ispdb/xml``). Every request is recorded with its ``Host``
header, so a test can prove which name the client asked for.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import defusedxml.ElementTree

from tests.support.net import LOOPBACK, Running

# Thunderbird's ISP database (test data: read in place, never copied).
ISPDB = Path(__file__).resolve().parents[3] / "shared" / "ispdb" / "xml"


@dataclass
class Reply:
    """What the server answers: status, body, headers; ``delay`` seconds of
    silence before answering, and ``drip`` seconds between body chunks."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    length: bool = True  # False: no Content-Length, the body ends at close


Route = Reply | bytes | Callable[[str, str], Reply]
"""A canned reply, a body for a 200 reply, or (host, path) -> Reply."""


@dataclass(frozen=True)
class Request:
    host: str  # the Host header, as the client sent it
    path: str  # with the query string


class HttpServer(Running):
    """``HttpServer({"/path": b"..."}, tls=context)`` as a context manager.

    Paths are matched without their query string; unknown paths get 404.
    """

    def __init__(
        self, routes: Mapping[str, Route], *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes = dict(routes)
        self.tls = tls
        self.requests: list[Request] = []
        self._server = _Server((LOOPBACK, 0), _Handler, self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{LOOPBACK}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def reply_for(self, host: str, path: str) -> Reply:
        route = self.routes.get(path.split("?", 1)[0])
        if route is None:
            return Reply(b"not here", status=404)
        if isinstance(route, bytes):
            return Reply(route)
        if isinstance(route, Reply):
            return route
        return route(host, path)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], owner: HttpServer
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the request's own thread, so a
        # client that refuses our certificate cannot stall the server.
        if self.owner.tls is not None:
            try:
                request = self.owner.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up early are part of the tests; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        owner = self.server.owner
        host = self.headers.get("Host", "")
        owner.requests.append(Request(host, self.path))
        reply = owner.reply_for(host, self.path)
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        headers = {"Content-Type": "text/xml", **reply.headers}
        if reply.length:
            headers.setdefault("Content-Length", str(len(reply.body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if not reply.drip:
            self.wfile.write(reply.body)
            return
        for start in range(0, len(reply.body), 64):
            self.wfile.write(reply.body[start : start + 64])
            self.wfile.flush()
            time.sleep(reply.drip)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


def ispdb_routes(xml_dir: Path, prefix: str = "/v1.1/") -> dict[str, Route]:
    """Routes ``<prefix><domain>`` -> that provider's file for every domain a
    file lists, as the live database answers (one URL per domain)."""
    routes: dict[str, Route] = {}
    for path in sorted(xml_dir.glob("*.xml")):
        data = path.read_bytes()
        root = defusedxml.ElementTree.fromstring(data)
        for node in root.iter("domain"):
            domain = (node.text or "").strip().lower()
            if domain:
                routes.setdefault(prefix + domain, data)
    return routes
