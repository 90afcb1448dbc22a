"""Where passwords and tokens live: never in the settings file.

The store is chosen explicitly, never by ``keyring``'s automatic chain: inside
a Jupyter kernel that chain can silently end at a plain-text file. We use the
OS keyring only when its backend is a secure one (Secret Service, KWallet,
macOS Keychain, Windows Credential Locker); otherwise a JSON file in the home
directory, created with mode 0600 and refused when anyone else may read it.
``BPMNB_SECRET_BACKEND=file|keyring`` forces the choice (tests use ``file``).
``BPMNB_PASSWORD`` overrides the stored password for automation; that is
handled by :mod:`bpmnb.credentials`.

No function here logs or raises with a secret value in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, get_args

from bpmnb.errors import KeyedError, SecretStoreError
from bpmnb.files import locked as _locked
from bpmnb.files import remove_stale_temporaries, write_atomic
from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.settings import SecretName

log = logging.getLogger(__name__)

BACKEND_ENV = "BPMNB_SECRET_BACKEND"
SECRET_NAMES: tuple[str, ...] = get_args(SecretName)

# Backends that are not a protected store: ``fail``/``null`` store nothing,
# ``chainer`` delegates to whatever it found (we look inside it instead), and
# keyrings.alt's backends write files (plain text, or encrypted with a
# password prompted on a terminal a kernel does not have).
_INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class SecretStore(Protocol):
    description: str

    def get(self, name: SecretName) -> str | None: ...

    def set(self, name: SecretName, value: str) -> None: ...

    def delete(self, name: SecretName) -> None: ...


class StoreError(KeyedError, SecretStoreError):
    """A secret store problem explained by a ``storage.`` catalogue key."""


class StoreWriteError(StoreError, OSError):
    """The system refused to write the secrets file; still an OSError."""


def _check_name(name: str) -> None:
    if name not in SECRET_NAMES:
        raise ValueError(
            f"unknown secret name {name!r}; expected one of {SECRET_NAMES}"
        )


# --------------------------------------------------------------------------
# The 0600 file


class FileStore:
    """Secrets as a JSON object in a file only its owner may read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = self.describe(default_lang())

    def describe(self, lang: Lang) -> str:
        return text("storage.backend.file", lang, path=self.path)

    def _read(self) -> dict[str, str]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(
                "storage.secrets_unreadable", file=self.path, reason=exc.strerror
            ) from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StoreError(
                    "storage.secrets_exposed",
                    file=self.path,
                    mode=f"{stat.S_IMODE(info.st_mode):04o}",
                )
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                raise StoreError("storage.secrets_foreign", file=self.path)
            raw = handle.read()
        try:
            data: Any = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            # Never quote the content: it is secrets.
            raise StoreError("storage.secrets_corrupt", file=self.path) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise StoreError("storage.secrets_corrupt", file=self.path)
        return data

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_temporaries(self.path)
        payload = json.dumps(data, indent=2, sort_keys=True).encode("utf-8")
        write_atomic(self.path, payload, mode=0o600)

    def _lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    def get(self, name: SecretName) -> str | None:
        _check_name(name)
        return self._read().get(name)

    def set(self, name: SecretName, value: str) -> None:
        _check_name(name)
        with self._writing():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with _locked(self._lock_path()):
                data = self._read()
                data[name] = value
                self._write(data)
        log.debug("stored secret %s in %s", name, self.path)

    def delete(self, name: SecretName) -> None:
        _check_name(name)
        if not self.path.exists():
            return
        with self._writing(), _locked(self._lock_path()):
            data = self._read()
            if data.pop(name, None) is not None:
                self._write(data)
        log.debug("deleted secret %s from %s", name, self.path)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """An OS refusal (read-only directory, full disk) as a StoreError
        naming the file; the exception never holds the secret."""
        try:
            yield
        except OSError as exc:
            raise StoreWriteError(
                "storage.secrets_unwritable",
                file=self.path,
                reason=exc.strerror or type(exc).__name__,
            ) from None


# --------------------------------------------------------------------------
# The OS keyring


class KeyringStore:
    """Secrets in a secure OS keyring, under a service named after the home.

    The service name contains the home directory, so two homes (a test and
    a real account, say) never read each other's password.
    """

    def __init__(self, backend: Any, home: Home) -> None:
        self.backend = backend
        self.service = f"bpmnb:{home.root}"
        self.description = self.describe(default_lang())

    def describe(self, lang: Lang) -> str:
        name = getattr(self.backend, "name", type(self.backend).__name__)
        return text("storage.backend.keyring", lang, name=name)

    def _fail(self, exc: Exception) -> StoreError:
        return StoreError(
            "storage.keyring_failed", name=type(exc).__name__, service=self.service
        )

    def get(self, name: SecretName) -> str | None:
        _check_name(name)
        try:
            value = self.backend.get_password(self.service, name)
        except Exception as exc:
            raise self._fail(exc) from None
        return value if isinstance(value, str) else None

    def set(self, name: SecretName, value: str) -> None:
        _check_name(name)
        try:
            self.backend.set_password(self.service, name, value)
        except Exception as exc:
            raise self._fail(exc) from None
        log.debug("stored secret %s in keyring service %s", name, self.service)

    def delete(self, name: SecretName) -> None:
        _check_name(name)
        try:
            if self.backend.get_password(self.service, name) is None:
                return
            self.backend.delete_password(self.service, name)
        except Exception as exc:
            raise self._fail(exc) from None


def _is_chainer(backend: Any) -> bool:
    try:
        from keyring.backends.chainer import ChainerBackend
    except ImportError:  # pragma: no cover - keyring is a dependency
        return False
    return isinstance(backend, ChainerBackend)


def _is_secure(backend: Any) -> bool:
    """Whether ``backend`` keeps secrets in a protected OS store."""
    from keyring.backends import fail, null

    if isinstance(backend, fail.Keyring | null.Keyring) or _is_chainer(backend):
        return False
    cls = type(backend)
    if (
        cls.__module__.startswith(_INSECURE_MODULES)
        or "plaintext" in cls.__name__.lower()
    ):
        return False
    try:
        priority = float(backend.priority)
    except Exception:
        return False
    return priority >= 1


def secure_keyring() -> Any | None:
    """The OS keyring backend if it is a secure one, else None.

    When keyring chose its chainer, the chainer's members are examined and
    the best secure one is used directly.
    """
    try:
        import keyring
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    candidates = [backend]
    if _is_chainer(backend):
        try:
            candidates = list(getattr(backend, "backends", []))
        except Exception:
            candidates = []
    for candidate in candidates:
        if _is_secure(candidate):
            return candidate
    return None


def open_store(home: Home) -> SecretStore:
    """The store for ``home``: secure keyring if present, else the 0600 file."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced not in ("", "file", "keyring"):
        raise StoreError("storage.backend_unknown", value=forced, env=BACKEND_ENV)
    if forced == "file":
        return FileStore(home.secrets_file)
    backend = secure_keyring()
    if backend is None and forced == "keyring":
        import keyring

        backend = keyring.get_keyring()
        log.warning("using keyring backend %s as forced by %s", backend, BACKEND_ENV)
    if backend is not None:
        return KeyringStore(backend, home)
    return FileStore(home.secrets_file)


def describe(store: SecretStore, lang: Lang) -> str:
    """The store's description in ``lang`` (``description`` is in the default)."""
    method = getattr(store, "describe", None)
    if callable(method):
        return str(method(lang))
    return store.description
