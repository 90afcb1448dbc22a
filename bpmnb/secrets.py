"""Where passwords and tokens live: never in the settings file.

CONTRACT (implemented by the rules/storage work): ``SecretStore`` with
``get``/``set``/``delete`` by :data:`bpmnb.settings.SecretName`, chosen
explicitly: a secure OS keyring backend when one exists, otherwise a JSON file
in the home directory with mode 0600. ``BPMNB_PASSWORD`` overrides the stored
password for automation.
"""

from __future__ import annotations

from typing import Protocol

from bpmnb.home import Home
from bpmnb.settings import SecretName


class SecretStore(Protocol):
    description: str

    def get(self, name: SecretName) -> str | None: ...

    def set(self, name: SecretName, value: str) -> None: ...

    def delete(self, name: SecretName) -> None: ...


def open_store(home: Home) -> SecretStore:
    """The store for ``home``: secure keyring if present, else the 0600 file."""
    raise NotImplementedError
