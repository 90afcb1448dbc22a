"""Stage-by-stage check of an SMTP account, naming the first fault with one code.

Unlike :mod:`bpmnb.transport`, which only needs to deliver, the check must
know exactly which step failed and why, and must never sit out a server's own
timeout. So it speaks SMTP itself on a plain socket: every read has a deadline,
each stage is timed, and when a greeting is late a second connection tries a
TLS handshake in parallel to recognise an implicit-TLS port (RFC 8314) that
waits silently for a ClientHello.

Stages, in order (RFC 5321 section 3, RFC 3207, RFC 4954)::

    dns, connect, [tls for SSL/TLS], greeting, ehlo, [tls, ehlo_tls for
    STARTTLS], auth_mechs, auth, mail_from, rcpt_to, [data], quit
"""

from __future__ import annotations

import base64
import concurrent.futures
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import cast

from bpmnb.errors import BpmnbError, Code, Stage
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import (
    Credential,
    TlsInfo,
    Transcript,
    login_wanted,
    secret_forms,
)

log = logging.getLogger(__name__)

# How long a greeting may be late before we check, on a second connection,
# whether the port wants TLS from the first byte instead.
GREETING_GRACE = 1.0
# DNS is bounded separately: a resolver that hangs must not hold the check.
DNS_TIMEOUT = 5.0
MASK = "****"

_DNS_POOL = concurrent.futures.ThreadPoolExecutor(
    max_workers=32, thread_name_prefix="bpmnb-dns"
)


@dataclass(frozen=True)
class StageResult:
    """One step of the check: its outcome, duration and what the server said."""

    name: str
    ok: bool
    ms: float
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "ms": round(self.ms, 1),
            "detail": self.detail,
        }


@dataclass
class CheckReport:
    """The outcome of :func:`check`: one code, the failing stage, every stage."""

    code: Code
    stage: Stage | None
    stages: list[StageResult]
    tls: TlsInfo | None = None
    smtp_code: int | None = None
    smtp_reply: str | None = None
    detail: str | None = None
    auth_mechs: tuple[str, ...] = ()
    extensions: dict[str, str] = field(default_factory=dict)
    settings: AccountSettings | None = None
    # False when ``tls`` describes a certificate we refused (CERT_* codes).
    tls_verified: bool = True

    @property
    def ok(self) -> bool:
        return self.code is Code.OK

    def message(self, lang: Lang | None = None) -> str:
        """What happened, in ``lang``."""
        return text(f"diagnosis.{self.code}", lang or default_lang())

    def hint(self, lang: Lang | None = None) -> str:
        """What to do, provider-aware when the settings name the provider."""
        from bpmnb import hints

        return hints.hint_for(self, self.settings, lang or default_lang())

    def error(self) -> BpmnbError | None:
        """The fault as an exception (None when the check passed)."""
        if self.ok:
            return None
        return BpmnbError(
            self.code,
            stage=self.stage,
            smtp_code=self.smtp_code,
            smtp_reply=self.smtp_reply,
            detail=self.detail,
        )

    def tls_json(self) -> dict[str, object] | None:
        if self.tls is None:
            return None
        return {
            "version": self.tls.version,
            "cipher": self.tls.cipher,
            "subject": self.tls.subject,
            "issuer": self.tls.issuer,
            "not_after": self.tls.not_after,
            "san": list(self.tls.san),
            "verified": self.tls_verified,
            "name_ok": self.code is not Code.CERT_NAME_MISMATCH,
        }

    def as_json(self, lang: Lang | None = None) -> dict[str, object]:
        """The shape ``bpmnb check --json`` prints."""
        lang = lang or default_lang()
        return {
            "ok": self.ok,
            "code": str(self.code),
            "stage": str(self.stage) if self.stage is not None else None,
            "message": self.message(lang),
            "hint": self.hint(lang),
            "stages": [s.as_json() for s in self.stages],
            "tls": self.tls_json(),
            "smtp_code": self.smtp_code,
            "smtp_reply": self.smtp_reply,
            "auth_mechs": list(self.auth_mechs),
        }


class _Fault(Exception):
    """Internal: stop the check at the current stage with ``code``."""

    def __init__(
        self,
        code: Code,
        detail: str = "",
        smtp_code: int | None = None,
        smtp_reply: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.smtp_code = smtp_code
        self.smtp_reply = smtp_reply


class _Dropped(Exception):
    """Internal: the peer closed the connection or did not answer in time."""


class _Wire:
    """Line-oriented SMTP over one socket with an absolute deadline per read."""

    def __init__(self, sock: socket.socket, transcript: Transcript | None) -> None:
        self.sock: socket.socket = sock
        self.buf = b""
        self.transcript = transcript
        # Before the greeting a line that is not SMTP means "not an SMTP
        # server" (NO_GREETING); later it means the conversation broke.
        self.greeted = False
        self.secrets: list[str] = []

    def note(self, line: str) -> None:
        if self.transcript is not None:
            self.transcript.note(line)

    def send(self, line: str, shown: str | None = None) -> None:
        """Send one command; ``shown`` replaces it in the transcript and log."""
        visible = line if shown is None else shown
        log.debug("C: %s", visible)
        if self.transcript is not None:
            self.transcript.client(visible)
        try:
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except OSError as exc:
            raise _Dropped(str(exc)) from exc

    def _fill(self, deadline: float) -> bool:
        """Read more bytes; False at the deadline. Raises _Dropped on EOF."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ssl.SSLError as exc:
            raise _Dropped(str(exc)) from exc
        except OSError as exc:
            raise _Dropped(str(exc)) from exc
        if not chunk:
            raise _Dropped("closed")
        self.buf += chunk
        return True

    def readline(self, deadline: float) -> bytes | None:
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise _Fault(self._garbled, "reply line longer than 64 KiB")
            if not self._fill(deadline):
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def hide(self, secrets: list[str]) -> None:
        """Mask ``secrets`` in every later server line: some servers echo
        the AUTH argument they refused (its base64 or decoded)."""
        self.secrets = [x for x in dict.fromkeys(secrets) if x]
        # Longest first, so a secret inside a longer form is masked whole.
        self.secrets.sort(key=len, reverse=True)

    def _masked(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, MASK)
        return line

    @property
    def _garbled(self) -> Code:
        return Code.CONNECTION_DROPPED if self.greeted else Code.NO_GREETING

    def reply(self, deadline: float) -> tuple[int, list[str]]:
        """One (possibly multi-line) reply, RFC 5321 section 4.2.1.

        Raises _Dropped when the peer closes or is silent past ``deadline``.
        """
        lines: list[str] = []
        while True:
            raw = self.readline(deadline)
            if raw is None:
                if not self.greeted:
                    # A greeting begun and never finished (a tarpit, a
                    # stalled proxy): the server is silent, not gone.
                    raise _Fault(Code.NO_GREETING, "greeting not finished in time")
                raise _Dropped("timeout")
            line = self._masked(raw.decode("utf-8", "replace"))
            log.debug("S: %s", line)
            if self.transcript is not None:
                self.transcript.server(line)
            if len(line) < 3 or not line[:3].isdigit():
                raise _Fault(self._garbled, f"not SMTP: {line[:60]!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] != "-":
                return int(line[:3]), lines


def _reply_text(code: int, lines: list[str]) -> str:
    return f"{code} " + " ".join(lines)


def client_context(settings: AccountSettings) -> ssl.SSLContext:
    """Verification on, TLS 1.2 or newer, plus ``settings.ca_file``: the
    context delivery uses (:func:`bpmnb.transport.ssl_context`), so the check
    and the real sending trust the same authorities."""
    from bpmnb import transport

    return transport.ssl_context(settings)


def _name(cert_part: object) -> str:
    """The CN (or O) of a decoded certificate subject/issuer."""
    if not isinstance(cert_part, tuple):
        return ""
    found: dict[str, str] = {}
    for rdn in cast(tuple[tuple[tuple[str, str], ...], ...], cert_part):
        for pair in rdn:
            found.setdefault(pair[0], pair[1])
    return found.get("commonName") or found.get("organizationName") or ""


def tls_info(sock: ssl.SSLSocket) -> TlsInfo:
    """Version, cipher and certificate facts of a verified connection."""
    cert = sock.getpeercert() or {}
    cipher = sock.cipher()
    names = cast(tuple[tuple[str, str], ...], cert.get("subjectAltName", ()))
    san = tuple(f"{kind}:{value}" for kind, value in names)
    return TlsInfo(
        version=sock.version() or "",
        cipher=cipher[0] if cipher else "",
        subject=_name(cert.get("subject")),
        issuer=_name(cert.get("issuer")),
        not_after=str(cert.get("notAfter", "")),
        san=san,
    )


# OpenSSL X509_V_ERR_* values (x509_vfy.h).
_EXPIRED = {10, 9}  # CERT_HAS_EXPIRED, CERT_NOT_YET_VALID
_NAME = {62, 63, 64}  # HOSTNAME_MISMATCH, EMAIL_MISMATCH, IP_ADDRESS_MISMATCH


def classify_tls_error(exc: BaseException) -> tuple[Code, str]:
    """Name a failed handshake: certificate, no TLS at all, or no common version."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        vcode = exc.verify_code
        if vcode in _EXPIRED:
            return Code.CERT_EXPIRED, exc.verify_message
        if vcode in _NAME:
            return Code.CERT_NAME_MISMATCH, exc.verify_message
        return Code.CERT_UNTRUSTED, exc.verify_message
    reason = (getattr(exc, "reason", None) or str(exc)).upper()
    if any(
        r in reason
        for r in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST")
    ):
        # The first bytes back were not a TLS record: plain SMTP's "220 ...".
        return Code.TLS_NOT_SPOKEN, reason
    if any(
        r in reason
        for r in (
            "PROTOCOL_VERSION",
            "UNSUPPORTED_PROTOCOL",
            "NO_PROTOCOLS",
            "HANDSHAKE_FAILURE",
            "NO_SHARED_CIPHER",
            "INSUFFICIENT_SECURITY",
            "NO_CIPHERS",
        )
    ):
        return Code.TLS_FAILED, reason
    if isinstance(exc, ssl.SSLEOFError | ConnectionError):
        return Code.CONNECTION_DROPPED, reason
    return Code.TLS_FAILED, reason


def _permissive_context() -> ssl.SSLContext:
    """Any TLS version, no verification: only for asking "what do you speak?"."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    return ctx


@dataclass(frozen=True)
class _Peek:
    version: str
    cipher: str
    der: bytes | None


def peek_tls(
    address: tuple[str, int], timeout: float, *, starttls: bool
) -> _Peek | None:
    """What the server offers when any TLS version and any certificate are allowed.

    Used only after our own, strict handshake failed, to say why: a server
    with only TLS 1.0/1.1 (deprecated by RFC 8996) answers here, and a
    refused certificate can be described (subject, issuer, expiry). Nothing
    but EHLO/STARTTLS and a handshake is sent; the connection is then closed.
    """
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(address, timeout=timeout) as raw:
            if starttls:
                wire = _Wire(raw, None)
                wire.reply(deadline)
                wire.send(f"EHLO {_local_name(raw)}")
                wire.reply(deadline)
                wire.send("STARTTLS")
                if wire.reply(deadline)[0] != 220:
                    return None
            raw.settimeout(max(0.1, deadline - time.monotonic()))
            with _permissive_context().wrap_socket(raw) as tls:
                cipher = tls.cipher()
                return _Peek(
                    tls.version() or "",
                    cipher[0] if cipher else "",
                    tls.getpeercert(binary_form=True),
                )
    except (OSError, _Dropped, _Fault):
        return None


def cert_facts(der: bytes, version: str = "", cipher: str = "") -> TlsInfo | None:
    """Subject, issuer, expiry and names of a certificate we did not accept."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_der_x509_certificate(der)
    except (ImportError, ValueError):
        return None

    def cn(name: x509.Name) -> str:
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
            found = name.get_attributes_for_oid(oid)
            if found:
                return str(found[0].value)
        return ""

    san: tuple[str, ...] = ()
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        dns = [f"DNS:{v}" for v in ext.value.get_values_for_type(x509.DNSName)]
        ips = [f"IP Address:{v}" for v in ext.value.get_values_for_type(x509.IPAddress)]
        san = tuple(dns + ips)
    except x509.ExtensionNotFound:
        pass
    return TlsInfo(
        version=version,
        cipher=cipher,
        subject=cn(cert.subject),
        issuer=cn(cert.issuer),
        not_after=cert.not_valid_after_utc.strftime("%b %d %H:%M:%S %Y GMT"),
        san=san,
    )


def speaks_tls(address: tuple[str, int], timeout: float) -> bool:
    """Whether ``address`` answers a TLS ClientHello (any TLS record back).

    A second connection, unverified on purpose: it only asks "is this TLS?",
    and sends nothing but a handshake. A TLS alert is still TLS.
    """
    ctx = _permissive_context()
    try:
        with socket.create_connection(address, timeout=timeout) as raw:
            raw.settimeout(timeout)
            with ctx.wrap_socket(raw, do_handshake_on_connect=False) as tls:
                tls.do_handshake()
                return True
    except ssl.SSLError as exc:
        reason = (exc.reason or "").upper()
        return "ALERT" in reason or "NO_PROTOCOLS" in reason
    except OSError:
        return False


def _local_name(sock: socket.socket) -> str:
    """EHLO argument: an address literal (RFC 5321 4.1.4), as delivery
    (:mod:`bpmnb.transport`) sends it, so a server that judges the EHLO
    name judges the same one in the check. The machine's own name is not
    used: it is often not a valid domain (``srv_bpm.firma.local`` has an
    underscore) and ``getfqdn`` can hang."""
    try:
        address = str(sock.getsockname()[0])
    except OSError:
        address = "127.0.0.1"
    return f"[IPv6:{address}]" if ":" in address else f"[{address}]"


def auth_mechanisms(extensions: dict[str, str]) -> tuple[str, ...]:
    """AUTH mechanisms of an EHLO reply (RFC 4954), including old ``AUTH=``."""
    found: list[str] = []
    for key in ("AUTH", "AUTH="):
        for mech in extensions.get(key, "").upper().split():
            if mech not in found:
                found.append(mech)
    return tuple(found)


def parse_ehlo(lines: list[str]) -> dict[str, str]:
    ext: dict[str, str] = {}
    for line in lines[1:]:
        if line.upper().startswith("AUTH="):
            ext["AUTH="] = line[5:]
            continue
        keyword, _, params = line.partition(" ")
        ext[keyword.upper()] = params
    return ext


# Provider replies at AUTH that mean more than "wrong password".
_APP_PASSWORD = re.compile(r"5\.7\.9\b|application-specific password", re.I)
_AUTH_DISABLED = re.compile(
    r"5\.7\.139\b|SmtpClientAuthentication is disabled|basic authentication "
    r"is disabled|5\.7\.30\b",
    re.I,
)
_ENCRYPTION_REQUIRED = re.compile(r"^53[08]|5\.7\.11\b|STARTTLS", re.I)


def classify_auth_reply(code: int, reply: str, mechanism: str) -> Code:
    """Name an AUTH failure from its reply (RFC 4954 section 6 codes)."""
    if 400 <= code < 500:
        return Code.TEMPORARY_FAILURE
    if _APP_PASSWORD.search(reply):
        return Code.APP_PASSWORD_REQUIRED  # Gmail: 534-5.7.9
    if _AUTH_DISABLED.search(reply):
        return Code.AUTH_DISABLED  # Office 365: 535 5.7.139
    if code == 504:
        return Code.AUTH_UNAVAILABLE
    if code in (530, 538) and _ENCRYPTION_REQUIRED.search(reply):
        return Code.PLAINTEXT_REFUSED
    if mechanism == "XOAUTH2":
        return Code.TOKEN_INVALID
    return Code.AUTH_FAILED


def _envelope_code(code: int, stage: Stage) -> Code:
    if 400 <= code < 500:
        return Code.TEMPORARY_FAILURE
    return {
        Stage.MAIL_FROM: Code.SENDER_REJECTED,
        Stage.RCPT_TO: Code.RECIPIENT_REJECTED,
    }.get(stage, Code.MESSAGE_REJECTED)


class _Checker:
    """One run of the check; records stages as it goes."""

    def __init__(
        self,
        settings: AccountSettings,
        credential: Credential | None,
        rcpt: str | None,
        send: bool,
        transcript: Transcript | None,
        stop_after: Stage | None,
    ) -> None:
        self.settings = settings
        self.credential = credential
        self.rcpt = rcpt
        self.send = send
        self.transcript = transcript
        self.stop_after = stop_after
        self.timeout = settings.timeout
        self.stages: list[StageResult] = []
        self.tls: TlsInfo | None = None
        self.encrypted = False
        self.ext: dict[str, str] = {}
        self.mechs: tuple[str, ...] = ()
        self.wire: _Wire | None = None
        self.address: tuple[str, int] | None = None
        self.addresses: list[tuple[str, int]] = []
        self.tls_verified = True

    # -- bookkeeping -----------------------------------------------------
    def _run_stage(self, stage: Stage, step: Callable[[], str]) -> None:
        started = time.monotonic()
        try:
            detail = step()
        except _Dropped as exc:
            ms = (time.monotonic() - started) * 1000
            self.stages.append(StageResult(str(stage), False, ms, str(exc)))
            code = Code.CONNECTION_DROPPED
            raise _StageFailed(stage, _Fault(code, str(exc))) from exc
        except _Fault as fault:
            ms = (time.monotonic() - started) * 1000
            shown = fault.smtp_reply or fault.detail
            self.stages.append(StageResult(str(stage), False, ms, shown))
            raise _StageFailed(stage, fault) from fault
        ms = (time.monotonic() - started) * 1000
        self.stages.append(StageResult(str(stage), True, ms, detail))
        if self.stop_after is stage:
            raise _Stop

    def _deadline(self) -> float:
        return time.monotonic() + self.timeout

    @property
    def w(self) -> _Wire:
        assert self.wire is not None
        return self.wire

    def _command(self, line: str, shown: str | None = None) -> tuple[int, str]:
        self.w.send(line, shown)
        code, lines = self.w.reply(self._deadline())
        return code, _reply_text(code, lines)

    # -- stages ----------------------------------------------------------
    def dns(self) -> str:
        host, port = self.settings.host, self.settings.port
        future = _DNS_POOL.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=min(self.timeout, DNS_TIMEOUT))
        except concurrent.futures.TimeoutError as exc:
            raise _Fault(Code.DNS_FAILED, "resolver timeout") from exc
        except (socket.gaierror, UnicodeError) as exc:
            raise _Fault(Code.DNS_FAILED, str(exc)) from exc
        self.addresses = [(str(i[4][0]), int(i[4][1])) for i in infos]
        return ", ".join(dict.fromkeys(a for a, _ in self.addresses))

    def connect(self) -> str:
        last: Exception | None = None
        for address in self.addresses:
            try:
                sock = socket.create_connection(address, timeout=self.timeout)
            except ConnectionRefusedError as exc:
                last = exc
                continue
            except OSError as exc:
                last = exc
                continue
            self.address = address
            self.wire = _Wire(sock, self.transcript)
            self.w.note(f"connected to {address[0]}:{address[1]}")
            return f"{address[0]}:{address[1]}"
        if isinstance(last, ConnectionRefusedError):
            raise _Fault(Code.CONNECT_REFUSED, str(last))
        raise _Fault(Code.CONNECT_TIMEOUT, str(last or "no address"))

    def _handshake(self, implicit: bool) -> str:
        try:
            ctx = client_context(self.settings)
        except BpmnbError as exc:
            raise _Fault(exc.code, exc.detail or "") from exc
        except (OSError, ssl.SSLError) as exc:
            raise _Fault(Code.INVALID_SETTINGS, f"ca_file: {exc}") from exc
        raw = self.w.sock
        raw.settimeout(self.timeout)
        try:
            tls = ctx.wrap_socket(raw, server_hostname=self.settings.host)
        except TimeoutError as exc:
            # Implicit TLS: the port said nothing at all. After STARTTLS's 220
            # the server went quiet mid-conversation.
            code = Code.NO_GREETING if implicit else Code.CONNECTION_DROPPED
            raise _Fault(code, "no TLS handshake reply") from exc
        except (ssl.SSLError, OSError) as exc:
            code, reason = classify_tls_error(exc)
            if code is Code.TLS_NOT_SPOKEN and not implicit:
                # TLS_NOT_SPOKEN means "SSL/TLS chosen for a plain port". After
                # STARTTLS's 220 the server (or a middlebox) kept talking plain
                # text instead of starting the handshake (RFC 3207 section 4).
                raise _Fault(
                    Code.TLS_FAILED,
                    "the server answered STARTTLS with 220 but did not start "
                    f"TLS ({reason})",
                ) from exc
            code, reason = self._explain_tls(code, reason, implicit)
            raise _Fault(code, reason) from exc
        self.w.sock = tls
        self.encrypted = True
        self.tls = tls_info(tls)
        self.w.note(f"TLS {self.tls.version} {self.tls.cipher}")
        info = self.tls
        return (
            f"{info.version}, {info.cipher}, subject={info.subject}, "
            f"issuer={info.issuer}, expires={info.not_after}, name check ok"
        )

    def _explain_tls(self, code: Code, reason: str, implicit: bool) -> tuple[Code, str]:
        """Look again, leniently, to tell the user what the server presented."""
        looks = code in (
            Code.CONNECTION_DROPPED,
            Code.TLS_FAILED,
            Code.CERT_UNTRUSTED,
            Code.CERT_NAME_MISMATCH,
            Code.CERT_EXPIRED,
        )
        if not looks or self.address is None:
            return code, reason
        peek = peek_tls(self.address, min(self.timeout, 2.0), starttls=not implicit)
        if peek is None:
            return code, reason
        if peek.version in ("TLSv1", "TLSv1.1", "SSLv3"):
            return Code.TLS_FAILED, f"server offers only {peek.version}"
        facts = cert_facts(peek.der, peek.version, peek.cipher) if peek.der else None
        if facts is None:
            return code, reason
        self.tls = facts
        self.tls_verified = False
        if code is Code.CERT_UNTRUSTED and "unable to get local issuer" in reason:
            # Not self-signed, but its issuer is unknown: a public server that
            # leaves its intermediate certificate out of the chain (browsers
            # hide this by fetching it), or a company CA not given as ca_file.
            reason += (
                f" (issuer {facts.issuer or '?'} is not trusted here: the server "
                "may not send its intermediate certificate, or a company CA "
                "must be given as ca_file)"
            )
        names = " ".join(facts.san) or "-"
        if code is Code.CERT_NAME_MISMATCH and not facts.san:
            # RFC 6125 6.4.4: without subjectAltName only the CN is left,
            # and it names another server (RFC 9525 drops even that).
            names = "- (no subjectAltName; only the CN was compared)"
        return code, (
            f"{reason}; subject={facts.subject}, issuer={facts.issuer}, "
            f"expires={facts.not_after}, names={names}"
        )

    def implicit_tls(self) -> str:
        return self._handshake(implicit=True)

    def greeting(self) -> str:
        start = time.monotonic()
        deadline = start + self.timeout
        grace = start + min(GREETING_GRACE, self.timeout)
        probe: concurrent.futures.Future[bool] | None = None
        pool: concurrent.futures.ThreadPoolExecutor | None = None
        try:
            while b"\n" not in self.w.buf:
                now = time.monotonic()
                if now >= deadline:
                    raise _Fault(Code.NO_GREETING, f"no greeting in {self.timeout:g} s")
                if probe is None and now >= grace and not self.encrypted:
                    # RFC 8314: an implicit-TLS port waits for our ClientHello
                    # and says nothing; ask it on a second connection.
                    assert self.address is not None
                    pool = concurrent.futures.ThreadPoolExecutor(1)
                    probe = pool.submit(
                        speaks_tls, self.address, max(0.5, deadline - now)
                    )
                if probe is not None and probe.done() and probe.result():
                    self.w.note("the port answered a TLS handshake")
                    raise _Fault(
                        Code.TLS_EXPECTED, "port answers TLS, sends no greeting"
                    )
                slice_end = min(deadline, now + (0.05 if probe else grace - now))
                self.w._fill(max(slice_end, now + 0.01))
            code, lines = self.w.reply(deadline)
        finally:
            if pool is not None:
                pool.shutdown(wait=False)
        reply = _reply_text(code, lines)
        if code == 220:
            self.w.greeted = True
            return reply
        if 400 <= code < 500:
            raise _Fault(Code.SERVER_BUSY, reply, code, reply)
        raise _Fault(Code.CONNECT_REFUSED, reply, code, reply)

    def _ehlo(self) -> str:
        code, lines = self._ehlo_raw()
        if code in (500, 502, 504):
            # RFC 5321 4.1.1.1: a server without ESMTP; HELO still works,
            # with no extensions (so no STARTTLS and no AUTH).
            self.w.send(f"HELO {_local_name(self.w.sock)}")
            code, lines = self.w.reply(self._deadline())
            lines = lines[:1]
        reply = _reply_text(code, lines)
        if code != 250:
            # 4xx: try later. 5xx to EHLO and HELO alike: the server turns
            # this client away (a blocked address, a refused name), as a 554
            # greeting would (RFC 5321 3.1); the reply says why.
            raise _Fault(
                Code.TEMPORARY_FAILURE if code < 500 else Code.CONNECT_REFUSED,
                reply,
                code,
                reply,
            )
        self.ext = parse_ehlo(lines)
        return reply

    def _ehlo_raw(self) -> tuple[int, list[str]]:
        self.w.send(f"EHLO {_local_name(self.w.sock)}")
        return self.w.reply(self._deadline())

    def ehlo(self) -> str:
        return self._ehlo()

    def starttls(self) -> str:
        if "STARTTLS" not in self.ext:
            raise _Fault(Code.STARTTLS_UNAVAILABLE, "STARTTLS not offered")
        code, reply = self._command("STARTTLS")
        if code != 220:
            # RFC 3207 section 4: 454 "TLS not available due to temporary
            # reason" is worth a retry; a 5xx refuses what was advertised.
            temporary = 400 <= code < 500
            fault = Code.TEMPORARY_FAILURE if temporary else Code.STARTTLS_UNAVAILABLE
            raise _Fault(fault, reply, code, reply)
        if self.w.buf:
            # RFC 3207 section 5: nothing may follow 220 before the handshake.
            raise _Fault(Code.CONNECTION_DROPPED, "data injected after STARTTLS")
        return self._handshake(implicit=False)

    def auth_mechs(self) -> str:
        self.mechs = auth_mechanisms(self.ext)
        if self.credential is None:
            return " ".join(self.mechs)
        wanted = (
            ("XOAUTH2",)
            if self.credential.mechanism == "xoauth2"
            else (
                "PLAIN",
                "LOGIN",
            )
        )
        if not any(m in self.mechs for m in wanted):
            offered = " ".join(self.mechs) or "none"
            detail = f"offered: {offered}; needed: {' or '.join(wanted)}"
            if not self.encrypted and "STARTTLS" in self.ext:
                # RFC 3207 / 4954: many servers list AUTH only after STARTTLS.
                detail += "; the server offers STARTTLS, AUTH may follow it"
            raise _Fault(Code.AUTH_UNAVAILABLE, detail)
        return " ".join(self.mechs)

    def auth(self) -> str:
        cred = self.credential
        assert cred is not None
        if not self.encrypted:
            if self.settings.encryption is not Encryption.NONE:
                raise _Fault(Code.PLAINTEXT_REFUSED, "connection not encrypted")
            log.warning("sending credentials without encryption (encryption=none)")
        try:
            secret = cred.secret()
        except BpmnbError as exc:
            raise _Fault(exc.code, exc.detail or "") from None
        self.w.hide(secret_forms(cred.login, secret))
        if cred.mechanism == "xoauth2":
            return self._auth_xoauth2(cred.login, secret)
        if "PLAIN" in self.mechs:
            token = base64.b64encode(f"\0{cred.login}\0{secret}".encode()).decode(
                "ascii"
            )
            code, reply = self._command(f"AUTH PLAIN {token}", f"AUTH PLAIN {MASK}")
            if code == 334:
                # RFC 4954 section 4: a server may ignore the initial response
                # and ask with an empty challenge; it gets the same response.
                code, reply = self._command(token, MASK)
            return self._auth_result(code, reply, "PLAIN")
        code, reply = self._command("AUTH LOGIN")
        for part in (cred.login, secret):
            if code != 334:
                break
            b64 = base64.b64encode(part.encode()).decode("ascii")
            code, reply = self._command(b64, MASK)
        return self._auth_result(code, reply, "LOGIN")

    def _auth_xoauth2(self, login: str, token: str) -> str:
        # Same SASL string as bpmnb.transport (Google/Microsoft XOAUTH2).
        sasl = f"user={login}\x01auth=Bearer {token}\x01\x01"
        b64 = base64.b64encode(sasl.encode()).decode("ascii")
        code, reply = self._command(f"AUTH XOAUTH2 {b64}", f"AUTH XOAUTH2 {MASK}")
        if code == 334:
            # The challenge carries a JSON error; an empty line ends the
            # exchange and brings the final 5xx.
            code, final = self._command("")
            reply = f"{reply} / {final}"
        return self._auth_result(code, reply, "XOAUTH2")

    def _auth_result(self, code: int, reply: str, mechanism: str) -> str:
        if code == 235:
            return f"{mechanism}: {reply}"
        raise _Fault(classify_auth_reply(code, reply, mechanism), reply, code, reply)

    def _envelope(self, address: str, stage: Stage) -> str:
        """``address`` as the envelope carries it: the domain in A-labels
        (RFC 5891), as delivery writes it, so the check tests what is sent."""
        from bpmnb import transport

        rejected = Code.RECIPIENT_REJECTED
        code = Code.SENDER_REJECTED if stage is Stage.MAIL_FROM else rejected
        try:
            envelope = transport.envelope_address(address)
        except ValueError as exc:
            raise _Fault(code, str(exc)) from exc
        if not envelope.isascii() and "SMTPUTF8" not in self.ext:
            raise _Fault(
                code,
                f"{address}: a non-ASCII local part needs SMTPUTF8 (RFC 6531), "
                "which the server does not offer",
            )
        return envelope

    def mail_from(self) -> str:
        sender = self.settings.sender or (
            self.credential.login if self.credential else ""
        )
        envelope = self._envelope(sender, Stage.MAIL_FROM) if sender else ""
        rcpt_local = (self.rcpt or "").rpartition("@")[0]
        utf8 = not envelope.isascii() or not rcpt_local.isascii()
        params = " SMTPUTF8" if utf8 and "SMTPUTF8" in self.ext else ""
        code, reply = self._command(f"MAIL FROM:<{envelope}>{params}")
        if code == 530:
            # RFC 4954 section 6: "530 5.7.0 Authentication required" (Office
            # 365: 5.7.57 "Client not authenticated"); Gmail says "Must issue
            # a STARTTLS command first". Not the sender's fault either way.
            wants_tls = not self.encrypted and "STARTTLS" in reply.upper()
            fault = Code.PLAINTEXT_REFUSED if wants_tls else Code.AUTH_FAILED
            if not wants_tls and self.credential is None:
                fault = Code.AUTH_REQUIRED  # nobody signed in
            raise _Fault(fault, reply, code, reply)
        if code != 250:
            raise _Fault(_envelope_code(code, Stage.MAIL_FROM), reply, code, reply)
        return reply

    def rcpt_to(self) -> str:
        envelope = self._envelope(self.rcpt or "", Stage.RCPT_TO)
        code, reply = self._command(f"RCPT TO:<{envelope}>")
        if code >= 500 and self.credential is None and login_wanted(code, reply):
            raise _Fault(Code.AUTH_REQUIRED, reply, code, reply)
        if code not in (250, 251):
            raise _Fault(_envelope_code(code, Stage.RCPT_TO), reply, code, reply)
        return reply

    def data(self) -> str:
        code, reply = self._command("DATA")
        if code != 354:
            raise _Fault(_envelope_code(code, Stage.DATA), reply, code, reply)
        payload = _test_message(self.settings, self.rcpt or "")
        body = payload.replace(b"\r\n.", b"\r\n..")  # RFC 5321 4.5.2
        if body.startswith(b"."):
            body = b"." + body
        try:
            self.w.sock.sendall(body + b"\r\n.\r\n")
        except OSError as exc:
            raise _Dropped(str(exc)) from exc
        self.w.note(f"message sent ({len(body)} bytes)")
        code, lines = self.w.reply(self._deadline())
        reply = _reply_text(code, lines)
        if code != 250:
            raise _Fault(_envelope_code(code, Stage.DATA), reply, code, reply)
        return reply

    def quit(self) -> None:
        """Polite end; its outcome does not change the verdict."""
        if self.wire is None:
            return
        started = time.monotonic()
        try:
            self.w.send("QUIT")
            code, lines = self.w.reply(time.monotonic() + min(self.timeout, 2.0))
            detail = _reply_text(code, lines)
        except (_Dropped, _Fault) as exc:
            detail = str(exc)
        ms = (time.monotonic() - started) * 1000
        self.stages.append(StageResult(str(Stage.QUIT), True, ms, detail))

    def close(self) -> None:
        if self.wire is not None:
            try:
                self.w.sock.close()
            except OSError:
                pass

    # -- the whole run ---------------------------------------------------
    def run(self) -> CheckReport:
        polite = False
        try:
            self._run_stage(Stage.DNS, self.dns)
            self._run_stage(Stage.CONNECT, self.connect)
            mode = self.settings.encryption
            implicit = mode is Encryption.SSL or (
                mode is Encryption.AUTO and self.settings.port == 465
            )
            if implicit:
                self._run_stage(Stage.TLS, self.implicit_tls)
            self._run_stage(Stage.GREETING, self.greeting)
            polite = True
            self._run_stage(Stage.EHLO, self.ehlo)
            wants_starttls = mode is Encryption.STARTTLS or (
                mode is Encryption.AUTO and not implicit and "STARTTLS" in self.ext
            )
            if wants_starttls:
                self._run_stage(Stage.TLS, self.starttls)
                self._run_stage(Stage.EHLO_TLS, self.ehlo)
            self._run_stage(Stage.AUTH_MECHS, self.auth_mechs)
            if self.credential is not None:
                self._run_stage(Stage.AUTH, self.auth)
            self._run_stage(Stage.MAIL_FROM, self.mail_from)
            if self.send and not self.rcpt:
                self.rcpt = self.settings.sender
            if self.rcpt:
                self._run_stage(Stage.RCPT_TO, self.rcpt_to)
            if self.send:
                self._run_stage(Stage.DATA, self.data)
            else:
                self._command("RSET")
        except _Stop:
            pass
        except _StageFailed as failed:
            fault = failed.fault
            log.info(
                "check failed at %s: %s %s", failed.stage, fault.code, fault.detail
            )
            # After a broken handshake or a hang-up there is no SMTP left to
            # be polite in.
            broken = failed.stage is Stage.TLS or fault.code is Code.CONNECTION_DROPPED
            if polite and not broken:
                self.quit()
            self.close()
            return self._report(
                fault.code,
                failed.stage,
                fault.smtp_code,
                fault.smtp_reply,
                fault.detail,
            )
        except (_Dropped, _Fault) as exc:  # RSET after the last stage
            log.debug("after the last stage: %s", exc)
        if polite:
            self.quit()
        self.close()
        log.info("check passed for %s:%s", self.settings.host, self.settings.port)
        return self._report(Code.OK, None, None, None, None)

    def _report(
        self,
        code: Code,
        stage: Stage | None,
        smtp_code: int | None,
        smtp_reply: str | None,
        detail: str | None,
    ) -> CheckReport:
        return CheckReport(
            code=code,
            stage=stage,
            stages=self.stages,
            tls=self.tls,
            smtp_code=smtp_code,
            smtp_reply=smtp_reply,
            detail=detail,
            auth_mechs=self.mechs,
            extensions=dict(self.ext),
            settings=self.settings,
            tls_verified=self.tls_verified,
        )


class _Stop(Exception):
    """Internal: the caller asked to stop after a stage (probe)."""


class _StageFailed(Exception):
    def __init__(self, stage: Stage, fault: _Fault) -> None:
        super().__init__(stage)
        self.stage = stage
        self.fault = fault


def _test_message(settings: AccountSettings, rcpt: str) -> bytes:
    """A short test message, built with bpmnb.message when it is available."""
    subject = (
        text("diagnosis.test_subject", "pl")
        + " / "
        + text("diagnosis.test_subject", "en")
    )
    body = (
        text("diagnosis.test_body", "pl") + "\n\n" + text("diagnosis.test_body", "en")
    )
    try:
        from bpmnb import message

        msg = message.build(settings, to=[rcpt], subject=subject, body=body)
    except (NotImplementedError, TypeError, ValueError, BpmnbError):
        msg = EmailMessage()
        msg["From"] = settings.sender
        msg["To"] = rcpt
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(
            domain=settings.sender.rpartition("@")[2] or None
        )
        msg.set_content(body)
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def check(
    settings: AccountSettings,
    credential: Credential | None,
    *,
    rcpt: str | None = None,
    send: bool = False,
    transcript: Transcript | None = None,
    stop_after: Stage | None = None,
) -> CheckReport:
    """Run the stages in order and stop at the first failure.

    ``rcpt`` adds RCPT TO; ``send`` also sends a short test message (to
    ``rcpt``, or to the sender when no recipient is given). ``stop_after``
    ends the conversation after that stage (``probe`` stops after
    ``auth_mechs``). Every wait is bounded by ``settings.timeout``.
    """
    if not settings.host:
        return CheckReport(
            code=Code.INVALID_SETTINGS,
            stage=Stage.SETTINGS,
            stages=[StageResult(str(Stage.SETTINGS), False, 0.0, "host")],
            detail="host is empty",
            settings=settings,
        )
    checker = _Checker(settings, credential, rcpt, send, transcript, stop_after)
    return checker.run()
