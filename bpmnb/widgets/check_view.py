"""The "Sprawdź połączenie" button: the stage-by-stage diagnosis on the page.

It runs :func:`bpmnb.diagnosis.check` (the same check as ``bpmnb check``) in
a background thread and lists every stage with its duration, then the
verdict's explanation and what to do, so a user sees *where* a connection
fails, not only that it does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from bpmnb import credentials, diagnosis, storage
from bpmnb.home import Home
from bpmnb.i18n import Lang
from bpmnb.settings import AccountSettings
from bpmnb.widgets._base import Section, css, esc


class ConnectionCheck(Section):
    """A button and the report of the last check."""

    def __init__(
        self,
        home: Home | None = None,
        *,
        lang: Lang | None = None,
        settings: Callable[[], AccountSettings | None] | None = None,
    ) -> None:
        super().__init__(lang)
        self.home = home or Home.resolve()
        self._settings = settings or (lambda: None)
        self.report: diagnosis.CheckReport | None = None
        self.button = self.label(
            css(w.Button(), "bpmnb-check"), "description", "ui.check.button"
        )
        self.button.on_click(self.guarded(lambda _b: self.start()))
        self.result = css(w.HTML(""), "bpmnb-check-result")
        self.title = self.heading("ui.section.check")
        self.widget = css(
            w.VBox([self.title, self.button, self.result, self.error_area]),
            "bpmnb-check-box",
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def start(self) -> None:
        self.button.disabled = True

        def work() -> None:
            try:
                self.run()
            finally:
                self.button.disabled = False

        self.in_background(work, "bpmnb-check")

    def run(self) -> diagnosis.CheckReport | None:
        """Check the form's settings (the saved ones when the form has none)."""
        self.clear_error()
        self.result.value = esc(self.t("ui.check.running"))
        settings = self._settings() or storage.load(self.home)
        if settings is None:
            self.result.value = esc(self.t("ui.check.no_settings"))
            return None
        credential = credentials.for_settings(settings, self.home)
        self.report = diagnosis.check(settings, credential)
        self.result.value = self.render(self.report)
        return self.report

    def render(self, report: diagnosis.CheckReport) -> str:
        rows = "".join(
            f"<tr class='bpmnb-stage bpmnb-stage-{'ok' if s.ok else 'failed'}'>"
            f"<td>{esc(self._stage(s.name))}</td>"
            f"<td>{'✔' if s.ok else '✘'} {esc(s.detail)}</td>"
            f"<td>{s.ms:.0f} ms</td></tr>"
            for s in report.stages
        )
        head = "".join(
            f"<th>{esc(self.t(k))}</th>"
            for k in ("ui.check.col.stage", "ui.check.col.result", "ui.check.col.time")
        )
        if report.ok:
            verdict = f"<p class='bpmnb-check-ok'>{esc(self.t('ui.check.ok'))}</p>"
        else:
            hint = self.t("ui.test.hint", hint=report.hint(self.lang))
            verdict = (
                f"<p class='bpmnb-check-failed'>[{esc(report.code)}] "
                f"{esc(report.message(self.lang))}</p>"
                f"<p class='bpmnb-hint'>{esc(hint)}</p>"
            )
        return f"<table><tr>{head}</tr>{rows}</table>{verdict}"

    def _stage(self, name: str) -> str:
        try:
            return self.t(f"diagnosis.stage.{name}")
        except KeyError:
            return name
