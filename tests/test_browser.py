"""``bpmnb app`` in a real browser: a newcomer's first visit, end to end.

A real ``bpmnb app`` subprocess in a fresh home (so it starts its own
sandbox), Debian's Chromium driven by Playwright, every request outside
127.0.0.1 refused. The page is used as a person would: a provider preset,
a wrong address and its error at the field, the sandbox pseudo-preset,
"Zapisz", then a test message that the sandbox must really receive. A
screenshot is kept in test-artifacts/app.png.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bpmnb import sandbox, storage
from bpmnb.app import find_notebook
from bpmnb.home import Home
from bpmnb.settings import AccountSettings
from tests.support.net import free_port

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = ROOT / "notebooks" / "01_serwer_pocztowy.ipynb"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SUBJECT = "Test bpmnb — aplikacja"
DISPLAY_NAME = "Comarch DMS — Jan Kowalski, księgowość"
PAGE_TIMEOUT = 90_000  # ms: Voila starts a kernel and runs the notebook

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium is not installed at /usr/bin/chromium "
    "(apt-get install chromium); Playwright's own download cannot work here",
)


def _read_lines(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line)


def _start_app(home: Home, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "BPMNB_LANG": "pl"}
    env.pop("BPMNB_HOME", None)
    env.pop("BPMNB_PASSWORD", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bpmnb.cli import main; main()",
            "--home",
            str(home.root),
            "app",
            "--no-browser",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@contextlib.contextmanager
def running_app(home: Home) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``bpmnb app`` until the block ends; yields the URL it printed."""
    proc = _start_app(home, free_port())
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    seen = []
    url = None
    try:
        while url is None:
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                pytest.fail("bpmnb app printed no URL:\n" + "".join(seen))
            seen.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            url = found.group(0) if found else None
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[str, Home, subprocess.Popen[str]]]:
    home = Home(tmp_path / "home")
    with running_app(home) as (url, proc):
        yield url, home, proc
    # Stopping the app stops the sandbox it started.
    assert sandbox.info(home) is None


def test_app_notebook_found_in_a_checkout() -> None:
    assert find_notebook() == NOTEBOOK


def test_app_with_saved_settings_serves_the_page_without_a_sandbox(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path / "home").ensure()
    storage.save(
        home,
        AccountSettings(
            sender="jankowalski@example.com", host="smtp.example.com", port=587
        ),
    )
    with running_app(home) as (url, _proc):
        with urllib.request.urlopen(url, timeout=90) as response:  # noqa: S310
            page = response.read().decode("utf-8")
        assert response.status == 200
        assert "Serwer pocztowy" in page
        assert sandbox.info(home) is None
        assert not (home.sandbox_dir / "sandbox.json").exists()


def test_app_reports_a_busy_port(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    storage.save(home, AccountSettings(host="smtp.example.com"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = _start_app(home, busy.getsockname()[1])
        out, _ = proc.communicate(timeout=120)
        port = busy.getsockname()[1]
    assert proc.returncode == 1
    assert f"Port {port} jest zajęty" in out
    assert "http://" not in out


@pytest.mark.browser
@needs_chromium
def test_newcomer_fills_saves_and_sends(
    app: tuple[str, Home, subprocess.Popen[str]],
) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    url, home, _proc = app
    info = sandbox.info(home)
    assert info is not None, "the app did not start a sandbox for a new home"
    saved = storage.load(home)
    assert saved is not None and saved.host == info.host

    def only_loopback(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1600})
            page.route("**/*", only_loopback)
            page.set_default_timeout(30_000)
            page.goto(url, wait_until="domcontentloaded")
            form = page.locator(".bpmnb-form")
            expect(form).to_be_visible(timeout=PAGE_TIMEOUT)

            # The seed's Polish labels, and the sandbox's settings pre-filled.
            for label in ("Nazwa serwera", "Metoda szyfrowania", "Email (wychodzący)"):
                expect(form.get_by_text(label, exact=True)).to_be_visible()
            host = page.locator(".bpmnb-host input")
            expect(host).to_have_value(info.host)

            # A provider preset fills the server and the login.
            sender = page.locator(".bpmnb-sender input")
            sender.fill("jankowalski@wp.pl")
            page.locator(".bpmnb-preset-wp").click()
            expect(host).to_have_value("smtp.wp.pl")
            expect(page.locator(".bpmnb-port input")).to_have_value("465")
            expect(page.locator(".bpmnb-login input")).to_have_value("jankowalski")

            # A wrong address: the error at the field, and no saving.
            sender.fill("jankowalski@")
            expect(page.locator(".bpmnb-note-sender")).to_contain_text("Błąd")
            expect(page.locator("button.bpmnb-save")).to_be_disabled()
            sender.fill("jankowalski@wp.pl")
            expect(page.locator(".bpmnb-note-sender")).not_to_contain_text("Błąd")

            # Back to the sandbox for the real test, with a Polish name.
            page.locator(".bpmnb-preset-sandbox").click()
            expect(host).to_have_value(info.host)
            expect(page.locator(".bpmnb-port input")).to_have_value(
                str(info.starttls_port)
            )
            page.locator(".bpmnb-display_name input").fill(DISPLAY_NAME)
            password = page.locator(".bpmnb-password input")
            password.fill(info.password)
            page.locator("button.bpmnb-save").click()
            expect(page.locator(".bpmnb-status")).to_contain_text("Zapisano.")
            expect(password).to_have_value("")
            expect(page.locator(".bpmnb-password-state")).to_contain_text("zapisane")

            # The stage-by-stage check passes against the saved account.
            page.locator("button.bpmnb-check").click()
            expect(page.locator(".bpmnb-check-ok")).to_be_visible(timeout=30_000)
            expect(page.locator(".bpmnb-check-result")).to_contain_text("ms")

            # The test message, and its arrival listed on the page.
            page.locator(".bpmnb-test-to input").fill("odbiorca@example.com")
            page.locator(".bpmnb-test-subject input").fill(SUBJECT)
            page.locator("button.bpmnb-send").click()
            expect(page.locator(".bpmnb-outcome")).to_contain_text(
                "kolejki mailowej", timeout=60_000
            )
            expect(page.locator(".bpmnb-outcome .bpmnb-sent")).to_be_visible(
                timeout=60_000
            )
            expect(page.locator(".bpmnb-received")).to_contain_text(SUBJECT)
            page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        finally:
            browser.close()

    [message] = [m for m in sandbox.received(home) if m.subject == SUBJECT]
    assert parseaddr(message.from_header) == (DISPLAY_NAME, "jankowalski@wp.pl")
    assert message.recipients == ("odbiorca@example.com",)
    assert message.encryption.startswith("TLS")
    stored = storage.load(home)
    assert stored is not None and stored.sender == "jankowalski@wp.pl"
    assert info.password not in home.settings_file.read_text("utf-8")
