"""Building the message: RFC 5322 headers, RFC 2047 for Polish names.

Everything that could smuggle a header is refused here, before any
connection is made: a CR, LF or NUL in a display name, subject, address,
Message-ID or attachment file name would let a value end its header line
and start another (header injection). Addresses are checked with
``email_validator`` (international domains allowed, no DNS lookups).

Domains are written as A-labels (IDNA, RFC 5891) in the headers so that any
server accepts them; a non-ASCII local part stays as it is and needs a
server offering SMTPUTF8 (RFC 6531), which :mod:`bpmnb.transport` checks.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

import email_validator

from bpmnb.errors import BpmnbError, Code, Stage
from bpmnb.i18n import Lang, Msg, both, default_lang
from bpmnb.rules import Finding
from bpmnb.settings import AccountSettings

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Limit for all attachments of one message together (many providers refuse
messages over 20-25 MB, and base64 adds a third)."""

_FORBIDDEN = ("\r", "\n", "\0")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


class MessageError(BpmnbError, ValueError):
    """The message cannot be built; ``field`` says which part and ``key``
    names the bilingual sentence (``delivery.*`` in the catalogue).

    Its code is INVALID_SETTINGS and its stage SETTINGS: nothing was sent, and
    retrying the same input cannot help.
    """

    def __init__(
        self, key: str, field: str, *, reason: str | None = None, **fields: object
    ) -> None:
        self.key = key
        self.field = field
        self.text: Msg = both(key, field=field, **fields)
        # ``reason`` is a library's English explanation: kept for the record
        # (detail), not mixed into the bilingual sentence.
        self.reason = reason
        super().__init__(
            Code.INVALID_SETTINGS,
            stage=Stage.SETTINGS,
            detail=f"{field}: {reason or self.text.en}",
        )

    def message(self, lang: Lang | None = None) -> str:
        return self.text.get(lang or default_lang())

    def hint(self, lang: Lang | None = None) -> str:
        return ""  # the sentence already says what to change

    def describe(self, lang: Lang | None = None) -> str:
        return f"[{self.code}] {self.field}: {self.text.get(lang or default_lang())}"

    @property
    def finding(self) -> Finding:
        """The same problem as a rules finding, for forms and JSON output."""
        return Finding(self.field, "error", self.key, self.text)


def _refuse_injection(field: str, value: str) -> None:
    if any(char in value for char in _FORBIDDEN):
        raise MessageError("delivery.header_injection", field)


def _address(
    field: str, value: str, display_name: str = "", name_field: str | None = None
) -> Address:
    """A checked address as a header object, domain in A-labels."""
    _refuse_injection(name_field or field, display_name)
    _refuse_injection(field, value)
    try:
        valid = email_validator.validate_email(
            value, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise MessageError(
            "delivery.invalid_address", field, address=value, reason=str(exc)
        ) from exc
    domain = valid.ascii_domain or valid.domain
    return Address(display_name=display_name, username=valid.local_part, domain=domain)


def _recipients(to: str | Sequence[str]) -> list[Address]:
    values = [to] if isinstance(to, str) else list(to)
    for value in values:
        _refuse_injection("to", value)
    found = [
        _address("to", addr, name)
        for name, addr in getaddresses(values)
        if addr or name
    ]
    if not found:
        raise MessageError("delivery.no_recipient", "to")
    return found


def _message_id(given: str | None, domain: str) -> str:
    if given is None or not given.strip():
        return make_msgid(domain=domain)
    _refuse_injection("message_id", given)
    given = given.strip()
    return given if given.startswith("<") else f"<{given}>"


def check_attachment_total(total: int) -> None:
    """Refuse attachments of ``total`` bytes together when over the limit.

    Public so the command line can refuse files before reading them, with
    the same rule and sentence as :func:`build`.
    """
    if total > MAX_ATTACHMENT_BYTES:
        raise MessageError(
            "delivery.attachment_too_large",
            "attachments",
            size=f"{total / 1024 / 1024:.1f}",
            limit=f"{MAX_ATTACHMENT_BYTES / 1024 / 1024:.0f}",
        )


def build(
    settings: AccountSettings,
    *,
    to: str | Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """A message from the account; refuses CR/LF/NUL in any header value.

    ``to`` is one address, a comma-separated list, or a sequence; each may
    carry a display name ("Jan Kowalski <jan@example.com>"). Raises
    :class:`MessageError` before anything is sent.
    """
    _refuse_injection("subject", subject)
    sender = _address(
        "sender", settings.sender, settings.display_name, name_field="display_name"
    )
    reply_to = (
        _address("reply_to", settings.reply_to) if settings.reply_to.strip() else None
    )
    recipients = _recipients(to)
    total = 0
    for attachment in attachments:
        _refuse_injection("attachments", attachment.filename)
        _refuse_injection("attachments", attachment.content_type)
        total += len(attachment.content)
    check_attachment_total(total)

    message = EmailMessage()
    # The default policy writes non-ASCII display names and subjects as RFC
    # 2047 encoded words when serialised for SMTP.
    message["From"] = sender
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["To"] = recipients
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = _message_id(message_id, sender.domain)
    # Quoted-printable keeps the body 7-bit, so no server needs 8BITMIME.
    message.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        content_type = attachment.content_type
        if content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(attachment.filename)[0] or content_type
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
        )
    return message
