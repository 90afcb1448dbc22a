"""The one root exception and the fault codes shared by delivery and diagnosis.

::

    BpmnbError                      code, stage, smtp_code, smtp_reply
    ├── SettingsError (ValueError)  findings: invalid or incomplete settings
    ├── SecretStoreError            the secret store cannot be used
    └── DeliveryError               an SMTP conversation failed
        ├── SmtpConnectError (ConnectionError)
        └── SmtpTimeout (TimeoutError)

Every :class:`BpmnbError` carries a ``code`` from :class:`Code`; the
explanation and the fix for each code are in the catalogue under
``diagnosis.<CODE>`` and ``diagnosis.<CODE>.hint``. No exception text ever
contains a password or token: replies are stored as the server sent them,
and AUTH exchanges are never copied into an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from bpmnb.i18n import Lang, default_lang, text

if TYPE_CHECKING:
    from bpmnb.rules import Finding


class Stage(StrEnum):
    """Steps of an SMTP conversation, in order (RFC 5321 section 3)."""

    SETTINGS = "settings"
    DNS = "dns"
    CONNECT = "connect"
    GREETING = "greeting"
    EHLO = "ehlo"
    TLS = "tls"
    EHLO_TLS = "ehlo_tls"
    AUTH_MECHS = "auth_mechs"
    AUTH = "auth"
    MAIL_FROM = "mail_from"
    RCPT_TO = "rcpt_to"
    DATA = "data"
    QUIT = "quit"


class Code(StrEnum):
    """What went wrong, named for the user rather than for the library."""

    OK = "OK"
    INVALID_SETTINGS = "INVALID_SETTINGS"
    DNS_FAILED = "DNS_FAILED"
    CONNECT_REFUSED = "CONNECT_REFUSED"
    CONNECT_TIMEOUT = "CONNECT_TIMEOUT"
    NO_GREETING = "NO_GREETING"
    SERVER_BUSY = "SERVER_BUSY"
    TLS_EXPECTED = "TLS_EXPECTED"
    TLS_NOT_SPOKEN = "TLS_NOT_SPOKEN"
    TLS_FAILED = "TLS_FAILED"
    STARTTLS_UNAVAILABLE = "STARTTLS_UNAVAILABLE"
    CERT_UNTRUSTED = "CERT_UNTRUSTED"
    CERT_NAME_MISMATCH = "CERT_NAME_MISMATCH"
    CERT_EXPIRED = "CERT_EXPIRED"
    AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE"
    PLAINTEXT_REFUSED = "PLAINTEXT_REFUSED"
    AUTH_FAILED = "AUTH_FAILED"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    APP_PASSWORD_REQUIRED = "APP_PASSWORD_REQUIRED"
    AUTH_DISABLED = "AUTH_DISABLED"
    TOKEN_INVALID = "TOKEN_INVALID"
    SENDER_REJECTED = "SENDER_REJECTED"
    RECIPIENT_REJECTED = "RECIPIENT_REJECTED"
    MESSAGE_REJECTED = "MESSAGE_REJECTED"
    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"
    CONNECTION_DROPPED = "CONNECTION_DROPPED"
    SENDING_DISABLED = "SENDING_DISABLED"


class BpmnbError(Exception):
    """Root of every error bpmnb raises on purpose.

    ``smtp_reply`` is the server's reply text for the failing command; it
    never holds what we sent, so it cannot carry a credential.
    """

    def __init__(
        self,
        code: Code,
        *,
        stage: Stage | None = None,
        smtp_code: int | None = None,
        smtp_reply: str | None = None,
        detail: str | None = None,
        hint_fields: dict[str, object] | None = None,
    ) -> None:
        self.code = code
        self.stage = stage
        self.smtp_code = smtp_code
        self.smtp_reply = smtp_reply
        self.detail = detail
        self.hint_fields = dict(hint_fields or {})
        super().__init__(self.describe("en"))

    @property
    def temporary(self) -> bool:
        """True when trying again later may succeed (RFC 5321 4xx, lost links)."""
        if self.smtp_code is not None:
            return 400 <= self.smtp_code < 500
        return self.code in (
            Code.CONNECT_TIMEOUT,
            Code.CONNECT_REFUSED,
            Code.NO_GREETING,
            Code.SERVER_BUSY,
            Code.TEMPORARY_FAILURE,
            Code.CONNECTION_DROPPED,
            Code.DNS_FAILED,
        )

    def message(self, lang: Lang | None = None) -> str:
        """What went wrong, in the user's language."""
        return text(
            f"diagnosis.{self.code}", lang or default_lang(), **self.hint_fields
        )

    def hint(self, lang: Lang | None = None) -> str:
        """What to do about it, in the user's language."""
        return text(
            f"diagnosis.{self.code}.hint", lang or default_lang(), **self.hint_fields
        )

    def describe(self, lang: Lang | None = None) -> str:
        parts = [f"[{self.code}]"]
        if self.stage is not None:
            parts.append(f"({self.stage})")
        if self.smtp_code is not None:
            parts.append(f"{self.smtp_code} {self.smtp_reply or ''}".strip())
        if self.detail:
            parts.append(self.detail)
        try:
            parts.append(self.message(lang))
        except KeyError:
            pass
        return " ".join(parts)


class SettingsError(BpmnbError, ValueError):
    """The settings cannot be used; ``findings`` says where and why."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__(
            Code.INVALID_SETTINGS,
            stage=Stage.SETTINGS,
            detail="; ".join(f"{f.field}: {f.text.en}" for f in self.findings),
        )


class KeyedError(BpmnbError):
    """A settings-stage error whose sentence is the catalogue entry ``key``
    (not ``diagnosis.<CODE>``), with ``key.hint`` as its advice when the
    catalogue has one. Saving and the secret store explain themselves so."""

    def __init__(self, key: str, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(Code.INVALID_SETTINGS, stage=Stage.SETTINGS)

    def message(self, lang: Lang | None = None) -> str:
        return text(self.key, lang or default_lang(), **self.fields)

    def hint(self, lang: Lang | None = None) -> str:
        from bpmnb.catalog import CATALOG

        hint_key = f"{self.key}.hint"
        if hint_key not in CATALOG:
            return ""
        return text(hint_key, lang or default_lang(), **self.fields)

    def describe(self, lang: Lang | None = None) -> str:
        hint = self.hint(lang)
        return f"[{self.code}] {self.message(lang)}" + (f" {hint}" if hint else "")


class SecretStoreError(BpmnbError):
    """The secret store is unusable (for example, wrong file permissions)."""


class DeliveryError(BpmnbError):
    """An SMTP conversation failed at ``stage``."""


class SmtpConnectError(DeliveryError, ConnectionError):
    """No usable connection: refused, dropped, or TLS could not be set up."""


class SmtpTimeout(DeliveryError, TimeoutError):
    """The server did not answer within the settings' timeout."""
