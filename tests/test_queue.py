"""The SQLite queue on its own: storing, atomic claims, leases, hand actions."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from bpmnb.errors import Code, DeliveryError, Stage
from bpmnb.queue import Hold, LastError, Queue, Status


def mail(n: int = 0, to: str = "odbiorca@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Powiadomienia <powiadomienia@example.com>"
    msg["To"] = to
    msg["Subject"] = f"Zażółć gęślą jaźń {n}"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(f"Treść {n}\n.kropka na początku linii\n")
    return msg


def attempt() -> tuple[float, int | None, str]:
    return (time.time(), 250, "C: MAIL FROM:<x>\nS: 250 OK")


@pytest.fixture
def queue(tmp_path: Path) -> Queue:
    return Queue(tmp_path / "queue.sqlite3", lease_seconds=30)


def test_enqueue_returns_id_and_keeps_the_built_bytes(queue: Queue) -> None:
    original = mail(1)
    queue_id = queue.enqueue(original, kind="test")
    stored = queue.get(queue_id)
    assert stored is not None
    assert stored.status is Status.QUEUED
    assert stored.attempts == 0
    assert stored.kind == "test"
    assert stored.subject == "Zażółć gęślą jaźń 1"
    assert stored.recipients == ("odbiorca@example.com",)
    assert stored.message_id == original["Message-ID"]
    assert stored.last_error is None
    (claimed,) = queue.claim("w1")
    assert claimed.id == queue_id
    assert claimed.attempts == 1
    assert claimed.message_id == original["Message-ID"]
    assert claimed.email()["Message-ID"] == original["Message-ID"]
    assert claimed.raw == original.as_bytes(policy=policy.SMTP)
    # What the worker sends re-serialises to the very bytes stored.
    assert claimed.email().as_bytes(policy=policy.SMTP) == claimed.raw


def test_the_file_uses_wal(queue: Queue) -> None:
    queue.enqueue(mail())
    db = sqlite3.connect(queue.path)
    try:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    finally:
        db.close()
    assert mode == "wal"


def test_a_message_without_message_id_is_refused(queue: Queue) -> None:
    msg = mail()
    del msg["Message-ID"]
    with pytest.raises(ValueError, match="Message-ID"):
        queue.enqueue(msg)


def test_claim_takes_only_due_messages_in_order(queue: Queue) -> None:
    first = queue.enqueue(mail(1))
    later = queue.enqueue(mail(2), not_before=time.time() + 3600)
    second = queue.enqueue(mail(3))
    claimed = queue.claim("w1", limit=10)
    assert [c.id for c in claimed] == [first, second]
    assert queue.claim("w2", limit=10) == []
    pending = queue.get(later)
    assert pending is not None and pending.status is Status.QUEUED
    for c in claimed:
        current = queue.get(c.id)
        assert current is not None and current.status is Status.SENDING


def test_concurrent_claims_never_share_a_message(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    Queue(path).enqueue_many(mail(i) for i in range(300))
    results: dict[str, list[int]] = {}

    def claimer(name: str) -> None:
        q = Queue(path)  # own connections, as another process would have
        got: list[int] = []
        while batch := q.claim(name, limit=7):
            got.extend(c.id for c in batch)
        results[name] = got

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [i for got in results.values() for i in got]
    assert len(everything) == 300
    assert len(set(everything)) == 300


def test_an_expired_lease_lets_another_worker_take_the_message(tmp_path: Path) -> None:
    queue = Queue(tmp_path / "q.sqlite3", lease_seconds=0.3)
    queue_id = queue.enqueue(mail())
    assert [c.id for c in queue.claim("crashed")] == [queue_id]
    assert queue.claim("other") == []  # the lease still holds
    time.sleep(0.4)
    (again,) = queue.claim("other")
    assert again.id == queue_id
    assert again.attempts == 2
    # The crashed worker's late report must not overwrite the new owner's claim.
    error = LastError(code=str(Code.TEMPORARY_FAILURE), smtp_code=451)
    assert not queue.mark_retry(
        queue_id, "crashed", error=error, next_attempt_at=0, attempt=attempt()
    )
    queue.mark_sent(queue_id, "other", reply="250 OK", attempt=attempt())
    done = queue.get(queue_id)
    assert done is not None and done.status is Status.SENT
    assert [a.outcome for a in done.transcripts] == ["sent"]


def test_retry_then_fail_then_retry_by_hand(queue: Queue) -> None:
    queue_id = queue.enqueue(mail())
    (c,) = queue.claim("w")
    temporary = DeliveryError(
        Code.TEMPORARY_FAILURE,
        stage=Stage.RCPT_TO,
        smtp_code=451,
        smtp_reply="4.3.0 try again later",
    )
    later = time.time() + 60
    assert queue.mark_retry(
        c.id,
        "w",
        error=LastError.from_error(temporary),
        next_attempt_at=later,
        attempt=attempt(),
    )
    waiting = queue.get(queue_id)
    assert waiting is not None
    assert waiting.status is Status.QUEUED
    assert waiting.next_attempt_at == pytest.approx(later)
    assert waiting.last_error is not None
    assert waiting.last_error.smtp_code == 451
    assert waiting.last_error.stage == "rcpt_to"
    assert queue.claim("w") == []  # not due yet

    (c,) = queue.claim("w", now=later + 1)
    assert c.attempts == 2
    permanent = DeliveryError(
        Code.RECIPIENT_REJECTED,
        stage=Stage.RCPT_TO,
        smtp_code=550,
        smtp_reply="5.1.1 no such user",
    )
    assert queue.mark_failed(
        c.id, "w", error=LastError.from_error(permanent), attempt=attempt()
    )
    failed = queue.get(queue_id)
    assert failed is not None and failed.status is Status.FAILED
    assert failed.last_error is not None
    assert failed.last_error.code == "RECIPIENT_REJECTED"
    assert [a.outcome for a in failed.transcripts] == ["retry", "failed"]
    assert [a.number for a in failed.transcripts] == [1, 2]
    data = failed.as_json(with_transcripts=True)
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
        assert key in data
    err = data["last_error"]
    assert isinstance(err, dict)
    assert set(err) >= {"code", "stage", "smtp_code", "reply", "message", "hint"}
    assert set(err["message"]) == {"pl", "en"}

    assert queue.cancel(queue_id)  # a failed message may be cancelled
    assert queue.retry(queue_id)
    again = queue.get(queue_id)
    assert again is not None
    assert again.status is Status.QUEUED and again.attempts == 0
    (c,) = queue.claim("w")
    assert c.message_id == failed.message_id  # same Message-ID on every try


def test_retry_and_cancel_refuse_the_wrong_states(queue: Queue) -> None:
    queue_id = queue.enqueue(mail())
    assert not queue.retry(queue_id)  # queued: nothing to retry
    queue.claim("w")
    assert not queue.cancel(queue_id)  # in flight
    queue.mark_sent(queue_id, "w", reply="250 OK", attempt=attempt())
    assert not queue.cancel(queue_id)
    assert not queue.retry(queue_id)
    assert not queue.retry(999)


def test_release_spends_no_attempt_and_hold_is_visible(queue: Queue) -> None:
    ids = queue.enqueue_many([mail(1), mail(2)])
    claimed = queue.claim("w")
    queue.release(
        [c.id for c in claimed], "w", hold=Hold.RATE, next_attempt_at=time.time() + 30
    )
    for queue_id in ids:
        current = queue.get(queue_id)
        assert current is not None
        assert current.status is Status.QUEUED
        assert current.attempts == 0
        assert current.held is Hold.RATE
        assert "minut" in current.status_text("pl")
    disabled = LastError(code=str(Code.SENDING_DISABLED), stage="settings")
    assert queue.hold_queued(Hold.SENDING_DISABLED, disabled) == 2
    current = queue.get(ids[0])
    assert current is not None
    assert current.held is Hold.SENDING_DISABLED
    assert current.last_error is not None
    assert current.last_error.code == "SENDING_DISABLED"


def test_purge_removes_only_old_finished_messages(queue: Queue) -> None:
    sent = queue.enqueue(mail(1))
    waiting = queue.enqueue(mail(2))
    (c, _) = queue.claim("w", limit=2)
    queue.mark_sent(c.id, "w", reply="250 OK", attempt=attempt())
    assert queue.purge(1) == 0  # too recent
    with sqlite3.connect(queue.path) as db:
        db.execute("UPDATE messages SET updated_at = updated_at - 3 * 86400")
    assert queue.purge(2) == 1
    assert queue.get(sent) is None
    assert queue.get(waiting) is not None  # in flight: never purged


def test_counts_recent_and_sent_since(queue: Queue) -> None:
    ids = queue.enqueue_many(mail(i) for i in range(5))
    for c in queue.claim("w", limit=3):
        queue.mark_sent(c.id, "w", reply="250 OK", attempt=attempt())
    counts = queue.counts()
    assert counts[Status.SENT] == 3
    assert counts[Status.SENDING] == 0
    assert counts[Status.QUEUED] == 2
    assert [m.id for m in queue.recent(limit=2)] == [ids[4], ids[3]]
    assert len(queue.recent(status=Status.SENT)) == 3
    assert queue.sent_since(time.time() - 60) == 3
    assert queue.sent_since(time.time() + 1) == 0


def test_enqueue_of_many_is_one_fast_transaction(queue: Queue) -> None:
    raw = mail().as_bytes()
    started = time.perf_counter()
    n = queue.enqueue_raw_many(
        ((raw, "s", ["a@example.com"], f"<{i}@example.com>") for i in range(5000)),
        kind="bench",
    )
    elapsed = time.perf_counter() - started
    assert n == 5000
    assert queue.counts()[Status.QUEUED] == 5000
    assert elapsed < 5.0


def test_stored_bytes_go_out_unless_bcc_must_be_removed(queue: Queue) -> None:
    plain = mail(1)
    hidden = mail(2)
    hidden["Bcc"] = "ukryty@example.com"
    queue.enqueue_many([plain, hidden])
    first, second = queue.claim("w", limit=2)
    # Unchanged: exactly the bytes stored at enqueue.
    assert first.email().as_bytes(policy=policy.SMTP) == first.raw
    # The transport removes Bcc before DATA; then the message is written anew.
    outgoing = second.email()
    del outgoing["Bcc"]
    data = outgoing.as_bytes(policy=policy.SMTP)
    assert b"ukryty@example.com" not in data
    assert hidden["Message-ID"].encode() in data
    assert b"Bcc" in second.raw  # the queue keeps the recipient list
    assert "ukryty@example.com" in (queue.get(second.id).recipients)  # type: ignore[union-attr]


def test_envelope_lets_the_stored_bytes_go_out_as_they_are(queue: Queue) -> None:
    plain = mail(1, to="Odbiorca Pierwszy <odbiorca@example.com>")
    plain["Cc"] = "kopia@example.com"
    on_behalf = mail(2)
    on_behalf["Sender"] = "Asystent <asystent@example.com>"
    hidden = mail(3)
    hidden["Bcc"] = "ukryty@example.com"
    utf8 = mail(4, to="zażółć@example.com")
    queue.enqueue_many([plain, on_behalf, hidden, utf8])
    first, second, third, fourth = queue.claim("w", limit=4)
    # The envelope is the one SmtpSession.send would take from the headers.
    assert first.envelope() == (
        "powiadomienia@example.com",
        ("odbiorca@example.com", "kopia@example.com"),
    )
    assert second.envelope() == ("asystent@example.com", ("odbiorca@example.com",))
    # Bcc must be removed before DATA, and a non-ASCII local part needs the
    # SMTPUTF8 serialisation: both take the parsing path.
    assert third.envelope() is None
    assert fourth.envelope() is None


def test_last_error_hint_is_the_providers_when_settings_are_given() -> None:
    from bpmnb.settings import AccountSettings

    office365 = AccountSettings.model_validate(
        {
            "enabled": True,
            "account_name": "Office 365",
            "sender": "powiadomienia@contoso.onmicrosoft.com",
            "host": "smtp.office365.com",
            "port": 587,
            "encryption": "starttls",
            "login": "powiadomienia@contoso.onmicrosoft.com",
        }
    )
    stored = LastError.from_error(
        DeliveryError(
            Code.AUTH_DISABLED,
            stage=Stage.AUTH,
            smtp_code=535,
            smtp_reply="5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
            "is disabled for the Tenant.",
        )
    )
    generic = stored.hint("en")
    assert generic  # the catalogue's generic advice, as before
    exact = stored.hint("en", settings=office365)
    assert exact != generic and exact.endswith(generic)
    assert stored.hint("pl", settings=office365) != stored.hint("pl")
    data = stored.as_json(settings=office365)
    assert data["hint"] == {
        "pl": stored.hint("pl", settings=office365),
        "en": exact,
    }


def test_enqueue_is_synced_and_status_updates_are_not(queue: Queue) -> None:
    """Enqueue commits with synchronous=FULL (an id handed out survives a
    power cut); the connection goes back to NORMAL for the worker's
    per-message status updates, where a lost update means a resend."""
    seen: list[str] = []
    queue.enqueue(mail(1))
    db = queue._local.db
    db.set_trace_callback(seen.append)
    try:
        queue.enqueue(mail(2))
        (claimed, _) = queue.claim("w", limit=2)
        queue.mark_sent(claimed.id, "w", reply="250 OK", attempt=attempt())
    finally:
        db.set_trace_callback(None)
    pragmas = [s for s in seen if "synchronous" in s]
    assert pragmas == ["PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL"]
    assert seen.index(pragmas[0]) < seen.index("BEGIN IMMEDIATE")
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_queue_show_gives_the_providers_hint(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bpmnb import storage
    from bpmnb.cli import main
    from bpmnb.home import Home
    from bpmnb.settings import AccountSettings

    home = Home(tmp_path / "home").ensure()
    settings = AccountSettings.model_validate(
        {
            "enabled": True,
            "account_name": "Office 365",
            "sender": "powiadomienia@contoso.onmicrosoft.com",
            "host": "smtp.office365.com",
            "port": 587,
            "encryption": "starttls",
            "login": "powiadomienia@contoso.onmicrosoft.com",
            "password": "hasło-testowe",
        }
    )
    storage.save(home, settings)
    queue = Queue(home.queue_file)
    queue_id = queue.enqueue(mail(1))
    (claimed,) = queue.claim("w")
    error = DeliveryError(
        Code.AUTH_DISABLED,
        stage=Stage.AUTH,
        smtp_code=535,
        smtp_reply="5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
        "is disabled for the Tenant.",
    )
    stored = LastError.from_error(error)
    queue.mark_failed(claimed.id, "w", error=stored, attempt=attempt())
    exact = stored.hint("en", settings=settings)
    result = CliRunner().invoke(
        main, ["--home", str(home.root), "--lang", "en", "queue", "show", str(queue_id)]
    )
    assert result.exit_code == 0, result.output
    assert exact in result.output
    result = CliRunner().invoke(
        main, ["--home", str(home.root), "queue", "show", str(queue_id), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["last_error"]["hint"]["en"] == exact
