"""The command table: every command a module registers is reachable by name."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click

from bpmnb.cli import COMMANDS, main


def test_every_registered_command_is_in_the_table() -> None:
    for module_name in set(COMMANDS.values()):
        module = importlib.import_module(f"bpmnb.cli.{module_name}")
        holder = click.Group()
        module.register(holder)
        for name in holder.commands:
            assert COMMANDS.get(name) == module_name, name


def test_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bpmnb.cli", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no-such-command" in result.stderr


def test_light_commands_do_not_import_heavy_modules() -> None:
    code = (
        "import sys; from bpmnb.cli import main; "
        "main.get_command(None, 'settings'); "
        "print('msal' in sys.modules, 'ipywidgets' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_help_lists_all_commands() -> None:
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMANDS)


def test_a_reader_that_goes_away_is_not_an_error_to_explain(tmp_path: Path) -> None:
    """`bpmnb queue list | head -1`: a closed pipe is not a path or
    permission problem; say nothing, exit 1 as Python advises."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    from bpmnb.home import Home
    from bpmnb.queue import Queue

    home = Home(tmp_path / "home").ensure()
    messages = []
    for n in range(2000):
        m = EmailMessage()
        m["From"] = "powiadomienia@example.com"
        m["To"] = "odbiorca@example.com"
        m["Subject"] = f"Powiadomienie {n}"
        m["Message-ID"] = make_msgid(domain="example.com")
        m.set_content("x")
        messages.append(m)
    Queue(home.queue_file).enqueue_many(messages)
    code = "import sys; from bpmnb.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--home", str(home.root), "queue", "list",
         "--limit", "2000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert err == b""
