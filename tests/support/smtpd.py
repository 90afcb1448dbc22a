"""Small SMTP servers for tests, on loopback only.

* :class:`ScriptedSmtp`: a line-level SMTP server (threads, real sockets) that
  records every line it receives and can be told to misbehave the way real
  servers and providers do: stay silent, greet with 421, offer no STARTTLS,
  answer AUTH like Gmail or Microsoft 365, refuse a command, hang, hang up.
  It emulates the protocol; it never calls bpmnb.
* :func:`aiosmtpd_server`: a real aiosmtpd server with chosen TLS and AUTH
  options, for the cases aiosmtpd models faithfully.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.net import LOOPBACK, Running, free_port


class Conn:
    """One client connection as the scripted server sees it."""

    def __init__(self, server: ScriptedSmtp, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.file = sock.makefile("rb")

    def reply(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode("utf-8"))

    def readline(self) -> str | None:
        raw = self.file.readline(65536)
        if not raw:
            return None
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        with self.server.lock:
            self.server.lines.append(line)
        return line

    def start_tls(self, context: ssl.SSLContext) -> None:
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.file = self.sock.makefile("rb")
        with self.server.lock:
            self.server.tls_versions.append(self.sock.version() or "")


AuthScript = Callable[[Conn, str, str | None], None]
"""``(conn, mechanism, initial response or None)``: run the AUTH exchange."""


def password_auth(
    login: str, password: str, *, ignore_initial: bool = False
) -> AuthScript:
    """PLAIN (RFC 4616) and LOGIN checked against UTF-8 credentials.

    ``ignore_initial``: behave like servers that disregard a PLAIN initial
    response and ask again with an empty 334 challenge."""

    def run(conn: Conn, mechanism: str, initial: str | None) -> None:
        if ignore_initial:
            initial = None
        if mechanism == "PLAIN":
            if initial is None:
                conn.reply("334 ")
                initial = conn.readline() or ""
            parts = base64.b64decode(initial).split(b"\0")
            given = (parts[1], parts[2]) if len(parts) == 3 else (b"", b"")
        elif mechanism == "LOGIN":
            conn.reply("334 VXNlcm5hbWU6")
            user = base64.b64decode(conn.readline() or "")
            conn.reply("334 UGFzc3dvcmQ6")
            given = (user, base64.b64decode(conn.readline() or ""))
        else:
            conn.reply("504 5.5.4 Unrecognized authentication type")
            return
        with conn.server.lock:
            conn.server.auth_seen.append((mechanism, given[0], given[1]))
        if given == (login.encode("utf-8"), password.encode("utf-8")):
            conn.reply("235 2.7.0 Authentication successful")
        else:
            conn.reply("535 5.7.8 Authentication credentials invalid")

    return run


def refuse_auth(*reply: str) -> AuthScript:
    """Read the credentials (as any mechanism), then answer ``reply``."""

    def run(conn: Conn, mechanism: str, initial: str | None) -> None:
        if mechanism == "LOGIN":
            conn.reply("334 VXNlcm5hbWU6")
            conn.readline()
            conn.reply("334 UGFzc3dvcmQ6")
            conn.readline()
        elif initial is None:
            conn.reply("334 ")
            conn.readline()
        conn.reply(*reply)

    return run


def xoauth2_auth(
    valid_token: str, error_reply: str = "535 5.7.3 Authentication unsuccessful"
) -> AuthScript:
    """XOAUTH2 as Google and Microsoft run it: a bad token gets a 334
    challenge with base64 JSON status, the client answers with an empty
    line, then the final 5xx."""

    def run(conn: Conn, mechanism: str, initial: str | None) -> None:
        if mechanism != "XOAUTH2":
            conn.reply("504 5.5.4 Unrecognized authentication type")
            return
        if initial is None:
            conn.reply("334 ")
            initial = conn.readline() or ""
        decoded = base64.b64decode(initial).decode("utf-8")
        with conn.server.lock:
            conn.server.auth_seen.append((mechanism, decoded.encode(), b""))
        fields = dict(p.split("=", 1) for p in decoded.split("\x01") if "=" in p)
        if fields.get("auth") == f"Bearer {valid_token}":
            conn.reply("235 2.7.0 Accepted")
            return
        status = base64.b64encode(
            b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
        ).decode()
        conn.reply(f"334 {status}")
        answer = conn.readline()
        with conn.server.lock:
            conn.server.after_challenge.append(answer)
        conn.reply(error_reply)

    return run


class ScriptedSmtp(Running):
    """A scripted SMTP server on 127.0.0.1.

    ``replies`` overrides the reply to a command word (``"MAIL"``, ``"RCPT"``,
    ``"DATA"``, ``"DATA_END"``, ``"STARTTLS"``, ``"NOOP"``); a reply of
    ``"<drop>"`` closes the connection instead, ``"<hang>"`` never answers.
    ``rcpt`` maps recipient addresses to their own reply.
    """

    def __init__(
        self,
        *,
        greeting: str | None = "220 scripted.example.com ESMTP",
        extensions: tuple[str, ...] = ("PIPELINING", "8BITMIME"),
        auth: AuthScript | None = None,
        auth_mechanisms: str = "PLAIN LOGIN",
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        replies: dict[str, str] | None = None,
        rcpt: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.greeting = greeting
        self.extensions = extensions
        self.auth = auth
        self.auth_mechanisms = auth_mechanisms
        self.starttls_context = starttls
        self.implicit_tls = implicit_tls
        self.replies = dict(replies or {})
        self.rcpt = dict(rcpt or {})
        self.wanted_port = port
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.auth_seen: list[tuple[str, bytes, bytes]] = []
        self.after_challenge: list[str | None] = []
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tls_versions: list[str] = []
        self.connections = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._stop = threading.Event()

    @property
    def commands(self) -> list[str]:
        """First word of every line received, upper case."""
        with self.lock:
            return [line.split(" ", 1)[0].upper() for line in self.lines]

    # -- lifecycle --------------------------------------------------------

    def start(self) -> ScriptedSmtp:
        if self._server is not None:
            return self
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(
            (LOOPBACK, self.wanted_port or 0), Handler
        )
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- protocol ---------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        try:
            if self.implicit_tls is not None:
                sock = self.implicit_tls.wrap_socket(sock, server_side=True)
                with self.lock:
                    self.tls_versions.append(sock.version() or "")
            conn = Conn(self, sock)
            if self.greeting is None:
                self._stop.wait(30)  # accept, never greet
                return
            conn.reply(self.greeting)
            if not self.greeting.startswith("220"):
                return
            self._loop(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _answer(self, conn: Conn, word: str, default: str) -> bool:
        """Send the configured reply; False when the connection must end."""
        reply = self.replies.get(word, default)
        if reply == "<drop>":
            return False
        if reply == "<hang>":
            self._stop.wait(30)
            return False
        conn.reply(*reply.split("\n"))
        return True

    def _loop(self, conn: Conn) -> None:
        tls = self.implicit_tls is not None
        mail_from = ""
        rcpts: list[str] = []
        while True:
            line = conn.readline()
            if line is None:
                return
            word, _, arg = line.partition(" ")
            word = word.upper()
            if word in ("EHLO", "HELO"):
                lines = [
                    "250-scripted.example.com",
                    *(f"250-{e}" for e in self.extensions),
                ]
                if self.starttls_context is not None and not tls:
                    lines.append("250-STARTTLS")
                if self.auth is not None:
                    lines.append(f"250-AUTH {self.auth_mechanisms}")
                lines.append("250 HELP")
                conn.reply(*lines)
            elif word == "STARTTLS" and self.starttls_context is not None and not tls:
                if not self._answer(conn, "STARTTLS", "220 2.0.0 Ready to start TLS"):
                    return
                if self.replies.get("STARTTLS", "220").startswith("220"):
                    conn.start_tls(self.starttls_context)
                    tls = True
            elif word == "AUTH" and self.auth is not None:
                mechanism, _, initial = arg.partition(" ")
                self.auth(conn, mechanism.upper(), initial or None)
            elif word == "MAIL":
                mail_from, rcpts = arg, []
                if not self._answer(conn, "MAIL", "250 2.1.0 OK"):
                    return
            elif word == "RCPT":
                address = arg.split(":", 1)[-1].strip().strip("<>").split(">")[0]
                reply = self.rcpt.get(address, self.replies.get("RCPT", "250 2.1.5 OK"))
                if reply.startswith("250"):
                    rcpts.append(address)
                if reply == "<drop>":
                    return
                conn.reply(reply)
            elif word == "DATA":
                if not self._answer(
                    conn, "DATA", "354 End data with <CR><LF>.<CR><LF>"
                ):
                    return
                if not self.replies.get("DATA", "354").startswith("354"):
                    continue
                body: list[bytes] = []
                while True:
                    raw = conn.file.readline(65536)
                    if not raw or raw == b".\r\n":
                        break
                    body.append(raw[1:] if raw.startswith(b"..") else raw)
                with self.lock:
                    self.messages.append(b"".join(body))
                    self.envelopes.append((mail_from, list(rcpts)))
                if not self._answer(conn, "DATA_END", "250 2.0.0 Queued"):
                    return
            elif word == "NOOP":
                if not self._answer(conn, "NOOP", "250 2.0.0 OK"):
                    return
            elif word == "RSET":
                mail_from, rcpts = "", []
                conn.reply("250 2.0.0 OK")
            elif word == "QUIT":
                conn.reply("221 2.0.0 Bye")
                return
            else:
                conn.reply("502 5.5.1 Command not implemented")


class _Recorder:
    """aiosmtpd handler keeping each message with its envelope."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 OK"


@contextlib.contextmanager
def aiosmtpd_server(
    *,
    login: str = "user@example.com",
    password: str = "secret",  # noqa: S107 - a test server's own credential
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    **smtp_kwargs: Any,
) -> Iterator[tuple[Controller, _Recorder]]:
    """A real aiosmtpd server checking ``login``/``password`` (UTF-8).

    With ``tls_context`` and ``implicit_tls`` False it offers STARTTLS; with
    ``implicit_tls`` it speaks TLS from the first byte.
    """

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login == login.encode("utf-8")
            and data.password == password.encode("utf-8")
        )
        return AuthResult(success=ok, handled=False)

    recorder = _Recorder()
    kwargs: dict[str, Any] = {
        "hostname": LOOPBACK,
        "port": free_port(),
        "authenticator": authenticator,
        **smtp_kwargs,
    }
    if tls_context is not None and implicit_tls:
        kwargs["ssl_context"] = tls_context
        kwargs.setdefault("auth_require_tls", False)
    elif tls_context is not None:
        kwargs["tls_context"] = tls_context
    controller = Controller(recorder, **kwargs)
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
