"""Office 365 OAuth2 edges: Entra ID refusals passed through msal, a slow or
broken identity endpoint, pasted secrets, tenants, odd tokens, a bad token
cache and device sign-ins that never finish, all through msal's real code
path against the local HTTPS emulator."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msal
import pytest

from bpmnb import oauth, storage, token_preflight
from bpmnb.errors import Code, SettingsError
from bpmnb.home import Home
from bpmnb.secrets import SecretStore, open_store
from tests.support.identity import (
    App,
    IdentityEmulator,
    entra_error,
    office365_settings,
)

SECRET = "planted-Edge~client.secret-Kk42"  # must never leave the secret store
SECRET_ID = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
USER = "jan.kowalski@contoso.onmicrosoft.com"
BPMNB = str(Path(sys.executable).parent / "bpmnb")


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    monkeypatch.delenv(oauth.CLIENT_SECRET_ENV, raising=False)


@pytest.fixture
def store(home: Home) -> SecretStore:
    return open_store(home)


@pytest.fixture
def ca(tmp_path: Path, idp: IdentityEmulator) -> Path:
    return idp.ca_file(tmp_path)


@pytest.fixture
def secret_app(idp: IdentityEmulator, store: SecretStore) -> App:
    store.set("oauth_client_secret", SECRET)
    return idp.register_app(secret=SECRET)


def _both_clear(exc: oauth.OAuthError) -> None:
    """A message and a hint in both languages, no raw msal dict in them."""
    texts = [exc.message("pl"), exc.message("en"), exc.hint("pl"), exc.hint("en")]
    assert all(texts)
    assert exc.message("pl") != exc.message("en")
    for t in texts:
        assert "{" not in t and "error_description" not in t and SECRET not in t
    assert SECRET not in str(exc) and SECRET not in repr(exc.args)


# --- Entra ID refusals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        ("invalid_client", "AADSTS7000215", "oauth.invalid_client"),
        ("unauthorized_client", "AADSTS700016", "oauth.unknown_app"),
        ("invalid_request", "AADSTS90002", "oauth.unknown_tenant"),
        ("invalid_client", "AADSTS7000222", "oauth.secret_expired"),
        ("unauthorized_client", "AADSTS700054", "oauth.unknown_app"),
        ("invalid_grant", "AADSTS65001", "oauth.no_consent"),
        ("invalid_request", "AADSTS50059", "oauth.token_refused"),
    ],
)
def test_entra_errors_through_msal_are_named(
    idp: IdentityEmulator,
    secret_app: App,
    store: SecretStore,
    ca: Path,
    error: str,
    code: str,
    reason: str,
) -> None:
    idp.token_reply = (
        400,
        "application/json",
        entra_error(error, code, f"Echo of request: {SECRET}"),
    )
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(office365_settings(idp, secret_app, ca), store)
    assert caught.value.reason == reason
    assert code in (caught.value.detail or "")
    _both_clear(caught.value)


@pytest.mark.parametrize(
    ("status", "kind", "body"),
    [
        (502, "text/html", "<html><body>Bad gateway (proxy)</body></html>"),
        (500, "application/json", "{not json"),
        (200, "text/html", "<html>Sign in to the corporate Wi-Fi</html>"),
        (503, "application/json", ""),
    ],
)
def test_broken_identity_replies_are_a_named_temporary_failure(
    idp: IdentityEmulator,
    secret_app: App,
    store: SecretStore,
    ca: Path,
    status: int,
    kind: str,
    body: str,
) -> None:
    idp.token_reply = (status, kind, body)
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(office365_settings(idp, secret_app, ca), store)
    assert caught.value.reason == "oauth.identity_unreachable"
    assert caught.value.code is Code.TEMPORARY_FAILURE
    _both_clear(caught.value)


def test_silent_identity_endpoint_honours_the_timeout(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    settings.timeout = 1.0
    idp.delay = 6.0
    started = time.monotonic()
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert time.monotonic() - started < 5.0
    assert caught.value.reason == "oauth.identity_unreachable"


# --- pasted secrets ----------------------------------------------------------------


@pytest.mark.parametrize(
    "pasted", [f"  {SECRET}\n", f'"{SECRET}"', f"'{SECRET}' ", f"\t{SECRET}\r\n"]
)
def test_secret_pasted_with_spaces_or_quotes_works(
    idp: IdentityEmulator,
    secret_app: App,
    store: SecretStore,
    ca: Path,
    pasted: str,
) -> None:
    store.set("oauth_client_secret", pasted)
    token = oauth.acquire(office365_settings(idp, secret_app, ca), store)
    assert token.claims["roles"] == ["SMTP.SendAsApp"]


def test_secret_id_instead_of_value_is_explained(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    store.set("oauth_client_secret", SECRET_ID)
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(office365_settings(idp, secret_app, ca), store)
    assert caught.value.reason == "oauth.secret_is_id"
    _both_clear(caught.value)
    assert SECRET_ID not in caught.value.message("en")
    assert "Value" in caught.value.hint("en") and "Wartość" in caught.value.hint("pl")


def test_cli_refuses_to_store_a_secret_id(
    idp: IdentityEmulator, secret_app: App, home: Home, ca: Path
) -> None:
    storage.save(home, office365_settings(idp, secret_app, ca))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    env.update(BPMNB_HOME=str(home.root), BPMNB_SECRET_BACKEND="file", BPMNB_LANG="pl")
    run = subprocess.run(
        [BPMNB, "oauth", "login", "--client-secret-stdin"],
        input=f'"{SECRET_ID}"\n',
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "Wartość" in run.stderr and SECRET_ID not in run.stdout + run.stderr
    assert open_store(home).get("oauth_client_secret") == SECRET  # kept
    assert idp.requests == []


def test_wrong_secret_that_is_not_an_id_stays_invalid_client(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    store.set("oauth_client_secret", "abc8Q~not-the-right-value-at-all1234567")
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(office365_settings(idp, secret_app, ca), store)
    assert caught.value.reason == "oauth.invalid_client"


# --- tenants -----------------------------------------------------------------------


@pytest.mark.parametrize("tenant", ["common", "organizations", "Consumers"])
def test_multi_tenant_authority_refused_for_client_credentials(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path, tenant: str
) -> None:
    settings = office365_settings(idp, secret_app, ca, tenant_id=tenant)
    with pytest.raises(SettingsError) as caught:
        oauth.acquire(settings, store)
    where = [f.field for f in caught.value.findings]
    assert where == ["oauth.tenant_id"]
    finding = caught.value.findings[0]
    assert finding.key == "oauth.tenant_not_specific"
    assert finding.text.get("pl") and finding.text.get("en")
    assert idp.requests == []


@pytest.mark.parametrize(
    "tenant", ["contoso onmicrosoft com", "https://login.microsoftonline.com/x", "a/b"]
)
def test_malformed_tenant_is_refused_at_the_field(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path, tenant: str
) -> None:
    settings = office365_settings(idp, secret_app, ca, tenant_id=tenant)
    with pytest.raises(SettingsError) as caught:
        oauth.acquire(settings, store)
    assert [f.field for f in caught.value.findings] == ["oauth.tenant_id"]
    assert caught.value.findings[0].key == "oauth.tenant_malformed"


def test_tenant_as_domain_name_and_padded_guid_work(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    by_domain = office365_settings(idp, secret_app, ca, tenant_id=idp.domain)
    assert oauth.acquire(by_domain, store).claims["tid"] == idp.tenant_id
    report = token_preflight.run(by_domain, store)
    assert report.ok, report.text("en")
    oauth.logout(store)
    padded = office365_settings(idp, secret_app, ca, tenant_id=f" {idp.tenant_id} ")
    assert oauth.acquire(padded, store).claims["tid"] == idp.tenant_id


# --- odd tokens in the preflight -----------------------------------------------------


def _claims(idp: IdentityEmulator, app: App, **change: Any) -> dict[str, Any]:
    claims = idp.app_claims(app)
    for name, value in change.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def test_preflight_tolerates_a_minute_of_clock_skew(
    idp: IdentityEmulator, secret_app: App, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    now = time.time()
    claims = _claims(idp, secret_app, nbf=int(now + 60), iat=int(now + 60))
    assert token_preflight.check(idp.mint(claims), settings, now=now) == []


def test_preflight_names_a_token_without_exp(
    idp: IdentityEmulator, secret_app: App, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    found = token_preflight.check(
        idp.mint(_claims(idp, secret_app, exp=None)), settings
    )
    assert [f.key for f in found] == ["oauth.preflight.no_expiry"]


@pytest.mark.parametrize(
    "token",
    [
        "abc.def",
        "a.b.c.d",
        "eyJhbGciOiJub25lIn0.!!!not-base64!!!.sig",
        "eyJhbGciOiJub25lIn0.bm90IGpzb24.sig",  # "not json"
        "eyJhbGciOiJub25lIn0.WzEsMl0.sig",  # [1,2]
        "eyJhbGciOiJub25lIn0.__79.sig",  # bytes that are not UTF-8
        "eyJhbGciOiJub25lIn0.4oCU.sig",  # non-ASCII in the token itself: "—"
        "ey—.x.y",
        "",
    ],
)
def test_preflight_names_malformed_tokens(
    idp: IdentityEmulator, secret_app: App, ca: Path, token: str
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    found = token_preflight.check(token, settings)
    assert "oauth.preflight.not_jwt" in [f.key for f in found]


@pytest.mark.parametrize(
    "claims_change",
    [
        {"exp": math.nan},
        {"exp": math.inf},
        {"exp": 1e300},
        {"nbf": -1e300},
        {"exp": True},
        {"exp": "1700000000"},
        {"aud": 42},
        {"roles": "SMTP.SendAsApp"},
        {"scp": ["SMTP.Send"]},
        {"tid": ["x"]},
    ],
)
def test_preflight_survives_odd_claim_types(
    idp: IdentityEmulator, secret_app: App, ca: Path, claims_change: dict[str, Any]
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    claims = {**idp.app_claims(secret_app), **claims_change}
    found = token_preflight.check_claims(claims, settings)
    report = token_preflight.Report(token_preflight.TokenFacts.of(claims), found)
    assert report.text("pl") and json.dumps(report.as_json(), allow_nan=False)
    # An nbf far in the past harms nothing; every other change is a fault.
    assert report.ok is ("nbf" in claims_change)


@pytest.mark.parametrize(
    "aud",
    [
        "https://outlook.office365.com",
        "https://outlook.office365.com/",
        token_preflight.EXCHANGE_APP_ID,
        "https://outlook.office.com",
    ],
)
def test_preflight_accepts_v1_and_v2_audiences(
    idp: IdentityEmulator, secret_app: App, ca: Path, aud: str
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    claims = _claims(idp, secret_app, aud=aud, ver="2.0" if "-" in aud else "1.0")
    assert token_preflight.check_claims(claims, settings) == []


# --- the token cache -----------------------------------------------------------------


@pytest.mark.parametrize(
    "saved",
    [
        "not json",
        "[]",
        "null",
        '{"AccessToken": 5}',
        '{"AccessToken": {"k": "v"}}',
        '{"AccessToken": {"k": {"secret": "x", "expires_on": "soon"}}}',
    ],
)
def test_corrupt_token_cache_is_replaced(
    idp: IdentityEmulator,
    secret_app: App,
    store: SecretStore,
    ca: Path,
    saved: str,
) -> None:
    store.set("oauth_token_cache", saved)
    settings = office365_settings(idp, secret_app, ca)
    assert oauth.status(settings, store)["token_expires_at"] is None
    token = oauth.acquire(settings, store)
    assert not token.from_cache
    json.loads(store.get("oauth_token_cache") or "")
    assert oauth.acquire(settings, store).from_cache


def test_cache_of_another_app_is_not_used(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    old = oauth.acquire(office365_settings(idp, secret_app, ca), store)
    other = idp.register_app(secret=SECRET)
    token = oauth.acquire(office365_settings(idp, other, ca), store)
    assert not token.from_cache and token.access_token != old.access_token
    assert token.claims["appid"] == other.client_id


# --- device sign-in that never finishes ---------------------------------------------


@pytest.fixture
def user_app(idp: IdentityEmulator) -> App:
    idp.add_user(USER)
    return idp.register_app(public_client=True)


def test_device_code_that_expires_ends_within_its_lifetime(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    idp.device_lifetime = 3
    settings = office365_settings(idp, user_app, ca, login=USER, flow="device_code")
    shown: list[int] = []
    started = time.monotonic()
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.login(settings, store, show=lambda u, c, e: shown.append(e))
    assert time.monotonic() - started < 20
    assert shown == [3]
    assert caught.value.reason == "oauth.device_expired"
    _both_clear(caught.value)


def test_cli_login_interrupted_exits_cleanly(
    idp: IdentityEmulator, user_app: App, home: Home, ca: Path
) -> None:
    settings = office365_settings(idp, user_app, ca, login=USER, flow="device_code")
    storage.save(home, settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    env.update(BPMNB_HOME=str(home.root), BPMNB_SECRET_BACKEND="file", BPMNB_LANG="en")
    proc = subprocess.Popen(
        [BPMNB, "oauth", "login"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        assert "/devicelogin" in proc.stdout.readline()
        proc.send_signal(2)  # SIGINT, as Ctrl-C
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert open_store(home).get("oauth_token_cache") is None


# --- tokens never leave the store ---------------------------------------------


def test_issued_tokens_never_appear_outside_the_store(
    idp: IdentityEmulator,
    secret_app: App,
    home: Home,
    store: SecretStore,
    ca: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    storage.save(home, settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    env.update(BPMNB_HOME=str(home.root), BPMNB_SECRET_BACKEND="file", BPMNB_LANG="pl")
    outputs = []
    for args in (
        ("oauth", "login"),
        ("oauth", "preflight"),
        ("oauth", "preflight", "--json"),
        ("oauth", "status", "--json"),
    ):
        run = subprocess.run(
            [BPMNB, "-vv", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        outputs.append(run.stdout + run.stderr)
    with caplog.at_level(logging.DEBUG):
        token = oauth.acquire(settings, store)
        report = token_preflight.run(settings, store)
    cache = msal.SerializableTokenCache()
    cache.deserialize(store.get("oauth_token_cache"))
    planted = [
        t["secret"] for t in cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)
    ]
    assert token.access_token in planted
    assert token.access_token not in repr(token)
    for value in planted:
        for out in outputs:
            assert value not in out
        assert value not in caplog.text and value not in report.text("en")
        assert value not in json.dumps(report.as_json())
        secrets_file = home.secrets_file.resolve()
        for path in home.root.rglob("*"):
            if path.is_file() and path.resolve() != secrets_file:
                assert value.encode() not in path.read_bytes(), path
