"""The token preflight: what a token says is wrong, before any SMTP, and the
same tokens refused for real by an XOAUTH2 server that checks them."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpmnb import credentials, message, token_preflight, transport
from bpmnb.errors import Code, DeliveryError, Stage
from bpmnb.home import Home
from bpmnb.sandbox import Sandbox
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import AccountSettings
from tests.support.identity import (
    App,
    IdentityEmulator,
    office365_on_sandbox,
    office365_settings,
    validator,
)

SECRET = "preflight-secret-value"
MAILBOX = "powiadomienia@contoso.onmicrosoft.com"
USER = "jan.kowalski@contoso.onmicrosoft.com"


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")


@pytest.fixture
def store(home: Home) -> SecretStore:
    store = open_store(home)
    store.set("oauth_client_secret", SECRET)
    return store


@pytest.fixture
def app(idp: IdentityEmulator) -> App:
    return idp.register_app(secret=SECRET)


@pytest.fixture
def settings(idp: IdentityEmulator, app: App, tmp_path: Path) -> AccountSettings:
    return office365_settings(idp, app, idp.ca_file(tmp_path))  # type: ignore[no-any-return]


def keys(findings: list[Any]) -> set[str]:
    return {f.key for f in findings}


# --- claims alone --------------------------------------------------------------------


def test_a_good_app_token_has_no_findings(
    idp: IdentityEmulator, app: App, settings: AccountSettings
) -> None:
    token = idp.mint(idp.app_claims(app))
    assert token_preflight.check(token, settings) == []


@pytest.mark.parametrize(
    "audience",
    [
        "https://outlook.office.com",
        "https://outlook.office365.com/",
        "00000002-0000-0ff1-ce00-000000000000",
    ],
)
def test_every_exchange_audience_is_accepted(
    idp: IdentityEmulator, app: App, settings: AccountSettings, audience: str
) -> None:
    claims = idp.app_claims(app) | {"aud": audience}
    assert token_preflight.check_claims(claims, settings) == []


@pytest.mark.parametrize(
    ("change", "key", "field"),
    [
        ({"aud": "https://graph.microsoft.com"}, "oauth.preflight.audience", None),
        ({"roles": ["Mail.Send"]}, "oauth.preflight.role_missing", None),
        ({"exp": int(time.time()) - 90}, "oauth.preflight.expired", None),
        (
            {"tid": "99999999-9999-9999-9999-999999999999"},
            "oauth.preflight.other_tenant",
            "oauth.tenant_id",
        ),
        (
            {"appid": "88888888-8888-8888-8888-888888888888"},
            "oauth.preflight.other_app",
            "oauth.client_id",
        ),
        ({"nbf": int(time.time()) + 3600}, "oauth.preflight.not_yet", None),
    ],
)
def test_each_fault_is_named_in_both_languages(
    idp: IdentityEmulator,
    app: App,
    settings: AccountSettings,
    change: dict[str, Any],
    key: str,
    field: str | None,
) -> None:
    token = idp.mint(idp.app_claims(app) | change)
    findings = token_preflight.check(token, settings)
    assert [f.key for f in findings] == [key]
    finding = findings[0]
    assert finding.field == field and finding.level == "error"
    assert finding.text.pl and finding.text.en and finding.text.pl != finding.text.en


def test_audience_finding_names_what_it_saw_and_what_is_needed(
    idp: IdentityEmulator, app: App, settings: AccountSettings
) -> None:
    token = idp.mint(idp.app_claims(app) | {"aud": "https://graph.microsoft.com"})
    (finding,) = token_preflight.check(token, settings)
    assert "https://graph.microsoft.com" in finding.text.pl
    assert "https://outlook.office365.com" in finding.text.en


def test_delegated_token_needs_smtp_send_and_the_same_user(
    idp: IdentityEmulator, settings: AccountSettings
) -> None:
    user_app = idp.register_app(public_client=True, scopes=["Mail.Read"])
    user = idp.add_user("anna@contoso.onmicrosoft.com")
    settings = AccountSettings.model_validate(
        settings.model_dump()
        | {
            "login": USER,
            "oauth": settings.oauth.model_dump() | {"flow": "device_code"},
        }
    )
    claims = idp.user_claims(user_app, user) | {"appid": settings.oauth.client_id}
    found = keys(token_preflight.check_claims(claims, settings))
    assert found == {"oauth.preflight.scope_missing", "oauth.preflight.other_user"}
    claims |= {"scp": "SMTP.Send", "upn": USER}
    assert token_preflight.check_claims(claims, settings) == []


def test_app_token_where_a_user_token_is_expected_and_back(
    idp: IdentityEmulator, app: App, settings: AccountSettings
) -> None:
    user = idp.add_user(MAILBOX)
    delegated = idp.user_claims(app, user)
    assert keys(token_preflight.check_claims(delegated, settings)) == {
        "oauth.preflight.delegated_for_app"
    }
    settings = AccountSettings.model_validate(
        settings.model_dump()
        | {"oauth": settings.oauth.model_dump() | {"flow": "device_code"}}
    )
    assert keys(token_preflight.check_claims(idp.app_claims(app), settings)) == {
        "oauth.preflight.app_for_delegated"
    }


def test_decoding_refuses_what_is_not_a_jwt(settings: AccountSettings) -> None:
    for bad in ("opaque-token", "a.b.c", "a.bm90LWpzb24.c"):
        with pytest.raises(ValueError, match="not a JWT"):
            token_preflight.decode(bad)
    assert keys(token_preflight.check("EwBAAl3BAAUFF", settings)) == {
        "oauth.preflight.not_jwt"
    }


# --- preflight from the emulated Entra ID, then real AUTH -----------------


def _break(idp: IdentityEmulator, app: App, fault: str) -> None:
    if fault == "audience":
        idp.audience = "https://graph.microsoft.com"
    elif fault == "role":
        app.roles = []
    elif fault == "expired":
        idp.skew = -7200  # the token server's clock is two hours behind
    elif fault == "tenant":
        idp.token_tenant = "99999999-9999-9999-9999-999999999999"


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ("audience", "oauth.preflight.audience"),
        ("role", "oauth.preflight.role_missing"),
        ("expired", "oauth.preflight.expired"),
        ("tenant", "oauth.preflight.other_tenant"),
    ],
)
def test_preflight_names_the_fault_and_the_server_refuses_the_token(
    idp: IdentityEmulator,
    app: App,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
    fault: str,
    key: str,
) -> None:
    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, app, tmp_path, MAILBOX)
    _break(idp, app, fault)

    report = token_preflight.run(settings, store)
    assert not report.ok
    assert key in keys(report.findings)
    assert report.facts is not None and report.as_json()["ok"] is False

    credential = credentials.for_settings(settings, home, store)
    msg = message.build(settings, to="odbiorca@example.com", subject="t", body="t")
    with pytest.raises(DeliveryError) as caught:
        transport.deliver(settings, credential, msg)
    assert caught.value.code is Code.TOKEN_INVALID
    assert caught.value.stage is Stage.AUTH


def test_preflight_passes_and_the_token_is_accepted(
    idp: IdentityEmulator,
    app: App,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, app, tmp_path, MAILBOX)
    report = token_preflight.run(settings, store)
    assert report.ok, report.as_json()
    assert report.facts is not None and report.facts.roles == ("SMTP.SendAsApp",)
    credential = credentials.for_settings(settings, home, store)
    msg = message.build(settings, to="odbiorca@example.com", subject="t", body="t")
    assert transport.deliver(settings, credential, msg).smtp_code == 250


def test_preflight_reports_a_token_it_could_not_get(
    idp: IdentityEmulator, app: App, settings: AccountSettings, store: SecretStore
) -> None:
    store.set("oauth_client_secret", "wrong")
    report = token_preflight.run(settings, store)
    assert report.facts is None and not report.ok
    (finding,) = report.findings
    assert finding.key == "oauth.invalid_client"
    assert "AADSTS7000215" in finding.text.en and "AADSTS7000215" in finding.text.pl


def test_cli_preflight_exit_code_and_json(
    idp: IdentityEmulator,
    app: App,
    home: Home,
    store: SecretStore,
    settings: AccountSettings,
) -> None:
    import json
    import os
    import subprocess
    import sys

    from bpmnb import storage

    storage.save(home, settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    env.update(BPMNB_HOME=str(home.root), BPMNB_SECRET_BACKEND="file")
    command = [str(Path(sys.executable).parent / "bpmnb"), "--lang", "en", "oauth"]

    def preflight(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "preflight", *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    good = preflight()
    assert good.returncode == 0, good.stderr
    assert "SMTP.SendAsApp" in good.stdout and "looks right" in good.stdout

    app.roles = []
    store.delete("oauth_token_cache")  # force a new token
    bad = preflight("--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert [f["key"] for f in report["findings"]] == ["oauth.preflight.role_missing"]
    assert report["findings"][0]["pl"] and report["findings"][0]["en"]
    assert SECRET not in bad.stdout + bad.stderr + good.stdout + good.stderr
