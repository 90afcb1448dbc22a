"""Office 365 tokens through msal's real code path, against the local Entra ID
emulator (HTTPS with a trustme certificate), and delivered with AUTH XOAUTH2
to the sandbox, which checks the bearer token it receives."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from bpmnb import credentials, message, oauth, storage, transport
from bpmnb.errors import Code, SettingsError
from bpmnb.home import Home
from bpmnb.sandbox import Sandbox, received
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import AccountSettings, AuthMethod
from tests.support.identity import (
    App,
    IdentityEmulator,
    make_certificate,
    office365_on_sandbox,
    office365_settings,
    validator,
)

SECRET = "planted-Qx8~client.secret-Zz91"  # must never leave the secret store
MAILBOX = "powiadomienia@contoso.onmicrosoft.com"
USER = "jan.kowalski@contoso.onmicrosoft.com"
BPMNB = str(Path(sys.executable).parent / "bpmnb")


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 0600 file store, so that a test can look for secrets in files."""
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


# --- client credentials ---------------------------------------------------------


def test_client_secret_token_is_cached_in_the_store(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    provide = oauth.token_provider(settings, store)
    first = provide()
    assert provide() == first
    assert idp.grants() == ["client_credentials"]
    claims = idp.issued[-1]
    assert claims["roles"] == ["SMTP.SendAsApp"]
    assert claims["aud"] == "https://outlook.office365.com"
    # A new process (new provider, same store) reuses the stored cache.
    assert oauth.token_provider(settings, store)() == first
    assert idp.grants() == ["client_credentials"]
    assert store.get("oauth_token_cache")


def test_certificate_assertion_is_signed_and_accepted(
    idp: IdentityEmulator, store: SecretStore, ca: Path, tmp_path: Path
) -> None:
    pem, thumbprint = make_certificate(tmp_path)
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    app = idp.register_app(certificate=cert)
    settings = office365_settings(
        idp, app, ca, flow="certificate", cert_file=str(pem), cert_thumbprint=thumbprint
    )
    token = oauth.acquire(settings, store)
    assert token.claims["appid"] == app.client_id
    assert token.claims["appidacr"] == "2"


def test_certificate_from_another_registration_is_refused(
    idp: IdentityEmulator, store: SecretStore, ca: Path, tmp_path: Path
) -> None:
    registered, _ = make_certificate(tmp_path, "registered")
    other, _ = make_certificate(tmp_path, "other")
    app = idp.register_app(
        certificate=x509.load_pem_x509_certificate(registered.read_bytes())
    )
    settings = office365_settings(
        idp, app, ca, flow="certificate", cert_file=str(other)
    )
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert caught.value.reason == "oauth.invalid_client"
    assert "AADSTS700027" in str(caught.value)


def test_thumbprint_mismatch_and_unreadable_key_are_named_without_content(
    idp: IdentityEmulator, store: SecretStore, ca: Path, tmp_path: Path
) -> None:
    pem, _ = make_certificate(tmp_path)
    app = idp.register_app(certificate=x509.load_pem_x509_certificate(pem.read_bytes()))
    wrong = office365_settings(
        idp, app, ca, flow="certificate", cert_file=str(pem), cert_thumbprint="AB" * 20
    )
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(wrong, store)
    assert caught.value.reason == "oauth.thumbprint_mismatch"
    assert idp.requests == []  # refused before asking Entra ID

    broken = tmp_path / "broken.pem"
    body = pem.read_text().replace("PRIVATE KEY-----\n", "PRIVATE KEY-----\nAAAA", 1)
    broken.write_text(body)
    bad = office365_settings(idp, app, ca, flow="certificate", cert_file=str(broken))
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(bad, store)
    assert caught.value.reason == "oauth.cert_unreadable"
    shown = caught.value.describe("pl") + caught.value.hint("en")
    assert str(broken) in shown
    key_line = pem.read_text().splitlines()[1]
    assert key_line not in shown


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("secret", "oauth.invalid_client"),
        ("client", "oauth.unknown_app"),
        ("tenant", "oauth.unknown_tenant"),
    ],
)
def test_entra_refusals_become_named_errors(
    idp: IdentityEmulator,
    secret_app: App,
    store: SecretStore,
    ca: Path,
    change: str,
    reason: str,
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    if change == "secret":
        store.set("oauth_client_secret", "not-the-secret")
    elif change == "client":
        settings.oauth.client_id = "11111111-2222-3333-4444-555555555555"
    else:
        settings.oauth.tenant_id = "fabrikam.onmicrosoft.com"
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.token_provider(settings, store)()
    assert caught.value.code is Code.TOKEN_INVALID
    assert caught.value.reason == reason
    for lang in ("pl", "en"):
        assert caught.value.message(lang) and caught.value.hint(lang)


def test_missing_secret_is_a_settings_problem(
    idp: IdentityEmulator, store: SecretStore, ca: Path
) -> None:
    app = idp.register_app(secret=SECRET)
    settings = office365_settings(idp, app, ca)
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert caught.value.reason == "oauth.secret_missing"
    assert "bpmnb oauth login --client-secret" in caught.value.hint("en")


def test_renewed_before_expiry(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    """A token with less than RENEW_MARGIN left is replaced although it is
    still valid: tokens live 304 s here, so after ~4 s under 300 s remain."""
    idp.lifetime = oauth.RENEW_MARGIN + 4
    provide = oauth.token_provider(office365_settings(idp, secret_app, ca), store)
    first = provide()
    assert provide() == first
    time.sleep(4.3)
    second = provide()
    assert second != first
    assert idp.grants() == ["client_credentials", "client_credentials"]
    assert idp.issued[0]["exp"] > time.time()  # the first one had not expired


def test_unreachable_identity_is_temporary(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    idp.stop()
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert caught.value.reason == "oauth.identity_unreachable"
    assert caught.value.temporary


def test_identity_certificate_must_be_trusted(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    settings = office365_settings(idp, secret_app, ca)
    settings.ca_file = None
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert caught.value.reason == "oauth.identity_tls"
    assert caught.value.code is Code.CERT_UNTRUSTED


# --- refusals before any network ---------------------------------------------------


def test_google_hosts_are_refused(
    idp: IdentityEmulator, secret_app: App, store: SecretStore, ca: Path
) -> None:
    for host in ("smtp.gmail.com", "smtp-relay.gmail.com"):
        settings = office365_settings(idp, secret_app, ca, host=host)
        with pytest.raises(SettingsError) as caught:
            oauth.token_provider(settings, store)
        keys = {(f.field, f.key) for f in caught.value.findings}
        assert ("auth", "oauth.google_refused") in keys
        finding = next(
            f for f in caught.value.findings if f.key == "oauth.google_refused"
        )
        assert "Google" in finding.text.pl and "Google" in finding.text.en
    assert idp.requests == []


def test_missing_ids_are_reported_at_their_fields(store: SecretStore) -> None:
    settings = AccountSettings(
        host="smtp.office365.com", auth=AuthMethod.OAUTH2_OFFICE365, login=MAILBOX
    )
    with pytest.raises(SettingsError) as caught:
        oauth.token_provider(settings, store)
    fields = {f.field for f in caught.value.findings}
    assert {"oauth.tenant_id", "oauth.client_id"} <= fields


# --- device code ------------------------------------------------------------------


@pytest.fixture
def user_app(idp: IdentityEmulator) -> App:
    idp.add_user(USER)
    return idp.register_app(public_client=True)


def _device_settings(idp: IdentityEmulator, app: App, ca: Path) -> AccountSettings:
    return office365_settings(idp, app, ca, login=USER, flow="device_code")  # type: ignore[no-any-return]


def test_delivery_never_signs_in(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    provide = oauth.token_provider(_device_settings(idp, user_app, ca), store)
    with pytest.raises(oauth.OAuthError) as caught:
        provide()
    assert caught.value.code is Code.TOKEN_INVALID
    assert "bpmnb oauth login" in caught.value.hint("pl")
    assert "bpmnb oauth login" in caught.value.hint("en")
    assert idp.requests == []  # no device code was started


def test_device_login_then_silent_use_and_refresh(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    settings = _device_settings(idp, user_app, ca)
    shown: list[tuple[str, str]] = []

    def show(url: str, code: str, expires_in: int) -> None:
        shown.append((url, code))
        # The user types the code in a browser a moment later.
        threading.Timer(0.3, idp.approve, args=(code, USER)).start()

    idp.lifetime = oauth.RENEW_MARGIN + 4
    token = oauth.login(settings, store, show=show)
    assert shown and shown[0][0].endswith("/devicelogin")
    assert token.claims["scp"] == "SMTP.Send"
    assert token.claims["upn"] == USER
    state = oauth.status(settings, store)
    assert state["accounts"] == [USER] and state["refresh_token"] is True

    provide = oauth.token_provider(settings, store)
    assert provide() == token.access_token  # from the cache, silently
    time.sleep(4.3)
    idp.lifetime = 100  # the next token is born under the margin
    renewed = provide()  # under the margin: the refresh token is used
    assert renewed != token.access_token
    assert idp.grants()[-1] == "refresh_token"

    # Refresh tokens revoked ("Revoke sessions") and the access token used
    # up: delivery cannot continue without a new sign-in.
    idp.revoke_refresh_tokens()
    with pytest.raises(oauth.OAuthError) as caught:
        provide()
    assert caught.value.reason == "oauth.login_required"
    assert idp.grants()[-1] == "refresh_token"


def test_declined_device_login(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    def show(url: str, code: str, expires_in: int) -> None:
        threading.Timer(0.2, idp.decline, args=(code,)).start()

    with pytest.raises(oauth.OAuthError) as caught:
        oauth.login(_device_settings(idp, user_app, ca), store, show=show)
    assert caught.value.reason == "oauth.device_declined"


def test_signed_in_as_someone_else(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    settings = _device_settings(idp, user_app, ca)
    idp.auto_approve = "anna@contoso.onmicrosoft.com"
    oauth.login(settings, store, show=lambda *a: None)
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    assert caught.value.reason == "oauth.login_other_user"
    assert "anna@contoso.onmicrosoft.com" in caught.value.message("en")


# --- XOAUTH2 delivery to the sandbox ---------------------------------------


def test_xoauth2_delivery_through_credentials(
    idp: IdentityEmulator,
    secret_app: App,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, secret_app, tmp_path, MAILBOX)
    credential = credentials.for_settings(settings, home, store)
    assert credential is not None and credential.mechanism == "xoauth2"
    msg = message.build(
        settings, to="odbiorca@example.com", subject="OAuth2", body="ok"
    )
    transcript = transport.Transcript()
    result = transport.deliver(settings, credential, msg, transcript=transcript)
    assert result.smtp_code == 250
    got = [r for r in received(box.home) if r.message_id == result.message_id]
    assert got and got[0].encryption.startswith("TLS")
    assert credential.secret() not in transcript.text()
    assert "XOAUTH2" in transcript.text()


def test_device_code_token_delivers(
    idp: IdentityEmulator,
    user_app: App,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, user_app, tmp_path, USER, "device_code")
    idp.auto_approve = USER
    oauth.login(settings, store, show=lambda *a: None)
    msg = message.build(settings, to="odbiorca@example.com", subject="u", body="u")
    credential = credentials.for_settings(settings, home, store)
    assert transport.deliver(settings, credential, msg).smtp_code == 250


# --- the planted secret stays in the store ------------------------------------------


def _run_cli(
    home: Home, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPMNB_")}
    env.update(BPMNB_HOME=str(home.root), BPMNB_SECRET_BACKEND="file", BPMNB_LANG="pl")
    return subprocess.run(
        [BPMNB, "-vv", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_planted_secret_never_leaves_the_store(
    idp: IdentityEmulator,
    home: Home,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = idp.register_app(secret=SECRET)
    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, app, tmp_path, MAILBOX)
    storage.save(home, settings)

    outputs = []
    login = _run_cli(
        home, "oauth", "login", "--client-secret-stdin", stdin=SECRET + "\n"
    )
    assert login.returncode == 0, login.stderr
    outputs.append(login)
    for args in (("oauth", "preflight"), ("oauth", "status")):
        run = _run_cli(home, *args)
        assert run.returncode == 0, run.stdout + run.stderr
        outputs.append(run)

    store = open_store(home)
    assert store.get("oauth_client_secret") == SECRET
    with caplog.at_level(logging.DEBUG):
        credential = credentials.for_settings(settings, home, store)
        msg = message.build(settings, to="odbiorca@example.com", subject="s", body="s")
        transcript = transport.Transcript()
        transport.deliver(settings, credential, msg, transcript=transcript)

    for run in outputs:
        assert SECRET not in run.stdout and SECRET not in run.stderr
    assert SECRET not in caplog.text and SECRET not in transcript.text()
    secrets_file = home.secrets_file.resolve()
    assert secrets_file.exists()
    for path in home.root.rglob("*"):
        if path.is_file() and path.resolve() != secrets_file:
            assert SECRET.encode() not in path.read_bytes(), path
    assert "oauth_client_secret" not in home.settings_file.read_text()


def test_cli_device_login_prints_code_and_stores_the_cache(
    idp: IdentityEmulator, user_app: App, home: Home, ca: Path
) -> None:
    settings = _device_settings(idp, user_app, ca)
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
        line = proc.stdout.readline()
        assert "/devicelogin" in line
        code = line.split(" code ")[1].split()[0]
        idp.approve(code, USER)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "token" in out.lower()
    assert open_store(home).get("oauth_token_cache")
    status = _run_cli(home, "oauth", "status", "--json")
    assert USER in status.stdout and '"refresh_token": true' in status.stdout
    logout = _run_cli(home, "oauth", "logout")
    assert logout.returncode == 0
    assert open_store(home).get("oauth_token_cache") is None


def test_token_advice_survives_the_queue(
    idp: IdentityEmulator, user_app: App, store: SecretStore, ca: Path
) -> None:
    """The queue keeps code, stage and detail only; the hint still tells the
    user to sign in with ``bpmnb oauth login``."""
    from bpmnb.errors import BpmnbError

    settings = _device_settings(idp, user_app, ca)
    with pytest.raises(oauth.OAuthError) as caught:
        oauth.acquire(settings, store)
    stored = BpmnbError(
        caught.value.code, stage=caught.value.stage, detail=caught.value.detail
    )
    for lang in ("pl", "en"):
        hint = oauth.office365_hint(stored, settings, lang)
        assert hint is not None and "bpmnb oauth login" in hint
        assert hint == caught.value.hint(lang)


def test_queue_worker_sends_with_one_token_and_stops_on_a_missing_sign_in(
    idp: IdentityEmulator,
    secret_app: App,
    user_app: App,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
    fresh_sandbox: Callable[..., Sandbox],
) -> None:
    from bpmnb.queue import Queue, Status
    from bpmnb.worker import Worker

    box = fresh_sandbox(token_validator=validator(idp))
    settings = office365_on_sandbox(box, idp, secret_app, tmp_path, MAILBOX)
    storage.save(home, settings)
    queue = Queue(home.queue_file)
    ids = [
        queue.enqueue(
            message.build(
                settings, to="odbiorca@example.com", subject=f"Q{n}", body="q"
            )
        )
        for n in range(3)
    ]
    assert Worker(home).drain(timeout=30) == 3
    assert all(queue.get(i).status is Status.SENT for i in ids)  # type: ignore[union-attr]
    assert idp.grants() == ["client_credentials"]  # one token for the batch
    assert {"Q0", "Q1", "Q2"} <= {r.subject for r in received(box.home)}

    # A user mailbox nobody signed in to: the worker fails the message at
    # once (no retry loop, no interactive sign-in) and says what to run.
    user = office365_on_sandbox(box, idp, user_app, tmp_path, USER, "device_code")
    storage.save(home, user)
    failed = queue.enqueue(
        message.build(user, to="odbiorca@example.com", subject="U", body="u")
    )
    Worker(home).drain(timeout=30)
    state = queue.get(failed)
    assert state is not None and state.status is Status.FAILED
    assert state.last_error is not None
    assert state.last_error.code == str(Code.TOKEN_INVALID)
    hint = oauth.office365_hint(state.last_error.error(), user, "pl")
    assert hint is not None and "bpmnb oauth login" in hint
    assert not any(g.endswith("device_code") for g in idp.grants())
