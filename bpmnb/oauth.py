"""Office 365 access tokens for AUTH XOAUTH2, obtained with msal.

Two ways to a token, both documented by Microsoft for SMTP AUTH in Exchange
Online ("Authenticate an IMAP, POP or SMTP connection using OAuth"):

* client credentials (a client secret or a certificate) for a service
  mailbox: scope ``https://outlook.office365.com/.default``, application
  permission ``SMTP.SendAsApp``, and the app's service principal given rights
  on the mailbox;
* the device-code flow for a user's own mailbox: delegated scope
  ``https://outlook.office.com/SMTP.Send``; msal adds ``offline_access`` (and
  ``openid``/``profile``) to every user-flow request by itself, which is what
  gives us a refresh token.

The msal token cache (with the refresh token) is serialized into the secret
store under ``oauth_token_cache``; the client secret lives there under
``oauth_client_secret``. Delivery never signs anyone in: :func:`token_provider`
only uses the cache, and ``bpmnb oauth login`` is the one interactive step.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from requests.adapters import HTTPAdapter

from bpmnb import token_preflight
from bpmnb.errors import BpmnbError, Code, SettingsError, Stage
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.presets import GOOGLE_HOSTS, by_host
from bpmnb.secrets import SecretStore
from bpmnb.settings import AccountSettings, AuthMethod, OAuthFlow

log = logging.getLogger(__name__)

APP_SCOPES: tuple[str, ...] = ("https://outlook.office365.com/.default",)
"""Client credentials: ``.default`` asks for every consented app permission of
the Exchange Online resource (SMTP.SendAsApp among them)."""

DELEGATED_SCOPES: tuple[str, ...] = ("https://outlook.office.com/SMTP.Send",)
"""Device code: the delegated SMTP permission; msal adds offline_access."""

RENEW_MARGIN = 300
"""Seconds before expiry at which a token counts as used up and is renewed
(msal's own cache rule is the same five minutes)."""

CLIENT_SECRET_ENV = "BPMNB_OAUTH_CLIENT_SECRET"  # noqa: S105 (a variable name)
"""Automation may pass the client secret here instead of the secret store,
the way ``BPMNB_PASSWORD`` works for passwords."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_AADSTS = re.compile(r"AADSTS\d+")
# A tenant is a GUID or a verified domain; "common", "organizations" and
# "consumers" are not one tenant, and client credentials need exactly one.
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
_MULTI_TENANT = frozenset({"common", "organizations", "consumers"})
_QUOTES = ('"', "'", "\u201c", "\u201d", "\u2018", "\u2019")

# Claims of the last token each app obtained in this process (never the token
# itself): office365_hint uses the service principal's object id ("oid").
_LAST_CLAIMS: dict[tuple[str, str], dict[str, Any]] = {}
_LOCK = threading.Lock()


class OAuthError(BpmnbError):
    """Getting a token failed; ``reason`` is the ``oauth.`` catalogue key whose
    sentence (and ``<reason>.hint``) explain it better than the generic text
    for ``code``."""

    def __init__(
        self,
        reason: str,
        *,
        code: Code = Code.TOKEN_INVALID,
        detail: str | None = None,
        **fields: object,
    ) -> None:
        self.reason = reason
        # The reason leads the detail, so that a failure stored by the queue
        # (code, stage, detail only) still leads office365_hint to its advice.
        detail = f"{reason} {detail}" if detail else reason
        super().__init__(code, stage=Stage.AUTH, detail=detail, hint_fields=fields)

    def message(self, lang: Lang | None = None) -> str:
        return text(self.reason, lang or default_lang(), **self.hint_fields)

    def hint(self, lang: Lang | None = None) -> str:
        return text(f"{self.reason}.hint", lang or default_lang(), **self.hint_fields)


@dataclass(frozen=True)
class Token:
    """An access token and what we know about it (the token is never shown)."""

    access_token: str = field(repr=False)
    expires_at: float
    claims: dict[str, Any]
    from_cache: bool


def mailbox(settings: AccountSettings) -> str:
    """The mailbox we send as: ``oauth.send_as``, else the login."""
    return settings.oauth.send_as or settings.login


def validate(settings: AccountSettings) -> None:
    """Refuse settings that cannot give an Office 365 token, at their field.

    Google's SMTP accepts XOAUTH2 too, but only with Google's own tokens, and
    the product supports OAuth2 for Office 365 alone (as the original does).
    """
    from bpmnb.i18n import both
    from bpmnb.rules import Finding

    found: list[Finding] = []

    def add(where: str, key: str, **fields: object) -> None:
        found.append(Finding(where, "error", key, both(key, **fields)))

    host = settings.host.lower().rstrip(".")
    preset = by_host(host)
    if (
        host in GOOGLE_HOSTS
        or host.endswith(".gmail.com")
        or (preset is not None and preset.key == "gmail")
    ):
        add("auth", "oauth.google_refused", host=settings.host)
    if settings.auth is not AuthMethod.OAUTH2_OFFICE365:
        add("auth", "oauth.not_oauth")
    tenant = settings.oauth.tenant_id.strip()
    if not tenant:
        add("oauth.tenant_id", "oauth.tenant_missing")
    elif tenant.lower() in _MULTI_TENANT:
        if settings.oauth.flow is not OAuthFlow.DEVICE_CODE:
            add("oauth.tenant_id", "oauth.tenant_not_specific", tenant=tenant)
    elif not _GUID.match(tenant) and not _DOMAIN.match(tenant):
        add("oauth.tenant_id", "oauth.tenant_malformed")
    if not settings.oauth.client_id:
        add("oauth.client_id", "oauth.client_missing")
    elif not _GUID.match(settings.oauth.client_id):
        add("oauth.client_id", "oauth.client_not_guid")
    if settings.oauth.flow is OAuthFlow.CERTIFICATE and not settings.oauth.cert_file:
        add("oauth.cert_file", "oauth.cert_missing")
    if urlparse(settings.oauth.authority_host).scheme != "https":
        add("oauth.authority_host", "oauth.authority_not_https")
    if found:
        raise SettingsError(found)


def token_provider(settings: AccountSettings, store: SecretStore) -> Callable[[], str]:
    """A callable giving a fresh access token each time AUTH needs one.

    The settings are checked now (so a wrong setup is reported before any
    connection); the token is fetched only when the callable runs, from the
    cache when it has more than :data:`RENEW_MARGIN` seconds left, else
    renewed. It never starts an interactive sign-in.
    """
    validate(settings)
    frozen = settings.model_copy(deep=True)

    def provide() -> str:
        return acquire(frozen, store).access_token

    return provide


def acquire(settings: AccountSettings, store: SecretStore) -> Token:
    """A usable token without user interaction, or :class:`OAuthError`."""
    validate(settings)
    with _LOCK:
        cache = _load_cache(store)
        try:
            if settings.oauth.flow is OAuthFlow.DEVICE_CODE:
                result = _silent_delegated(settings, cache)
            else:
                result = _for_client(settings, store, cache)
        finally:
            _save_cache(store, cache)
    return _token(settings, result)


def login(
    settings: AccountSettings,
    store: SecretStore,
    *,
    show: Callable[[str, str, int], None],
) -> Token:
    """The one interactive step: the device-code sign-in for a user mailbox.

    ``show(verification_uri, user_code, expires_in)`` tells the user where to
    go; then this polls the token endpoint until they finish (msal follows
    the interval the server asks for, RFC 8628 section 3.5). For the
    client-credential flows there is nobody to sign in: it just gets a token,
    which proves the secret or certificate.
    """
    validate(settings)
    if settings.oauth.flow is not OAuthFlow.DEVICE_CODE:
        return acquire(settings, store)
    with _LOCK:
        cache = _load_cache(store)
        try:
            app = _public_app(settings, cache)
            flow = _call(
                lambda: app.initiate_device_flow(scopes=list(DELEGATED_SCOPES))
            )
            if "user_code" not in flow:
                raise _refused(flow)
            show(
                str(flow["verification_uri"]),
                str(flow["user_code"]),
                int(flow.get("expires_in", 900)),
            )
            result = _call(lambda: app.acquire_token_by_device_flow(flow))
        finally:
            _save_cache(store, cache)
    return _token(settings, result)


def logout(store: SecretStore, *, forget_secret: bool = False) -> None:
    """Drop cached tokens (and the refresh token); optionally the secret too."""
    store.delete("oauth_token_cache")
    if forget_secret:
        store.delete("oauth_client_secret")


def status(settings: AccountSettings, store: SecretStore) -> dict[str, object]:
    """What is stored for this account, read offline (no secret included)."""
    cache = _load_cache(store)
    tokens = list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN))
    now = time.time()
    live = [int(t["expires_on"]) for t in tokens if int(t["expires_on"]) > now]
    accounts = sorted(
        str(a.get("username", ""))
        for a in cache.search(msal.TokenCache.CredentialType.ACCOUNT)
    )
    return {
        "flow": str(settings.oauth.flow),
        "tenant_id": settings.oauth.tenant_id,
        "client_id": settings.oauth.client_id,
        "send_as": mailbox(settings),
        "client_secret_stored": bool(store.get("oauth_client_secret")),
        "accounts": accounts,
        "refresh_token": any(
            True for _ in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)
        ),
        "token_expires_at": max(live) if live else None,
    }


def last_claims(settings: AccountSettings) -> dict[str, Any] | None:
    """Claims of the last token this process got for the settings' app."""
    return _LAST_CLAIMS.get((settings.oauth.tenant_id, settings.oauth.client_id))


# --- msal plumbing -----------------------------------------------------------


class _TrustAdapter(HTTPAdapter):
    """requests adapter that verifies with the system roots plus ``ca_file``
    and gives every request the settings' timeout.

    ``verify=<file>`` in requests would replace the system roots; an extra CA
    (a TLS-inspecting proxy, or the test identity endpoint) must add to them.
    """

    def __init__(self, context: ssl.SSLContext, timeout: float) -> None:
        self._context = context
        self._timeout = timeout
        super().__init__(max_retries=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)


def _session(settings: AccountSettings) -> requests.Session:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.ca_file:
        context.load_verify_locations(cafile=settings.ca_file)
    session = requests.Session()
    session.mount("https://", _TrustAdapter(context, settings.timeout))
    return session


def _app_options(settings: AccountSettings, cache: msal.TokenCache) -> dict[str, Any]:
    host = urlparse(settings.oauth.authority_host).hostname or ""
    known = host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS
    if not known:
        # Only tests and private clouds get here; msal would otherwise ask
        # login.microsoftonline.com whether it knows the host.
        log.debug("using a non-Microsoft identity endpoint %s", host)
    return {
        "authority": f"{settings.oauth.authority_host.rstrip('/')}/"
        f"{settings.oauth.tenant_id.strip()}",
        "token_cache": cache,
        "http_client": _session(settings),
        "validate_authority": known,
        "instance_discovery": None if known else False,
    }


def _public_app(
    settings: AccountSettings, cache: msal.TokenCache
) -> msal.PublicClientApplication:
    return _call(
        lambda: msal.PublicClientApplication(
            settings.oauth.client_id, **_app_options(settings, cache)
        )
    )


def _confidential_app(
    settings: AccountSettings, store: SecretStore, cache: msal.TokenCache
) -> msal.ConfidentialClientApplication:
    credential = _client_credential(settings, store)
    return _call(
        lambda: msal.ConfidentialClientApplication(
            settings.oauth.client_id,
            client_credential=credential,
            **_app_options(settings, cache),
        )
    )


def _client_credential(settings: AccountSettings, store: SecretStore) -> Any:
    if settings.oauth.flow is OAuthFlow.CERTIFICATE:
        return _certificate(settings)
    secret = os.environ.get(CLIENT_SECRET_ENV) or store.get("oauth_client_secret")
    secret = clean_secret(secret or "")
    if not secret:
        raise OAuthError("oauth.secret_missing", code=Code.INVALID_SETTINGS)
    return secret


def clean_secret(value: str) -> str:
    """A pasted client secret without the blanks and quotes around it (Entra
    ID secret values never hold spaces or quotes, so none is lost)."""
    value = value.strip()
    while len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:
        value = value[1:-1].strip()
    return value


def looks_like_secret_id(value: str) -> bool:
    """True for a GUID: the portal's "Secret ID" column, not its "Value"."""
    return bool(_GUID.match(clean_secret(value)))


def _certificate(settings: AccountSettings) -> dict[str, str]:
    """The private key and SHA-1 thumbprint msal signs its assertion with
    (the ``x5t`` header that Entra ID matches to the uploaded certificate)."""
    path = Path(settings.oauth.cert_file or "").expanduser()
    try:
        pem = path.read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        cert = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError, TypeError) as exc:
        # The message names the file and the kind of problem, never its bytes.
        raise OAuthError(
            "oauth.cert_unreadable",
            code=Code.INVALID_SETTINGS,
            detail=type(exc).__name__,
            path=str(path),
        ) from None
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    wanted = (settings.oauth.cert_thumbprint or "").replace(":", "").upper()
    if wanted and wanted != thumbprint:
        raise OAuthError(
            "oauth.thumbprint_mismatch",
            code=Code.INVALID_SETTINGS,
            wanted=wanted,
            actual=thumbprint,
        )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"private_key": private, "thumbprint": thumbprint}


def _for_client(
    settings: AccountSettings, store: SecretStore, cache: msal.TokenCache
) -> dict[str, Any]:
    app = _confidential_app(settings, store, cache)
    result = _call(lambda: app.acquire_token_for_client(scopes=list(APP_SCOPES)))
    if _used_up(result):
        app.remove_tokens_for_client()
        result = _call(lambda: app.acquire_token_for_client(scopes=list(APP_SCOPES)))
    if (
        "access_token" not in result
        and settings.oauth.flow is OAuthFlow.CLIENT_SECRET
        and _refused(result).reason == "oauth.invalid_client"
        and looks_like_secret_id(_client_credential(settings, store))
    ):
        raise OAuthError(
            "oauth.secret_is_id", code=Code.INVALID_SETTINGS, detail=_detail(result)
        )
    return {str(k): v for k, v in result.items()}


def _silent_delegated(
    settings: AccountSettings, cache: msal.TokenCache
) -> dict[str, Any]:
    app = _public_app(settings, cache)
    accounts = app.get_accounts()
    if not accounts:
        raise OAuthError("oauth.login_required")
    wanted = settings.login.lower()
    chosen = [a for a in accounts if str(a.get("username", "")).lower() == wanted]
    if not chosen:
        raise OAuthError(
            "oauth.login_other_user",
            signed_in=", ".join(str(a.get("username")) for a in accounts),
            login=settings.login,
        )
    scopes = list(DELEGATED_SCOPES)
    result = _call(lambda: app.acquire_token_silent_with_error(scopes, chosen[0]))
    if result is not None and _used_up(result):
        result = _call(
            lambda: app.acquire_token_silent_with_error(
                scopes, chosen[0], force_refresh=True
            )
        )
    if result is None:
        raise OAuthError("oauth.login_required")
    if "access_token" not in result and result.get("error") in (
        "invalid_grant",
        "interaction_required",
    ):
        raise OAuthError("oauth.login_required", detail=_detail(result))
    return {str(k): v for k, v in result.items()}


def _used_up(result: dict[str, Any]) -> bool:
    """A cached token with less than the margin left (by msal's count or by
    the token's own ``exp`` claim, whichever is sooner)."""
    if "access_token" not in result or result.get("token_source") != "cache":
        return False
    left = float(result.get("expires_in", 0))
    exp = token_preflight.claims_or_empty(result["access_token"]).get("exp")
    if isinstance(exp, int | float):
        left = min(left, float(exp) - time.time())
    return left < RENEW_MARGIN


def _token(settings: AccountSettings, result: dict[str, Any]) -> Token:
    if "access_token" not in result:
        raise _refused(result)
    access = str(result["access_token"])
    claims = token_preflight.claims_or_empty(access)
    _LAST_CLAIMS[(settings.oauth.tenant_id, settings.oauth.client_id)] = claims
    from_cache = result.get("token_source") == "cache"
    expires_at = time.time() + float(result.get("expires_in", 0))
    log.debug(
        "Office 365 token %s, %d s left",
        "from cache" if from_cache else "issued",
        int(expires_at - time.time()),
    )
    return Token(access, expires_at, claims, from_cache)


_REASONS: dict[str, str] = {
    "invalid_client": "oauth.invalid_client",
    "unauthorized_client": "oauth.unknown_app",
    "invalid_scope": "oauth.invalid_scope",
    "invalid_grant": "oauth.login_required",
    "interaction_required": "oauth.login_required",
    "authorization_declined": "oauth.device_declined",
    "expired_token": "oauth.device_expired",
    "access_denied": "oauth.device_declined",
}
_AADSTS_REASONS: dict[str, str] = {
    "AADSTS700016": "oauth.unknown_app",  # application not found in the tenant
    "AADSTS90002": "oauth.unknown_tenant",  # tenant not found
    "AADSTS7000215": "oauth.invalid_client",  # invalid client secret
    "AADSTS7000222": "oauth.secret_expired",  # client secret expired
    "AADSTS700027": "oauth.invalid_client",  # assertion signature / cert
    "AADSTS65001": "oauth.no_consent",  # admin consent missing
}


def _detail(result: dict[str, Any]) -> str:
    """The error and AADSTS code only: descriptions may echo request data."""
    codes = _AADSTS.findall(str(result.get("error_description", "")))
    return " ".join([str(result.get("error", "unknown_error")), *codes[:1]])


def _refused(result: dict[str, Any]) -> OAuthError:
    if not result.get("error") or result.get("error") == "invalid_json":
        # Not an OAuth error at all: a proxy's page, an empty or cut reply.
        return OAuthError(
            "oauth.identity_unreachable",
            code=Code.TEMPORARY_FAILURE,
            detail="no OAuth reply",
        )
    codes = _AADSTS.findall(str(result.get("error_description", "")))
    reason = next((_AADSTS_REASONS[c] for c in codes if c in _AADSTS_REASONS), None)
    reason = reason or _REASONS.get(str(result.get("error")), "oauth.token_refused")
    return OAuthError(reason, detail=_detail(result), error=_detail(result))


def _call(action: Callable[[], Any]) -> Any:
    """Run an msal call; network and discovery failures become OAuthError."""
    try:
        return action()
    except requests.exceptions.SSLError:
        raise OAuthError("oauth.identity_tls", code=Code.CERT_UNTRUSTED) from None
    except requests.exceptions.Timeout:
        raise OAuthError(
            "oauth.identity_unreachable", code=Code.TEMPORARY_FAILURE
        ) from None
    except requests.exceptions.RequestException:
        raise OAuthError(
            "oauth.identity_unreachable", code=Code.TEMPORARY_FAILURE
        ) from None
    except msal.exceptions.MsalServiceError:
        # An HTTP 5xx (or another non-OAuth status) from the identity service.
        raise OAuthError(
            "oauth.identity_unreachable",
            code=Code.TEMPORARY_FAILURE,
            detail="HTTP error",
        ) from None
    except ValueError as exc:
        # msal raises ValueError when tenant discovery finds no such tenant,
        # and json's ValueError for a reply that is not JSON (a proxy page).
        if "authority" in str(exc).lower() or "tenant" in str(exc).lower():
            raise OAuthError("oauth.unknown_tenant") from None
        raise OAuthError(
            "oauth.identity_unreachable",
            code=Code.TEMPORARY_FAILURE,
            detail=type(exc).__name__,
        ) from None


def _load_cache(store: SecretStore) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    saved = store.get("oauth_token_cache")
    if saved:
        try:
            if not isinstance(json.loads(saved), dict):
                raise ValueError("not a JSON object")
            cache.deserialize(saved)
            # A cache of the wrong shape deserializes but breaks on use.
            kinds = msal.TokenCache.CredentialType
            for kind in (kinds.ACCESS_TOKEN, kinds.REFRESH_TOKEN, kinds.ACCOUNT):
                for entry in cache.search(kind):
                    dict(entry).get("secret")
            for entry in cache.search(kinds.ACCESS_TOKEN):
                int(entry["expires_on"])
        except (ValueError, TypeError, AttributeError, KeyError):
            log.warning("the stored Office 365 token cache was unreadable; ignored")
            cache = msal.SerializableTokenCache()
    return cache


def _save_cache(store: SecretStore, cache: msal.SerializableTokenCache) -> None:
    if cache.has_state_changed:
        store.set("oauth_token_cache", cache.serialize())


# --- hints for Exchange Online replies -----------------------------------------

_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def office365_hint(
    error: BpmnbError, settings: AccountSettings, lang: Lang | None = None
) -> str | None:
    """Advice for Exchange Online's own replies, with the admin commands
    filled in from the settings; None when the reply is not one of them.

    The enhanced status codes are Microsoft's (Exchange Online NDR and SMTP
    AUTH documentation): 5.7.139 SMTP AUTH switched off for the tenant or
    mailbox, 5.7.3 authentication unsuccessful, 5.7.60 / 5.2.252 SendAsDenied,
    5.7.30 basic authentication no longer accepted for client submission.
    """
    chosen: Lang = lang or default_lang()
    reason = _reason_of(error)
    if reason is not None:
        return text(f"{reason}.hint", chosen)
    preset = by_host(settings.host)
    office365 = settings.auth is AuthMethod.OAUTH2_OFFICE365 or (
        preset is not None and preset.key == "office365"
    )
    reply = error.smtp_reply or ""
    found = {".".join(m.groups()) for m in _ENHANCED.finditer(reply)}
    # 5.7.139, 5.7.30, 5.7.60 and 5.2.252 are Exchange Online's own codes;
    # 5.7.3 (RFC 3463 "security conversion") is read as Microsoft's only when
    # the account is an Office 365 one.
    office365 = office365 or "outlook.com" in reply.lower()
    if not found and "SendAsDenied" not in reply:
        return None
    fields = _command_fields(settings, chosen)
    if "5.7.139" in found:
        key = "oauth.o365.smtp_auth_disabled"
    elif "5.7.30" in found:
        key = "oauth.o365.basic_retired"
    elif "5.7.60" in found or "5.2.252" in found or "SendAsDenied" in reply:
        key = (
            "oauth.o365.send_as_denied_app"
            if settings.oauth.flow is not OAuthFlow.DEVICE_CODE
            else "oauth.o365.send_as_denied_user"
        )
    elif "5.7.3" in found and office365:
        key = (
            "oauth.o365.auth_unsuccessful_app"
            if settings.oauth.flow is not OAuthFlow.DEVICE_CODE
            else "oauth.o365.auth_unsuccessful_user"
        )
    else:
        return None
    return text(key, chosen, **fields)


def _reason_of(error: BpmnbError) -> str | None:
    """The ``oauth.`` reason of a token failure, also when only its detail
    survived (the queue stores code, stage and detail)."""
    from bpmnb.catalog import CATALOG

    if isinstance(error, OAuthError):
        reason: str = error.reason
    else:
        reason = (error.detail or "").split(" ", 1)[0]
    return reason if f"{reason}.hint" in CATALOG else None


def admin_commands(settings: AccountSettings, lang: Lang | None = None) -> list[str]:
    """The Exchange Online PowerShell commands this account needs, with the
    settings' IDs filled in (the service principal's object id once a token
    was obtained in this process, else a placeholder).

    Microsoft documents them for SMTP AUTH with OAuth: the service principal
    and mailbox permission for client credentials, and per-mailbox SMTP AUTH.
    """
    f = _command_fields(settings, lang or default_lang())
    lines = ["Connect-ExchangeOnline"]
    if settings.oauth.flow is not OAuthFlow.DEVICE_CODE:
        lines += [
            f"New-ServicePrincipal -AppId {f['client_id']} -ObjectId {f['object_id']}",
            f"Add-MailboxPermission -Identity {f['mailbox']} -User {f['object_id']} "
            "-AccessRights FullAccess",
        ]
        if f["sender"].lower() != f["mailbox"].lower():
            lines.append(
                f"Add-RecipientPermission -Identity {f['sender']} -Trustee "
                f"{f['mailbox']} -AccessRights SendAs"
            )
    elif f["sender"].lower() != f["login"].lower():
        lines.append(
            f"Add-RecipientPermission -Identity {f['sender']} -Trustee {f['login']} "
            "-AccessRights SendAs"
        )
    lines.append(
        f"Set-CASMailbox -Identity {f['mailbox']} -SmtpClientAuthenticationDisabled "
        "$false"
    )
    return lines


def _command_fields(settings: AccountSettings, lang: Lang) -> dict[str, str]:
    claims = last_claims(settings) or {}
    object_id = str(claims.get("oid") or text("oauth.o365.placeholder_object_id", lang))
    return {
        "mailbox": mailbox(settings) or text("oauth.o365.placeholder_mailbox", lang),
        "client_id": settings.oauth.client_id
        or text("oauth.o365.placeholder_client_id", lang),
        "tenant_id": settings.oauth.tenant_id or "-",
        "object_id": object_id,
        "login": settings.login,
        "sender": parseaddr(settings.sender)[1] or mailbox(settings),
    }
