"""The rules that check account settings and name each problem at its field.

CONTRACT (to be implemented by the rules/storage work; signatures are fixed):
``Finding`` and ``check``/``parse`` below are used by the CLI, the widgets
and delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bpmnb.i18n import Msg
from bpmnb.settings import AccountSettings

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem with the settings, at ``field`` (None: the whole account).

    ``key`` is the catalogue key (stable, for tests and JSON); ``text`` is the
    sentence in both languages with its values filled in.
    """

    field: str | None
    level: Level
    key: str
    text: Msg

    def as_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "level": self.level,
            "key": self.key,
            "pl": self.text.pl,
            "en": self.text.en,
        }


def parse(data: Mapping[str, object]) -> tuple[AccountSettings | None, list[Finding]]:
    """Build settings from user data; type and range errors become findings."""
    raise NotImplementedError


def check(
    settings: AccountSettings,
    *,
    password_stored: bool = False,
    for_sending: bool = False,
) -> list[Finding]:
    """Every finding for ``settings``.

    ``password_stored`` says a password exists in the secret store even though
    ``settings.password`` is empty. ``for_sending`` makes incomplete settings
    errors even when sending is disabled (a disabled draft may be saved).
    """
    raise NotImplementedError


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]
