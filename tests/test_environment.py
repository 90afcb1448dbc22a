"""environment.yml (conda, Binder) lists exactly pyproject.toml's dependencies.

pyproject.toml is the source of truth and is read at run time, so a
dependency added there without its environment.yml line fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

# PyPI name -> conda-forge name, where they differ after normalisation.
CONDA_NAMES: dict[str, str] = {}
# (PyPI name, extra) -> the conda packages that stand for the extra.
CONDA_EXTRAS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pydantic", "email"): ("email-validator",),
}
ALWAYS_ALLOWED = {"python", "pip"}

_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*([<>=!~].*)?$")


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return [Requirement(line) for line in listed]


def environment() -> dict[str, object]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def conda_and_pip() -> tuple[dict[str, SpecifierSet], dict[str, Requirement]]:
    conda: dict[str, SpecifierSet] = {}
    pip: dict[str, Requirement] = {}
    entries = environment()["dependencies"]
    assert isinstance(entries, list)
    for entry in entries:
        if isinstance(entry, dict):
            assert set(entry) == {"pip"}, entry
            for line in entry["pip"]:
                if line.startswith("-e ") or line.startswith("."):
                    continue  # the project itself
                requirement = Requirement(line)
                pip[canonicalize_name(requirement.name)] = requirement
            continue
        match = _CONDA_SPEC.match(entry)
        assert match, f"cannot read the conda entry {entry!r}"
        name = canonicalize_name(match.group(1))
        assert name not in conda, f"{name} listed twice"
        conda[name] = SpecifierSet(match.group(2) or "")
    return conda, pip


def test_name_and_channels() -> None:
    data = environment()
    assert data["name"] == "bpmnb"
    assert data["channels"] == ["conda-forge"]


def test_python_matches_requires_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    conda, _ = conda_and_pip()
    assert conda["python"] == SpecifierSet(project["requires-python"])
    assert "pip" in conda


def test_the_project_itself_is_installed_with_its_test_extra() -> None:
    entries = environment()["dependencies"]
    assert isinstance(entries, list)
    pip_lines = [line for e in entries if isinstance(e, dict) for line in e["pip"]]
    assert "-e .[test]" in pip_lines


@pytest.mark.parametrize("requirement", pyproject_requirements(), ids=str)
def test_every_pyproject_dependency_is_in_the_environment(
    requirement: Requirement,
) -> None:
    conda, pip = conda_and_pip()
    name = canonicalize_name(requirement.name)
    conda_name = CONDA_NAMES.get(name, name)

    if name in pip:
        listed = pip[name]
        assert listed.specifier == requirement.specifier, (
            str(listed),
            str(requirement),
        )
        assert listed.extras == requirement.extras
        assert conda_name not in conda, f"{name} is listed for both conda and pip"
        return

    assert conda_name in conda, f"{requirement} is missing from environment.yml"
    assert conda[conda_name] == requirement.specifier, (
        f"{conda_name}{conda[conda_name]} differs from {requirement}"
    )
    for extra in requirement.extras:
        stand_ins = CONDA_EXTRAS.get((name, extra))
        assert stand_ins, f"say which conda packages provide {name}[{extra}]"
        for package in stand_ins:
            assert package in conda or package in pip, (requirement, package)


def test_nothing_in_the_environment_that_pyproject_lacks() -> None:
    conda, pip = conda_and_pip()
    wanted = set()
    for requirement in pyproject_requirements():
        name = canonicalize_name(requirement.name)
        wanted.add(CONDA_NAMES.get(name, name))
        for extra in requirement.extras:
            wanted.update(CONDA_EXTRAS.get((name, extra), ()))
    extra = (set(conda) | set(pip)) - wanted - ALWAYS_ALLOWED
    assert not extra, f"environment.yml lists what pyproject.toml does not: {extra}"
