"""The mail queue: one SQLite file (WAL) under the home directory.

Nothing that enters the queue may be lost, so the queue keeps the built
message bytes from the moment of :meth:`Queue.enqueue` (the Message-ID stays
the same across attempts) and a message leaves the ``queued`` state only by
an atomic claim. A claim is a *lease*: it names the worker and an expiry; a
worker that dies mid-send simply lets the lease run out and another worker
takes the message again. Delivery is therefore *at least once*: a duplicate
is possible only when a worker dies between the server's acceptance of DATA
(RFC 5321 section 4.1.1.4, the final 250) and the status update.

Every state change is one short write transaction; SQLite's single writer
lock (``BEGIN IMMEDIATE``) makes a claim atomic across processes, so two
workers never claim the same message while its lease is valid.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy
from email.utils import getaddresses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpmnb.errors import BpmnbError, Code, Stage
from bpmnb.i18n import Lang, Msg, both, default_lang, text

if TYPE_CHECKING:
    from bpmnb.settings import AccountSettings

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 120.0
"""How long a claim stays valid; longer than one batch with the settings'
timeout, short enough that a crashed worker's messages move on soon."""


class Status(StrEnum):
    """Where a message stands."""

    QUEUED = "queued"  # waiting (possibly held until next_attempt_at)
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"  # the server accepted DATA (250)
    FAILED = "failed"  # permanent reply, or the attempt limit was reached
    CANCELLED = "cancelled"  # cancelled by hand before it was sent


class Hold(StrEnum):
    """Why a queued message waits without an attempt being spent on it."""

    SENDING_DISABLED = "sending_disabled"  # "Włącz wysyłanie" = Nie
    DAILY_CAP = "daily_cap"  # settings.daily_cap reached for the last 24 h
    RATE = "rate"  # settings.rate_per_minute reached for the last minute
    NO_SETTINGS = "no_settings"  # no saved account settings to send with
    # The server refused the account itself (AUTH, TLS, certificate): every
    # message would fail the same way until the settings are corrected.
    ACCOUNT_ERROR = "account_error"


@dataclass(frozen=True)
class LastError:
    """The last failure of a message, as stored.

    ``code`` is a :class:`bpmnb.errors.Code`; the explanation and the fix come
    from the catalogue (``diagnosis.<CODE>`` and ``diagnosis.<CODE>.hint``)
    through :class:`BpmnbError`, so they are always in both languages.
    """

    code: str
    stage: str | None = None
    smtp_code: int | None = None
    reply: str | None = None
    detail: str | None = None

    @classmethod
    def from_error(cls, error: BpmnbError) -> LastError:
        return cls(
            code=str(error.code),
            stage=str(error.stage) if error.stage is not None else None,
            smtp_code=error.smtp_code,
            reply=error.smtp_reply,
            detail=error.detail,
        )

    def error(self) -> BpmnbError:
        """The stored failure as an exception (for message/hint lookups)."""
        try:
            code = Code(self.code)
        except ValueError:
            code = Code.TEMPORARY_FAILURE
        stage = None
        if self.stage is not None:
            try:
                stage = Stage(self.stage)
            except ValueError:
                stage = None
        return BpmnbError(
            code,
            stage=stage,
            smtp_code=self.smtp_code,
            smtp_reply=self.reply,
            detail=self.detail,
        )

    def message(self, lang: Lang | None = None) -> str:
        """What went wrong, in ``lang`` (the code itself if not catalogued)."""
        try:
            return self.error().message(lang)
        except KeyError:
            return self.code

    def hint(
        self, lang: Lang | None = None, *, settings: AccountSettings | None = None
    ) -> str:
        """What to do about it, in ``lang`` (empty if not catalogued).

        With the ``settings`` the message was sent with, the advice is the
        provider's (:func:`bpmnb.hints.hint_for`: Office 365's exact steps
        for its 5.7.x replies, Gmail's app password, a port the cloud shuts)
        before the generic hint; without them, only the generic hint.
        """
        try:
            if settings is not None:
                from bpmnb.hints import hint_for

                return hint_for(self.error(), settings, lang)
            return self.error().hint(lang)
        except KeyError:
            return ""

    def as_json(self, *, settings: AccountSettings | None = None) -> dict[str, object]:
        return {
            "code": self.code,
            "stage": self.stage,
            "smtp_code": self.smtp_code,
            "reply": self.reply,
            # Each refused recipient with its reply, when there were several.
            "detail": self.detail,
            "message": {"pl": self.message("pl"), "en": self.message("en")},
            "hint": {
                "pl": self.hint("pl", settings=settings),
                "en": self.hint("en", settings=settings),
            },
        }


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt and its redacted transcript (AUTH masked)."""

    number: int
    started_at: float
    finished_at: float | None
    outcome: str  # a Status value, or "retry"
    smtp_code: int | None
    transcript: str


@dataclass(frozen=True)
class QueuedMessage:
    """A row of the queue, as the CLI, widgets and notebooks see it."""

    id: int
    status: Status
    attempts: int
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    subject: str
    recipients: tuple[str, ...]
    message_id: str
    kind: str
    last_error: LastError | None
    held: Hold | None
    sent_at: float | None
    sent_reply: str | None
    transcripts: tuple[Attempt, ...] = field(default=(), repr=False)

    @property
    def done(self) -> bool:
        """True once nothing more will happen without a person acting."""
        return self.status in (Status.SENT, Status.FAILED, Status.CANCELLED)

    def status_text(self, lang: Lang | None = None) -> str:
        """One sentence saying where the message stands, in ``lang``."""
        lang = lang or default_lang()
        if self.status is Status.QUEUED and self.held is not None:
            return text(f"queue.held.{self.held}", lang)
        if self.status is Status.SENT and self.last_error is not None:
            return text("queue.status.sent_partly", lang)
        return text(f"queue.status.{self.status}", lang)

    def as_json(
        self,
        *,
        with_transcripts: bool = False,
        settings: AccountSettings | None = None,
    ) -> dict[str, object]:
        """The row as JSON; ``settings`` make the error's hint the
        provider's (see :meth:`LastError.hint`)."""
        data: dict[str, object] = {
            "id": self.id,
            "status": str(self.status),
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "sent_at": _iso(self.sent_at),
            "subject": self.subject,
            "recipients": list(self.recipients),
            "message_id": self.message_id,
            "kind": self.kind,
            "held": str(self.held) if self.held is not None else None,
            "status_text": {
                "pl": self.status_text("pl"),
                "en": self.status_text("en"),
            },
            "last_error": (
                self.last_error.as_json(settings=settings) if self.last_error else None
            ),
        }
        if with_transcripts:
            data["transcripts"] = [
                {
                    "number": a.number,
                    "started_at": _iso(a.started_at),
                    "finished_at": _iso(a.finished_at),
                    "outcome": a.outcome,
                    "smtp_code": a.smtp_code,
                    "transcript": a.transcript,
                }
                for a in self.transcripts
            ]
        return data


@dataclass(frozen=True)
class Claimed:
    """A message a worker holds under a lease, with the bytes to send."""

    id: int
    raw: bytes
    attempts: int  # including the attempt this claim starts
    message_id: str
    lease_until: float
    recipients: tuple[str, ...] = ()  # the envelope stored at enqueue

    def envelope(self) -> tuple[str, tuple[str, ...]] | None:
        """``(sender, recipients)`` for sending the stored bytes as they are
        (:meth:`bpmnb.transport.SmtpSession.send_raw`), or None when they
        cannot go out unchanged and :meth:`email` must be used instead.

        The sender is the first address of ``Sender``, else of ``From``, as
        :meth:`SmtpSession.send` takes it; the recipients are the To, Cc and
        Bcc addresses stored at enqueue. None when the message has a Bcc
        header (it must be removed before DATA), when an address has a
        non-ASCII local part (SMTPUTF8 serialisation), or when something
        is missing (the full path then reports it with its code).
        """
        if not self.recipients:
            return None
        found: dict[bytes, bytes] = {}
        for match in _ENVELOPE_HEADERS.finditer(_head(self.raw)):
            name = match.group(1).lower()
            if name == b"bcc":
                return None
            found.setdefault(name, match.group(2))
        value = found[b"sender"] if b"sender" in found else found.get(b"from")
        if value is None or not value.isascii():
            return None
        sender = _first_address(value.decode("ascii"))
        if not sender or not all(
            a.rpartition("@")[0].isascii() for a in (sender, *self.recipients)
        ):
            return None
        return sender, self.recipients

    def email(self) -> EmailMessage:
        """The stored message, ready for :meth:`SmtpSession.send`.

        It serialises to the very bytes stored at enqueue (so every attempt
        sends the same message, Message-ID included) and reads its headers
        as plain strings, which spares the per-message cost of the modern
        header parser in a worker sending thousands of messages.
        """
        # Headers only: the body is never looked at, only written back.
        # UTF-8 headers (RFC 6532, stored for a non-ASCII local part) need the
        # modern parser to read back as text rather than escaped bytes.
        utf8 = not _head(self.raw).isascii()
        parsed = BytesParser(
            StoredMessage, policy=policy.SMTPUTF8 if utf8 else policy.compat32
        ).parsebytes(self.raw, headersonly=True)
        assert isinstance(parsed, StoredMessage)
        parsed.stored = self.raw
        return parsed


class StoredMessage(EmailMessage):
    """A message parsed from queued bytes that writes those bytes back.

    ``as_bytes`` returns the stored bytes unchanged unless the message was
    modified after parsing in a way that matters (a Bcc header removed:
    :mod:`bpmnb.transport` drops Bcc before DATA), or a different policy
    than SMTP's is asked for (SMTPUTF8 for non-ASCII addresses); then the
    ordinary serialisation runs.
    """

    stored: bytes | None = None

    def __delitem__(self, name: str) -> None:
        if name in self:
            self.stored = None  # the bytes on file no longer match
        super().__delitem__(name)

    def as_bytes(self, unixfrom: bool = False, policy: Policy | None = None) -> bytes:
        if (
            self.stored is not None
            and not unixfrom
            and (policy is None or policy in _STORED_POLICIES)
        ):
            return self.stored
        return super().as_bytes(
            unixfrom=unixfrom, policy=policy if policy is not None else _SMTP_POLICY
        )


_SMTP_POLICY = policy.SMTP
# The stored bytes were written with SMTP's policy, or SMTPUTF8's when an
# address needs it (see _row); bytes of the first are valid for the second.
_STORED_POLICIES = (policy.SMTP, policy.SMTPUTF8)

# A header field with its folded continuation lines (RFC 5322 section 2.2.3).
_ENVELOPE_HEADERS = re.compile(
    rb"^(sender|from|bcc):[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_END = re.compile(rb"\n\r?\n")  # the empty line after the header


@functools.lru_cache(maxsize=256)
def _first_address(value: str) -> str:
    """The first address in a From/Sender value (remembered: a worker sends
    thousands of messages from the same one or two senders)."""
    return next((addr for _name, addr in getaddresses([value]) if addr), "")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    status TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'notification',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sent_at REAL,
    sent_reply TEXT,
    subject TEXT NOT NULL,
    recipients TEXT NOT NULL,
    message_id TEXT NOT NULL,
    raw BLOB NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    held TEXT,
    err_code TEXT,
    err_stage TEXT,
    err_smtp_code INTEGER,
    err_reply TEXT,
    err_detail TEXT
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (sent_at)
    WHERE sent_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT NOT NULL,
    smtp_code INTEGER,
    transcript TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_message ON attempts (message);
"""

_COLUMNS = (
    "id, status, attempts, next_attempt_at, created_at, updated_at, subject, "
    "recipients, message_id, kind, err_code, err_stage, err_smtp_code, "
    "err_reply, err_detail, held, sent_at, sent_reply"
)


class Queue:
    """The queue in ``path`` (normally ``home.queue_file``).

    Each method opens its own short transaction, so one :class:`Queue` may be
    shared by threads, and several processes may use one file at once.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, lease_seconds: float | None = None
    ) -> None:
        self.path = Path(path)
        self.lease_seconds = (
            lease_seconds
            if lease_seconds is not None
            else float(os.environ.get("BPMNB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
        )
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(self.path)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    # -- connections ---------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a
        # writer takes SQLite's write lock before reading what it will change.
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a process crash in WAL mode; only a power
        # loss may roll back the last commits (SQLite docs, "synchronous").
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, opened once and reused (opening one per
        statement would cost more than the statement in the worker's loop)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = self._open()
            self._local.db = db
            self._local.pid = os.getpid()
        yield db

    def close(self) -> None:
        """Close this thread's connection (others close when their thread
        ends and the connection is garbage-collected)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction. ``durable``: synced to disk at COMMIT
        (``synchronous=FULL`` for this transaction only), for what a caller
        was promised when it got an id: the enqueued message itself. The
        worker's status updates stay on NORMAL (see docs/queue.md: a status
        lost to a power cut only means the message is sent again)."""
        with self._connect() as db:
            if durable:
                db.execute("PRAGMA synchronous=FULL")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                if durable:
                    db.execute("PRAGMA synchronous=NORMAL")

    # -- adding --------------------------------------------------------------

    def enqueue(
        self,
        message: EmailMessage,
        *,
        kind: str = "notification",
        not_before: float | None = None,
    ) -> int:
        """Store ``message`` (its bytes, as built) and return its id at once."""
        return self.enqueue_many([message], kind=kind, not_before=not_before)[0]

    def enqueue_many(
        self,
        messages: Iterable[EmailMessage],
        *,
        kind: str = "notification",
        not_before: float | None = None,
    ) -> list[int]:
        """Store many messages in one transaction (fast), return their ids."""
        now = time.time()
        due = not_before if not_before is not None else now
        rows = [_row(m, kind, now, due) for m in messages]
        ids: list[int] = []
        with self._write(durable=True) as db:
            # One INSERT per row inside one transaction; RETURNING gives ids
            # without a second query (SQLite 3.35+).
            for row in rows:
                cur = db.execute(
                    "INSERT INTO messages (status, kind, next_attempt_at, "
                    "created_at, updated_at, subject, recipients, message_id, raw) "
                    "VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    row,
                )
                ids.append(int(cur.fetchone()[0]))
        log.debug("enqueued %d message(s)", len(ids))
        return ids

    def enqueue_raw_many(
        self, rows: Iterable[tuple[bytes, str, Sequence[str], str]], *, kind: str
    ) -> int:
        """Bulk insert of pre-built ``(raw, subject, recipients, message_id)``
        with ``executemany`` (the benchmark's fast path); returns the count."""
        now = time.time()
        data = (
            (kind, now, now, now, subject, json.dumps(list(rcpt)), mid, raw)
            for raw, subject, rcpt, mid in rows
        )
        with self._write(durable=True) as db:
            cur = db.executemany(
                "INSERT INTO messages (status, kind, next_attempt_at, "
                "created_at, updated_at, subject, recipients, message_id, raw) "
                "VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?)",
                data,
            )
            return cur.rowcount

    # -- reading -------------------------------------------------------------

    def get(self, message_id: int, *, transcripts: bool = True) -> QueuedMessage | None:
        """The message with ``id``, or None; with its attempts' transcripts."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
                (message_id,),
            ).fetchone()
            if row is None:
                return None
            attempts: tuple[Attempt, ...] = ()
            if transcripts:
                attempts = tuple(
                    Attempt(*a)
                    for a in db.execute(
                        "SELECT number, started_at, finished_at, outcome, "
                        "smtp_code, transcript FROM attempts WHERE message = ? "
                        "ORDER BY rowid",
                        (message_id,),
                    )
                )
        return _message(row, attempts)

    def recent(
        self, *, limit: int = 50, status: Status | None = None
    ) -> list[QueuedMessage]:
        """The most recent messages first (without transcripts)."""
        query = f"SELECT {_COLUMNS} FROM messages"  # noqa: S608
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (str(status),)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*params, limit)).fetchall()
        return [_message(r, ()) for r in rows]

    def counts(self) -> dict[Status, int]:
        """How many messages are in each status."""
        result = dict.fromkeys(Status, 0)
        with self._connect() as db:
            for status, n in db.execute(
                "SELECT status, count(*) FROM messages GROUP BY status"
            ):
                result[Status(status)] = int(n)
        return result

    def sent_since(self, since: float) -> int:
        """How many messages the server accepted after ``since`` (for caps)."""
        with self._connect() as db:
            (n,) = db.execute(
                "SELECT count(*) FROM messages WHERE sent_at >= ?", (since,)
            ).fetchone()
        return int(n)

    def oldest_sent_since(self, since: float, offset: int) -> float | None:
        """The ``offset``-th acceptance time after ``since`` (oldest first):
        when it drops out of the window, one more message may go."""
        with self._connect() as db:
            row = db.execute(
                "SELECT sent_at FROM messages WHERE sent_at >= ? "
                "ORDER BY sent_at LIMIT 1 OFFSET ?",
                (since, offset),
            ).fetchone()
        return float(row[0]) if row else None

    def next_due(self) -> float | None:
        """When the earliest waiting message becomes due (or a lease expires)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT min(t) FROM ("
                " SELECT min(next_attempt_at) AS t FROM messages"
                "  WHERE status = 'queued'"
                " UNION ALL"
                " SELECT min(lease_until) FROM messages WHERE status = 'sending')"
            ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # -- the worker's side ---------------------------------------------------

    def claim(
        self,
        owner: str,
        *,
        limit: int = 20,
        now: float | None = None,
        ids: Collection[int] | None = None,
    ) -> list[Claimed]:
        """Take up to ``limit`` due messages under a lease for ``owner``
        (only among ``ids``, when given).

        Due means queued with ``next_attempt_at`` reached, or ``sending`` with
        an expired lease (its worker died). The claim counts as an attempt.
        Atomic across processes: selecting and updating are one statement
        inside ``BEGIN IMMEDIATE``, which holds SQLite's single write lock.
        """
        now = time.time() if now is None else now
        until = now + self.lease_seconds
        only = ""
        chosen: tuple[int, ...] = ()
        if ids is not None:
            chosen = tuple(int(i) for i in ids)
            if not chosen:
                return []
            only = f" AND id IN ({', '.join('?' * len(chosen))})"
        with self._write() as db:
            # Only "?" placeholders are put into the text; the ids are bound.
            rows = db.execute(
                "UPDATE messages SET status = 'sending', lease_owner = ?, "  # noqa: S608
                "lease_until = ?, attempts = attempts + 1, updated_at = ?, "
                "held = NULL "
                # Two index searches instead of one OR: with an OR, SQLite
                # sorts every due row in a temporary B-tree on each claim,
                # which makes a large queue quadratic to drain.
                "WHERE id IN (SELECT id FROM ("
                " SELECT id FROM (SELECT id FROM messages WHERE status = 'sending'"
                f"  AND lease_until < ?{only} LIMIT ?)"
                " UNION ALL"
                " SELECT id FROM (SELECT id FROM messages WHERE status = 'queued'"
                f"  AND next_attempt_at <= ?{only}"
                "  ORDER BY next_attempt_at, id LIMIT ?)"
                ") LIMIT ?) "
                "RETURNING id, raw, attempts, message_id, recipients",
                (owner, until, now, now, *chosen, limit, now, *chosen, limit, limit),
            ).fetchall()
        claimed = [
            Claimed(int(i), bytes(r), int(a), str(m), until, _stored_recipients(rc))
            for i, r, a, m, rc in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    def renew(self, owner: str, ids: Sequence[int]) -> float:
        """Extend ``owner``'s leases on ``ids``; returns the new expiry."""
        until = time.time() + self.lease_seconds
        if ids:
            with self._write() as db:
                db.executemany(
                    "UPDATE messages SET lease_until = ? "
                    "WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                    [(until, i, owner) for i in ids],
                )
        return until

    def mark_sent(
        self,
        message_id: int,
        owner: str,
        *,
        reply: str,
        attempt: tuple[float, int | None, str],
        refused: LastError | None = None,
    ) -> None:
        """The server accepted the message. Recorded whoever holds the lease:
        acceptance is a fact, even if a slow worker's lease ran out.

        ``refused``: the server accepted the message for some recipients and
        refused the others (RCPT TO); kept as the last error of the sent
        message so the list, ``queue show`` and the form say who missed it."""
        now = time.time()
        err = refused or LastError(code="")
        with self._write() as db:
            cur = db.execute(
                "UPDATE messages SET status = 'sent', sent_at = ?, sent_reply = ?, "
                "updated_at = ?, lease_owner = NULL, lease_until = NULL, "
                "held = NULL, err_code = ?, err_stage = ?, "
                "err_smtp_code = ?, err_reply = ?, err_detail = ? "
                "WHERE id = ? RETURNING attempts",
                (
                    now,
                    reply,
                    now,
                    err.code or None,
                    err.stage,
                    err.smtp_code,
                    err.reply,
                    err.detail,
                    message_id,
                ),
            ).fetchone()
            self._attempt(db, message_id, cur, attempt, Status.SENT, now)
        log.debug("message %d sent by %s", message_id, owner)

    def mark_retry(
        self,
        message_id: int,
        owner: str,
        *,
        error: LastError,
        next_attempt_at: float,
        attempt: tuple[float, int | None, str],
    ) -> bool:
        """A temporary failure: back to ``queued`` until ``next_attempt_at``.
        Returns False when the lease was lost (another worker owns it now)."""
        return self._finish(
            message_id, owner, Status.QUEUED, error, next_attempt_at, attempt
        )

    def mark_failed(
        self,
        message_id: int,
        owner: str,
        *,
        error: LastError,
        attempt: tuple[float, int | None, str],
    ) -> bool:
        """A permanent failure (or the attempt limit): ``failed`` with reason."""
        return self._finish(message_id, owner, Status.FAILED, error, None, attempt)

    def release(
        self,
        ids: Sequence[int],
        owner: str,
        *,
        hold: Hold | None,
        next_attempt_at: float,
        error: LastError | None = None,
    ) -> None:
        """Give claimed messages back unsent, without spending an attempt
        (sending disabled, a cap reached, the worker stopping)."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE messages SET status = 'queued', attempts = attempts - 1, "
                "lease_owner = NULL, lease_until = NULL, next_attempt_at = ?, "
                "held = ?, updated_at = ? "
                "WHERE id = ? AND status = 'sending' AND lease_owner = ?",
                [
                    (next_attempt_at, str(hold) if hold else None, now, i, owner)
                    for i in ids
                ],
            )
            if error is not None:
                self._set_error(db, ids, error)

    def hold_queued(self, hold: Hold, error: LastError | None = None) -> int:
        """Mark every queued message as held for ``hold`` (so the user sees
        why nothing goes out); returns how many are waiting."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE messages SET held = ?, updated_at = ? "
                "WHERE status = 'queued' AND (held IS NOT ? OR held IS NULL) "
                "RETURNING id",
                (str(hold), time.time(), str(hold)),
            )
            ids = [int(r[0]) for r in cur.fetchall()]
            if error is not None and ids:
                self._set_error(db, ids, error)
            (n,) = db.execute(
                "SELECT count(*) FROM messages WHERE status = 'queued'"
            ).fetchone()
        return int(n)

    def hold_for_account(self, error: LastError, until: float) -> int:
        """Hold every queued message until ``until`` (or a settings change,
        :meth:`unhold`) because the account is refused, with ``error`` as
        the reason; returns how many wait. No attempt is spent."""
        with self._write() as db:
            ids = [
                int(r[0])
                for r in db.execute(
                    "UPDATE messages SET held = ?, updated_at = ?, "
                    "next_attempt_at = max(next_attempt_at, ?) "
                    "WHERE status = 'queued' RETURNING id",
                    (str(Hold.ACCOUNT_ERROR), time.time(), until),
                ).fetchall()
            ]
            if ids:
                self._set_error(db, ids, error)
        return len(ids)

    def unhold(self, hold: Hold, *, before: float | None = None) -> int:
        """Make the messages held for ``hold`` due now (the cause may be
        gone: for example the settings were corrected); with ``before``,
        only those held before that time (the settings file's change)."""
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "UPDATE messages SET held = NULL, next_attempt_at = ?, "
                "updated_at = ? WHERE status = 'queued' AND held = ? "
                "AND updated_at < ?",
                (now, now, str(hold), now if before is None else before),
            )
            return cur.rowcount

    # -- by hand -------------------------------------------------------------

    def retry(self, message_id: int) -> bool:
        """Queue a failed (or cancelled) message again, due now; its attempts
        start over. Returns False if it is not failed/cancelled."""
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "UPDATE messages SET status = 'queued', attempts = 0, "
                "next_attempt_at = ?, updated_at = ?, held = NULL "
                "WHERE id = ? AND status IN ('failed', 'cancelled')",
                (now, now, message_id),
            )
            return cur.rowcount == 1

    def cancel(self, message_id: int) -> bool:
        """Cancel a message that has not been sent and is not being sent."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE messages SET status = 'cancelled', updated_at = ?, "
                "held = NULL WHERE id = ? AND status IN ('queued', 'failed')",
                (time.time(), message_id),
            )
            return cur.rowcount == 1

    def purge(self, older_than_days: float) -> int:
        """Delete sent, failed and cancelled messages last changed more than
        ``older_than_days`` ago. Queued and sending messages are never purged."""
        cutoff = time.time() - older_than_days * 86400.0
        with self._write() as db:
            cur = db.execute(
                "DELETE FROM messages WHERE status IN ('sent', 'failed', "
                "'cancelled') AND updated_at < ?",
                (cutoff,),
            )
            return cur.rowcount

    # -- helpers -------------------------------------------------------------

    def _finish(
        self,
        message_id: int,
        owner: str,
        status: Status,
        error: LastError,
        next_attempt_at: float | None,
        attempt: tuple[float, int | None, str],
    ) -> bool:
        now = time.time()
        with self._write() as db:
            row = db.execute(
                "UPDATE messages SET status = ?, next_attempt_at = "
                "coalesce(?, next_attempt_at), updated_at = ?, lease_owner = NULL, "
                "lease_until = NULL, held = NULL "
                "WHERE id = ? AND status = 'sending' AND lease_owner = ? "
                "RETURNING attempts",
                (str(status), next_attempt_at, now, message_id, owner),
            ).fetchone()
            if row is None:
                return False
            self._set_error(db, [message_id], error)
            outcome = Status.FAILED if status is Status.FAILED else "retry"
            self._attempt(db, message_id, row, attempt, outcome, now)
        return True

    @staticmethod
    def _set_error(
        db: sqlite3.Connection, ids: Sequence[int], error: LastError
    ) -> None:
        db.executemany(
            "UPDATE messages SET err_code = ?, err_stage = ?, err_smtp_code = ?, "
            "err_reply = ?, err_detail = ? WHERE id = ?",
            [
                (
                    error.code,
                    error.stage,
                    error.smtp_code,
                    error.reply,
                    error.detail,
                    i,
                )
                for i in ids
            ],
        )

    @staticmethod
    def _attempt(
        db: sqlite3.Connection,
        message_id: int,
        row: tuple[Any, ...] | None,
        attempt: tuple[float, int | None, str],
        outcome: str,
        now: float,
    ) -> None:
        if row is None:
            return
        started, smtp_code, transcript = attempt
        db.execute(
            "INSERT INTO attempts (message, number, started_at, finished_at, "
            "outcome, smtp_code, transcript) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                int(row[0]),
                started,
                now,
                str(outcome),
                smtp_code,
                transcript,
            ),
        )


def _private(path: Path) -> None:
    """Create the queue file readable by its owner only, before SQLite opens
    it: it holds whole messages (personal data), like the secrets file.
    SQLite gives its -wal and -shm files the database file's permissions.
    A file created earlier with wider permissions is narrowed."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError:
        return  # unreadable or read-only: SQLite reports it with its own error
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        one = path.with_name(name)
        try:
            mode = one.stat().st_mode & 0o777
            if mode & 0o077:
                one.chmod(mode & 0o700)
        except OSError:
            continue  # absent, or not our file: leave it as it is


def _stored_recipients(value: object) -> tuple[str, ...]:
    try:
        data = json.loads(str(value))
    except ValueError:
        return ()
    if not isinstance(data, list):
        return ()
    return tuple(str(a) for a in data if a)


def _addresses(message: EmailMessage, *headers: str) -> list[str]:
    fields: list[str] = []
    for header in headers:
        fields.extend(str(v) for v in message.get_all(header, []))
    return [addr for _, addr in getaddresses(fields) if addr]


def _head(raw: bytes) -> bytes:
    """The header section of a stored message (up to its empty line)."""
    found_end = _HEADER_END.search(raw)
    return raw[: found_end.start() + 1] if found_end else raw


def _row(
    message: EmailMessage, kind: str, now: float, due: float
) -> tuple[object, ...]:
    message_id = str(message.get("Message-ID", ""))
    if not message_id:
        raise ValueError("a queued message needs a Message-ID (message.build sets one)")
    # A non-ASCII local part must be written as UTF-8 (RFC 6532): the SMTP
    # policy would turn it into an RFC 2047 encoded word, which section 5 of
    # RFC 2047 forbids in an address and which a server takes literally.
    recipients = _addresses(message, "To", "Cc", "Bcc")
    others = _addresses(message, "From", "Sender", "Reply-To")
    utf8 = not all(a.rpartition("@")[0].isascii() for a in [*recipients, *others])
    raw = message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    return (
        kind,
        due,
        now,
        now,
        str(message.get("Subject", "")),
        json.dumps(recipients),
        message_id,
        raw,
    )


def _message(row: tuple[Any, ...], attempts: tuple[Attempt, ...]) -> QueuedMessage:
    (
        id_,
        status,
        n,
        next_at,
        created,
        updated,
        subject,
        rcpt,
        mid,
        kind,
        code,
        stage,
        smtp_code,
        reply,
        detail,
        held,
        sent_at,
        sent_reply,
    ) = row
    error = (
        LastError(
            code=code, stage=stage, smtp_code=smtp_code, reply=reply, detail=detail
        )
        if code
        else None
    )
    status_ = Status(status)
    return QueuedMessage(
        id=int(id_),
        status=status_,
        attempts=int(n),
        next_attempt_at=float(next_at) if status_ is Status.QUEUED else None,
        created_at=float(created),
        updated_at=float(updated),
        subject=str(subject),
        recipients=tuple(json.loads(rcpt)),
        message_id=str(mid),
        kind=str(kind),
        last_error=error,
        held=Hold(held) if held else None,
        sent_at=float(sent_at) if sent_at is not None else None,
        sent_reply=sent_reply,
        transcripts=attempts,
    )


def status_label(status: Status) -> Msg:
    """The status name in both languages (for tables)."""
    return both(f"queue.label.{status}")
