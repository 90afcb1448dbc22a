"""Building the message: RFC 5322 headers, RFC 2047 for Polish names.

CONTRACT (implemented by the transport/sandbox work).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from bpmnb.settings import AccountSettings

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


def build(
    settings: AccountSettings,
    *,
    to: str | Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """A message from the account; refuses CR/LF/NUL in any header value."""
    raise NotImplementedError
