"""Sending a test message or a notification: validate, build, queue, deliver.

This is the one high-level API the CLI, the widgets and the notebooks use.
Everything goes through the queue (:mod:`bpmnb.queue`), so nothing handed
over is lost; who delivers depends on ``settings.delivery_component``:

* ``inprocess``: this process runs a background :class:`bpmnb.worker.Worker`
  thread, started on the first send and kept per home directory;
* ``worker``: a separate ``bpmnb worker`` process drains the queue; here we
  only enqueue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bpmnb import message as message_mod
from bpmnb import rules, storage
from bpmnb.errors import SettingsError
from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.message import Attachment
from bpmnb.queue import Hold, Queue, QueuedMessage, Status
from bpmnb.settings import AccountSettings, DeliveryComponent
from bpmnb.worker import Worker, WorkerConfig

log = logging.getLogger(__name__)

TEST_KIND = "test"
NOTIFICATION_KIND = "notification"

_workers: dict[Path, Worker] = {}
_workers_lock = threading.Lock()


def default_subject(lang: Lang | None = None) -> str:
    """The catalogue's subject of a test message ("Wiadomość testowa bpmnb")."""
    return text("queue.test.subject", lang or default_lang())


def default_body(lang: Lang | None = None) -> str:
    """The catalogue's body of a test message."""
    return text("queue.test.body", lang or default_lang())


def _settings_for(home: Home, settings: AccountSettings | None) -> AccountSettings:
    """The settings to send with, checked as for sending.

    Raises :class:`SettingsError` (findings at fields) when nothing is saved
    or the rules find errors.
    """
    from bpmnb.credentials import for_settings

    chosen = settings if settings is not None else storage.load(home)
    if chosen is None:
        # Nothing saved: check an empty account so the findings name the
        # fields to fill in.
        chosen = AccountSettings()
    password_stored = False
    if chosen.password is None:
        # A damaged secret store raises its own error (naming the file):
        # "no password saved" would send the user the wrong way.
        password_stored = for_settings(chosen, home) is not None
    findings = rules.errors(
        rules.check(chosen, password_stored=password_stored, for_sending=True)
    )
    if findings:
        raise SettingsError(findings)
    return chosen


def send_test(
    home: Home,
    *,
    to: str | Sequence[str],
    subject: str | None = None,
    body: str | None = None,
    attachments: Sequence[Attachment] = (),
    settings: AccountSettings | None = None,
    lang: Lang | None = None,
) -> int:
    """Hand a test message to the mail queue and return its queue id at once.

    ``settings`` defaults to the saved ones; pass the form's settings (with a
    password just typed) to test before saving. Raises
    :class:`bpmnb.errors.SettingsError` when the settings cannot send, and
    ``ValueError`` for a header the message builder refuses. With the
    ``inprocess`` delivery component, an in-process worker makes the first
    attempt right away (see :func:`ensure_worker`).
    """
    return _send(
        home,
        kind=TEST_KIND,
        to=to,
        subject=subject if subject else default_subject(lang),
        body=body if body else default_body(lang),
        attachments=attachments,
        settings=settings,
    )


def notify(
    home: Home,
    *,
    to: str | Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    settings: AccountSettings | None = None,
) -> int:
    """Hand a system notification to the mail queue; same path as the test."""
    return _send(
        home,
        kind=NOTIFICATION_KIND,
        to=to,
        subject=subject,
        body=body,
        attachments=attachments,
        settings=settings,
    )


def _send(
    home: Home,
    *,
    kind: str,
    to: str | Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment],
    settings: AccountSettings | None,
) -> int:
    chosen = _settings_for(home, settings)
    built = message_mod.build(
        chosen, to=to, subject=subject, body=body, attachments=attachments
    )
    home.ensure()
    queue_id = Queue(home.queue_file).enqueue(built, kind=kind)
    log.info("message %d (%s) handed to the mail queue", queue_id, kind)
    if chosen.delivery_component is DeliveryComponent.INPROCESS:
        ensure_worker(home, settings=_unsaved(home, settings), only=[queue_id])
    return queue_id


def _unsaved(home: Home, settings: AccountSettings | None) -> AccountSettings | None:
    """``settings`` if they differ from the saved ones (a form testing
    values before "Zapisz", or with a password just typed), else None."""
    if settings is None or settings.password is not None:
        return settings
    try:
        saved = storage.load(home)
    except Exception:  # unreadable saved settings: keep the ones given
        return settings
    if saved is not None and saved.public_dict() == settings.public_dict():
        return None
    return settings


def ensure_worker(
    home: Home,
    *,
    settings: AccountSettings | None = None,
    only: Sequence[int] | None = None,
    config: WorkerConfig | None = None,
) -> Worker:
    """The in-process worker thread for ``home``, started if needed.

    Without ``settings`` the worker sends with the saved settings, read
    afresh each cycle. With them (a form's unsaved values, a typed
    password), it sends the messages ``only`` names with them, one attempt
    each, and goes back to the saved settings: unsaved values never deliver
    the rest of the shared queue. Without ``only``, ``settings`` stay until
    the next call (tests, a notebook driving its own worker). The queue
    stores messages, not settings, so a retry goes with the settings in
    force at that time.
    """
    key = home.root
    with _workers_lock:
        worker = _workers.get(key)
        new = worker is None or not worker.alive
        if worker is None or new:
            worker = _workers[key] = Worker(home, config=config)
        # Settings before the thread starts: its first claim must see them.
        if settings is not None or worker.settings is not None:
            worker.use_settings(settings, only=only if settings is not None else None)
        else:
            worker.wake()  # a message just queued, retried, or another process's
        if new:
            worker.start()
    return worker


def stop_worker(home: Home, timeout: float | None = 30.0) -> None:
    """Stop the in-process worker of ``home`` after its message in flight."""
    with _workers_lock:
        worker = _workers.pop(home.root, None)
    if worker is not None:
        worker.stop(timeout)


def status(home: Home, message_id: int) -> QueuedMessage | None:
    """Where the queued message ``message_id`` stands (None: no such id)."""
    return Queue(home.queue_file).get(message_id)


def wait(
    home: Home,
    message_id: int,
    timeout: float,
    *,
    until_attempted: bool = False,
    poll: float = 0.05,
) -> QueuedMessage:
    """Wait until the message is sent, failed or cancelled, or ``timeout``
    seconds pass; return where it stands then.

    Returns at once when the message is held because sending is disabled,
    nothing is saved or the server refused the account (only a person can
    change that). With
    ``until_attempted``, also return once one attempt has finished (the
    message is queued again for a retry, or held). Raises ``LookupError``
    for an unknown id.
    """
    queue = Queue(home.queue_file)
    deadline = time.monotonic() + timeout
    while True:
        current = queue.get(message_id)
        if current is None:
            raise LookupError(message_id)
        if current.done or current.held in (
            Hold.SENDING_DISABLED,
            Hold.NO_SETTINGS,
            Hold.ACCOUNT_ERROR,
        ):
            # Nothing will change until someone acts: say so now.
            return current
        if (
            until_attempted
            and current.status is Status.QUEUED
            and (current.attempts > 0 or current.held is not None)
        ):
            return current
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return current
        time.sleep(min(poll, remaining))
        poll = min(poll * 1.5, 0.5)
