"""Helpers for importer plugins: streaming JSON with clear errors, id and text cleaning.

Helpdesk exports are JSON files that can hold a million records, so big files are streamed
with ijson (flat memory, a fast C parser); small per-record files are read whole with json.
Either way a broken file raises `ImportFileError` naming the file, and where it can, the
line and column. The built-in `zendesk` importer and the contrib `ocx-freshdesk` and
`ocx-helpscout` importers all read their files through this module.

Every byte read here first goes through a nesting check: JSON nested more than `MAX_DEPTH`
levels is refused before a parser sees it. ijson keeps the path of every open level (its
"prefix"), so 100,000 `[` would cost it gigabytes, and json would hit the recursion limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import IO, Any

# The streaming checks, the line finder and the progress counter live in their own modules;
# their public names stay importable from here, where the core and importers look for them.
from ocx.importcount import COUNTING, BytesRead, Span, counted, counting
from ocx.jsoncheck import (
    BOM,
    MAX_DEPTH,
    TOO_DEEP,
    Checked,
    Lines,
    decode_error,
    first_line,
    too_deep,
    utf8_error,
)
from ocx.jsonplaces import nth_value, value_nearby
from ocx.plugin_types import ImportFileError, Origin

__all__ = [
    "BOM", "MAX_DEPTH", "PRECISE_ERRORS_UP_TO", "TOO_DEEP", "BytesRead", "JsonItems",
    "check_not_empty", "clean_text", "counted", "counting", "json_events", "json_file_error",
    "json_first_event", "json_item_line", "json_items", "json_top_level_values", "json_type",
    "load_json", "not_text", "record_id", "utf8_error", "value_type", "with_ids",
]  # fmt: skip

# ijson's errors carry no line: files up to this size are re-read with json for line:column.
PRECISE_ERRORS_UP_TO = 256 * 1024 * 1024
_BLANK_CHECKED_UP_TO = 4096  # a longer file of only white space fails as truncated JSON
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
    if isinstance(value, int | str):
        text = str(value).replace("\x00", "").strip()
        return text or None
    return None


def clean_text(value: Any) -> str | None:
    """Trimmed text without NUL characters, or None for anything else (a missing key, null,
    a number, ''); see `not_text` for telling a number where text belongs from a missing key.

    json keeps a lone surrogate escape ("\\ud800") as is and SQLite cannot store it, so it
    becomes '?' here, as ijson makes it in streamed files: a record reads the same from a
    streamed page and from a small file read whole."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:  # JSON allows "\u0000"; no person typed it, and it ends C strings
        value = value.replace("\x00", "")
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


def value_type(value: Any) -> str:
    """What a parsed JSON value is, in `json_type`'s words: 'a number', 'an object', ..."""
    if value is None:
        return json_type("null")
    if isinstance(value, bool):
        return json_type("boolean")
    if isinstance(value, str):
        return json_type("string")
    if isinstance(value, dict):
        return json_type("start_map")
    if isinstance(value, list):
        return json_type("start_array")
    return json_type("number")


def not_text(record: dict[str, Any], *fields: str) -> str | None:
    """'subject is a number, expected text' for the first of `fields` that `record` has as
    anything but text or null (a dotted name looks inside an object: 'requester.email');
    None when each is text, null or missing. A number where text belongs is a broken record:
    read as empty, it would be stored as if the helpdesk had nothing there."""
    for name in fields:
        value: Any = record
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, str):
            return f"{name} is {value_type(value)}, expected text"
    return None


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
    allowed; bad JSON raises `ImportFileError` with the line and column, and so does JSON
    nested more than MAX_DEPTH levels (checked first: json would recurse on it)."""
    raw = path.read_bytes()
    count = COUNTING.get()
    if count is not None:
        count.file(path, len(raw))
    deep = too_deep(path, raw)
    if deep is not None:
        raise deep
    try:
        return json.loads(raw.removeprefix(BOM))
    except (ValueError, RecursionError) as exc:
        error = decode_error(path, exc, raw)
        if error is None:  # valid JSON that json will not hold: an integer of 5,000 digits
            error = ImportFileError(str(path), f"cannot read the JSON ({first_line(exc)})")
        raise error from None


def json_file_error(path: Path, exc: Exception) -> ImportFileError:
    """The `ImportFileError` for ijson's error `exc` while streaming `path`: ijson does not
    say where, so a file small enough is re-read with json for the line and column; a bigger
    one is at least checked for bytes that are not UTF-8, whose line can be found."""
    first = first_line(exc)
    try:
        if path.stat().st_size <= PRECISE_ERRORS_UP_TO:
            raw = path.read_bytes()
            try:
                json.loads(raw.removeprefix(BOM))
            except (ValueError, RecursionError) as precise:
                error = decode_error(path, precise, raw)
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


def json_items(path: Path, prefix: str) -> JsonItems:
    """The values at ijson `prefix` ('item' for a top-level array, 'tickets.item' for the
    array under "tickets"), streamed one at a time so a big file keeps memory flat; its
    `line()` says where the value last handed out starts, for an error about it."""
    count = COUNTING.get()
    return JsonItems(path, prefix) if count is None else _CountedItems(path, prefix, count)


def json_events(path: Path) -> Iterator[tuple[str, str, Any]]:
    """ijson's (prefix, event, value) parse events, streamed, to look at a file's shape
    without reading its records; close it (contextlib.closing) when stopping early."""
    import ijson

    return _streamed(path, lambda reader: ijson.parse(reader, use_float=True))


def json_first_event(path: Path) -> str | None:
    """'start_map' or 'start_array' (or a scalar's event; None for no JSON at all): whether
    a file is an object or an array, learnt from its first bytes before any record is read."""
    with closing(json_events(path)) as events:
        first = next(events, None)
    return first[1] if first else None


class JsonItems(Iterator[Any]):
    """The values at an ijson prefix, streamed (see `json_items`), and where each starts.

    Only a record found bad needs its line, so none is counted while reading: `line()` looks
    for it then. ijson's C parser hands out a value right after parsing the chunk that ends
    it, so the value before it ended in a known chunk, where the file's state (depth, inside
    a string or not) was noted: the search starts there, not at the top of the file."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.path = path
        self.prefix = prefix
        self.count = 0  # values handed out so far
        self._reader: Checked | None = None
        self._ended = (0, 0)  # the chunks where the one but last and the last value ended
        # The first value that ended in each chunk, and whether ijson told it there at once:
        # a number (or true, false, null) is told only at the byte after it, which may be in
        # the next chunk, with none of its own.
        self._first: dict[int, tuple[int, bool]] = {}
        self._lines = Lines(path)
        self._values = _streamed(path, self._parse)

    def _parse(self, reader: Checked) -> Iterator[Any]:
        import ijson

        self._reader = reader
        reader.states = {}
        return ijson.items(reader, self.prefix, use_float=True)

    def __iter__(self) -> JsonItems:
        return self

    def __next__(self) -> Any:
        value = next(self._values)
        self.count += 1
        reader = self._reader
        chunk = reader.reads if reader is not None else 0
        self._first.setdefault(chunk, (self.count, isinstance(value, dict | list | str)))
        before = self._ended[1]
        self._ended = (before, chunk)
        if reader is not None and reader.states and min(reader.states) < before:
            reader.states = {k: v for k, v in reader.states.items() if k >= before}
            self._first = {k: v for k, v in self._first.items() if k >= before}
        return value

    def close(self) -> None:
        self._values.close()

    def line(self) -> int | None:
        """The line where the value last handed out starts; None if it cannot be found (the
        file changed while it was read)."""
        number, at = self.count, None
        chunk, reader = self._ended[0], self._reader
        if number > 1 and reader is not None and reader.states is not None and _chunk_exact():
            (first, at_once), state = self._first.get(chunk, (0, False)), reader.states.get(chunk)
            if first > 1 and at_once and state is not None:  # the array was open by then
                at = value_nearby(self.path, state, self.prefix.count(".") + 1, number, first)
        if at is None:
            at = nth_value(self.path, self.prefix, number)
        return None if at is None else self._lines.at(at)


def json_item_line(path: Path, prefix: str, number: int) -> int | None:
    """The line where the `number`-th value at ijson `prefix` starts in `path` (a small file
    read with `load_json`); None if there is no such value."""
    at = nth_value(path, prefix, number)
    return None if at is None else Lines(path).at(at)


def _chunk_exact() -> bool:
    """Whether ijson hands out each value right after parsing the chunk that ends it, as its
    C backend does; with another, `JsonItems.line` searches from the top of the file."""
    import ijson

    return getattr(ijson, "backend", "") == "yajl2_c"


def _streamed(path: Path, parse: Callable[[Checked], Iterator[Any]]) -> Iterator[Any]:
    import ijson

    with _open(path) as handle:
        try:
            yield from parse(Checked(handle, path))
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


class _CountedItems(JsonItems):
    """`JsonItems` that tell an import's `BytesRead` where their records come from."""

    def __init__(self, path: Path, prefix: str, count: BytesRead) -> None:
        super().__init__(path, prefix)
        self._count = count
        self._span: Span | None = None

    def __next__(self) -> Any:
        try:
            value = super().__next__()
        except BaseException:
            self._stop()
            raise
        reader = self._reader
        if reader is not None:
            if self._span is None:  # the chunk this first record ended in began here
                chunk = reader.states.get(reader.reads) if reader.states is not None else None
                self._span = self._count._start(self.path, chunk[0] if chunk else 0)
            self._span.reached = reader.start + reader.nesting.offset
        return value

    def close(self) -> None:
        super().close()
        self._stop()

    def _stop(self) -> None:
        if self._span is not None and self._span.live:
            self._count._end(self.path, self._span)
