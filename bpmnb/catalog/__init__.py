"""The one catalogue of user-facing text, merged from one module per area.

Each area module defines ``MESSAGES: dict[str, Msg]`` whose keys start with the
area's prefix. A key may appear in only one area; ``tests/test_catalog.py``
also checks that no sentence is written twice.
"""

from __future__ import annotations

from types import ModuleType

from bpmnb.catalog import (
    delivery,
    detect,
    diagnosis,
    fields,
    oauth,
    queue,
    rules,
    storage,
    ui,
)
from bpmnb.i18n import Msg

AREAS: tuple[ModuleType, ...] = (
    fields,
    rules,
    storage,
    delivery,
    diagnosis,
    queue,
    oauth,
    ui,
    detect,
)


def _merge() -> dict[str, Msg]:
    merged: dict[str, Msg] = {}
    for area in AREAS:
        for key, msg in area.MESSAGES.items():
            if key in merged:
                raise RuntimeError(f"catalogue key {key!r} defined twice")
            merged[key] = msg
    return merged


CATALOG: dict[str, Msg] = _merge()
