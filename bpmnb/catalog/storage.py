"""User-facing text of the storage area (keys start with ``storage.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
