"""The worker draining the queue against real SMTP servers on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bpmnb.home import Home
from bpmnb.queue import Hold, Queue, Status
from bpmnb.worker import Worker, WorkerConfig
from tests.support.faultsmtp import FaultServer, plain_settings, script

FAST = WorkerConfig(backoff_base=0.05, backoff_cap=0.2, max_attempts=4, poll=0.05)


def mail(n: int = 0, to: str = "odbiorca@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Powiadomienia <powiadomienia@example.com>"
    msg["To"] = to
    msg["Subject"] = f"Powiadomienie {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Treść {n}\n")
    return msg


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


def test_a_batch_goes_over_one_connection(home: Home) -> None:
    with FaultServer() as server:
        queue = Queue(home.queue_file)
        ids = queue.enqueue_many(mail(i) for i in range(25))
        worker = Worker(home, config=FAST, settings=plain_settings(server))
        assert worker.drain(timeout=30) == 25
        assert server.connections == 1
        expected = [queue.get(i).message_id for i in ids]  # type: ignore[union-attr]
        assert sorted(server.message_ids()) == sorted(expected)
    for queue_id in ids:
        current = queue.get(queue_id)
        assert current is not None
        assert current.status is Status.SENT
        assert current.attempts == 1
        assert current.transcripts[0].outcome == "sent"
        assert "mail from" in current.transcripts[0].transcript.lower()
    # The first attempt's transcript includes the greeting; later ones do not
    # repeat a conversation they did not have.
    first = queue.get(ids[0])
    assert first is not None and "220" in first.transcripts[0].transcript


def test_the_worker_reconnects_when_the_server_closes(home: Home) -> None:
    with FaultServer(script(messages_per_connection=3)) as server:
        queue = Queue(home.queue_file)
        ids = queue.enqueue_many(mail(i) for i in range(10))
        worker = Worker(home, config=FAST, settings=plain_settings(server))
        worker.drain(timeout=30)
        ids_seen = server.message_ids()
        assert len(ids_seen) == 10 and len(set(ids_seen)) == 10
        assert server.connections == 4
    assert all(queue.get(i).status is Status.SENT for i in ids)  # type: ignore[union-attr]
    # A dropped idle connection is not the message's fault: no attempt spent.
    assert all(queue.get(i).attempts == 1 for i in ids)  # type: ignore[union-attr]


def test_disabled_sending_holds_messages_and_says_why(home: Home) -> None:
    with FaultServer() as server:
        queue = Queue(home.queue_file)
        queue_id = queue.enqueue(mail())
        worker = Worker(
            home, config=FAST, settings=plain_settings(server, enabled=False)
        )
        assert worker.run_once() == 0
        held = queue.get(queue_id)
        assert held is not None
        assert held.status is Status.QUEUED
        assert held.held is Hold.SENDING_DISABLED
        assert held.attempts == 0
        assert held.last_error is not None
        assert held.last_error.code == "SENDING_DISABLED"
        assert "Nie" in held.status_text("pl")
        assert server.connections == 0
        worker.use_settings(plain_settings(server))
        assert worker.drain(timeout=10) == 1
        sent = queue.get(queue_id)
        assert sent is not None and sent.status is Status.SENT
        assert sent.last_error is None and sent.held is None
        assert len(server.accepted) == 1


@pytest.mark.parametrize(
    ("limits", "hold"),
    [({"rate_per_minute": 3}, Hold.RATE), ({"daily_cap": 3}, Hold.DAILY_CAP)],
)
def test_provider_limits_hold_rather_than_fail(
    home: Home, limits: dict[str, int], hold: Hold
) -> None:
    with FaultServer() as server:
        queue = Queue(home.queue_file)
        queue.enqueue_many(mail(i) for i in range(5))
        worker = Worker(home, config=FAST, settings=plain_settings(server, **limits))
        worker.drain(timeout=2)
        assert len(server.accepted) == 3
    counts = queue.counts()
    assert counts[Status.SENT] == 3
    assert counts[Status.QUEUED] == 2
    assert counts[Status.FAILED] == 0
    waiting = queue.recent(status=Status.QUEUED)
    assert all(m.held is hold and m.attempts == 0 for m in waiting)
    # They wait until the window frees up, not a moment less.
    window = 60 if hold is Hold.RATE else 86400
    assert all(
        m.next_attempt_at is not None and m.next_attempt_at > time.time() + window - 10
        for m in waiting
    )


def test_the_in_process_thread_sends_and_stops(home: Home) -> None:
    with FaultServer() as server:
        queue = Queue(home.queue_file)
        worker = Worker(home, config=FAST, settings=plain_settings(server)).start()
        try:
            queue_id = queue.enqueue(mail())
            worker.wake()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                current = queue.get(queue_id)
                if current is not None and current.status is Status.SENT:
                    break
                time.sleep(0.02)
            assert current is not None and current.status is Status.SENT
        finally:
            worker.stop(10)
        assert not worker.alive
        assert server.message_ids() == [current.message_id]


def test_saved_settings_changes_take_effect_at_the_next_batch(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpmnb import storage

    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    with FaultServer() as server:
        storage.save(home, plain_settings(server))
        queue = Queue(home.queue_file)
        worker = Worker(home, config=FAST)  # reads the saved settings
        first = queue.enqueue(mail(1))
        assert worker.drain(timeout=10) == 1
        storage.save(home, plain_settings(server, enabled=False))
        second = queue.enqueue(mail(2))
        assert worker.run_once() == 0
        held = queue.get(second)
        assert held is not None and held.held is Hold.SENDING_DISABLED
        storage.save(home, plain_settings(server))
        assert worker.drain(timeout=10) == 1
        assert [queue.get(i).status for i in (first, second)] == [  # type: ignore[union-attr]
            Status.SENT,
            Status.SENT,
        ]
        assert len(server.accepted) == 2


class _Watching(FaultServer):
    """Notes, when each message's content starts to arrive, how many
    messages were accepted and how many the queue records as sent."""

    def __init__(self, queue: Queue) -> None:
        super().__init__()
        self.queue = queue
        self.seen: list[tuple[int, int]] = []

    async def _read_data(self, reader: asyncio.StreamReader) -> bytes:  # type: ignore[override]
        self.seen.append((len(self.accepted), self.queue.counts()[Status.SENT]))
        return await FaultServer._read_data(reader)


def test_each_acceptance_is_recorded_before_the_next_content(home: Home) -> None:
    """At-least-once with a one-message duplicate window: the status update
    of an accepted message may overlap the next MAIL FROM, but is written
    before the next message's content is sent, and the bytes that go out
    are exactly those stored at enqueue."""
    queue = Queue(home.queue_file)
    ids = queue.enqueue_many(mail(i) for i in range(12))
    with _Watching(queue) as server:
        worker = Worker(home, config=FAST, settings=plain_settings(server))
        assert worker.drain(timeout=30) == 12
        accepted = list(server.accepted)
    assert server.seen == [(k, k) for k in range(12)]
    assert all(queue.get(i).status is Status.SENT for i in ids)  # type: ignore[union-attr]
    with sqlite3.connect(home.queue_file) as db:
        stored = [
            db.execute("SELECT raw FROM messages WHERE id = ?", (i,)).fetchone()[0]
            for i in ids
        ]
    db.close()
    assert [a.data for a in accepted] == stored


def test_a_forms_unsaved_settings_deliver_only_its_own_test(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form tests values it has not saved. They send that test and nothing
    else: a message another tab or process queued goes with the saved
    settings, also when the form's kernel lives on after its tab closed."""
    from bpmnb import outbox, storage

    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    with FaultServer() as saved_server, FaultServer() as form_server:
        storage.save(home, plain_settings(saved_server))
        queue = Queue(home.queue_file)
        try:
            tested = outbox.send_test(
                home, to="odbiorca@example.com", settings=plain_settings(form_server)
            )
            outbox.wait(home, tested, 10)
            other = queue.enqueue(mail(7))
            # The form's worker finds it when it next looks at the queue (as
            # a poll would), with nobody telling it anything new.
            outbox._workers[home.root].wake()
            done = outbox.wait(home, other, 10)
            assert done.status is Status.SENT
        finally:
            outbox.stop_worker(home, 10)
        first = queue.get(tested)
        assert first is not None and first.status is Status.SENT
        assert form_server.message_ids() == [first.message_id]
        assert saved_server.message_ids() == [done.message_id]


def test_a_form_whose_values_equal_the_saved_ones_changes_nothing(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpmnb import outbox, storage

    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    with FaultServer() as server:
        storage.save(home, plain_settings(server))
        try:
            sent = outbox.send_test(
                home, to="odbiorca@example.com", settings=plain_settings(server)
            )
            assert outbox.wait(home, sent, 10).status is Status.SENT
            worker = outbox.ensure_worker(home)
            assert worker.settings is None  # the saved ones, read each cycle
        finally:
            outbox.stop_worker(home, 10)
