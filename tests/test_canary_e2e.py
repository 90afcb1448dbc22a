"""A planted password travels the whole command-line path and leaks nowhere.

The user's journey, each step a real ``bpmnb`` process with DEBUG logging:
save the settings (password from stdin), show, validate, export, check the
connection stage by stage with a saved transcript, send a test message
through the queue, list and show the queue; then the same password refused
by another server. Afterwards the password (and the base64 forms in which
AUTH PLAIN and LOGIN carry it, RFC 4616 and the LOGIN draft) must appear in
no output and no file except the two secret files that exist to hold it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from bpmnb.home import Home
from bpmnb.sandbox import Sandbox, received

CANARY = "Kanarek-Żółć-7319!qv"
RECIPIENT = "odbiorca@example.com"


def _forms(login: str) -> list[bytes]:
    raw = CANARY.encode("utf-8")
    plain = base64.b64encode(b"\0" + login.encode() + b"\0" + raw)
    escaped = json.dumps(CANARY)[1:-1].encode("ascii")  # as JSON writes it
    return [raw, base64.b64encode(raw), plain, escaped]


def test_password_appears_in_no_output_or_file(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    box = Sandbox(home, password=CANARY).start()
    stranger = Sandbox(Home(tmp_path / "other").ensure()).start()
    outputs: list[str] = []
    env = {**os.environ, "BPMNB_SECRET_BACKEND": "file"}
    env.pop("BPMNB_PASSWORD", None)

    def run(*args: str, stdin: str | None = None, code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bpmnb.cli", "--home", str(home.root), "-vv", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout

    try:
        run(
            "settings",
            "set",
            "enabled=true",
            "account_name=Konto testowe",
            "sender=powiadomienia@example.com",
            "display_name=Powiadomienia BPM",
            "host=127.0.0.1",
            f"port={box.starttls_port}",
            "encryption=starttls",
            f"login={box.login}",
            f"ca_file={box.ca_file}",
            "--password-stdin",
            stdin=CANARY + "\n",
        )
        run("settings", "show", "--json")
        run("settings", "validate", "--json")
        run("settings", "export", str(tmp_path / "export.json"))
        run("settings", "export", str(tmp_path / "export.toml"))
        transcript = tmp_path / "transcript.txt"
        run(
            "check",
            "--to",
            RECIPIENT,
            "--send",
            "--json",
            "--transcript",
            str(transcript),
        )
        assert "AUTH" in transcript.read_text("utf-8")
        run("send-test", "--to", RECIPIENT, "--wait", "--json")
        run("queue", "list", "--json")
        run("queue", "show", "1", "--json")
        # The same password sent to a server that does not know it.
        run(
            "check",
            "--port",
            str(stranger.starttls_port),
            "--ca-file",
            str(stranger.ca_file),
            "--json",
            code=1,
        )
    finally:
        box.stop()
        stranger.stop()

    assert len([m for m in received(home) if RECIPIENT in m.recipients]) >= 2
    forms = _forms(box.login)
    for text in outputs:
        for form in forms:
            assert form.decode("utf-8", "replace") not in text
    allowed = {home.secrets_file, home.sandbox_dir / "sandbox.json"}
    checked = 0
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path in allowed:
            continue
        data = path.read_bytes()
        checked += 1
        for form in forms:
            assert form not in data, path
    assert checked > 5
    # The secret store does hold it: the test planted what it searches for.
    assert json.loads(home.secrets_file.read_text("utf-8"))["password"] == CANARY
