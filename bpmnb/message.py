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
from bpmnb.i18n import Lang, Msg, default_lang, text
from bpmnb.rules import Finding
from bpmnb.settings import AccountSettings

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Limit for all attachments of one message together (many providers refuse
messages over 20-25 MB, and base64 adds a third)."""

_FORBIDDEN = ("\r", "\n", "\0")
# Also line breaks to ``str.splitlines`` (which the email package folds
# with) and the other control characters RFC 5322 does not allow in a header
# (section 2.2: printable characters and white space only); TAB is white space.
_LINE_BREAKS = frozenset("\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_CONTROLS = frozenset(chr(c) for c in range(0x20) if c != 0x09) | {"\x7f"}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def _field_label(field: str, lang: Lang) -> str:
    """The label the user sees for ``field``: the settings form's label for
    settings fields, the test-message section's for the rest."""
    from bpmnb.catalog import CATALOG

    for key in (f"field.{field}", f"ui.test.{field}", f"ui.test.{field[:-1]}"):
        if key in CATALOG:
            return CATALOG[key].get(lang)
    return field


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
        self.text = Msg(
            text(key, "pl", field=_field_label(field, "pl"), **fields),
            text(key, "en", field=_field_label(field, "en"), **fields),
        )
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
    if any(char in value for char in _FORBIDDEN) or not _LINE_BREAKS.isdisjoint(value):
        raise MessageError("delivery.header_injection", field)
    if not _CONTROLS.isdisjoint(value):
        raise MessageError("delivery.control_character", field)


def _unquoted(local_part: str) -> str:
    """A quoted local part (RFC 5321 4.1.2 Quoted-string) without its quotes
    and backslash escapes: ``Address`` quotes it again when it writes it."""
    if len(local_part) >= 2 and local_part[0] == local_part[-1] == '"':
        inner = local_part[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if char == "\\" and not escaped:
                escaped = True
                continue
            out.append(char)
            escaped = False
        return "".join(out)
    return local_part


def _address(
    field: str, value: str, display_name: str = "", name_field: str | None = None
) -> Address:
    """A checked address as a header object, domain in A-labels."""
    _refuse_injection(name_field or field, display_name)
    _refuse_injection(field, value)
    try:
        # Quoted local parts ("jan kowalski"@firma.pl) are legal (RFC 5321
        # 4.1.2), if rare; refusing them would refuse a real recipient.
        valid = email_validator.validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=True,
        )
    except email_validator.EmailNotValidError as exc:
        raise MessageError(
            "delivery.invalid_address", field, address=value, reason=str(exc)
        ) from exc
    domain = valid.ascii_domain or valid.domain
    local = _unquoted(valid.local_part)
    return Address(display_name=display_name, username=local, domain=domain)


def _list_items(value: str) -> list[str]:
    """The non-blank items of an address list (RFC 5322 3.4), split at commas
    outside quoted strings, comments and angle brackets."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    depth = angle = 0
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
        elif char == '"' and not depth:
            quoted = not quoted
        elif not quoted:
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == "<" and not depth:
                angle += 1
            elif char == ">" and angle and not depth:
                angle -= 1
            elif char in ",;" and not (depth or angle):
                items.append("".join(current))
                current = []
                continue
        current.append(char)
    items.append("".join(current))
    return [item for item in items if item.strip()]


def _recipients(to: str | Sequence[str]) -> list[Address]:
    values = [to] if isinstance(to, str) else list(to)
    for value in values:
        _refuse_injection("to", value)
    found: list[Address] = []
    for value in values:
        for piece in _list_items(value):
            parsed = [(n, a) for n, a in getaddresses([piece]) if n or a]
            if len(parsed) != 1 or not parsed[0][1]:
                # getaddresses turns "jan@" into ("", ""), which would drop
                # the recipient silently and send to the others only.
                raise MessageError(
                    "delivery.invalid_address", "to", address=piece.strip()
                )
            name, addr = parsed[0]
            found.append(_address("to", addr, name))
    if not found:
        raise MessageError("delivery.no_recipient", "to")
    return found


def check_recipient(value: str) -> str:
    """The one recipient address in ``value``, checked as :func:`build`
    checks "To" (raises :class:`MessageError` at field ``to``), so the
    connection check refuses what a test message would refuse."""
    found = _recipients(value)
    if len(found) != 1:
        raise MessageError("delivery.invalid_address", "to", address=value.strip())
    return found[0].addr_spec


def _message_id(given: str | None, domain: str) -> str:
    if given is None or not given.strip():
        return make_msgid(domain=domain)
    _refuse_injection("message_id", given)
    given = given.strip()
    return given if given.startswith("<") else f"<{given}>"


def _is_utf8(content: bytes) -> bool:
    """Non-ASCII bytes that are valid UTF-8."""
    if content.isascii():
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
        params: dict[str, str] = {}
        if maintype == "text" and _is_utf8(attachment.content):
            # RFC 2046 4.1.2: text without a charset is US-ASCII; a UTF-8
            # .txt or .csv with Polish letters would be shown garbled.
            params["charset"] = "utf-8"
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return message
