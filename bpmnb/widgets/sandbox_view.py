"""What the sandbox received: the proof, on the same page, that a test
message really arrived, and over which encryption.

Shown only while a sandbox runs in the home (``bpmnb sandbox``); it reads
the sandbox's Maildir through :func:`bpmnb.sandbox.received`.
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w

from bpmnb.home import Home
from bpmnb.i18n import Lang
from bpmnb.widgets._base import Section, css, esc, show

SHOWN = 20
"""The newest messages listed; the Maildir keeps all of them."""


class SandboxView(Section):
    """A table of received messages, newest first, with "Odśwież"."""

    def __init__(self, home: Home | None = None, *, lang: Lang | None = None) -> None:
        super().__init__(lang)
        self.home = home or Home.resolve()
        self.title = self.heading("ui.section.sandbox")
        self.table = css(w.HTML(""), "bpmnb-received")
        self.refresh_button = self.label(
            css(w.Button(), "bpmnb-sandbox-refresh"),
            "description",
            "ui.sandbox.refresh",
        )
        self.refresh_button.on_click(self.guarded(lambda _b: self.refresh()))
        self.widget = css(
            w.VBox([self.title, self.refresh_button, self.table, self.error_area]),
            "bpmnb-sandbox",
        )
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def set_lang(self, lang: Lang) -> None:
        super().set_lang(lang)
        self.refresh()

    def refresh(self) -> None:
        from bpmnb import sandbox

        running = sandbox.info(self.home) is not None
        show(self.widget, running)
        if not running:
            return
        messages = list(reversed(sandbox.received(self.home)))
        if not messages:
            self.table.value = f"<p>{esc(self.t('ui.sandbox.empty'))}</p>"
            return
        head = "".join(
            f"<th>{esc(self.t(key))}</th>"
            for key in (
                "ui.sandbox.col.sender",
                "ui.test.subject",
                "ui.sandbox.col.time",
                "ui.sandbox.col.encryption",
            )
        )
        body = "".join(
            "<tr class='bpmnb-received-row'>"
            f"<td>{esc(m.from_header)}</td><td class='bpmnb-received-subject'>"
            f"{esc(m.subject)}</td><td>{esc(_when(m.received_at))}</td>"
            f"<td>{esc(m.encryption)}</td></tr>"
            for m in messages[:SHOWN]
        )
        self.table.value = f"<table><tr>{head}</tr>{body}</table>"


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
