"""The settings form: every field of the "Serwer pocztowy" tab, with the rules'
findings next to the field they concern, and "Zapisz".

The form holds no logic of its own about what is valid: every change runs
:func:`bpmnb.rules.parse` and :func:`bpmnb.rules.check`, and saving goes
through :func:`bpmnb.storage.save`, exactly like the CLI. Secrets typed into
the form are handed to the store on save and the boxes are emptied at once,
so the notebook file and its saved widget state never hold them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from bpmnb import rules, storage
from bpmnb.errors import BpmnbError, SettingsError
from bpmnb.home import Home
from bpmnb.i18n import Lang
from bpmnb.presets import Preset
from bpmnb.rules import Finding
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import (
    AccountSettings,
    AuthMethod,
    DeliveryComponent,
    Encryption,
    OAuthFlow,
    SecretName,
)
from bpmnb.widgets._base import Section, css, esc, row, show

log = logging.getLogger(__name__)

ACCOUNT_FIELDS: tuple[str, ...] = (
    "enabled",
    "account_name",
    "sender",
    "display_name",
    "reply_to",
    "description",
    "server_type",
    "host",
    "port",
    "encryption",
    "auth",
    "login",
    "password",
)
ADVANCED_FIELDS: tuple[str, ...] = (
    "timeout",
    "ca_file",
    "daily_cap",
    "rate_per_minute",
)
OAUTH_FIELDS: tuple[str, ...] = (
    "tenant_id",
    "client_id",
    "flow",
    "client_secret",
    "cert_file",
    "cert_thumbprint",
    "send_as",
    "authority_host",
)
_OAUTH_LABEL = {"flow": "field.oauth_flow"}
_OPTIONAL_TEXT = (
    "ca_file",
    "oauth.cert_file",
    "oauth.cert_thumbprint",
    "oauth.send_as",
)
_OPTIONAL_INT = ("daily_cap", "rate_per_minute")


def _choices(section: Section, enum: str, values: list[Any]) -> list[tuple[str, Any]]:
    return [(section.t(f"choice.{enum}.{v}"), v) for v in values]


class SettingsForm(Section):
    """The account form for ``home``; display it in a notebook cell.

    ``form.fields[name].value`` can be set from code (tests, walkthrough
    notebooks) exactly as a user would type it; ``form.save()`` is the
    "Zapisz" click.
    """

    def __init__(
        self,
        home: Home | None = None,
        *,
        lang: Lang | None = None,
        settings: AccountSettings | None = None,
        store: SecretStore | None = None,
    ) -> None:
        super().__init__(lang)
        self.home = home or Home.resolve()
        self._store = store
        self._loading = False
        # (the server and login it was looked up for, whether one is stored)
        self._password_stored: tuple[str, bool] | None = None
        self._load_problem: BpmnbError | None = None
        # What the last preset filled in, to tell it from what the user typed.
        self._from_preset: dict[str, object] = {}
        self._login_typed = False
        self._secret_stored: bool | None = None
        self.findings: list[Finding] = []
        self.on_saved: list[Callable[[AccountSettings], None]] = []

        self.fields: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        self._rows: dict[str, Any] = {}
        self._build()
        problem: BpmnbError | None = None
        if settings is None:
            try:
                settings = storage.load(self.home)
            except BpmnbError as exc:  # a damaged settings file: say so, start empty
                problem = exc
        # A damaged settings file stays on show until a save replaces it:
        # the first keystroke must not hide which file is broken.
        self._load_problem = problem
        self.load(settings)

    # -- building -----------------------------------------------------------

    def _input(self, name: str) -> Any:
        enc = [e.value for e in Encryption]
        if name == "delivery_component":
            opts = _choices(
                self, "delivery_component", [d.value for d in DeliveryComponent]
            )
            return w.Dropdown(options=opts)
        if name == "enabled":
            return w.Dropdown(
                options=[(self.t("choice.yes"), True), (self.t("choice.no"), False)]
            )
        if name == "encryption":
            return w.Dropdown(options=_choices(self, "encryption", enc))
        if name == "auth":
            return w.Dropdown(
                options=_choices(self, "auth", [a.value for a in AuthMethod])
            )
        if name == "flow":
            return w.Dropdown(
                options=_choices(self, "oauth_flow", [f.value for f in OAuthFlow])
            )
        if name == "server_type":
            return w.Text(value="SMTP", disabled=True)
        if name in ("password", "client_secret"):
            return w.Password(value="")
        if name == "description":
            return w.Textarea(value="", rows=2)
        return w.Text(value="")

    def _field(self, key: str, name: str, label_key: str) -> Any:
        """Create the input, its label and its findings area under ``key``."""
        field = css(self._input(name), "bpmnb-field", f"bpmnb-{key.replace('.', '-')}")
        field.layout = w.Layout(width="360px")
        label = self.label(w.Label(), "value", label_key)
        css(label, "bpmnb-label")
        note = css(w.HTML(""), "bpmnb-note", f"bpmnb-note-{key.replace('.', '-')}")
        self.fields[key] = field
        self.notes[key] = note
        field.observe(self.guarded(self._changed), names="value")
        line = row(label, field, note, key.replace(".", "-"))
        self._rows[key] = line
        return line

    def _build(self) -> None:
        top = [
            self._field(
                "delivery_component", "delivery_component", "field.delivery_component"
            )
        ]
        account = [self._field(n, n, f"field.{n}") for n in ACCOUNT_FIELDS]
        self.password_note = css(w.HTML(""), "bpmnb-password-state")
        self._rows["password"].children[1].children += (self.password_note,)

        oauth = [
            self._field(f"oauth.{n}", n, _OAUTH_LABEL.get(n, f"field.{n}"))
            for n in OAUTH_FIELDS
        ]
        self.secret_note = css(w.HTML(""), "bpmnb-client-secret-state")
        self._rows["oauth.client_secret"].children[1].children += (self.secret_note,)
        self.oauth_box = css(w.VBox(oauth), "bpmnb-oauth")
        advanced = [self._field(n, n, f"field.{n}") for n in ADVANCED_FIELDS]
        self.advanced = css(
            w.Accordion(children=[w.VBox([*advanced, self.oauth_box])]),
            "bpmnb-advanced",
        )
        self.advanced.selected_index = None
        self.advanced.set_title(0, self.t("ui.section.advanced"))

        self.general_notes = css(w.HTML(""), "bpmnb-note", "bpmnb-note-general")
        self.save_button = self.label(
            css(w.Button(), "bpmnb-save"), "description", "ui.save"
        )
        self.save_button.button_style = "primary"
        self.save_button.on_click(self.guarded(lambda _b: self.save()))
        self.status = css(w.HTML(""), "bpmnb-status")

        self.presets_slot = w.VBox([])
        heading_top = self.heading("field.section.general")
        heading_account = self.heading("field.section.account")
        self.widget = css(
            w.VBox(
                [
                    heading_top,
                    *top,
                    heading_account,
                    self.presets_slot,
                    *account,
                    self.advanced,
                    self.general_notes,
                    w.HBox([self.save_button, self.status]),
                    self.error_area,
                ]
            ),
            "bpmnb-form",
        )

    def set_lang(self, lang: Lang) -> None:
        """Relabel every field and choice in ``lang``, keeping the values."""
        values = {k: f.value for k, f in self.fields.items()}
        super().set_lang(lang)
        self._loading = True
        try:
            for key, field in self.fields.items():
                name = key.split(".")[-1]
                if isinstance(field, w.Dropdown):
                    field.options = self._input(name).options
                    field.value = values[key]
        finally:
            self._loading = False
        self.advanced.set_title(0, self.t("ui.section.advanced"))
        self.refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- store --------------------------------------------------------------

    @property
    def store(self) -> SecretStore:
        if self._store is None:
            self._store = open_store(self.home)
        return self._store

    def password_stored(self) -> bool:
        """Whether a password is stored for the server and login the form
        shows now: pick another provider and the sandbox's password no longer
        counts (see :func:`bpmnb.storage.stored_password`)."""
        data = self.data()
        key = storage.password_binding(data)
        if self._password_stored is None or self._password_stored[0] != key:
            try:
                found = storage.password_stored(self.home, self.store, account=data)
            except BpmnbError as exc:
                self.show_error(exc)
                found = False
            self._password_stored = (key, found)
        return self._password_stored[1]

    def _client_secret_stored(self) -> bool:
        if self._secret_stored is None:
            self._secret_stored = self._stored("oauth_client_secret")
        return self._secret_stored

    def _stored(self, name: SecretName) -> bool:
        """Whether the store holds ``name``; an unusable store is shown in
        the error area and counts as holding nothing."""
        try:
            return self.store.get(name) is not None
        except BpmnbError as exc:
            self.show_error(exc)
            return False

    # -- values ---------------------------------------------------------------

    def load(self, settings: AccountSettings | None) -> None:
        """Show ``settings`` (defaults when None) in the form; secrets stay out."""
        settings = settings or AccountSettings()
        self._login_typed = False
        data = settings.public_dict()
        values: dict[str, object] = {}
        for key in self.fields:
            if key in ("password", "oauth.client_secret", "server_type"):
                continue
            if key.startswith("oauth."):
                values[key] = data["oauth"][key[6:]]  # type: ignore[index]
            else:
                values[key] = data[key]
        self.apply(**values)

    def data(self) -> dict[str, object]:
        """What the form holds, as the plain data :func:`rules.parse` takes."""
        data: dict[str, object] = {}
        oauth: dict[str, object] = {}
        for key, field in self.fields.items():
            if key in ("server_type", "password", "oauth.client_secret"):
                continue
            value = field.value
            if isinstance(value, str):
                value = value.strip()
                if value == "" and (key in _OPTIONAL_TEXT or key in _OPTIONAL_INT):
                    value = None
            if key.startswith("oauth."):
                oauth[key[6:]] = value
            else:
                data[key] = value
        data["oauth"] = oauth
        password = self.fields["password"].value
        if password:
            data["password"] = password
        return data

    def settings(self) -> AccountSettings | None:
        """The settings as typed, password included when one was typed."""
        settings, _ = rules.parse(self.data())
        return settings

    def apply(self, **values: object) -> None:
        """Set several fields at once (a preset, a detection), checking once."""
        self._loading = True
        try:
            for key, value in values.items():
                field = self.fields[key]
                if isinstance(field, w.Text | w.Textarea):
                    value = "" if value is None else str(value)
                field.value = value
        finally:
            self._loading = False
        self.refresh()

    def apply_preset(self, preset: Preset) -> None:
        """Fill what the provider documents; the login follows its habit."""
        values: dict[str, object] = {
            "host": preset.host,
            "port": preset.port,
            "encryption": preset.encryption.value,
            "auth": preset.auth.value,
        }
        sender = self.fields["sender"].value.strip()
        # The login follows the provider's habit unless the user typed one
        # of their own into the login box (a loaded or preset login is not).
        if sender and "@" in sender and not self._login_typed:
            values["login"] = preset.login_for(sender)
        if preset.daily_cap is not None:
            values["daily_cap"] = preset.daily_cap
        # A value the previous preset filled in and the user left alone
        # belongs to that provider: clear it rather than carry Gmail's daily
        # cap over to WP. A value the user typed stays.
        for key, filled in self._from_preset.items():
            if key not in values and self._same(key, filled):
                values[key] = None
        self.apply(**values)
        self._from_preset = {k: v for k, v in values.items() if v is not None}

    def _same(self, key: str, value: object) -> bool:
        current = self.fields[key].value
        if isinstance(self.fields[key], w.Text | w.Textarea):
            return str(current).strip() == str(value)
        return bool(current == value)

    # -- checking -------------------------------------------------------------

    def _changed(self, change: Any) -> None:
        if self._loading:
            return
        if isinstance(change, dict) and change.get("owner") is self.fields["login"]:
            self._login_typed = bool(str(change.get("new", "")).strip())
        self.status.value = ""
        self.refresh()

    def refresh(self) -> tuple[AccountSettings | None, list[Finding]]:
        """Run the rules on what is typed and show each finding at its field."""
        self.clear_error()
        if self._load_problem is not None:
            self.show_error(self._load_problem)
        is_oauth = self.fields["auth"].value == AuthMethod.OAUTH2_OFFICE365.value
        show(self._rows["password"], not is_oauth)
        show(self.oauth_box, is_oauth)
        # A secret in a hidden box would still be in the widget state (and a
        # saved notebook): the method that does not use it empties it.
        self._empty("oauth.client_secret" if not is_oauth else "password")

        settings, findings = rules.review(
            self.data(), password_stored=self.password_stored()
        )
        self.findings = findings
        self._show_findings(findings)
        self.password_note.value = self._state_note(
            self.password_stored(), "ui.password_stored", "ui.password_missing"
        )
        if is_oauth:
            self.secret_note.value = self._state_note(
                self._client_secret_stored(), "ui.client_secret_stored", None
            )
        self.save_button.disabled = settings is None or bool(rules.errors(findings))
        # An error in the folded advanced section (Tenant ID after the Office
        # 365 preset, say) would leave "Zapisz" grey with no reason in sight.
        hidden = {*ADVANCED_FIELDS, *(f"oauth.{n}" for n in OAUTH_FIELDS)}
        if any(
            f.field in hidden or f"oauth.{f.field}" in hidden
            for f in rules.errors(findings)
        ):
            self.advanced.selected_index = 0
        return settings, findings

    def _empty(self, key: str) -> None:
        if self.fields[key].value:
            loading, self._loading = self._loading, True
            try:
                self.fields[key].value = ""
            finally:
                self._loading = loading

    def _state_note(self, stored: bool, yes: str, no: str | None) -> str:
        if stored:
            return f'<span class="bpmnb-stored">{esc(self.t(yes))}</span>'
        return f'<span class="bpmnb-not-stored">{esc(self.t(no))}</span>' if no else ""

    def _show_findings(self, findings: list[Finding]) -> None:
        by_field: dict[str, list[str]] = {key: [] for key in self.notes}
        general: list[str] = []
        for finding in findings:
            item = (
                f'<div class="bpmnb-finding bpmnb-{finding.level}" '
                f'data-key="{esc(finding.key)}">'
                f"{esc(self.t(f'ui.level.{finding.level}'))}: "
                f"{esc(finding.text.get(self.lang))}</div>"
            )
            key = finding.field or ""
            if key not in by_field and f"oauth.{key}" in by_field:
                key = f"oauth.{key}"
            (by_field[key] if key in by_field else general).append(item)
        for key, note in self.notes.items():
            note.value = "".join(by_field[key])
        self.general_notes.value = "".join(general)

    # -- saving ---------------------------------------------------------------

    def save(self) -> bool:
        """The "Zapisz" click: save through the core, then forget the secrets."""
        self.status.value = ""
        settings, findings = self.refresh()
        if settings is None or rules.errors(findings):
            self.status.value = self._status("ui.save_blocked", "bpmnb-blocked")
            return False
        try:
            storage.save(self.home, settings, store=self.store)
        except SettingsError as exc:
            self._show_findings(exc.findings)
            self.status.value = self._status("ui.save_blocked", "bpmnb-blocked")
            return False
        finally:
            # Whatever happened, what was typed leaves the widget state now.
            typed_secret = self.fields["oauth.client_secret"].value
            self._loading = True
            self.fields["password"].value = ""
            self.fields["oauth.client_secret"].value = ""
            self._loading = False
        if typed_secret:
            self.store.set("oauth_client_secret", typed_secret)
        self._password_stored = None
        self._secret_stored = None
        self._load_problem = None
        self.refresh()
        self.status.value = self._status("ui.saved", "bpmnb-saved")
        log.info("settings saved from the form to %s", self.home.root)
        for callback in self.on_saved:
            callback(settings)
        return True

    def _status(self, key: str, cls: str) -> str:
        return f'<span class="{cls}">{esc(self.t(key))}</span>'
