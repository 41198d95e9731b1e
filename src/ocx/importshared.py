"""Small readers that more than one helpdesk importer needs: loose JSON values as a dict or
a list, a custom field's single value, a kind's page files in page order, counted nouns.

Helpdesk exports leave keys out or put a different type in them; every importer read them
the same way, so they live here once (plugins reach them through ocx.plugin_api).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocx.importkit import clean_text


def as_dict(value: Any) -> dict[str, Any]:
    """The value when it is an object, else an empty one: a missing or odd key reads as empty."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """The value when it is an array, else an empty one."""
    return value if isinstance(value, list) else []


def field_value(value: Any) -> str | int | float | None:
    """A custom field's value as ocx keeps it: cleaned text, or a number; None for anything
    else (an object, a list, true or false), which no helpdesk field type holds as one value."""
    if isinstance(value, str):
        return clean_text(value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def export_pages(folder: Path, kind: str, order: Callable[[Path], Any]) -> list[Path]:
    """The `KIND*.json` files in a folder (`tickets.json`, `tickets-2.json`...), sorted by
    the importer's own page order."""
    return sorted((p for p in folder.glob(f"{kind}*.json") if p.is_file()), key=order)


def plural(number: int, noun: str) -> str:
    """`1 ticket`, `3 tickets`: for the summary's warnings."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
