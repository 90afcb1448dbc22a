"""User-facing text of the ui area (keys start with ``ui.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
