"""A local SMTP server to prove settings against before touching a real one.

Two aiosmtpd listeners on loopback behave like a careful submission server:
one offers STARTTLS and allows AUTH only after it (RFC 3207, RFC 4954
section 4), the other speaks TLS from the first byte (RFC 8314). Both require
a login. The certificate comes from the sandbox's own CA, made once with
trustme and kept in ``<home>/sandbox``; clients trust it through
``ca_file``, so verification stays on exactly as against a real provider.

Every accepted message goes to a Maildir with one trace header in front
recording the port, the TLS version (or ``none``), the login and the
envelope, which :func:`received` reads back. ``sandbox.json`` tells other
processes (notebooks, the app, CLI subprocesses) where it listens.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hmac
import itertools
import json
import logging
import mailbox
import os
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, AnyStr

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from bpmnb.files import write_atomic
from bpmnb.home import Home
from bpmnb.settings import AccountSettings, Encryption

log = logging.getLogger(__name__)

SANDBOX_LOGIN = "powiadomienia@example.com"
SANDBOX_SENDER = "powiadomienia@example.com"
SANDBOX_DISPLAY_NAME = "Powiadomienia BPM — piaskownica"
TRACE_HEADER = b"X-Bpmnb-Sandbox"
# RFC 4954 section 4: a server must accept AUTH lines of 12288 octets, which
# an XOAUTH2 initial response with a real token can approach.
AUTH_LINE_LIMIT = 12288

TokenValidator = Callable[[str, str], bool]
"""``(login, token) -> accepted?`` for the sandbox's XOAUTH2."""


def _drop_aiosmtpd_noise(record: logging.LogRecord) -> bool:
    """aiosmtpd 1.4 itself sets the deprecated ``Session.login_data`` after
    every successful AUTH and logs a warning each time; nothing to act on."""
    return "login_data is deprecated" not in record.getMessage()


def _as_home(home: Home | str | os.PathLike[str]) -> Home:
    return home if isinstance(home, Home) else Home.resolve(home)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (it holds key or password).

    Not fsynced (the sandbox is throwaway), but still atomic, so
    :func:`info` in another process never reads half a ``sandbox.json``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, data, mode=0o600, fsync=False)


def _free_port(host: str) -> int:
    """A port free now (aiosmtpd's Controller cannot bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens; read from ``sandbox.json``."""

    host: str
    starttls_port: int
    tls_port: int
    ca_file: Path
    login: str
    password: str = field(repr=False)
    pid: int = 0

    def settings(self, encryption: Encryption = Encryption.STARTTLS) -> AccountSettings:
        """Account settings pointing at the sandbox, password filled in."""
        return _settings_for(self, encryption)


def _settings_for(
    where: SandboxInfo | Sandbox, encryption: Encryption
) -> AccountSettings:
    port = where.tls_port if encryption is Encryption.SSL else where.starttls_port
    return AccountSettings.model_validate(
        {
            "enabled": True,
            "account_name": "Piaskownica",
            "sender": SANDBOX_SENDER,
            "display_name": SANDBOX_DISPLAY_NAME,
            "host": where.host,
            "port": port,
            "encryption": encryption,
            "login": where.login,
            "password": where.password,
            "timeout": 10.0,
            "ca_file": str(where.ca_file),
        }
    )


@dataclass(frozen=True)
class Received:
    """One message the sandbox accepted."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    from_header: str
    date: datetime | None
    encryption: str
    message_id: str
    raw: bytes = field(repr=False)
    port: int = 0
    login: str | None = None
    received_at: float = 0.0

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern policy (headers decoded)."""
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _SandboxSMTP(SMTP):
    """aiosmtpd's server with room for RFC 4954's 12288-octet AUTH lines,
    and AUTH allowed from the start on the implicit-TLS port.

    aiosmtpd reads lines through a StreamReader limited to
    ``line_length_limit`` and checks commands against ``command_size_limits``
    (which its ``__init__`` clears), so both are raised here.
    """

    line_length_limit = AUTH_LINE_LIMIT  # sizes the line reader in __init__

    def __init__(
        self, handler: Any, *, implicit_tls: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(handler, **kwargs)
        # Message lines keep RFC 5321's 1000-octet limit (section 4.5.3.1.6),
        # so an overlong line from our message builder is still caught.
        self.line_length_limit = SMTP.line_length_limit
        if implicit_tls:
            # The whole connection is TLS (RFC 8314), so AUTH is safe at once.
            # aiosmtpd only knows STARTTLS as "TLS" and would warn on every
            # connection if asked not to require TLS; say it here instead.
            self._auth_require_tls = False
        limits: collections.defaultdict[str, int] = collections.defaultdict(
            lambda: SMTP.command_size_limit
        )
        limits["AUTH"] = AUTH_LINE_LIMIT
        self.command_size_limits = limits

    # -- pipelining (RFC 2920 section 3.2) ----------------------------------

    _may_hold = False  # while answering RSET, MAIL or RCPT
    _held_replies = b""  # replies not yet sent, each with its CRLF

    async def push(self, status: AnyStr) -> None:
        """Send a reply, or hold it while the client's next command is
        already waiting (RFC 2920 section 3.2: a server should send the
        replies to a pipelined group as a unit, holds only those to RSET,
        MAIL and RCPT, and must send what it holds as soon as no complete
        command is waiting). One write per group instead of one per
        command; a client that waits for each reply never has a command
        waiting, so it sees no difference.

        aiosmtpd's ``StreamReader`` keeps what it has read and not parsed
        in ``_buffer``; without it, nothing is held."""
        data: bytes = (
            status.encode("utf-8" if self.enable_SMTPUTF8 else "ascii")
            if isinstance(status, str)
            else bytes(status)
        )
        # The stream's own buffer: what has been read but not yet parsed.
        waiting = getattr(self._reader, "_buffer", b"")
        if self._may_hold and b"\n" in waiting:
            self._held_replies += data + b"\r\n"
            return
        if self._held_replies:
            data, self._held_replies = self._held_replies + data, b""
        await super().push(data)

    async def smtp_MAIL(self, arg: str) -> None:
        await self._holding(super().smtp_MAIL, arg)

    async def smtp_RCPT(self, arg: str) -> None:
        await self._holding(super().smtp_RCPT, arg)

    async def smtp_RSET(self, arg: str) -> None:
        await self._holding(super().smtp_RSET, arg)

    async def _holding(
        self, command: Callable[[str], Awaitable[None]], arg: str
    ) -> None:
        self._may_hold = True
        try:
            await command(arg)
        finally:
            self._may_hold = False

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's MAIL/RCPT address parsing, remembered per argument.

        It runs the email package's full RFC 5322 parser (and defines a
        class) on every command, which cost more than writing the message;
        the result depends only on the argument and ``local_part_limit``,
        and a sandbox sees the same few addresses over and over.
        """
        key = (arg, self.local_part_limit)
        found = _ADDRESSES.get(key)
        if found is None:
            found = super()._getaddr(arg)
            if len(_ADDRESSES) >= _ADDRESS_CACHE_SIZE:
                _ADDRESSES.clear()
            _ADDRESSES[key] = found
        return found


_ADDRESS_CACHE_SIZE = 1024
_ADDRESSES: dict[tuple[str, int], tuple[str | None, str | None]] = {}


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SandboxSMTP(self.handler, **self.SMTP_kwargs)


class _Handler:
    """Stores each message with a trace header; one instance per port."""

    def __init__(self, maildir: Path, port: int) -> None:
        self.maildir = maildir
        self.port = port
        # Creates new/, cur/ and tmp/; messages are then written directly.
        mailbox.Maildir(str(maildir), create=True)
        self._tmp = maildir / "tmp"
        self._new = maildir / "new"
        self._unique = (os.getpid(), id(self), socket.gethostname())
        self._count = itertools.count()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        """Advertise PIPELINING (RFC 2920), which aiosmtpd honours without
        saying so: it reads each command from a buffered stream, one line
        at a time, answers them in order, and never discards what it has
        not read yet (RFC 2920 section 3.2; tests/test_pipelining.py proves
        it over STARTTLS). Real submission servers (Gmail, Office 365,
        Postfix) advertise it, so clients tried here take the same path.

        aiosmtpd leaves recording the client's name to this hook."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        tls = None
        if server.transport is not None:
            ssl_object = server.transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                tls = ssl_object.version()
        auth_data = session.auth_data
        login = getattr(auth_data, "login", None)
        trace = {
            "port": self.port,
            "tls": tls or "none",
            "login": login.decode("utf-8", "replace")
            if isinstance(login, bytes)
            else login,
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "received_at": time.time(),
        }
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        line = TRACE_HEADER + b": " + json.dumps(trace).encode("ascii") + b"\r\n"
        self._store(line + content)
        log.info(
            "sandbox port %s accepted a message from %s to %d recipient(s) (%s)",
            self.port,
            envelope.mail_from,
            len(envelope.rcpt_tos),
            trace["tls"],
        )
        return "250 2.0.0 OK: queued in the sandbox"

    def _store(self, data: bytes) -> None:
        """Deliver ``data`` the Maildir way: write under tmp/, then rename
        into new/, so a reader never sees half a message.

        ``mailbox.Maildir.add`` would do the same plus an fsync per message,
        which made fsync the largest single cost of the sandbox's receive
        path; a test server need not survive a power cut, and a rename is
        atomic against a crash of the process.
        """
        now = time.time()
        pid, me, host = self._unique
        name = (
            f"{int(now)}.M{int(now % 1 * 1e6)}P{pid}Q{me:x}_{next(self._count)}.{host}"
        )
        tmp = self._tmp / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.rename(tmp, self._new / name)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def read_xoauth2(server: SMTP, args: list[str]) -> tuple[str, str] | None:
    """The login and bearer token of an AUTH XOAUTH2 exchange, or None when
    the client sent something unreadable (already answered).

    The initial response is ``user=<login>^Aauth=Bearer <token>^A^A`` in
    base64 (Google's and Microsoft's XOAUTH2 SASL profile); it may come on
    the AUTH line or after an empty ``334`` challenge.
    """
    if len(args) == 1:
        blob = await server.challenge_auth("", encode_to_b64=False)
        if not isinstance(blob, bytes):
            return None
    else:
        try:
            blob = base64.b64decode(args[1], validate=True)
        except binascii.Error:
            await server.push("501 5.5.2 Can't decode base64")
            return None
    fields = dict(
        part.split("=", 1)
        for part in blob.decode("utf-8", "replace").split("\x01")
        if "=" in part
    )
    bearer = fields.get("auth", "")
    token = bearer[7:] if bearer.lower().startswith("bearer ") else ""
    return fields.get("user", ""), token


class _OAuthHandler(_Handler):
    """Adds AUTH XOAUTH2 (Google/Microsoft SASL) checked by a validator.

    aiosmtpd offers every ``auth_<NAME>`` method of the handler as a
    mechanism; this one exists only when a token validator is given.
    """

    def __init__(self, maildir: Path, port: int, validator: TokenValidator) -> None:
        super().__init__(maildir, port)
        self.validator = validator

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        read = await read_xoauth2(server, args)
        if read is None:
            return AuthResult(success=False, handled=True)
        login, token = read
        if token and self.validator(login, token):
            return AuthResult(
                success=True, auth_data=LoginPassword(login.encode(), b"")
            )
        # Google and Microsoft answer a bad token with a base64 JSON status
        # challenge; the client sends an empty line, then gets the 535.
        status = {"status": "401", "schemes": "bearer", "scope": "SMTP.Send"}
        await server.challenge_auth(json.dumps(status))
        return AuthResult(
            success=False,
            handled=False,
            message="535 5.7.3 Authentication unsuccessful",
        )


class Sandbox:
    """The two listeners, their CA and the Maildir, under ``<home>/sandbox``."""

    def __init__(
        self,
        home: Home | str | os.PathLike[str],
        host: str = "127.0.0.1",
        starttls_port: int | None = None,
        tls_port: int | None = None,
        token_validator: TokenValidator | None = None,
        password: str | None = None,
    ) -> None:
        self.home = _as_home(home)
        self.host = host
        self.starttls_port = starttls_port or 0
        self.tls_port = tls_port or 0
        self._wanted = (starttls_port, tls_port)
        self.token_validator = token_validator
        self.dir = self.home.sandbox_dir
        self.ca_file = self.dir / "ca.pem"
        self.maildir = self.dir / "maildir"
        self.state_file = self.dir / "sandbox.json"
        self.login = SANDBOX_LOGIN
        # A caller-chosen password (tests plant a known one); otherwise the
        # one generated on first start and kept in sandbox.json.
        self._chosen_password = password
        self.password = ""
        self._controllers: list[Controller] = []

    # -- persistent material ---------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_file.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _ca(self) -> trustme.CA:
        """The sandbox CA: made on first start, reused afterwards so a
        ``ca_file`` saved in settings stays valid."""
        key_file = self.dir / "ca-key.pem"
        if self.ca_file.exists() and key_file.exists():
            return trustme.CA.from_pem(self.ca_file.read_bytes(), key_file.read_bytes())
        authority = trustme.CA(organization_name="bpmnb sandbox")
        _write_private(key_file, authority.private_key_pem.bytes())
        self.ca_file.write_bytes(authority.cert_pem.bytes())
        return authority

    def _server_context(self) -> ssl.SSLContext:
        names = dict.fromkeys([self.host, "127.0.0.1", "localhost"])
        leaf = self._ca().issue_cert(*names, common_name=self.host)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        leaf.configure_cert(context)
        return context

    def _write_state(self, running: bool) -> None:
        state = {
            "host": self.host,
            "starttls_port": self.starttls_port,
            "tls_port": self.tls_port,
            "ca_file": str(self.ca_file),
            "login": self.login,
            "password": self.password,
            "pid": os.getpid(),
            "running": running,
        }
        _write_private(self.state_file, json.dumps(state, indent=2).encode("utf-8"))

    # -- authentication ---------------------------------------------------

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        good = hmac.compare_digest(
            auth_data.login, self.login.encode("utf-8")
        ) & hmac.compare_digest(auth_data.password, self.password.encode("utf-8"))
        # handled=False: aiosmtpd then sends the 535 reply itself.
        return AuthResult(success=bool(good), handled=False, auth_data=auth_data)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> Sandbox:
        """Start both listeners and write ``sandbox.json``."""
        if self._controllers:
            return self
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        aiosmtpd_log = logging.getLogger("mail.log")
        if _drop_aiosmtpd_noise not in aiosmtpd_log.filters:
            aiosmtpd_log.addFilter(_drop_aiosmtpd_noise)
        state = self._load_state()
        self.password = self._chosen_password or str(
            state.get("password") or _new_password()
        )
        context = self._server_context()
        wanted_starttls, wanted_tls = self._wanted
        self.starttls_port = wanted_starttls or _free_port(self.host)
        self.tls_port = wanted_tls or _free_port(self.host)
        common: dict[str, Any] = {
            "hostname": self.host,
            "server_hostname": "sandbox.bpmnb.invalid",
            "authenticator": self._authenticate,
            "auth_required": True,
            "enable_SMTPUTF8": True,
            "timeout": 60,
        }

        def handler(port: int) -> _Handler:
            if self.token_validator is not None:
                return _OAuthHandler(self.maildir, port, self.token_validator)
            return _Handler(self.maildir, port)

        starttls = _Controller(
            handler(self.starttls_port),
            port=self.starttls_port,
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            **common,
        )
        implicit = _Controller(
            handler(self.tls_port),
            port=self.tls_port,
            ssl_context=context,
            implicit_tls=True,
            **common,
        )
        try:
            for controller in (starttls, implicit):
                controller.start()
                self._controllers.append(controller)
        except BaseException:
            self.stop()
            raise
        self._write_state(running=True)
        log.info(
            "sandbox on %s: STARTTLS port %s, TLS port %s",
            self.host,
            self.starttls_port,
            self.tls_port,
        )
        return self

    def stop(self) -> None:
        """Stop the listeners; ``sandbox.json`` stays, marked not running,
        so the password and ports are kept for the next start."""
        controllers, self._controllers = self._controllers, []
        for controller in controllers:
            try:
                controller.stop()
            except Exception:  # a half-started controller
                log.debug("sandbox controller stop failed", exc_info=True)
        if controllers:
            self._write_state(running=False)
            log.info("sandbox on %s stopped", self.host)

    @property
    def running(self) -> bool:
        return bool(self._controllers)

    def info(self) -> SandboxInfo:
        return SandboxInfo(
            host=self.host,
            starttls_port=self.starttls_port,
            tls_port=self.tls_port,
            ca_file=self.ca_file,
            login=self.login,
            password=self.password,
            pid=os.getpid(),
        )

    def settings(self, encryption: Encryption = Encryption.STARTTLS) -> AccountSettings:
        """Account settings pointing at the sandbox, password filled in."""
        return _settings_for(self, encryption)

    def received(self) -> list[Received]:
        return received(self.home)

    def clear(self) -> None:
        """Forget every received message."""
        clear(self.home)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _new_password() -> str:
    """A random password that does not start with "-": command-line
    clients (swaks, curl) would take such a password for an option."""
    while True:
        password = secrets.token_urlsafe(18)
        if not password.startswith("-"):
            return password


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def info(home: Home | str | os.PathLike[str]) -> SandboxInfo | None:
    """The running sandbox of ``home`` (from any process), or None."""
    path = _as_home(home).sandbox_dir / "sandbox.json"
    try:
        data = json.loads(path.read_text("utf-8"))
        if not data.get("running") or not _pid_alive(int(data.get("pid", 0))):
            return None
        return SandboxInfo(
            host=str(data["host"]),
            starttls_port=int(data["starttls_port"]),
            tls_port=int(data["tls_port"]),
            ca_file=Path(data["ca_file"]),
            login=str(data["login"]),
            password=str(data["password"]),
            pid=int(data["pid"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _parse(raw_with_trace: bytes) -> Received:
    head, _, raw = raw_with_trace.partition(b"\n")
    trace: dict[str, Any] = {}
    if head.startswith(TRACE_HEADER + b":"):
        trace = json.loads(head.split(b":", 1)[1].strip())
    else:
        raw = raw_with_trace
    message = BytesParser(policy=policy.default).parsebytes(raw)
    date_header = message.get("Date")
    date = getattr(date_header, "datetime", None) if date_header else None
    return Received(
        sender=str(trace.get("mail_from", "")),
        recipients=tuple(str(r) for r in trace.get("rcpt_to", [])),
        subject=str(message.get("Subject", "")),
        from_header=str(message.get("From", "")),
        date=date,
        encryption=str(trace.get("tls", "none")),
        message_id=str(message.get("Message-ID", "")).strip(),
        raw=raw,
        port=int(trace.get("port", 0)),
        login=trace.get("login"),
        received_at=float(trace.get("received_at", 0.0)),
    )


def received(home: Home | str | os.PathLike[str]) -> list[Received]:
    """Messages the sandbox of ``home`` accepted, oldest first."""
    path = _as_home(home).sandbox_dir / "maildir"
    if not path.is_dir():
        return []
    box = mailbox.Maildir(str(path), create=False)
    items = []
    for key in box.keys():
        try:
            with box.get_file(key) as handle:
                items.append(_parse(handle.read()))
        except (OSError, KeyError):
            continue  # removed meanwhile by clear()
    return sorted(items, key=lambda item: item.received_at)


def clear(home: Home | str | os.PathLike[str]) -> None:
    """Delete every message from the sandbox Maildir of ``home``."""
    path = _as_home(home).sandbox_dir / "maildir"
    if not path.is_dir():
        return
    box = mailbox.Maildir(str(path), create=False)
    for key in list(box.keys()):
        box.discard(key)
