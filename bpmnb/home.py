"""The one directory that holds all state: settings, secrets, queue, sandbox.

``--home`` on the command line wins, then ``$BPMNB_HOME``, then the platform's
user data directory. Keeping everything in one place lets a test, a notebook
or an administrator point the whole toolkit at another account at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Home:
    """Paths inside one bpmnb home directory."""

    root: Path

    @classmethod
    def resolve(cls, override: str | os.PathLike[str] | None = None) -> Home:
        if override is not None:
            return cls(Path(override).expanduser().resolve())
        # A blank value (an unset shell variable in quotes) means "not set",
        # never the current directory.
        env = os.environ.get("BPMNB_HOME", "").strip()
        if env:
            return cls(Path(env).expanduser().resolve())
        return cls(Path(platformdirs.user_data_dir("bpmnb", appauthor=False)))

    def ensure(self) -> Home:
        """Create the directory, readable by its owner only (it holds secrets)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def queue_file(self) -> Path:
        return self.root / "queue.sqlite3"

    @property
    def sandbox_dir(self) -> Path:
        return self.root / "sandbox"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"
