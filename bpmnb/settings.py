"""The account settings of the "Serwer pocztowy" tab, as one pydantic model.

Field names are the project's public vocabulary: the CLI, the settings file,
JSON output and the widgets all use them. The model checks types and ranges
only; what a careful administrator would check (pairings of port and
encryption, provider habits, header safety) is in :mod:`bpmnb.rules`, which
turns every problem into a bilingual finding at a field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


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


SecretName = Literal["password", "oauth_client_secret", "oauth_token_cache"]
"""The names under which :mod:`bpmnb.secrets` keeps secrets for an account."""


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
    password: SecretStr | None = Field(default=None, exclude=True, repr=False)
    timeout: float = Field(default=30.0, gt=0, le=600)
    ca_file: str | None = None
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    daily_cap: int | None = Field(default=None, ge=1)
    rate_per_minute: int | None = Field(default=None, ge=1)

    def public_dict(self) -> dict[str, object]:
        """The settings as JSON-ready data, never with a secret in it."""
        return self.model_dump(mode="json")


EDITABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in AccountSettings.model_fields if name not in ("server_type",)
)
