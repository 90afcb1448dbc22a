"""Reading an Office 365 access token before any SMTP, to say what is wrong.

Exchange Online answers every bad token with the same "535 5.7.3
Authentication unsuccessful"; the token itself says why. Entra ID access
tokens are JWTs (RFC 7519) whose payload we decode without checking the
signature: we are not the resource that must trust it, we only read the
claims Microsoft documents for access tokens (``aud``, ``tid``, ``roles``,
``scp``, ``exp``, ``appid``/``azp``, ``oid``, ``upn``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from bpmnb.errors import BpmnbError
from bpmnb.i18n import Lang, Msg, both, default_lang, text
from bpmnb.rules import Finding
from bpmnb.settings import AccountSettings, OAuthFlow

if TYPE_CHECKING:
    from bpmnb.secrets import SecretStore

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
"""The application id of "Office 365 Exchange Online" in every tenant."""

AUDIENCES: tuple[str, ...] = (
    "https://outlook.office.com",
    "https://outlook.office365.com",
    EXCHANGE_APP_ID,
)
"""What Exchange Online accepts as the token's ``aud`` claim."""

APP_ROLE = "SMTP.SendAsApp"
DELEGATED_SCOPE = "SMTP.Send"
CLOCK_SKEW = 300
"""Seconds of clock difference tolerated for ``nbf`` (as Entra ID does)."""

_LAST_DATE = 253402300799  # 9999-12-31T23:59:59Z
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")

Kind = Literal["app", "delegated", "unknown"]


def decode(token: str) -> dict[str, Any]:
    """The payload of a JWT (RFC 7519 section 7.2, without step 8's signature
    check); ValueError when ``token`` is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, UnicodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a JWT: the payload is not base64url JSON") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT: the payload is not a JSON object")
    return claims


def claims_or_empty(token: str) -> dict[str, Any]:
    """:func:`decode`, or ``{}`` for a token that is not a JWT."""
    try:
        return decode(token)
    except ValueError:
        return {}


@dataclass(frozen=True)
class TokenFacts:
    """What the token says, in plain fields (nothing here is a secret)."""

    kind: Kind
    audience: tuple[str, ...]
    tenant: str | None
    app_id: str | None
    object_id: str | None
    user: str | None
    roles: tuple[str, ...]
    scopes: tuple[str, ...]
    expires_at: int | None
    not_before: int | None

    @classmethod
    def of(cls, claims: dict[str, Any]) -> TokenFacts:
        aud = claims.get("aud")
        audience = (
            tuple(str(a) for a in aud)
            if isinstance(aud, list)
            else ((str(aud),) if aud else ())
        )
        roles_claim = claims.get("roles")
        roles = (
            tuple(str(r) for r in roles_claim) if isinstance(roles_claim, list) else ()
        )
        scopes = tuple(str(claims.get("scp", "")).split())
        kind: Kind = "unknown"
        if scopes:
            kind = "delegated"
        elif roles or claims.get("idtyp") == "app":
            kind = "app"
        user = claims.get("upn") or claims.get("preferred_username")
        user = user or claims.get("unique_name")

        def number(name: str) -> int | None:
            # NumericDate (RFC 7519 section 2); NaN, infinities, booleans and
            # years beyond 9999 are not dates (json accepts NaN/Infinity).
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            if not math.isfinite(value) or abs(value) > _LAST_DATE:
                return None
            return int(value)

        def string(*names: str) -> str | None:
            for name in names:
                if claims.get(name):
                    return str(claims[name])
            return None

        return cls(
            kind=kind,
            audience=audience,
            tenant=string("tid"),
            app_id=string("appid", "azp"),
            object_id=string("oid"),
            user=str(user) if user else None,
            roles=roles,
            scopes=scopes,
            expires_at=number("exp"),
            not_before=number("nbf"),
        )

    def as_json(self) -> dict[str, object]:
        def iso(value: int | None) -> str | None:
            if value is None:
                return None
            try:
                moment = datetime.fromtimestamp(value, UTC)
            except (OverflowError, OSError, ValueError):
                return str(value)
            return moment.isoformat(timespec="seconds")

        return {
            "kind": self.kind,
            "audience": list(self.audience),
            "tenant": self.tenant,
            "app_id": self.app_id,
            "object_id": self.object_id,
            "user": self.user,
            "roles": list(self.roles),
            "scopes": list(self.scopes),
            "expires_at": iso(self.expires_at),
            "not_before": iso(self.not_before),
        }


def check(
    token: str, settings: AccountSettings, *, now: float | None = None
) -> list[Finding]:
    """Every problem the token shows for these settings (empty: it looks right)."""
    try:
        claims = decode(token)
    except ValueError:
        return [_error(None, "oauth.preflight.not_jwt")]
    return check_claims(claims, settings, now=now)


def check_claims(
    claims: dict[str, Any], settings: AccountSettings, *, now: float | None = None
) -> list[Finding]:
    """:func:`check` for already decoded claims."""
    facts = TokenFacts.of(claims)
    moment = time.time() if now is None else now
    found: list[Finding] = []
    audiences = [a.rstrip("/").lower() for a in facts.audience]
    if not any(a in AUDIENCES for a in audiences):
        found.append(
            _error(
                None,
                "oauth.preflight.audience",
                audience=", ".join(facts.audience) or "-",
                expected=", ".join(AUDIENCES),
            )
        )
    wants_app = settings.oauth.flow is not OAuthFlow.DEVICE_CODE
    if wants_app and facts.kind == "delegated":
        found.append(_error("oauth.flow", "oauth.preflight.delegated_for_app"))
    elif not wants_app and facts.kind == "app":
        found.append(_error("oauth.flow", "oauth.preflight.app_for_delegated"))
    elif wants_app and APP_ROLE not in facts.roles:
        found.append(
            _error(
                None,
                "oauth.preflight.role_missing",
                roles=", ".join(facts.roles) or "-",
                client_id=settings.oauth.client_id,
            )
        )
    elif not wants_app and DELEGATED_SCOPE not in facts.scopes:
        found.append(
            _error(
                None,
                "oauth.preflight.scope_missing",
                scopes=", ".join(facts.scopes) or "-",
            )
        )
    if facts.expires_at is None:
        found.append(_error(None, "oauth.preflight.no_expiry"))
    elif facts.expires_at <= moment:
        found.append(
            _error(
                None,
                "oauth.preflight.expired",
                ago=int(moment - facts.expires_at),
            )
        )
    if facts.not_before is not None and facts.not_before > moment + CLOCK_SKEW:
        found.append(
            _error(
                None, "oauth.preflight.not_yet", seconds=int(facts.not_before - moment)
            )
        )
    tenant = settings.oauth.tenant_id
    if facts.tenant and _GUID.match(tenant) and facts.tenant.lower() != tenant.lower():
        found.append(
            _error(
                "oauth.tenant_id",
                "oauth.preflight.other_tenant",
                token_tenant=facts.tenant,
                tenant=tenant,
            )
        )
    client = settings.oauth.client_id
    if facts.app_id and client and facts.app_id.lower() != client.lower():
        found.append(
            _error(
                "oauth.client_id",
                "oauth.preflight.other_app",
                token_app=facts.app_id,
                client_id=client,
            )
        )
    if (
        facts.kind == "delegated"
        and facts.user
        and settings.login
        and facts.user.lower() != settings.login.lower()
    ):
        found.append(
            _error(
                "login",
                "oauth.preflight.other_user",
                token_user=facts.user,
                login=settings.login,
            )
        )
    return found


@dataclass(frozen=True)
class Report:
    """The outcome of a preflight: the token's facts and the findings."""

    facts: TokenFacts | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def text(self, lang: Lang | None = None) -> str:
        """The facts, one per line, then the verdict and each finding."""
        chosen: Lang = lang or default_lang()
        lines: list[str] = []
        if self.facts is not None:
            for name, value in self.facts.as_json().items():
                if isinstance(value, list):
                    value = ", ".join(value)
                elif name == "kind":
                    value = text(f"oauth.preflight.kind.{value}", chosen)
                label = text(f"oauth.preflight.fact.{name}", chosen)
                lines.append(f"{label}: {value or '-'}")
        verdict = "oauth.cli.preflight_ok" if self.ok else "oauth.cli.preflight_failed"
        lines.append(text(verdict, chosen))
        lines += [f"- {f.text.get(chosen)}" for f in self.findings]
        return "\n".join(lines)

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "token": self.facts.as_json() if self.facts else None,
            "findings": [f.as_json() for f in self.findings],
        }


def run(
    settings: AccountSettings, store: SecretStore, *, now: float | None = None
) -> Report:
    """Get a token the way delivery does (no sign-in) and check it.

    A failure to get one at all becomes the report's only finding, so the
    notebook and ``bpmnb oauth preflight`` show it in the same way.
    """
    from bpmnb import oauth

    try:
        token = oauth.acquire(settings, store)
    except BpmnbError as exc:
        findings = getattr(exc, "findings", None)
        if findings:
            return Report(None, list(findings))
        both_texts = Msg(_explain(exc, "pl"), _explain(exc, "en"))
        key = getattr(exc, "reason", f"diagnosis.{exc.code}")
        return Report(None, [Finding(None, "error", str(key), both_texts)])
    return Report(
        TokenFacts.of(token.claims), check_claims(token.claims, settings, now=now)
    )


def _explain(exc: BpmnbError, lang: Lang) -> str:
    try:
        return f"{exc.message(lang)} {exc.hint(lang)}".strip()
    except KeyError:  # a code whose sentence the catalogue lacks
        return exc.describe(lang)


def _error(where: str | None, key: str, **fields: object) -> Finding:
    return Finding(where, "error", key, both(key, **fields))
