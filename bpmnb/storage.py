"""Saving and loading settings: atomic, and never with a secret in the file.

The settings file holds :meth:`AccountSettings.public_dict` only; the
password and the OAuth client secret go to :mod:`bpmnb.secrets`. Every write
is a temporary file in the same directory, fsynced and renamed over the old
one, so a crash leaves either the old settings or the new ones, never a
half-written file. A damaged file is reported, never silently replaced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bpmnb import rules
from bpmnb.errors import KeyedError, SettingsError
from bpmnb.files import locked, remove_stale_temporaries, write_atomic
from bpmnb.home import Home
from bpmnb.i18n import Lang, default_lang, text
from bpmnb.presets import by_host
from bpmnb.rules import Finding
from bpmnb.secrets import SecretStore, open_store
from bpmnb.settings import AccountSettings, AuthMethod, SecretName

log = logging.getLogger(__name__)

FORMATS = (".json", ".toml")
MAX_FILE_BYTES = 1_000_000
"""Settings are a few hundred bytes; a bigger file is the wrong file."""


class StorageError(KeyedError):
    """A settings file cannot be read or written; names the file."""


class StorageWriteError(StorageError, OSError):
    """The system refused to write a settings file (read-only directory, full
    disk): explained like every :class:`StorageError`, and still an
    :class:`OSError` for callers that handle those."""


class SettingsFileError(SettingsError):
    """A settings file whose content breaks the rules; names the file."""

    def __init__(self, path: Path, findings: list[Finding]) -> None:
        self.path = path
        super().__init__(findings)

    def message(self, lang: Lang | None = None) -> str:
        lang = lang or default_lang()
        details = "; ".join(
            f"{f.field or '-'}: {f.text.get(lang)}" for f in self.findings
        )
        return text("storage.invalid_file", lang, file=self.path, details=details)

    def describe(self, lang: Lang | None = None) -> str:
        return f"[{self.code}] {self.message(lang)}"


Account = AccountSettings | Mapping[str, object]
"""Settings, or their plain data (a form's, a file's): what names the server
and the login a password is for."""


def password_binding(account: Account) -> str:
    """What a stored password is bound to: the server and the login it was
    saved for. Server names are case-insensitive (RFC 1035 section 2.3.3)."""
    host: object
    login: object
    if isinstance(account, AccountSettings):
        host, login = account.host, account.login
    else:
        host, login = account.get("host"), account.get("login")
    name = str(host or "").strip().rstrip(".").lower()
    return f"{name}\n{str(login or '').strip()}"


def stored_password(
    home: Home, store: SecretStore | None = None, *, account: Account | None = None
) -> str | None:
    """The stored password; with ``account``, only if it was saved for that
    server and login.

    A password typed for the sandbox must never be offered to smtp.wp.pl
    because the user picked another provider and saved without typing a new
    one: that would hand one server the secret of another. A password saved
    before bindings existed (no ``password_for``) is taken as it is.
    """
    store = store or open_store(home)
    value = store.get("password")
    if not value or account is None:
        return value or None
    bound = store.get("password_for")
    if bound is not None and bound != password_binding(account):
        return None
    return value


def password_stored(
    home: Home, store: SecretStore | None = None, *, account: Account | None = None
) -> bool:
    """Whether the secret store holds a password (for ``account``, if given)."""
    return stored_password(home, store, account=account) is not None


def _read_mapping(path: Path, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """The JSON or TOML object in ``path`` (by suffix)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise StorageError(
            "storage.unknown_format", file=path, formats=", ".join(FORMATS)
        )
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise StorageError(
                "storage.too_large", file=path, size=size, limit=MAX_FILE_BYTES
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise StorageError("storage.not_found", file=path) from None
    except OSError as exc:
        raise StorageError(
            "storage.unreadable", file=path, reason=exc.strerror
        ) from None
    if not raw.strip():
        raise StorageError("storage.empty", file=path)
    try:
        data: Any
        # utf-8-sig: Windows editors (Notepad) save UTF-8 with a byte order
        # mark, which JSON and TOML parsers refuse; it carries no meaning.
        if suffix == ".toml":
            data = tomllib.loads(raw.decode("utf-8-sig"))
        else:
            data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise StorageError("storage.corrupt", file=path, reason="not UTF-8") from None
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise StorageError("storage.corrupt", file=path, reason=reason) from None
    except tomllib.TOMLDecodeError as exc:
        raise StorageError("storage.corrupt", file=path, reason=str(exc)) from None
    if not isinstance(data, dict):
        raise StorageError("storage.corrupt", file=path, reason="not an object")
    return data


def read_mapping(path: Path) -> dict[str, Any]:
    """The JSON or TOML object in ``path``; :class:`StorageError` naming the
    file when it is missing, unreadable, damaged or of another format."""
    data = _read_mapping(path)
    assert data is not None
    return data


def load(home: Home) -> AccountSettings | None:
    """The saved settings, or None when nothing was saved yet.

    The password is not filled in; use :func:`bpmnb.credentials.for_settings`.
    """
    path = home.settings_file
    data = _read_mapping(path, missing_ok=True)
    if data is None:
        return None
    if "password" in data:
        # We never write it; someone edited the file by hand.
        raise StorageError("storage.password_in_file", file=path)
    settings, findings = rules.parse(data)
    if settings is None:
        raise SettingsFileError(path, findings)
    return settings


@contextlib.contextmanager
def editing(home: Home) -> Iterator[None]:
    """Hold the settings of ``home`` for a load-change-save, so two processes
    changing different fields at once both keep their change (each file is
    whole anyway: see :func:`save`). A home that does not exist yet has
    nothing to protect and is not created for the lock."""
    if not home.root.is_dir():
        yield
        return
    with locked(home.root / ".settings.lock"):
        yield


def _prepared_password(settings: AccountSettings) -> str | None:
    """The password to store, if the settings carry one worth storing."""
    if settings.password is None or settings.auth is not AuthMethod.PASSWORD:
        return None
    value = settings.password.get_secret_value()
    if not value:
        return None
    preset = by_host(settings.host) if settings.host else None
    if preset is not None and preset.key == "gmail":
        # Google shows app passwords in groups of four; the spaces are not
        # part of it.
        compact = rules.normalize_app_password(value)
        if len(compact) == 16 and compact.isalpha():
            return compact
    return value


def save(
    home: Home, settings: AccountSettings, store: SecretStore | None = None
) -> None:
    """Write settings atomically; a password in ``settings`` goes to the store.

    Raises :class:`bpmnb.errors.SettingsError` when rules find errors
    (a disabled draft may be incomplete). Nothing is written then.
    """
    password = _prepared_password(settings)
    stored = False
    if password is None and settings.auth is AuthMethod.PASSWORD and settings.login:
        store = store or open_store(home)
        stored = password_stored(home, store, account=settings)
    findings = rules.check(settings, password_stored=stored)
    problems = rules.errors(findings)
    if problems:
        raise SettingsError(problems)
    try:
        home.ensure()
    except OSError as exc:
        raise StorageWriteError(
            "storage.unwritable", file=home.root, reason=exc.strerror or exc
        ) from None
    previous: tuple[str | None, str | None] = (None, None)
    if password is not None:
        store = store or open_store(home)
        previous = (store.get("password"), store.get("password_for"))
        store.set("password", password)
        store.set("password_for", password_binding(settings))
    try:
        _keep_damaged(home.settings_file)
        _write_json(home.settings_file, settings.public_dict())
    except OSError as exc:
        if password is not None and store is not None:
            # Settings and password change together or not at all: the old
            # settings stay, so the old password goes back beside them.
            with contextlib.suppress(Exception):
                names: tuple[SecretName, ...] = ("password", "password_for")
                for name, value in zip(names, previous, strict=True):
                    if value is None:
                        store.delete(name)
                    else:
                        store.set(name, value)
        raise StorageWriteError(
            "storage.unwritable", file=home.settings_file, reason=exc.strerror or exc
        ) from None
    if password is None:
        _forget_stale_password(home, settings, store, stored)
    log.info("saved settings to %s", home.settings_file)


def _forget_stale_password(
    home: Home, settings: AccountSettings, store: SecretStore | None, used: bool
) -> None:
    """Delete a stored password the saved settings no longer use: another
    server or login (a draft may be saved without its password), no login,
    or OAuth2. It must not wait there to be sent somewhere it was not meant
    for; the user types it again if they go back."""
    store = store or open_store(home)
    if used:
        if store.get("password_for") is None:
            # Saved before bindings existed: bind it to what it is used with.
            store.set("password_for", password_binding(settings))
        return
    if store.get("password") is not None:
        store.delete("password")
        log.info("removed the stored password: the saved account no longer uses it")
    if store.get("password_for") is not None:
        store.delete("password_for")


def _keep_damaged(path: Path) -> None:
    """Copy a settings file that cannot be read to ``<name>.damaged`` before
    it is replaced: the user was told "nothing was overwritten", and whatever
    they may still want from it stays on disk. A file that may hold a
    password is not copied: a second copy of a secret is worse than none."""
    try:
        data = _read_mapping(path, missing_ok=True)
    except StorageError:
        damaged = True
    else:
        damaged = data is not None and rules.parse(data)[0] is None
    if not damaged:
        return
    try:
        raw = path.read_bytes()
    except OSError:
        return
    if b"password" in raw or b"secret" in raw:
        return
    backup = path.with_name(path.name + ".damaged")
    write_atomic(backup, raw, mode=0o600)
    log.warning("kept the damaged settings file as %s", backup)


def _write_json(path: Path, data: Mapping[str, object], mode: int = 0o600) -> None:
    remove_stale_temporaries(path)
    payload = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, payload.encode("utf-8"), mode=mode)


# --------------------------------------------------------------------------
# TOML, written by hand: the settings are flat plus one ``[oauth]`` table.


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(data: Mapping[str, object]) -> str:
    """``data`` (scalars and tables of scalars) as TOML; None values are left
    out, since TOML has no null and the model's default is None."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, object]]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append("")
        lines.append(f"[{name}]")
        for key, value in table.items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def export(home: Home, path: Path) -> None:
    """Write the settings to ``path`` (JSON or TOML by suffix), without secrets."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise StorageError(
            "storage.unknown_format", file=path, formats=", ".join(FORMATS)
        )
    settings = load(home)
    if settings is None:
        raise StorageError("storage.nothing_saved", file=home.settings_file)
    data = settings.public_dict()
    if suffix == ".toml":
        payload = to_toml(data)
    else:
        payload = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        write_atomic(path, payload.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise StorageWriteError(
            "storage.unwritable", file=path, reason=exc.strerror
        ) from None


def import_(
    home: Home, path: Path, store: SecretStore | None = None
) -> AccountSettings:
    """Read JSON or TOML settings; a password in the file goes to the store.

    The file uses the settings' field names. ``password`` (and
    ``oauth.client_secret``) are moved to the secret store and never kept in
    the settings. Nothing is written when the file has errors.
    """
    path = Path(path)
    data = read_mapping(path)
    password = data.pop("password", None)
    client_secret = None
    oauth = data.get("oauth")
    if isinstance(oauth, dict) and "client_secret" in oauth:
        oauth = dict(oauth)
        client_secret = oauth.pop("client_secret")
        data["oauth"] = oauth
    secret_problems = [
        Finding(
            field,
            "error",
            "rules.text",
            rules.message("rules.text", label=rules.label(field), value="***"),
        )
        for field, value in (
            ("password", password),
            ("oauth.client_secret", client_secret),
        )
        if value is not None and not isinstance(value, str)
    ]
    settings, findings = rules.parse(data)
    if settings is None or secret_problems:
        if settings is None:
            # Every problem of the file at once, not one per attempt.
            findings = rules.errors(rules.review(data, password_stored=True)[1])
        raise SettingsFileError(path, secret_problems + findings)
    if isinstance(password, str) and password:
        settings.password = SecretStr(password)
    save(home, settings, store)
    if isinstance(client_secret, str) and client_secret:
        (store or open_store(home)).set("oauth_client_secret", client_secret)
    settings.password = None
    return settings
