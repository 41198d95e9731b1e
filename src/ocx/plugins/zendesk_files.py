"""Which files a Zendesk export holds, and whether each is a Zendesk response page: checked
before any record is read, so a wrong file is refused at once with a reason."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ocx.plugin_api import (
    ImportFileError,
    check_not_empty,
    json_first_event,
    json_top_level_values,
    json_type,
)

SHAPE = (
    "not a Zendesk export (expected an object with 'tickets' or 'users', as Zendesk's "
    "ticket and user endpoints return)"
)
# The arrays a Zendesk response page may hold; each is read in its own pass.
KEYS = ("tickets", "users", "organizations", "ticket_fields")
# Files a folder holds, by what they answer: people (and what names them) first.
PEOPLE_FILES = ("users*.json", "organizations*.json", "ticket_fields*.json")


def page_files(path: Path) -> list[Path]:
    """tickets.json or page files tickets*.json, in name order (as a paged export is saved)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("tickets*.json") if p.is_file())


def people_files(folder: Path) -> list[Path]:
    """users*.json (GET /api/v2/users.json pages), organizations*.json and
    ticket_fields*.json in a folder, each kind in name order."""
    return [p for name in PEOPLE_FILES for p in sorted(folder.glob(name)) if p.is_file()]


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(page_files(path) or people_files(path))
    return path.suffix.lower() == ".json"


# Parse events a page's head is peeked at for its arrays: Zendesk writes them first, so in
# an export as it comes the page's shape is known before any record.
_PEEK = 64
_SCAN_CHUNK = 256 * 1024


def check_shape(path: Path) -> set[str]:
    """Refuse a file that is no Zendesk response before any record is read: empty, not an
    object, an array key holding something else, or none of the arrays at all. Returns the
    arrays seen."""
    check_not_empty(path, "a Zendesk API response (tickets.json, users.json)")
    if json_first_event(path) != "start_map":
        raise ImportFileError(str(path), SHAPE)
    found = json_top_level_values(path, KEYS, within=_PEEK)
    if not found:  # nothing in the head (a hand-made file): look through it once
        found = json_top_level_values(path, KEYS)
        if not found:
            raise ImportFileError(str(path), SHAPE)
    for key, event in found.items():
        check_array(path, key, event)
    return set(found)


def check_array(path: Path, key: str, event: str | None) -> None:
    """`key` of a page must be an array when it is there. Its value is looked up whole-file
    only when a pass found no records under it (a streamed pass cannot tell an empty array
    from an object)."""
    if event not in (None, "start_array"):
        raise ImportFileError(
            str(path),
            f"not a Zendesk export ('{key}' is {json_type(event)}; expected an array of "
            f"{key}, as Zendesk's API returns)",
        )


def check_key_after_empty_pass(path: Path, key: str) -> None:
    check_array(path, key, json_top_level_values(path, (key,)).get(key))


def mentions(path: Path, keys: Iterable[str]) -> set[str]:
    """Which of `keys` the file holds as a JSON string `"key"` anywhere, read a chunk at a
    time: a key it never mentions needs no parse pass. (A string escaped inside another,
    `\\"users\\"`, does not count; a tag "users" does, and costs one empty pass.)"""
    wanted = {key: f'"{key}"'.encode() for key in keys}
    found: set[str] = set()
    keep = max((len(n) for n in wanted.values()), default=1) - 1
    tail = b""
    with path.open("rb") as handle:
        while len(found) < len(wanted):
            chunk = handle.read(_SCAN_CHUNK)
            if not chunk:
                break
            data = tail + chunk
            found.update(k for k, needle in wanted.items() if k not in found and needle in data)
            tail = data[-keep:] if keep else b""
    return found
