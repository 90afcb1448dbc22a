"""The worker that drains the mail queue over one reused SMTP connection.

Two ways to run it: ``bpmnb worker`` (a long-running process that stops
cleanly on SIGTERM/SIGINT after the message in flight) and
:meth:`Worker.start` (a daemon thread the app and notebooks use).

Each cycle claims a small batch (never all rows: memory stays flat in the
queue's size) and sends it over one :class:`bpmnb.transport.SmtpSession`,
reconnecting when the server has closed the connection. Replies decide the
outcome (RFC 5321 section 4.2.1): 2xx sent; 4xx, a lost connection or a
timeout are temporary and retried with exponential backoff and jitter up to
``max_attempts``; 5xx fails the message at once with its reason.

Delivery is at least once: see :mod:`bpmnb.queue`.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from bpmnb.errors import BpmnbError, Code, DeliveryError, Stage
from bpmnb.home import Home
from bpmnb.queue import Claimed, Hold, LastError, Queue
from bpmnb.settings import AccountSettings
from bpmnb.transport import Credential, SmtpSession, Transcript, refusal_detail

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class WorkerConfig:
    """How the worker paces itself. Tests shorten every interval."""

    backoff_base: float = 30.0  # first retry after about this many seconds
    backoff_cap: float = 3600.0  # never wait longer than this between tries
    max_attempts: int = 8  # then a temporary failure becomes "failed"
    batch: int = 20  # messages claimed at once
    poll: float = 1.0  # longest idle sleep before looking again
    lease_seconds: float | None = None  # None: the queue's default / env

    @classmethod
    def from_env(cls, **overrides: object) -> WorkerConfig:
        """Defaults, then ``BPMNB_BACKOFF_BASE``, ``BPMNB_BACKOFF_CAP``,
        ``BPMNB_MAX_ATTEMPTS``, ``BPMNB_WORKER_BATCH``, ``BPMNB_WORKER_POLL``,
        ``BPMNB_LEASE_SECONDS``, then explicit non-None ``overrides``."""
        base = cls()
        config = cls(
            backoff_base=_env_float("BPMNB_BACKOFF_BASE", base.backoff_base),
            backoff_cap=_env_float("BPMNB_BACKOFF_CAP", base.backoff_cap),
            max_attempts=int(_env_float("BPMNB_MAX_ATTEMPTS", base.max_attempts)),
            batch=int(_env_float("BPMNB_WORKER_BATCH", base.batch)),
            poll=_env_float("BPMNB_WORKER_POLL", base.poll),
            lease_seconds=(
                float(os.environ["BPMNB_LEASE_SECONDS"])
                if os.environ.get("BPMNB_LEASE_SECONDS")
                else None
            ),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(config, **given)  # type: ignore[arg-type]

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries: exponential,
        capped, with "equal jitter" so workers do not retry in lockstep."""
        delay = min(self.backoff_cap, self.backoff_base * (2 ** max(attempts - 1, 0)))
        return float(delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - not crypto


def classify(exc: BaseException) -> BpmnbError:
    """Any failure of an attempt as a :class:`BpmnbError` with a code.

    The transport raises :class:`DeliveryError`; anything else that escapes
    (a socket error it did not wrap) counts as a lost connection, which is
    temporary. Only the exception's type is kept: its text could quote data.
    """
    if isinstance(exc, BpmnbError):
        return exc
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeliveryError(Code.CONNECTION_DROPPED, detail="timeout")
    if isinstance(exc, OSError | EOFError):
        return DeliveryError(Code.CONNECTION_DROPPED, detail=type(exc).__name__)
    return DeliveryError(Code.TEMPORARY_FAILURE, detail=type(exc).__name__)


def _dropped(error: BpmnbError) -> bool:
    """True for a connection the server closed before this message's DATA was
    answered (so the message was not accepted and may be resent at once)."""
    if error.code is Code.CONNECTION_DROPPED:
        return True
    # 421: the service is closing the channel (RFC 5321 section 3.8).
    return error.smtp_code == 421


class Worker:
    """Drains the queue of ``home``.

    ``settings``/``credential`` fix what to send with (the form's values, or
    a test's); without them the saved settings are read each cycle, so a
    change (for example "Włącz wysyłanie" switched on) takes effect at once.
    """

    def __init__(
        self,
        home: Home,
        *,
        config: WorkerConfig | None = None,
        settings: AccountSettings | None = None,
        credential: Credential | None = None,
        owner: str | None = None,
    ) -> None:
        self.home = home
        self.config = config or WorkerConfig.from_env()
        self.queue = Queue(home.queue_file, lease_seconds=self.config.lease_seconds)
        self.owner = (
            owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self._settings = settings
        self._only: set[int] | None = None  # see use_settings
        self._credential = credential
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: SmtpSession | None = None
        self._transcript: Transcript | None = None
        self._session_start = 0  # transcript index where the session began
        self._session_used = 0  # messages sent on the current session
        self._hold_until = 0.0
        self._reconfigured = False
        self._unhold_account = False
        self._settings_cache: AccountSettings | None = None
        self._settings_stamp: tuple[int, int, int] | None = None
        # The status update of the last accepted message, if not yet written
        # (see _send_one: it overlaps the next message's MAIL FROM).
        self._unrecorded: Callable[[], None] | None = None
        self.sent = 0
        self.failed = 0
        self.retried = 0

    # -- control -------------------------------------------------------------

    @property
    def settings(self) -> AccountSettings | None:
        """The fixed settings in use (None: the saved ones, read each cycle)."""
        return self._settings

    def use_settings(
        self, settings: AccountSettings | None, *, only: Collection[int] | None = None
    ) -> None:
        """Send with ``settings`` from the next message on; with ``only``,
        just those messages, once each, and then the saved settings again.

        ``only`` is how a form tests values it has not saved: they must
        never deliver anything else from the shared queue (another tab's or
        another process's messages), nor outlive the test in a kernel the
        user has forgotten.
        """
        if only is not None and self._only is not None and settings == self._settings:
            only = {*self._only, *only}  # the same form values, tried again
        self._only = None if only is None else set(only)
        self._settings = settings
        self._credential = None
        # The worker thread closes its session itself before the next batch:
        # this may run in another thread while a message is in flight.
        self._reconfigured = True
        self._unhold_account = True  # new settings: try the held messages
        self.wake()

    def wake(self) -> None:
        """Look at the queue now instead of after the idle sleep."""
        self._hold_until = 0.0
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Worker:
        """Run in a daemon thread (the in-process delivery component)."""
        self._thread = threading.Thread(
            target=self.run, name=f"bpmnb-worker-{self.owner}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask to stop after the message in flight, and wait for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def request_stop(self) -> None:
        """Signal-handler safe: only sets flags."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the loop ------------------------------------------------------------

    def run(self) -> None:
        """Work until :meth:`stop`; sleep when nothing is due."""
        log.info("worker %s started on %s", self.owner, self.queue.path)
        try:
            while not self._stop.is_set():
                try:
                    done = self.run_once()
                except Exception:
                    log.exception("worker %s: cycle failed; retrying", self.owner)
                    done = 0
                if self._stop.is_set():
                    break
                if done == 0:
                    self._idle()
        finally:
            self._close()
            log.info("worker %s stopped", self.owner)

    def _idle(self) -> None:
        self._close()  # servers drop idle connections; do not hold one open
        now = time.time()
        wait = self.config.poll
        next_due = self.queue.next_due()
        if next_due is not None:
            wait = min(wait, max(next_due - now, 0.0))
        if self._hold_until > now:
            wait = max(wait, min(self._hold_until - now, self.config.poll))
        self._wake.wait(max(wait, 0.01))
        self._wake.clear()

    def run_once(self) -> int:
        """Claim and process due batches until none is left (or a hold, or a
        stop); returns how many messages reached an outcome."""
        processed = 0
        while not self._stop.is_set():
            # The settings first: saving corrected ones lifts a hold for a
            # refused account (see _saved_settings).
            settings = self._current_settings()
            if self._reconfigured:
                # New settings: do not reuse a connection made with the old.
                self._reconfigured = False
                self._close()
            if settings is None or time.time() < self._hold_until:
                break
            if self._unhold_account:
                self._unhold_account = False
                self.queue.unhold(Hold.ACCOUNT_ERROR)
            only = self._only
            batch = self.queue.claim(self.owner, limit=self.config.batch, ids=only)
            if only is not None:
                # Each message of a form's test gets one attempt with the
                # form's values; then, or if there is none to take (another
                # worker had it, or it is not due), the saved settings rule.
                only.difference_update(c.id for c in batch)
                if not batch or not only:
                    self._revert_to_saved()
                if not batch:
                    continue
            elif not batch:
                break
            processed += self._process(settings, batch)
        return processed

    def _revert_to_saved(self) -> None:
        self._only = None
        self._settings = None
        self._credential = None
        self._reconfigured = True
        # A refusal earned by the form's values says nothing of the saved
        # ones: lift the hold it put on the queue.
        self._unhold_account = True
        self._hold_until = 0.0

    def once(self) -> int:
        """Send what is due now, close the connection, return the count
        (``bpmnb worker --once``, for cron-like use)."""
        try:
            return self.run_once()
        finally:
            self._close()

    def drain(self, timeout: float = 60.0) -> int:
        """Process until nothing is due or ``timeout`` passes (for tests and
        notebooks that want a synchronous run in this thread)."""
        deadline = time.monotonic() + timeout
        total = 0
        while time.monotonic() < deadline and not self._stop.is_set():
            n = self.run_once()
            total += n
            if n == 0:
                next_due = self.queue.next_due()
                if next_due is None or next_due > time.time() + (
                    deadline - time.monotonic()
                ):
                    break
                time.sleep(min(max(next_due - time.time(), 0.01), 0.5))
        self._close()
        return total

    # -- settings and limits -------------------------------------------------

    def _current_settings(self) -> AccountSettings | None:
        settings = self._settings
        if settings is None:
            settings = self._saved_settings()
        if settings is None:
            self.queue.hold_queued(Hold.NO_SETTINGS)
            self._hold_until = time.time() + self.config.poll
            return None
        if not settings.enabled:
            # "Włącz wysyłanie" = Nie: keep everything queued and say why.
            self.queue.hold_queued(
                Hold.SENDING_DISABLED,
                LastError(code=str(Code.SENDING_DISABLED), stage=str(Stage.SETTINGS)),
            )
            self._hold_until = time.time() + self.config.poll
            log.info("sending is disabled in the settings; messages stay queued")
            return None
        return settings

    def _saved_settings(self) -> AccountSettings | None:
        """The saved settings, re-read only when the file changed (checked
        once per batch, so a switched-off account stops the next batch)."""
        from bpmnb import storage

        try:
            stat = self.home.settings_file.stat()
            stamp: tuple[int, int, int] | None = (
                stat.st_mtime_ns,
                stat.st_size,
                stat.st_ino,
            )
        except FileNotFoundError:
            stamp = None
        if stamp is None or stamp != self._settings_stamp:
            self._settings_cache = storage.load(self.home)
            self._settings_stamp = stamp
            self._credential = None
            self._reconfigured = True
            if stamp is not None:
                # Messages held because the server refused the account go
                # again if the settings were saved after they were held.
                self.queue.unhold(Hold.ACCOUNT_ERROR, before=stamp[0] / 1e9)
                self._hold_until = 0.0
        return self._settings_cache

    def _limit(self, settings: AccountSettings) -> tuple[Hold, float] | None:
        """A provider limit that forbids sending now, with when it lifts."""
        now = time.time()
        for cap, window, hold in (
            (settings.rate_per_minute, 60.0, Hold.RATE),
            (settings.daily_cap, 86400.0, Hold.DAILY_CAP),
        ):
            if cap is None:
                continue
            since = now - window
            count = self.queue.sent_since(since)
            if count >= cap:
                oldest = self.queue.oldest_sent_since(since, count - cap)
                return hold, (oldest or now) + window + 0.01
        return None

    def _credential_for(self, settings: AccountSettings) -> Credential | None:
        if self._credential is not None:
            return self._credential
        from bpmnb.credentials import for_settings

        return for_settings(settings, self.home)

    # -- sending -------------------------------------------------------------

    def _process(self, settings: AccountSettings, batch: list[Claimed]) -> int:
        try:
            return self._process_batch(settings, batch)
        finally:
            self._record_pending()

    def _record_pending(self) -> None:
        """Write the status of the last accepted message if still pending."""
        record, self._unrecorded = self._unrecorded, None
        if record is not None:
            record()

    def _process_batch(self, settings: AccountSettings, batch: list[Claimed]) -> int:
        limited = settings.rate_per_minute is not None or settings.daily_cap is not None
        processed = 0
        for index, item in enumerate(batch):
            rest = [c.id for c in batch[index:]]
            if self._stop.is_set():
                self.queue.release(
                    rest, self.owner, hold=None, next_attempt_at=time.time()
                )
                break
            if limited:
                self._record_pending()  # the limits count recorded acceptances
                blocked = self._limit(settings)
                if blocked is not None:
                    hold, until = blocked
                    self.queue.release(
                        rest, self.owner, hold=hold, next_attempt_at=until
                    )
                    self.queue.hold_queued(hold)
                    self._hold_until = until
                    log.info(
                        "provider limit %s reached; holding until %.0f", hold, until
                    )
                    break
            if time.time() > item.lease_until - self.queue.lease_seconds / 2:
                until = self.queue.renew(self.owner, rest)
                batch[index:] = [replace(c, lease_until=until) for c in batch[index:]]
                item = batch[index]
            error = self._send_one(settings, item)
            processed += 1
            if error is not None and _account_refused(error):
                # Every other message would be refused the same way (and
                # repeated failed sign-ins can get the account locked): hold
                # them, without spending attempts, until the settings change.
                until = time.time() + self.config.backoff_cap
                stored = LastError.from_error(error)
                self.queue.release(
                    [c.id for c in batch[index + 1 :]],
                    self.owner,
                    hold=Hold.ACCOUNT_ERROR,
                    next_attempt_at=until,
                    error=stored,
                )
                self.queue.hold_for_account(stored, until)
                self._hold_until = until
                log.info("the server refused the account (%s); holding", error.code)
                break
            if error is not None and error.stage in _OPEN_STAGES:
                # No connection could be made (server down, 421 at the
                # greeting, a timeout): the rest of the batch would meet the
                # same failure one by one, a connect timeout each (20 times
                # 30 s). This attempt failed for all of them: each is
                # retried with its own backoff (or fails at the attempt
                # limit), without opening another connection now.
                note = (
                    f"* not connected: the connection for message {item.id} "
                    f"of the same batch failed ({error.code})"
                )
                for other in batch[index + 1 :]:
                    self._failure(other, error, time.time(), note)
                    processed += 1
                break
        return processed

    def _open(self, settings: AccountSettings) -> SmtpSession:
        if self._session is None:
            self._transcript = Transcript()
            session = SmtpSession(
                settings, self._credential_for(settings), transcript=self._transcript
            )
            self._session_start = 0
            self._session_used = 0
            session.open()
            self._session = session
        return self._session

    def _close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # closing a dead connection is not news
                log.debug("closing the SMTP session failed", exc_info=True)

    def _transcript_text(self) -> str:
        """The session transcript since the last message (the first message
        of a connection also gets its opening). The lines are then dropped:
        one connection may carry thousands of messages, and keeping them all
        would make memory grow with the queue."""
        if self._transcript is None:
            return ""
        lines = self._transcript.lines
        text = "\n".join(f"{who}: {line}" for who, line in lines)
        del lines[:]  # in place: the session appends to this very list
        return text

    def _send_one(self, settings: AccountSettings, item: Claimed) -> BpmnbError | None:
        """One attempt; returns the failure (None when accepted)."""
        started = time.time()
        # The stored bytes go out as they are when they can (no parsing and
        # serialising per attempt); otherwise the message is parsed.
        envelope = item.envelope()
        message = item.email() if envelope is None else None
        earlier = ""  # the transcript of a reused connection found closed
        for reconnect in (False, True):
            reused = self._session is not None and self._session_used > 0
            try:
                session = self._open(settings)
                if envelope is not None:
                    result = session.send_raw(
                        item.raw,
                        envelope[0],
                        envelope[1],
                        message_id=item.message_id,
                        after_mail=self._record_pending,
                    )
                else:
                    self._record_pending()
                    assert message is not None
                    result = session.send(message)
            except Exception as exc:  # classified below; nothing escapes
                self._record_pending()
                error = classify(exc)
                text = earlier + self._transcript_text()
                self._close()
                if reused and not reconnect and _dropped(error) and _early(error):
                    # The server closed a reused connection (idle timeout, or
                    # a per-connection message limit): reconnect and resend.
                    log.debug("reused SMTP connection was closed; reconnecting")
                    earlier = text + "\n"
                    continue
                self._failure(item, error, started, text)
                return error
            self._session_used += 1
            # Accepted: the status update is written by _record_pending, at
            # the latest once the next message's MAIL FROM is on its way
            # (with pipelining, RFC 2920, its whole MAIL/RCPT/DATA group),
            # while the server works on it, and always before that
            # message's content is sent; so at most one accepted message is
            # ever unrecorded, as with an update written at once, and the
            # duplicate window of at-least-once delivery stays one message.
            reply = f"{result.smtp_code} {result.smtp_reply}".strip()
            attempt = (started, result.smtp_code, earlier + self._transcript_text())
            self._unrecorded = functools.partial(
                self.queue.mark_sent,
                item.id,
                self.owner,
                reply=reply,
                attempt=attempt,
                refused=_refused(result.refused),
            )
            self.sent += 1
            log.info(
                "message %d %s sent: %s %s",
                item.id,
                item.message_id,
                result.smtp_code,
                result.smtp_reply,
            )
            return None
        return None  # not reached: the second pass always returns

    def _failure(
        self, item: Claimed, error: BpmnbError, started: float, transcript: str
    ) -> None:
        stored = LastError.from_error(error)
        attempt = (started, error.smtp_code, transcript)
        # Every recipient refused, some for now (4xx): the transport names
        # the failure TEMPORARY_FAILURE whatever their order, so it retries.
        if error.temporary and item.attempts < self.config.max_attempts:
            delay = self.config.backoff(item.attempts)
            self.queue.mark_retry(
                item.id,
                self.owner,
                error=stored,
                next_attempt_at=time.time() + delay,
                attempt=attempt,
            )
            self.retried += 1
            log.info(
                "message %d: temporary failure %s (%s %s); retry in %.1f s",
                item.id,
                error.code,
                error.smtp_code,
                error.smtp_reply,
                delay,
            )
        else:
            self.queue.mark_failed(item.id, self.owner, error=stored, attempt=attempt)
            self.failed += 1
            log.info(
                "message %d failed: %s (%s %s)",
                item.id,
                error.code,
                error.smtp_code,
                error.smtp_reply,
            )


def _refused(refused: dict[str, tuple[int, str]]) -> LastError | None:
    """The recipients the server refused while accepting the message for the
    others, as the sent message's last error (None: nobody was refused).

    The message is not sent again for them: the accepted recipients would
    get it twice (one transaction, one Message-ID). The user sees who
    missed it and why (``queue show``, ``send-test``)."""
    if not refused:
        return None
    first_code, first_reply = next(iter(refused.values()))
    return LastError(
        code=str(Code.RECIPIENT_REJECTED),
        stage=str(Stage.RCPT_TO),
        smtp_code=first_code,
        reply=first_reply,
        detail=refusal_detail(refused),
    )


_ACCOUNT_STAGES = frozenset(
    {
        Stage.GREETING,
        Stage.EHLO,
        Stage.TLS,
        Stage.EHLO_TLS,
        Stage.AUTH_MECHS,
        Stage.AUTH,
    }
)


# Where a failure means no session could be opened at all.
_OPEN_STAGES = frozenset({Stage.DNS, Stage.CONNECT}) | _ACCOUNT_STAGES


def _account_refused(error: BpmnbError) -> bool:
    """A permanent failure before MAIL FROM: the server refused the account
    or the connection's settings (sign-in, TLS, certificate), not the
    message, so every other message would fail the same way."""
    return not error.temporary and error.stage in _ACCOUNT_STAGES


def _early(error: BpmnbError) -> bool:
    """The failure happened before DATA was sent, so resending is safe."""
    # On a reused connection the first command of a message is MAIL FROM
    # (RFC 5321 section 3.3); a drop there means DATA was never sent. With
    # pipelining (RFC 2920) DATA may have been written, but a drop before
    # MAIL FROM's reply means no 354 came, so the content was never sent.
    return error.stage is Stage.MAIL_FROM


def install_signal_handlers(worker: Worker) -> Callable[[], None]:
    """SIGTERM/SIGINT stop ``worker`` after its message in flight; returns a
    function restoring the previous handlers."""
    import signal

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: object) -> None:
        log.info("signal %d: stopping after the message in flight", signum)
        worker.request_stop()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
