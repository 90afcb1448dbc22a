"""User-facing text of the oauth area (keys start with ``oauth.``)."""

from bpmnb.i18n import Msg

MESSAGES: dict[str, Msg] = {}
