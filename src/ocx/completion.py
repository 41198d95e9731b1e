"""What the shell completes, as (value, description) pairs: customers, incidents, promises,
team handles and channels, each from what has been typed so far."""

from __future__ import annotations

import re
from typing import Any

from ocx.store import Store
from ocx.store import complete as sql

LIMIT = 50  # a shell shows a screenful; more is typing, not choosing
_MAX_ID = 2**63 - 1  # SQLite's largest rowid
_INCIDENT = re.compile(r"(?:#|inc-?)?(\d*)", re.IGNORECASE)

Choice = tuple[str, str]


def _after(prefix: str) -> str | None:
    """The smallest string greater than every string starting with prefix (SQLite compares
    text as UTF-8 bytes, which keeps code-point order): the end of a prefix range."""
    for i in range(len(prefix) - 1, -1, -1):
        if ord(prefix[i]) < 0x10FFFF:
            return prefix[:i] + chr(ord(prefix[i]) + 1)
    return None


def _name_query(typed: str) -> str | None:
    """An FTS5 query for names with a word beginning with typed (`marg` -> Margo), or None
    when typed is no beginning of a word (empty, or an address)."""
    if "@" in typed or not any(ch.isalnum() for ch in typed):
        return None
    words = typed.replace("\x00", " ").split()  # FTS5 reads a query as a C string
    return 'name : "' + " ".join(words).replace('"', '""') + '"*'


def customers(store: Store, typed: str, limit: int = LIMIT) -> list[Choice]:
    """Customers whose email, or a word of whose name, begins with typed (letter case and
    accents aside, words as the search index splits them): (email, name), by email."""
    typed = typed.strip()
    email = typed.lower()
    name_query = _name_query(typed)
    rows = sql.customers(
        store.conn, email if email else None, _after(email) if email else None, name_query,
        limit,
    )  # fmt: skip
    return [(address, name or "") for address, name in rows]


def id_ranges(digits: str) -> list[tuple[int, int]]:
    """The id ranges whose decimal ids begin with digits: `4` -> 4, 40-49, 400-499, ...
    up to SQLite's largest id; none (every id) for no digits, nothing for a leading 0."""
    if not digits:
        return []
    if not digits.isdigit() or digits.startswith("0"):
        return [(0, -1)]  # an empty range: no id is written that way
    ranges, low, width = [], int(digits), 1
    while low <= _MAX_ID:
        ranges.append((low, min(low + width - 1, _MAX_ID)))
        low, width = low * 10, width * 10
    return ranges


def incidents(store: Store, typed: str, limit: int = LIMIT) -> list[Choice]:
    """Incidents as `INC-N` (typed as 7, INC-7, inc-7 or #7), newest first, described by
    their title."""
    match = _INCIDENT.fullmatch(typed.strip())
    if match is None:
        if not "inc-".startswith(typed.strip().lower()):
            return []
        match = _INCIDENT.fullmatch("")
    assert match is not None
    rows = sql.incidents(store.conn, id_ranges(match.group(1)), limit)
    return [
        (f"INC-{id_}", title + (" (resolved)" if status == "resolved" else ""))
        for id_, title, status in rows
    ]


def promises(store: Store, typed: str, *, open_only: bool, limit: int = LIMIT) -> list[Choice]:
    """Promises whose id begins with typed, newest first, described by owner and text."""
    rows = sql.promises(store.conn, id_ranges(typed.strip()), open_only, limit)
    return [
        (str(id_), f"{owner}: {text}" + ("" if state == "open" else f" ({state})"))
        for id_, text, owner, state in rows
    ]


def handles(store: Store, typed: str, limit: int = LIMIT) -> list[Choice]:
    """Team members whose handle begins with typed, described by their name."""
    prefix = typed.strip().lower()
    rows = sql.team(store.conn, prefix, _after(prefix) if prefix else None, limit)
    return [(handle, name or "") for handle, name in rows]


def channels(config: dict[str, Any], typed: str) -> list[Choice]:
    """The channels of ocx.toml (`[channels.NAME]`) whose name begins with typed, described
    by their type."""
    tables = config.get("channels")
    if not isinstance(tables, dict):
        return []
    return sorted(
        (name, str(table.get("type", "")))
        for name, table in tables.items()
        if isinstance(table, dict) and name.startswith(typed)
    )
