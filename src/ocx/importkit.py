"""Helpers for importer plugins: streaming JSON with clear errors, id and text cleaning.

Helpdesk exports are JSON files that can hold a million records, so big files are streamed
with ijson (flat memory, a fast C parser); small per-record files are read whole with json.
Either way a broken file raises `ImportFileError` naming the file, and where it can, the
line and column. The built-in `zendesk` importer and the contrib `ocx-freshdesk` and
`ocx-helpscout` importers all read their files through this module.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

from ocx.plugin_api import ImportFileError, Origin

BOM = b"\xef\xbb\xbf"
# ijson's errors carry no line: files up to this size are re-read with json for line:column.
PRECISE_ERRORS_UP_TO = 256 * 1024 * 1024
_BLANK_CHECKED_UP_TO = 4096  # a longer file of only white space fails as truncated JSON
_CHUNK = 1024 * 1024  # a file too big to read whole is checked for UTF-8 this much at a time
# What a value is, by the ijson event that starts it, for "'tickets' is a string" messages.
_JSON_TYPES = {
    "start_map": "an object", "start_array": "an array", "string": "a string",
    "number": "a number", "integer": "a number", "double": "a number",
    "boolean": "true or false", "null": "null",
}  # fmt: skip


def record_id(value: Any) -> str | None:
    """An export's id as text ('1001' from 1001 or ' 1001 '); None for a missing, empty,
    boolean or structured value, so a record without a usable id is reported, not stored."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def clean_text(value: Any) -> str | None:
    """Trimmed text, or None for anything else (a missing key, null, a number, '').

    json keeps a lone surrogate escape ("\\ud800") as is and SQLite cannot store it, so it
    becomes '?' here, as ijson makes it in streamed files: a record reads the same from a
    streamed page and from a small file read whole."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def with_ids(
    records: Iterable[Any], file: Path | str, what: str
) -> Iterator[tuple[str | None, dict[str, Any], Origin]]:
    """Each record with its id and where it is, `(id, record, origin)`, so every importer
    names records alike in errors: `tickets.json: ticket 1001`. A record that is not an
    object or has no usable id comes as `(None, {}, origin)`, its origin the record's place
    (`ticket #3`), for the importer to yield `BadRecord(origin, "ticket has no id")`."""
    for number, record in enumerate(records, start=1):
        found = record_id(record.get("id")) if isinstance(record, dict) else None
        if found is None:
            yield None, {}, Origin(str(file), record=f"{what} #{number}")
        else:
            yield found, record, Origin(str(file), record=f"{what} {found}")


def check_not_empty(path: Path, what: str) -> None:
    """Raise `ImportFileError` "file is empty; expected WHAT" for an empty (or blank) file,
    which would otherwise fail as truncated JSON and hide the plainer cause."""
    size = path.stat().st_size
    if size == 0 or (
        size <= _BLANK_CHECKED_UP_TO and not path.read_bytes().removeprefix(BOM).strip()
    ):
        raise ImportFileError(str(path), f"file is empty; expected {what}")


def load_json(path: Path) -> Any:
    """A small file (one ticket's comments) read whole with json, a UTF-8 byte-order mark
    allowed; bad JSON raises `ImportFileError` with the line and column."""
    raw = path.read_bytes()
    try:
        return json.loads(raw.removeprefix(BOM))
    except (ValueError, RecursionError) as exc:
        error = _decode_error(path, exc, raw)
        if error is None:  # valid JSON that json will not hold: an integer of 5,000 digits
            error = ImportFileError(str(path), f"cannot read the JSON ({_first_line(exc)})")
        raise error from None


def json_file_error(path: Path, exc: Exception) -> ImportFileError:
    """The `ImportFileError` for ijson's error `exc` while streaming `path`: ijson does not
    say where, so a file small enough is re-read with json for the line and column; a bigger
    one is at least checked for bytes that are not UTF-8, whose line can be found."""
    first = _first_line(exc)
    try:
        if path.stat().st_size <= PRECISE_ERRORS_UP_TO:
            raw = path.read_bytes()
            try:
                json.loads(raw.removeprefix(BOM))
            except (ValueError, RecursionError) as precise:
                error = _decode_error(path, precise, raw)
                if error is not None:
                    return error
            if "overflow" in first:  # valid JSON, but a number the streaming parser cannot hold
                return ImportFileError(str(path), f"a number is too large to read ({first})")
        else:
            error = utf8_error(path)
            if error is not None:
                return error
    except OSError:
        pass
    return ImportFileError(str(path), f"invalid or truncated JSON ({first})")


def utf8_error(path: Path) -> ImportFileError | None:
    """`FILE:LINE: not UTF-8 (...)` for the first byte of `path` that is not UTF-8, or None
    if there is none. Read a chunk at a time, so a file of any size keeps memory flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, line_start = 0, 1, 0  # bytes before the chunk, its line, where that began
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            pending = decoder.getstate()[0]  # an unfinished character from the chunk before
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = offset - len(pending) + exc.start  # the bad byte's place in the file
                before = max(0, at - offset)
                newlines = chunk.count(b"\n", 0, before)
                if newlines:
                    line_start = offset + chunk.rindex(b"\n", 0, before) + 1
                byte = exc.object[exc.start]
                return _not_utf8(path, lines + newlines, at - line_start + 1, byte, exc.reason)
            if not chunk:
                return None
            newlines = chunk.count(b"\n")
            if newlines:
                lines += newlines
                line_start = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)


def json_type(event: str | None) -> str:
    """What a value is ('an object', 'a string', ...) from the ijson event that starts it;
    'missing' for None."""
    return "missing" if event is None else _JSON_TYPES.get(event, event)


def json_top_level_values(
    path: Path, keys: Iterable[str], *, within: int | None = None
) -> dict[str, str]:
    """For each of `keys` that the top-level object of `path` has, the ijson event that starts
    its value: 'start_array' for an array, 'start_map', 'string', 'number', 'boolean' or
    'null' for anything else. Streamed, and it stops once every key is found; `within` looks
    at no more than that many parse events (a cheap peek at the head of a big file), so a key
    not in the answer is then one not seen yet, not one that is missing."""
    wanted, found = set(keys), dict[str, str]()
    with closing(json_events(path)) as events:
        for number, (prefix, event, _value) in enumerate(events, start=1):
            # A value's events carry its path as prefix: the first with prefix KEY starts it.
            if prefix in wanted and prefix not in found:
                found[prefix] = event
                if len(found) == len(wanted):
                    break
            if within is not None and number >= within:
                break
    return found


def json_items(path: Path, prefix: str) -> Iterator[Any]:
    """The values at ijson `prefix` ('item' for a top-level array, 'tickets.item' for the
    array under "tickets"), streamed one at a time so a big file keeps memory flat."""
    import ijson

    return _streamed(path, lambda handle: ijson.items(handle, prefix, use_float=True))


def json_events(path: Path) -> Iterator[tuple[str, str, Any]]:
    """ijson's (prefix, event, value) parse events, streamed, to look at a file's shape
    without reading its records; close it (contextlib.closing) when stopping early."""
    import ijson

    return _streamed(path, lambda handle: ijson.parse(handle, use_float=True))


def json_first_event(path: Path) -> str | None:
    """'start_map' or 'start_array' (or a scalar's event; None for no JSON at all): whether
    a file is an object or an array, learnt from its first bytes before any record is read."""
    with closing(json_events(path)) as events:
        first = next(events, None)
    return first[1] if first else None


def _streamed(path: Path, parse: Callable[[IO[bytes]], Iterator[Any]]) -> Iterator[Any]:
    import ijson

    with _open(path) as handle:
        try:
            yield from parse(handle)
        except ijson.JSONError as exc:
            raise json_file_error(path, exc) from None
        except UnicodeDecodeError as exc:
            error = utf8_error(path) or ImportFileError(str(path), f"not UTF-8 ({exc.reason})")
            raise error from None


def _open(path: Path) -> IO[bytes]:
    """The file, past a UTF-8 byte-order mark if it has one (json accepts it, ijson not)."""
    handle = path.open("rb")
    if handle.read(3) != BOM:
        handle.seek(0)
    return handle


def _decode_error(path: Path, exc: Exception, raw: bytes) -> ImportFileError | None:
    """What json's error about `path` (whose bytes are `raw`, a byte-order mark included)
    says, as an `ImportFileError`; None if it is no JSON syntax or encoding error."""
    if isinstance(exc, json.JSONDecodeError):
        return ImportFileError(
            Origin(str(path), exc.lineno),
            f"invalid or truncated JSON at column {exc.colno}: {exc.msg}",
        )
    if isinstance(exc, UnicodeDecodeError):  # its offset is in the bytes after the mark
        at = exc.start + (len(BOM) if raw.startswith(BOM) else 0)
        line_start = raw.rfind(b"\n", 0, at) + 1
        line = raw.count(b"\n", 0, at) + 1
        return _not_utf8(path, line, at - line_start + 1, raw[at], exc.reason)
    if isinstance(exc, RecursionError):
        return ImportFileError(str(path), "invalid JSON: nested too deeply")
    return None


def _not_utf8(path: Path, line: int, column: int, byte: int, reason: str) -> ImportFileError:
    """`FILE:LINE: not UTF-8 (byte 0xE8 at column 24: invalid continuation byte)`, the column
    counted in bytes, as the csv importer says it."""
    return ImportFileError(
        Origin(str(path), line),
        f"not UTF-8 (byte 0x{byte:02X} at column {column}: {reason}); save the file as UTF-8",
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
