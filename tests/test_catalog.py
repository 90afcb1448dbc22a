"""The catalogue of user-facing text: complete in both languages, every
sentence written once, and every key the code asks for present."""

from __future__ import annotations

import ast
import string
from collections import defaultdict
from pathlib import Path

import pytest

from bpmnb.catalog import AREAS, CATALOG
from bpmnb.errors import Code
from bpmnb.i18n import LANGS

PACKAGE = Path(__file__).resolve().parents[1] / "bpmnb"
LONG = 25  # a text longer than this is a sentence that must be written once


def format_fields(template: str) -> set[str]:
    fields = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            fields.add(name.split(".", 1)[0].split("[", 1)[0])
    return fields


def test_every_key_has_both_languages() -> None:
    empty = [
        (key, lang)
        for key, msg in CATALOG.items()
        for lang in LANGS
        if not msg.get(lang).strip()
    ]
    assert not empty


def test_keys_carry_their_areas_prefix() -> None:
    for area in AREAS:
        name = area.__name__.rsplit(".", 1)[1]
        prefixes = ("field.", "choice.") if name == "fields" else (f"{name}.",)
        wrong = [key for key in area.MESSAGES if not key.startswith(prefixes)]
        assert not wrong, f"{area.__name__}: {wrong}"


def test_polish_is_written_in_polish() -> None:
    same = [key for key, msg in CATALOG.items() if msg.pl == msg.en]
    assert len(same) < len(CATALOG)
    # Short labels (a port, "SSL/TLS", a product name) may read the same in
    # both languages; a phrase of four words or more may not.
    untranslated = [key for key in same if len(CATALOG[key].en.split()) >= 4]
    assert not untranslated


@pytest.mark.parametrize("lang", LANGS)
def test_no_sentence_is_written_twice(lang: str) -> None:
    keys_by_text: dict[str, list[str]] = defaultdict(list)
    for key, msg in CATALOG.items():
        sentence = msg.get(lang).strip()  # type: ignore[arg-type]
        if len(sentence) > LONG:
            keys_by_text[sentence].append(key)
    repeated = {text: keys for text, keys in keys_by_text.items() if len(keys) > 1}
    assert not repeated


def test_both_languages_fill_the_same_fields() -> None:
    differing = {
        key: (format_fields(msg.pl), format_fields(msg.en))
        for key, msg in CATALOG.items()
        if format_fields(msg.pl) != format_fields(msg.en)
    }
    assert not differing


@pytest.mark.parametrize("code", list(Code), ids=str)
def test_every_fault_code_is_explained_with_a_hint(code: Code) -> None:
    assert f"diagnosis.{code}" in CATALOG
    assert f"diagnosis.{code}.hint" in CATALOG


def keys_used_in_code() -> tuple[dict[str, str], dict[str, str]]:
    """Literal keys and f-string key prefixes passed to ``text``/``both``,
    each with where it is used."""
    literal: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "catalog" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name not in ("text", "both"):
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if "." in first.value and " " not in first.value:
                    literal[first.value] = where
            elif isinstance(first, ast.JoinedStr) and first.values:
                head = first.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    prefixes[head.value] = where
    return literal, prefixes


def test_every_key_the_code_uses_exists() -> None:
    literal, prefixes = keys_used_in_code()
    missing = {key: where for key, where in literal.items() if key not in CATALOG}
    assert not missing
    dangling = {
        prefix: where
        for prefix, where in prefixes.items()
        if not any(key.startswith(prefix) for key in CATALOG)
    }
    assert not dangling


def test_the_scan_finds_keys() -> None:
    """Guard against a scan that silently finds nothing."""
    literal, prefixes = keys_used_in_code()
    assert "detect.not_found" in literal
    assert "detect.outcome." in prefixes
