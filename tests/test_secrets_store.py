"""The secret store: an explicit choice of backend, and a 0600 file that is
created safely and refused when others can read it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail

from bpmnb import secrets
from bpmnb.errors import BpmnbError, SecretStoreError
from bpmnb.home import Home
from bpmnb.secrets import FileStore, KeyringStore, open_store

CANARY = "kanarek-Zx9#4471"


@pytest.fixture
def file_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------
# The 0600 file


def test_round_trip_and_mode(home: Home, file_backend: None) -> None:
    store = open_store(home)
    assert isinstance(store, FileStore)
    assert store.get("password") is None
    store.set("password", CANARY)
    store.set("oauth_client_secret", "drugi")
    assert store.get("password") == CANARY
    assert open_store(home).get("oauth_client_secret") == "drugi"
    assert mode(home.secrets_file) == 0o600
    store.delete("password")
    assert store.get("password") is None
    assert store.get("oauth_client_secret") == "drugi"
    store.delete("password")  # deleting twice is fine
    assert leftovers(home.root) == []


def test_file_is_0600_even_with_a_permissive_umask(
    home: Home, file_backend: None
) -> None:
    old = os.umask(0)
    try:
        open_store(home).set("password", CANARY)
    finally:
        os.umask(old)
    assert mode(home.secrets_file) == 0o600


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_by_others_is_refused(
    home: Home, file_backend: None, bad_mode: int
) -> None:
    store = open_store(home)
    store.set("password", CANARY)
    home.secrets_file.chmod(bad_mode)
    with pytest.raises(SecretStoreError) as caught:
        store.get("password")
    error = caught.value
    assert isinstance(error, BpmnbError)
    assert str(home.secrets_file) in error.message("pl")
    assert f"{bad_mode:04o}" in error.message("en")
    assert f"chmod 600 {home.secrets_file}" in error.hint("pl")
    assert f"chmod 600 {home.secrets_file}" in error.hint("en")
    assert CANARY not in str(error) + error.describe("pl") + error.describe("en")
    # Writing is refused too: it would read the exposed file first.
    with pytest.raises(SecretStoreError):
        store.set("password", "nowe")
    assert mode(home.secrets_file) == bad_mode
    home.secrets_file.chmod(0o600)
    assert store.get("password") == CANARY


def test_damaged_file_is_reported_without_quoting_it(
    home: Home, file_backend: None
) -> None:
    fd = os.open(home.secrets_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, f'{{"password": "{CANARY}"'.encode())
    os.close(fd)
    with pytest.raises(SecretStoreError) as caught:
        open_store(home).get("password")
    assert CANARY not in caught.value.describe("pl") + caught.value.describe("en")
    assert str(home.secrets_file) in caught.value.message("en")


def test_unknown_secret_name_is_a_programming_error(
    home: Home, file_backend: None
) -> None:
    with pytest.raises(ValueError):
        open_store(home).set("haslo", "x")  # type: ignore[arg-type]


def test_failed_write_leaves_old_file_and_no_temporary(
    home: Home, file_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(home)
    store.set("password", CANARY)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.set("password", "nowe-haslo")
    monkeypatch.undo()
    assert json.loads(home.secrets_file.read_text()) == {"password": CANARY}
    assert leftovers(home.root) == []


_WRITER = """
import os, sys
from pathlib import Path
os.environ["BPMNB_SECRET_BACKEND"] = "file"
from bpmnb.home import Home
from bpmnb.secrets import open_store
import time
store = open_store(Home(Path(sys.argv[1])))
go = Path(sys.argv[1]) / "go"
while not go.exists():
    time.sleep(0.005)
for i in range(50):
    store.set(sys.argv[2], f"{sys.argv[2]}-{i}")
"""


def test_concurrent_writers_lose_nothing(home: Home) -> None:
    """Three processes update different secrets at once: the lock keeps
    every update (read-modify-write would otherwise drop some)."""
    names = ["password", "oauth_client_secret", "oauth_token_cache"]
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(home.root), name])
        for name in names
    ]
    (home.root / "go").touch()
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    data = json.loads(home.secrets_file.read_text())
    assert data == {name: f"{name}-49" for name in names}
    assert mode(home.secrets_file) == 0o600


# --------------------------------------------------------------------------
# Choosing the backend


class MemoryKeyring(KeyringBackend):
    """A real keyring backend kept in memory (a stand-in OS keyring)."""

    priority: float = 5

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Named like keyrings.alt's plain-text file backend."""

    priority = 9


class LowPriorityKeyring(MemoryKeyring):
    priority = 0.5


class FixedChainer(chainer.ChainerBackend):
    # keyring discovers every backend subclass when it first picks a default;
    # a plain, negative priority keeps this one out of that choice.
    priority = -1  # type: ignore[assignment]
    members: ClassVar[list[KeyringBackend]] = []

    @property
    def backends(self) -> list[KeyringBackend]:
        return self.members


@pytest.fixture
def installed_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def test_this_machine_has_no_secure_keyring_so_the_file_is_used(
    home: Home,
) -> None:
    # In a fresh process: this module's test backends must not take part in
    # keyring's choice of the default backend.
    code = (
        "import sys; from bpmnb.home import Home; from bpmnb import secrets; "
        "print(secrets.secure_keyring() is None, "
        "type(secrets.open_store(Home.resolve(sys.argv[1]))).__name__)"
    )
    env = {k: v for k, v in os.environ.items() if k != "BPMNB_SECRET_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(home.root)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    no_secure, store_type = done.stdout.split()
    if no_secure != "True":
        pytest.skip("a secure keyring exists on this machine")
    assert store_type == "FileStore"


def test_secure_keyring_is_used_and_homes_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed_keyring: None
) -> None:
    monkeypatch.delenv("BPMNB_SECRET_BACKEND", raising=False)
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    first, second = Home(tmp_path / "a"), Home(tmp_path / "b")
    store_a, store_b = open_store(first), open_store(second)
    assert isinstance(store_a, KeyringStore)
    store_a.set("password", CANARY)
    assert store_b.get("password") is None
    assert backend.items == {(f"bpmnb:{first.root}", "password"): CANARY}
    assert "keyring" in secrets.describe(store_a, "en")
    assert not first.secrets_file.exists()
    store_a.delete("password")
    store_a.delete("password")
    assert backend.items == {}


@pytest.mark.parametrize(
    "backend", [PlaintextKeyring(), LowPriorityKeyring(), fail.Keyring()]
)
def test_insecure_keyrings_are_not_used(
    home: Home,
    monkeypatch: pytest.MonkeyPatch,
    installed_keyring: None,
    backend: KeyringBackend,
) -> None:
    monkeypatch.delenv("BPMNB_SECRET_BACKEND", raising=False)
    keyring.set_keyring(backend)
    store = open_store(home)
    assert isinstance(store, FileStore)
    store.set("password", CANARY)
    assert mode(home.secrets_file) == 0o600


def test_chainer_is_looked_into(
    home: Home, monkeypatch: pytest.MonkeyPatch, installed_keyring: None
) -> None:
    monkeypatch.delenv("BPMNB_SECRET_BACKEND", raising=False)
    secure = MemoryKeyring()
    FixedChainer.members = [PlaintextKeyring(), secure]
    keyring.set_keyring(FixedChainer())
    store = open_store(home)
    assert isinstance(store, KeyringStore) and store.backend is secure
    FixedChainer.members = [PlaintextKeyring()]
    assert isinstance(open_store(home), FileStore)


def test_forcing_the_file_over_a_secure_keyring(
    home: Home, monkeypatch: pytest.MonkeyPatch, installed_keyring: None
) -> None:
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "file")
    assert isinstance(open_store(home), FileStore)


def test_forcing_an_unusable_keyring_fails_clearly(
    home: Home, monkeypatch: pytest.MonkeyPatch, installed_keyring: None
) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "keyring")
    store = open_store(home)
    assert isinstance(store, KeyringStore)
    with pytest.raises(SecretStoreError) as caught:
        store.set("password", CANARY)
    assert CANARY not in caught.value.describe("en")
    assert "BPMNB_SECRET_BACKEND=file" in caught.value.hint("en")
    assert not home.secrets_file.exists()


def test_unknown_backend_choice(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMNB_SECRET_BACKEND", "plaintext")
    with pytest.raises(SecretStoreError) as caught:
        open_store(home)
    assert "plaintext" in caught.value.message("pl")
