"""User-facing text of the rules area (keys start with ``rules.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
