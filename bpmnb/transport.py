"""One SMTP conversation over a socket we control, in the four encryption modes.

CONTRACT (implemented by the transport/sandbox work; names are fixed because
the queue worker, the diagnosis and OAuth build on them).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

from bpmnb.settings import AccountSettings


@dataclass(frozen=True)
class Credential:
    """Who we log in as. ``secret`` is called only when AUTH needs it, so a
    token can be fetched or renewed at that moment; its result is never kept."""

    login: str
    mechanism: Literal["password", "xoauth2"]
    secret: Callable[[], str] = field(repr=False)


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    subject: str
    issuer: str
    not_after: str
    san: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    message_id: str
    smtp_code: int
    smtp_reply: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)


class Transcript:
    """Commands and replies of a conversation, AUTH payloads masked."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def client(self, line: str) -> None:
        self.lines.append(("C", line))

    def server(self, line: str) -> None:
        self.lines.append(("S", line))

    def note(self, line: str) -> None:
        self.lines.append(("*", line))

    def text(self) -> str:
        return "\n".join(f"{who}: {line}" for who, line in self.lines)


def ssl_context(settings: AccountSettings) -> ssl.SSLContext:
    """Verification always on, TLS 1.2 or newer, plus ``settings.ca_file``."""
    raise NotImplementedError


class SmtpSession:
    """A connection that can send several messages (the worker reuses it)."""

    def __init__(
        self,
        settings: AccountSettings,
        credential: Credential | None,
        *,
        transcript: Transcript | None = None,
    ) -> None:
        raise NotImplementedError

    def open(self) -> None:
        """Connect, read the greeting, EHLO, TLS as the mode says, AUTH."""
        raise NotImplementedError

    @property
    def tls(self) -> TlsInfo | None:
        raise NotImplementedError

    def send(self, message: EmailMessage) -> SendResult:
        """MAIL FROM / RCPT TO / DATA for one message; envelope from headers."""
        raise NotImplementedError

    def is_alive(self) -> bool:
        """NOOP: false when the server has closed the connection."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> SmtpSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def deliver(
    settings: AccountSettings,
    credential: Credential | None,
    message: EmailMessage,
    *,
    transcript: Transcript | None = None,
) -> SendResult:
    """Open, send one message, close."""
    with SmtpSession(settings, credential, transcript=transcript) as session:
        return session.send(message)
