"""The SMTP conversation against real servers on loopback.

The shared sandbox (aiosmtpd: a STARTTLS port and an implicit-TLS port)
covers the encryption modes; aiosmtpd servers with other options and the
scripted server of tests.support.smtpd cover what providers do differently.
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from bpmnb import message as msg
from bpmnb.errors import (
    BpmnbError,
    Code,
    DeliveryError,
    SmtpConnectError,
    SmtpTimeout,
    Stage,
)
from bpmnb.sandbox import Received, Sandbox, received
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import (
    Credential,
    SmtpSession,
    Transcript,
    deliver,
    envelope_address,
    ssl_context,
)
from tests.support.net import (
    LOOPBACK,
    ca,
    ca_file,
    free_port,
    server_context,
    stranger_ca,
)
from tests.support.smtpd import (
    ScriptedSmtp,
    aiosmtpd_server,
    password_auth,
    refuse_auth,
    xoauth2_auth,
)

POLISH_PASSWORD = "Źdźbło-łąki-7"


def settings_for(
    port: int, encryption: Encryption, tmp: Path, **kw: object
) -> AccountSettings:
    data: dict[str, object] = {
        "enabled": True,
        "sender": "powiadomienia@example.com",
        "display_name": "Powiadomienia",
        "host": LOOPBACK,
        "port": port,
        "encryption": encryption,
        "login": "user@example.com",
        "timeout": 3.0,
        "ca_file": str(ca_file(tmp)),
    }
    data.update(kw)
    return AccountSettings.model_validate(data)


def password(login: str, secret: str) -> Credential:
    return Credential(login, "password", lambda: secret)


def a_message(
    settings: AccountSettings,
    to: str | list[str] = "jan@example.com",
    subject: str = "Test",
    body: str = "Treść wiadomości.",
) -> EmailMessage:
    return msg.build(settings, to=to, subject=subject, body=body)


def refusal(
    tmp_path: Path,
    encryption: Encryption = Encryption.NONE,
    to: str | list[str] = "jan@example.com",
    **script: Any,
) -> tuple[DeliveryError, ScriptedSmtp]:
    """Deliver one message to ``ScriptedSmtp(**script)``; the error it must
    end in, and the (stopped) server with what it recorded. Without
    encryption no login is given; with STARTTLS user@example.com logs in."""
    with ScriptedSmtp(**script) as server:
        if encryption is Encryption.NONE:
            settings = settings_for(server.port, encryption, tmp_path, login="")
            credential = None
        else:
            settings = settings_for(server.port, encryption, tmp_path)
            credential = password("user@example.com", "pw")
        with pytest.raises(DeliveryError) as info:
            deliver(settings, credential, a_message(settings, to=to))
    return info.value, server


def sandbox_credential(box: Sandbox) -> Credential:
    return password(box.login, box.password)


def arrived(box: Sandbox, message_id: str) -> Received:
    found = [r for r in received(box.home) if r.message_id == message_id]
    assert len(found) == 1, f"{message_id} arrived {len(found)} times"
    return found[0]


# -- the four modes against both sandbox ports ------------------------------

MATRIX = [
    # mode, port kind, expected code (None: delivered), stage of the failure
    (Encryption.NONE, "starttls", Code.AUTH_UNAVAILABLE, Stage.AUTH_MECHS),
    (Encryption.NONE, "tls", Code.TLS_EXPECTED, Stage.GREETING),
    (Encryption.AUTO, "starttls", None, None),
    (Encryption.AUTO, "tls", Code.TLS_EXPECTED, Stage.GREETING),
    (Encryption.SSL, "starttls", Code.TLS_NOT_SPOKEN, Stage.TLS),
    (Encryption.SSL, "tls", None, None),
    (Encryption.STARTTLS, "starttls", None, None),
    (Encryption.STARTTLS, "tls", Code.TLS_EXPECTED, Stage.GREETING),
]


@pytest.mark.parametrize(("mode", "kind", "code", "stage"), MATRIX)
def test_mode_against_sandbox_port(
    sandbox: Sandbox,
    mode: Encryption,
    kind: str,
    code: Code | None,
    stage: Stage | None,
) -> None:
    port = sandbox.starttls_port if kind == "starttls" else sandbox.tls_port
    settings = sandbox.settings(mode).model_copy(update={"port": port, "timeout": 1.0})
    message = a_message(settings, subject=f"{mode}/{kind}")
    transcript = Transcript()
    if code is None:
        result = deliver(
            settings, sandbox_credential(sandbox), message, transcript=transcript
        )
        assert result.smtp_code == 250
        assert result.accepted == ("jan@example.com",)
        got = arrived(sandbox, result.message_id)
        assert got.port == port
        assert got.encryption in ("TLSv1.2", "TLSv1.3")
        assert got.login == sandbox.login
        return
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        deliver(settings, sandbox_credential(sandbox), message, transcript=transcript)
    assert info.value.code is code
    assert info.value.stage is stage
    assert time.monotonic() - started < settings.timeout + 1
    # Nothing secret went anywhere: no AUTH command on a failed mode.
    assert not any(
        line.startswith("AUTH") for who, line in transcript.lines if who == "C"
    )


def test_none_mode_on_starttls_port_says_auth_needs_tls(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.NONE)
    with pytest.raises(DeliveryError) as info:
        deliver(settings, sandbox_credential(sandbox), a_message(settings))
    assert "only after STARTTLS" in (info.value.detail or "")


def test_tls_info_describes_the_handshake(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.STARTTLS)
    with SmtpSession(settings, sandbox_credential(sandbox)) as session:
        tls = session.tls
        assert session.authenticated
    assert tls is not None
    assert tls.version in ("TLSv1.2", "TLSv1.3")
    assert tls.cipher
    assert "IP Address:127.0.0.1" in tls.san
    assert "DNS:localhost" in tls.san
    assert datetime.strptime(tls.not_after, "%b %d %H:%M:%S %Y %Z").year > 2000


def test_session_reused_for_a_batch_and_noop(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.SSL)
    with SmtpSession(settings, sandbox_credential(sandbox)) as session:
        ids = [
            session.send(a_message(settings, subject=f"batch {i}")).message_id
            for i in range(3)
        ]
        assert session.is_alive()
    assert not session.is_alive()  # closed
    for message_id in ids:
        assert arrived(sandbox, message_id).encryption.startswith("TLSv1.")


def test_auto_on_port_465_speaks_tls_first(tmp_path: Path) -> None:
    try:
        server = ScriptedSmtp(
            implicit_tls=server_context(),
            auth=password_auth("user@example.com", "pw"),
            port=465,
        ).start()
    except OSError:
        pytest.skip("port 465 on loopback is not available to this user")
    with server:
        settings = settings_for(465, Encryption.AUTO, tmp_path)
        deliver(settings, password("user@example.com", "pw"), a_message(settings))
        assert server.tls_versions and server.tls_versions[0].startswith("TLSv1.")
        assert len(server.messages) == 1


# -- plain text and STARTTLS policy ------------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_none_mode_sends_credentials_in_clear_when_chosen(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bpmnb.transport")
    with aiosmtpd_server(auth_require_tls=False, auth_required=True) as (ctl, rec):
        settings = settings_for(ctl.port, Encryption.NONE, tmp_path)
        result = deliver(
            settings, password("user@example.com", "secret"), a_message(settings)
        )
    assert result.accepted == ("jan@example.com",)
    assert len(rec.messages) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("without encryption" in r.getMessage() for r in warnings)
    assert "secret" not in caplog.text


def test_auto_refuses_plaintext_login_before_sending_it(tmp_path: Path) -> None:
    with ScriptedSmtp(auth=password_auth("user@example.com", "pw")) as server:
        settings = settings_for(server.port, Encryption.AUTO, tmp_path)
        with pytest.raises(DeliveryError) as info:
            deliver(settings, password("user@example.com", "pw"), a_message(settings))
    assert info.value.code is Code.PLAINTEXT_REFUSED
    assert "AUTH" not in server.commands
    assert "MAIL" not in server.commands
    assert server.auth_seen == []


def test_auto_without_credentials_delivers_in_clear(tmp_path: Path) -> None:
    with ScriptedSmtp() as server:
        settings = settings_for(server.port, Encryption.AUTO, tmp_path, login="")
        result = deliver(settings, None, a_message(settings))
    assert result.smtp_code == 250
    assert server.envelopes == [
        ("FROM:<powiadomienia@example.com>", ["jan@example.com"])
    ]
    assert server.tls_versions == []


def test_auto_uses_starttls_when_offered(tmp_path: Path) -> None:
    with ScriptedSmtp(
        starttls=server_context(), auth=password_auth("user@example.com", "pw")
    ) as server:
        settings = settings_for(server.port, Encryption.AUTO, tmp_path)
        deliver(settings, password("user@example.com", "pw"), a_message(settings))
    assert server.tls_versions and server.tls_versions[0].startswith("TLSv1.")
    assert server.commands.index("STARTTLS") < server.commands.index("AUTH")
    # RFC 3207: EHLO again after TLS.
    assert server.commands.count("EHLO") == 2


def test_starttls_mode_needs_starttls(tmp_path: Path) -> None:
    error, server = refusal(
        tmp_path, Encryption.STARTTLS, auth=password_auth("user@example.com", "pw")
    )
    assert error.code is Code.STARTTLS_UNAVAILABLE
    assert error.stage is Stage.EHLO
    assert "AUTH" not in server.commands


def test_starttls_refused_with_454_is_temporary(tmp_path: Path) -> None:
    error, _ = refusal(
        tmp_path,
        Encryption.STARTTLS,
        starttls=server_context(),
        replies={"STARTTLS": "454 4.7.0 TLS not available due to temporary reason"},
    )
    assert error.code is Code.TEMPORARY_FAILURE
    assert error.smtp_code == 454
    assert error.temporary


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_tls_below_1_2_is_refused(tmp_path: Path) -> None:
    old = server_context()
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with ScriptedSmtp(implicit_tls=old) as server:
        settings = settings_for(server.port, Encryption.SSL, tmp_path)
        with pytest.raises(SmtpConnectError) as info:
            deliver(settings, None, a_message(settings))
    assert info.value.code is Code.TLS_FAILED
    assert info.value.stage is Stage.TLS


def test_ssl_context_is_strict(tmp_path: Path) -> None:
    context = ssl_context(settings_for(25, Encryption.SSL, tmp_path))
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_missing_ca_file_is_a_settings_error(tmp_path: Path) -> None:
    settings = settings_for(
        25, Encryption.SSL, tmp_path, ca_file=str(tmp_path / "none.pem")
    )
    with pytest.raises(DeliveryError) as info:
        ssl_context(settings)
    assert info.value.code is Code.INVALID_SETTINGS


# -- certificates -------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "code"),
    [
        (lambda: server_context(authority=stranger_ca()), Code.CERT_UNTRUSTED),
        (lambda: server_context("mail.other.example.com"), Code.CERT_NAME_MISMATCH),
        (
            lambda: server_context(
                LOOPBACK,
                not_before=datetime.now(UTC) - timedelta(days=30),
                not_after=datetime.now(UTC) - timedelta(days=1),
            ),
            Code.CERT_EXPIRED,
        ),
    ],
    ids=["untrusted", "name-mismatch", "expired"],
)
@pytest.mark.parametrize("mode", [Encryption.SSL, Encryption.STARTTLS])
def test_certificate_faults(
    tmp_path: Path, context: Callable[[], ssl.SSLContext], code: Code, mode: Encryption
) -> None:
    implicit = mode is Encryption.SSL
    with ScriptedSmtp(
        auth=password_auth("user@example.com", "pw"),
        implicit_tls=context() if implicit else None,
        starttls=None if implicit else context(),
    ) as server:
        settings = settings_for(server.port, mode, tmp_path)
        with pytest.raises(SmtpConnectError) as info:
            deliver(settings, password("user@example.com", "pw"), a_message(settings))
    assert info.value.code is code
    assert info.value.stage is Stage.TLS
    assert server.auth_seen == []


def test_sandbox_ca_is_not_trusted_without_ca_file(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.SSL).model_copy(update={"ca_file": None})
    with pytest.raises(SmtpConnectError) as info:
        deliver(settings, sandbox_credential(sandbox), a_message(settings))
    assert info.value.code is Code.CERT_UNTRUSTED


# -- connection faults, all bounded by the timeout ---------------------------


def test_connection_refused(tmp_path: Path) -> None:
    settings = settings_for(free_port(), Encryption.STARTTLS, tmp_path)
    with pytest.raises(SmtpConnectError) as info:
        deliver(settings, None, a_message(settings))
    assert info.value.code is Code.CONNECT_REFUSED
    assert info.value.stage is Stage.CONNECT
    assert info.value.temporary


def test_connect_timeout(tmp_path: Path) -> None:
    """A listener whose backlog is full drops new SYNs (Linux), which looks
    to the client exactly like a firewall that swallows packets."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection((LOOPBACK, port), timeout=1)
    try:
        settings = settings_for(port, Encryption.SSL, tmp_path, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(SmtpTimeout) as info:
            deliver(settings, None, a_message(settings))
        elapsed = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert info.value.code is Code.CONNECT_TIMEOUT
    assert info.value.stage is Stage.CONNECT
    assert info.value.temporary
    assert elapsed < settings.timeout + 1


@pytest.mark.parametrize("mode", list(Encryption))
def test_silent_server_is_bounded_by_the_timeout(
    tmp_path: Path, mode: Encryption
) -> None:
    with ScriptedSmtp(greeting=None) as server:
        settings = settings_for(server.port, mode, tmp_path, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(SmtpTimeout) as info:
            deliver(settings, password("user@example.com", "pw"), a_message(settings))
        elapsed = time.monotonic() - started
    assert isinstance(info.value, TimeoutError)
    assert info.value.code is Code.NO_GREETING
    assert elapsed < settings.timeout + 1
    assert server.connections >= 1


def test_server_busy_at_greeting(tmp_path: Path) -> None:
    error, _ = refusal(tmp_path, greeting="421 4.3.2 Service not available, try later")
    assert error.code is Code.SERVER_BUSY
    assert error.smtp_code == 421
    assert error.temporary
    assert "try later" in (error.smtp_reply or "")


def test_server_hangs_up_mid_conversation(tmp_path: Path) -> None:
    with ScriptedSmtp(replies={"MAIL": "<drop>"}) as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        with pytest.raises(SmtpConnectError) as info:
            deliver(settings, None, a_message(settings))
    assert info.value.code is Code.CONNECTION_DROPPED
    assert info.value.stage is Stage.MAIL_FROM
    assert info.value.temporary


def test_server_stops_answering_after_data(tmp_path: Path) -> None:
    with ScriptedSmtp(replies={"DATA_END": "<hang>"}) as server:
        settings = settings_for(
            server.port, Encryption.NONE, tmp_path, login="", timeout=1.0
        )
        started = time.monotonic()
        with pytest.raises(SmtpTimeout) as info:
            deliver(settings, None, a_message(settings))
    assert info.value.stage is Stage.DATA
    assert time.monotonic() - started < settings.timeout + 1


def test_is_alive_false_after_server_hangs_up(tmp_path: Path) -> None:
    with ScriptedSmtp(replies={"NOOP": "<drop>"}) as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        session = SmtpSession(settings, None)
        session.open()
        assert not session.is_alive()
        session.close()


def test_unknown_host_is_a_dns_failure(tmp_path: Path) -> None:
    settings = settings_for(25, Encryption.SSL, tmp_path, host="nonexistent.invalid")
    with pytest.raises(SmtpConnectError) as info:
        deliver(settings, None, a_message(settings))
    assert info.value.code is Code.DNS_FAILED


# -- AUTH ---------------------------------------------------------------------


def test_wrong_password_on_sandbox(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.STARTTLS)
    with pytest.raises(DeliveryError) as info:
        deliver(
            settings, password(sandbox.login, "not-the-password"), a_message(settings)
        )
    assert info.value.code is Code.AUTH_FAILED
    assert info.value.stage is Stage.AUTH
    assert info.value.smtp_code == 535
    assert not info.value.temporary
    assert "not-the-password" not in str(info.value)


def test_no_login_on_sandbox_is_refused_at_mail_from(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.STARTTLS)
    with pytest.raises(DeliveryError) as info:
        deliver(settings, None, a_message(settings))
    # Nobody signed in: not a wrong password, a missing login.
    assert info.value.code is Code.AUTH_REQUIRED
    assert info.value.stage is Stage.MAIL_FROM
    assert info.value.smtp_code == 530


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_polish_password_with_aiosmtpd(tmp_path: Path, mechanism: str) -> None:
    other = "LOGIN" if mechanism == "PLAIN" else "PLAIN"
    with aiosmtpd_server(
        login="użytkownik@example.com",
        password=POLISH_PASSWORD,
        tls_context=server_context(),
        require_starttls=True,
        auth_required=True,
        auth_exclude_mechanism=[other],
    ) as (ctl, rec):
        settings = settings_for(ctl.port, Encryption.STARTTLS, tmp_path)
        transcript = Transcript()
        deliver(
            settings,
            password("użytkownik@example.com", POLISH_PASSWORD),
            a_message(settings),
            transcript=transcript,
        )
    assert len(rec.messages) == 1
    assert f"C: AUTH {mechanism}" in transcript.text()


@pytest.mark.parametrize("offered", ["PLAIN LOGIN", "LOGIN"])
def test_polish_password_bytes_on_the_wire(tmp_path: Path, offered: str) -> None:
    with ScriptedSmtp(
        starttls=server_context(),
        auth=password_auth("jan@example.com", POLISH_PASSWORD),
        auth_mechanisms=offered,
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        deliver(
            settings, password("jan@example.com", POLISH_PASSWORD), a_message(settings)
        )
    mechanism, login, secret = server.auth_seen[0]
    assert mechanism == offered.split()[0]  # PLAIN preferred
    assert secret == POLISH_PASSWORD.encode("utf-8")
    assert login == b"jan@example.com"


def test_no_auth_offered_with_credential(tmp_path: Path) -> None:
    error, server = refusal(tmp_path, Encryption.STARTTLS, starttls=server_context())
    assert error.code is Code.AUTH_UNAVAILABLE
    assert "MAIL" not in server.commands


def test_no_common_mechanism(tmp_path: Path) -> None:
    error, _ = refusal(
        tmp_path,
        Encryption.STARTTLS,
        starttls=server_context(),
        auth=password_auth("user@example.com", "pw"),
        auth_mechanisms="CRAM-MD5",
    )
    assert error.code is Code.AUTH_UNAVAILABLE
    assert "CRAM-MD5" in (error.detail or "")


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (
            (
                "534-5.7.9 Application-specific password required. Learn more at",
                "534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
            ),
            Code.APP_PASSWORD_REQUIRED,
        ),
        (
            (
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                "is disabled for the Tenant.",
            ),
            Code.AUTH_DISABLED,
        ),
        (
            (
                "535 5.7.3 Authentication unsuccessful, basic authentication is "
                "disabled.",
            ),
            Code.AUTH_DISABLED,
        ),
        (("535 5.7.3 Authentication unsuccessful",), Code.AUTH_FAILED),
        (
            (
                "535 5.7.139 Authentication unsuccessful, the user credentials "
                "were incorrect.",
            ),
            Code.AUTH_FAILED,
        ),
        (("454 4.7.0 Temporary authentication failure",), Code.TEMPORARY_FAILURE),
    ],
    ids=[
        "gmail-534",
        "m365-5.7.139",
        "m365-basic-disabled",
        "m365-535",
        "m365-5.7.139-wrong-password",
        "454",
    ],
)
def test_provider_auth_replies(
    tmp_path: Path, reply: tuple[str, ...], code: Code
) -> None:
    error, server = refusal(
        tmp_path,
        Encryption.STARTTLS,
        starttls=server_context(),
        auth=refuse_auth(*reply),
    )
    assert error.code is code
    assert error.stage is Stage.AUTH
    assert error.smtp_code == int(reply[-1][:3])
    assert error.temporary is (code is Code.TEMPORARY_FAILURE)
    assert "MAIL" not in server.commands


def test_xoauth2_exchange_format(tmp_path: Path) -> None:
    token = "ya29.a0-Token_with.dots"
    with ScriptedSmtp(
        starttls=server_context(),
        auth=xoauth2_auth(token),
        auth_mechanisms="PLAIN XOAUTH2",
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        credential = Credential("jan@example.com", "xoauth2", lambda: token)
        deliver(settings, credential, a_message(settings))
    mechanism, payload, _ = server.auth_seen[0]
    assert mechanism == "XOAUTH2"
    assert payload == f"user=jan@example.com\x01auth=Bearer {token}\x01\x01".encode()
    assert len(server.messages) == 1


def test_xoauth2_rejected_token(tmp_path: Path) -> None:
    with ScriptedSmtp(
        starttls=server_context(), auth=xoauth2_auth("good"), auth_mechanisms="XOAUTH2"
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        credential = Credential("jan@example.com", "xoauth2", lambda: "expired-token")
        transcript = Transcript()
        with pytest.raises(DeliveryError) as info:
            deliver(settings, credential, a_message(settings), transcript=transcript)
    assert info.value.code is Code.TOKEN_INVALID
    assert info.value.smtp_code == 535
    assert "401" in (info.value.detail or "")
    # The client answered the error challenge with an empty line.
    assert server.after_challenge == [""]
    assert "expired-token" not in transcript.text()


def test_xoauth2_not_offered(tmp_path: Path) -> None:
    with ScriptedSmtp(starttls=server_context(), auth=xoauth2_auth("t")) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        with pytest.raises(DeliveryError) as info:
            deliver(
                settings,
                Credential("a@example.com", "xoauth2", lambda: "t"),
                a_message(settings),
            )
    assert info.value.code is Code.AUTH_UNAVAILABLE
    assert server.auth_seen == []


def test_token_fetched_only_when_auth_runs(tmp_path: Path) -> None:
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return "t"

    with ScriptedSmtp(auth=xoauth2_auth("t"), auth_mechanisms="XOAUTH2") as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        with pytest.raises(DeliveryError):
            deliver(
                settings,
                Credential("a@example.com", "xoauth2", token),
                a_message(settings),
            )
    assert calls == []


# -- masking ------------------------------------------------------------------


def _secret_forms(login: str, secret: str) -> list[str]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return [
        secret,
        b64(secret),
        b64(f"\0{login}\0{secret}"),
        b64(f"user={login}\x01auth=Bearer {secret}\x01\x01"),
    ]


@pytest.mark.parametrize("offered", ["PLAIN", "LOGIN", "XOAUTH2"])
def test_transcript_and_logs_never_hold_the_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, offered: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="bpmnb")
    login, secret = "jan@example.com", POLISH_PASSWORD
    auth = (
        xoauth2_auth(secret) if offered == "XOAUTH2" else password_auth(login, secret)
    )
    with ScriptedSmtp(
        starttls=server_context(), auth=auth, auth_mechanisms=offered
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        mechanism = "xoauth2" if offered == "XOAUTH2" else "password"
        transcript = Transcript()
        body = "Tajna treść, której nie ma w zapisie rozmowy."
        deliver(
            settings,
            Credential(login, mechanism, lambda: secret),  # type: ignore[arg-type]
            a_message(settings, body=body),
            transcript=transcript,
        )
    text = transcript.text()
    assert f"C: AUTH {offered}" in text
    assert "***" in text
    assert "(message content," in text
    assert "C: MAIL FROM:<powiadomienia@example.com>" in text
    assert "C: EHLO [127.0.0.1]" in text
    assert "S: 250" in text
    for form in _secret_forms(login, secret):
        assert form not in text
        assert form not in caplog.text
    if offered == "LOGIN":
        assert base64.b64encode(login.encode()).decode() not in text
    assert "Tajna" not in text
    # The transcript is logged at DEBUG, masked.
    assert f"C: AUTH {offered}" in caplog.text
    assert "***" in caplog.text
    assert any(
        r.levelno == logging.INFO and "delivered" in r.getMessage()
        for r in caplog.records
    )


# -- the mail transaction ----------------------------------------------------


def test_sender_rejected(tmp_path: Path) -> None:
    error, server = refusal(
        tmp_path,
        replies={"MAIL": "550 5.7.1 Sender address rejected: not owned by user"},
    )
    assert error.code is Code.SENDER_REJECTED
    assert error.stage is Stage.MAIL_FROM
    assert "not owned" in (error.smtp_reply or "")
    assert "RSET" in server.commands


def test_sender_temporarily_refused(tmp_path: Path) -> None:
    error, _ = refusal(tmp_path, replies={"MAIL": "451 4.7.1 Greylisted, try again"})
    assert error.code is Code.TEMPORARY_FAILURE
    assert error.temporary


def test_all_recipients_refused(tmp_path: Path) -> None:
    # Without PIPELINING (lock-step): DATA is never sent. The pipelined
    # counterpart is in tests/test_pipelining.py.
    error, server = refusal(
        tmp_path,
        extensions=("8BITMIME",),
        replies={"RCPT": "550 5.1.1 User unknown"},
        to="a@example.com, b@example.com",
    )
    assert error.code is Code.RECIPIENT_REJECTED
    assert error.stage is Stage.RCPT_TO
    refused = error.refused  # type: ignore[attr-defined]
    assert set(refused) == {"a@example.com", "b@example.com"}
    assert refused["a@example.com"][0] == 550
    assert "DATA" not in server.commands


def test_some_recipients_refused(tmp_path: Path) -> None:
    with ScriptedSmtp(rcpt={"b@example.com": "550 5.1.1 User unknown"}) as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        result = deliver(
            settings, None, a_message(settings, to=["a@example.com", "b@example.com"])
        )
    assert result.accepted == ("a@example.com",)
    assert result.refused == {"b@example.com": (550, "5.1.1 User unknown")}
    assert server.envelopes[0][1] == ["a@example.com"]


def test_message_rejected_after_data(tmp_path: Path) -> None:
    error, server = refusal(
        tmp_path, replies={"DATA_END": "554 5.7.1 Message rejected as spam"}
    )
    assert error.code is Code.MESSAGE_REJECTED
    assert error.stage is Stage.DATA
    assert error.smtp_code == 554
    assert len(server.messages) == 1


def test_data_temporarily_refused(tmp_path: Path) -> None:
    with ScriptedSmtp(replies={"DATA_END": "452 4.3.1 Insufficient system storage"}):
        pass
    error, _ = refusal(
        tmp_path, replies={"DATA_END": "452 4.3.1 Insufficient system storage"}
    )
    assert error.code is Code.TEMPORARY_FAILURE
    assert error.temporary


def test_bcc_is_an_envelope_recipient_only(sandbox: Sandbox) -> None:
    settings = sandbox.settings()
    message = a_message(settings)
    message["Bcc"] = "ukryty@example.com"
    result = deliver(settings, sandbox_credential(sandbox), message)
    got = arrived(sandbox, result.message_id)
    assert set(got.recipients) == {"jan@example.com", "ukryty@example.com"}
    assert b"ukryty" not in got.raw
    assert "Bcc" in message  # the caller's message is left alone


def test_leading_dots_survive(sandbox: Sandbox) -> None:
    settings = sandbox.settings()
    body = ".\n..dwie kropki\n.kropka na początku\nkoniec"
    result = deliver(
        settings, sandbox_credential(sandbox), a_message(settings, body=body)
    )
    got = arrived(sandbox, result.message_id)
    part = got.message.get_body(("plain",))
    assert part is not None
    assert part.get_content().replace("\r\n", "\n").rstrip("\n") == body


def test_idn_domain_goes_out_as_a_labels(sandbox: Sandbox) -> None:
    settings = sandbox.settings()
    result = deliver(
        settings,
        sandbox_credential(sandbox),
        a_message(settings, to="jan@przykład.example.com"),
    )
    got = arrived(sandbox, result.message_id)
    assert got.recipients == ("jan@xn--przykad-rjb.example.com",)
    parsed = BytesParser(policy=policy.default).parsebytes(got.raw)
    assert parsed["To"].addresses[0].domain == "xn--przykad-rjb.example.com"


def test_non_ascii_local_part_uses_smtputf8(sandbox: Sandbox) -> None:
    settings = sandbox.settings()
    result = deliver(
        settings,
        sandbox_credential(sandbox),
        a_message(settings, to="użytkownik@example.com"),
    )
    got = arrived(sandbox, result.message_id)
    assert got.recipients == ("użytkownik@example.com",)
    assert "użytkownik@example.com" in got.raw.decode("utf-8")


def test_non_ascii_local_part_needs_smtputf8(tmp_path: Path) -> None:
    error, server = refusal(tmp_path, to="użytkownik@example.com")
    assert error.code is Code.RECIPIENT_REJECTED
    assert "SMTPUTF8" in (error.detail or "")
    assert "MAIL" not in server.commands


def test_envelope_address_idna() -> None:
    assert (
        envelope_address("jan@przykład.example.com")
        == "jan@xn--przykad-rjb.example.com"
    )
    assert envelope_address("jan@example.com") == "jan@example.com"
    assert envelope_address("żaba@example.com") == "żaba@example.com"


def test_delivery_logs_one_info_line(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bpmnb.transport")
    settings = sandbox.settings()
    deliver(settings, sandbox_credential(sandbox), a_message(settings))
    infos = [
        r
        for r in caplog.records
        if r.name == "bpmnb.transport" and r.levelno == logging.INFO
    ]
    assert len(infos) == 1
    assert sandbox.password not in caplog.text


def test_a_real_socket_is_used(sandbox: Sandbox) -> None:
    """Guard: the sandbox really listens on loopback (no in-process shortcut)."""
    with socket.create_connection((LOOPBACK, sandbox.starttls_port), timeout=2) as sock:
        assert sock.recv(4).startswith(b"220")
    assert ca() is not stranger_ca()


def test_plain_asked_again_after_initial_response(tmp_path: Path) -> None:
    with ScriptedSmtp(
        starttls=server_context(),
        auth=password_auth("jan@example.com", POLISH_PASSWORD, ignore_initial=True),
        auth_mechanisms="PLAIN",
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        transcript = Transcript()
        deliver(
            settings,
            password("jan@example.com", POLISH_PASSWORD),
            a_message(settings),
            transcript=transcript,
        )
    assert server.auth_seen[0][2] == POLISH_PASSWORD.encode()
    assert "C: ***" in transcript.text()
    assert POLISH_PASSWORD not in transcript.text()


def test_token_provider_errors_pass_through(tmp_path: Path) -> None:
    def broken() -> str:
        raise BpmnbError(Code.TOKEN_INVALID, detail="AADSTS7000215: invalid secret")

    with ScriptedSmtp(
        starttls=server_context(), auth=xoauth2_auth("t"), auth_mechanisms="XOAUTH2"
    ) as server:
        settings = settings_for(server.port, Encryption.STARTTLS, tmp_path)
        session = SmtpSession(settings, Credential("a@example.com", "xoauth2", broken))
        with pytest.raises(BpmnbError) as info:
            session.open()
        assert not session.is_alive()
    assert info.value.code is Code.TOKEN_INVALID
    assert "AUTH" not in server.commands


def test_size_limit_announced_by_the_server(tmp_path: Path) -> None:
    with ScriptedSmtp(extensions=("SIZE 400",)) as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        with pytest.raises(DeliveryError) as info:
            deliver(settings, None, a_message(settings, body="x" * 1000))
        small = deliver(settings, None, a_message(settings, body="x"))
    assert info.value.code is Code.MESSAGE_TOO_LARGE
    assert "SIZE 400" in (info.value.detail or "")
    assert "SIZE" in info.value.message("pl") and "SIZE" in info.value.message("en")
    assert server.commands.count("MAIL") == 1  # only the small one was tried
    assert small.smtp_code == 250
    assert any("SIZE=" in line for line in server.lines if line.startswith("MAIL"))


def test_size_refused_at_mail_from(tmp_path: Path) -> None:
    error, _ = refusal(
        tmp_path,
        extensions=("SIZE",),
        replies={"MAIL": "552 5.3.4 Message size exceeds fixed maximum message size"},
    )
    assert error.code is Code.MESSAGE_REJECTED
    assert error.stage is Stage.MAIL_FROM
    assert error.smtp_code == 552


def test_auto_in_clear_without_login_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bpmnb.transport")
    with ScriptedSmtp() as server:
        settings = settings_for(server.port, Encryption.AUTO, tmp_path, login="")
        deliver(settings, None, a_message(settings))
    assert any("unencrypted" in r.getMessage() for r in caplog.records)


def test_failed_open_logs_one_info_line(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bpmnb.transport")
    settings = sandbox.settings()
    with pytest.raises(DeliveryError):
        deliver(settings, password(sandbox.login, "zle-haslo"), a_message(settings))
    infos = [
        r.getMessage()
        for r in caplog.records
        if r.name == "bpmnb.transport" and r.levelno == logging.INFO
    ]
    assert len(infos) == 1
    assert "AUTH_FAILED" in infos[0]
    assert "zle-haslo" not in caplog.text


def test_invalid_idn_domain_refused_before_mail(tmp_path: Path) -> None:

    with ScriptedSmtp() as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        built = EmailMessage()
        built["From"] = "a@example.com"
        built["To"] = "jan@przykład..example.com"
        built.set_content("x")
        with pytest.raises(DeliveryError) as info:
            deliver(settings, None, built)
    assert info.value.code is Code.RECIPIENT_REJECTED
    assert "MAIL" not in server.commands


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_mixed_refusals_are_temporary_whatever_the_order(
    tmp_path: Path, order: tuple[str, str]
) -> None:
    # a@ is refused for now (451), b@ for good (550); a retry can reach a@,
    # so the failure is temporary in either order, and the detail keeps both.
    rcpt = {
        "a@example.com": "451 4.2.1 Mailbox busy",
        "b@example.com": "550 5.1.1 User unknown",
    }
    with ScriptedSmtp(rcpt=rcpt) as server:
        settings = settings_for(server.port, Encryption.NONE, tmp_path, login="")
        to = [f"{name}@example.com" for name in order]
        with pytest.raises(DeliveryError) as info:
            deliver(settings, None, a_message(settings, to=to))
    assert info.value.code is Code.TEMPORARY_FAILURE and info.value.temporary
    assert info.value.smtp_code == 451
    assert "550" in (info.value.detail or "") and "451" in (info.value.detail or "")
