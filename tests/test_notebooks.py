"""Every notebook runs top to bottom against a fresh sandbox, its test
message arrives, and no secret ends up anywhere.

nbval (``pytest --nbval``) checks the stored outputs against the shared
session sandbox; this module runs the notebooks itself with nbclient in a
home of its own, so the arrivals it asserts cannot come from another test.
The sandbox's generated password is the canary: the notebooks send with it,
so it must then appear in no executed notebook (outputs and saved widget
state), no kernel output and no file of the home except the two files made
to hold it.

``python -m tests.test_notebooks`` refreshes the outputs stored in the
notebooks (what nbval compares) from a run against a fresh sandbox.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bpmnb import storage
from bpmnb.app import APP_NOTEBOOK
from bpmnb.home import Home
from bpmnb.sandbox import SANDBOX_DISPLAY_NAME, Sandbox

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PACKAGED_APP_NOTEBOOK = NOTEBOOKS.parent / "bpmnb" / "app_notebook" / APP_NOTEBOOK
# What ``bpmnb sandbox --configure`` (and the suite's session home) saves.
SAVED_DISPLAY_NAME = SANDBOX_DISPLAY_NAME

# Which message each of our notebooks sends, and the display name it uses.
EXPECTED: dict[str, tuple[str, str]] = {
    "00_start.ipynb": ("Test bpmnb — start", SAVED_DISPLAY_NAME),
    "01_serwer_pocztowy.ipynb": ("Test bpmnb — serwer pocztowy", SAVED_DISPLAY_NAME),
    "02_wp.ipynb": ("Test bpmnb — WP", "Comarch DMS — Jan Kowalski, księgowość"),
    "03_onet.ipynb": ("Test bpmnb — Onet", "Comarch DMS — Anna Nowak, sprzedaż"),
    "04_gmail.ipynb": (
        "Test bpmnb — Gmail",
        "Comarch DMS — Anna Nowa, obsługa klienta",
    ),
    "07_porty.ipynb": ("Test bpmnb — porty", SAVED_DISPLAY_NAME),
}
KERNEL_TIMEOUT = 120


def execute(path: Path, home: Home, stderr: Path) -> nbformat.NotebookNode:
    """Run ``path`` in a fresh kernel whose home is ``home``; widget state
    is stored as Jupyter would save it."""
    book = nbformat.read(path, as_version=4)
    env = {**os.environ, "BPMNB_HOME": str(home.root)}
    env.pop("BPMNB_PASSWORD", None)
    env.pop("BPMNB_APP", None)
    client = NotebookClient(
        book,
        timeout=KERNEL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    with stderr.open("ab") as err:
        client.execute(env=env, stderr=err, stdout=err)
    return book


def configure(home: Home, box: Sandbox) -> None:
    """What ``bpmnb sandbox --configure`` does (and the session home has)."""
    storage.save(home, box.settings())


@dataclass
class Run:
    home: Home
    sandbox: Sandbox
    executed: dict[str, nbformat.NotebookNode]
    out_dir: Path
    kernel_log: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("nb-home")
    out_dir = tmp_path_factory.mktemp("nb-out")
    home = Home(root).ensure()
    with Sandbox(home) as box:
        configure(home, box)
        kernel_log = out_dir / "kernels.log"
        executed = {}
        for path in sorted(NOTEBOOKS.glob("*.ipynb")):
            book = execute(path, home, kernel_log)
            nbformat.write(book, out_dir / path.name)
            executed[path.name] = book
        yield Run(home, box, executed, out_dir, kernel_log)


def test_our_notebooks_are_all_there() -> None:
    present = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    assert set(EXPECTED) <= present


def test_packaged_app_notebook_is_the_repository_one() -> None:
    """An installed ``bpmnb app`` serves the copy inside the package."""
    assert PACKAGED_APP_NOTEBOOK.read_bytes() == (NOTEBOOKS / APP_NOTEBOOK).read_bytes()


def test_stored_notebooks_hold_no_widget_state_or_errors() -> None:
    for name in EXPECTED:
        path = NOTEBOOKS / name
        book = nbformat.read(path, as_version=4)
        assert "widgets" not in book.metadata, path.name
        for cell in book.cells:
            for output in cell.get("outputs", []):
                assert output.get("output_type") != "error", path.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_test_message_arrived(run: Run, name: str) -> None:
    subject, display_name = EXPECTED[name]
    arrived = [m for m in run.sandbox.received() if m.subject == subject]
    assert len(arrived) == 1, f"{name}: {subject!r} not received exactly once"
    message = arrived[0]
    assert parseaddr(message.from_header)[0] == display_name, message.from_header
    assert message.encryption.startswith("TLS"), message.encryption
    printed = _printed(run.executed[name])
    assert f"Piaskownica odebrała „{subject}”" in printed


def test_walkthroughs_send_from_their_example_account(run: Run) -> None:
    by_subject = {m.subject: m for m in run.sandbox.received()}
    assert by_subject["Test bpmnb — WP"].sender == "jankowalski@wp.pl"
    assert by_subject["Test bpmnb — Onet"].sender == "annanowak@op.pl"
    assert by_subject["Test bpmnb — Gmail"].sender == "annanowa@gmail.com"


def test_no_error_outputs(run: Run) -> None:
    for name, book in run.executed.items():
        for cell in book.cells:
            for output in cell.get("outputs", []):
                assert output.get("output_type") != "error", (name, output)
                assert output.get("name") != "stderr", (name, output)


def test_the_sandbox_password_leaks_nowhere(run: Run) -> None:
    canary = run.sandbox.password
    assert len(canary) >= 12  # a generated secret, not something common
    # The notebooks really used it: the sandbox accepted their logins.
    assert any(m.login == run.sandbox.login for m in run.sandbox.received())

    for path in run.out_dir.iterdir():
        assert canary not in path.read_text("utf-8", errors="replace"), path
    for book in run.executed.values():
        assert book.metadata.get("widgets"), "widget state was not saved"

    # The two files whose job is to hold it: the 0600 secret store and the
    # sandbox's own state file (how other processes learn its credential).
    allowed = {run.home.secrets_file, run.home.sandbox_dir / "sandbox.json"}
    for path in run.home.root.rglob("*"):
        if path.is_file() and path not in allowed:
            assert canary.encode() not in path.read_bytes(), path
    for path in allowed:
        if path.exists():
            assert path.stat().st_mode & 0o077 == 0, path


def _printed(book: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in book.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def _ignored(cell: nbformat.NotebookNode) -> bool:
    return "NBVAL_IGNORE_OUTPUT" in cell.source


def refresh(names: list[str]) -> None:
    """Store fresh outputs in the notebooks (what nbval compares): run them
    against a new sandbox; widget cells keep no output, no widget state."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp)).ensure()
        with Sandbox(home) as box:
            configure(home, box)
            for path in sorted(NOTEBOOKS.glob("*.ipynb")):
                if names and path.name not in names:
                    continue
                book = execute(path, home, Path(tmp) / "kernels.log")
                for cell in book.cells:
                    if cell.cell_type != "code":
                        continue
                    cell.metadata.pop("execution", None)
                    if _ignored(cell):
                        cell.outputs = []
                book.metadata.pop("widgets", None)
                text = nbformat.writes(book)
                assert box.password not in text
                path.write_text(text + "\n", "utf-8")
                print("refreshed", path.name)
                if path.name == APP_NOTEBOOK:
                    shutil.copyfile(path, PACKAGED_APP_NOTEBOOK)
                    print("copied to", PACKAGED_APP_NOTEBOOK)


if __name__ == "__main__":
    refresh(sys.argv[1:])
