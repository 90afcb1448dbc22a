"""Lint, formatting and strict typing, as tests, so the one test command
proves them too. The configuration is in pyproject.toml; the tools are the
ones installed beside this interpreter (the project's test extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "--no-cache", "."),
        ("ruff", "format", "--no-cache", "--check", "."),
        ("mypy", "--strict", "bpmnb"),
        # The fault servers and helpers every protocol test stands on.
        ("mypy", "--strict", "tests/support"),
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict", "mypy-strict-support"],
)
def test_tool_passes(command: tuple[str, ...]) -> None:
    result = run(*command)

    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )
