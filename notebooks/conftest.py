"""nbval runs of the notebooks alone (``pytest --nbval notebooks``) get the
same session sandbox as the full suite: tests/conftest.py starts it when the
tests directory is part of the run, and this file does when it is not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The repository root, so the shared fixtures import the same way as when
# pytest collects tests/ (rootdir-relative package "tests").
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import conftest as shared

_started_here = False


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    global _started_here
    if "home" not in shared._SESSION:
        shared.pytest_sessionstart(session)
        _started_here = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _started_here:
        shared.pytest_sessionfinish(session, exitstatus)
