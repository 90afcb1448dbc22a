"""Exchange Online's replies, from an aiosmtpd server that answers like
smtp.office365.com, with tokens from the emulated Entra ID: the fault code
delivery and the check arrive at, and the hint with the admin commands
filled in from the settings (and the token's service principal)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bpmnb import credentials, diagnosis, message, oauth, transport
from bpmnb.errors import BpmnbError, Code, DeliveryError, Stage
from bpmnb.home import Home
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import AccountSettings
from tests.support.exchange import ExchangeEmulator
from tests.support.identity import (
    App,
    IdentityEmulator,
    office365_settings,
    token_checker,
)

SECRET = "exchange-test-secret"
MAILBOX = "powiadomienia@contoso.onmicrosoft.com"
OTHER = "zarzad@contoso.onmicrosoft.com"
USER = "jan.kowalski@contoso.onmicrosoft.com"


@pytest.fixture(autouse=True)
def _file_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")


@pytest.fixture
def exchange(idp: IdentityEmulator) -> Iterator[ExchangeEmulator]:
    with ExchangeEmulator(token_checker(idp)) as server:
        yield server


@pytest.fixture
def store(home: Home) -> SecretStore:
    store = open_store(home)
    store.set("oauth_client_secret", SECRET)
    return store


@pytest.fixture
def app(idp: IdentityEmulator) -> App:
    return idp.register_app(secret=SECRET)


def _settings(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    tmp_path: Path,
    **kw: str,
) -> AccountSettings:
    return office365_settings(  # type: ignore[no-any-return]
        idp,
        app,
        idp.ca_file(tmp_path),
        host="127.0.0.1",
        port=exchange.port,
        **kw,
    )


def _deliver(
    settings: AccountSettings, home: Home, store: SecretStore
) -> transport.SendResult:
    credential = credentials.for_settings(settings, home, store)
    msg = message.build(settings, to="klient@example.com", subject="Faktura", body="x")
    return transport.deliver(settings, credential, msg)


def _send(settings: AccountSettings, home: Home, store: SecretStore) -> DeliveryError:
    """The error of a delivery that must fail."""
    with pytest.raises(DeliveryError) as caught:
        _deliver(settings, home, store)
    return caught.value


def _assert_grants_mailbox_access(hint: str, app: App) -> None:
    """The hint registers the app's service principal and gives it the
    mailbox (the object id comes from the token's ``oid``)."""
    assert (
        f"New-ServicePrincipal -AppId {app.client_id} -ObjectId {app.object_id}" in hint
    )
    assert (
        f"Add-MailboxPermission -Identity {MAILBOX} -User {app.object_id} "
        "-AccessRights FullAccess"
    ) in hint


def test_a_working_tenant_accepts_the_message(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    settings = _settings(idp, app, exchange, tmp_path)
    result = _deliver(settings, home, store)
    assert result.smtp_code == 250
    assert exchange.auth_log == [(MAILBOX, None)]
    assert exchange.messages[-1].mail_from == MAILBOX


def test_5_7_139_smtp_auth_disabled(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    exchange.behaviour.smtp_auth_disabled = True
    settings = _settings(idp, app, exchange, tmp_path)
    error = _send(settings, home, store)
    assert error.code is Code.AUTH_DISABLED
    assert error.stage is Stage.AUTH and error.smtp_code == 535
    for lang in ("pl", "en"):
        hint = oauth.office365_hint(error, settings, lang)
        assert hint is not None
        assert (
            f"Set-CASMailbox -Identity {MAILBOX} "
            "-SmtpClientAuthenticationDisabled $false" in hint
        )
        assert "Set-TransportConfig -SmtpClientAuthenticationDisabled $false" in hint

    # The connection check reaches the same verdict through the same provider.
    report = diagnosis.check(settings, credentials.for_settings(settings, home, store))
    assert report.code is Code.AUTH_DISABLED
    checked = report.error()
    assert checked is not None and "5.7.139" in (checked.smtp_reply or "")
    assert oauth.office365_hint(checked, settings, "pl") is not None


def test_5_7_3_service_principal_without_mailbox_access(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    exchange.behaviour.mailbox_access = {app.object_id: {OTHER}}
    settings = _settings(idp, app, exchange, tmp_path, send_as=MAILBOX)
    error = _send(settings, home, store)
    assert error.code is Code.TOKEN_INVALID
    assert error.smtp_code == 535 and "5.7.3" in (error.smtp_reply or "")
    hint = oauth.office365_hint(error, settings, "en")
    assert hint is not None
    _assert_grants_mailbox_access(hint, app)
    pl = oauth.office365_hint(error, settings, "pl")
    assert pl is not None and app.object_id in pl and pl != hint

    # Granting the access (what Add-MailboxPermission does) cures it.
    exchange.behaviour.mailbox_access = {app.object_id: {MAILBOX}}
    assert _deliver(settings, home, store).smtp_code == 250


def test_5_7_60_send_as_denied_at_mail_from(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    settings = _settings(idp, app, exchange, tmp_path)
    settings.sender = OTHER  # another mailbox, no Send As right
    error = _send(settings, home, store)
    assert error.code is Code.SENDER_REJECTED
    assert error.stage is Stage.MAIL_FROM and error.smtp_code == 550
    hint = oauth.office365_hint(error, settings, "pl")
    assert hint is not None
    _assert_grants_mailbox_access(hint, app)
    assert f"Add-RecipientPermission -Identity {OTHER} -Trustee {MAILBOX}" in hint


def test_5_2_252_send_as_denied_after_data(
    idp: IdentityEmulator,
    app: App,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    exchange.behaviour.send_as_denied_at_data = True
    settings = _settings(idp, app, exchange, tmp_path)
    error = _send(settings, home, store)
    assert error.code is Code.MESSAGE_REJECTED
    assert error.stage is Stage.DATA and error.smtp_code == 554
    assert "SendAsDenied" in (error.smtp_reply or "")
    hint = oauth.office365_hint(error, settings, "en")
    assert hint is not None and "SendAsDenied" in hint
    assert f"-AppId {app.client_id} -ObjectId {app.object_id}" in hint


def test_5_7_30_basic_authentication_retired(
    exchange: ExchangeEmulator, tmp_path: Path, home: Home
) -> None:
    from tests.support.net import ca_file

    settings = AccountSettings.model_validate(
        {
            "sender": MAILBOX,
            "host": "127.0.0.1",
            "port": exchange.port,
            "encryption": "starttls",
            "auth": "password",
            "login": MAILBOX,
            "password": "Haslo-2026!",
            "timeout": 5.0,
            "ca_file": str(ca_file(tmp_path)),
        }
    )
    error = _send(settings, home, open_store(home))
    assert error.code is Code.AUTH_FAILED
    assert error.smtp_code == 550 and "5.7.30" in (error.smtp_reply or "")
    hint = oauth.office365_hint(error, settings, "pl")
    assert hint is not None and "OAuth2 Office 365" in hint
    assert "5.7.30" in (oauth.office365_hint(error, settings, "en") or "")


def test_user_mailbox_replies_name_the_signed_in_account(
    idp: IdentityEmulator,
    exchange: ExchangeEmulator,
    home: Home,
    store: SecretStore,
    tmp_path: Path,
) -> None:
    user_app = idp.register_app(public_client=True)
    idp.auto_approve = USER
    settings = _settings(idp, user_app, exchange, tmp_path, flow="device_code")
    settings = AccountSettings.model_validate(
        settings.model_dump() | {"login": USER, "sender": OTHER}
    )
    oauth.login(settings, store, show=lambda *a: None)
    error = _send(settings, home, store)
    assert error.code is Code.SENDER_REJECTED
    hint = oauth.office365_hint(error, settings, "en")
    assert hint is not None
    assert f"Add-RecipientPermission -Identity {OTHER} -Trustee {USER}" in hint

    user_app.scopes = ["Mail.Read"]  # a token without SMTP.Send: 5.7.3
    oauth.logout(store)
    oauth.login(settings, store, show=lambda *a: None)
    error = _send(settings, home, store)
    assert error.code is Code.TOKEN_INVALID
    hint = oauth.office365_hint(error, settings, "pl")
    assert hint is not None and "SMTP.Send" in hint and "bpmnb oauth preflight" in hint


def test_other_replies_get_no_office365_hint(
    idp: IdentityEmulator, app: App, exchange: ExchangeEmulator, tmp_path: Path
) -> None:
    settings = _settings(idp, app, exchange, tmp_path)
    gmail = BpmnbError(
        Code.APP_PASSWORD_REQUIRED,
        smtp_code=534,
        smtp_reply="5.7.9 Application-specific password required.",
    )
    assert oauth.office365_hint(gmail, settings, "pl") is None
    assert (
        oauth.office365_hint(BpmnbError(Code.CONNECT_REFUSED), settings, "en") is None
    )
    plain = AccountSettings(host="smtp.example.com", login="a@example.com")
    generic = BpmnbError(
        Code.AUTH_FAILED, smtp_code=535, smtp_reply="5.7.3 Authentication unsuccessful"
    )
    assert oauth.office365_hint(generic, plain, "pl") is None
