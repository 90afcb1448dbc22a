"""The sandbox: its own CA, its credential, its Maildir, its CLI command."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import smtplib
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bpmnb import message as msg
from bpmnb import sandbox as sandbox_mod
from bpmnb.credentials import for_settings
from bpmnb.errors import Code, DeliveryError
from bpmnb.home import Home
from bpmnb.sandbox import Sandbox, info, received
from bpmnb.settings import Encryption
from bpmnb.transport import Credential, SmtpSession, Transcript, deliver

BPMNB = Path(sys.executable).with_name("bpmnb")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_and_password_are_made_once_and_kept(tmp_path: Path) -> None:
    first = Sandbox(tmp_path).start()
    ca_pem = first.ca_file.read_bytes()
    password = first.password
    ports = (first.starttls_port, first.tls_port)
    first.stop()
    assert mode(first.dir / "ca-key.pem") == 0o600
    assert mode(first.state_file) == 0o600
    assert len(password) >= 20

    with Sandbox(tmp_path) as second:
        assert second.ca_file.read_bytes() == ca_pem
        assert second.password == password
        assert (second.starttls_port, second.tls_port) != (0, 0)
        # The CA saved in settings earlier still verifies the new listeners.
        deliver(
            second.settings(Encryption.SSL),
            Credential(second.login, "password", lambda: password),
            msg.build(second.settings(), to="jan@example.com", subject="x", body="y"),
        )
    assert ports[0] > 0 and ports[1] > 0


def test_state_file_and_info(tmp_path: Path) -> None:
    assert info(tmp_path) is None
    with Sandbox(tmp_path) as box:
        state = json.loads(box.state_file.read_text())
        assert state["running"] is True
        assert state["pid"] == os.getpid()
        found = info(tmp_path)
        assert found is not None
        assert (found.host, found.starttls_port, found.tls_port) == (
            box.host,
            box.starttls_port,
            box.tls_port,
        )
        assert found.password == box.password
        assert found.password not in repr(found)
        assert found.settings(Encryption.SSL).port == box.tls_port
    assert info(tmp_path) is None
    assert json.loads(box.state_file.read_text())["running"] is False


def test_info_ignores_a_dead_process(tmp_path: Path) -> None:
    with Sandbox(tmp_path) as box:
        state = json.loads(box.state_file.read_text())
    state.update(running=True, pid=2**22 + 12345)
    box.state_file.write_text(json.dumps(state))
    assert info(tmp_path) is None


def test_settings_point_at_the_sandbox(sandbox: Sandbox) -> None:
    settings = sandbox.settings()
    assert settings.enabled
    assert settings.encryption is Encryption.STARTTLS
    assert settings.port == sandbox.starttls_port
    assert settings.ca_file == str(sandbox.ca_file)
    assert settings.sender == "powiadomienia@example.com"
    assert settings.password is not None
    assert settings.password.get_secret_value() == sandbox.password
    assert sandbox.password not in json.dumps(settings.public_dict())
    assert sandbox.settings(Encryption.SSL).port == sandbox.tls_port


def test_received_records_port_tls_login_and_envelope(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    box = fresh_sandbox()
    credential = Credential(box.login, "password", lambda: box.password)
    for encryption in (Encryption.STARTTLS, Encryption.SSL):
        settings = box.settings(encryption)
        deliver(
            settings,
            credential,
            msg.build(
                settings,
                to=["a@example.com", "b@example.com"],
                subject=str(encryption),
                body="y",
            ),
        )
    got = received(box.home)
    assert [r.subject for r in got] == ["starttls", "ssl"]
    assert [r.port for r in got] == [box.starttls_port, box.tls_port]
    for item in got:
        assert item.encryption in ("TLSv1.2", "TLSv1.3")
        assert item.login == box.login
        assert item.sender == "powiadomienia@example.com"
        assert item.recipients == ("a@example.com", "b@example.com")
        assert item.raw.startswith(b"From:")  # as the client sent it
        assert b"X-Bpmnb-Sandbox" not in item.raw
    box.clear()
    assert received(box.home) == []


def test_auth_only_after_starttls_on_the_plain_port(sandbox: Sandbox) -> None:
    """The sandbox behaves like a careful server: no AUTH before TLS."""
    with smtplib.SMTP(sandbox.host, sandbox.starttls_port, timeout=5) as client:
        client.ehlo("[127.0.0.1]")
        assert not client.has_extn("auth")
        assert client.has_extn("starttls")
        code, _ = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0x\0y").decode())
        assert code in (530, 538)
        code, _ = client.docmd("MAIL", "FROM:<a@example.com>")
        assert code == 530


def test_sandbox_requires_login(sandbox: Sandbox) -> None:
    settings = sandbox.settings(Encryption.SSL)
    with pytest.raises(DeliveryError) as info_:
        deliver(
            settings,
            None,
            msg.build(settings, to="a@example.com", subject="x", body="y"),
        )
    assert info_.value.code is Code.AUTH_REQUIRED
    assert info_.value.smtp_code == 530


def test_sandbox_xoauth2_with_a_long_token(
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    # Real Entra ID tokens run to kilobytes; RFC 4954 allows 12288 octets.
    token = "eyJ0eXAiOiJKV1Qi." + "x" * 8000
    seen: list[tuple[str, str]] = []

    def validator(login: str, given: str) -> bool:
        seen.append((login, given))
        return given == token

    box = fresh_sandbox(token_validator=validator)
    settings = box.settings()
    good = Credential(box.login, "xoauth2", lambda: token)
    result = deliver(
        settings, good, msg.build(settings, to="a@example.com", subject="x", body="y")
    )
    assert result.smtp_code == 250
    assert seen[-1] == (box.login, token)

    transcript = Transcript()
    bad = Credential(box.login, "xoauth2", lambda: "wrong")
    with pytest.raises(DeliveryError) as info_:
        deliver(
            settings,
            bad,
            msg.build(settings, to="a@example.com", subject="x", body="y"),
            transcript=transcript,
        )
    assert info_.value.code is Code.TOKEN_INVALID
    assert info_.value.smtp_code == 535
    assert "401" in (info_.value.detail or "")
    assert "wrong" not in transcript.text()


def test_sandbox_tls_is_1_2_or_newer(sandbox: Sandbox) -> None:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with smtplib.SMTP_SSL(
        sandbox.host, sandbox.tls_port, context=context, timeout=5
    ) as client:
        assert client.sock is not None
        assert client.sock.version() == "TLSv1.2"  # type: ignore[attr-defined]


def test_session_against_sandbox_reports_tls(sandbox: Sandbox) -> None:
    with SmtpSession(
        sandbox.settings(Encryption.SSL),
        Credential(sandbox.login, "password", lambda: sandbox.password),
    ) as s:
        assert s.tls is not None
        assert s.tls.subject == sandbox.host
        assert "bpmnb sandbox" in s.tls.issuer  # the sandbox CA's name


def test_module_level_received_on_empty_home(tmp_path: Path) -> None:
    assert sandbox_mod.received(tmp_path) == []
    sandbox_mod.clear(tmp_path)


# -- the CLI command, as a real subprocess -----------------------------------


def _start_cli(home: Path, *extra: str) -> subprocess.Popen[str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("BPMNB_HOME", "BPMNB_PASSWORD")
    }
    return subprocess.Popen(
        [str(BPMNB), "--home", str(home), "sandbox", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    """Signal the sandbox and wait for it; its stderr explains a failure."""
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        return -1, f"did not stop within 30 s after {sig.name}; stderr: {err}"
    return proc.returncode, err


def test_cli_sandbox_configure_send_and_stop(tmp_path: Path) -> None:
    from bpmnb import storage

    home = tmp_path / "cli-home"
    proc = _start_cli(home, "--configure", "--json")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        details = json.loads(line)
        assert details["configured"] is True
        assert info(home) is not None

        saved = storage.load(Home(home))
        assert saved is not None
        assert saved.port == details["starttls_port"]
        assert saved.encryption is Encryption.STARTTLS
        assert saved.ca_file == details["ca_file"]
        assert saved.display_name == "Powiadomienia BPM — piaskownica"
        assert saved.enabled
        assert details["password"] not in (home / "settings.json").read_text()

        credential = for_settings(saved, Home(home))
        assert credential is not None
        result = deliver(
            saved,
            credential,
            msg.build(saved, to="jan@example.com", subject="Z CLI", body="y"),
        )
        assert [r.message_id for r in received(home)] == [result.message_id]
    finally:
        code, err = _stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert info(home) is None
    state = json.loads((home / "sandbox" / "sandbox.json").read_text())
    assert state["running"] is False


def test_cli_sandbox_text_output_and_sigint(tmp_path: Path) -> None:
    proc = _start_cli(tmp_path, "--starttls-port", "0")
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(8)]
        started = time.monotonic()
        while info(tmp_path) is None and time.monotonic() - started < 10:
            time.sleep(0.05)
        running = info(tmp_path)
        assert running is not None
        text = "".join(lines)
        assert str(running.starttls_port) in text
        assert (
            running.password in text
        )  # the sandbox's own credential, shown on purpose
        assert str(running.ca_file) in text
    finally:
        code, err = _stop(proc, signal.SIGINT)
    assert code == 0, err
    assert info(tmp_path) is None


def test_cli_sandbox_port_in_use(tmp_path: Path, sandbox: Sandbox) -> None:
    proc = _start_cli(tmp_path, "--starttls-port", str(sandbox.starttls_port))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert str(sandbox.starttls_port) in err


def test_sandbox_keeps_the_rfc_5321_line_limit_in_data(sandbox: Sandbox) -> None:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    with smtplib.SMTP_SSL(
        sandbox.host, sandbox.tls_port, context=context, timeout=5
    ) as client:
        client.login(sandbox.login, sandbox.password)
        with pytest.raises(smtplib.SMTPDataError) as info:
            client.sendmail(
                "powiadomienia@example.com",
                ["jan@example.com"],
                b"Subject: x\r\n\r\n" + b"y" * 2000 + b"\r\n",
            )
    assert info.value.smtp_code == 500


SWAKS = shutil.which("swaks")


@pytest.mark.skipif(SWAKS is None, reason="swaks (reference SMTP client) not installed")
@pytest.mark.parametrize("flag", ["--tls", "--tlsc"])
def test_reference_client_swaks_talks_to_the_sandbox(
    fresh_sandbox: Callable[..., Sandbox], flag: str
) -> None:
    """Another SMTP client, verifying the sandbox CA, gets the same service."""
    box = fresh_sandbox()
    port = box.starttls_port if flag == "--tls" else box.tls_port

    def swaks(secret: str) -> subprocess.CompletedProcess[str]:
        assert SWAKS is not None
        return subprocess.run(
            [SWAKS, "--server", box.host, "--port", str(port), flag,
             "--tls-verify", "--tls-ca-path", str(box.ca_file),
             "--auth", "PLAIN", "--auth-user", box.login, "--auth-password", secret,
             "--from", "powiadomienia@example.com", "--to", "jan@example.com",
             "--header", "Subject: swaks", "--timeout", "5"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    assert swaks("wrong").returncode != 0
    done = swaks(box.password)
    assert done.returncode == 0, done.stdout + done.stderr
    got = received(box.home)
    assert [(m.subject, m.port) for m in got] == [("swaks", port)]
    assert got[0].encryption in ("TLSv1.2", "TLSv1.3")
