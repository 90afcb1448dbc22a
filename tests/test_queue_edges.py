"""Edges of the queue and the worker the other tests do not reach.

Recipients refused in part, a refused account (wrong password) for a whole
batch, the queue file's permissions, the queue CLI on unusual input. Real
servers on 127.0.0.1 (the sandbox: aiosmtpd with STARTTLS and AUTH; the
fault server), real SQLite files and real ``bpmnb`` subprocesses.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from pydantic import SecretStr

from bpmnb import storage
from bpmnb.home import Home
from bpmnb.queue import Hold, Queue, Status
from bpmnb.sandbox import Sandbox
from bpmnb.worker import Worker, WorkerConfig
from tests.support.faultsmtp import FaultServer, plain_settings, script

FAST = WorkerConfig(backoff_base=0.05, backoff_cap=0.2, max_attempts=3, poll=0.05)
# A hold for a refused account lasts backoff_cap: long here, so that only a
# settings change can lift it within the test.
HOLDING = WorkerConfig(backoff_base=0.05, backoff_cap=600, max_attempts=3, poll=0.05)
BPMNB = Path(sys.executable).with_name("bpmnb")


def mail(n: int = 0, to: str = "odbiorca@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Powiadomienia <powiadomienia@example.com>"
    msg["To"] = to
    msg["Subject"] = f"Powiadomienie {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Treść {n}\n")
    return msg


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    monkeypatch.delenv("BPMNB_PASSWORD", raising=False)
    monkeypatch.delenv("BPMNB_LANG", raising=False)
    return Home(tmp_path / "home").ensure()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(Home(tmp_path_factory.mktemp("sandbox-home"))) as box:
        yield box


def bpmnb(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPMNB_SECRET_BACKEND": "file"}
    env.pop("BPMNB_PASSWORD", None)
    return subprocess.run(
        [str(BPMNB), "--home", str(home.root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


# -- recipients refused in part ------------------------------------------------


def test_recipients_refused_in_part_are_visible_on_the_sent_message(
    home: Home,
) -> None:
    queue = Queue(home.queue_file)
    to = "a@example.com, b@example.com, c@example.com"
    queue_id = queue.enqueue(mail(to=to))
    refusals = ["250 2.1.5 OK", "550 5.1.1 <b@example.com>: no such user"]
    with FaultServer(script(rcpt=refusals)) as srv:
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=20)
        accepted = list(srv.accepted)
    # Sent once, to the two accepted recipients; not sent again (the
    # accepted ones would get it twice).
    assert len(accepted) == 1
    assert accepted[0].recipients == ["a@example.com", "c@example.com"]
    row = queue.get(queue_id)
    assert row is not None and row.status is Status.SENT and row.attempts == 1
    assert row.last_error is not None
    assert row.last_error.code == "RECIPIENT_REJECTED"
    assert row.last_error.smtp_code == 550
    assert "b@example.com: 550" in (row.last_error.detail or "")
    assert "odrzucił część odbiorców" in row.status_text("pl")

    shown = bpmnb(home, "--lang", "en", "queue", "show", str(queue_id))
    assert shown.returncode == 0, shown.stderr
    assert "refused some recipients" in shown.stdout
    assert "b@example.com: 550 5.1.1" in shown.stdout
    as_json = bpmnb(home, "queue", "show", str(queue_id), "--json")
    data = json.loads(as_json.stdout)
    assert data["status"] == "sent"
    assert data["last_error"]["code"] == "RECIPIENT_REJECTED"
    assert "b@example.com" in data["last_error"]["detail"]
    listed = json.loads(bpmnb(home, "queue", "list", "--json").stdout)
    assert listed[0]["last_error"]["code"] == "RECIPIENT_REJECTED"


def test_a_clean_send_after_a_partial_one_clears_the_refusal(home: Home) -> None:
    queue = Queue(home.queue_file)
    first = queue.enqueue(mail(0, to="a@example.com, b@example.com"))
    with FaultServer(script(rcpt=["250 OK", "550 5.1.1 no"])) as srv:
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=20)
    row = queue.get(first)
    assert row is not None and row.last_error is not None
    assert queue.cancel(first) is False  # sent: nothing to cancel
    second = queue.enqueue(mail(1, to="a@example.com, b@example.com"))
    with FaultServer() as srv:
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=20)
    clean = queue.get(second)
    assert clean is not None and clean.status is Status.SENT
    assert clean.last_error is None


@pytest.mark.parametrize(
    "replies",
    [
        ["550 5.1.1 <a@example.com>: no such user", "451 4.3.0 greylisted"],
        ["451 4.3.0 greylisted", "550 5.1.1 <b@example.com>: no such user"],
    ],
    ids=["5xx-first", "4xx-first"],
)
def test_all_refused_with_4xx_and_5xx_is_retried_whatever_the_order(
    home: Home, replies: list[str]
) -> None:
    """Every recipient refused, one for now (451), one for good (550): the
    outcome must not depend on which recipient came first. A retry reaches
    the greylisted one; the other is reported as refused."""
    queue = Queue(home.queue_file)
    queue_id = queue.enqueue(mail(to="a@example.com, b@example.com"))
    permanent = 0 if replies[0].startswith("5") else 1
    second = ["250 OK", "550 5.1.1 no such user"]
    if permanent == 0:
        second.reverse()
    with FaultServer(script(rcpt=[*replies, *second])) as srv:
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=20)
        accepted = list(srv.accepted)
    row = queue.get(queue_id)
    assert row is not None
    assert row.status is Status.SENT, row.last_error
    assert row.attempts == 2
    assert len(accepted) == 1
    refused = "ab"[permanent]
    assert row.last_error is not None
    assert f"{refused}@example.com: 550" in (row.last_error.detail or "")


# -- a refused account: a wrong password for a whole batch --------------------


def test_wrong_password_fails_one_message_and_holds_the_rest(
    home: Home, sandbox: Sandbox
) -> None:
    """535 is a problem of the account, not of the messages: the first
    message fails with the reason and the hint, the others wait without
    spending attempts (no stream of failed sign-ins that could lock the
    account), and go out once the corrected settings are saved, picked up
    by the same running worker."""
    sandbox.clear()
    right = sandbox.settings()
    wrong = right.model_copy(update={"password": SecretStr("złe-hasło-123")})
    storage.save(home, wrong)
    queue = Queue(home.queue_file)
    ids = [queue.enqueue(mail(n, to="odbiorca@example.com")) for n in range(4)]

    worker = Worker(home, config=HOLDING).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = [queue.get(i) for i in ids]
            if all(r is not None and r.status is not Status.SENDING for r in rows):
                if any(r is not None and r.status is Status.FAILED for r in rows):
                    break
            time.sleep(0.05)
        rows = [queue.get(i) for i in ids]
        assert [r.status for r in rows if r] == [Status.FAILED] + [Status.QUEUED] * 3
        failed, *held = [r for r in rows if r]
        assert failed.last_error is not None
        assert failed.last_error.code == "AUTH_FAILED"
        assert failed.last_error.hint("pl")
        for row in held:
            assert row.held is Hold.ACCOUNT_ERROR
            assert row.attempts == 0
            assert row.last_error is not None
            assert row.last_error.code == "AUTH_FAILED"
        assert sandbox.received() == []
        text = bpmnb(home, "--lang", "en", "queue", "show", str(ids[1])).stdout
        assert "refused the account" in text and "AUTH_FAILED" in text

        time.sleep(0.05)  # the settings file's time must pass the hold's
        storage.save(home, right)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(
                (r := queue.get(i)) is not None and r.status is Status.SENT
                for i in ids[1:]
            ):
                break
            time.sleep(0.05)
    finally:
        worker.stop(10)
    statuses = [r.status for i in ids if (r := queue.get(i)) is not None]
    assert statuses == [Status.FAILED] + [Status.SENT] * 3
    assert len(sandbox.received()) == 3
    raw = home.queue_file.read_bytes()
    for suffix in ("-wal",):
        extra = home.queue_file.with_name(home.queue_file.name + suffix)
        if extra.exists():
            raw += extra.read_bytes()
    assert right.password is not None
    for secret in ("złe-hasło-123", right.password.get_secret_value()):
        assert secret.encode() not in raw


def test_send_test_reports_a_held_message_when_the_account_is_refused(
    home: Home, sandbox: Sandbox
) -> None:
    sandbox.clear()
    wrong = sandbox.settings().model_copy(
        update={"password": SecretStr("złe-hasło-456")}
    )
    storage.save(home, wrong)
    queue = Queue(home.queue_file)
    earlier = queue.enqueue(mail(0))
    result = bpmnb(
        home, "--lang", "en", "send-test", "--to", "odbiorca@example.com", "--wait",
        "--wait-timeout", "20", "--json",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    # The earlier message met the refusal; the test message is held, and
    # send-test says why at once instead of waiting for the timeout.
    assert data["held"] == "account_error"
    assert data["last_error"]["code"] == "AUTH_FAILED"
    assert data["last_error"]["hint"]["pl"]
    first = queue.get(earlier)
    assert first is not None and first.status is Status.FAILED
    assert "złe-hasło-456" not in result.stdout + result.stderr


# -- the queue file ------------------------------------------------------------


def test_queue_file_is_private_even_in_an_open_home(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)  # noqa: S103 - a shared home is the case tested
    queue = Queue(root / "queue.sqlite3")
    queue.enqueue(mail())
    for name in ("queue.sqlite3", "queue.sqlite3-wal", "queue.sqlite3-shm"):
        path = root / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, name


def test_an_existing_world_readable_queue_file_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    Queue(path).enqueue(mail())
    os.chmod(path, 0o644)
    Queue(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- the queue CLI on unusual input ---------------------------------------------


def test_queue_cli_refuses_what_cannot_be_done(home: Home) -> None:
    queue = Queue(home.queue_file)
    sent = queue.enqueue(mail(0))
    with FaultServer() as srv:
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=20)
    sending = queue.enqueue(mail(1))
    assert [c.id for c in queue.claim("someone")] == [sending]

    retried = bpmnb(home, "queue", "retry", str(sent), "--json")
    assert retried.returncode == 1
    assert json.loads(retried.stdout)["ok"] is False
    assert queue.get(sent).status is Status.SENT  # type: ignore[union-attr]

    cancelled = bpmnb(home, "queue", "cancel", str(sending), "--json")
    assert cancelled.returncode == 1
    assert json.loads(cancelled.stdout)["status"] == "sending"

    missing = bpmnb(home, "queue", "show", "999999", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {
        "ok": False,
        "id": 999999,
        "error": "not_found",
    }
    for args in (
        ("queue", "purge", "--older-than", "-1"),
        ("queue", "purge", "--older-than", "tydzień"),
        ("queue", "show", "abc"),
        ("queue", "retry", "1.5"),
        # Past SQLite's 64-bit integers: refused, not an OverflowError.
        ("queue", "show", "99999999999999999999999"),
        ("queue", "cancel", str(2**63)),
    ):
        bad = bpmnb(home, *args)
        assert bad.returncode == 2, args
        assert "Traceback" not in bad.stderr
    purged = bpmnb(home, "queue", "purge", "--older-than", "0", "--json")
    assert purged.returncode == 0
    assert json.loads(purged.stdout) == {"ok": True, "purged": 1}
    assert queue.get(sending) is not None  # never purged while being sent


# -- send-test --wait against a slow server -------------------------------------


def test_send_test_wait_timeout_reports_the_state_after_the_message_in_flight(
    home: Home,
) -> None:
    """--wait-timeout ends the wait, but the in-process worker still finishes
    the message in flight before the command exits: the report must be the
    state then (sent), not "still in the queue (sending)" with exit 1."""
    with FaultServer(script(end=["SLOW:1.5"])) as srv:
        storage.save(home, plain_settings(srv, timeout=10.0))
        started = time.monotonic()
        result = bpmnb(
            home, "--lang", "en", "send-test", "--to", "odbiorca@example.com",
            "--wait", "--wait-timeout", "0.3", "--json",
        )  # fmt: skip
        elapsed = time.monotonic() - started
        accepted = srv.message_ids()
    data = json.loads(result.stdout)
    assert len(accepted) == 1 and data["message_id"] == accepted[0]
    assert data["status"] == "sent"
    assert result.returncode == 0, result.stdout
    assert elapsed < 15  # bounded by the server's pause, not by a lease


def test_send_test_wait_that_ends_on_retries_says_why(home: Home) -> None:
    """A busy server (421) keeps the message queued past the wait:
    the report says what the server answered, not only "still queued"."""
    with FaultServer(script(greeting=["421 4.3.2 busy"] * 50)) as srv:
        storage.save(home, plain_settings(srv))
        result = bpmnb(
            home, "--lang", "en", "send-test", "--to", "odbiorca@example.com",
            "--wait", "--wait-timeout", "2",
        )  # fmt: skip
    assert result.returncode == 1
    assert "421" in result.stdout
    assert "[SERVER_BUSY] (greeting) 421" in result.stdout


def test_ctrl_c_during_send_test_wait_says_the_message_stays_queued(
    home: Home,
) -> None:
    with FaultServer(script(greeting=["421 4.3.2 busy"] * 20)) as srv:
        storage.save(home, plain_settings(srv))
        env = {**os.environ, "BPMNB_SECRET_BACKEND": "file"}
        proc = subprocess.Popen(
            [
                str(BPMNB), "--home", str(home.root), "--lang", "en", "send-test",
                "--to", "odbiorca@example.com", "--wait", "--wait-timeout", "60",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        queue = Queue(home.queue_file)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rows = queue.recent()
            if rows and rows[0].attempts >= 1 and rows[0].status is Status.QUEUED:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "waiting in the outgoing mail queue" in out
    assert "Traceback" not in err and "Aborted" not in err
    assert "is not lost" in err and "queued" in err
    (row,) = queue.recent()
    assert row.status is Status.QUEUED


# -- a server that cannot be reached ---------------------------------------------


def test_a_batch_does_not_wait_for_the_same_dead_server_once_per_message(
    home: Home,
) -> None:
    """A server that accepts the connection and never greets: one timeout
    per attempt of the batch, not one per message (20 messages times a
    30 s timeout would hold the worker for 10 minutes). Every message still
    spends its attempts and fails at the limit: nothing is lost or stuck."""
    queue = Queue(home.queue_file)
    ids = [queue.enqueue(mail(n)) for n in range(5)]
    config = WorkerConfig(backoff_base=0.05, backoff_cap=0.1, max_attempts=2)
    with FaultServer(script(greeting=["STALL"] * 20)) as srv:
        started = time.monotonic()
        Worker(home, config=config, settings=plain_settings(srv, timeout=0.5)).drain(
            timeout=30
        )
        elapsed = time.monotonic() - started
        connections = srv.connections
    rows = [queue.get(i) for i in ids]
    assert [r.status for r in rows if r] == [Status.FAILED] * 5
    assert [r.attempts for r in rows if r] == [2] * 5
    # One connection for the first round (without the fix: five); the
    # retries fall due apart (jitter), so at most one each after that.
    assert connections <= 6
    assert elapsed < 8
    last = rows[-1]
    assert last is not None and last.last_error is not None
    assert last.last_error.code == "NO_GREETING"
    assert "not connected" in last.transcripts[0].transcript


def test_a_refused_password_appears_in_no_output_of_the_worker_or_the_queue(
    home: Home, sandbox: Sandbox
) -> None:
    sandbox.clear()
    secret = "Tajne-Hasło-789"
    storage.save(
        home, sandbox.settings().model_copy(update={"password": SecretStr(secret)})
    )
    queue = Queue(home.queue_file)
    ids = [queue.enqueue(mail(n)) for n in range(3)]
    run = bpmnb(home, "-vv", "worker", "--once")
    assert run.returncode == 0, run.stderr
    outputs = [run.stdout, run.stderr]
    for queue_id in ids:
        outputs.append(bpmnb(home, "queue", "show", str(queue_id)).stdout)
        outputs.append(bpmnb(home, "queue", "show", str(queue_id), "--json").stdout)
    outputs.append(bpmnb(home, "queue", "list", "--json").stdout)
    forms = [secret, base64.b64encode(secret.encode()).decode()]
    for output in outputs:
        for form in forms:
            assert form not in output
    statuses = [r.status for i in ids if (r := queue.get(i)) is not None]
    assert statuses == [Status.FAILED, Status.QUEUED, Status.QUEUED]
    assert sandbox.received() == []
