"""Small helpers the walkthrough notebooks call, so their cells stay short.

A walkthrough shows a provider's documented settings, then sends a real test
message. Where that message goes depends on the machine: while a sandbox
runs in the home (``bpmnb sandbox``, or the test suite's), the example
account is pointed at the sandbox ("w piaskownicy"), keeping its sender and
display name; otherwise the user's own saved settings are used. Either way
the password stays in memory and never reaches a cell's output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as w
from pydantic import SecretStr

from bpmnb import rules, sandbox, storage
from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.presets import PRESETS
from bpmnb.settings import AccountSettings, AuthMethod, Encryption
from bpmnb.widgets._base import Section, css, esc


def example_account(
    preset_key: str,
    *,
    sender: str,
    display_name: str,
    account_name: str = "Comarch DMS",
    description: str = "",
) -> AccountSettings:
    """The account a provider's example describes, filled from its preset
    (server, port, encryption, login form); the password is left out."""
    preset = PRESETS[preset_key]
    return AccountSettings(
        enabled=True,
        account_name=account_name,
        sender=sender,
        display_name=display_name,
        reply_to=sender,
        description=description,
        host=preset.host,
        port=preset.port,
        encryption=preset.encryption,
        auth=preset.auth,
        login=preset.login_for(sender),
        daily_cap=preset.daily_cap,
    )


@dataclass(frozen=True)
class Target:
    """Where a notebook's test message goes, and why."""

    settings: AccountSettings
    in_sandbox: bool
    from_example: bool = False

    def describe(self, lang: Lang | None = None) -> str:
        """One sentence for the notebook, without ports or secrets (so the
        output is the same on every run)."""
        if not self.in_sandbox:
            key = "ui.walk.saved"
        elif self.from_example:
            key = "ui.walk.sandbox"
        else:
            key = "ui.walk.sandbox_saved"
        return text(key, lang or default_lang(), host=self.settings.host)


def target_for_test(
    example: AccountSettings | None, home: Home | None = None
) -> Target:
    """The settings to send the notebook's test with.

    With a sandbox running in ``home``: ``example`` (or the saved settings)
    with server, port, encryption, login and CA file of the sandbox, and its
    password in memory. Without one: the saved settings, unchanged.
    """
    home = home or Home.resolve()
    info = sandbox.info(home)
    saved = storage.load(home)
    if info is not None:
        base = example or saved or info.settings()
        pointed = base.model_copy(
            update={
                "enabled": True,
                "host": info.host,
                "port": info.starttls_port,
                "encryption": Encryption.STARTTLS,
                "auth": AuthMethod.PASSWORD,
                "login": info.login,
                "ca_file": str(info.ca_file),
                "password": SecretStr(info.password),
            }
        )
        return Target(
            AccountSettings.model_validate(_with_password(pointed)),
            in_sandbox=True,
            from_example=example is not None,
        )
    if saved is None:
        raise LookupError(text("ui.walk.nothing_saved", default_lang()))
    return Target(saved, False)


def _with_password(settings: AccountSettings) -> dict[str, object]:
    """Re-validate a model_copy (which skips validation) keeping the secret."""
    data = settings.model_dump(mode="python")
    data["password"] = settings.password
    return data


def arrivals(subject: str, home: Home | None = None, lang: Lang | None = None) -> str:
    """What the sandbox received with ``subject``, one line per message."""
    home = home or Home.resolve()
    lang = lang or default_lang()
    if sandbox.info(home) is None:
        return text("ui.walk.no_sandbox", lang)
    found = [m for m in sandbox.received(home) if m.subject == subject]
    if not found:
        return text("ui.walk.not_arrived", lang, subject=subject)
    return "\n".join(
        text(
            "ui.walk.arrived",
            lang,
            subject=m.subject,
            sender=m.from_header,
            encryption=m.encryption,
        )
        for m in found[-1:]
    )


def check_app_password(value: str, lang: Lang | None = None) -> str:
    """Whether ``value`` looks like a Google app password (16 letters once
    the spaces Google shows it with are removed); the verdict as a sentence,
    never the password itself."""
    lang = lang or default_lang()
    cleaned = rules.normalize_app_password(value)
    # Ask the rules about a Gmail account with this password, so the notebook
    # and the form judge an app password the same way.
    probe = example_account("gmail", sender="konto@gmail.com", display_name="")
    probe.password = SecretStr(cleaned)
    complaint = [f for f in rules.check(probe) if f.key == "rules.gmail_app_password"]
    if cleaned and not complaint:
        return text("ui.app_password.ok", lang, length=len(cleaned))
    return text("rules.gmail_app_password", lang)


class AppPasswordChecker(Section):
    """A box to paste an app password into and a "Sprawdź" button; the box
    is emptied after each check, so the password stays out of the notebook."""

    def __init__(self, lang: Lang | None = None) -> None:
        super().__init__(lang)
        self.box = css(w.Password(value=""), "bpmnb-app-password")
        self.button = self.label(
            css(w.Button(), "bpmnb-app-password-check"),
            "description",
            "ui.app_password.check",
        )
        self.button.on_click(self.guarded(lambda _b: self.check()))
        self.verdict = css(w.HTML(""), "bpmnb-app-password-verdict")
        self.widget = w.VBox(
            [w.HBox([self.box, self.button]), self.verdict, self.error_area]
        )

    def check(self) -> str:
        verdict = check_app_password(self.box.value, self.lang)
        self.box.value = ""
        self.verdict.value = esc(verdict)
        return verdict

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def with_changes(settings: AccountSettings, **changes: object) -> AccountSettings:
    """A validated copy of ``settings`` with some fields changed."""
    data = settings.model_dump(mode="python")
    data.update(changes)
    data["password"] = settings.password
    return AccountSettings.model_validate(data)


def findings_text(
    settings: AccountSettings, lang: Lang | None = None, **changes: object
) -> str:
    """What the rules say about ``settings`` (with ``changes``), one finding
    a line, as the form would show them next to the fields."""
    lang = lang or default_lang()
    found = rules.check(with_changes(settings, **changes), password_stored=True)
    if not found:
        return text("ui.walk.no_findings", lang)
    return "\n".join(
        f"{text(f'ui.level.{f.level}', lang)}: {f.text.get(lang)}" for f in found
    )


def describe_preset(preset_key: str, lang: Lang | None = None) -> str:
    """A provider's documented outgoing server, with the form's labels."""
    lang = lang or default_lang()
    preset = PRESETS[preset_key]
    login = text(f"ui.walk.login_{preset.login}", lang)
    lines = [
        (text("field.host", lang), preset.host),
        (text("field.port", lang), str(preset.port)),
        (
            text("field.encryption", lang),
            text(f"choice.encryption.{preset.encryption}", lang),
        ),
        (text("field.auth", lang), text(f"choice.auth.{preset.auth}", lang)),
        (text("field.login", lang), login),
    ]
    for port, encryption in preset.alternatives:
        lines.append(
            (
                text("ui.walk.alternative", lang),
                f"{port}, {text(f'choice.encryption.{encryption}', lang)}",
            )
        )
    if preset.daily_cap:
        lines.append((text("field.daily_cap", lang), str(preset.daily_cap)))
    return "\n".join(f"{label}: {value}" for label, value in lines)
