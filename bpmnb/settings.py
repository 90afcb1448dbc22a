"""The account settings of the "Serwer pocztowy" tab, as one pydantic model.

Field names are the project's public vocabulary: the CLI, the settings file,
JSON output and the widgets all use them. The model checks types and ranges
only; what a careful administrator would check (pairings of port and
encryption, provider habits, header safety) is in :mod:`bpmnb.rules`, which
turns every problem into a bilingual finding at a field.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

INVISIBLE: frozenset[str] = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063"
    "\u2064\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
"""Characters that do not show on screen but come along when a value is copied
from a web page or a PDF: zero-width spaces and joiners, direction marks, the
byte order mark, the soft hyphen."""


def trim_pasted(value: object) -> object:
    """``value`` without the whitespace (spaces, tabs, non-breaking spaces) and
    invisible characters (:data:`INVISIBLE`) around it; other values as they
    are. The model's own ``str_strip_whitespace`` does not know invisible
    characters, so "smtp.wp.pl\u200b" would otherwise reach DNS."""
    if not isinstance(value, str):
        return value
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or value[start] in INVISIBLE):
        start += 1
    while end > start and (value[end - 1].isspace() or value[end - 1] in INVISIBLE):
        end -= 1
    return value[start:end]


_GROUPED = re.compile(r"\d{1,3}([ \u00a0\u202f]\d{3})+")

YES_NO: dict[str, bool] = {"tak": True, "t": True, "nie": False, "n": False}
"""Yes and no as a Polish administrator types them."""


def _any_case(value: object) -> object:
    """A choice typed in any case ("SSL", "StartTLS") as its lower-case value."""
    return value.lower() if isinstance(value, str) else value


def _password_as_typed(value: object) -> object:
    # A password is kept exactly as typed, spaces around it included: they
    # may be part of it. Wrapping it here keeps the model's
    # str_strip_whitespace from reaching it.
    return SecretStr(value) if isinstance(value, str) else value


Password = Annotated[SecretStr | None, BeforeValidator(_password_as_typed)]


class Encryption(StrEnum):
    """How the connection is protected ("Metoda szyfrowania")."""

    NONE = "none"  # "Brak": plain SMTP
    AUTO = "auto"  # "Automatyczne": 465 implicit TLS, else STARTTLS when offered
    SSL = "ssl"  # "SSL/TLS": TLS from the first byte (RFC 8314 implicit TLS)
    STARTTLS = "starttls"  # "TLS": STARTTLS required (RFC 3207)


class AuthMethod(StrEnum):
    """How the account proves who it is ("Metoda uwierzytelniania")."""

    PASSWORD = "password"  # "Login i hasło": AUTH PLAIN or LOGIN
    OAUTH2_OFFICE365 = "oauth2_office365"  # AUTH XOAUTH2 with an Entra ID token


class DeliveryComponent(StrEnum):
    """Who delivers ("Do wysyłania wiadomości email zastosuj")."""

    INPROCESS = "inprocess"  # the calling process delivers from the queue itself
    WORKER = "worker"  # a separate ``bpmnb worker`` process drains the queue


class OAuthFlow(StrEnum):
    """How an Office 365 token is obtained."""

    CLIENT_SECRET = "client_secret"  # client credentials, app permission
    CERTIFICATE = "certificate"  # client credentials with a certificate
    DEVICE_CODE = "device_code"  # a user's own mailbox, delegated SMTP.Send


SecretName = Literal[
    "password", "password_for", "oauth_client_secret", "oauth_token_cache"
]
"""The names under which :mod:`bpmnb.secrets` keeps secrets for an account.
``password_for`` is not secret: it names the server and login the password
was saved for (see :func:`bpmnb.storage.stored_password`)."""


class OAuthSettings(BaseModel):
    """Office 365 application registration details (not secrets)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant_id: str = ""
    client_id: str = ""
    flow: OAuthFlow = OAuthFlow.CLIENT_SECRET
    cert_file: str | None = None
    cert_thumbprint: str | None = None
    send_as: str | None = None
    # Only tests and sovereign clouds change this; see bpmnb.oauth.
    authority_host: str = "https://login.microsoftonline.com"

    @field_validator("*", mode="before")
    @classmethod
    def _trim(cls, value: object) -> object:
        return trim_pasted(value)

    _flow_any_case = field_validator("flow", mode="before")(_any_case)


class AccountSettings(BaseModel):
    """One outgoing mail account.

    ``password`` is held in memory only: it is excluded from every dump, and
    :mod:`bpmnb.storage` moves it to the secret store on save.
    """

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, validate_assignment=True
    )

    delivery_component: DeliveryComponent = DeliveryComponent.INPROCESS
    enabled: bool = False
    account_name: str = ""
    sender: str = ""
    display_name: str = ""
    reply_to: str = ""
    description: str = ""
    server_type: Literal["SMTP"] = "SMTP"
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    encryption: Encryption = Encryption.NONE
    auth: AuthMethod = AuthMethod.PASSWORD
    login: str = ""
    password: Password = Field(default=None, exclude=True, repr=False)
    timeout: float = Field(default=30.0, gt=0, le=600)
    ca_file: str | None = None
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    daily_cap: int | None = Field(default=None, ge=1)
    rate_per_minute: int | None = Field(default=None, ge=1)

    @field_validator("*", mode="before")
    @classmethod
    def _trim(cls, value: object, info: ValidationInfo) -> object:
        return value if info.field_name == "password" else trim_pasted(value)

    _choice_any_case = field_validator(
        "encryption", "auth", "delivery_component", mode="before"
    )(_any_case)

    @field_validator("timeout", mode="before")
    @classmethod
    def _decimal_comma(cls, value: object) -> object:
        # Polish writes 7,5 for 7.5.
        if isinstance(value, str) and re.fullmatch(r"\s*\d+,\d+\s*", value):
            return value.replace(",", ".")
        return value

    @field_validator("daily_cap", "rate_per_minute", mode="before")
    @classmethod
    def _digit_groups(cls, value: object) -> object:
        # Polish groups thousands with a (non-breaking) space: 2 000.
        if isinstance(value, str) and _GROUPED.fullmatch(value.strip()):
            return re.sub(r"\s", "", value)
        return value

    @field_validator("server_type", mode="before")
    @classmethod
    def _smtp_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("enabled", mode="before")
    @classmethod
    def _polish_yes_no(cls, value: object) -> object:
        # The messages say "tak/nie", so a file, the CLI and the form all
        # take them, besides pydantic's true/false, yes/no, on/off, 1/0.
        if isinstance(value, str):
            return YES_NO.get(value.strip().lower(), value)
        return value

    def public_dict(self) -> dict[str, object]:
        """The settings as JSON-ready data, never with a secret in it."""
        return self.model_dump(mode="json")


EDITABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in AccountSettings.model_fields if name not in ("server_type",)
)
