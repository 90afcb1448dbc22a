"""User-facing text of the queue area (keys start with ``queue.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
