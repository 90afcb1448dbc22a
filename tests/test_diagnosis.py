"""The check against a matrix of misbehaving servers on loopback.

Each case asserts the code, the stage and how fast the verdict came: every
fault within 3 s, silence bounded by the timeout the settings give.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpmnb import diagnosis
from bpmnb.errors import Code, Stage
from bpmnb.settings import AccountSettings, Encryption
from bpmnb.transport import Transcript
from tests.support import faultservers as fs
from tests.support.net import ca_file, server_context

CASES = fs.matrix()
CLI = "import sys; from bpmnb.cli import main; sys.exit(main())"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca_file(tmp_path_factory.mktemp("ca"))


def _run(
    case: fs.Case, ca: Path, transcript: Transcript | None = None
) -> tuple[diagnosis.CheckReport, float, fs.FaultServer | None]:
    with fs.running(case) as (port, server):
        settings = fs.settings_for(case, port, ca)
        started = time.monotonic()
        report = diagnosis.check(
            settings,
            fs.credential(case.credential),
            rcpt=case.rcpt,
            send=case.send,
            transcript=transcript,
        )
        return report, time.monotonic() - started, server


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matrix(case: fs.Case, ca: Path) -> None:
    if case.special == "dns":
        started = time.monotonic()
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo(case.host, 25)
        assert time.monotonic() - started < 2, "resolver is slow for .invalid"
    try:
        report, elapsed, _ = _run(case, ca)
    except RuntimeError as exc:  # filled_backlog: kernel did not cooperate
        pytest.skip(f"no kernel connect timeout on loopback here: {exc}")
    assert report.code is case.code, (report.code, report.stage, report.detail)
    if case.code is Code.OK:
        assert report.ok and report.stage is None
        assert all(s.ok for s in report.stages)
        assert report.stages[-1].name == "quit"
    else:
        assert not report.ok
        assert report.stage is case.stage
        failed = [s for s in report.stages if not s.ok]
        assert [s.name for s in failed] == [str(case.stage)]
    if case.code in (Code.NO_GREETING, Code.CONNECT_TIMEOUT):
        # Bounded by the settings' timeout, not by any server's.
        assert case.timeout - 0.2 < elapsed < case.timeout + 1.0
    else:
        assert elapsed < case.bound, f"{case.name} took {elapsed:.2f} s"


def test_implicit_tls_port_named_long_before_the_timeout(ca: Path) -> None:
    """Plain SMTP to a 465-style port: named TLS_EXPECTED, not a 60 s wait."""
    case = fs.Case(
        Code.TLS_EXPECTED,
        Stage.GREETING,
        fs.Behaviour(implicit_tls=server_context()),
        timeout=60.0,
    )
    report, elapsed, _ = _run(case, ca)
    assert report.code is Code.TLS_EXPECTED
    assert elapsed < 3


def test_silent_port_with_ssl_is_bounded(ca: Path) -> None:
    case = fs.Case(
        Code.NO_GREETING,
        Stage.TLS,
        fs.Behaviour(greeting=None),
        encryption=Encryption.SSL,
        timeout=1.5,
    )
    report, elapsed, _ = _run(case, ca)
    assert (report.code, report.stage) == (Code.NO_GREETING, Stage.TLS)
    assert elapsed < 2.5


def test_old_tls_over_starttls_is_tls_failed(ca: Path) -> None:
    case = fs.Case(
        Code.TLS_FAILED, Stage.TLS, fs.Behaviour(starttls=fs.old_tls_context())
    )
    report, elapsed, _ = _run(case, ca)
    assert (report.code, report.stage) == (Code.TLS_FAILED, Stage.TLS)
    assert "TLSv1" in (report.detail or "")
    assert elapsed < 3


def test_server_refusing_plaintext_auth(ca: Path) -> None:
    """A 530 "must issue STARTTLS first" at AUTH (user chose none)."""
    case = fs.Case(
        Code.PLAINTEXT_REFUSED,
        Stage.AUTH,
        fs.Behaviour(auth_reply="530 5.7.0 Must issue a STARTTLS command first"),
        encryption=Encryption.NONE,
    )
    report, _, _ = _run(case, ca)
    assert (report.code, report.stage) == (Code.PLAINTEXT_REFUSED, Stage.AUTH)


def test_no_credentials_leave_unencrypted(ca: Path) -> None:
    case = next(c for c in CASES if c.code is Code.PLAINTEXT_REFUSED)
    report, _, server = _run(case, ca)
    assert report.code is Code.PLAINTEXT_REFUSED
    assert server is not None
    assert not any(c.startswith("AUTH") for c in server.seen.commands)
    assert server.seen.auth_payloads == []


def test_ok_reports_tls_and_mechanisms(ca: Path) -> None:
    report, _, _ = _run(CASES[0], ca)
    assert report.ok
    names = [s.name for s in report.stages]
    assert names == [
        "dns",
        "connect",
        "greeting",
        "ehlo",
        "tls",
        "ehlo_tls",
        "auth_mechs",
        "auth",
        "mail_from",
        "rcpt_to",
        "quit",
    ]
    assert report.tls is not None
    assert report.tls.version in ("TLSv1.2", "TLSv1.3")
    assert report.tls.cipher
    assert report.tls.issuer
    assert "IP Address:127.0.0.1" in report.tls.san
    assert report.auth_mechs == ("PLAIN", "LOGIN")
    tls_stage = next(s for s in report.stages if s.name == "tls")
    assert "name check ok" in tls_stage.detail


def test_send_delivers_a_message(ca: Path) -> None:
    case = next(c for c in CASES if c.code is Code.OK and c.send)
    report, _, server = _run(case, ca)
    assert report.ok
    assert "data" in [s.name for s in report.stages]
    assert server is not None and len(server.seen.messages) == 1
    assert b"bpmnb" in server.seen.messages[0]


def test_xoauth2_uses_the_transport_sasl_format(ca: Path) -> None:
    case = next(c for c in CASES if c.code is Code.OK and c.credential == "xoauth2")
    report, _, server = _run(case, ca)
    assert report.ok
    assert server is not None
    sent = base64.b64decode(server.seen.auth_payloads[0]).decode()
    assert sent == f"user={fs.LOGIN}\x01auth=Bearer {fs.TOKEN}\x01\x01"


@pytest.mark.parametrize("mechs", [("PLAIN",), ("LOGIN",), ("XOAUTH2",)])
def test_transcript_masks_secrets(ca: Path, mechs: tuple[str, ...]) -> None:
    kind = "xoauth2" if mechs == ("XOAUTH2",) else "password"
    case = fs.Case(
        Code.OK,
        Stage.QUIT,
        fs.Behaviour(starttls=server_context(), auth=mechs),
        credential=kind,
    )
    transcript = Transcript()
    report, _, server = _run(case, ca, transcript)
    assert report.ok
    assert server is not None and server.seen.auth_payloads  # the secret was sent
    dump = transcript.text()
    assert "AUTH" in dump
    for secret in (fs.PASSWORD, fs.TOKEN):
        assert secret not in dump
        assert base64.b64encode(secret.encode()).decode() not in dump
    for payload in server.seen.auth_payloads:
        assert payload not in dump
    assert diagnosis.MASK in dump


def test_failed_auth_report_carries_no_secret(ca: Path) -> None:
    case = next(c for c in CASES if c.code is Code.AUTH_FAILED)
    report, _, _ = _run(case, ca)
    blob = json.dumps(report.as_json("en")) + repr(report) + str(report.error())
    assert fs.PASSWORD not in blob


def test_as_json_shape(ca: Path) -> None:
    case = next(c for c in CASES if c.code is Code.AUTH_FAILED)
    report, _, _ = _run(case, ca)
    data = report.as_json("pl")
    for key in ("ok", "code", "stage", "message", "hint", "stages", "tls"):
        assert key in data
    assert data["ok"] is False
    assert data["code"] == "AUTH_FAILED"
    assert data["stage"] == "auth"
    assert data["message"] == "Serwer odrzucił login lub hasło."
    assert isinstance(data["hint"], str) and data["hint"]
    stages = data["stages"]
    assert isinstance(stages, list)
    assert all(set(s) == {"name", "ok", "ms", "detail"} for s in stages)
    assert isinstance(data["tls"], dict) and data["tls"]["version"]
    assert (
        report.as_json("en")["message"] == "The server rejected the login or password."
    )


def test_empty_host_is_invalid_settings() -> None:
    report = diagnosis.check(AccountSettings(), None)
    assert (report.code, report.stage) == (Code.INVALID_SETTINGS, Stage.SETTINGS)


def test_auth_reply_classification() -> None:
    c = diagnosis.classify_auth_reply
    assert c(534, "5.7.9 Application-specific password required", "PLAIN") is (
        Code.APP_PASSWORD_REQUIRED
    )
    assert c(535, "5.7.139 Authentication unsuccessful, basic authentication is "
             "disabled", "LOGIN") is Code.AUTH_DISABLED  # fmt: skip
    assert c(535, "5.7.3 Authentication unsuccessful", "XOAUTH2") is Code.TOKEN_INVALID
    assert c(454, "4.7.0 Temporary authentication failure", "PLAIN") is (
        Code.TEMPORARY_FAILURE
    )
    assert c(504, "5.5.4 Unrecognized authentication type", "PLAIN") is (
        Code.AUTH_UNAVAILABLE
    )


# --- the command line, as a real subprocess --------------------------------


def _cli(
    home: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BPMNB_PASSWORD"}
    env["BPMNB_HOME"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return subprocess.run(
        [sys.executable, "-c", CLI, "--home", str(home), "--lang", "en", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def _cli_args(port: int, ca: Path, encryption: str = "starttls") -> list[str]:
    return [
        "check",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--encryption",
        encryption,
        "--login",
        fs.LOGIN,
        "--sender",
        fs.SENDER,
        "--timeout",
        "3",
        "--ca-file",
        str(ca),
        "--password-stdin",
    ]


def test_cli_check_ok_json(tmp_path: Path, ca: Path) -> None:
    with fs.FaultServer(fs.Behaviour(starttls=server_context())) as server:
        out = _cli(
            tmp_path,
            *_cli_args(server.port, ca),
            "--to",
            fs.RCPT,
            "--json",
            stdin=fs.PASSWORD + "\n",
        )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ok"] is True and data["code"] == "OK"
    assert data["tls"]["version"]
    assert [s["name"] for s in data["stages"]][-2:] == ["rcpt_to", "quit"]


def test_cli_check_failure_and_transcript(tmp_path: Path, ca: Path) -> None:
    behaviour = fs.Behaviour(
        starttls=server_context(),
        auth=("LOGIN",),
        auth_reply="535 5.7.8 Username and Password not accepted",
    )
    saved = tmp_path / "transcript.txt"
    with fs.FaultServer(behaviour) as server:
        out = _cli(
            tmp_path,
            *_cli_args(server.port, ca),
            "--transcript",
            str(saved),
            stdin=fs.PASSWORD + "\n",
        )
    assert out.returncode == 1, out.stderr
    assert "AUTH_FAILED" in out.stdout
    assert "The server rejected the login or password." in out.stdout
    written = saved.read_text(encoding="utf-8")
    assert "AUTH LOGIN" in written and "535 5.7.8" in written
    assert fs.PASSWORD not in written + out.stdout + out.stderr
    assert base64.b64encode(fs.PASSWORD.encode()).decode() not in written


def test_cli_check_invalid_settings(tmp_path: Path, ca: Path) -> None:
    out = _cli(
        tmp_path,
        "check",
        "--host",
        "127.0.0.1",
        "--port",
        "2525",
        "--sender",
        "not an address",
        "--json",
    )
    assert out.returncode == 2, (out.stdout, out.stderr)
    data = json.loads(out.stdout)
    assert data["code"] == "INVALID_SETTINGS"
    assert any(f["field"] == "sender" for f in data["findings"])


@pytest.mark.parametrize(
    "code", [Code.CERT_EXPIRED, Code.CERT_NAME_MISMATCH, Code.CERT_UNTRUSTED]
)
def test_refused_certificate_is_described(ca: Path, code: Code) -> None:
    case = next(c for c in CASES if c.code is code)
    report, _, _ = _run(case, ca)
    assert report.tls is not None and not report.tls_verified
    tls = report.as_json("en")["tls"]
    assert isinstance(tls, dict)
    assert tls["verified"] is False
    assert tls["name_ok"] is (code is not Code.CERT_NAME_MISMATCH)
    detail = next(s.detail for s in report.stages if not s.ok)
    assert report.stages[-1].name == "tls"
    assert "subject=" in detail and "expires=" in detail
    if code is Code.CERT_NAME_MISMATCH:
        assert "mail.other.example.com" in detail
    if code is Code.CERT_EXPIRED:
        expiry = time.strptime(report.tls.not_after, "%b %d %H:%M:%S %Y GMT")
        assert time.mktime(expiry) < time.time()


def test_server_without_esmtp_gets_helo(ca: Path) -> None:
    relay = fs.Case(
        Code.OK,
        Stage.QUIT,
        fs.Behaviour(no_esmtp=True),
        encryption=Encryption.NONE,
        credential=None,
    )
    report, _, server = _run(relay, ca)
    assert report.ok, report.detail
    assert server is not None and any(
        c.startswith("HELO") for c in server.seen.commands
    )
    assert report.auth_mechs == ()
    wants_tls = fs.Case(
        Code.STARTTLS_UNAVAILABLE, Stage.TLS, fs.Behaviour(no_esmtp=True)
    )
    report, _, _ = _run(wants_tls, ca)
    assert (report.code, report.stage) == (Code.STARTTLS_UNAVAILABLE, Stage.TLS)


@pytest.mark.parametrize("encryption", [Encryption.STARTTLS, Encryption.SSL])
def test_against_the_aiosmtpd_sandbox(tmp_path: Path, encryption: Encryption) -> None:
    """The real aiosmtpd sandbox: a right password sends, a wrong one fails."""
    from bpmnb import sandbox
    from bpmnb.home import Home
    from bpmnb.transport import Credential

    home = Home(tmp_path).ensure()
    with sandbox.Sandbox(home) as box:
        settings = box.settings(encryption=encryption)
        secret = box.password
        good = Credential(box.login, "password", lambda: secret)
        report = diagnosis.check(settings, good, rcpt="odbiorca@example.com", send=True)
        assert report.ok, (report.code, report.stage, report.detail)
        assert report.tls is not None
        got = sandbox.received(home)
        assert len(got) == 1
        assert list(got[0].recipients) == ["odbiorca@example.com"]
        assert "bpmnb" in got[0].subject
        bad = Credential(box.login, "password", lambda: secret + "-wrong")
        report = diagnosis.check(settings, bad)
        assert (report.code, report.stage) == (Code.AUTH_FAILED, Stage.AUTH)


def test_cli_check_without_settings_or_host_says_what_to_give(tmp_path: Path) -> None:
    out = _cli(tmp_path, "check")
    assert out.returncode == 2
    assert "--host" in out.stderr
    assert "bpmnb sandbox --configure" in out.stderr
    assert out.stdout == ""


def _plain_check(
    home: Path, server: fs.FaultServer, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``bpmnb check`` against ``server`` without TLS or login."""
    target = ["--host", "127.0.0.1", "--port", str(server.port)]
    return _cli(
        home, "check", *target, "--encryption", "none", "--sender", fs.SENDER, *extra
    )


def test_cli_check_refuses_a_bad_recipient_before_connecting(tmp_path: Path) -> None:
    """RCPT TO:<bad-address> would be sent as it is; send-test refuses it."""
    with fs.FaultServer(fs.Behaviour()) as server:
        out = _plain_check(tmp_path, server, "--to", "bad-address", "--json")
        assert out.returncode == 2
        data = json.loads(out.stdout)
        assert [f["field"] for f in data["findings"]] == ["to"]
        assert server.seen.commands == []  # no connection was made


def test_cli_check_names_an_unwritable_transcript_before_connecting(
    tmp_path: Path,
) -> None:
    with fs.FaultServer(fs.Behaviour()) as server:
        missing = str(tmp_path / "missing-dir" / "t.txt")
        out = _plain_check(tmp_path, server, "--transcript", missing)
        assert out.returncode == 2
        assert "--transcript" in out.stderr and "--home" not in out.stderr
        assert server.seen.commands == []
