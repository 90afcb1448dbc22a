"""User-facing text of the diagnosis area (keys start with ``diagnosis.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
