"""Misbehaving SMTP servers on loopback, one behaviour per fault code.

A real asyncio server speaks just enough SMTP (RFC 5321, STARTTLS per RFC
3207, AUTH per RFC 4954) and can be told to answer any step with a chosen
reply, to stay silent, to hang up, or to speak TLS from the first byte. The
providers' replies are copied from their documented wording (Gmail 534
5.7.9, Office 365 535 5.7.139 and 5.7.60) so the diagnosis is tested against
the protocol, not against our own functions.

``FaultServer`` runs its own event loop in a thread; ``matrix()`` lists one
``Case`` per code with the settings and credential that provoke it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bpmnb.errors import Code, Stage
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Credential
from tests.support.net import LOOPBACK, Running, free_port, server_context, stranger_ca

LOGIN = "jan@example.com"
PASSWORD = "Konwalia369!-planted"
TOKEN = "eyJ0eXAiOiJKV1Qi.planted-token"
SENDER = "powiadomienia@example.com"
RCPT = "odbiorca@example.com"


@dataclass
class Behaviour:
    """How one server misbehaves (None for a reply means: accept normally)."""

    greeting: str | None = "220 fault.example.com ESMTP ready"
    implicit_tls: ssl.SSLContext | None = None
    starttls: ssl.SSLContext | None = None
    auth: tuple[str, ...] = ("PLAIN", "LOGIN")
    auth_reply: str | None = None  # None: accept the planted password/token
    xoauth2_challenge: bool = False
    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None
    drop_on: str | None = None  # a command verb answered by hanging up
    silent_tls: bool = False  # accept, never answer anything (even TLS)
    no_esmtp: bool = False  # answer EHLO with 502, as pre-ESMTP servers do


@dataclass
class Seen:
    """What the server received (to check masking and the SASL format)."""

    commands: list[str] = field(default_factory=list)
    auth_payloads: list[str] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)


class FaultServer(Running):
    """An SMTP server with a scripted fault, on 127.0.0.1 and a free port."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.port = free_port()
        self.seen = Seen()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> FaultServer:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(5)
        return self

    async def _start(self) -> None:
        tls = self.behaviour.implicit_tls
        # Like a real submission server, wait a long minute for a ClientHello.
        self._server = await asyncio.start_server(
            self._handle,
            LOOPBACK,
            self.port,
            ssl=tls,
            ssl_handshake_timeout=60 if tls else None,
        )

    def stop(self) -> None:
        async def _stop() -> None:
            for writer in list(self._writers):
                writer.close()
            if self._server is not None:
                self._server.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        try:
            await self._converse(reader, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        b = self.behaviour

        async def say(*lines: str) -> None:
            for i, line in enumerate(lines):
                code, text = line[:3], line[4:]
                sep = "-" if i < len(lines) - 1 else " "
                writer.write(f"{code}{sep}{text}\r\n".encode())
            await writer.drain()

        if b.silent_tls or b.greeting is None:
            # Say nothing at all; wait until the client gives up.
            await reader.read()
            return
        await say(b.greeting)
        if not b.greeting.startswith("220"):
            return
        tls_on = b.implicit_tls is not None
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            self.seen.commands.append(line if verb != "AUTH" else "AUTH ...")
            if b.drop_on and verb == b.drop_on:
                writer.transport.abort()  # hang up instead of replying
                return
            if verb == "EHLO" and b.no_esmtp:
                await say("502 5.5.2 command not recognized")
            elif verb == "HELO":
                await say("250 fault.example.com")
            elif verb == "EHLO":
                ext = ["250 fault.example.com"]
                if b.starttls is not None and not tls_on:
                    ext.append("250 STARTTLS")
                if b.auth:
                    ext.append("250 AUTH " + " ".join(b.auth))
                ext.append("250 8BITMIME")
                await say(*ext)
            elif verb == "STARTTLS" and b.starttls is not None and not tls_on:
                await say("220 2.0.0 go ahead")
                await writer.start_tls(b.starttls)
                tls_on = True
            elif verb == "AUTH":
                await self._auth(line, reader, say)
            elif verb == "MAIL":
                await say(b.mail_reply or "250 2.1.0 sender ok")
            elif verb == "RCPT":
                await say(b.rcpt_reply or "250 2.1.5 recipient ok")
            elif verb == "DATA":
                await say("354 end with <CRLF>.<CRLF>")
                data = await reader.readuntil(b"\r\n.\r\n")
                self.seen.messages.append(data)
                await say(b.data_reply or "250 2.0.0 queued as FAULT1")
            elif verb == "RSET" or verb == "NOOP":
                await say("250 2.0.0 ok")
            elif verb == "QUIT":
                await say("221 2.0.0 bye")
                return
            else:
                await say("500 5.5.1 unknown command")

    async def _auth(
        self,
        line: str,
        reader: asyncio.StreamReader,
        say: Callable[..., object],
    ) -> None:
        b = self.behaviour
        parts = line.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        initial = parts[2] if len(parts) > 2 else None
        ok = False
        if mech == "PLAIN":
            if initial is None:
                await say("334 ")  # type: ignore[misc]
                initial = (await reader.readline()).decode().strip()
            self.seen.auth_payloads.append(initial)
            decoded = base64.b64decode(initial).decode()
            ok = decoded == f"\0{LOGIN}\0{PASSWORD}"
        elif mech == "LOGIN":
            await say("334 VXNlcm5hbWU6")  # type: ignore[misc]
            user = (await reader.readline()).decode().strip()
            await say("334 UGFzc3dvcmQ6")  # type: ignore[misc]
            pw = (await reader.readline()).decode().strip()
            self.seen.auth_payloads += [user, pw]
            ok = (
                base64.b64decode(user).decode() == LOGIN
                and base64.b64decode(pw).decode() == PASSWORD
            )
        elif mech == "XOAUTH2" and initial is not None:
            self.seen.auth_payloads.append(initial)
            decoded = base64.b64decode(initial).decode()
            ok = decoded == f"user={LOGIN}\x01auth=Bearer {TOKEN}\x01\x01"
            if not ok or b.xoauth2_challenge:
                # Google/Microsoft: a 334 with a JSON error, then 5xx.
                err = base64.b64encode(b'{"status":"401","schemes":"Bearer"}')
                await say("334 " + err.decode())  # type: ignore[misc]
                await reader.readline()
                ok = False
        else:
            await say("504 5.5.4 mechanism not supported")  # type: ignore[misc]
            return
        if b.auth_reply is not None:
            await say(b.auth_reply)  # type: ignore[misc]
        elif ok:
            await say("235 2.7.0 authentication successful")  # type: ignore[misc]
        else:
            await say("535 5.7.8 authentication credentials invalid")  # type: ignore[misc]


@contextlib.contextmanager
def filled_backlog() -> Iterator[int]:
    """A port whose accept queue is full, so a new connect times out.

    Linux keeps backlog+1 pending connections; with backlog 0 and one
    connection never accepted, further SYNs are dropped and the kernel's
    connect waits: a real timeout on loopback. Yields the port, or raises
    RuntimeError when this kernel does not behave so (tests skip then).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(0.3)
            try:
                sock.connect((LOOPBACK, port))
            except TimeoutError:
                sock.close()
                break
            fillers.append(sock)
        else:
            raise RuntimeError("the accept queue never filled")
        yield port
    finally:
        for sock in fillers:
            sock.close()
        listener.close()


def old_tls_context() -> ssl.SSLContext:
    """A server context that speaks only TLS 1.0/1.1 (we require 1.2+)."""
    ctx = server_context()
    with warnings.catch_warnings():  # deprecated on purpose: that is the fault
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def expired_context() -> ssl.SSLContext:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return server_context(not_after=past, not_before=past - dt.timedelta(days=30))


@dataclass
class Case:
    """One fault: the server to run and the settings that meet it."""

    code: Code
    stage: Stage
    behaviour: Behaviour | None  # None: no server (refused, DNS, timeout)
    encryption: Encryption = Encryption.STARTTLS
    credential: str | None = "password"  # "password", "xoauth2" or None
    rcpt: str | None = RCPT
    send: bool = False
    host: str = LOOPBACK
    timeout: float = 2.0
    special: str | None = None  # "refused", "backlog", "dns"
    bound: float = 3.0  # seconds allowed to reach the verdict

    @property
    def name(self) -> str:
        extra = "-xoauth2" if self.credential == "xoauth2" else ""
        extra += "-send" if self.send else ""
        return f"{self.code}-{self.encryption}{extra}"


def credential(kind: str | None) -> Credential | None:
    if kind == "password":
        return Credential(LOGIN, "password", lambda: PASSWORD)
    if kind == "xoauth2":
        return Credential(LOGIN, "xoauth2", lambda: TOKEN)
    return None


def settings_for(case: Case, port: int, ca_file: Path) -> AccountSettings:
    return AccountSettings(
        host=case.host,
        port=port,
        encryption=case.encryption,
        login=LOGIN if case.credential else "",
        sender=SENDER,
        timeout=case.timeout,
        ca_file=str(ca_file),
    )


def matrix() -> list[Case]:
    """One case per fault code (and a few second routes to the same code)."""
    tls = server_context()
    return [
        Case(Code.OK, Stage.QUIT, Behaviour(starttls=tls)),
        Case(
            Code.OK,
            Stage.QUIT,
            Behaviour(implicit_tls=server_context()),
            encryption=Encryption.SSL,
            send=True,
        ),
        Case(
            Code.OK,
            Stage.QUIT,
            Behaviour(starttls=tls, auth=("XOAUTH2",)),
            credential="xoauth2",
        ),
        Case(
            Code.DNS_FAILED,
            Stage.DNS,
            None,
            host="smtp.nothing-here.invalid",
            special="dns",
        ),
        Case(Code.CONNECT_REFUSED, Stage.CONNECT, None, special="refused"),
        Case(
            Code.CONNECT_TIMEOUT,
            Stage.CONNECT,
            None,
            special="backlog",
            timeout=1.5,
        ),
        Case(Code.NO_GREETING, Stage.GREETING, Behaviour(greeting=None)),
        Case(
            Code.SERVER_BUSY,
            Stage.GREETING,
            Behaviour(greeting="421 4.3.2 Too many connections, try later"),
        ),
        Case(
            Code.TLS_EXPECTED,
            Stage.GREETING,
            Behaviour(implicit_tls=server_context()),
            timeout=10.0,
        ),
        Case(
            Code.TLS_EXPECTED,
            Stage.GREETING,
            Behaviour(implicit_tls=server_context()),
            encryption=Encryption.NONE,
            credential=None,
            timeout=10.0,
        ),
        Case(
            Code.TLS_NOT_SPOKEN,
            Stage.TLS,
            Behaviour(starttls=tls),
            encryption=Encryption.SSL,
        ),
        Case(
            Code.TLS_FAILED,
            Stage.TLS,
            Behaviour(implicit_tls=old_tls_context()),
            encryption=Encryption.SSL,
        ),
        Case(Code.STARTTLS_UNAVAILABLE, Stage.TLS, Behaviour()),
        Case(
            Code.CERT_UNTRUSTED,
            Stage.TLS,
            Behaviour(starttls=server_context(authority=stranger_ca())),
        ),
        Case(
            Code.CERT_NAME_MISMATCH,
            Stage.TLS,
            Behaviour(starttls=server_context("mail.other.example.com")),
        ),
        Case(Code.CERT_EXPIRED, Stage.TLS, Behaviour(starttls=expired_context())),
        Case(Code.AUTH_UNAVAILABLE, Stage.AUTH_MECHS, Behaviour(starttls=tls, auth=())),
        Case(
            Code.PLAINTEXT_REFUSED,
            Stage.AUTH,
            Behaviour(),
            encryption=Encryption.AUTO,
        ),
        Case(
            Code.AUTH_FAILED,
            Stage.AUTH,
            Behaviour(
                starttls=tls,
                auth_reply="535 5.7.8 Username and Password not accepted",
            ),
        ),
        Case(
            Code.APP_PASSWORD_REQUIRED,
            Stage.AUTH,
            Behaviour(
                starttls=tls,
                auth_reply="534 5.7.9 Application-specific password required. "
                "Learn more at https://support.google.com/mail/?p=InvalidSecondFactor",
            ),
        ),
        Case(
            Code.AUTH_DISABLED,
            Stage.AUTH,
            Behaviour(
                starttls=tls,
                auth_reply="535 5.7.139 Authentication unsuccessful, "
                "SmtpClientAuthentication is disabled for the Tenant.",
            ),
        ),
        Case(
            Code.TOKEN_INVALID,
            Stage.AUTH,
            Behaviour(
                starttls=tls,
                auth=("XOAUTH2",),
                xoauth2_challenge=True,
                auth_reply="535 5.7.3 Authentication unsuccessful",
            ),
            credential="xoauth2",
        ),
        Case(
            Code.SENDER_REJECTED,
            Stage.MAIL_FROM,
            Behaviour(
                starttls=tls,
                mail_reply="550 5.7.60 SMTP; Client does not have permissions "
                "to send as this sender",
            ),
        ),
        Case(
            Code.RECIPIENT_REJECTED,
            Stage.RCPT_TO,
            Behaviour(starttls=tls, rcpt_reply="550 5.1.1 No such user here"),
        ),
        Case(
            Code.MESSAGE_REJECTED,
            Stage.DATA,
            Behaviour(starttls=tls, data_reply="554 5.6.0 Message rejected as spam"),
            send=True,
        ),
        Case(
            Code.TEMPORARY_FAILURE,
            Stage.MAIL_FROM,
            Behaviour(starttls=tls, mail_reply="451 4.3.0 Temporary local problem"),
        ),
        Case(
            Code.CONNECTION_DROPPED,
            Stage.MAIL_FROM,
            Behaviour(starttls=tls, drop_on="MAIL"),
        ),
    ]


@contextlib.contextmanager
def running(case: Case) -> Iterator[tuple[int, FaultServer | None]]:
    """Start what ``case`` needs; yield the port and the server (if any)."""
    if case.special == "backlog":
        with filled_backlog() as port:
            yield port, None
        return
    if case.behaviour is None:
        yield free_port(), None
        return
    server = FaultServer(case.behaviour).start()
    try:
        yield server.port, server
    finally:
        server.stop()
