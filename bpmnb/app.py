"""``bpmnb app``: the "Serwer pocztowy" notebook served as a web page.

The page is the notebook ``01_serwer_pocztowy.ipynb`` rendered by Voila
(code hidden, widgets live) on 127.0.0.1 only. A newcomer with no saved
settings gets a sandbox started alongside (``bpmnb sandbox --configure`` in
the same home), so the first test message has somewhere to arrive; the
sandbox stops with the app.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO

from bpmnb import storage
from bpmnb.home import Home

log = logging.getLogger(__name__)

APP_NOTEBOOK = "01_serwer_pocztowy.ipynb"
DEFAULT_PORT = 8866  # Voila's own default, so the URL is familiar
LOOPBACK = "127.0.0.1"
CULL_IDLE_SECONDS = 120  # a closed page's kernel is stopped after this
CULL_INTERVAL_SECONDS = 30
START_TIMEOUT = 90.0  # Voila's first start imports a lot; CI machines are slow


class AppError(RuntimeError):
    """The app could not start; ``key`` names the catalogue sentence."""

    def __init__(self, key: str, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(key)


def find_notebook() -> Path:
    """The app notebook: the repository's copy in a source checkout (so edits
    show at once), else the copy shipped inside the package."""
    checkout = Path(__file__).resolve().parent.parent / "notebooks" / APP_NOTEBOOK
    if checkout.is_file():
        return checkout
    packaged = resources.files("bpmnb") / "app_notebook" / APP_NOTEBOOK
    if packaged.is_file():
        return Path(str(packaged))
    raise AppError("ui.app.no_notebook", name=APP_NOTEBOOK)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def choose_port(requested: int | None) -> int:
    """``requested``, else Voila's usual port when free, else any free one."""
    if requested is not None:
        if not port_free(requested):
            raise AppError("ui.app.port_busy", port=requested)
        return requested
    if port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _bpmnb_command(home: Home, *args: str) -> list[str]:
    """Run our own CLI with this interpreter (no reliance on PATH)."""
    return [
        sys.executable,
        "-c",
        "from bpmnb.cli import main; main()",
        "--home",
        str(home.root),
        *args,
    ]


def voila_command(notebook: Path, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={LOOPBACK}",
        "--Voila.port_retries=0",
        "--show_tracebacks=False",
        # Each page load starts a kernel, and closing the tab does not stop
        # it. Shut down kernels left without a page (cull_connected stays
        # False: an open page is never culled) so that a forgotten tab's
        # in-process worker does not live on.
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL_SECONDS}",
    ]


def _wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        if proc.poll() is not None:
            return ready()
        time.sleep(0.2)
    return False


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError):
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    return False


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM first so the child cleans up (the sandbox removes its info
    file); SIGKILL only if it does not finish in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


@dataclass
class App:
    """The running app: Voila, and the sandbox when the app started it."""

    home: Home
    port: int
    url: str
    voila: subprocess.Popen[bytes]
    sandbox: subprocess.Popen[bytes] | None = None
    logs: list[IO[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        _stop(self.voila)
        _stop(self.sandbox)
        for handle in self.logs:
            handle.close()


def _log_file(home: Home, name: str) -> IO[bytes]:
    home.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return (home.log_dir / name).open("ab")


def start_sandbox(home: Home, logs: list[IO[bytes]]) -> subprocess.Popen[bytes]:
    """``bpmnb sandbox --configure`` in ``home``; returns once its settings
    are saved, so the page opens with an account that works."""
    from bpmnb import sandbox

    err = _log_file(home, "sandbox.log")
    logs.append(err)
    proc = subprocess.Popen(
        _bpmnb_command(home, "sandbox", "--configure"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # it may show its own credential there
        stderr=err,
        start_new_session=True,
    )
    ready = _wait_until(
        lambda: sandbox.info(home) is not None and storage.load(home) is not None,
        proc,
        START_TIMEOUT,
    )
    if not ready:
        _stop(proc)
        raise AppError("ui.app.sandbox_failed")
    return proc


def start(home: Home, port: int | None = None) -> tuple[App, bool]:
    """Start the page (and the sandbox when nothing is saved yet).

    Returns the app and whether a sandbox was started.
    """
    home.ensure()
    notebook = find_notebook()
    chosen = choose_port(port)
    logs: list[IO[bytes]] = []
    sandbox_proc = None
    if storage.load(home) is None:
        sandbox_proc = start_sandbox(home, logs)
    out = _log_file(home, "voila.log")
    logs.append(out)
    env = {**os.environ, "BPMNB_HOME": str(home.root), "BPMNB_APP": "1"}
    voila = subprocess.Popen(
        voila_command(notebook, chosen),
        cwd=notebook.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = App(home, chosen, f"http://{LOOPBACK}:{chosen}/", voila, sandbox_proc, logs)
    if not _wait_until(lambda: _listening(chosen), voila, START_TIMEOUT):
        app.stop()
        raise AppError("ui.app.voila_failed")
    return app, sandbox_proc is not None


def open_browser(url: str) -> bool:
    """Open ``url`` when this machine has a graphical browser; False otherwise.

    Without a display, :mod:`webbrowser` would fall back to a text browser
    that takes over the terminal the app prints to, so we do not ask it.
    """
    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY")
    )
    if not graphical:
        return False
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    return bool(browser.open(url))


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Let SIGTERM end the app like Ctrl+C, so the children are stopped."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    home: Home,
    port: int | None,
    *,
    browser: bool,
    say: Callable[[str, dict[str, object]], None],
) -> int:
    """Start, announce the URL, serve until Ctrl+C or SIGTERM, then clean up."""
    with _terminate_as_interrupt():
        app, sandbox_started = start(home, port)
        try:
            if sandbox_started:
                say("ui.app.sandbox_started", {})
            say("ui.app.url", {"url": app.url})
            if browser:
                open_browser(app.url)
            return app.voila.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            app.stop()
            say("ui.app.stopped", {})
