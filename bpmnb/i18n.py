"""Bilingual text: every sentence the user sees exists in Polish and English.

The sentences themselves live in :mod:`bpmnb.catalog`, one module per area,
merged into one table keyed by a dotted name. Code refers to keys, never to
sentences, so a sentence is written once.
"""

from __future__ import annotations

import os
from typing import Literal, NamedTuple

Lang = Literal["pl", "en"]
LANGS: tuple[Lang, ...] = ("pl", "en")


class Msg(NamedTuple):
    """One sentence (or label) in both languages; ``str.format`` fields allowed."""

    pl: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.pl if lang == "pl" else self.en


def default_lang() -> Lang:
    """Polish unless ``BPMNB_LANG=en``: our users are Polish administrators."""
    return "en" if os.environ.get("BPMNB_LANG", "").lower().startswith("en") else "pl"


def text(key: str, lang: Lang | None = None, **fields: object) -> str:
    """The sentence ``key`` in ``lang``, with ``fields`` filled in."""
    from bpmnb.catalog import CATALOG

    msg = CATALOG[key]
    template = msg.get(lang or default_lang())
    return template.format(**fields) if fields else template


def both(key: str, **fields: object) -> Msg:
    """The sentence ``key`` in both languages, with ``fields`` filled in."""
    return Msg(text(key, "pl", **fields), text(key, "en", **fields))
