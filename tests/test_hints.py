"""Provider-aware hints and the catalogue text behind every fault code."""

from __future__ import annotations

import pytest

from bpmnb import hints
from bpmnb.catalog import CATALOG
from bpmnb.diagnosis import CheckReport
from bpmnb.errors import BpmnbError, Code, DeliveryError, Stage
from bpmnb.i18n import LANGS
from bpmnb.settings import AccountSettings, Encryption


def _settings(host: str, port: int = 465, sender: str = "") -> AccountSettings:
    return AccountSettings(
        host=host, port=port, encryption=Encryption.SSL, sender=sender
    )


@pytest.mark.parametrize("code", list(Code))
def test_every_code_has_text_and_fix_in_both_languages(code: Code) -> None:
    for key in (f"diagnosis.{code}", f"diagnosis.{code}.hint"):
        msg = CATALOG[key]
        assert msg.pl.strip() and msg.en.strip()
        assert msg.pl != msg.en
        assert "{" not in msg.pl + msg.en  # shown without fields anywhere
    error = BpmnbError(code)
    assert error.message("pl") == CATALOG[f"diagnosis.{code}"].pl
    assert error.hint("en") == CATALOG[f"diagnosis.{code}.hint"].en


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_a_name(stage: Stage) -> None:
    msg = CATALOG[f"diagnosis.stage.{stage}"]
    assert msg.pl and msg.en


def test_wp_access_for_programs() -> None:
    got = hints.hint_for(Code.AUTH_FAILED, _settings("smtp.wp.pl"), "pl")
    assert "Aktywacja dostępu dla programów pocztowych" in got
    assert got.endswith(CATALOG["diagnosis.AUTH_FAILED.hint"].pl)
    en = hints.hint_for(Code.AUTH_FAILED, _settings("smtp.wp.pl"), "en")
    assert "access for mail programs" in en


def test_onet_whole_address_as_login() -> None:
    got = hints.hint_for(Code.AUTH_FAILED, _settings("smtp.poczta.onet.pl"), "pl")
    assert "cały adres e-mail" in got
    en = hints.hint_for(Code.AUTH_FAILED, _settings("smtp.poczta.onet.pl"), "en")
    assert "whole e-mail address" in en


def test_gmail_app_password_steps() -> None:
    err = DeliveryError(
        Code.APP_PASSWORD_REQUIRED,
        stage=Stage.AUTH,
        smtp_code=534,
        smtp_reply="5.7.9 Application-specific password required",
    )
    got = hints.hint_for(err, _settings("smtp.gmail.com"), "en")
    for step in ("2-Step Verification", "Security", "App passwords", "16 letters"):
        assert step in got
    pl = hints.hint_for(err, _settings("smtp.gmail.com"), "pl")
    assert "Weryfikacja dwuetapowa" in pl and "16 liter" in pl


def test_provider_found_by_sender_domain() -> None:
    settings = _settings("mail.example.com", sender="anna@gmail.com")
    got = hints.hint_for(Code.APP_PASSWORD_REQUIRED, settings, "en")
    assert "App passwords" in got


def test_office365_hints() -> None:
    o365 = AccountSettings(host="smtp.office365.com", port=587)
    assert "Authenticated SMTP" in hints.hint_for(Code.AUTH_DISABLED, o365, "en")
    assert "Send As" in hints.hint_for(Code.SENDER_REJECTED, o365, "en")


@pytest.mark.parametrize("lang", LANGS)
def test_port_outside_cloud_gets_the_request(lang: str) -> None:
    settings = AccountSettings(host="smtp.example.com", port=2525)
    got = hints.hint_for(Code.CONNECT_TIMEOUT, settings, lang)  # type: ignore[arg-type]
    assert "chmura.standard@comarch.pl" in got
    assert "2525" in got


def test_usual_port_gets_no_request() -> None:
    settings = AccountSettings(host="smtp.example.com", port=587)
    got = hints.hint_for(Code.CONNECT_TIMEOUT, settings, "pl")
    assert "chmura.standard@comarch.pl" not in got
    assert got == CATALOG["diagnosis.CONNECT_TIMEOUT.hint"].pl


def test_unknown_provider_and_no_settings_give_the_generic_hint() -> None:
    assert hints.hint_for("AUTH_FAILED", None, "en") == (
        CATALOG["diagnosis.AUTH_FAILED.hint"].en
    )
    other = _settings("smtp.example.com")
    assert hints.hint_for(Code.AUTH_FAILED, other, "en") == (
        CATALOG["diagnosis.AUTH_FAILED.hint"].en
    )


def test_check_report_hint_is_provider_aware() -> None:
    report = CheckReport(
        code=Code.AUTH_FAILED,
        stage=Stage.AUTH,
        stages=[],
        settings=_settings("smtp.wp.pl"),
    )
    assert "Aktywacja dostępu" in report.hint("pl")
    assert hints.hint_for(report, report.settings, "pl") == report.hint("pl")
