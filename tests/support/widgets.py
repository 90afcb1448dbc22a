"""What a saved notebook would hold of the widgets: tests search it for
secrets."""

from __future__ import annotations

import json
from typing import Any


def all_state(*roots: Any) -> str:
    """Every synced value of every widget below ``roots`` (what a saved
    notebook's widget state holds)."""
    seen: dict[str, Any] = {}

    def walk(widget: Any) -> None:
        if widget.model_id in seen:
            return
        seen[widget.model_id] = widget.get_state()
        for child in getattr(widget, "children", ()):
            walk(child)

    for root in roots:
        walk(root)
    return json.dumps(seen, default=str)
