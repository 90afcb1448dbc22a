"""Notebook widgets for the "Serwer pocztowy" tab.

:func:`page` puts the whole tab on one page (the settings form with provider
presets, the connection check, the test message and, while a sandbox runs,
what it received); the sections are usable on their own in walkthrough
notebooks. Every widget carries a stable ``bpmnb-*`` CSS class so the page
can be driven in a browser.
"""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as w

from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang
from bpmnb.settings import AccountSettings
from bpmnb.widgets._base import css
from bpmnb.widgets.check_view import ConnectionCheck
from bpmnb.widgets.form import SettingsForm
from bpmnb.widgets.presets_bar import PresetsBar
from bpmnb.widgets.sandbox_view import SandboxView
from bpmnb.widgets.test_message import TestMessage
from bpmnb.widgets.walkthrough import arrivals

APP_ENV = "BPMNB_APP"
"""Set by ``bpmnb app`` for the page's kernels: the page is then used by
clicking, and code cells that would send on their own stay idle."""

__all__ = [
    "ConnectionCheck",
    "Page",
    "PresetsBar",
    "SandboxView",
    "SettingsForm",
    "TestMessage",
    "page",
]


class Page:
    """The whole tab, wired together: saving refreshes what depends on it."""

    def __init__(
        self,
        home: Home | None = None,
        *,
        lang: Lang | None = None,
        settings: AccountSettings | None = None,
        to: str = "",
        subject: str = "",
    ) -> None:
        self.home = home or Home.resolve()
        lang = lang or default_lang()
        self.form = SettingsForm(self.home, lang=lang, settings=settings)
        saved = self.form.settings()
        to = to or (saved.sender if saved is not None else "")
        self.presets = PresetsBar(self.form)
        self.form.presets_slot.children = (self.presets.widget,)
        self.check = ConnectionCheck(self.home, lang=lang, settings=self._current)
        self.test = TestMessage(
            self.home, lang=lang, settings=self._current, to=to, subject=subject
        )
        self.sandbox = SandboxView(self.home, lang=lang)
        self.form.on_saved.append(lambda _s: self._after_save())
        self.test.on_done.append(lambda _m: self.sandbox.refresh())

        self.lang_switch = css(
            w.ToggleButtons(options=[("PL", "pl"), ("EN", "en")], value=lang),
            "bpmnb-lang",
        )
        self.lang_switch.style.button_width = "48px"
        self.lang_switch.observe(
            self.form.guarded(lambda change: self.set_lang(change["new"])),
            names="value",
        )
        self.widget = css(
            w.VBox(
                [
                    self.lang_switch,
                    self.form.widget,
                    self.check.widget,
                    self.test.widget,
                    self.sandbox.widget,
                ]
            ),
            "bpmnb-page",
        )

    def _current(self) -> AccountSettings | None:
        """What the form holds when it can be used, else the saved settings."""
        return self.form.settings()

    def _after_save(self) -> None:
        self.presets.update_sandbox()
        self.sandbox.refresh()

    def set_lang(self, lang: Lang) -> None:
        for section in (self.form, self.presets, self.check, self.test, self.sandbox):
            section.set_lang(lang)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def run_test(self, subject: str) -> None:
        """Do what "Wyślij wiadomość" does, from a code cell, and print the
        outcome; idle inside ``bpmnb app``, where a page load must not send."""
        if os.environ.get(APP_ENV):
            return
        self.test.fields["subject"].value = subject
        state = self.test.send()
        if state is not None:
            print(state.status_text(self.form.lang))
        else:
            print(self.test.outcome.value or self.test.notes["to"].value)
        print(arrivals(subject, self.home, self.form.lang))


def page(home: Home | None = None, *, lang: Lang | None = None) -> Page:
    """The "Serwer pocztowy" tab for ``home`` (default: ``$BPMNB_HOME``)."""
    return Page(home, lang=lang)
