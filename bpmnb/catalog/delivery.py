"""User-facing text of the delivery area (keys start with ``delivery.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
