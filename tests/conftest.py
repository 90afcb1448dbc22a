"""One SMTP sandbox for the whole test run, and small shared fixtures.

``pytest_sessionstart`` starts a :class:`bpmnb.sandbox.Sandbox` in a
temporary home, saves account settings pointing at it (what
``bpmnb sandbox --configure`` does) and exports ``BPMNB_HOME`` and
``BPMNB_SANDBOX_HOME``, so notebook kernels and CLI subprocesses started by
tests find the same account. Tests that change state use their own home
(``tmp_path``) or :func:`fresh_sandbox`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpmnb.home import Home
from bpmnb.sandbox import Sandbox
from tests.support.httpserver import ISPDB, HttpServer, ispdb_routes
from tests.support.identity import IdentityEmulator

_SESSION: dict[str, object] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    root = Path(tempfile.mkdtemp(prefix="bpmnb-test-home-"))
    home = Home(root).ensure()
    box = Sandbox(home).start()
    _SESSION.update(home=home, sandbox=box, root=root)
    os.environ["BPMNB_HOME"] = str(root)
    os.environ["BPMNB_SANDBOX_HOME"] = str(root)
    # Never touch a developer's real keyring; notebooks' kernels inherit this.
    os.environ["BPMNB_SECRET_BACKEND"] = "file"
    # Notebook 05 talks to the local Entra ID emulator, not a real tenant.
    os.environ["BPMNB_O365_EMULATOR"] = "1"
    from bpmnb import storage

    storage.save(home, box.settings())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    box = _SESSION.pop("sandbox", None)
    if isinstance(box, Sandbox):
        box.stop()
    root = _SESSION.pop("root", None)
    if isinstance(root, Path):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's BPMNB_PASSWORD must not leak into any test."""
    monkeypatch.delenv("BPMNB_PASSWORD", raising=False)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The sandbox of the test run (shared: do not stop it or rely on an
    empty mailbox; compare Message-IDs instead)."""
    box = _SESSION["sandbox"]
    assert isinstance(box, Sandbox)
    return box


@pytest.fixture(scope="session")
def session_home() -> Home:
    """The home whose settings point at the shared sandbox."""
    home = _SESSION["home"]
    assert isinstance(home, Home)
    return home


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """An empty home of this test's own (modules may define their own)."""
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def idp() -> Iterator[IdentityEmulator]:
    """The local Entra ID emulator (HTTPS on loopback) for this test."""
    with IdentityEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ispdb() -> Iterator[HttpServer]:
    """Thunderbird's ISP database served on loopback, as its live site
    answers (one URL per domain); skips when the files are absent."""
    if not ISPDB.is_dir():
        pytest.skip(f"Thunderbird's ISP database files not found at {ISPDB}")
    with HttpServer(ispdb_routes(ISPDB)) as server:
        yield server


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Factory: ``fresh_sandbox(**kw)`` starts a sandbox in its own home
    under ``tmp_path`` (or ``home=``); all are stopped after the test."""
    started: list[Sandbox] = []

    def make(home: Path | Home | None = None, **kwargs: object) -> Sandbox:
        box = Sandbox(home or tmp_path / f"home{len(started)}", **kwargs)  # type: ignore[arg-type]
        started.append(box.start())
        return box

    yield make
    for box in started:
        box.stop()
