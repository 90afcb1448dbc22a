"""An aiosmtpd server that answers like Exchange Online's client submission.

smtp.office365.com:587 requires STARTTLS before AUTH, offers ``AUTH LOGIN
XOAUTH2`` and answers with enhanced status codes documented by Microsoft:

* ``535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is
  disabled for the Tenant/Mailbox`` when SMTP AUTH is switched off
  (``Set-CASMailbox -SmtpClientAuthenticationDisabled``);
* ``535 5.7.3 Authentication unsuccessful`` for a token it does not accept
  (Exchange sends no XOAUTH2 JSON challenge, unlike Gmail);
* ``550 5.7.30 Basic authentication is not supported for Client
  Submission`` for AUTH LOGIN/PLAIN once basic auth is retired;
* ``550 5.7.60 SMTP; Client does not have permissions to send as this
  sender`` at MAIL FROM, and ``554 5.2.252 SendAsDenied; ...`` after DATA,
  when the principal has no right on the mailbox.

Which of these it does is set by attributes, so one server serves every test.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from bpmnb.sandbox import read_xoauth2
from tests.support.net import LOOPBACK, Running, free_port, server_context

HOSTNAME = "AM0PR02MB0000.eurprd02.prod.outlook.com"
TokenCheck = Callable[[str, str], "str | None"]


@dataclass
class ExchangeBehaviour:
    """Switches for the replies (all off: a working Exchange Online)."""

    smtp_auth_disabled: bool = False  # tenant or mailbox: 5.7.139
    basic_auth_retired: bool = True  # AUTH LOGIN/PLAIN: 5.7.30
    send_as_denied_at_mail: bool = False  # MAIL FROM: 5.7.60
    send_as_denied_at_data: bool = False  # after DATA: 5.2.252 SendAsDenied
    # Addresses each authenticated user may send as; absent: only itself.
    send_as: dict[str, set[str]] = field(default_factory=dict)
    # Mailboxes each service principal (token "oid") has FullAccess to, as
    # Add-MailboxPermission grants; None: every app may use every mailbox.
    mailbox_access: dict[str, set[str]] | None = None


class _Handler:
    def __init__(self, server: ExchangeEmulator) -> None:
        self.server = server

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        read = await read_xoauth2(smtp, args)
        if read is None:
            return AuthResult(success=False, handled=True)
        user, token = read
        behaviour = self.server.behaviour
        if behaviour.smtp_auth_disabled:
            return _refuse(
                "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
                f"is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled "
                f"for more information. [{HOSTNAME}]"
            )
        problem = self.server.check(user, token) if token else "no token"
        if not problem and behaviour.mailbox_access is not None:
            claims = jwt.decode(token, options={"verify_signature": False})
            if "scp" not in claims:
                granted = behaviour.mailbox_access.get(str(claims.get("oid")), set())
                problem = None if user.lower() in granted else "no mailbox access"
        self.server.auth_log.append((user, problem))
        if problem:
            return _refuse(f"535 5.7.3 Authentication unsuccessful [{HOSTNAME}]")
        return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))

    async def handle_MAIL(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        behaviour = self.server.behaviour
        user = _user(session)
        allowed = behaviour.send_as.get(user.lower(), {user.lower()})
        if behaviour.send_as_denied_at_mail or address.lower() not in allowed:
            return (
                "550 5.7.60 SMTP; Client does not have permissions to send as "
                "this sender"
            )
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Sender OK"

    async def handle_DATA(
        self, smtp: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.server.behaviour.send_as_denied_at_data:
            user = _user(session)
            return (
                f"554 5.2.252 SendAsDenied; {user} not allowed to send as "
                f"{envelope.mail_from}; STOREDRV.Submission.Exception:"
                "SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process "
                "message due to a permanent exception with message "
                "[BeginDiagnosticData]"
                f"Cannot submit message. [Hostname={HOSTNAME}]"
            )
        self.server.messages.append(envelope)
        return f"250 2.0.0 OK <emulated@{HOSTNAME}> [Hostname={HOSTNAME}]"


def _user(session: Session) -> str:
    data = session.auth_data
    if isinstance(data, LoginPassword):
        return data.login.decode()
    return ""


def _refuse(reply: str) -> AuthResult:
    return AuthResult(success=False, handled=False, message=reply)


AUTH_LINE_LIMIT = 12288  # RFC 4954 section 4: AUTH lines up to 12288 octets


class _ExchangeSMTP(SMTP):
    """aiosmtpd with room for a bearer token: "AUTH XOAUTH2 <base64>" is a few
    KB, over aiosmtpd's 512-octet command and 1001-octet line limits."""

    line_length_limit = AUTH_LINE_LIMIT

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        limits: collections.defaultdict[str, int] = collections.defaultdict(
            lambda: SMTP.command_size_limit
        )
        limits["AUTH"] = AUTH_LINE_LIMIT
        self.command_size_limits = limits


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _ExchangeSMTP(self.handler, **self.SMTP_kwargs)


class ExchangeEmulator(Running):
    """smtp.office365.com's submission port, on 127.0.0.1 with STARTTLS.

    ``check(user, token) -> None | reason`` decides whether a bearer token is
    good (see tests.support.identity.token_checker).
    """

    def __init__(self, check: TokenCheck) -> None:
        self.check = check
        self.behaviour = ExchangeBehaviour()
        self.messages: list[Envelope] = []
        self.auth_log: list[tuple[str, str | None]] = []
        self.port = free_port()
        self._controller: Controller | None = None

    def _basic(self, *args: Any) -> AuthResult:
        if self.behaviour.basic_auth_retired:
            return _refuse(
                "550 5.7.30 Basic authentication is not supported for Client "
                f"Submission. [{HOSTNAME}]"
            )
        return _refuse(f"535 5.7.3 Authentication unsuccessful [{HOSTNAME}]")

    def start(self) -> ExchangeEmulator:
        self._controller = _Controller(
            _Handler(self),
            hostname=LOOPBACK,
            port=self.port,
            server_hostname=HOSTNAME,
            ident="Microsoft ESMTP MAIL Service ready",
            tls_context=server_context(),
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._basic,
            auth_exclude_mechanism=["PLAIN"],
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
