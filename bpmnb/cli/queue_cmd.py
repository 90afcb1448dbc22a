"""``bpmnb queue list|show|retry|cancel|purge`` and ``bpmnb worker``.

Exit codes: 0 done, 1 the operation could not be done (no such message, or
not in a state that allows it), 2 bad usage.
"""

from __future__ import annotations

import time

import click

from bpmnb.cli import EXIT_FAILED, EXIT_OK, CliContext, echo_json, pass_ctx
from bpmnb.i18n import Lang, text
from bpmnb.queue import Queue, QueuedMessage, Status
from bpmnb.settings import AccountSettings
from bpmnb.worker import Worker, WorkerConfig, install_signal_handlers


def _local(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _label(status: Status, lang: Lang) -> str:
    return text(f"queue.label.{status}", lang)


def _row(message: QueuedMessage, lang: Lang) -> str:
    error = message.last_error.code if message.last_error else ""
    return "  ".join(
        [
            f"{message.id:>6}",
            f"{_label(message.status, lang):<10}",
            f"{message.attempts:>3}",
            f"{', '.join(message.recipients)[:32]:<32}",
            f"{message.subject[:40]:<40}",
            error,
        ]
    ).rstrip()


def _missing(ctx: CliContext, message_id: int, as_json: bool) -> None:
    if as_json:
        echo_json({"ok": False, "id": message_id, "error": "not_found"})
    else:
        click.echo(text("queue.cli.not_found", ctx.lang, id=message_id), err=True)
    raise SystemExit(EXIT_FAILED)


# SQLite integers are signed 64-bit: a larger number cannot name a message
# (and would overflow in the driver), so click refuses it as a bad value.
MESSAGE_ID = click.IntRange(min=1, max=2**63 - 1)


@click.group("queue")
def queue_group() -> None:
    """Inspect and manage the outgoing mail queue."""


@queue_group.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in Status]),
    default=None,
    help="Only messages in this state.",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def list_cmd(ctx: CliContext, status: str | None, limit: int, as_json: bool) -> None:
    """The most recent messages first."""
    queue = Queue(ctx.home.queue_file)
    messages = queue.recent(limit=limit, status=Status(status) if status else None)
    if as_json:
        echo_json([m.as_json() for m in messages])
        return
    if not messages:
        click.echo(text("queue.cli.empty", ctx.lang))
        return
    lang = ctx.lang
    header = "  ".join(
        [
            f"{text('queue.col.id', lang):>6}",
            f"{text('queue.col.status', lang):<10}",
            f"{text('queue.col.attempts', lang):>3}",
            f"{text('queue.col.recipients', lang):<32}",
            f"{text('queue.col.subject', lang):<40}",
            text("queue.col.error", lang),
        ]
    )
    click.echo(header)
    for message in messages:
        click.echo(_row(message, lang))


@queue_group.command("show")
@click.argument("message_id", type=MESSAGE_ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def show_cmd(ctx: CliContext, message_id: int, as_json: bool) -> None:
    """One message: state, last error with a hint, transcripts of attempts."""
    from bpmnb.cli.send_cmd import describe

    message = Queue(ctx.home.queue_file).get(message_id)
    if message is None:
        _missing(ctx, message_id, as_json)
        return
    settings = _saved_settings(ctx)
    if as_json:
        echo_json(message.as_json(with_transcripts=True, settings=settings))
        return
    lang = ctx.lang
    click.echo(f"{text('queue.col.id', lang)}: {message.id}  {message.message_id}")
    click.echo(f"{text('queue.col.subject', lang)}: {message.subject}")
    click.echo(f"{text('queue.col.recipients', lang)}: {', '.join(message.recipients)}")
    click.echo(f"{text('queue.col.status', lang)}: {_label(message.status, lang)}")
    click.echo(f"{text('queue.col.attempts', lang)}: {message.attempts}")
    if message.status is Status.QUEUED:
        click.echo(f"{text('queue.col.next', lang)}: {_local(message.next_attempt_at)}")
    lines = describe(message, lang)
    error = message.last_error
    if settings is not None and error is not None:
        # describe() ends with the generic hint; the saved settings name the
        # provider, whose own advice (Office 365's exact steps) comes first.
        generic = error.hint(lang)
        if generic and lines and lines[-1] == generic:
            lines[-1] = error.hint(lang, settings=settings)
    for line in lines:
        click.echo(line)
    for attempt in message.transcripts:
        click.echo("")
        click.echo(text("queue.col.transcript", lang, n=attempt.number))
        click.echo(attempt.transcript)


def _saved_settings(ctx: CliContext) -> AccountSettings | None:
    """The saved settings, for provider-aware hints (None when there are
    none or they cannot be read: the generic hint is shown then)."""
    from bpmnb import storage
    from bpmnb.errors import BpmnbError

    try:
        return storage.load(ctx.home)
    except (BpmnbError, OSError, ValueError):
        return None


@queue_group.command("retry")
@click.argument("message_id", type=MESSAGE_ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def retry_cmd(ctx: CliContext, message_id: int, as_json: bool) -> None:
    """Send a failed (or cancelled) message again."""
    _change(ctx, message_id, as_json, "retry")


@queue_group.command("cancel")
@click.argument("message_id", type=MESSAGE_ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def cancel_cmd(ctx: CliContext, message_id: int, as_json: bool) -> None:
    """Cancel a message that has not been sent yet."""
    _change(ctx, message_id, as_json, "cancel")


def _change(ctx: CliContext, message_id: int, as_json: bool, action: str) -> None:
    queue = Queue(ctx.home.queue_file)
    before = queue.get(message_id, transcripts=False)
    if before is None:
        _missing(ctx, message_id, as_json)
        return
    done = queue.retry(message_id) if action == "retry" else queue.cancel(message_id)
    after = queue.get(message_id, transcripts=False)
    assert after is not None
    if done:
        key = "queue.cli.retried" if action == "retry" else "queue.cli.cancelled"
    else:
        key = (
            "queue.cli.not_retriable"
            if action == "retry"
            else "queue.cli.not_cancellable"
        )
    fields = {"id": message_id, "status": _label(before.status, ctx.lang)}
    if as_json:
        data = after.as_json()
        data["ok"] = done
        data["text"] = {
            "pl": text(key, "pl", **{**fields, "status": _label(before.status, "pl")}),
            "en": text(key, "en", **{**fields, "status": _label(before.status, "en")}),
        }
        echo_json(data)
    else:
        click.echo(text(key, ctx.lang, **fields), err=not done)
    raise SystemExit(EXIT_OK if done else EXIT_FAILED)


@queue_group.command("purge")
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    required=True,
    metavar="DAYS",
    help="Remove finished messages last changed more than DAYS ago.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def purge_cmd(ctx: CliContext, older_than: float, as_json: bool) -> None:
    """Remove sent, failed and cancelled messages older than DAYS."""
    count = Queue(ctx.home.queue_file).purge(older_than)
    if as_json:
        echo_json({"ok": True, "purged": count})
    else:
        click.echo(text("queue.cli.purged", ctx.lang, count=count))


@click.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, then exit.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Messages claimed at once (default 20).",
)
@click.option(
    "--backoff-base",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds before the first retry; doubles each time (default 30).",
)
@click.option(
    "--backoff-cap",
    type=click.FloatRange(min=0),
    default=None,
    help="Longest wait between retries in seconds (default 3600).",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=None,
    help="Attempts before a temporary failure counts as failed (default 8).",
)
@click.option(
    "--lease",
    "lease_seconds",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds a claim stays valid (default 120 or $BPMNB_LEASE_SECONDS).",
)
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Longest idle sleep in seconds before looking again (default 1).",
)
@pass_ctx
def worker_cmd(
    ctx: CliContext,
    once: bool,
    batch: int | None,
    backoff_base: float | None,
    backoff_cap: float | None,
    max_attempts: int | None,
    lease_seconds: float | None,
    poll: float | None,
) -> None:
    """Deliver queued messages until SIGTERM/SIGINT (or, with --once, until
    nothing is due)."""
    config = WorkerConfig.from_env(
        batch=batch,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        max_attempts=max_attempts,
        lease_seconds=lease_seconds,
        poll=poll,
    )
    ctx.home.ensure()
    worker = Worker(ctx.home, config=config)
    restore = install_signal_handlers(worker)
    click.echo(
        text("queue.cli.worker_started", ctx.lang, path=worker.queue.path), err=True
    )
    try:
        if once:
            worker.once()
        else:
            worker.run()
    finally:
        restore()
    click.echo(
        text(
            "queue.cli.worker_stopped",
            ctx.lang,
            sent=worker.sent,
            retried=worker.retried,
            failed=worker.failed,
        ),
        err=True,
    )


def register(group: click.Group) -> None:
    """Add ``queue`` and ``worker`` to ``group``."""
    group.add_command(queue_group)
    group.add_command(worker_cmd)
