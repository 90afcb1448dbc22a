"""The command table: every command a module registers is reachable by name."""

from __future__ import annotations

import importlib
import subprocess
import sys

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
