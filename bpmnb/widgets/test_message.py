"""The "Wyślij testową wiadomość email" section.

The test goes through :func:`bpmnb.outbox.send_test`, the same path as
``bpmnb send-test`` and every notification: the message is handed to the
mail queue, and the section then follows its state for a bounded time
(a background thread, so the page stays usable) until the server accepted
it or the failure with its hint is known.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from bpmnb import outbox
from bpmnb.errors import SettingsError
from bpmnb.home import Home
from bpmnb.i18n import Lang, text
from bpmnb.message import Attachment, MessageError
from bpmnb.queue import QueuedMessage, Status
from bpmnb.settings import AccountSettings, DeliveryComponent
from bpmnb.widgets._base import Section, css, esc, row

DEFAULT_WAIT = 60.0
# How long a separate worker may take to pick a message up before the form
# says it seems not to run (its poll interval is a few seconds).
WORKER_PICKUP = 8.0
"""Upper bound on following one test message, in seconds. A delivery that
takes longer is still in the queue and ``bpmnb queue`` shows its fate."""


def attachments_from_upload(value: Any) -> list[Attachment]:
    """ipywidgets 8 FileUpload entries as message attachments."""
    return [
        Attachment(
            filename=str(item["name"]),
            content=bytes(item["content"]),
            content_type=str(item.get("type") or "application/octet-stream"),
        )
        for item in value
    ]


class TestMessage(Section):
    """Recipient, subject, body, attachment and "Wyślij wiadomość".

    ``settings`` supplies what to send with (the form's current settings,
    with a password just typed); when it returns None the saved settings are
    used, as in the CLI.
    """

    __test__ = False  # not a pytest class, despite the name

    def __init__(
        self,
        home: Home | None = None,
        *,
        lang: Lang | None = None,
        settings: Callable[[], AccountSettings | None] | None = None,
        to: str = "",
        subject: str = "",
        body: str = "",
    ) -> None:
        super().__init__(lang)
        self.home = home or Home.resolve()
        self._settings = settings or (lambda: None)
        self.on_done: list[Callable[[QueuedMessage | None], None]] = []
        self.last: QueuedMessage | None = None
        self.fields: dict[str, Any] = {
            "to": w.Text(value=to),
            "subject": w.Text(value=subject or outbox.default_subject(self.lang)),
            "body": w.Textarea(value=body or outbox.default_body(self.lang), rows=3),
            "attachment": w.FileUpload(multiple=False),
        }
        self.notes: dict[str, Any] = {}
        rows = []
        for name, field in self.fields.items():
            css(field, "bpmnb-field", f"bpmnb-test-{name}")
            if name != "attachment":
                field.layout = w.Layout(width="360px")
            label = self.label(
                css(w.Label(), "bpmnb-label"), "value", f"ui.test.{name}"
            )
            note = css(w.HTML(""), "bpmnb-note", f"bpmnb-note-test-{name}")
            self.notes[name] = note
            rows.append(row(label, field, note, f"test-{name}"))
        self.label(self.fields["attachment"], "description", "ui.test.attachment")
        self.send_button = self.label(
            css(w.Button(), "bpmnb-send"), "description", "ui.test.send"
        )
        self.send_button.button_style = "primary"
        self.send_button.on_click(self.guarded(lambda _b: self.start()))
        self.outcome = css(w.HTML(""), "bpmnb-outcome")
        self.title = self.heading("ui.section.test")
        self.widget = css(
            w.VBox(
                [self.title, *rows, self.send_button, self.outcome, self.error_area]
            ),
            "bpmnb-test",
        )
        self._lines: list[str] = []

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _say(self, cls: str, key: str, **fields: object) -> None:
        self._lines.append(f'<div class="{cls}">{esc(self.t(key, **fields))}</div>')
        self.outcome.value = "".join(self._lines)

    def start(self) -> None:
        """The button: send, then follow the message in a background thread."""
        self.send_button.disabled = True

        def work() -> None:
            try:
                self.send()
            finally:
                self.send_button.disabled = False

        self.in_background(work, "bpmnb-test-message")

    def send(self, wait: float = DEFAULT_WAIT) -> QueuedMessage | None:
        """Hand the test message to the queue and follow it up to ``wait``
        seconds; returns its last known state (None: it was not queued)."""
        self.clear_error()
        self._lines = []
        self.outcome.value = ""
        for note in self.notes.values():
            note.value = ""
        to = self.fields["to"].value.strip()
        if not to:
            self.notes["to"].value = esc(self.t("ui.test.need_to"))
            return None
        try:
            queue_id = outbox.send_test(
                self.home,
                to=to,
                subject=self.fields["subject"].value.strip() or None,
                body=self.fields["body"].value or None,
                attachments=attachments_from_upload(self.fields["attachment"].value),
                settings=self._settings(),
                lang=self.lang,
            )
        except SettingsError as exc:
            for finding in exc.findings:
                self._lines.append(
                    f'<div class="bpmnb-finding bpmnb-{finding.level}">'
                    f"{esc(finding.text.get(self.lang))}</div>"
                )
            self.outcome.value = "".join(self._lines)
            return None
        except MessageError as exc:
            # The message builder refuses an address, a header (CR/LF) or a
            # too-large file: say so at that field, in the form's language.
            field = "attachment" if exc.field == "attachments" else exc.field
            note = self.notes.get(field, self.notes["subject"])
            note.value = esc(exc.message(self.lang))
            return None
        except ValueError as exc:
            self.notes["subject"].value = esc(str(exc))
            return None
        finally:
            self.fields["attachment"].value = ()
        self._say("bpmnb-queued", "ui.test.queued", id=queue_id)
        return self.follow(queue_id, wait)

    def follow(self, queue_id: int, wait: float = DEFAULT_WAIT) -> QueuedMessage | None:
        """Poll the queue until the message is done or ``wait`` passes."""
        started = time.monotonic()
        deadline = started + wait
        state = outbox.status(self.home, queue_id)
        announced_sending = False
        settings = self._settings()
        elsewhere = (
            settings is not None
            and settings.delivery_component is DeliveryComponent.WORKER
        )
        while state is not None and not state.done and time.monotonic() < deadline:
            if state.status is Status.QUEUED and (
                state.attempts > 0 or state.held is not None
            ):
                break  # one attempt failed (a retry is due) or the queue holds it
            if (
                elsewhere
                and state.attempts == 0
                and time.monotonic() - started > WORKER_PICKUP
            ):
                # A running "bpmnb worker" takes a new message within its
                # poll interval; none did: say so now rather than at the end.
                break
            if state.status is Status.SENDING and not announced_sending:
                self._say("bpmnb-sending", "ui.test.sending")
                announced_sending = True
            state = outbox.wait(
                self.home, queue_id, min(1.0, deadline - time.monotonic())
            )
        self.last = state
        self._report(state)
        for callback in self.on_done:
            callback(state)
        return state

    def _report(self, state: QueuedMessage | None) -> None:
        if state is None:
            return
        if state.status is Status.SENT:
            self._say("bpmnb-sent", "ui.test.sent")
        elif state.status is Status.CANCELLED:
            self._say("bpmnb-failed", "ui.test.cancelled")
        elif state.status is Status.FAILED or state.last_error is not None:
            error = state.last_error
            message = (
                error.message(self.lang) if error else state.status_text(self.lang)
            )
            self._say("bpmnb-failed", "ui.test.failed", message=message)
            if error is not None and error.hint(self.lang):
                self._say("bpmnb-hint", "ui.test.hint", hint=error.hint(self.lang))
        else:
            label = text(f"queue.label.{state.status}", self.lang)
            self._say("bpmnb-waiting", "ui.test.waiting", status=label)
