"""Saving and loading settings: atomic, and never with a secret in the file.

CONTRACT (implemented by the rules/storage work).
"""

from __future__ import annotations

from pathlib import Path

from bpmnb.home import Home
from bpmnb.secrets import SecretStore
from bpmnb.settings import AccountSettings


def load(home: Home) -> AccountSettings | None:
    """The saved settings, or None when nothing was saved yet.

    The password is not filled in; use :func:`bpmnb.credentials.for_settings`.
    """
    raise NotImplementedError


def save(home: Home, settings: AccountSettings, store: SecretStore | None = None) -> None:
    """Write settings atomically; a password in ``settings`` goes to the store.

    Raises :class:`bpmnb.errors.SettingsError` when rules find errors
    (a disabled draft may be incomplete).
    """
    raise NotImplementedError


def export(home: Home, path: Path) -> None:
    """Write the settings to ``path`` (JSON or TOML by suffix), without secrets."""
    raise NotImplementedError


def import_(home: Home, path: Path) -> AccountSettings:
    """Read JSON or TOML settings; a password in the file goes to the store."""
    raise NotImplementedError
