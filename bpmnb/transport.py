"""One SMTP conversation over a socket we control, in the four encryption modes.

The framing (reply parsing, dot-stuffing) comes from :mod:`smtplib`; every
decision that touches security is ours, because smtplib's defaults are
unsafe for this job: it waits forever, does not verify certificates unless
told to, encodes AUTH credentials as ASCII (a Polish password fails), and
falls back to plain text silently. Here:

* every socket operation has ``settings.timeout`` (connect, TLS handshake,
  each read and write);
* certificates are always verified (system CAs plus ``settings.ca_file``),
  TLS 1.2 or newer;
* credentials never travel without TLS unless the user chose ``none``;
* AUTH is done by hand with UTF-8 (RFC 4616 PLAIN, LOGIN, XOAUTH2);
* each failure becomes a :class:`~bpmnb.errors.DeliveryError` with a
  :class:`~bpmnb.errors.Code`, the :class:`~bpmnb.errors.Stage` it happened
  at and the server's reply;
* when the server advertises PIPELINING (RFC 2920) after TLS, a mail
  transaction writes MAIL FROM, RCPT TO and DATA at once and then reads
  the replies, saving two round trips per message; EHLO, STARTTLS and AUTH
  are never pipelined, and ``BPMNB_PIPELINING=0`` turns it off;
* the conversation is kept in a :class:`Transcript` with AUTH payloads
  masked and the message body left out, and logged at DEBUG.

Names here are a contract: the queue worker, the diagnosis and OAuth build
on them.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal, NoReturn

import idna

from bpmnb.errors import (
    Code,
    DeliveryError,
    SmtpConnectError,
    SmtpTimeout,
    Stage,
)
from bpmnb.settings import AccountSettings, Encryption

log = logging.getLogger(__name__)

MASK = "***"
IMPLICIT_TLS_PORT = 465  # RFC 8314 section 7.3: submissions
# How long to spend, after a silent greeting, checking whether the port
# speaks TLS from the first byte instead (so we can say "use SSL/TLS").
_TLS_PROBE_SECONDS = 0.75

# OpenSSL X509_V_ERR_* values carried by SSLCertVerificationError.verify_code.
_X509_CERT_HAS_EXPIRED = 10
_X509_HOSTNAME_MISMATCH = 62
_X509_IP_ADDRESS_MISMATCH = 64

# RFC 2920 section 3.1: a client that does not read replies while it writes
# must keep each pipelined group within the TCP window (usually 4K octets,
# the RFC says), or client and server can block each other.
PIPELINE_WINDOW = 4096


@dataclass(frozen=True)
class Credential:
    """Who we log in as. ``secret`` is called only when AUTH needs it, so a
    token can be fetched or renewed at that moment; its result is never kept."""

    login: str
    mechanism: Literal["password", "xoauth2"]
    secret: Callable[[], str] = field(repr=False)


@dataclass(frozen=True)
class TlsInfo:
    """What the TLS handshake negotiated, for the diagnosis to show."""

    version: str
    cipher: str
    subject: str
    issuer: str
    not_after: str
    san: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    message_id: str
    smtp_code: int
    smtp_reply: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


class Transcript:
    """Commands and replies of a conversation, AUTH payloads masked."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def client(self, line: str) -> None:
        self.lines.append(("C", line))

    def server(self, line: str) -> None:
        self.lines.append(("S", line))

    def note(self, line: str) -> None:
        self.lines.append(("*", line))

    def text(self) -> str:
        return "\n".join(f"{who}: {line}" for who, line in self.lines)


def ssl_context(settings: AccountSettings) -> ssl.SSLContext:
    """Verification always on, TLS 1.2 or newer, plus ``settings.ca_file``.

    ``create_default_context`` loads the system CAs and turns on hostname
    checking; the extra CA file is added to them, never instead of them.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.ca_file:
        try:
            context.load_verify_locations(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                Code.INVALID_SETTINGS,
                stage=Stage.SETTINGS,
                detail=f"ca_file {settings.ca_file!r} cannot be read: {exc}",
                hint_fields={"field": "ca_file"},
            ) from exc
    return context


def tls_info(sock: ssl.SSLSocket) -> TlsInfo:
    """The negotiated version and cipher and the server certificate's names."""
    cert = sock.getpeercert() or {}

    def name(rdns: object) -> str:
        """The commonName, or the whole name when there is none (some CAs
        and trustme's test CAs leave it out)."""
        pairs = [
            (str(key), str(value))
            for rdn in (rdns if isinstance(rdns, tuple) else ())
            for key, value in rdn
        ]
        for key, value in pairs:
            if key == "commonName":
                return value
        return ", ".join(f"{key}={value}" for key, value in pairs)

    names = cert.get("subjectAltName", ())
    san = tuple(
        f"{entry[0]}:{entry[1]}"
        for entry in (names if isinstance(names, tuple) else ())
        if isinstance(entry, tuple) and len(entry) == 2
    )
    cipher = sock.cipher()
    return TlsInfo(
        version=sock.version() or "",
        cipher=cipher[0] if cipher else "",
        subject=name(cert.get("subject")),
        issuer=name(cert.get("issuer")),
        not_after=str(cert.get("notAfter", "")),
        san=san,
    )


_VERBS = frozenset(
    "EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP".split()
)


class _ReplyReader:
    """Reads reply lines from the socket with one deadline for a whole reply.

    smtplib's timeout applies to each ``recv``, so a server that dribbles a
    byte just often enough (a tarpit; RFC 5321 section 4.5.3.2 lets servers
    be slow, not endless) would hold the client forever. Here every reply
    must be complete within the settings' timeout.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.buffer = b""

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buffer and (limit < 0 or len(self.buffer) < limit):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete reply within {self.timeout:g} s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(4096)
            finally:
                self.sock.settimeout(self.timeout)
            if not chunk:
                break
            self.buffer += chunk
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if limit >= 0:
            end = min(end, limit)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def close(self) -> None:
        self.buffer = b""


class _Wire(smtplib.SMTP):
    """smtplib's framing with a recording hook on every line in and out.

    ``masking`` is on during AUTH: then client lines after the mechanism
    name and server 334 challenges are written as ``***``. ``body`` is on
    while the DATA content goes out: only its size is noted.
    """

    def __init__(self, timeout: float, record: Callable[[str, str], None]) -> None:
        # A placeholder name: without one smtplib calls socket.getfqdn(),
        # a reverse lookup that can hang; EHLO gets an address literal.
        super().__init__(timeout=timeout, local_hostname="[127.0.0.1]")
        self._record = record
        self.masking = False
        self.body = False
        self.greeted = False
        # Forms of the secret masked in replies while AUTH runs.
        self.secrets: list[bytes] = []

    def putcmd(self, cmd: str, args: str = "") -> None:
        """Verbs in upper case, as RFC 5321 writes them (smtplib sends
        "ehlo", "mail"); servers accept both, transcripts read better."""
        verb = cmd.upper()
        super().putcmd(verb if verb in _VERBS else cmd, args)

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        """smtplib's MAIL FROM with the address quoting remembered: smtplib
        re-parses the address (``email.utils.parseaddr``) on every command,
        which cost a worker about as much as a queue update per message."""
        self.mail_command(sender, options)
        return self.getreply()

    def mail_command(self, sender: str, options: Sequence[str] = ()) -> None:
        """Write MAIL FROM without waiting for the reply."""
        self.putcmd("mail", self.mail_args(sender, options))

    def mail_args(self, sender: str, options: Sequence[str] = ()) -> str:
        """The argument of MAIL FROM; switches the command encoding to UTF-8
        when SMTPUTF8 is asked for (RFC 6531 section 3.2), as smtplib does."""
        optionlist = ""
        if options and self.does_esmtp:
            if any(x.lower() == "smtputf8" for x in options):
                if self.has_extn("smtputf8"):
                    self.command_encoding = "utf-8"
                else:
                    raise smtplib.SMTPNotSupportedError(
                        "SMTPUTF8 not supported by server"
                    )
            optionlist = " " + " ".join(options)
        return f"FROM:{_quoteaddr(sender)}{optionlist}"

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        """smtplib's RCPT TO with the address quoting remembered."""
        self.putcmd("rcpt", self.rcpt_args(recip, options))
        return self.getreply()

    def rcpt_args(self, recip: str, options: Sequence[str] = ()) -> str:
        """The argument of RCPT TO."""
        optionlist = ""
        if options and self.does_esmtp:
            optionlist = " " + " ".join(options)
        return f"TO:{_quoteaddr(recip)}{optionlist}"

    def command_line(self, cmd: str, args: str = "") -> bytes:
        """One command as :meth:`putcmd` would write it, encoded, unsent."""
        verb = cmd.upper()
        word = verb if verb in _VERBS else cmd
        text = f"{word} {args}" if args else word
        if "\r" in text or "\n" in text:
            raise ValueError("command and arguments contain a line break")
        return f"{text}\r\n".encode(self.command_encoding)

    def send_group(self, lines: Sequence[bytes]) -> None:
        """Write several command lines in one send (RFC 2920 section 3.1: a
        pipelined group), recording each line on its own as usual."""
        for line in lines:
            self._record("C", line.decode("utf-8", "replace").rstrip("\r\n"))
        smtplib.SMTP.send(self, b"".join(lines))

    def send(self, s: str | bytes) -> None:  # type: ignore[override]
        data = s.encode(self.command_encoding) if isinstance(s, str) else s
        if self.body:
            self._record("*", f"(message content, {len(data)} bytes)")
        else:
            line = data.decode("utf-8", "replace").rstrip("\r\n")
            if self.masking:
                parts = line.split(" ", 2)
                if len(parts) >= 2 and parts[0].upper() == "AUTH":
                    line = " ".join(parts[:2] + ([MASK] if len(parts) > 2 else []))
                else:
                    line = MASK
            self._record("C", line)
        super().send(data)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is not None:
            if not isinstance(self.file, _ReplyReader):
                # Also after STARTTLS, which drops the old reader and with it
                # anything buffered before TLS (RFC 3207 section 4.2).
                self.file = _ReplyReader(self.sock, self.timeout)
            self.file.deadline = time.monotonic() + self.timeout
        code, message = super().getreply()
        for form in self.secrets:
            # A server that echoes the AUTH argument in its refusal must not
            # carry the secret into the transcript, the error or the log.
            message = message.replace(form, MASK.encode())
        if code == -1 and self.greeted:
            # smtplib's -1: the line does not start with a 3-digit code (RFC
            # 5321 section 4.2). Taking it as a refusal would make it a
            # permanent failure; the conversation is broken, so it is dropped.
            self._record("S", _reply_text(message)[:200])
            raise smtplib.SMTPServerDisconnected("the server's reply is not SMTP")
        lines = message.split(b"\n") if message else [b""]
        for index, raw in enumerate(lines):
            sep = "-" if index < len(lines) - 1 else " "
            text = raw.decode("utf-8", "replace")
            if self.masking and code == 334:
                text = MASK
            self._record("S", f"{code}{sep}{text}".rstrip())
        return code, message


@functools.lru_cache(maxsize=256)
def _quoteaddr(address: str) -> str:
    """:func:`smtplib.quoteaddr`, remembered (a pure function of its text)."""
    return smtplib.quoteaddr(address)


def _groups(lines: list[bytes]) -> Iterator[list[bytes]]:
    """Split pipelined command lines into groups of at most
    :data:`PIPELINE_WINDOW` octets each (one line at least), in order."""
    group: list[bytes] = []
    size = 0
    for line in lines:
        if group and size + len(line) > PIPELINE_WINDOW:
            yield group
            group, size = [], 0
        group.append(line)
        size += len(line)
    if group:
        yield group


def pipelining_wanted() -> bool:
    """False when ``BPMNB_PIPELINING`` is ``0`` (or ``no``/``off``/``false``):
    for a server that advertises PIPELINING but mishandles it, and for
    measuring what pipelining buys."""
    value = os.environ.get("BPMNB_PIPELINING", "").strip().lower()
    return value not in ("0", "no", "off", "false")


def secret_forms(login: str, secret: str) -> list[str]:
    """The secret as it travels in AUTH PLAIN, LOGIN and XOAUTH2, and as
    itself; base64 without its padding, as an echo may cut it there."""

    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode("ascii")

    forms = [
        secret,
        b64(secret),
        b64(f"\0{login}\0{secret}"),
        b64(f"user={login}\x01auth=Bearer {secret}\x01\x01"),
    ]
    return forms + [f.rstrip("=") for f in forms[1:]]


def _reply_text(message: bytes | str) -> str:
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace").replace("\n", " ").strip()
    return message.strip()


def _idna_domain(domain: str) -> str:
    """A domain as A-labels (IDNA 2008, RFC 5891, with UTS 46 mapping);
    ASCII domains are left alone. Raises ValueError for an invalid name."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"{domain!r} is not a valid domain name: {exc}") from exc


def envelope_address(address: str) -> str:
    """The address for MAIL FROM / RCPT TO: domain in IDNA form, local part
    unchanged (a non-ASCII local part needs SMTPUTF8, RFC 6531)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local}@{_idna_domain(domain)}"


def _addresses(values: list[str]) -> list[str]:
    return [addr for _name, addr in getaddresses(values) if addr]


class SmtpSession:
    """A connection that can send several messages (the worker reuses it).

    ``open`` runs connect, greeting, EHLO, TLS and AUTH as the settings say;
    ``send`` runs one mail transaction (pipelined when the server offers
    it and ``pipelining`` is true); ``close`` says QUIT. Every failure
    raises :class:`DeliveryError` (or its subclasses) with a code and stage;
    the connection is closed when the failure leaves it unusable.
    """

    def __init__(
        self,
        settings: AccountSettings,
        credential: Credential | None,
        *,
        transcript: Transcript | None = None,
    ) -> None:
        self.settings = settings
        self.credential = credential
        self.transcript = transcript if transcript is not None else Transcript()
        self._wire: _Wire | None = None
        self._tls: TlsInfo | None = None
        self._stage = Stage.CONNECT
        self.authenticated = False
        # RFC 2920: used when the server advertises PIPELINING after TLS.
        self.pipelining = pipelining_wanted()

    # -- recording ---------------------------------------------------------

    def _record(self, who: str, line: str) -> None:
        if who == "C":
            self.transcript.client(line)
        elif who == "S":
            self.transcript.server(line)
        else:
            self.transcript.note(line)
        log.debug("%s: %s", who, line)

    # -- failures ----------------------------------------------------------

    def _fail(
        self,
        code: Code,
        *,
        smtp_code: int | None = None,
        reply: bytes | str | None = None,
        detail: str | None = None,
        kind: type[DeliveryError] = DeliveryError,
        close: bool = False,
        **hint_fields: object,
    ) -> NoReturn:
        error = kind(
            code,
            stage=self._stage,
            smtp_code=smtp_code,
            smtp_reply=_reply_text(reply) if reply is not None else None,
            detail=detail,
            hint_fields=hint_fields,
        )
        self._record("*", f"failed at {self._stage}: {code}")
        if close:
            self._abort()
        raise error

    def _fail_reply(self, code: Code, smtp_code: int, reply: bytes) -> NoReturn:
        """A refusal by reply: 4xx is temporary whatever the step (RFC 5321
        section 4.2.1), and 421 means the server is closing the link."""
        if 400 <= smtp_code < 500:
            self._fail(
                Code.TEMPORARY_FAILURE,
                smtp_code=smtp_code,
                reply=reply,
                close=smtp_code == 421,
            )
        self._fail(code, smtp_code=smtp_code, reply=reply)

    def _fail_timeout(self) -> NoReturn:
        """The server stopped answering in the middle of the conversation."""
        self._fail(
            Code.CONNECTION_DROPPED,
            kind=SmtpTimeout,
            detail=f"no reply within {self.settings.timeout:g} s",
            close=True,
        )

    @contextmanager
    def _step(self, stage: Stage) -> Iterator[None]:
        """Run one step; turn socket-level failures into coded errors."""
        self._stage = stage
        try:
            yield
        except DeliveryError:
            raise
        except TimeoutError:
            self._fail_timeout()
        except smtplib.SMTPServerDisconnected as exc:
            if _timed_out(exc):
                self._fail_timeout()
            self._fail(
                Code.CONNECTION_DROPPED,
                kind=SmtpConnectError,
                detail=str(exc),
                close=True,
            )
        except ssl.SSLError as exc:
            self._fail(
                Code.CONNECTION_DROPPED,
                kind=SmtpConnectError,
                detail=str(exc),
                close=True,
            )
        except OSError as exc:
            self._fail(
                Code.CONNECTION_DROPPED,
                kind=SmtpConnectError,
                detail=f"{type(exc).__name__}: {exc}",
                close=True,
            )

    # -- connection --------------------------------------------------------

    @property
    def tls(self) -> TlsInfo | None:
        return self._tls

    @property
    def features(self) -> dict[str, str]:
        """EHLO keywords (lower case) and their parameters."""
        return dict(self._wire.esmtp_features) if self._wire else {}

    def _implicit_tls(self) -> bool:
        mode = self.settings.encryption
        return mode is Encryption.SSL or (
            mode is Encryption.AUTO and self.settings.port == IMPLICIT_TLS_PORT
        )

    def _connect(self) -> socket.socket:
        host, port, timeout = (
            self.settings.host,
            self.settings.port,
            self.settings.timeout,
        )
        self._stage = Stage.DNS
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            self._fail(Code.DNS_FAILED, kind=SmtpConnectError, detail=str(exc))
        self._stage = Stage.CONNECT
        self._record("*", f"connecting to {host}:{port} (timeout {timeout:g} s)")
        last: OSError | None = None
        for family, kind, proto, _name, address in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
        if isinstance(last, TimeoutError):
            self._fail(
                Code.CONNECT_TIMEOUT,
                kind=SmtpTimeout,
                detail=f"no connection within {timeout:g} s",
            )
        if isinstance(last, ConnectionRefusedError):
            self._fail(Code.CONNECT_REFUSED, kind=SmtpConnectError, detail=str(last))
        self._fail(
            Code.CONNECT_REFUSED,
            kind=SmtpConnectError,
            detail=f"{type(last).__name__}: {last}",
        )

    def _handshake(self, sock: socket.socket) -> ssl.SSLSocket:
        """Wrap ``sock`` in TLS, verifying the server as ``settings.host``."""
        context = ssl_context(self.settings)
        try:
            tls = context.wrap_socket(sock, server_hostname=self.settings.host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            if exc.verify_code == _X509_CERT_HAS_EXPIRED:
                code = Code.CERT_EXPIRED
            elif exc.verify_code in (
                _X509_HOSTNAME_MISMATCH,
                _X509_IP_ADDRESS_MISMATCH,
            ):
                code = Code.CERT_NAME_MISMATCH
            else:
                code = Code.CERT_UNTRUSTED
            self._fail(
                code,
                kind=SmtpConnectError,
                detail=exc.verify_message or str(exc),
                host=self.settings.host,
            )
        except ssl.SSLError as exc:
            sock.close()
            reason = (exc.reason or "").upper()
            # A plain SMTP server answers our ClientHello with "220 ...",
            # which OpenSSL reads as a record of an unknown version.
            if reason in (
                "WRONG_VERSION_NUMBER",
                "HTTP_REQUEST",
                "RECORD_LAYER_FAILURE",
            ):
                if self._implicit_tls():
                    self._fail(
                        Code.TLS_NOT_SPOKEN, kind=SmtpConnectError, detail=str(exc)
                    )
                # After "220" to STARTTLS (RFC 3207 section 4) the server went
                # on in plain text: its TLS is broken, not missing.
                self._fail(
                    Code.TLS_FAILED,
                    kind=SmtpConnectError,
                    detail=f"the server answered STARTTLS but did not start TLS: {exc}",
                )
            self._fail(Code.TLS_FAILED, kind=SmtpConnectError, detail=str(exc))
        except TimeoutError:
            sock.close()
            # Implicit TLS: the handshake is the first thing the server must
            # answer, so silence there is a missing greeting.
            self._fail(
                Code.NO_GREETING
                if self._stage is Stage.TLS and not self._wire
                else Code.TLS_FAILED,
                kind=SmtpTimeout,
                detail=f"TLS handshake not finished within {self.settings.timeout:g} s",
            )
        except OSError as exc:
            sock.close()
            # The peer hung up during the handshake: it does not speak TLS
            # here, or refuses our versions or ciphers.
            self._fail(
                Code.TLS_FAILED,
                kind=SmtpConnectError,
                detail=f"{type(exc).__name__}: {exc}",
            )
        self._tls = tls_info(tls)
        self._record(
            "*",
            f"TLS {self._tls.version} {self._tls.cipher}, certificate "
            f"{self._tls.subject or '?'} issued by {self._tls.issuer or '?'}",
        )
        return tls

    def _speaks_tls(self) -> bool:
        """After a silent greeting: does the port answer a TLS ClientHello?

        Used only to name the fault (TLS_EXPECTED rather than NO_GREETING);
        nothing but a ClientHello is sent and the certificate is not used.
        """
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE  # only detecting, never trusting
        budget = min(_TLS_PROBE_SECONDS, self.settings.timeout / 4)
        try:
            raw = socket.create_connection(
                (self.settings.host, self.settings.port), timeout=budget
            )
        except OSError:
            return False
        try:
            with probe.wrap_socket(raw, server_hostname=self.settings.host):
                return True
        except (OSError, ssl.SSLError):
            return False
        finally:
            raw.close()

    def _greeting(self, wire: _Wire) -> None:
        self._stage = Stage.GREETING
        try:
            code, message = wire.getreply()
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            if not _timed_out(exc):
                # Named as the check names it: the server hung up unasked.
                self._fail(
                    Code.CONNECTION_DROPPED,
                    kind=SmtpConnectError,
                    detail=f"closed before the greeting: {exc}",
                    close=True,
                )
            if not self._tls and self._speaks_tls():
                self._fail(
                    Code.TLS_EXPECTED,
                    kind=SmtpTimeout,
                    detail="no greeting; the port speaks TLS from the first byte",
                    close=True,
                )
            self._fail(
                Code.NO_GREETING,
                kind=SmtpTimeout,
                detail=f"no greeting within {self.settings.timeout:g} s",
                close=True,
            )
        except OSError as exc:
            self._fail(
                Code.CONNECTION_DROPPED,
                kind=SmtpConnectError,
                detail=f"{type(exc).__name__}: {exc}",
                close=True,
            )
        if code == 220:
            wire.greeted = True
            return
        if code == -1:
            self._fail(
                Code.NO_GREETING,
                kind=SmtpConnectError,
                reply=message,
                detail="the server's first line is not an SMTP greeting",
                close=True,
            )
        if 400 <= code < 500:
            self._fail(Code.SERVER_BUSY, smtp_code=code, reply=message, close=True)
        if 500 <= code < 600:
            # RFC 5321 section 3.1: "554 No SMTP service here" (often a
            # blocklisted address); the server refuses us, as the check says.
            self._fail(Code.CONNECT_REFUSED, smtp_code=code, reply=message, close=True)
        self._fail(Code.NO_GREETING, smtp_code=code, reply=message, close=True)

    def _ehlo(self, wire: _Wire, stage: Stage) -> None:
        """EHLO with an address literal (RFC 5321 section 4.1.4): avoids a
        slow reverse lookup of our own name; HELO when EHLO is refused."""
        with self._step(stage):
            host = wire.sock.getsockname()[0] if wire.sock else "127.0.0.1"
            literal = f"[IPv6:{host}]" if ":" in host else f"[{host}]"
            code, message = wire.ehlo(literal)
            if code == 250:
                return
            if 400 <= code < 500:
                self._fail_reply(Code.TEMPORARY_FAILURE, code, message)
            code, message = wire.helo(literal)
            if code != 250:
                # Both refused with 5xx: a policy refusal of this client.
                self._fail_reply(Code.CONNECT_REFUSED, code, message)

    def _starttls(self, wire: _Wire) -> None:
        with self._step(Stage.TLS):
            code, message = wire.docmd("STARTTLS")
        if code != 220:
            # RFC 3207 section 4: 454 is temporary (TEMPORARY_FAILURE); a 5xx
            # refuses the command the server advertised.
            self._fail_reply(Code.STARTTLS_UNAVAILABLE, code, message)
        assert wire.sock is not None
        wire.sock = self._handshake(wire.sock)
        # RFC 3207 section 4.2: forget everything learnt before TLS.
        wire.file = None
        wire.helo_resp = None
        wire.ehlo_resp = None
        wire.esmtp_features = {}
        wire.does_esmtp = False
        self._ehlo(wire, Stage.EHLO_TLS)

    def open(self) -> None:
        """Connect, read the greeting, EHLO, TLS as the mode says, AUTH."""
        if self._wire is not None:
            return
        try:
            self._open()
        except DeliveryError as exc:
            self._abort()
            log.info(
                "delivery via %s:%s failed: %s at %s%s",
                self.settings.host,
                self.settings.port,
                exc.code,
                exc.stage,
                f" ({exc.smtp_code})" if exc.smtp_code else "",
            )
            raise
        except BaseException:
            self._abort()
            raise

    def _open(self) -> None:
        settings = self.settings
        mode = settings.encryption
        self._tls = None
        self.authenticated = False
        sock = self._connect()
        if self._implicit_tls():
            self._stage = Stage.TLS
            sock = self._handshake(sock)
        wire = _Wire(settings.timeout, self._record)
        wire.sock = sock
        wire._host = settings.host  # type: ignore[attr-defined]  # smtplib's own
        self._wire = wire
        self._greeting(wire)
        self._ehlo(wire, Stage.EHLO)
        if not self._tls:
            offered = wire.has_extn("starttls")
            if mode is Encryption.STARTTLS:
                if not offered:
                    self._fail(Code.STARTTLS_UNAVAILABLE, close=True)
                self._starttls(wire)
            elif mode is Encryption.AUTO and offered:
                self._starttls(wire)
            elif mode is Encryption.AUTO and self.credential is not None:
                # MailKit's "Auto" would go on in clear; we refuse before
                # anything secret is sent.
                self._stage = Stage.TLS
                self._fail(
                    Code.PLAINTEXT_REFUSED,
                    detail="the server offers no STARTTLS and a login is set",
                    close=True,
                )
            elif mode is Encryption.NONE and offered:
                self._record("*", "server offers STARTTLS; not used (encryption none)")
            elif mode is Encryption.AUTO:
                self._record("*", "no STARTTLS offered; no login, going on in clear")
                log.warning(
                    "%s:%s offers no STARTTLS: messages go unencrypted "
                    "(encryption 'auto', no login to protect)",
                    settings.host,
                    settings.port,
                )
        if self.credential is not None:
            self._authenticate(wire, self.credential)
        log.debug("session open to %s:%s", settings.host, settings.port)

    # -- AUTH --------------------------------------------------------------

    def _authenticate(self, wire: _Wire, credential: Credential) -> None:
        self._stage = Stage.AUTH_MECHS
        if self._tls is None:
            if self.settings.encryption is not Encryption.NONE:
                self._fail(Code.PLAINTEXT_REFUSED, close=True)
            log.warning(
                "sending credentials for %r to %s:%s without encryption "
                "(encryption 'none' was chosen)",
                credential.login,
                self.settings.host,
                self.settings.port,
            )
        if not wire.has_extn("auth"):
            detail = None
            if self._tls is None and wire.has_extn("starttls"):
                detail = "the server offers AUTH only after STARTTLS"
            self._fail(Code.AUTH_UNAVAILABLE, detail=detail, close=True)
        offered = wire.esmtp_features["auth"].upper().split()
        if credential.mechanism == "xoauth2":
            choices = ["XOAUTH2"]
        else:
            choices = ["PLAIN", "LOGIN"]  # PLAIN first: one round trip
        mechanism = next((m for m in choices if m in offered), None)
        if mechanism is None:
            self._fail(
                Code.AUTH_UNAVAILABLE,
                detail=f"server offers {' '.join(offered) or 'nothing'}, "
                f"we need {' or '.join(choices)}",
                close=True,
            )
        self._stage = Stage.AUTH
        # Called now, not earlier: an OAuth token is fetched or renewed here,
        # and its own errors (bpmnb.oauth) pass through unchanged.
        secret = credential.secret()
        wire.masking = True
        wire.secrets = [
            form.encode() for form in secret_forms(credential.login, secret) if form
        ]
        try:
            with self._step(Stage.AUTH):
                code, reply, challenge = self._auth_exchange(
                    wire, mechanism, credential.login, secret
                )
        finally:
            wire.masking = False
            wire.secrets = []
            del secret
        if code == 235:
            self.authenticated = True
            self._record("*", f"authenticated as {credential.login!r} ({mechanism})")
            return
        self._fail_auth(code, reply, credential, challenge)

    def _auth_exchange(
        self, wire: _Wire, mechanism: str, login: str, secret: str
    ) -> tuple[int, bytes, str | None]:
        """Run AUTH; return the final reply and any XOAUTH2 error status."""

        def b64(data: str) -> str:
            return base64.b64encode(data.encode("utf-8")).decode("ascii")

        if mechanism == "PLAIN":
            # RFC 4616: authzid NUL authcid NUL passwd, all UTF-8.
            response = b64(f"\0{login}\0{secret}")
            code, reply = wire.docmd("AUTH", "PLAIN " + response)
            if code == 334:
                # A server ignoring the initial response (RFC 4954 section 4
                # allows asking again with an empty challenge).
                code, reply = wire.docmd(response)
            return code, reply, None
        if mechanism == "LOGIN":
            code, reply = wire.docmd("AUTH", "LOGIN")
            if code != 334:
                return code, reply, None
            code, reply = wire.docmd(b64(login))
            if code != 334:
                return code, reply, None
            code, reply = wire.docmd(b64(secret))
            return code, reply, None
        # XOAUTH2 (Google and Microsoft): "user=" login ^A "auth=Bearer " token
        # ^A ^A. A rejection comes as a 334 challenge with a base64 JSON
        # status; the client answers with an empty line to get the final reply.
        code, reply = wire.docmd(
            "AUTH",
            "XOAUTH2 " + b64(f"user={login}\x01auth=Bearer {secret}\x01\x01"),
        )
        status: str | None = None
        if code == 334:
            status = _xoauth2_status(reply)
            if status:
                self._record("*", f"XOAUTH2 error status: {status}")
            code, reply = wire.docmd("")
        return code, reply, status

    def _fail_auth(
        self, code: int, reply: bytes, credential: Credential, status: str | None
    ) -> NoReturn:
        """Name the refusal the way the provider means it.

        * Gmail: ``534 5.7.9 Application-specific password required``.
        * Microsoft 365: ``535 5.7.139 ... SmtpClientAuthentication is
          disabled`` (SMTP AUTH switched off for the tenant or mailbox, which
          stops XOAUTH2 too), "basic authentication is disabled", and other
          5.7.139 policy blocks (security defaults: "did not meet the
          criteria"). A 5.7.139 saying the credentials were wrong or the
          account is locked is a failed login, not a disabled one.
        * XOAUTH2 refused otherwise: TOKEN_INVALID; the token, its audience
          or its permission (SMTP.Send / SMTP.SendAsApp) is wrong, which a new
          token or a fixed app registration cures, unlike a wrong password.
        """
        text = _reply_text(reply)
        lowered = text.lower()
        if 400 <= code < 500:
            self._fail(Code.TEMPORARY_FAILURE, smtp_code=code, reply=reply, close=True)
        blames_login = "credentials were incorrect" in lowered or "locked" in lowered
        if (
            "smtpclientauthentication is disabled" in lowered
            or "basic authentication is disabled" in lowered
            or ("5.7.139" in text and not blames_login)
        ):
            self._fail(Code.AUTH_DISABLED, smtp_code=code, reply=reply, close=True)
        if code == 534 and "5.7.9" in text:
            self._fail(
                Code.APP_PASSWORD_REQUIRED, smtp_code=code, reply=reply, close=True
            )
        if credential.mechanism == "xoauth2":
            self._fail(
                Code.TOKEN_INVALID,
                smtp_code=code,
                reply=reply,
                detail=f"XOAUTH2 status {status}" if status else None,
                close=True,
            )
        self._fail(
            Code.AUTH_FAILED,
            smtp_code=code,
            reply=reply,
            close=True,
            login=credential.login,
        )

    # -- mail transaction -------------------------------------------------

    def send(self, message: EmailMessage) -> SendResult:
        """MAIL FROM / RCPT TO / DATA for one message; envelope from headers.

        The sender is ``Sender`` or else ``From``; recipients are To, Cc and
        Bcc, and the Bcc header is removed before the message goes out.
        """
        return self._logged(lambda: self._send(message))

    def _send(self, message: EmailMessage) -> SendResult:
        if self._wire is None:
            self.open()
        wire = self._wire
        assert wire is not None
        senders = _addresses(
            message.get_all("Sender", []) or message.get_all("From", [])
        )
        recipients = _addresses(
            [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
        )
        self._stage = Stage.MAIL_FROM
        if not senders:
            self._fail(Code.SENDER_REJECTED, detail="the message has no From")
        if not recipients:
            self._fail(Code.RECIPIENT_REJECTED, detail="the message has no recipient")
        needs_utf8 = not all(
            addr.rpartition("@")[0].isascii() for addr in [senders[0], *recipients]
        )
        options: list[str] = []
        if needs_utf8:
            if not wire.has_extn("smtputf8"):
                sender_ascii = senders[0].rpartition("@")[0].isascii()
                if not sender_ascii:
                    self._stage = Stage.MAIL_FROM
                else:
                    self._stage = Stage.RCPT_TO
                self._fail(
                    Code.RECIPIENT_REJECTED if sender_ascii else Code.SENDER_REJECTED,
                    detail="an address has a non-ASCII local part and the "
                    "server does not offer SMTPUTF8 (RFC 6531)",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        # Message.__delitem__ builds a new header list, so a shallow copy
        # keeps the caller's message (and its Bcc) untouched.
        outgoing = copy.copy(message)
        del outgoing["Bcc"]
        data = outgoing.as_bytes(policy=policy.SMTPUTF8 if needs_utf8 else policy.SMTP)
        message_id = str(message.get("Message-ID", "")).strip()
        return self._transaction(
            wire, data, senders[0], recipients, options, message_id
        )

    def send_raw(
        self,
        data: bytes,
        sender: str,
        recipients: Sequence[str],
        *,
        message_id: str = "",
        after_mail: Callable[[], None] | None = None,
    ) -> SendResult:
        """One mail transaction for bytes already serialised for SMTP.

        The queue stores every message's bytes at enqueue; sending them as
        they are spares parsing and serialising the message again for each
        attempt. ``data`` goes out unchanged (dot-stuffed on the wire), so
        it must carry no Bcc header and, for addresses with a non-ASCII
        local part (SMTPUTF8, RFC 6531), be serialised for that; replies,
        stages and failures are those of :meth:`send`.

        ``after_mail`` is called once MAIL FROM has been written and before
        its reply is read (with pipelining, once the group of MAIL FROM,
        RCPT TO and DATA has been written), so the caller's own work (the
        queue records the previous message) overlaps the server's; it is
        always called before the content is sent, not called when the
        transaction fails before MAIL FROM is written, and what it raises
        propagates unchanged.
        """
        return self._logged(
            lambda: self._send_raw(
                data, sender, list(recipients), message_id, after_mail
            )
        )

    def _logged(self, send: Callable[[], SendResult]) -> SendResult:
        """Run one transaction and log its outcome: one INFO line each."""
        try:
            result = send()
        except DeliveryError as exc:
            log.info(
                "delivery via %s:%s failed: %s at %s%s",
                self.settings.host,
                self.settings.port,
                exc.code,
                exc.stage,
                f" ({exc.smtp_code})" if exc.smtp_code else "",
            )
            raise
        log.info(
            "delivered %s via %s:%s to %d recipient(s), %d refused: %s",
            result.message_id,
            self.settings.host,
            self.settings.port,
            len(result.accepted),
            len(result.refused),
            result.smtp_code,
        )
        return result

    def _send_raw(
        self,
        data: bytes,
        sender: str,
        recipients: list[str],
        message_id: str,
        after_mail: Callable[[], None] | None,
    ) -> SendResult:
        if self._wire is None:
            self.open()
        wire = self._wire
        assert wire is not None
        self._stage = Stage.MAIL_FROM
        if not sender:
            self._fail(Code.SENDER_REJECTED, detail="the message has no From")
        if not recipients:
            self._fail(Code.RECIPIENT_REJECTED, detail="the message has no recipient")
        options: list[str] = []
        if not all(a.rpartition("@")[0].isascii() for a in [sender, *recipients]):
            if not wire.has_extn("smtputf8"):
                sender_ascii = sender.rpartition("@")[0].isascii()
                self._stage = Stage.MAIL_FROM if not sender_ascii else Stage.RCPT_TO
                self._fail(
                    Code.RECIPIENT_REJECTED if sender_ascii else Code.SENDER_REJECTED,
                    detail="an address has a non-ASCII local part and the "
                    "server does not offer SMTPUTF8 (RFC 6531)",
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        return self._transaction(
            wire, data, sender, recipients, options, message_id, after_mail
        )

    def _transaction(
        self,
        wire: _Wire,
        data: bytes,
        sender: str,
        recipients: list[str],
        options: list[str],
        message_id: str,
        after_mail: Callable[[], None] | None = None,
    ) -> SendResult:
        """MAIL FROM, RCPT TO for each recipient, DATA with ``data``."""
        limit = wire.esmtp_features.get("size", "")
        if wire.has_extn("size"):
            # RFC 1870: declare the size; refuse ourselves what the server
            # has announced it will refuse.
            options.append(f"SIZE={len(data)}")
            if limit.isdigit() and 0 < int(limit) < len(data):
                self._stage = Stage.MAIL_FROM
                self._fail(
                    Code.MESSAGE_TOO_LARGE,
                    detail=f"{len(data)} > SIZE {limit} (RFC 1870)",
                )
        try:
            envelope_from = envelope_address(sender)
        except ValueError as exc:
            self._fail(Code.SENDER_REJECTED, detail=str(exc))
        envelope_to: dict[str, str] = {}
        for address in recipients:
            try:
                envelope_to[address] = envelope_address(address)
            except ValueError as exc:
                self._stage = Stage.RCPT_TO
                self._fail(Code.RECIPIENT_REJECTED, detail=str(exc))
        if self.pipelining and wire.has_extn("pipelining"):
            return self._pipelined(
                wire,
                data,
                wire.mail_args(envelope_from, options),
                recipients,
                [wire.rcpt_args(envelope_to[address]) for address in recipients],
                message_id,
                after_mail,
            )
        with self._step(Stage.MAIL_FROM):
            if after_mail is None:
                code, reply = wire.mail(envelope_from, options)
            else:
                wire.mail_command(envelope_from, options)
                after_mail()
                code, reply = wire.getreply()
        if code != 250:
            self._reset(wire)
            self._fail_mail(code, reply)

        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        with self._step(Stage.RCPT_TO):
            for address in recipients:
                code, reply = wire.rcpt(envelope_to[address])
                if code in (250, 251):
                    accepted.append(address)
                else:
                    refused[address] = (code, _reply_text(reply))
        if not accepted:
            self._reset(wire)
            self._fail_recipients(refused)

        with self._step(Stage.DATA):
            code, reply = wire.docmd("DATA")
            if code != 354:
                self._reset(wire)
                self._fail_reply(Code.MESSAGE_REJECTED, code, reply)
            code, reply = self._content(wire, data)
        return self._accepted(code, reply, message_id, accepted, refused)

    def _pipelined(
        self,
        wire: _Wire,
        data: bytes,
        mail_args: str,
        recipients: list[str],
        rcpt_args: list[str],
        message_id: str,
        after_mail: Callable[[], None] | None,
    ) -> SendResult:
        """The mail transaction with command pipelining (RFC 2920).

        Waiting for each reply costs a round trip per command, which the
        server's own work cannot hide; a server that offers PIPELINING
        takes MAIL FROM, every RCPT TO and DATA in one write (DATA last, as
        it changes the state, RFC 2920 section 3.1) and answers them in
        order. Each reply is matched to its command by counting (section
        3.1), and every one is checked before anything else is sent: the
        content goes only after a 354, RSET follows a refused DATA, and a
        354 with no recipient accepted gets a lone "." instead of the
        content. Outcomes, codes and stages are those of the lock-step path.
        """
        lines = [wire.command_line("MAIL", mail_args)]
        lines += [wire.command_line("RCPT", args) for args in rcpt_args]
        lines.append(wire.command_line("DATA"))
        last = len(lines) - 1
        replies: list[tuple[int, bytes]] = []
        for index, group in enumerate(_groups(lines)):
            with self._step(Stage.MAIL_FROM if index == 0 else Stage.RCPT_TO):
                wire.send_group(group)
            if index == 0 and after_mail is not None:
                # The caller's own work overlaps the server's, as in the
                # lock-step path; the content is still sent only later.
                after_mail()
            for _ in group:
                position = len(replies)
                stage = (
                    Stage.MAIL_FROM
                    if position == 0
                    else Stage.DATA
                    if position == last
                    else Stage.RCPT_TO
                )
                with self._step(stage):
                    code, reply = wire.getreply()
                if code == 421:
                    # RFC 5321 section 3.8: the server is closing the
                    # channel; the replies still owed will never come.
                    self._fail_reply(Code.TEMPORARY_FAILURE, code, reply)
                replies.append((code, reply))
            if replies[0][0] != 250:
                break  # the rest of a refused envelope need not be sent
        data_code, data_reply = replies[-1] if len(replies) > last else (0, b"")

        code, reply = replies[0]
        if code != 250:
            if data_code == 354:
                self._empty_message(wire)
            self._reset(wire)
            self._stage = Stage.MAIL_FROM
            self._fail_mail(code, reply)

        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for address, (code, reply) in zip(recipients, replies[1:last], strict=True):
            if code in (250, 251):
                accepted.append(address)
            else:
                refused[address] = (code, _reply_text(reply))
        if not accepted:
            if data_code == 354:
                # RFC 2920 section 3.1: DATA may be accepted even though no
                # RCPT TO was; the client then sends a single dot (an empty
                # message, which ends the transaction) and never the content.
                self._empty_message(wire)
            else:
                self._reset(wire)
            self._fail_recipients(refused)

        self._stage = Stage.DATA
        if data_code != 354:
            self._reset(wire)
            self._fail_reply(Code.MESSAGE_REJECTED, data_code, data_reply)
        with self._step(Stage.DATA):
            code, reply = self._content(wire, data)
        return self._accepted(code, reply, message_id, accepted, refused)

    def _empty_message(self, wire: _Wire) -> None:
        """Answer an unwanted 354 with the end-of-data line alone (RFC 2920
        section 3.1), and read the server's reply to it."""
        with self._step(Stage.DATA):
            wire.send(b".\r\n")
            code, _ = wire.getreply()
        if code == 421:
            self._abort()  # RFC 5321 section 3.8: the server is closing

    def _fail_mail(self, code: int, reply: bytes) -> NoReturn:
        """MAIL FROM refused (the stage is MAIL_FROM)."""
        if code == 530:
            # RFC 4954 section 6: "530 5.7.0 Authentication required".
            fault = Code.AUTH_REQUIRED if self.credential is None else Code.AUTH_FAILED
            self._fail(fault, smtp_code=code, reply=reply)
        if code == 552:
            # RFC 1870 section 6.1: the declared SIZE is too large.
            self._fail(Code.MESSAGE_REJECTED, smtp_code=code, reply=reply)
        self._fail_reply(Code.SENDER_REJECTED, code, reply)

    def _fail_recipients(self, refused: dict[str, tuple[int, str]]) -> NoReturn:
        """No RCPT TO accepted: temporary when any refusal was 4xx.

        A retry can reach the recipients refused for now (RFC 5321 section
        4.2.1), whatever the order of the recipients; the detail keeps every
        refusal, the permanent ones included. The reply reported is the
        first temporary one, so ``temporary`` agrees with the code.
        """
        replies = list(refused.values())
        later = [(c, r) for c, r in replies if 400 <= c < 500]
        temporary = bool(later)
        first_code, first_reply = later[0] if later else replies[0]
        code = Code.TEMPORARY_FAILURE if temporary else Code.RECIPIENT_REJECTED
        if (
            not temporary
            and self.credential is None
            and login_wanted(first_code, first_reply)
        ):
            code = Code.AUTH_REQUIRED  # not the recipient: nobody signed in
        error = DeliveryError(
            code,
            stage=Stage.RCPT_TO,
            smtp_code=first_code,
            smtp_reply=first_reply,
            detail=refusal_detail(refused),
        )
        error.refused = refused  # type: ignore[attr-defined]
        self._stage = Stage.RCPT_TO
        self._record("*", f"failed at {Stage.RCPT_TO}: {error.code}")
        if any(c == 421 for c, _ in refused.values()):
            self._abort()  # RFC 5321 section 3.8: the server is closing
        raise error

    def _content(self, wire: _Wire, data: bytes) -> tuple[int, bytes]:
        """Send the message after a 354 and read the reply to its end."""
        # RFC 5321 section 4.5.2: a line starting with "." gets another.
        body = re.sub(rb"(?m)^\.", b"..", data)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        wire.body = True
        try:
            wire.send(body + b".\r\n")
        finally:
            wire.body = False
        return wire.getreply()

    def _accepted(
        self,
        code: int,
        reply: bytes,
        message_id: str,
        accepted: list[str],
        refused: dict[str, tuple[int, str]],
    ) -> SendResult:
        """The result after the reply to the end of the content."""
        self._stage = Stage.DATA
        if code != 250:
            self._fail_reply(Code.MESSAGE_REJECTED, code, reply)
        return SendResult(
            message_id=message_id,
            smtp_code=code,
            smtp_reply=_reply_text(reply),
            accepted=tuple(accepted),
            refused=refused,
        )

    def _reset(self, wire: _Wire) -> None:
        """RSET after a refused transaction so the session stays reusable."""
        try:
            wire.rset()
        except (OSError, smtplib.SMTPException):
            self._abort()

    # -- liveness and closing ---------------------------------------------

    def is_alive(self) -> bool:
        """NOOP: false when the server has closed the connection."""
        if self._wire is None or self._wire.sock is None:
            return False
        try:
            code, _ = self._wire.noop()
        except (OSError, smtplib.SMTPException):
            self._abort()
            return False
        return code == 250

    def _abort(self) -> None:
        wire, self._wire = self._wire, None
        if wire is not None:
            try:
                wire.close()
            except OSError:
                pass

    def close(self) -> None:
        """QUIT politely (RFC 5321 section 4.1.1.10), then close the socket."""
        wire = self._wire
        if wire is None:
            return
        self._stage = Stage.QUIT
        try:
            if wire.sock is not None:
                wire.docmd("QUIT")
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            self._abort()

    def __enter__(self) -> SmtpSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A client that did not sign in is refused at RCPT TO with 530 (RFC 4954
# section 6) or with a relay refusal: Postfix "554 5.7.1 Relay access
# denied", Exim "550 relay not permitted", Exchange "550 5.7.54 Unable to
# relay recipient in non-accepted domain".
_LOGIN_WANTED = re.compile(r"authenticat|relay", re.IGNORECASE)


def login_wanted(code: int, reply: str | bytes) -> bool:
    """Whether a permanent refusal means "sign in first" rather than a bad
    address (only meaningful when the client did not sign in)."""
    if code == 530:
        return True
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return 500 <= code < 600 and bool(_LOGIN_WANTED.search(text))


def refusal_detail(refused: dict[str, tuple[int, str]]) -> str:
    """Each refused recipient with the server's reply, on one line."""
    return "; ".join(f"{a}: {c} {r}".rstrip() for a, (c, r) in refused.items())


def _timed_out(exc: BaseException) -> bool:
    """smtplib turns a read timeout into SMTPServerDisconnected; look inside."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _xoauth2_status(reply: bytes) -> str | None:
    """The ``status`` of a base64 JSON XOAUTH2 error challenge, if any."""
    try:
        data = json.loads(base64.b64decode(reply.strip(), validate=True))
    except (binascii.Error, ValueError):
        return None
    if isinstance(data, dict) and "status" in data:
        return str(data["status"])
    return None


def deliver(
    settings: AccountSettings,
    credential: Credential | None,
    message: EmailMessage,
    *,
    transcript: Transcript | None = None,
) -> SendResult:
    """Open, send one message, close."""
    with SmtpSession(settings, credential, transcript=transcript) as session:
        return session.send(message)
