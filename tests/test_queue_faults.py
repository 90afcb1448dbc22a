"""Servers that fail on purpose, and workers that die or race.

Each test checks both sides: the statuses the queue ends with and what the
server actually accepted (by Message-ID), so a lost or doubled message shows.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bpmnb import storage
from bpmnb.home import Home
from bpmnb.queue import Queue, QueuedMessage, Status
from bpmnb.worker import Worker, WorkerConfig
from tests.support.faultsmtp import FaultServer, plain_settings, script

FAST = WorkerConfig(backoff_base=0.05, backoff_cap=0.2, max_attempts=3, poll=0.05)
BPMNB = Path(sys.executable).with_name("bpmnb")


def mail(n: int = 0) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Powiadomienia <powiadomienia@example.com>"
    msg["To"] = "odbiorca@example.com"
    msg["Subject"] = f"Powiadomienie {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Treść {n}\n")
    return msg


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


def run_one(home: Home, server: FaultServer, **settings: object) -> QueuedMessage:
    """Queue one message, let a worker deal with it, return its final row."""
    queue = Queue(home.queue_file)
    queue_id = queue.enqueue(mail())
    worker = Worker(home, config=FAST, settings=plain_settings(server, **settings))
    worker.drain(timeout=20)
    result = queue.get(queue_id)
    assert result is not None
    return result


def test_421_at_the_greeting_is_retried(home: Home) -> None:
    with FaultServer(script(greeting=["421 4.3.2 too busy, come back later"])) as srv:
        result = run_one(home, srv)
        assert srv.message_ids() == [result.message_id]
        assert srv.connections == 2
    assert result.status is Status.SENT
    assert result.attempts == 2
    first, second = result.transcripts
    assert first.outcome == "retry" and first.smtp_code == 421
    assert "421" in first.transcript
    assert second.outcome == "sent"


def test_451_on_rcpt_then_success(home: Home) -> None:
    with FaultServer(script(rcpt=["451 4.3.0 greylisted, try again"])) as srv:
        result = run_one(home, srv)
        assert srv.message_ids() == [result.message_id]
    assert result.status is Status.SENT
    assert result.attempts == 2
    assert result.last_error is None  # cleared once sent; history is kept:
    assert [a.smtp_code for a in result.transcripts] == [451, 250]


def test_550_on_rcpt_fails_at_once_and_can_be_retried_by_hand(home: Home) -> None:
    with FaultServer(script(rcpt=["550 5.1.1 no such mailbox"])) as srv:
        result = run_one(home, srv)
        assert srv.accepted == []
        assert result.status is Status.FAILED
        assert result.attempts == 1
        error = result.last_error
        assert error is not None
        assert (error.code, error.stage, error.smtp_code) == (
            "RECIPIENT_REJECTED",
            "rcpt_to",
            550,
        )
        assert error.reply == "5.1.1 no such mailbox"
        assert error.message("pl") and error.message("en")
        assert error.message("pl") != error.message("en")
        assert error.hint("pl") and error.hint("en")

        queue = Queue(home.queue_file)
        assert queue.retry(result.id)
        Worker(home, config=FAST, settings=plain_settings(srv)).drain(timeout=10)
        again = queue.get(result.id)
        assert again is not None and again.status is Status.SENT
        assert srv.message_ids() == [result.message_id]  # same Message-ID


def test_552_after_data_fails_with_its_reason(home: Home) -> None:
    with FaultServer(script(end=["552 5.3.4 message size exceeds limit"])) as srv:
        result = run_one(home, srv)
        assert srv.accepted == []
    assert result.status is Status.FAILED
    assert result.attempts == 1
    assert result.last_error is not None
    assert result.last_error.code == "MESSAGE_REJECTED"
    assert result.last_error.stage == "data"
    assert result.last_error.smtp_code == 552


def test_a_connection_dropped_in_data_is_retried(home: Home) -> None:
    with FaultServer(script(data=["DROP_MID"])) as srv:
        result = run_one(home, srv)
        assert srv.message_ids() == [result.message_id]
    assert result.status is Status.SENT
    assert result.attempts == 2
    assert result.transcripts[0].outcome == "retry"


def test_a_silent_server_is_bounded_by_the_timeout(home: Home) -> None:
    with FaultServer(script(end=["STALL"])) as srv:
        started = time.monotonic()
        result = run_one(home, srv, timeout=1.0)
        elapsed = time.monotonic() - started
        assert srv.message_ids() == [result.message_id]
    assert result.status is Status.SENT
    assert result.attempts == 2
    assert 1.0 <= elapsed < 8
    assert result.transcripts[0].outcome == "retry"


def test_temporary_failures_stop_at_the_attempt_limit(home: Home) -> None:
    busy = ["451 4.7.1 slow down"] * 10
    with FaultServer(script(rcpt=busy)) as srv:
        result = run_one(home, srv)
        assert srv.accepted == []
    assert result.status is Status.FAILED
    assert result.attempts == FAST.max_attempts
    assert result.last_error is not None
    assert result.last_error.code == "TEMPORARY_FAILURE"
    assert [a.outcome for a in result.transcripts] == ["retry", "retry", "failed"]


# -- real worker processes -------------------------------------------------


def worker_env(home: Home) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "BPMNB_HOME": str(home.root),
            "BPMNB_SECRET_BACKEND": "file",
            "BPMNB_BACKOFF_BASE": "0.05",
            "BPMNB_BACKOFF_CAP": "0.2",
            "BPMNB_WORKER_POLL": "0.05",
        }
    )
    return env


def start_worker(home: Home, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BPMNB), "--home", str(home.root), "worker", *args],
        env=worker_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_killed_worker_loses_nothing(
    home: Home, processes: list[subprocess.Popen[bytes]]
) -> None:
    with FaultServer(script(end=["STALL"])) as srv:
        storage.save(home, plain_settings(srv, timeout=30.0))
        queue = Queue(home.queue_file)
        ids = queue.enqueue_many(mail(i) for i in range(3))
        first = start_worker(home, "--lease", "1.5")
        processes.append(first)
        # The server holds back its reply to the first DATA: the kill lands
        # after the content went out and before any acceptance.
        assert srv.data_started.wait(20)
        assert queue.get(ids[0]).status is Status.SENDING  # type: ignore[union-attr]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert queue.get(ids[0]).status is Status.SENDING  # type: ignore[union-attr]

        second = start_worker(home, "--lease", "1.5")
        processes.append(second)
        assert wait_for(lambda: queue.counts()[Status.SENT] == 3, 30)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
        received = collections.Counter(srv.message_ids())
    rows = [queue.get(i) for i in ids]
    assert all(r is not None and r.status is Status.SENT for r in rows)
    assert received == collections.Counter(r.message_id for r in rows if r)
    assert max(received.values()) == 1
    assert rows[0] is not None and rows[0].attempts == 2  # the killed try counts


def test_two_workers_never_send_one_message_twice(
    home: Home, processes: list[subprocess.Popen[bytes]]
) -> None:
    with FaultServer() as srv:
        storage.save(home, plain_settings(srv))
        queue = Queue(home.queue_file)
        workers = [start_worker(home, "--batch", "5") for _ in range(2)]
        processes.extend(workers)
        for proc in workers:  # both announce themselves before the race
            assert proc.stderr is not None
            assert proc.stderr.readline()
        ids = queue.enqueue_many(mail(i) for i in range(100))
        expected = {queue.get(i).message_id for i in ids}  # type: ignore[union-attr]
        assert wait_for(lambda: queue.counts()[Status.SENT] == 100, 60)
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(15) for proc in workers] == [0, 0]
        received = collections.Counter(srv.message_ids())
        connections = srv.connections
    assert set(received) == expected
    assert set(received.values()) == {1}
    assert connections >= 2  # both workers took part
    assert all(queue.get(i).attempts == 1 for i in ids)  # type: ignore[union-attr]


def test_sigterm_stops_after_the_message_in_flight(
    home: Home, processes: list[subprocess.Popen[bytes]]
) -> None:
    with FaultServer(script(end=["SLOW:1.5"])) as srv:
        storage.save(home, plain_settings(srv, timeout=10.0))
        queue = Queue(home.queue_file)
        ids = queue.enqueue_many(mail(i) for i in range(3))
        proc = start_worker(home)
        processes.append(proc)
        assert srv.data_started.wait(20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        received = srv.message_ids()
    rows = [queue.get(i) for i in ids]
    assert rows[0] is not None and rows[0].status is Status.SENT
    assert received == [rows[0].message_id]
    for row in rows[1:]:
        assert row is not None
        assert row.status is Status.QUEUED
        assert row.attempts == 0  # handed back unspent
