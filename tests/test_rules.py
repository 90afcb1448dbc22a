"""The settings rules: every rule with a case that trips it and one that does
not, and the translation of model errors into findings at fields."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from bpmnb import rules
from bpmnb.rules import Finding
from bpmnb.settings import AccountSettings
from tests.support.net import ca_file

GUID = "11111111-2222-3333-4444-555555555555"


def make(**overrides: Any) -> AccountSettings:
    """A complete, valid account on a neutral server; ``overrides`` change it."""
    data: dict[str, Any] = {
        "enabled": True,
        "account_name": "Comarch DMS",
        "sender": "powiadomienia@example.com",
        "display_name": "Comarch DMS - powiadomienia",
        "reply_to": "biuro@example.com",
        "host": "smtp.example.com",
        "port": 587,
        "encryption": "starttls",
        "auth": "password",
        "login": "powiadomienia",
        "password": "S3cret-Haslo!",
    }
    data.update(overrides)
    settings, findings = rules.parse(data)
    assert settings is not None, [f.as_json() for f in findings]
    return settings


def office365(**overrides: Any) -> AccountSettings:
    data: dict[str, Any] = {
        "sender": "powiadomienia@firma.pl",
        "host": "smtp.office365.com",
        "port": 587,
        "encryption": "starttls",
        "auth": "oauth2_office365",
        "login": "powiadomienia@firma.pl",
        "password": None,
        "oauth": {"tenant_id": "firma.onmicrosoft.com", "client_id": GUID},
    }
    data.update(overrides)
    return make(**data)


def provider(
    sender: str, host: str, port: int, encryption: str, **overrides: Any
) -> AccountSettings:
    """An account at a provider's server; without Reply-To, the login is the
    sender unless ``overrides`` say otherwise."""
    data: dict[str, Any] = {"login": sender, "reply_to": ""}
    data.update(overrides)
    return make(sender=sender, host=host, port=port, encryption=encryption, **data)


def at(findings: list[Finding], field: str | None = None) -> dict[str, str]:
    """key -> level of the findings (at ``field`` when given)."""
    return {f.key: f.level for f in findings if field is None or f.field == field}


def only(findings: list[Finding], key: str) -> Finding:
    matching = [f for f in findings if f.key == key]
    assert len(matching) == 1, [f.as_json() for f in findings]
    return matching[0]


# --------------------------------------------------------------------------
# A complete account and the three examples of the Comarch article


def test_complete_account_has_no_findings() -> None:
    assert rules.check(make()) == []


def test_wp_example_is_only_warned_about_the_port() -> None:
    """The article's WP example uses 587 with Automatic while WP documents
    465 SSL: we say so, but do not refuse it."""
    wp = make(
        sender="jankowalski@wp.pl",
        reply_to="jankowalski@wp.pl",
        host="smtp.wp.pl",
        port=587,
        encryption="auto",
        login="jankowalski",
        password="Konwalia369!",
    )
    findings = rules.check(wp)
    assert at(findings) == {"rules.wp_port": "warning"}
    assert "465" in only(findings, "rules.wp_port").text.pl
    assert rules.errors(findings) == []


@pytest.mark.parametrize("encryption", ["ssl", "auto"])
def test_wp_on_its_documented_port_has_no_findings(encryption: str) -> None:
    wp = provider(
        "jankowalski@wp.pl", "smtp.wp.pl", 465, encryption, login="jankowalski"
    )
    assert rules.check(wp) == []


@pytest.mark.parametrize(
    ("sender", "host", "password"),
    [
        ("annanowak@op.pl", "smtp.poczta.onet.pl", "Pierwiosnek479%"),
        ("annanowa@gmail.com", "smtp.gmail.com", "pvli anpr lvvr nrrn"),  # app pw
    ],
    ids=["onet", "gmail-app-password"],
)
def test_onet_and_gmail_examples_have_no_findings(
    sender: str, host: str, password: str
) -> None:
    example = provider(sender, host, 465, "auto", reply_to=sender, password=password)
    assert rules.check(example) == []


# --------------------------------------------------------------------------
# Required fields


@pytest.mark.parametrize("field", ["sender", "host"])
def test_required_field_is_an_error_when_enabled(field: str) -> None:
    findings = rules.check(make(**{field: ""}))
    assert at(findings, field) == {"rules.required": "error"}


@pytest.mark.parametrize("field", ["sender", "host"])
def test_disabled_draft_may_be_incomplete(field: str) -> None:
    settings = make(enabled=False, **{field: ""})
    assert at(rules.check(settings), field) == {"rules.required": "warning"}
    # ... but not when it is about to send.
    assert at(rules.check(settings, for_sending=True), field) == {
        "rules.required": "error"
    }


def test_required_text_names_the_field_in_both_languages() -> None:
    finding = only(rules.check(make(sender="")), "rules.required")
    assert "Email (wychodzący)" in finding.text.pl
    assert "Outgoing email" in finding.text.en


def test_password_required_for_password_auth() -> None:
    findings = rules.check(make(password=None))
    assert at(findings, "password") == {"rules.password_required": "error"}


def test_stored_password_satisfies_password_auth() -> None:
    assert rules.check(make(password=None), password_stored=True) == []


def test_password_from_environment_satisfies_password_auth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BPMNB_PASSWORD", "from-automation")
    assert rules.check(make(password=None)) == []


def test_password_without_login_asks_for_the_login() -> None:
    findings = rules.check(make(login=""))
    assert at(findings, "login") == {"rules.login_for_password": "error"}


def test_known_provider_needs_a_login() -> None:
    settings = make(
        sender="jankowalski@wp.pl", host="smtp.wp.pl", port=465, encryption="ssl"
    )
    settings = settings.model_copy(update={"login": "", "password": None})
    findings = rules.check(settings)
    assert at(findings, "login") == {"rules.login_required": "error"}
    assert "Poczta WP" in only(findings, "rules.login_required").text.pl


def test_unknown_server_without_login_is_sending_without_auth() -> None:
    findings = rules.check(make(login="", password=None))
    assert at(findings) == {"rules.no_auth": "warning"}


# --------------------------------------------------------------------------
# Addresses


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("powiadomienia", "rules.address_no_at"),
        ("Jan Kowalski <jan@example.com>", "rules.address_with_name"),
        ("jan kowalski@example.com", "rules.address_invalid"),
        ("jan@", "rules.address_invalid"),
        ("jan@localhost", "rules.address_invalid"),
        ("jan@@example.com", "rules.address_invalid"),
    ],
)
@pytest.mark.parametrize("field", ["sender", "reply_to"])
def test_invalid_addresses_are_errors_at_their_field(
    field: str, value: str, key: str
) -> None:
    findings = rules.check(make(**{field: value}))
    assert at(findings, field) == {key: "error"}


@pytest.mark.parametrize(
    "value",
    [
        "jan@example.com",
        "jan.kowalski+bpm@example.com",
        "jan@bücher.de",
        "zofia@przykład.pl",
    ],
)
def test_valid_and_internationalised_addresses_pass(value: str) -> None:
    assert at(rules.check(make(sender=value, reply_to=value)), "sender") == {}
    assert at(rules.check(make(reply_to=value)), "reply_to") == {}


def test_reply_to_is_optional() -> None:
    assert rules.check(make(reply_to="")) == []


# --------------------------------------------------------------------------
# Header injection


_INJECTIONS = ["Ala\r\nBcc: ofiara@example.com", "Ala\nBcc: x@example.com", "Ala\x00"]


@pytest.mark.parametrize("value", _INJECTIONS)
@pytest.mark.parametrize(
    "field", ["display_name", "account_name", "sender", "reply_to", "login", "host"]
)
def test_line_breaks_and_nul_are_refused_in_header_fields(
    field: str, value: str
) -> None:
    findings = rules.check(make(**{field: value}))
    assert at(findings, field) == {"rules.control_chars": "error"}


def test_line_break_in_oauth_send_as_is_refused() -> None:
    findings = rules.check(
        office365(
            oauth={"tenant_id": "t", "client_id": GUID, "send_as": "a@x.pl\r\nB: c"}
        )
    )
    assert at(findings, "oauth.send_as") == {"rules.control_chars": "error"}


def test_description_may_have_several_lines() -> None:
    assert rules.check(make(description="Konto do powiadomień\nDział kadr")) == []


def test_nul_in_password_is_refused_without_echoing_it() -> None:
    findings = rules.check(make(password="abc\x00def"))
    finding = only(findings, "rules.password_nul")
    assert finding.level == "error"
    assert "abc" not in finding.text.pl + finding.text.en


# --------------------------------------------------------------------------
# Server name


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("https://smtp.wp.pl", "rules.host_scheme"),
        ("smtp://smtp.wp.pl:465", "rules.host_scheme"),
        ("smtp.wp.pl:465", "rules.host_port"),
        ("smtp wp.pl", "rules.host_space"),
        ("smtp.wp.pl/poczta", "rules.host_path"),
        ("jankowalski@wp.pl", "rules.host_at"),
        ("-smtp.wp.pl", "rules.host_invalid"),
        ("smtp..wp.pl", "rules.host_invalid"),
        ("smtp.wp.pl!", "rules.host_invalid"),
        ("[::1]", "rules.host_invalid"),
        ("192.168.1", "rules.host_invalid"),
        ("10.0.0.1:25", "rules.host_port"),
    ],
)
def test_bad_server_names(host: str, key: str) -> None:
    assert at(rules.check(make(host=host)), "host") == {key: "error"}


def test_host_with_port_says_where_the_port_goes() -> None:
    finding = only(rules.check(make(host="smtp.wp.pl:465")), "rules.host_port")
    assert "„smtp.wp.pl”" in finding.text.pl and "465 w polu Port" in finding.text.pl
    assert "465 in the Port field" in finding.text.en


def test_scheme_finding_suggests_the_bare_name() -> None:
    finding = only(rules.check(make(host="https://smtp.wp.pl/")), "rules.host_scheme")
    assert "smtp.wp.pl" in finding.text.en and "https://" in finding.text.en


@pytest.mark.parametrize(
    "host", ["smtp.example.com", "mailserver", "127.0.0.1", "::1", "poczta.przykład.pl"]
)
def test_good_server_names(host: str) -> None:
    assert at(rules.check(make(host=host)), "host") == {}


# --------------------------------------------------------------------------
# Port and encryption


@pytest.mark.parametrize("port", [25, 587])
def test_ssl_on_a_starttls_port_is_an_error(port: int) -> None:
    finding = only(
        rules.check(make(port=port, encryption="ssl")), "rules.ssl_on_starttls_port"
    )
    assert finding.field == "encryption" and finding.level == "error"
    assert str(port) in finding.text.pl and "465" in finding.text.en


@pytest.mark.parametrize("encryption", ["starttls", "none"])
def test_no_implicit_tls_on_465_is_an_error(encryption: str) -> None:
    findings = rules.check(make(port=465, encryption=encryption))
    finding = only(findings, "rules.plain_on_465")
    assert finding.field == "encryption" and finding.level == "error"
    assert "465 expects SSL/TLS from the first byte" in finding.text.en
    assert "587" in finding.text.en


@pytest.mark.parametrize(
    ("port", "encryption"),
    [(465, "ssl"), (465, "auto"), (587, "auto"), (587, "starttls"), (25, "starttls")],
)
def test_matching_pairs_pass(port: int, encryption: str) -> None:
    assert rules.check(make(port=port, encryption=encryption)) == []


def test_no_encryption_with_a_password_warns_about_clear_text() -> None:
    findings = rules.check(make(port=25, encryption="none"))
    assert at(findings) == {"rules.cleartext_credentials": "warning"}


def test_no_encryption_without_credentials_is_quiet() -> None:
    findings = rules.check(make(port=25, encryption="none", login="", password=None))
    assert at(findings) == {"rules.no_auth": "warning"}


def test_port_outside_the_cloud_comes_with_a_ready_request() -> None:
    settings = make(port=2525)
    finding = only(rules.check(settings), "rules.port_not_open")
    assert finding.level == "warning" and finding.field == "port"
    for lang_text in finding.text:
        assert "chmura.standard@comarch.pl" in lang_text
        assert "2525" in lang_text and "smtp.example.com" in lang_text
        assert "Comarch DMS" in lang_text and "powiadomienia@example.com" in lang_text


def test_port_request_text_in_both_languages() -> None:
    settings = make(port=2525)
    pl = rules.port_request(settings, "pl")
    en = rules.port_request(settings, "en")
    assert pl.startswith("Do: chmura.standard@comarch.pl")
    assert en.startswith("To: chmura.standard@comarch.pl")
    assert "Temat: Prośba o otwarcie portu 2525" in pl
    assert "Subject: Request to open port 2525" in en
    for body in (pl, en):
        assert "smtp.example.com" in body and "Comarch DMS" in body


@pytest.mark.parametrize("port", [25, 465, 587])
def test_open_ports_need_no_request(port: int) -> None:
    settings = make(port=port, encryption="auto")
    assert at(rules.check(settings), "port") == {}


def test_local_server_on_any_port_needs_no_request() -> None:
    assert at(rules.check(make(host="127.0.0.1", port=8025)), "port") == {}


# --------------------------------------------------------------------------
# OAuth2


def test_office365_oauth_account_passes() -> None:
    assert rules.check(office365()) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"host": "smtp.gmail.com"},
        {"sender": "annanowa@gmail.com", "login": "annanowa@gmail.com"},
        {"sender": "annanowa@googlemail.com"},
    ],
)
def test_google_accounts_with_oauth_are_refused(overrides: dict[str, str]) -> None:
    findings = rules.check(office365(**overrides))
    finding = only(findings, "rules.google_oauth")
    assert finding.field == "auth" and finding.level == "error"
    assert "Google" in finding.text.pl and "not supported" in finding.text.en
    assert "rules.oauth_office365_only" not in at(findings)


def test_oauth_is_for_office365_hosts_only() -> None:
    findings = rules.check(office365(host="smtp.poczta.onet.pl"))
    finding = only(findings, "rules.oauth_office365_only")
    assert finding.field == "auth" and finding.level == "error"
    assert "smtp.office365.com" in finding.text.en


def test_oauth_against_a_local_test_server_is_only_a_warning() -> None:
    findings = rules.check(office365(host="127.0.0.1", port=8025))
    assert at(findings, "auth") == {"rules.oauth_loopback": "warning"}
    assert rules.errors(findings) == []


def test_password_with_oauth_is_unused() -> None:
    findings = rules.check(office365(password="zbedne"))
    assert at(findings, "password") == {"rules.password_unused": "warning"}


@pytest.mark.parametrize("name", ["tenant_id", "client_id"])
def test_oauth_needs_tenant_and_client(name: str) -> None:
    oauth = {"tenant_id": "t.onmicrosoft.com", "client_id": GUID, name: ""}
    findings = rules.check(office365(oauth=oauth))
    assert at(findings, f"oauth.{name}") == {"rules.required": "error"}


def test_oauth_client_id_should_be_a_guid() -> None:
    findings = rules.check(
        office365(oauth={"tenant_id": "t", "client_id": "moja-aplikacja"})
    )
    assert at(findings, "oauth.client_id") == {"rules.oauth_client_id": "warning"}


def test_oauth_authority_must_be_https() -> None:
    oauth = {
        "tenant_id": "t",
        "client_id": GUID,
        "authority_host": "http://login.example.com",
    }
    findings = rules.check(office365(oauth=oauth))
    assert at(findings, "oauth.authority_host") == {"rules.oauth_authority": "error"}
    local = {**oauth, "authority_host": "http://127.0.0.1:8400"}
    assert at(rules.check(office365(oauth=local)), "oauth.authority_host") == {}


def test_oauth_certificate_flow_needs_the_file(tmp_path: Path) -> None:
    oauth: dict[str, Any] = {"tenant_id": "t", "client_id": GUID, "flow": "certificate"}
    findings = rules.check(office365(oauth=oauth))
    assert at(findings, "oauth.cert_file") == {"rules.required": "error"}
    missing = {**oauth, "cert_file": str(tmp_path / "brak.pem")}
    findings = rules.check(office365(oauth=missing))
    assert at(findings, "oauth.cert_file") == {"rules.oauth_cert_file": "error"}
    present = {**oauth, "cert_file": str(ca_file(tmp_path))}
    assert at(rules.check(office365(oauth=present)), "oauth.cert_file") == {}


def test_oauth_without_encryption_is_refused() -> None:
    findings = rules.check(office365(encryption="none", port=25))
    assert at(findings, "encryption")["rules.oauth_encryption"] == "error"


# --------------------------------------------------------------------------
# Providers


def test_normalize_app_password() -> None:
    assert rules.normalize_app_password("pvli anpr lvvr nrrn") == "pvlianprlvvrnrrn"
    assert (
        rules.normalize_app_password("pvli\u00a0anpr lvvr\tnrrn ") == "pvlianprlvvrnrrn"
    )


@pytest.mark.parametrize(
    "password",
    ["Lawenda458!", "pvlianprlvvrnrr", "pvlianprlvvrnrrn1", "PVLI-ANPR-LVVR-NRRN"],
)
def test_gmail_warns_about_a_password_that_is_not_an_app_password(
    password: str,
) -> None:
    gmail = provider(
        "annanowa@gmail.com", "smtp.gmail.com", 465, "ssl", password=password
    )
    finding = only(rules.check(gmail), "rules.gmail_app_password")
    assert finding.field == "password" and finding.level == "warning"
    assert rules.GMAIL_WALKTHROUGH in finding.text.pl
    assert "04_gmail.ipynb" in finding.text.en
    assert password not in finding.text.pl + finding.text.en


def test_onet_wants_the_whole_address_as_login() -> None:
    onet = provider(
        "annanowak@op.pl", "smtp.poczta.onet.pl", 465, "ssl", login="annanowak"
    )
    finding = only(rules.check(onet), "rules.onet_login")
    assert finding.field == "login" and finding.level == "warning"
    assert "pełnym adresem" in finding.text.pl
    assert "full email address" in finding.text.en


@pytest.mark.parametrize(
    ("host", "sender"),
    [("poczta.o2.pl", "jan@o2.pl"), ("poczta.interia.pl", "jan@interia.pl")],
)
def test_o2_and_interia_document_the_local_part_as_login(
    host: str, sender: str
) -> None:
    settings = provider(sender, host, 465, "ssl")
    finding = only(rules.check(settings), "rules.login_local")
    assert finding.level == "warning" and finding.field == "login"
    assert "e.g. jan;" in finding.text.en
    assert rules.check(settings.model_copy(update={"login": "jan"})) == []


def test_outlook_wants_the_address_as_login() -> None:
    settings = provider(
        "jan@outlook.com", "smtp-mail.outlook.com", 587, "starttls", login="jan"
    )
    assert at(rules.check(settings), "login") == {"rules.login_address": "warning"}


def test_preset_notes_read_without_values() -> None:
    """The form shows a provider's notes before anything is typed."""
    from bpmnb.i18n import text
    from bpmnb.presets import PRESETS

    for preset in PRESETS.values():
        for key in preset.notes:
            for lang in ("pl", "en"):
                assert "{" not in text(key, lang), key


def test_provider_other_port_warns_with_documented_pairs() -> None:
    settings = provider("annanowak@op.pl", "smtp.poczta.onet.pl", 25, "starttls")
    finding = only(rules.check(settings), "rules.provider_port")
    assert "465" in finding.text.pl and "587" in finding.text.pl


@pytest.mark.parametrize(
    ("host", "sender"),
    [
        ("smtp.gmail.com", "powiadomienia@firma.pl"),
        ("smtp.wp.pl", "annanowa@gmail.com"),
        ("smtp.poczta.onet.pl", "jan@wp.pl"),
    ],
)
def test_sender_outside_the_providers_domains_warns(host: str, sender: str) -> None:
    settings = make(sender=sender, host=host, port=465, encryption="ssl", reply_to="")
    finding = only(rules.check(settings), "rules.sender_foreign_domain")
    assert finding.field == "sender" and finding.level == "warning"
    assert sender in finding.text.pl and host in finding.text.en


def test_office365_custom_domain_is_not_foreign() -> None:
    assert "rules.sender_foreign_domain" not in at(rules.check(office365()))


def test_provider_address_through_a_foreign_server_warns() -> None:
    settings = make(sender="annanowa@gmail.com", host="smtp.firma.pl")
    finding = only(rules.check(settings), "rules.sender_provider_host")
    assert finding.field == "host" and "smtp.gmail.com" in finding.text.en


def test_gmail_rewrites_a_sender_other_than_the_login() -> None:
    settings = provider(
        "druga@gmail.com",
        "smtp.gmail.com",
        587,
        "starttls",
        login="annanowa@gmail.com",
        password="pvlianprlvvrnrrn",
    )
    assert at(rules.check(settings)) == {"rules.sender_not_login": "warning"}


def test_daily_cap_above_the_providers_limit_warns() -> None:
    settings = provider(
        "annanowa@gmail.com",
        "smtp.gmail.com",
        465,
        "ssl",
        password="pvlianprlvvrnrrn",
        daily_cap=5000,
    )
    assert at(rules.check(settings)) == {"rules.daily_cap_above_provider": "warning"}
    assert rules.check(settings.model_copy(update={"daily_cap": 1500})) == []


# --------------------------------------------------------------------------
# Timeout and CA file


@pytest.mark.parametrize(
    ("timeout", "key"), [(0.5, "rules.timeout_short"), (300, "rules.timeout_long")]
)
def test_odd_timeouts_warn(timeout: float, key: str) -> None:
    assert at(rules.check(make(timeout=timeout)), "timeout") == {key: "warning"}


@pytest.mark.parametrize("timeout", [2, 30, 120])
def test_sensible_timeouts_pass(timeout: float) -> None:
    assert at(rules.check(make(timeout=timeout)), "timeout") == {}


def test_ca_file_must_exist(tmp_path: Path) -> None:
    findings = rules.check(make(ca_file=str(tmp_path / "brak.pem")))
    assert at(findings, "ca_file") == {"rules.ca_file_missing": "error"}


def test_ca_file_must_be_pem(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("to nie jest certyfikat\n")
    assert at(rules.check(make(ca_file=str(not_pem))), "ca_file") == {
        "rules.ca_file_not_pem": "error"
    }
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert at(rules.check(make(ca_file=str(broken))), "ca_file") == {
        "rules.ca_file_not_pem": "error"
    }


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads all"
)
def test_ca_file_must_be_readable(tmp_path: Path) -> None:
    path = ca_file(tmp_path)
    path.chmod(0)
    assert at(rules.check(make(ca_file=str(path))), "ca_file") == {
        "rules.ca_file_unreadable": "error"
    }


def test_ca_file_that_is_a_directory_is_unreadable(tmp_path: Path) -> None:
    findings = rules.check(make(ca_file=str(tmp_path)))
    assert at(findings, "ca_file") == {"rules.ca_file_unreadable": "error"}


def test_a_real_ca_file_passes(tmp_path: Path) -> None:
    assert rules.check(make(ca_file=str(ca_file(tmp_path)))) == []


# --------------------------------------------------------------------------
# parse: model errors become findings


@pytest.mark.parametrize("port", ["abc", 0, 65536, -1, "4.5"])
def test_bad_port_is_reported_at_the_port(port: object) -> None:
    settings, findings = rules.parse({"port": port})
    assert settings is None
    finding = only(findings, "rules.port_range")
    assert finding.field == "port"
    assert finding.text.pl.startswith("Port musi być liczbą od 1 do 65535")
    assert finding.text.en.startswith("The port must be a number from 1 to 65535")


def test_port_given_as_text_digits_is_accepted() -> None:
    settings, findings = rules.parse({"port": "465"})
    assert findings == [] and settings is not None and settings.port == 465


@pytest.mark.parametrize("timeout", ["abc", 0, 601])
def test_bad_timeout(timeout: object) -> None:
    _, findings = rules.parse({"timeout": timeout})
    assert at(findings, "timeout") == {"rules.timeout_range": "error"}


def test_unknown_fields_are_named() -> None:
    _, findings = rules.parse({"smtp_host": "x", "oauth": {"tenant": "y"}})
    assert at(findings, "smtp_host") == {"rules.unknown_field": "error"}
    assert at(findings, "oauth.tenant") == {"rules.unknown_field": "error"}
    assert (
        "smtp_host"
        in only(
            [f for f in findings if f.field == "smtp_host"], "rules.unknown_field"
        ).text.pl
    )


def test_bad_choice_lists_the_options() -> None:
    _, findings = rules.parse({"encryption": "tls", "auth": "oauth2_google"})
    enc = next(f for f in findings if f.field == "encryption")
    assert enc.key == "rules.choice" and "starttls" in enc.text.en
    assert "Automatyczne" in enc.text.pl
    assert at(findings, "auth") == {"rules.choice": "error"}


def test_other_type_errors() -> None:
    _, findings = rules.parse(
        {"enabled": "może", "server_type": "IMAP", "daily_cap": 0, "sender": 5}
    )
    assert at(findings) == {
        "rules.boolean": "error",
        "rules.server_type": "error",
        "rules.positive_int": "error",
        "rules.text": "error",
    }


def test_not_a_mapping() -> None:
    settings, findings = rules.parse(["host", "smtp.wp.pl"])  # type: ignore[arg-type]
    assert settings is None and at(findings) == {"rules.not_mapping": "error"}
    _, findings = rules.parse({"oauth": "tenant"})
    assert at(findings, "oauth") == {"rules.not_mapping": "error"}


def test_a_bad_password_value_is_never_echoed() -> None:
    _, findings = rules.parse({"password": 987654321})
    assert at(findings, "password") == {"rules.invalid_value": "error"}
    assert "987654321" not in str([f.as_json() for f in findings])


def test_parse_of_a_dump_round_trips() -> None:
    original = make(daily_cap=100, ca_file=None)
    again, findings = rules.parse(original.public_dict())
    assert findings == [] and again is not None
    assert again.public_dict() == original.public_dict()


# --------------------------------------------------------------------------
# Every sentence complete in both languages


def _every_finding() -> list[Finding]:
    samples = [
        make(sender="", host="", login="", password=None),
        make(host="smtp.wp.pl:465", sender="Jan <a@b.pl>", display_name="a\nb"),
        make(port=2525, encryption="none", timeout=0.2),
        make(port=465, encryption="starttls", password="x\x00"),
        office365(host="smtp.gmail.com", password="p"),
        office365(host="smtp.wp.pl", oauth={"authority_host": "http://x"}),
        make(
            sender="annanowa@gmail.com",
            host="smtp.gmail.com",
            login="annanowa",
            port=25,
            encryption="ssl",
            password="zwykłe",
            daily_cap=9999,
        ),
    ]
    return [f for s in samples for f in rules.check(s)] + rules.parse(
        {"port": "x", "foo": 1, "encryption": "x", "enabled": "x"}
    )[1]


def test_every_finding_is_filled_in_both_languages() -> None:
    findings = _every_finding()
    assert len({f.key for f in findings}) > 20
    for finding in findings:
        assert finding.level in ("error", "warning")
        for sentence in finding.text:
            assert sentence.strip()
            assert not re.search(r"\{[a-z_]+\}", sentence), sentence
        assert (
            finding.text.pl != finding.text.en or finding.key == "rules.oauth_client_id"
        )
        assert finding.as_json()["key"] == finding.key


def test_findings_come_in_form_order_errors_first() -> None:
    findings = rules.check(make(sender="", port=2525, host="smtp.wp.pl:1"))
    order = list(AccountSettings.model_fields)
    positions = [order.index((f.field or "").split(".")[0]) for f in findings]
    assert positions == sorted(positions)


def test_review_reports_type_errors_and_rules_in_one_pass() -> None:
    data = {
        "host": "smtp.gmail.com",
        "port": "abc",
        "auth": "oauth2_office365",
        "sender": "anna@gmail.com",
        "colour": "red",
    }
    settings, findings = rules.review(data)
    assert settings is None
    keyed = {(f.field, f.level) for f in findings}
    assert ("port", "error") in keyed
    assert ("colour", "error") in keyed
    # The Google OAuth2 refusal comes in the same pass, not after a fix.
    assert any(f.field == "auth" and f.level == "error" for f in findings)
    # No second finding about the port that could not be read.
    assert len([f for f in findings if f.field == "port"]) == 1


def test_review_of_valid_data_is_parse_then_check() -> None:
    data = {"host": "smtp.wp.pl", "port": 465, "encryption": "ssl"}
    settings, findings = rules.review(data)
    assert settings is not None
    assert findings == rules.check(settings)
