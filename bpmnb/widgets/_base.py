"""What every widget section shares: bilingual labels, an error area that
catches what a callback raises, and HTML escaping.

A click handler that raises inside a kernel only reaches the kernel log,
which a user of a notebook (and certainly of the Voila page) never sees; so
every callback runs through :meth:`Section.guarded`, which puts the failure
in the section's own error area.
"""

from __future__ import annotations

import functools
import html
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as w

from bpmnb.errors import BpmnbError
from bpmnb.i18n import Lang, default_lang, text

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def esc(value: object) -> str:
    """``value`` safe to place inside HTML (user data goes through here)."""
    return html.escape(str(value), quote=True)


def css(widget: Any, *names: str) -> Any:
    """Give ``widget`` stable CSS classes, for the browser test and styling."""
    for name in names:
        widget.add_class(name)
    return widget


def show(widget: Any, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


class Section:
    """A titled block of widgets with relabelling and a shared error area."""

    def __init__(self, lang: Lang | None = None) -> None:
        self.lang: Lang = lang or default_lang()
        self._labels: list[tuple[Any, str, str]] = []
        self.error_area = css(w.HTML(""), "bpmnb-error")
        self._error: BaseException | None = None

    def t(self, key: str, **fields: object) -> str:
        return text(key, self.lang, **fields)

    def label(self, widget: Any, attr: str, key: str) -> Any:
        """Set ``widget.attr`` to the text of ``key`` now and after relabelling."""
        self._labels.append((widget, attr, key))
        setattr(widget, attr, self.t(key))
        return widget

    def heading(self, key: str) -> Any:
        """A section title (a bold label, relabelled with the language)."""
        title = w.Label(style={"font_weight": "bold", "font_size": "15px"})
        return self.label(css(title, "bpmnb-heading"), "value", key)

    def set_lang(self, lang: Lang) -> None:
        self.lang = lang
        for widget, attr, key in self._labels:
            setattr(widget, attr, self.t(key))
        if self._error is not None:  # the shown error, now in ``lang``
            self.show_error(self._error)

    def show_error(self, exc: BaseException) -> None:
        """Put ``exc`` where the user sees it: our own errors in their words,
        anything else by type and text (never a secret: see bpmnb.errors)."""
        self._error = exc
        if isinstance(exc, BpmnbError):
            try:
                body = f"{exc.message(self.lang)} {exc.hint(self.lang)}"
            except KeyError:
                body = str(exc)
        else:
            body = self.t("ui.error", error=f"{type(exc).__name__}: {exc}")
        self.error_area.value = f'<div class="bpmnb-error-text">{esc(body)}</div>'

    def clear_error(self) -> None:
        self._error = None
        self.error_area.value = ""

    def guarded(self, func: F) -> F:
        """``func`` as a callback whose exceptions land in the error area."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                log.debug("callback %s failed", func.__name__, exc_info=True)
                self.show_error(exc)
                return None

        return wrapper  # type: ignore[return-value]

    def in_background(self, func: Callable[[], None], name: str) -> threading.Thread:
        """Run ``func`` in a thread so the page stays responsive; its failures
        are shown like a callback's."""
        thread = threading.Thread(target=self.guarded(func), name=name, daemon=True)
        thread.start()
        return thread


def row(label: Any, field: Any, note: Any, name: str) -> Any:
    """One form line: label, input, and the findings about that input."""
    label.layout = w.Layout(width="300px", min_width="300px")
    box = w.HBox([label, w.VBox([field, note])])
    return css(box, "bpmnb-row", f"bpmnb-row-{name}")
