"""``bpmnb send-test``: hand a test message to the mail queue, like the form.

Exit codes: 0 handed over (with ``--wait``: delivered), 1 the message failed,
is held, or no outcome came in time, 2 invalid settings or arguments.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from bpmnb import outbox, storage
from bpmnb.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliContext, echo_json, pass_ctx
from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.i18n import Lang, text
from bpmnb.message import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    MessageError,
    check_attachment_total,
)
from bpmnb.queue import Hold, QueuedMessage, Status
from bpmnb.rules import Finding
from bpmnb.settings import DeliveryComponent


def _attachments(files: tuple[str, ...]) -> list[Attachment]:
    """Read the files to attach; refuse before reading when they are too big
    together (the same rule and sentence as :func:`bpmnb.message.build`)."""
    paths = [Path(name) for name in files]
    for path in paths:
        # A device (/dev/zero) reports size 0 and never ends; opening a FIFO
        # waits for a writer. Only regular files are read.
        if not path.is_file():
            raise MessageError("delivery.attachment_not_file", "attachments", file=path)
    check_attachment_total(sum(path.stat().st_size for path in paths))
    result = []
    read = 0
    for path in paths:
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with path.open("rb") as handle:
            # A file may grow after stat: never read past the limit.
            content = handle.read(MAX_ATTACHMENT_BYTES - read + 1)
        read += len(content)
        check_attachment_total(read)
        result.append(Attachment(path.name, content, ctype))
    return result


def _refuse(
    findings: list[Finding],
    message: str,
    as_json: bool,
    lang: Lang,
    then: str | None = None,
) -> None:
    """Report findings at their fields (and ``then``, what to do) and exit 2."""
    if as_json:
        echo_json(
            {
                "ok": False,
                "code": "INVALID_SETTINGS",
                "findings": [f.as_json() for f in findings],
            }
        )
    else:
        if all(message != f.text.get(lang) for f in findings):
            click.echo(message, err=True)  # a lead sentence, not the finding again
        for finding in findings:
            click.echo(f"  {finding.field or '-'}: {finding.text.get(lang)}", err=True)
        if then:
            click.echo(then, err=True)
    raise SystemExit(EXIT_USAGE)


def describe(message: QueuedMessage, lang: Lang) -> list[str]:
    """Lines saying where ``message`` stands, with the reason and the hint."""
    lines = [message.status_text(lang)]
    error = message.last_error
    if error is not None:
        # A sent message keeps an error only for recipients the server
        # refused while accepting it for the others (listed in ``detail``).
        reply = (
            f"{error.smtp_code} {error.reply or ''}".strip() if error.smtp_code else ""
        )
        stage = f" ({error.stage})" if error.stage else ""
        lines.append(f"[{error.code}]{stage} {reply}".rstrip())
        if error.detail and (message.status is Status.SENT or not error.smtp_code):
            # Also a refusal made here, with no reply to quote: the message
            # larger than the server's SIZE (RFC 1870), say.
            lines.append(error.detail)
        lines.append(error.message(lang))
        hint = error.hint(lang)
        if hint:
            lines.append(hint)
    return lines


def _exit_code(message: QueuedMessage, waited: bool) -> int:
    if message.status is Status.SENT:
        return EXIT_OK
    if waited or message.status is Status.FAILED:
        return EXIT_FAILED
    if message.held in (Hold.SENDING_DISABLED, Hold.ACCOUNT_ERROR):
        return EXIT_FAILED
    return EXIT_OK


@click.command("send-test")
@click.option("--to", "to", required=True, multiple=True, help="Recipient address.")
@click.option("--subject", default=None, help="Subject (default from the catalogue).")
@click.option("--body", default=None, help="Body text (default from the catalogue).")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="File to attach (may repeat).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--wait", is_flag=True, help="Wait for the outcome; exit 0 only if sent.")
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds to wait for an outcome.",
)
@pass_ctx
def send_test(
    ctx: CliContext,
    to: tuple[str, ...],
    subject: str | None,
    body: str | None,
    attach: tuple[str, ...],
    as_json: bool,
    wait: bool,
    wait_timeout: float,
) -> None:
    """Hand a test message to the mail queue (as the settings form does)."""
    lang = ctx.lang
    home = ctx.home
    try:
        attachments = _attachments(attach)
        settings = storage.load(home)
        queue_id = outbox.send_test(
            home,
            to=list(to),
            subject=subject,
            body=body,
            attachments=attachments,
            settings=settings,
            lang=lang,
        )
    except SettingsError as exc:
        # A newcomer's first try: say how to get settings, not only what is
        # missing from the empty ones.
        first = None
        if not home.settings_file.exists():
            first = text("storage.nothing_saved", lang, file=home.settings_file)
        _refuse(exc.findings, exc.message(lang), as_json, lang, first)
        return
    except MessageError as exc:
        _refuse([exc.finding], exc.message(lang), as_json, lang)
        return
    except BpmnbError as exc:
        # An unreadable settings file or secret store: nothing was queued.
        if as_json:
            click.echo(
                json.dumps(
                    {"ok": False, "code": str(exc.code), "error": exc.message(lang)},
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(exc.describe(lang), err=True)
        raise SystemExit(EXIT_USAGE) from None

    component = settings.delivery_component if settings else DeliveryComponent.INPROCESS
    handed = {
        "pl": text("queue.handed", "pl", id=queue_id, to=", ".join(to)),
        "en": text("queue.handed", "en", id=queue_id, to=", ".join(to)),
    }
    if not as_json:
        click.echo(handed[lang])
    interrupted = False
    try:
        if wait:
            outbox.wait(home, queue_id, wait_timeout)
        elif component is DeliveryComponent.INPROCESS:
            outbox.wait(home, queue_id, wait_timeout, until_attempted=True)
    except KeyboardInterrupt:
        # Ctrl-C ends the wait, not the message: it stays in the queue.
        interrupted = True
    finally:
        # The in-process worker stops after the message in flight, which may
        # outlast --wait-timeout (a slow server): report where the message
        # stands once it has, not what it was when the wait ended.
        outbox.stop_worker(home)
    current = outbox.status(home, queue_id)
    assert current is not None  # only purge deletes, and never a queued one
    if interrupted and not current.done:
        label = {g: text(f"queue.label.{current.status}", g) for g in ("pl", "en")}
        said = {
            g: text("queue.wait.interrupted", g, id=queue_id, status=label[g])
            for g in ("pl", "en")
        }
        if as_json:
            data = current.as_json()
            data.update(handed=handed, ok=False, interrupted=said)
            echo_json(data)
        else:
            click.echo(said[lang], err=True)
        raise SystemExit(EXIT_FAILED)
    pending = (
        not current.done
        and current.held is None
        and (
            wait
            or (
                component is DeliveryComponent.INPROCESS
                and (current.attempts == 0 or current.status is Status.SENDING)
            )
        )
    )
    code = _exit_code(current, wait)
    if as_json:
        data = current.as_json()
        data["handed"] = handed
        data["ok"] = code == EXIT_OK
        echo_json(data)
    else:
        if component is DeliveryComponent.WORKER and not wait:
            click.echo(text("queue.handed.worker", lang))
        elif pending:
            click.echo(
                text(
                    "queue.wait.timeout",
                    lang,
                    seconds=f"{wait_timeout:g}",
                    status=text(f"queue.label.{current.status}", lang),
                )
            )
            if current.last_error is not None:
                # Still queued after failed attempts (a 451, say): why.
                for line in describe(current, lang)[1:]:
                    click.echo(line)
        else:
            for line in describe(current, lang):
                click.echo(line)
    raise SystemExit(code)


def register(group: click.Group) -> None:
    """Add ``send-test`` to ``group``."""
    group.add_command(send_test)
