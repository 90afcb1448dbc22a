"""Odd-but-legal and broken SMTP servers, and awkward messages.

The servers here are raw sockets on 127.0.0.1 that write exactly the bytes a
test gives them: replies split into single bytes, multi-line greetings, a
bare "250", invalid UTF-8, hang-ups at every step. Both the check
(:mod:`bpmnb.diagnosis`) and delivery (:mod:`bpmnb.transport`) are run
against them, and every test also looks for the planted password in
everything that came back.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import quopri
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bpmnb import diagnosis, message, probe
from bpmnb.errors import BpmnbError, Code, DeliveryError, Stage
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Credential, Transcript, deliver
from tests.support.net import LOOPBACK, ca_file, server_context

LOGIN = "jan@example.com"
PASSWORD = "Źdźbło-Planted-7731!"
SENDER = "powiadomienia@example.com"
RCPT = "odbiorca@example.com"
CLI = "import sys; from bpmnb.cli import main; sys.exit(main())"


# -- a raw scripted server ------------------------------------------------------


class Conn:
    """One accepted connection, seen from the server's side."""

    def __init__(self, sock: socket.socket, server: RawServer) -> None:
        self.sock = sock
        self.server = server
        self.buf = b""
        sock.settimeout(10)

    def send(self, data: bytes) -> None:
        if self.server.bytewise:
            for i in range(len(data)):
                self.sock.sendall(data[i : i + 1])
                time.sleep(0.0005)
        else:
            self.sock.sendall(data)

    def line(self) -> bytes | None:
        """The next client line without CRLF, or None when the client left."""
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except (OSError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\n")
        line = raw.rstrip(b"\r")
        self.server.lines.append(line)
        return line

    def starttls(self, ctx: ssl.SSLContext) -> None:
        self.sock = ctx.wrap_socket(self.sock, server_side=True)

    def hang_up(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


Handler = Callable[[Conn], None]


class RawServer:
    """A TCP server on loopback; each connection runs ``handler(conn)``."""

    def __init__(
        self,
        handler: Handler,
        *,
        implicit_tls: ssl.SSLContext | None = None,
        bytewise: bool = False,
    ) -> None:
        self.handler = handler
        self.implicit_tls = implicit_tls
        self.bytewise = bytewise
        self.lines: list[bytes] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(16)
        self.listener.settimeout(0.1)
        self.port = int(self.listener.getsockname()[1])
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()
        for sock in self._socks:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.implicit_tls is not None:
                sock.settimeout(10)
                sock = self.implicit_tls.wrap_socket(sock, server_side=True)
                self._socks.append(sock)
            self.handler(Conn(sock, self))
        except (OSError, ssl.SSLError):
            pass

    def text(self) -> str:
        return "\n".join(x.decode("utf-8", "replace") for x in self.lines)


Reply = bytes | Callable[[Conn, bytes], bool]


def smtp(
    greeting: bytes = b"220 edge.example.com ESMTP\r\n",
    ehlo: bytes = b"250-edge.example.com\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
    ehlo_tls: bytes | None = None,
    starttls: ssl.SSLContext | None = None,
    replies: dict[str, Reply] | None = None,
) -> Handler:
    """A small SMTP server: ``replies`` overrides a verb with bytes to send,
    or with ``f(conn, line)`` returning False to end the connection."""
    overrides = replies or {}

    def handle(c: Conn) -> None:
        c.send(greeting)
        if not greeting.rstrip().split(b"\n")[-1].startswith(b"220"):
            c.hang_up()
            return
        tls_on = False
        while True:
            line = c.line()
            if line is None:
                return
            verb = line.split(b" ", 1)[0].upper().decode("ascii", "replace")
            if verb in overrides:
                reply = overrides[verb]
                if isinstance(reply, bytes):
                    c.send(reply)
                    continue
                if not reply(c, line):
                    c.hang_up()
                    return
                continue
            if verb in ("EHLO",):
                said = ehlo_tls if tls_on and ehlo_tls is not None else ehlo
                if starttls is not None and not tls_on:
                    first, _, rest = said.partition(b"\n")
                    said = first.replace(b"250 ", b"250-") + b"\n250-STARTTLS\r\n"
                    said += rest
                c.send(said)
            elif verb == "HELO":
                c.send(b"250 edge.example.com\r\n")
            elif verb == "STARTTLS" and starttls is not None and not tls_on:
                c.send(b"220 2.0.0 Ready to start TLS\r\n")
                c.starttls(starttls)
                tls_on = True
            elif verb == "AUTH":
                mech = line.split(b" ")[1].upper() if b" " in line else b""
                if mech == b"LOGIN":
                    c.send(b"334 VXNlcm5hbWU6\r\n")
                    c.line()
                    c.send(b"334 UGFzc3dvcmQ6\r\n")
                    c.line()
                c.send(b"235 2.7.0 Authentication successful\r\n")
            elif verb == "DATA":
                c.send(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                while (got := c.line()) is not None and got != b".":
                    pass
                c.send(b"250 2.0.0 Ok: queued as EDGE1\r\n")
            elif verb == "QUIT":
                c.send(b"221 2.0.0 Bye\r\n")
                c.hang_up()
                return
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                c.send(b"250 2.1.0 Ok\r\n")
            else:
                c.send(b"502 5.5.2 Error: command not recognized\r\n")

    return handle


def hang_up_on(*verbs: str) -> dict[str, Reply]:
    return {v: (lambda c, line: False) for v in verbs}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca_file(tmp_path_factory.mktemp("ca"))


def settings(
    port: int,
    encryption: Encryption = Encryption.NONE,
    ca: Path | None = None,
    *,
    timeout: float = 2.0,
    **extra: object,
) -> AccountSettings:
    return AccountSettings(
        host=LOOPBACK,
        port=port,
        encryption=encryption,
        login=LOGIN,
        sender=SENDER,
        timeout=timeout,
        ca_file=str(ca) if ca else None,
        **extra,  # type: ignore[arg-type]
    )


def cred() -> Credential:
    return Credential(LOGIN, "password", lambda: PASSWORD)


def secret_forms() -> list[str]:
    """The password as it could leak: plain, and inside AUTH PLAIN/LOGIN."""
    plain = base64.b64encode(f"\0{LOGIN}\0{PASSWORD}".encode()).decode()
    login = base64.b64encode(PASSWORD.encode()).decode()
    return [PASSWORD, plain, login]


def assert_no_secret(*texts: object) -> None:
    blob = "\n".join(str(t) for t in texts)
    for form in secret_forms():
        assert form not in blob


def run_check(
    s: AccountSettings, *, send: bool = False, rcpt: str | None = RCPT
) -> tuple[diagnosis.CheckReport, Transcript, float]:
    transcript = Transcript()
    started = time.monotonic()
    report = diagnosis.check(s, cred(), rcpt=rcpt, send=send, transcript=transcript)
    elapsed = time.monotonic() - started
    # Whatever happened, the report is valid JSON without the password.
    dumped = json.dumps(report.as_json("pl"), ensure_ascii=False)
    json.dumps(report.as_json("en"))
    assert_no_secret(dumped, transcript.text(), report.detail, report.error())
    return report, transcript, elapsed


def message_for(s: AccountSettings, **kw: object) -> EmailMessage:
    return message.build(s, to=RCPT, subject="Test", body="Treść", **kw)  # type: ignore[arg-type]


def deliver_to(s: AccountSettings) -> tuple[object, Transcript]:
    transcript = Transcript()
    try:
        result: object = deliver(s, cred(), message_for(s), transcript=transcript)
    except BpmnbError as exc:
        assert_no_secret(exc, exc.describe("pl"), transcript.text())
        result = exc
    return result, transcript


# -- reply framing ------------------------------------------------------------

# RFC 5321 4.2.1: a multi-line reply is "code-text" lines ending with one
# "code text" line; 4.2 allows a reply without text ("250"), and TCP may
# split replies anywhere, down to single bytes.
ODD_BUT_LEGAL = {
    "bytewise": dict(bytewise=True),
    "multiline_greeting": dict(
        greeting=b"220-edge.example.com ESMTP Postfix\r\n"
        b"220-Witamy na serwerze poczty\r\n220 edge.example.com\r\n"
    ),
    "bare_codes": dict(
        greeting=b"220\r\n",
        ehlo=b"250-edge.example.com\r\n250-AUTH PLAIN\r\n250\r\n",
        replies={"MAIL": b"250\r\n", "RCPT": b"250\r\n", "RSET": b"250\r\n"},
    ),
    # RFC 5321 4.5.3.1.5 limits a reply line to 512 octets but asks clients
    # to accept longer ones; smtplib (delivery) stops at 8192.
    "long_lines": dict(
        greeting=b"220 " + b"x" * 4000 + b"\r\n",
        ehlo=b"250-edge.example.com "
        + b"y" * 4000
        + b"\r\n250-X-LONG "
        + b"z" * 6000
        + b"\r\n250 AUTH PLAIN LOGIN\r\n",
    ),
    "polish_and_invalid_utf8": dict(
        greeting="220 serwer.pl Usługa gotowa — zażółć gęślą jaźń\r\n".encode() + b"",
        ehlo=b"250-serwer.pl Witaj \xff\xfe\xa1\r\n250 AUTH PLAIN LOGIN\r\n",
        replies={"MAIL": "250 2.1.0 Nadawca przyjęty\r\n".encode("iso-8859-2")},
    ),
    "lf_only_line_ends": dict(
        greeting=b"220 edge.example.com ESMTP\n",
        ehlo=b"250-edge.example.com\n250 AUTH PLAIN LOGIN\n",
    ),
}


@pytest.mark.parametrize("name", list(ODD_BUT_LEGAL))
def test_check_reads_odd_but_legal_replies(name: str) -> None:
    kw = dict(ODD_BUT_LEGAL[name])
    bytewise = bool(kw.pop("bytewise", False))
    with RawServer(smtp(**kw), bytewise=bytewise) as server:  # type: ignore[arg-type]
        s = settings(server.port)
        report, transcript, elapsed = run_check(s, send=True)
    assert report.ok, (report.code, report.stage, report.detail)
    assert [st.name for st in report.stages][-3:] == ["rcpt_to", "data", "quit"]
    assert elapsed < 3
    assert report.auth_mechs[:1] == ("PLAIN",) or "PLAIN" in report.auth_mechs
    # The transcript keeps what the server said, undecodable bytes replaced.
    assert "S: 220" in transcript.text()
    if name == "polish_and_invalid_utf8":
        assert "zażółć gęślą jaźń" in transcript.text()


@pytest.mark.parametrize("name", list(ODD_BUT_LEGAL))
def test_delivery_reads_odd_but_legal_replies(name: str) -> None:
    kw = dict(ODD_BUT_LEGAL[name])
    bytewise = bool(kw.pop("bytewise", False))
    with RawServer(smtp(**kw), bytewise=bytewise) as server:  # type: ignore[arg-type]
        result, transcript = deliver_to(settings(server.port))
    assert not isinstance(result, BpmnbError), result
    assert "235" in transcript.text()


# -- AUTH offered in unusual ways ----------------------------------------------


def _login_with_prompts(prompts: tuple[bytes, bytes]) -> Reply:
    def auth(c: Conn, line: bytes) -> bool:
        if line.upper().split(b" ")[1:2] != [b"LOGIN"]:
            c.send(b"504 5.5.4 Unrecognized authentication type\r\n")
            return True
        c.send(prompts[0])
        user = c.line() or b""
        c.send(prompts[1])
        secret = c.line() or b""
        ok = base64.b64decode(user) == LOGIN.encode() and base64.b64decode(
            secret
        ) == PASSWORD.encode("utf-8")
        c.send(b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 bad\r\n")
        return True

    return auth


@pytest.mark.parametrize(
    "ehlo",
    [
        # Old Exchange/Outlook syntax (before RFC 2554 was final): AUTH=LOGIN.
        b"250-edge.example.com\r\n250-AUTH=LOGIN\r\n250 8BITMIME\r\n",
        b"250-edge.example.com\r\n250-AUTH LOGIN\r\n250 AUTH=LOGIN\r\n",
        b"250-edge.example.com\r\n250 auth login\r\n",
    ],
    ids=["auth_equals", "both_syntaxes", "lower_case"],
)
@pytest.mark.parametrize(
    "prompts",
    [
        (b"334 VXNlcm5hbWU6\r\n", b"334 UGFzc3dvcmQ6\r\n"),
        # Some servers send the prompts unencoded, or nothing at all after 334;
        # RFC 4954 says the client answers each 334 whatever its text.
        (b"334 Username:\r\n", b"334 Password:\r\n"),
        (b"334\r\n", b"334 \r\n"),
    ],
    ids=["base64", "clear_prompts", "empty_prompts"],
)
def test_login_only_servers(ehlo: bytes, prompts: tuple[bytes, bytes]) -> None:
    handler = smtp(ehlo=ehlo, replies={"AUTH": _login_with_prompts(prompts)})
    with RawServer(handler) as server:
        s = settings(server.port)
        report, transcript, _ = run_check(s)
        assert report.ok, (report.code, report.stage, report.detail)
        assert report.auth_mechs == ("LOGIN",)
        assert "AUTH LOGIN" in transcript.text()
        result, transcript = deliver_to(s)
        assert not isinstance(result, BpmnbError), result
        assert "AUTH LOGIN" in transcript.text()


@pytest.mark.parametrize(
    "mechs", ["CRAM-MD5", "XOAUTH2", "CRAM-MD5 DIGEST-MD5 NTLM GSSAPI"]
)
def test_no_supported_mechanism_is_named(mechs: str) -> None:
    ehlo = f"250-edge.example.com\r\n250 AUTH {mechs}\r\n".encode()
    with RawServer(smtp(ehlo=ehlo)) as server:
        s = settings(server.port)
        report, _, _ = run_check(s)
        assert (report.code, report.stage) == (Code.AUTH_UNAVAILABLE, Stage.AUTH_MECHS)
        # The user is told what the server does offer.
        assert mechs in (report.detail or "")
        result, _ = deliver_to(s)
        assert isinstance(result, DeliveryError)
        assert result.code is Code.AUTH_UNAVAILABLE
        assert mechs.split()[0] in (result.detail or "")
        # Nothing secret was even attempted.
        assert not any(line.upper().startswith(b"AUTH") for line in server.lines)


def test_plain_initial_response_ignored_by_server() -> None:
    """RFC 4954 section 4: a server may answer an initial response with an
    empty 334 challenge; the client then sends the response again."""
    seen: list[bytes] = []

    def auth(c: Conn, line: bytes) -> bool:
        c.send(b"334 \r\n")
        answer = c.line() or b""
        seen.append(answer)
        expected = base64.b64encode(f"\0{LOGIN}\0{PASSWORD}".encode())
        c.send(b"235 2.7.0 ok\r\n" if answer == expected else b"535 5.7.8 no\r\n")
        return True

    with RawServer(smtp(replies={"AUTH": auth})) as server:
        s = settings(server.port)
        report, _, _ = run_check(s)
        assert report.ok, (report.code, report.stage, report.detail)
        result, _ = deliver_to(s)
        assert not isinstance(result, BpmnbError), result
    assert len(seen) == 2


# -- a server that ends the conversation -----------------------------------------


def _hang_up_after_username(c: Conn, line: bytes) -> bool:
    c.send(b"334 VXNlcm5hbWU6\r\n")
    c.line()
    return False


@pytest.mark.parametrize(
    "replies, stage",
    [
        (hang_up_on("EHLO"), Stage.EHLO),
        (hang_up_on("AUTH"), Stage.AUTH),
        ({"AUTH": _hang_up_after_username}, Stage.AUTH),
        (hang_up_on("MAIL"), Stage.MAIL_FROM),
        (hang_up_on("RCPT"), Stage.RCPT_TO),
        (hang_up_on("DATA"), Stage.DATA),
    ],
    ids=["ehlo", "auth", "auth_login_midway", "mail", "rcpt", "data"],
)
def test_hang_up_at_each_step(replies: dict[str, Reply], stage: Stage) -> None:
    ehlo = b"250-edge.example.com\r\n250 AUTH LOGIN\r\n"
    with RawServer(smtp(ehlo=ehlo, replies=replies)) as server:
        s = settings(server.port)
        report, _, elapsed = run_check(s, send=True)
        assert (report.code, report.stage) == (Code.CONNECTION_DROPPED, stage)
        assert elapsed < 3
        result, _ = deliver_to(s)
    assert isinstance(result, DeliveryError)
    assert result.code is Code.CONNECTION_DROPPED
    delivery_stage = Stage.AUTH_MECHS if stage is Stage.AUTH_MECHS else stage
    assert result.stage is delivery_stage


def test_hang_up_right_after_the_greeting() -> None:
    def handler(c: Conn) -> None:
        c.send(b"220 edge.example.com ESMTP\r\n")
        c.hang_up()

    with RawServer(handler) as server:
        report, _, elapsed = run_check(settings(server.port))
        assert (report.code, report.stage) == (Code.CONNECTION_DROPPED, Stage.EHLO)
        assert elapsed < 3
        result, _ = deliver_to(settings(server.port))
    assert isinstance(result, DeliveryError)
    assert (result.code, result.stage) == (Code.CONNECTION_DROPPED, Stage.EHLO)


def test_hang_up_without_a_greeting() -> None:
    with RawServer(lambda c: c.hang_up()) as server:
        report, _, elapsed = run_check(settings(server.port))
        assert report.stage is Stage.GREETING
        assert report.code is Code.CONNECTION_DROPPED
        assert elapsed < 3
        result, _ = deliver_to(settings(server.port))
    assert isinstance(result, DeliveryError) and result.stage is Stage.GREETING
    # Delivery names it as the check does, so the queue shows the same fault.
    assert result.code is Code.CONNECTION_DROPPED and result.temporary


def test_554_greeting_is_a_refusal_not_silence() -> None:
    """RFC 5321 3.1: "554 No SMTP service here" instead of 220 means the
    server turns this client away; the reply must reach the user."""
    greeting = b"554 5.7.1 Service unavailable; client [127.0.0.1] blocked\r\n"
    with RawServer(smtp(greeting=greeting)) as server:
        report, _, elapsed = run_check(settings(server.port))
        assert report.stage is Stage.GREETING
        # CONNECT_REFUSED: "...or the server turns this machine away".
        assert report.code is Code.CONNECT_REFUSED
        assert report.smtp_code == 554
        assert "blocked" in (report.smtp_reply or "")
        assert elapsed < 3
        result, _ = deliver_to(settings(server.port))
    assert isinstance(result, DeliveryError) and result.smtp_code == 554
    assert result.stage is Stage.GREETING
    assert result.code is Code.CONNECT_REFUSED and not result.temporary


def test_421_to_auth_is_temporary_and_quick() -> None:
    """RFC 5321 3.8: 421 at any step means the server is closing; the
    verdict is temporary and nobody waits for the QUIT reply."""

    def auth(c: Conn, line: bytes) -> bool:
        c.send(b"421 4.7.0 Too many login attempts, closing connection\r\n")
        return False

    with RawServer(smtp(replies={"AUTH": auth})) as server:
        s = settings(server.port)
        report, _, elapsed = run_check(s)
        assert (report.code, report.stage) == (Code.TEMPORARY_FAILURE, Stage.AUTH)
        assert report.smtp_code == 421
        assert elapsed < 2
        result, _ = deliver_to(s)
    assert isinstance(result, DeliveryError)
    assert (result.code, result.stage) == (Code.TEMPORARY_FAILURE, Stage.AUTH)
    assert result.temporary


@pytest.mark.parametrize("refusal", [b"502 5.5.2 Error\r\n", b"500 Unknown\r\n"])
def test_helo_only_server(refusal: bytes) -> None:
    """RFC 5321 4.1.4: after EHLO is refused the client may use HELO. Such a
    server has no extensions, so no AUTH: a login cannot be used."""
    with RawServer(smtp(replies={"EHLO": refusal})) as server:
        relay = settings(server.port).model_copy(update={"login": ""})
        report = diagnosis.check(relay, None, rcpt=RCPT, send=True)
        assert report.ok, (report.code, report.stage, report.detail)
        assert any(line.startswith(b"HELO") for line in server.lines)
        message_ok = deliver(relay, None, message_for(relay))
        assert message_ok.smtp_code == 250
        report, _, _ = run_check(settings(server.port))
        assert (report.code, report.stage) == (Code.AUTH_UNAVAILABLE, Stage.AUTH_MECHS)
        result, _ = deliver_to(settings(server.port))
    assert isinstance(result, DeliveryError)
    assert result.code is Code.AUTH_UNAVAILABLE


# -- TLS the way small company servers do it -----------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
    *,
    san: list[x509.GeneralName] | None = None,
    ca: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem_files(
    directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_ctx(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    return ctx


def test_self_signed_certificate_given_as_ca_file_works(tmp_path: Path) -> None:
    """An office server with a self-signed certificate: trusting exactly that
    certificate through ``ca_file`` must be enough (and verification stays on)."""
    import ipaddress

    key = _key()
    cert = _cert(
        "poczta.firma.local", key, san=[x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
    )
    cert_path, key_path = _pem_files(tmp_path, cert, key)
    ctx = _server_ctx(cert_path, key_path)
    with RawServer(smtp(starttls=ctx)) as server:
        s = settings(server.port, Encryption.STARTTLS, cert_path)
        report, _, _ = run_check(s)
        assert report.ok, (report.code, report.stage, report.detail)
        assert report.tls is not None and report.tls.subject == "poczta.firma.local"
        result, _ = deliver_to(s)
        assert not isinstance(result, BpmnbError), result
        # Without the file the same certificate is refused.
        untrusted = s.model_copy(update={"ca_file": None})
        report, _, _ = run_check(untrusted)
        assert (report.code, report.stage) == (Code.CERT_UNTRUSTED, Stage.TLS)


def test_certificate_with_only_a_common_name(tmp_path: Path) -> None:
    """Old office servers often name themselves only in the CN. Python's
    default ``hostname_checks_common_name`` (OpenSSL) compares the CN when a
    certificate has no subjectAltName, as RFC 6125 6.4.4 still allows: the
    check and delivery both accept a CN that matches (the name is verified),
    and both refuse a CN that does not, saying there is no subjectAltName."""
    ca_key = _key()
    authority = _cert("Firma Root CA", ca_key, ca=True)
    ca_path = tmp_path / "root.pem"
    ca_path.write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    for cn, code in (("localhost", Code.OK), ("poczta.firma.local", None)):
        leaf_key = _key()
        leaf = _cert(cn, leaf_key, (authority.subject, ca_key))
        folder = tmp_path / cn
        folder.mkdir()
        ctx = _server_ctx(*_pem_files(folder, leaf, leaf_key))
        with RawServer(smtp(starttls=ctx)) as server:
            s = settings(server.port, Encryption.STARTTLS, ca_path)
            s = s.model_copy(update={"host": "localhost"})
            report, _, _ = run_check(s)
            result, _ = deliver_to(s)
        if code is Code.OK:
            assert report.ok, (report.code, report.stage, report.detail)
            assert not isinstance(result, BpmnbError), result
            continue
        assert (report.code, report.stage) == (Code.CERT_NAME_MISMATCH, Stage.TLS)
        assert report.tls is not None and report.tls.subject == cn
        assert "no subjectAltName" in (report.detail or "")
        assert isinstance(result, DeliveryError)
        assert result.code is Code.CERT_NAME_MISMATCH


def test_starttls_refused_with_454(ca: Path) -> None:
    ehlo = b"250-edge.example.com\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"
    refusal = b"454 4.7.0 TLS not available due to local problem\r\n"
    with RawServer(smtp(ehlo=ehlo, replies={"STARTTLS": refusal})) as server:
        s = settings(server.port, Encryption.STARTTLS, ca)
        report, _, elapsed = run_check(s)
        assert report.stage is Stage.TLS
        # RFC 3207: 454 is temporary; check and delivery name it alike.
        assert report.code is Code.TEMPORARY_FAILURE
        assert report.smtp_code == 454 and "local problem" in (report.smtp_reply or "")
        assert elapsed < 3
        result, _ = deliver_to(s)
        assert isinstance(result, DeliveryError)
        assert result.stage is Stage.TLS and result.smtp_code == 454
        assert result.code is Code.TEMPORARY_FAILURE and result.temporary
        # "auto" must not fall back to plain text and send the password.
        auto = s.model_copy(update={"encryption": Encryption.AUTO})
        report, _, _ = run_check(auto)
        assert not report.ok and report.stage is Stage.TLS
        result, _ = deliver_to(auto)
        assert isinstance(result, DeliveryError)
    assert not any(line.upper().startswith(b"AUTH") for line in server.lines)


def test_starttls_220_followed_by_plain_text(ca: Path) -> None:
    """A broken middlebox: it answers STARTTLS with 220 and then keeps talking
    plain SMTP. That is not "SSL/TLS chosen for a plain port" (TLS_NOT_SPOKEN),
    and no password may follow."""
    ehlo = b"250-edge.example.com\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"

    def starttls(c: Conn, line: bytes) -> bool:
        c.send(b"220 2.0.0 Ready to start TLS\r\n")
        time.sleep(0.2)  # a separate packet
        c.send(b"250 edge.example.com says hello again\r\n")
        c.line()
        return False

    with RawServer(smtp(ehlo=ehlo, replies={"STARTTLS": starttls})) as server:
        s = settings(server.port, Encryption.STARTTLS, ca)
        report, _, elapsed = run_check(s)
        assert (report.code, report.stage) == (Code.TLS_FAILED, Stage.TLS)
        assert "did not start TLS" in (report.detail or "")
        assert elapsed < 3
        result, _ = deliver_to(s)
        assert isinstance(result, DeliveryError) and result.stage is Stage.TLS
    assert not any(line.upper().startswith(b"AUTH") for line in server.lines)


def test_delivery_names_starttls_220_followed_by_plain_text(ca: Path) -> None:
    ehlo = b"250-edge.example.com\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"

    def starttls(c: Conn, line: bytes) -> bool:
        c.send(b"220 2.0.0 Ready to start TLS\r\n")
        time.sleep(0.2)
        c.send(b"250 edge.example.com says hello again\r\n")
        c.line()
        return False

    with RawServer(smtp(ehlo=ehlo, replies={"STARTTLS": starttls})) as server:
        result, _ = deliver_to(settings(server.port, Encryption.STARTTLS, ca))
    assert isinstance(result, DeliveryError)
    assert result.code is not Code.TLS_NOT_SPOKEN


def test_implicit_tls_with_only_tls_1_1_over_delivery(ca: Path) -> None:
    from tests.support.faultservers import old_tls_context

    with RawServer(smtp(), implicit_tls=old_tls_context()) as server:
        s = settings(server.port, Encryption.SSL, ca)
        report, _, _ = run_check(s)
        assert (report.code, report.stage) == (Code.TLS_FAILED, Stage.TLS)
        assert "TLSv1" in (report.detail or "")
        result, _ = deliver_to(s)
    assert isinstance(result, DeliveryError)
    assert (result.code, result.stage) == (Code.TLS_FAILED, Stage.TLS)


# -- the envelope the check writes ---------------------------------------------


def _envelope_server(ehlo_extra: bytes = b"") -> Handler:
    ehlo = b"250-edge.example.com\r\n" + ehlo_extra + b"250 AUTH PLAIN\r\n"

    def strict(c: Conn, line: bytes) -> bool:
        # RFC 5321 without SMTPUTF8 is ASCII only: refuse anything else.
        ok = line.isascii() or b"SMTPUTF8" in ehlo_extra
        c.send(b"250 2.1.0 Ok\r\n" if ok else b"553 5.6.7 non-ASCII address\r\n")
        return True

    return smtp(ehlo=ehlo, replies={"MAIL": strict, "RCPT": strict})


def test_check_writes_idn_domains_as_a_labels() -> None:
    with RawServer(_envelope_server()) as server:
        s = settings(server.port).model_copy(update={"sender": "biuro@zażółć.pl"})
        report = diagnosis.check(s, cred(), rcpt="Jan.Nowak@łódź.pl")
        assert report.ok, (report.code, report.stage, report.smtp_reply)
        # The same envelope delivery writes (IDNA 2008, RFC 5891).
        result = deliver(
            s, cred(), message.build(s, to="jan@łódź.pl", subject="x", body="y")
        )
        assert result.smtp_code == 250
    sent = [x for x in server.lines if x.startswith((b"MAIL", b"RCPT"))]
    lodz = "łódź.pl".encode("idna")
    assert sent[0] == b"MAIL FROM:<biuro@xn--za-6ja4f8n1l.pl>"
    assert sent[1] == b"RCPT TO:<Jan.Nowak@" + lodz + b">"
    assert sent[2:] == [
        b"MAIL FROM:<biuro@xn--za-6ja4f8n1l.pl>",
        b"RCPT TO:<jan@" + lodz + b">",
    ]
    assert all(x.isascii() for x in sent)


def test_check_non_ascii_local_part_needs_smtputf8() -> None:
    """RFC 6531: a non-ASCII local part may only be sent with SMTPUTF8."""
    with RawServer(_envelope_server()) as server:
        s = settings(server.port).model_copy(update={"sender": "łukasz@example.com"})
        report = diagnosis.check(s, cred(), rcpt=RCPT)
        assert (report.code, report.stage) == (Code.SENDER_REJECTED, Stage.MAIL_FROM)
        assert "SMTPUTF8" in (report.detail or "")
        report = diagnosis.check(
            settings(server.port), cred(), rcpt="żaneta@example.com"
        )
        assert (report.code, report.stage) == (Code.RECIPIENT_REJECTED, Stage.RCPT_TO)
    assert all(line.isascii() for line in server.lines)
    with RawServer(_envelope_server(b"250-SMTPUTF8\r\n")) as server:
        s = settings(server.port).model_copy(update={"sender": "łukasz@example.com"})
        report = diagnosis.check(s, cred(), rcpt="żaneta@zażółć.pl")
        assert report.ok, (report.code, report.stage, report.detail)
    mail = next(x for x in server.lines if x.startswith(b"MAIL"))
    assert mail == "MAIL FROM:<łukasz@example.com> SMTPUTF8".encode()


@pytest.mark.parametrize(
    "rcpt", ["jan+bpm@example.com", '"jan kowalski"@example.com', "o'brien@example.com"]
)
def test_unusual_but_valid_recipients(rcpt: str) -> None:
    """Plus-addresses, quoted local parts (RFC 5321 4.1.2) and apostrophes
    reach the envelope unchanged, in the check and in delivery."""
    with RawServer(_envelope_server()) as server:
        s = settings(server.port)
        report = diagnosis.check(s, cred(), rcpt=rcpt)
        assert report.ok, (report.code, report.stage, report.detail)
        built = message.build(s, to=rcpt, subject="x", body="y")
        assert built["To"].addresses[0].addr_spec == rcpt
        deliver(s, cred(), built)
    rcpts = [x for x in server.lines if x.startswith(b"RCPT")]
    assert rcpts == [f"RCPT TO:<{rcpt}>".encode()] * 2


# -- messages that must be encoded, not sent raw --------------------------------


def _wire(built: EmailMessage) -> bytes:
    return built.as_bytes(policy=policy.SMTP)


def _account(**update: object) -> AccountSettings:
    return AccountSettings(
        host="smtp.example.com", sender=SENDER, display_name="Powiadomienia"
    ).model_copy(update=update)


def _lines_fit(data: bytes, limit: int = 998) -> bool:
    """RFC 5322 2.1.1: no line longer than 998 characters (without CRLF)."""
    return all(len(line) <= limit for line in data.split(b"\r\n"))


def test_long_polish_subject_and_name_are_folded() -> None:
    word = "Zażółćgęśląjaźń" * 12  # one 180-character word
    subject = ("Przypomnienie o zaległym dokumencie " + word + " ") * 4
    subject = subject[:500]
    name = "Dział Księgowości i Rozliczeń Międzynarodowych " + word
    built = message.build(
        _account(display_name=name), to=RCPT, subject=subject, body="x"
    )
    data = _wire(built)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    # RFC 5322 2.1.1 SHOULD 78, RFC 2047 2: encoded words at most 75.
    assert _lines_fit(head, 78)
    words = re.findall(rb"=\?utf-8\?([bq])\?([^?]*)\?=", head)
    assert len(words) > 10
    for kind, encoded in words:
        # RFC 2047 5: no encoded word may split a multi-octet character.
        raw = (
            base64.b64decode(encoded)
            if kind == b"b"
            else quopri.decodestring(encoded.replace(b"_", b" "))
        )
        raw.decode("utf-8")
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert parsed["Subject"] == subject
    # RFC 2047 6.2: white space between adjacent encoded words is dropped.
    # (The email package's address parser keeps it, so decode the phrase
    # the way mail programs do.)
    raw_from = data.split(b"\r\nTo:", 1)[0].decode("ascii")[len("From: ") :]
    phrase = raw_from.rpartition(" <")[0]
    assert str(make_header(decode_header(phrase))) == name


def test_body_lines_over_998_characters_are_encoded() -> None:
    long_line = "Ą" + "x" * 3000 + " koniec"
    body = f"Początek\n{long_line}\n.\n..\n.kropka\nkoniec\r\nCR\ralone"
    built = message.build(_account(), to=RCPT, subject="x", body=body)
    data = _wire(built)
    assert _lines_fit(data, 78)
    assert data.isascii()
    # No bare CR or LF survives: RFC 5322 2.3 allows CR and LF only together.
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    content = BytesParser(policy=policy.default).parsebytes(data).get_content()
    content = content.replace("\r\n", "\n")
    assert long_line in content
    assert "\n.\n..\n.kropka\nkoniec\nCR\nalone" in content


@pytest.mark.parametrize(
    "filename",
    [
        "Faktura_zażółć_gęślą_jaźń.pdf",
        "Umowa " + "źdźbło-łąka-" * 12 + ".docx",  # > 78 characters: RFC 2231 parts
        'raport;"cudzysłów".txt',
    ],
)
def test_attachment_with_polish_file_name(filename: str) -> None:
    content = "zawartość".encode() * 10
    built = message.build(
        _account(),
        to=RCPT,
        subject="Załącznik",
        body="W załączniku.",
        attachments=[message.Attachment(filename, content)],
    )
    data = _wire(built)
    assert data.isascii() and _lines_fit(data)
    # RFC 2231 parameter continuations keep folded lines short.
    assert all(len(x) <= 78 for x in data.split(b"\r\n") if b"filename" in x)
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == filename
    assert attachment.get_payload(decode=True) == content
    if attachment.get_content_maintype() == "text":
        # RFC 2046 4.1.2: without a charset text is US-ASCII.
        assert attachment.get_content_charset() == "utf-8"
        assert attachment.get_content() == content.decode()


@pytest.mark.parametrize(
    "value",
    [
        "a\x0bb",
        "a\x0cb",
        "a\x1cb",
        "a\x85b",
        "a\u2028b",
        "a\u2029b",
        "a\x01b",
        "a\x7fb",
    ],
    ids=["VT", "FF", "FS", "NEL", "LS", "PS", "SOH", "DEL"],
)
@pytest.mark.parametrize("field", ["subject", "display_name", "attachments"])
def test_other_line_breaks_and_controls_refused(value: str, field: str) -> None:
    """The email package folds at every ``str.splitlines`` break and copies
    other control characters raw; RFC 5322 2.2 allows neither in a header.
    The user gets the coded MessageError at the field, not a ValueError."""
    kwargs: dict[str, object] = {"to": RCPT, "subject": "x", "body": "y"}
    account = _account()
    if field == "subject":
        kwargs["subject"] = value
    elif field == "display_name":
        account = _account(display_name=value)
    else:
        kwargs["attachments"] = [message.Attachment(value + ".txt", b"x")]
    with pytest.raises(message.MessageError) as info:
        message.build(account, **kwargs)  # type: ignore[arg-type]
    error = info.value
    assert error.code is Code.INVALID_SETTINGS
    assert error.field == field
    assert error.key in ("delivery.header_injection", "delivery.control_character")
    assert error.message("pl") and error.message("en")
    # Tabs are white space and stay allowed.
    message.build(
        _account(display_name="Jan\tKowalski"), to=RCPT, subject="a\tb", body=""
    )


def test_awkward_message_arrives_intact_through_a_real_server(sandbox: object) -> None:
    """Through aiosmtpd (the sandbox): dot-stuffing (RFC 5321 4.5.2), long
    lines, bare CR, a Polish attachment name, IDN and quoted recipients."""
    from bpmnb.sandbox import Sandbox, received

    assert isinstance(sandbox, Sandbox)
    s = sandbox.settings().model_copy(update={"display_name": "Zażółć " * 20})
    body = ".\n..\n. \n" + "ż" * 1500 + "\nkoniec\r.\n"
    built = message.build(
        s,
        to=['"jan kowalski"@example.com', "jan@zażółć.pl", "a+b@example.com"],
        subject="Ł" * 300,
        body=body,
        attachments=[message.Attachment("źdźbło łąki.txt", b"\x00\x01.\r\n.\r\n")],
    )
    result = deliver(
        s, Credential(sandbox.login, "password", lambda: sandbox.password), built
    )
    got = [r for r in received(sandbox.home) if r.message_id == result.message_id]
    assert len(got) == 1
    parsed = BytesParser(policy=policy.default).parsebytes(got[0].raw)
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == body.replace("\r", "\n")
    assert parsed["Subject"] == "Ł" * 300
    attachment = next(parsed.iter_attachments())
    assert attachment.get_filename() == "źdźbło łąki.txt"
    assert attachment.get_payload(decode=True) == b"\x00\x01.\r\n.\r\n"
    assert sorted(got[0].recipients) == sorted(
        ['"jan kowalski"@example.com', "jan@xn--za-6ja4f8n1l.pl", "a+b@example.com"]
    )


# -- probe with awkward targets --------------------------------------------------


@pytest.mark.parametrize(
    "target, expected",
    [
        ("smtp.wp.pl:465", ("smtp.wp.pl", 465)),
        (" smtp.firma.pl:587 ", ("smtp.firma.pl", 587)),
        ("[::1]:2525", ("::1", 2525)),
        ("::1", ("::1", None)),
        ("smtp.wp.pl", ("smtp.wp.pl", None)),
        ("jan@wp.pl", ("jan@wp.pl", None)),
        ("smtp.wp.pl:99999", ("smtp.wp.pl:99999", None)),
    ],
)
def test_probe_target_may_name_its_port(
    target: str, expected: tuple[str, int | None]
) -> None:
    assert probe.split_target(target) == expected


def test_probe_host_and_port_string(ca: Path) -> None:
    """ "smtp.firma.pl:587" as pasted from an old mail program: that port,
    with each encryption, not a DNS lookup of the whole string."""
    ctx = server_context()
    with RawServer(smtp(starttls=ctx)) as server:
        started = time.monotonic()
        results = probe.probe(
            f"{LOOPBACK}:{server.port}", ca_file=str(ca), include_failed=True
        )
        elapsed = time.monotonic() - started
    assert elapsed < 3
    assert {r.port for r in results} == {server.port}
    assert [(r.encryption, r.ok) for r in results] == [
        (Encryption.STARTTLS, True),
        (Encryption.NONE, True),
        (Encryption.SSL, False),
    ]
    assert results[0].auth_mechs == ("PLAIN", "LOGIN")
    assert results[-1].code is Code.TLS_NOT_SPOKEN


def test_probe_of_a_domain_that_resolves_to_nothing() -> None:
    started = time.monotonic()
    results = probe.probe("jan@nothing-here.invalid", include_failed=True)
    assert time.monotonic() - started < 3
    assert results and all(r.code is Code.DNS_FAILED for r in results)
    assert probe.probe("jan@nothing-here.invalid") == []


def test_probe_of_a_port_that_accepts_and_says_nothing() -> None:
    def silent(c: Conn) -> None:
        c.line()  # whatever the client sends, never answer

    with RawServer(silent) as server:
        started = time.monotonic()
        results = probe.probe(
            f"{LOOPBACK}:{server.port}", timeout=1.0, include_failed=True
        )
        elapsed = time.monotonic() - started
    # Every attempt runs at once, each bounded by the timeout.
    assert elapsed < 1.0 + 1.5
    assert len(results) == 3 and not any(r.ok for r in results)
    assert {r.code for r in results} == {Code.NO_GREETING}


# -- the command line as a user runs it -----------------------------------------


def _bpmnb(
    home: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("bpmnb")
    command = [str(script)] if script.exists() else [sys.executable, "-c", CLI]
    env = {k: v for k, v in os.environ.items() if k != "BPMNB_PASSWORD"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return subprocess.run(
        [*command, "--home", str(home), "--lang", "pl", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


CHECK_FIELDS = {
    "ok", "code", "stage", "message", "hint", "stages", "tls",
    "smtp_code", "smtp_reply", "auth_mechs",
}  # fmt: skip

FAILING_SERVERS: dict[str, tuple[Handler, Code, Stage]] = {
    "greeting_554": (
        smtp(greeting=b"554 5.7.1 Nie obs\xc5\x82ugujemy tego adresu\r\n"),
        Code.CONNECT_REFUSED,
        Stage.GREETING,
    ),
    "latin2_reply_then_drop": (
        smtp(
            greeting="220 Serwer gotowy, zażółć\r\n".encode("iso-8859-2"),
            replies=hang_up_on("MAIL"),
        ),
        Code.CONNECTION_DROPPED,
        Stage.MAIL_FROM,
    ),
    "only_cram_md5": (
        smtp(ehlo=b"250-edge\r\n250 AUTH CRAM-MD5\r\n"),
        Code.AUTH_UNAVAILABLE,
        Stage.AUTH_MECHS,
    ),
    "auth_rejected_in_polish": (
        smtp(replies={"AUTH": "535 5.7.8 Błędny login lub hasło\r\n".encode()}),
        Code.AUTH_FAILED,
        Stage.AUTH,
    ),
    "not_smtp_at_all": (
        smtp(greeting=b"SSH-2.0-OpenSSH_9.6\r\n"),
        Code.NO_GREETING,
        Stage.GREETING,
    ),
}


@pytest.mark.parametrize("name", list(FAILING_SERVERS))
def test_cli_check_json_for_every_failure(name: str, tmp_path: Path) -> None:
    handler, code, stage = FAILING_SERVERS[name]
    transcript = tmp_path / "rozmowa.txt"
    with RawServer(handler) as server:
        out = _bpmnb(
            tmp_path / "home",
            "check", "--host", LOOPBACK, "--port", str(server.port),
            "--encryption", "none", "--login", LOGIN, "--sender", SENDER,
            "--timeout", "2", "--password-stdin", "--to", RCPT, "--json",
            "--transcript", str(transcript),
            stdin=PASSWORD + "\n",
        )  # fmt: skip
    assert out.returncode == 1, (out.stdout, out.stderr)
    data = json.loads(out.stdout)
    assert CHECK_FIELDS <= set(data)
    assert (data["ok"], data["code"], data["stage"]) == (False, str(code), str(stage))
    assert data["message"] and data["hint"]
    assert [s["name"] for s in data["stages"] if not s["ok"]] == [str(stage)]
    written = transcript.read_text(encoding="utf-8")
    assert_no_secret(out.stdout, out.stderr, written)
    if name == "auth_rejected_in_polish":
        assert data["smtp_reply"] == "535 5.7.8 Błędny login lub hasło"
        assert "AUTH PLAIN ****" in written


def test_cli_probe_host_port_json(tmp_path: Path, ca: Path) -> None:
    with RawServer(smtp(starttls=server_context())) as server:
        out = _bpmnb(
            tmp_path,
            "probe",
            f"{LOOPBACK}:{server.port}",
            "--ca-file",
            str(ca),
            "--json",
        )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True
    assert [(r["port"], r["encryption"]) for r in data["results"]] == [
        (server.port, "starttls"),
        (server.port, "none"),
    ]
    out = _bpmnb(tmp_path, "probe", "jan@nothing-here.invalid", "--json", "--all")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["ok"] is False
    assert {r["code"] for r in data["results"]} == {"DNS_FAILED"}


# -- slow greetings ----------------------------------------------------------------


@pytest.mark.parametrize("style", ["late", "postscreen"])
def test_slow_greeting_is_not_mistaken_for_implicit_tls(style: str) -> None:
    """Servers that look up the client first greet late, and Postfix's
    postscreen sends "220-" and the rest only after a pause (to catch clients
    that talk first). Neither is an implicit-TLS port: the parallel TLS probe
    (after GREETING_GRACE) must not turn them into TLS_EXPECTED."""
    pause = diagnosis.GREETING_GRACE + 0.6

    def handler(c: Conn) -> None:
        if style == "postscreen":
            c.send(b"220-edge.example.com ESMTP\r\n")
        time.sleep(pause)
        smtp(greeting=b"220 edge.example.com ESMTP\r\n")(c)

    with RawServer(handler) as server:
        report, _, elapsed = run_check(settings(server.port, timeout=5.0))
    assert report.ok, (report.code, report.stage, report.detail)
    assert pause <= elapsed < pause + 1.5


# -- a conversation that stops being SMTP ---------------------------------------


@pytest.mark.parametrize(
    "verb, garbage, stage",
    [
        ("AUTH", b"VXNlcm5hbWU6\r\n", Stage.AUTH),
        ("EHLO", b"250-edge.example.com\r\n" + b"x" * 70000, Stage.EHLO),
        ("MAIL", b"\r\n", Stage.MAIL_FROM),
    ],
    ids=["auth_without_code", "endless_line", "empty_line"],
)
def test_garbled_reply_after_the_greeting(
    verb: str, garbage: bytes, stage: Stage
) -> None:
    """After a good greeting, a reply that is not SMTP is a broken
    conversation (an intercepting proxy, a crashed server), not a missing
    greeting: the stage is named and nothing more is sent."""
    with RawServer(smtp(replies={verb: garbage})) as server:
        report, _, elapsed = run_check(settings(server.port))
        time.sleep(0.2)  # let the server read anything that was still sent
        verbs = [x.split(b" ")[0].upper() for x in server.lines]
    assert (report.code, report.stage) == (Code.CONNECTION_DROPPED, stage)
    assert elapsed < 3
    # Nothing after the garbled reply: no QUIT into a broken stream.
    assert verbs[-1] == verb.encode()


@pytest.mark.parametrize("verb", ["AUTH", "MAIL"])
def test_delivery_names_a_reply_that_is_not_smtp(verb: str) -> None:
    with RawServer(smtp(replies={verb: b"VXNlcm5hbWU6\r\n"})) as server:
        result, _ = deliver_to(settings(server.port))
    assert isinstance(result, DeliveryError)
    assert result.smtp_code != -1
    assert result.code is Code.CONNECTION_DROPPED


def test_auth_only_after_starttls_is_explained() -> None:
    """Encryption "none" on a server that lists AUTH only after STARTTLS
    (RFC 3207, Postfix's smtpd_tls_auth_only): the detail says so."""
    ehlo = b"250-edge.example.com\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
    with RawServer(smtp(ehlo=ehlo)) as server:
        report, _, _ = run_check(settings(server.port))
    assert (report.code, report.stage) == (Code.AUTH_UNAVAILABLE, Stage.AUTH_MECHS)
    assert "STARTTLS" in (report.detail or "")
    assert "offered: none" in (report.detail or "")


@pytest.mark.parametrize(
    "target",
    ["Jan Kowalski <jan@Firma.PL>", "mailto:jan@firma.pl", " jan@firma.pl. "],
)
def test_probe_address_as_pasted(target: str) -> None:
    assert probe.candidate_hosts(target) == [
        "smtp.firma.pl",
        "mail.firma.pl",
        "firma.pl",
    ]


@pytest.mark.parametrize("full_chain", [True, False], ids=["chain", "leaf_only"])
def test_server_leaving_out_its_intermediate(
    full_chain: bool, tmp_path: Path, ca: Path
) -> None:
    """A common misconfiguration: the server sends its certificate without the
    intermediate one. Browsers fetch it (AIA) and hide the fault; an SMTP
    client cannot, so the check must say what is probably missing."""
    from tests.support import net

    leaf = net.ca().create_child_ca().issue_cert(LOOPBACK)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if full_chain:
        leaf.configure_cert(ctx)
    else:
        leaf.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "leaf.pem"))
        ctx.load_cert_chain(str(tmp_path / "leaf.pem"), str(tmp_path / "key.pem"))
    with RawServer(smtp(starttls=ctx)) as server:
        s = settings(server.port, Encryption.STARTTLS, ca)
        report, _, _ = run_check(s)
        result, _ = deliver_to(s)
    if full_chain:
        assert report.ok, (report.code, report.stage, report.detail)
        assert not isinstance(result, BpmnbError), result
        return
    assert (report.code, report.stage) == (Code.CERT_UNTRUSTED, Stage.TLS)
    assert "intermediate" in (report.detail or "")
    assert isinstance(result, DeliveryError)
    assert result.code is Code.CERT_UNTRUSTED


# -- a server that repeats the secret back --------------------------------------


def _echoing_auth(decoded: bool) -> Reply:
    """Refuse AUTH quoting what was sent, as some servers do in their
    "invalid argument" replies (the base64, or worse, decoded)."""

    def auth(c: Conn, line: bytes) -> bool:
        parts = line.split(b" ")
        if parts[1].upper() == b"LOGIN":
            c.send(b"334 VXNlcm5hbWU6\r\n")
            c.line()
            c.send(b"334 UGFzc3dvcmQ6\r\n")
            argument = c.line() or b""
        else:
            argument = parts[2] if len(parts) > 2 else b""
        shown = base64.b64decode(argument).replace(b"\0", b" ") if decoded else argument
        c.send(b"535-5.7.8 Authentication failed for argument\r\n")
        c.send(b"535 5.7.8 [" + shown + b"] rejected\r\n")
        return True

    return auth


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("decoded", [False, True], ids=["base64", "decoded"])
def test_check_masks_a_secret_the_server_echoes(mech: str, decoded: bool) -> None:
    ehlo = f"250-edge.example.com\r\n250 AUTH {mech}\r\n".encode()
    handler = smtp(ehlo=ehlo, replies={"AUTH": _echoing_auth(decoded)})
    with RawServer(handler) as server:
        # run_check asserts the password is nowhere in report, JSON, transcript.
        report, _, _ = run_check(settings(server.port))
    assert (report.code, report.stage) == (Code.AUTH_FAILED, Stage.AUTH)
    assert report.smtp_reply is not None and "****" in report.smtp_reply
    assert "rejected" in report.smtp_reply
    assert any(form in server.text() for form in [*secret_forms(), PASSWORD])


@pytest.mark.parametrize("decoded", [False, True], ids=["base64", "decoded"])
def test_delivery_masks_a_secret_the_server_echoes(decoded: bool) -> None:
    ehlo = b"250-edge.example.com\r\n250 AUTH PLAIN\r\n"
    handler = smtp(ehlo=ehlo, replies={"AUTH": _echoing_auth(decoded)})
    with RawServer(handler) as server:
        transcript = Transcript()
        s = settings(server.port)
        with pytest.raises(DeliveryError) as info:
            deliver(s, cred(), message_for(s), transcript=transcript)
    blob = f"{info.value}\n{info.value.smtp_reply}\n{transcript.text()}"
    assert not any(form in blob for form in secret_forms())


# -- EHLO judged by the server ---------------------------------------------------


def test_check_sends_the_ehlo_name_delivery_sends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Servers judge the EHLO argument (Postfix reject_invalid_helo_hostname
    refuses "srv_bpm"); the check must present what delivery presents, or it
    passes where sending fails (or the other way round)."""
    monkeypatch.setattr(socket, "gethostname", lambda: "srv_bpm.firma.local")
    with RawServer(smtp()) as server:
        s = settings(server.port)
        run_check(s)
        deliver_to(s)
    ehlos = [x for x in server.lines if x.upper().startswith(b"EHLO")]
    assert len(ehlos) == 2 and ehlos[0] == ehlos[1], ehlos


def test_ehlo_refused_by_policy() -> None:
    refusal = b"554 5.7.1 <[127.0.0.1]>: Client host rejected: listed at Spamhaus\r\n"
    with RawServer(smtp(replies={"EHLO": refusal, "HELO": refusal})) as server:
        report, _, elapsed = run_check(settings(server.port))
    # Not "the server closed the connection": it is still open and said why.
    assert (report.code, report.stage) == (Code.CONNECT_REFUSED, Stage.EHLO)
    assert report.smtp_code == 554 and "Spamhaus" in (report.smtp_reply or "")
    assert elapsed < 3


def test_implicit_tls_greeting_one_byte_per_record(ca: Path) -> None:
    """Over TLS each byte may come in its own record (a slow proxy)."""
    with RawServer(smtp(), implicit_tls=server_context(), bytewise=True) as server:
        s = settings(server.port, Encryption.SSL, ca)
        report, _, _ = run_check(s, send=True)
        assert report.ok, (report.code, report.stage, report.detail)
        result, _ = deliver_to(s)
    assert not isinstance(result, BpmnbError), result


@pytest.mark.parametrize("mode", [Encryption.AUTO, Encryption.STARTTLS])
def test_bad_certificate_never_downgrades_to_plain_text(
    mode: Encryption, ca: Path
) -> None:
    """A port-25/587 server with a self-signed certificate: "auto" must not
    fall back to plain text and log in anyway (RFC 8314 4.1 / RFC 3207 4.1)."""
    from tests.support.net import stranger_ca

    ctx = server_context(authority=stranger_ca())
    with RawServer(smtp(starttls=ctx)) as server:
        s = settings(server.port, mode, ca)
        report, _, _ = run_check(s)
        result, _ = deliver_to(s)
        time.sleep(0.2)
    assert (report.code, report.stage) == (Code.CERT_UNTRUSTED, Stage.TLS)
    assert isinstance(result, DeliveryError) and result.code is Code.CERT_UNTRUSTED
    verbs = {x.split(b" ")[0].upper() for x in server.lines if x.isascii()}
    assert not verbs & {b"AUTH", b"MAIL"}, verbs


def test_probe_marks_a_refused_certificate_as_unverified(ca: Path) -> None:
    from tests.support.net import stranger_ca

    ctx = server_context(authority=stranger_ca())
    with RawServer(smtp(starttls=ctx)) as server:
        results = probe.probe(
            f"{LOOPBACK}:{server.port}", ca_file=str(ca), include_failed=True
        )
    starttls = next(r for r in results if r.encryption is Encryption.STARTTLS)
    assert starttls.code is Code.CERT_UNTRUSTED
    shown = starttls.as_json()["tls"]
    assert isinstance(shown, dict) and shown["verified"] is False
    plain = next(r for r in results if r.encryption is Encryption.NONE)
    assert plain.ok and plain.as_json()["tls"] is None


def test_no_port_request_when_the_server_answered() -> None:
    """A 554 greeting on port 2525 came through the firewall: asking the
    cloud to open the port would send the user the wrong way."""
    from bpmnb import hints
    from bpmnb.i18n import text

    greeting = b"554 5.7.1 No SMTP service for you\r\n"
    with RawServer(smtp(greeting=greeting)) as server:
        s = settings(server.port)
        report, _, _ = run_check(s)
    assert report.code is Code.CONNECT_REFUSED and report.stage is Stage.GREETING
    request = text("diagnosis.provider.port_request", "pl", port=s.port, host=s.host)
    assert request not in report.hint("pl")
    assert report.hint("pl").endswith(text("diagnosis.CONNECT_REFUSED.hint", "pl"))
    # A refused TCP connection on the same port of a remote server still gets
    # the request; this machine's own ports, or a silent server past the
    # firewall (NO_GREETING), do not.
    remote = s.model_copy(update={"host": "smtp.firma.pl"})
    tcp_refused = BpmnbError(Code.CONNECT_REFUSED, stage=Stage.CONNECT)
    asked = text("diagnosis.provider.port_request", "pl", port=s.port, host=remote.host)
    assert asked in hints.hint_for(tcp_refused, remote, "pl")
    assert request not in hints.hint_for(tcp_refused, s, "pl")
    silent = BpmnbError(Code.NO_GREETING, stage=Stage.GREETING)
    assert asked not in hints.hint_for(silent, remote, "pl")


@pytest.mark.parametrize(
    "reply, code",
    [
        (b"530 5.7.0 Must issue a STARTTLS command first.\r\n", Code.PLAINTEXT_REFUSED),
        (b"530 5.7.57 Client not authenticated to send mail\r\n", Code.AUTH_REQUIRED),
    ],
    ids=["gmail_starttls_first", "office365_not_authenticated"],
)
def test_530_at_mail_from_is_not_the_senders_fault(reply: bytes, code: Code) -> None:
    """No login, no encryption, and the server wants one of them (RFC 4954
    section 6, 530): telling the user to change the sender address would
    send them the wrong way."""
    with RawServer(smtp(replies={"MAIL": reply})) as server:
        relay = settings(server.port).model_copy(update={"login": ""})
        report = diagnosis.check(relay, None, rcpt=RCPT)
    assert (report.code, report.stage) == (code, Stage.MAIL_FROM)
    assert report.smtp_code == 530


@pytest.mark.parametrize(
    "reply",
    [
        b"530 5.7.0 Authentication required\r\n",  # Exim's usual ACL
        b"554 5.7.1 <odbiorca@example.com>: Relay access denied\r\n",  # Postfix
        b"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n",
    ],
    ids=["exim_530", "postfix_relay", "exchange_relay"],
)
def test_no_login_refused_at_rcpt_to_asks_for_a_login(reply: bytes) -> None:
    """MTAs refuse an unauthenticated client at RCPT TO; the recipient is not
    at fault and "check the address" would send the user the wrong way."""
    with RawServer(smtp(replies={"RCPT": reply})) as server:
        relay = settings(server.port).model_copy(update={"login": ""})
        report = diagnosis.check(relay, None, rcpt=RCPT)
        assert (report.code, report.stage) == (Code.AUTH_REQUIRED, Stage.RCPT_TO)
        with pytest.raises(DeliveryError) as caught:
            deliver(relay, None, message_for(relay))
    assert caught.value.code is Code.AUTH_REQUIRED
    assert "Login" in report.hint("en") or "login" in report.hint("en")


def test_a_refused_recipient_after_signing_in_is_the_recipients_fault() -> None:
    reply = b"550 5.1.1 <odbiorca@example.com>: Recipient address rejected\r\n"
    with RawServer(smtp(replies={"RCPT": reply})) as server:
        relay = settings(server.port).model_copy(update={"login": ""})
        report = diagnosis.check(relay, None, rcpt=RCPT)
    assert report.code is Code.RECIPIENT_REJECTED


# -- a server that stutters (OpenBSD spamd and other tarpits) -------------------


def _stutter(seconds: float) -> Handler:
    """A greeting dribbled one byte at a time, as tarpits do, for
    ``seconds``; then a normal conversation."""

    def handler(c: Conn) -> None:
        c.send(b"220-")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            c.send(b"x")
            time.sleep(0.2)
        smtp(greeting=b"\r\n220 edge.example.com\r\n")(c)

    return handler


def test_check_is_bounded_against_a_stuttering_greeting() -> None:
    """Each read having a timeout is not enough: the check bounds the whole
    reply by the settings' timeout (RFC 5321 4.5.3.2.1 gives the greeting 5
    minutes, but the user's timeout is what they asked to wait)."""
    with RawServer(_stutter(6.0)) as server:
        report, _, elapsed = run_check(settings(server.port, timeout=1.0))
    assert not report.ok and report.stage is Stage.GREETING
    # Silent, not gone: the server never closed anything.
    assert report.code is Code.NO_GREETING
    assert elapsed < 1.0 + 1.0


def test_an_endless_multiline_greeting_is_no_greeting_not_a_hang_up() -> None:
    def handler(c: Conn) -> None:
        end = time.monotonic() + 4
        while time.monotonic() < end:
            c.send(b"220-hello\r\n")
            time.sleep(0.3)

    with RawServer(handler) as server:
        report, _, elapsed = run_check(settings(server.port, timeout=1.0))
    assert (report.code, report.stage) == (Code.NO_GREETING, Stage.GREETING)
    assert elapsed < 1.0 + 1.0


def test_delivery_is_bounded_against_a_stuttering_greeting() -> None:
    with RawServer(_stutter(6.0)) as server:
        started = time.monotonic()
        deliver_to(settings(server.port, timeout=1.0))
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.5


def test_check_json_keeps_its_shape_for_a_damaged_settings_file(
    tmp_path: Path,
) -> None:
    # A script reading `bpmnb check --json` gets the documented fields even
    # when the settings file cannot be read at all.
    (tmp_path / "settings.json").write_text('{"host": "smtp.wp.pl", ', "utf-8")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "bpmnb"),
            "--home",
            str(tmp_path),
            "check",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["code"] == "INVALID_SETTINGS"
    assert report["stage"] == "settings"
    assert "settings.json" in report["message"]
    assert report["stages"] == [] and "hint" in report and "tls" in report


def test_ehlo_and_helo_refused_is_named_alike_by_check_and_delivery() -> None:
    """A 5xx to both EHLO and HELO (a policy block, e.g. a blocklisted
    address) is a refusal of this client, permanent, in both paths."""
    refusal = b"554 5.7.1 Client host rejected\r\n"
    with RawServer(smtp(replies={"EHLO": refusal, "HELO": refusal})) as server:
        report, _, _ = run_check(settings(server.port))
        result, _ = deliver_to(settings(server.port))
    assert (report.code, report.stage) == (Code.CONNECT_REFUSED, Stage.EHLO)
    assert isinstance(result, DeliveryError)
    assert (result.code, result.stage) == (Code.CONNECT_REFUSED, Stage.EHLO)
    assert result.smtp_code == 554 and not result.temporary
