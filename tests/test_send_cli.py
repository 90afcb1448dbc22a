"""``bpmnb send-test`` and ``bpmnb queue ...`` end to end.

A sandbox (STARTTLS with AUTH, its own CA) receives the messages; commands
run in real subprocesses where the worker's lifetime matters, and through
click's runner otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bpmnb import outbox, storage
from bpmnb.cli import main
from bpmnb.home import Home
from bpmnb.queue import Queue, Status
from bpmnb.sandbox import Sandbox
from bpmnb.settings import DeliveryComponent
from tests.support.faultsmtp import FaultServer, plain_settings, script

BPMNB = Path(sys.executable).with_name("bpmnb")
TO = "odbiorca@example.com"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(Home(tmp_path_factory.mktemp("sandbox-home"))) as box:
        yield box


@pytest.fixture
def home(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Home]:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    monkeypatch.delenv("BPMNB_PASSWORD", raising=False)
    monkeypatch.delenv("BPMNB_LANG", raising=False)
    home = Home(tmp_path / "home").ensure()
    sandbox.clear()
    yield home
    outbox.stop_worker(home)


def save(home: Home, sandbox: Sandbox, **changes: Any) -> None:
    settings = sandbox.settings()
    for key, value in changes.items():
        setattr(settings, key, value)
    storage.save(home, settings)


def cli(home: Home, *args: str) -> Result:
    return CliRunner().invoke(main, ["--home", str(home.root), *args])


def run(
    home: Home, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BPMNB_SECRET_BACKEND="file")
    return subprocess.run(
        [str(BPMNB), "--home", str(home.root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_send_test_wait_delivers_through_the_queue(
    home: Home, sandbox: Sandbox
) -> None:
    save(home, sandbox)
    done = run(home, "send-test", "--to", TO, "--wait", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "sent"
    assert data["ok"] is True
    assert data["subject"] == "Wiadomość testowa bpmnb"
    assert data["recipients"] == [TO]
    assert "kolejce" in data["handed"]["pl"]
    (got,) = sandbox.received()
    assert got.message_id == data["message_id"]
    assert got.subject == "Wiadomość testowa bpmnb"
    assert got.recipients == (TO,)
    assert got.encryption.startswith("TLS")
    # The queue keeps the redacted transcript: AUTH is masked, the password
    # never appears.
    shown = run(home, "queue", "show", str(data["id"]), "--json")
    assert shown.returncode == 0
    row = json.loads(shown.stdout)
    transcript = row["transcripts"][0]["transcript"]
    assert "AUTH" in transcript.upper()
    assert sandbox.password not in shown.stdout
    assert sandbox.password not in done.stdout + done.stderr


def test_a_non_ascii_local_part_goes_out_with_smtputf8(
    home: Home, sandbox: Sandbox
) -> None:
    """RFC 6531/6532: the address travels as UTF-8, never as an RFC 2047
    encoded word, which RFC 2047 section 5 forbids inside an address (and a
    server would deliver to that literal mailbox)."""
    save(home, sandbox)
    to = "żółw@example.com"
    done = run(home, "send-test", "--to", to, "--wait", "--json")
    assert done.returncode == 0, done.stderr
    (got,) = sandbox.received()
    assert got.recipients == (to,)
    assert f"<{to}>".encode() in got.raw or f"To: {to}".encode() in got.raw
    # RFC 6532: the header is UTF-8 text.
    parsed = Parser(policy=policy.default).parsestr(got.raw.decode("utf-8"))
    assert parsed["To"].addresses[0].username == "żółw"


def test_send_test_without_wait_makes_one_attempt_in_process(
    home: Home, sandbox: Sandbox, tmp_path: Path
) -> None:
    save(home, sandbox)
    attachment = tmp_path / "faktura.txt"
    attachment.write_text("FZ 5/2021\n", encoding="utf-8")
    result = cli(
        home,
        "--lang",
        "pl",
        "send-test",
        "--to",
        TO,
        "--subject",
        "Próba łączności",
        "--body",
        "Treść próbna",
        "--attach",
        str(attachment),
    )
    assert result.exit_code == 0, result.output
    assert "czeka w kolejce poczty wychodzącej" in result.output
    assert "Serwer przyjął wiadomość" in result.output
    (got,) = sandbox.received()
    assert got.subject == "Próba łączności"
    names = [part.get_filename() for part in got.message.iter_attachments()]
    assert names == ["faktura.txt"]


def test_with_a_worker_component_send_test_only_enqueues(
    home: Home, sandbox: Sandbox
) -> None:
    save(home, sandbox, delivery_component=DeliveryComponent.WORKER)
    done = run(home, "--lang", "en", "send-test", "--to", TO, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "queued" and data["attempts"] == 0
    assert sandbox.received() == []
    drained = run(home, "worker", "--once")
    assert drained.returncode == 0, drained.stderr
    shown = json.loads(run(home, "queue", "show", str(data["id"]), "--json").stdout)
    assert shown["status"] == "sent"
    assert [r.message_id for r in sandbox.received()] == [data["message_id"]]


def test_invalid_settings_exit_2_with_findings_at_fields(home: Home) -> None:
    result = cli(home, "--lang", "en", "send-test", "--to", TO, "--json")
    assert result.exit_code == 2
    data = json.loads(result.output)
    fields = {f["field"] for f in data["findings"]}
    assert "host" in fields or "sender" in fields
    assert all(f["pl"] and f["en"] for f in data["findings"])
    assert Queue(home.queue_file).counts()[Status.QUEUED] == 0


def test_a_first_send_without_settings_says_how_to_get_them(home: Home) -> None:
    result = cli(home, "send-test", "--to", TO)
    assert result.exit_code == 2
    # The fields that are missing, then the way out.
    assert "host:" in result.output
    assert "bpmnb sandbox --configure" in result.output
    assert "bpmnb settings set" in result.output


def test_a_header_injection_is_refused_at_its_field(
    home: Home, sandbox: Sandbox
) -> None:
    save(home, sandbox)
    result = cli(
        home, "send-test", "--to", TO, "--subject", "a\r\nBcc: x@example.com", "--json"
    )
    assert result.exit_code == 2
    (finding,) = json.loads(result.output)["findings"]
    assert finding["field"] == "subject"
    assert sandbox.received() == []


def test_disabled_sending_keeps_the_message_and_says_why(
    home: Home, sandbox: Sandbox
) -> None:
    save(home, sandbox, enabled=False)
    result = cli(
        home, "--lang", "pl", "send-test", "--to", TO, "--wait", "--wait-timeout", "2"
    )
    assert result.exit_code == 1
    assert "SENDING_DISABLED" in result.output
    assert "Włącz wysyłanie" in result.output
    listed = json.loads(cli(home, "queue", "list", "--json").output)
    assert [m["status"] for m in listed] == ["queued"]
    assert listed[0]["held"] == "sending_disabled"
    assert sandbox.received() == []


def test_queue_commands_on_a_refused_message(home: Home) -> None:
    with FaultServer(
        script(rcpt=["550 5.1.1 <odbiorca@example.com>: no such user"])
    ) as srv:
        storage.save(home, plain_settings(srv))
        sent = cli(home, "--lang", "en", "send-test", "--to", TO, "--wait", "--json")
        assert sent.exit_code == 1
        data = json.loads(sent.output)
        queue_id = str(data["id"])
        assert data["status"] == "failed"
        error = data["last_error"]
        assert error["code"] == "RECIPIENT_REJECTED"
        assert error["stage"] == "rcpt_to"
        assert error["smtp_code"] == 550
        assert error["message"]["pl"] and error["message"]["en"]
        assert error["hint"]["pl"] and error["hint"]["en"]

        text = cli(home, "--lang", "pl", "queue", "show", queue_id)
        assert text.exit_code == 0
        assert "550" in text.output and "RECIPIENT_REJECTED" in text.output

        listed = json.loads(cli(home, "queue", "list", "--json").output)
        assert [m["id"] for m in listed] == [int(queue_id)]
        for key in (
            "id",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "subject",
            "recipients",
            "message_id",
            "last_error",
        ):
            assert key in listed[0]

        retried = cli(home, "queue", "retry", queue_id, "--json")
        assert retried.exit_code == 0
        assert json.loads(retried.output)["status"] == "queued"
        again = cli(home, "queue", "retry", queue_id)
        assert again.exit_code == 1  # queued: nothing to retry

        assert cli(home, "queue", "cancel", queue_id).exit_code == 0
        assert cli(home, "queue", "cancel", queue_id).exit_code == 1
        assert cli(home, "queue", "show", "999").exit_code == 1

        purged = cli(home, "queue", "purge", "--older-than", "0", "--json")
        assert purged.exit_code == 0
        assert json.loads(purged.output) == {"ok": True, "purged": 1}
        assert json.loads(cli(home, "queue", "list", "--json").output) == []
        assert srv.accepted == []


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_an_attachment_that_is_not_a_regular_file_is_refused_unread(
    home: Home, sandbox: Sandbox, tmp_path: Path, special: str
) -> None:
    """/dev/zero reports size 0 and never ends; a FIFO blocks the open."""
    save(home, sandbox)
    if special == "fifo":
        special = str(tmp_path / "potok")
        os.mkfifo(special)
    result = run(home, "send-test", "--to", TO, "--attach", special, timeout=20)
    assert result.returncode == 2
    assert "nie jest zwykłym plikiem" in result.stderr
    assert result.stderr.count("nie jest zwykłym plikiem") == 1
    assert sandbox.received() == []


def test_a_damaged_secrets_file_is_named_not_taken_for_no_password(
    home: Home, sandbox: Sandbox
) -> None:
    save(home, sandbox)
    (home.root / "secrets.json").write_text("garbage{", encoding="utf-8")
    sent = run(home, "send-test", "--to", TO)
    checked = run(home, "check")
    for result in (sent, checked):
        assert "secrets.json" in result.stderr, result.stderr
        assert "jest uszkodzony" in result.stderr
        assert "Wpisz hasło" not in result.stderr
    assert sent.returncode == 2 and checked.returncode == 1
    assert sandbox.received() == []
