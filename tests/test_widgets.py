"""The widgets without a browser: set values and click, as the user would.

Sending tests talk to a real sandbox (aiosmtpd with trustme certificates) on
loopback; saving writes real files in a fresh home.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import ipywidgets as w
import pytest

from bpmnb import outbox, storage
from bpmnb.home import Home
from bpmnb.i18n import text
from bpmnb.presets import PRESETS
from bpmnb.queue import Status
from bpmnb.sandbox import Sandbox
from bpmnb.secrets import FileStore, open_store
from bpmnb.settings import Encryption
from bpmnb.widgets import Page, SettingsForm, TestMessage, page
from bpmnb.widgets.walkthrough import (
    AppPasswordChecker,
    check_app_password,
    example_account,
    target_for_test,
)
from tests.support.net import free_port
from tests.support.widgets import all_state as _all_state

CANARY = "Kanarek-7f3e9Qx!"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path / "home").ensure()
    yield home
    outbox.stop_worker(home, timeout=10)


@pytest.fixture
def box(home: Home) -> Iterator[Sandbox]:
    with Sandbox(home) as sandbox:
        yield sandbox


def _fill_valid(form: SettingsForm, **extra: object) -> None:
    form.apply(
        enabled=True,
        account_name="Comarch DMS",
        sender="jankowalski@example.com",
        display_name="Comarch DMS — powiadomienia księgowości",
        host="smtp.example.com",
        port="587",
        encryption="starttls",
        login="jankowalski",
        **extra,
    )


def _wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- labels and layout -------------------------------------------------------


def test_polish_labels_of_the_seed(home: Home) -> None:
    form = SettingsForm(home, lang="pl")
    labels = {lab.value for lab, attr, _ in form._labels if attr == "value"}
    for expected in (
        "Do wysyłania wiadomości email zastosuj",
        "Ustawienia konta pocztowego",
        "Włącz wysyłanie wiadomości email",
        "Nazwa konta",
        "Email (wychodzący)",
        "Nazwa wyświetlana",
        "Adres zwrotny",
        "Opis",
        "Typ serwera",
        "Nazwa serwera",
        "Port",
        "Metoda szyfrowania",
        "Metoda uwierzytelniania",
        "Login",
        "Hasło",
    ):
        assert any(expected in label for label in labels), expected
    assert dict(form.fields["enabled"].options) == {"Tak": True, "Nie": False}
    assert ("Automatyczne", "auto") in form.fields["encryption"].options
    assert ("Login i hasło", "password") in form.fields["auth"].options


def test_english_is_selectable_and_keeps_values(home: Home) -> None:
    p = page(home, lang="pl")
    p.form.fields["host"].value = "smtp.example.com"
    p.form.fields["encryption"].value = "auto"
    p.lang_switch.value = "en"
    assert p.form.fields["host"].value == "smtp.example.com"
    assert p.form.fields["encryption"].value == "auto"
    assert ("Automatic", "auto") in p.form.fields["encryption"].options
    labels = {lab.value for lab, attr, _ in p.form._labels if attr == "value"}
    assert "Server name" in labels
    assert p.form.save_button.description == "Save"
    assert p.test.send_button.description == "Send message"


def test_server_type_is_read_only_smtp(home: Home) -> None:
    form = SettingsForm(home)
    assert form.fields["server_type"].value == "SMTP"
    assert form.fields["server_type"].disabled
    assert "server_type" not in form.data()


def test_password_only_for_login_and_password_oauth_only_for_oauth(home: Home) -> None:
    form = SettingsForm(home)
    assert form._rows["password"].layout.display is None
    assert form.oauth_box.layout.display == "none"
    form.fields["auth"].value = "oauth2_office365"
    assert form._rows["password"].layout.display == "none"
    assert form.oauth_box.layout.display is None
    form.fields["auth"].value = "password"
    assert form._rows["password"].layout.display is None


def test_every_widget_has_a_stable_class(home: Home) -> None:
    p = page(home)
    for key, field in p.form.fields.items():
        assert f"bpmnb-{key.replace('.', '-')}" in field._dom_classes
    for key in PRESETS:
        assert f"bpmnb-preset-{key}" in p.presets.buttons[key]._dom_classes
    for widget, cls in (
        (p.form.save_button, "bpmnb-save"),
        (p.form.status, "bpmnb-status"),
        (p.test.send_button, "bpmnb-send"),
        (p.test.outcome, "bpmnb-outcome"),
        (p.check.button, "bpmnb-check"),
        (p.presets.detect_button, "bpmnb-detect"),
        (p.presets.sandbox_button, "bpmnb-preset-sandbox"),
    ):
        assert cls in widget._dom_classes


# -- presets and detection -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "login"),
    [
        ("wp", "jankowalski"),
        ("onet", "jankowalski@wp.pl"),
        ("gmail", "jankowalski@wp.pl"),
    ],
)
def test_preset_fills_server_and_login_form(home: Home, key: str, login: str) -> None:
    p = page(home)
    p.form.fields["sender"].value = "jankowalski@wp.pl"
    p.presets.buttons[key].click()
    preset = PRESETS[key]
    assert p.form.fields["host"].value == preset.host
    assert p.form.fields["port"].value == str(preset.port)
    assert p.form.fields["encryption"].value == preset.encryption.value
    assert p.form.fields["login"].value == login
    assert preset.name in p.presets.message.value


def test_office365_preset_switches_to_oauth(home: Home) -> None:
    p = page(home)
    p.form.apply(enabled=True)
    p.form.fields["sender"].value = "anna@contoso.onmicrosoft.com"
    p.presets.buttons["office365"].click()
    assert p.form.fields["auth"].value == "oauth2_office365"
    assert p.form.oauth_box.layout.display is None
    # "Zapisz" is grey until Tenant ID and Client ID are given: the section
    # holding them opens, so the reason is in sight; the note says so.
    assert p.form.save_button.disabled
    assert p.form.advanced.selected_index == 0
    assert "Tenant ID" in p.presets.message.value
    assert "hasło" not in p.presets.message.value


def test_detect_offers_the_result_as_a_preset(home: Home) -> None:
    p = page(home)
    p.form.fields["sender"].value = "annanowak@op.pl"
    p.presets.detect()  # what the button runs in its thread
    assert "smtp.poczta.onet.pl" in p.presets.message.value
    assert p.form.fields["host"].value == ""  # offered, not applied yet
    p.presets.detect_apply.click()
    assert p.form.fields["host"].value == "smtp.poczta.onet.pl"
    assert p.form.fields["login"].value == "annanowak@op.pl"


def test_detect_needs_an_address(home: Home) -> None:
    p = page(home)
    p.presets.detect()
    assert "Email (wychodzący)" in p.presets.message.value


def test_sandbox_preset_offered_only_while_one_runs(home: Home) -> None:
    p = page(home)
    assert p.presets.sandbox_button.layout.display == "none"
    with Sandbox(home) as sandbox:
        p = page(home)
        assert p.presets.sandbox_button.layout.display is None
        p.form.fields["sender"].value = "jankowalski@example.com"
        p.presets.sandbox_button.click()
        assert p.form.fields["host"].value == sandbox.host
        assert p.form.fields["port"].value == str(sandbox.starttls_port)
        assert p.form.fields["encryption"].value == "starttls"
        assert p.form.fields["login"].value == sandbox.login
        assert p.form.fields["ca_file"].value == str(sandbox.ca_file)
        assert p.form.fields["password"].value == ""  # typed by the user
        assert p.form.fields["sender"].value == "jankowalski@example.com"


# -- findings and saving -------------------------------------------------------


def test_field_error_shown_at_the_field_and_blocks_saving(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password="x")
    assert not form.save_button.disabled
    form.fields["sender"].value = "jan@"
    assert "bpmnb-error" in form.notes["sender"].value
    assert "jan@" in form.notes["sender"].value
    assert form.notes["host"].value == ""
    assert form.save_button.disabled
    assert form.save() is False
    assert "Nie zapisano" in form.status.value
    assert storage.load(home) is None
    form.fields["sender"].value = "jankowalski@example.com"
    assert form.notes["sender"].value == ""
    assert not form.save_button.disabled


def test_port_that_is_not_a_number_is_an_error_at_port(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form)
    form.fields["port"].value = "58x"
    assert "bpmnb-error" in form.notes["port"].value
    assert form.save_button.disabled


def test_warnings_do_not_block_saving(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password="x")
    form.fields["port"].value = "2525"  # not open in the cloud: a warning
    assert "bpmnb-warning" in form.notes["port"].value
    assert "bpmnb-error" not in form.notes["port"].value
    form.save_button.click()
    assert "Zapisano." in form.status.value
    saved = storage.load(home)
    assert saved is not None and saved.port == 2525


def test_save_stores_password_and_empties_the_box(home: Home) -> None:
    p = page(home)
    _fill_valid(p.form)
    p.form.fields["password"].value = CANARY
    p.form.save_button.click()

    assert "Zapisano." in p.form.status.value
    assert p.form.fields["password"].value == ""
    assert "bpmnb-stored" in p.form.password_note.value
    saved = storage.load(home)
    assert saved is not None
    assert saved.host == "smtp.example.com" and saved.login == "jankowalski"
    assert open_store(home).get("password") == CANARY
    assert CANARY not in home.settings_file.read_text("utf-8")
    assert CANARY not in _all_state(p.widget)

    # A new page (a reopened notebook) shows the saved values, not the secret.
    again = page(home)
    assert again.form.fields["host"].value == "smtp.example.com"
    assert again.form.fields["password"].value == ""
    assert "bpmnb-stored" in again.form.password_note.value
    assert again.test.fields["to"].value == "jankowalski@example.com"


def test_empty_password_box_keeps_the_stored_password(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password=CANARY)
    assert form.save()
    form.fields["display_name"].value = "Inna nazwa"
    assert form.save()
    assert open_store(home).get("password") == CANARY


def test_another_provider_does_not_inherit_the_stored_password(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password=CANARY)
    assert form.save()
    assert "bpmnb-stored" in form.password_note.value
    form.apply_preset(PRESETS["wp"])
    # The password was saved for smtp.example.com: WP needs its own.
    assert "bpmnb-stored" not in form.password_note.value
    assert form.save_button.disabled
    assert "password" in {f.field for f in form.findings if f.level == "error"}
    # Going back to the saved server finds it again.
    form.apply(host="smtp.example.com", port=587, encryption="starttls")
    form.apply(login="jankowalski")
    assert "bpmnb-stored" in form.password_note.value
    assert open_store(home).get("password") == CANARY


def test_oauth_client_secret_goes_to_the_store_and_leaves_the_form(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form)
    form.apply(
        host="smtp.office365.com",
        auth="oauth2_office365",
        sender="anna@contoso.onmicrosoft.com",
        login="anna@contoso.onmicrosoft.com",
    )
    form.apply(
        **{
            "oauth.tenant_id": "11111111-2222-3333-4444-555555555555",
            "oauth.client_id": "66666666-7777-8888-9999-000000000000",
            "oauth.client_secret": CANARY,
        }
    )
    assert form.save(), form.findings
    assert form.fields["oauth.client_secret"].value == ""
    assert open_store(home).get("oauth_client_secret") == CANARY
    assert CANARY not in _all_state(form.widget)
    assert "bpmnb-stored" in form.secret_note.value


def test_failure_inside_a_callback_is_shown_in_the_form(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password="x")
    # The settings file cannot be written: a directory stands in its way.
    home.settings_file.mkdir()
    form.save_button.click()  # must not raise into the kernel log
    assert form.error_area.value != ""
    assert "bpmnb-error-text" in form.error_area.value
    assert "Zapisano." not in form.status.value
    assert form.fields["password"].value == ""


# -- the test message ------------------------------------------------------------


def test_send_through_the_queue_to_the_sandbox(home: Home, box: Sandbox) -> None:
    p = page(home)
    p.form.load(box.settings())
    p.form.apply(display_name="Comarch DMS — łączność z księgowością")
    p.form.fields["password"].value = box.password  # typed, not yet saved
    p.test.fields["to"].value = "odbiorca@example.com"
    p.test.fields["subject"].value = "Test bpmnb — widżet"
    p.test.fields["attachment"].value = (
        {
            "name": "faktura.txt",
            "type": "text/plain",
            "size": 7,
            "content": memoryview(b"FZ 1/24"),
            "last_modified": datetime.now(UTC),
        },
    )
    state = p.test.send(wait=30)

    assert state is not None and state.status is Status.SENT
    assert "bpmnb-queued" in p.test.outcome.value
    assert "bpmnb-sent" in p.test.outcome.value
    [message] = [m for m in box.received() if m.subject == "Test bpmnb — widżet"]
    assert parseaddr(message.from_header)[0] == "Comarch DMS — łączność z księgowością"
    assert message.recipients == ("odbiorca@example.com",)
    assert b"faktura.txt" in message.raw
    assert p.test.fields["attachment"].value == ()
    # What the sandbox received is listed on the same page.
    assert "Test bpmnb — widżet" in p.sandbox.table.value
    assert b"FZ 1/24" not in _all_state(p.widget).encode()


def test_with_no_worker_running_the_form_says_so_soon(
    home: Home, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delivery by a separate "bpmnb worker" that is not running: the form
    says so within seconds instead of holding the button for a minute."""
    from bpmnb.widgets import test_message

    monkeypatch.setattr(test_message, "WORKER_PICKUP", 0.5)
    p = page(home)
    p.form.load(box.settings())
    p.form.apply(delivery_component="worker")
    p.form.fields["password"].value = box.password
    p.test.fields["to"].value = "odbiorca@example.com"
    started = time.monotonic()
    state = p.test.send(wait=30)
    assert time.monotonic() - started < 10
    assert state is not None and state.status is Status.QUEUED
    assert "bpmnb worker" in p.test.outcome.value
    assert "wysłanie.)" not in p.test.outcome.value  # a label, not a sentence


def test_send_button_runs_in_the_background(home: Home, box: Sandbox) -> None:
    storage.save(home, box.settings())
    p = page(home)
    p.test.fields["subject"].value = "Test bpmnb — przycisk"
    p.test.send_button.click()
    _wait_for(lambda: "bpmnb-sent" in p.test.outcome.value)
    _wait_for(lambda: not p.test.send_button.disabled)
    assert any(m.subject == "Test bpmnb — przycisk" for m in box.received())


def test_failure_shows_message_and_hint(home: Home) -> None:
    form = SettingsForm(home)
    _fill_valid(form, password="x")
    form.apply(host="127.0.0.1", port=str(free_port()), encryption="none", timeout="3")
    test = TestMessage(home, settings=form.settings, to="odbiorca@example.com")
    state = test.send(wait=20)
    assert state is not None and state.last_error is not None
    assert "bpmnb-failed" in test.outcome.value
    assert "bpmnb-hint" in test.outcome.value
    assert state.last_error.message("pl") in test.outcome.value.replace("&quot;", '"')


def test_invalid_settings_are_reported_not_sent(home: Home) -> None:
    test = TestMessage(home, to="odbiorca@example.com")  # nothing saved
    assert test.send() is None
    assert "bpmnb-error" in test.outcome.value


def test_recipient_required(home: Home) -> None:
    test = TestMessage(home)
    assert test.send() is None
    assert test.notes["to"].value != ""


# -- the connection check ------------------------------------------------------


def test_check_lists_stages_with_durations(home: Home, box: Sandbox) -> None:
    p = page(home)
    p.form.load(box.settings())
    p.form.fields["password"].value = box.password
    report = p.check.run()
    assert report is not None and report.ok
    html = p.check.result.value
    assert "bpmnb-check-ok" in html
    assert "Połączenie TCP" in html and " ms" in html
    assert html.count("bpmnb-stage-ok") == len(report.stages)


def test_check_failure_explains_and_hints(home: Home, box: Sandbox) -> None:
    p = page(home)
    p.form.load(box.settings())
    p.form.fields["password"].value = "not-the-password"
    report = p.check.run()
    assert report is not None and not report.ok
    assert "bpmnb-check-failed" in p.check.result.value
    assert "bpmnb-stage-failed" in p.check.result.value
    assert "bpmnb-hint" in p.check.result.value


# -- walkthrough helpers ----------------------------------------------------------


def test_app_password_checker_forgets_what_was_pasted() -> None:
    checker = AppPasswordChecker(lang="pl")
    checker.box.value = "abcd efgh ijkl mnop"
    checker.button.click()
    assert "16 liter" in checker.verdict.value
    assert checker.box.value == ""
    assert "abcd" not in _all_state(checker.widget)
    assert check_app_password("MojeHaslo2024!", "pl") == text(
        "rules.gmail_app_password", "pl"
    )
    assert check_app_password("abcdefghijklmnop") == check_app_password(
        "abcd\u00a0efgh ijkl mnop"
    )


def test_test_target_points_the_example_at_the_sandbox(
    home: Home, box: Sandbox
) -> None:
    example = example_account(
        "wp", sender="jankowalski@wp.pl", display_name="Jan — powiadomienia"
    )
    target = target_for_test(example, home)
    assert target.in_sandbox
    assert target.settings.host == box.host
    assert target.settings.port == box.starttls_port
    assert target.settings.encryption is Encryption.STARTTLS
    assert target.settings.sender == "jankowalski@wp.pl"
    assert target.settings.password is not None
    assert "127.0.0.1" in target.describe("pl")


def test_test_target_without_sandbox_uses_saved_settings(home: Home) -> None:
    with pytest.raises(LookupError):
        target_for_test(None, home)
    form = SettingsForm(home)
    _fill_valid(form, password="x")
    assert form.save()
    target = target_for_test(None, home)
    assert not target.in_sandbox and target.settings.host == "smtp.example.com"


def test_run_test_is_idle_inside_the_app(
    home: Home, box: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    storage.save(home, box.settings())
    p: Page = page(home)
    monkeypatch.setenv("BPMNB_APP", "1")
    p.run_test("Test bpmnb — nie wysyłaj")
    assert capsys.readouterr().out == ""
    monkeypatch.delenv("BPMNB_APP")
    p.run_test("Test bpmnb — wyślij")
    assert "Piaskownica odebrała" in capsys.readouterr().out


def test_widget_classes_render(home: Home) -> None:
    # The page is one ipywidgets tree; its mimebundle is a widget view.
    bundle = page(home)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert isinstance(page(home).widget, w.VBox)


def test_damaged_settings_file_is_reported_in_the_form(home: Home) -> None:
    home.settings_file.write_text("{ not json", "utf-8")
    form = SettingsForm(home)
    assert "bpmnb-error-text" in form.error_area.value
    assert form.fields["host"].value == ""


def test_unusable_secret_store_is_reported_in_the_form(home: Home) -> None:
    if not isinstance(open_store(home), FileStore):
        pytest.skip("an OS keyring is in use here, not the 0600 file")
    home.secrets_file.write_text("{}", "utf-8")
    home.secrets_file.chmod(0o644)  # readable by others: the store refuses it
    form = SettingsForm(home)
    assert "bpmnb-error-text" in form.error_area.value
