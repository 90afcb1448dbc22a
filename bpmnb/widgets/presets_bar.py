"""Provider presets above the form, "Wykryj", and the sandbox pseudo-preset.

A preset fills only what the provider documents (server, port, encryption,
the form of the login); the user still types the password. "Wykryj" asks
:func:`bpmnb.detect.detect` about the sender's domain and offers the result
as one more preset instead of overwriting the form behind the user's back.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from bpmnb.presets import PRESETS, Preset
from bpmnb.settings import AuthMethod, Encryption
from bpmnb.widgets._base import Section, css, esc, show
from bpmnb.widgets.form import SettingsForm


class PresetsBar(Section):
    """One button per known provider, plus detection and the sandbox."""

    def __init__(self, form: SettingsForm) -> None:
        super().__init__(form.lang)
        self.form = form
        self.buttons: dict[str, Any] = {}
        for key, preset in PRESETS.items():
            button = css(
                w.Button(description=preset.name), "bpmnb-preset", f"bpmnb-preset-{key}"
            )
            button.on_click(self.guarded(lambda _b, p=preset: self.choose(p)))
            self.buttons[key] = button
        self.sandbox_button = self.label(
            css(w.Button(), "bpmnb-preset", "bpmnb-preset-sandbox"),
            "description",
            "ui.preset.sandbox",
        )
        self.sandbox_button.button_style = "info"
        self.sandbox_button.on_click(self.guarded(lambda _b: self.choose_sandbox()))
        self.detect_button = self.label(
            css(w.Button(), "bpmnb-detect"), "description", "ui.detect"
        )
        self.detect_button.on_click(
            self.guarded(lambda _b: self.in_background(self.detect, "bpmnb-detect"))
        )
        self.detect_apply = self.label(
            css(w.Button(), "bpmnb-detect-apply"), "description", "ui.detect.apply"
        )
        self.detect_apply.on_click(self.guarded(lambda _b: self._apply_detection()))
        show(self.detect_apply, False)
        self.message = css(w.HTML(""), "bpmnb-preset-message")
        self._detection: Any = None
        self.title = self.heading("ui.section.presets")
        self.widget = css(
            w.VBox(
                [
                    self.title,
                    w.HBox(
                        [*self.buttons.values(), self.sandbox_button],
                        layout=w.Layout(flex_flow="row wrap"),
                    ),
                    w.HBox([self.detect_button, self.detect_apply, self.message]),
                    self.error_area,
                ]
            ),
            "bpmnb-presets",
        )
        self.update_sandbox()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _say(self, key: str, **fields: object) -> None:
        self.message.value = esc(self.t(key, **fields))

    def choose(self, preset: Preset) -> None:
        self.form.apply_preset(preset)
        oauth = preset.auth is AuthMethod.OAUTH2_OFFICE365
        self._say(
            "ui.preset.applied_oauth" if oauth else "ui.preset.applied",
            name=preset.name,
        )

    # -- the sandbox -----------------------------------------------------------

    def _sandbox(self) -> Any:
        from bpmnb import sandbox

        return sandbox.info(self.form.home)

    def update_sandbox(self) -> None:
        """Offer the sandbox only while one runs in this home."""
        show(self.sandbox_button, self._sandbox() is not None)

    def choose_sandbox(self) -> None:
        """Point the form at the sandbox on this computer (STARTTLS, its CA);
        the account's own sender and display name are kept."""
        info = self._sandbox()
        if info is None:
            self.update_sandbox()
            self._say("ui.preset.sandbox_gone")
            return
        self.form.apply(
            host=info.host,
            port=info.starttls_port,
            encryption=Encryption.STARTTLS.value,
            auth=AuthMethod.PASSWORD.value,
            login=info.login,
            ca_file=str(info.ca_file),
        )
        self._say(
            "ui.preset.sandbox_applied",
            path=self.form.home.sandbox_dir / "sandbox.json",
        )

    # -- detection -------------------------------------------------------------

    def detect(self) -> None:
        from bpmnb import detect

        show(self.detect_apply, False)
        self._detection = None
        sender = self.form.fields["sender"].value.strip()
        if "@" not in sender:
            self._say("ui.detect.need_sender")
            return
        try:
            found = detect.detect(sender)
        except detect.AddressError as exc:
            self.message.value = esc(exc.message(self.lang))
            return
        if found is None:
            self._say("ui.detect.nothing")
            return
        name = found.provider_name or found.host
        self._detection = found
        self._say("ui.detect.found", name=name, host=found.host, port=found.port)
        show(self.detect_apply, True)

    def _apply_detection(self) -> None:
        if self._detection is None:
            return
        current = self.form.settings()
        if current is None:
            self.form.refresh()
            return
        updated = self._detection.apply(current)
        self.form.apply(
            host=updated.host,
            port=updated.port,
            encryption=updated.encryption.value,
            auth=updated.auth.value,
            login=updated.login,
        )
        show(self.detect_apply, False)
