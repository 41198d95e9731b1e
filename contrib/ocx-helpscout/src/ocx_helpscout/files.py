"""Which Help Scout page is which, its shape checked before anything is read: by what its
`_embedded` holds, else by its name; page files (`customers-2.json`...) in page order."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.plugin_api import ImportFileError, check_not_empty, export_pages, json_events, json_type

KINDS = ("customers", "conversations")
_EXPECTED = {
    "customers": "an object with _embedded.customers, as GET /v2/customers returns",
    "conversations": "an object with _embedded.conversations, "
    "as GET /v2/conversations?embed=threads returns",
}
_API = {"customers": "GET /v2/customers", "conversations": "GET /v2/conversations?embed=threads"}
SHAPE = (
    "not a Help Scout export (expected an object with _embedded.customers or "
    "_embedded.conversations, as the Mailbox API 2.0 returns)"
)


def _page_order(path: Path) -> tuple[Any, ...]:
    """`conversations.json`, `conversations-2.json`, ..., `conversations-10.json`: pages in
    number order, whether or not their numbers have leading zeros."""
    parts = re.split(r"(\d+)", path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    for kind in KINDS:
        if name.startswith(kind) and name.endswith(".json"):
            return kind
    return None


def _pages(folder: Path, kind: str) -> list[Path]:
    return export_pages(folder, kind, _page_order)


# --- checking a file's shape ---------------------------------------------------------------


def file_kind(path: Path, expected: str | None = None) -> str | None:
    """'customers' or 'conversations', checked; `expected` (None if not given) for a page
    with nothing embedded. Raises ImportFileError for an empty file, bad JSON or another
    shape."""
    check_not_empty(
        path, _EXPECTED[expected] if expected else "a Help Scout Mailbox API 2.0 response"
    )
    shape = f"not a Help Scout export (expected {_EXPECTED[expected]})" if expected else SHAPE
    top: set[str] = set()
    found: str | None = None
    with closing(json_events(path)) as events:
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise ImportFileError(str(path), shape)
        for prefix, event, value in events:
            if event == "map_key" and prefix == "":
                top.add(value)
            elif event == "map_key" and prefix == "_embedded" and value in KINDS:
                found = value
                # The event after the key starts its value: records come only in an array.
                start = next(events, None)
                if start is None or start[1] != "start_array":
                    raise ImportFileError(
                        str(path),
                        f"not a Help Scout export (_embedded.{found} is "
                        f"{json_type(start[1] if start else None)}; expected an array of "
                        f"{found}, as {_API[found]} returns)",
                    )
                break
            elif prefix == "" and event == "end_map":
                break
    if found is None:
        # A page with no results may leave `_embedded` out; anything else is not Help Scout.
        if "_embedded" not in top and "page" in top:
            return expected
        raise ImportFileError(str(path), shape)
    if expected is not None and found != expected:
        raise ImportFileError(str(path), f"{shape}; it holds {found}")
    return found
