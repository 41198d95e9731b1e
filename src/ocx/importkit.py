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

import codecs
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from ocx.plugin_api import ImportFileError, Origin

BOM = b"\xef\xbb\xbf"
# ijson's errors carry no line: files up to this size are re-read with json for line:column.
PRECISE_ERRORS_UP_TO = 256 * 1024 * 1024
_BLANK_CHECKED_UP_TO = 4096  # a longer file of only white space fails as truncated JSON
_CHUNK = 1024 * 1024  # a file too big to read whole is checked for UTF-8 this much at a time
# Arrays and objects one inside another, the outermost counted as 1: no export comes near it.
MAX_DEPTH = 64
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
    count = _COUNTING.get()
    if count is not None:
        count.file(path, len(raw))
    deep = _too_deep(path, raw)
    if deep is not None:
        raise deep
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


def json_items(path: Path, prefix: str) -> JsonItems:
    """The values at ijson `prefix` ('item' for a top-level array, 'tickets.item' for the
    array under "tickets"), streamed one at a time so a big file keeps memory flat; its
    `line()` says where the value last handed out starts, for an error about it."""
    count = _COUNTING.get()
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
        self._reader: _Checked | None = None
        self._ended = (0, 0)  # the chunks where the one but last and the last value ended
        # The first value that ended in each chunk, and whether ijson told it there at once:
        # a number (or true, false, null) is told only at the byte after it, which may be in
        # the next chunk, with none of its own.
        self._first: dict[int, tuple[int, bool]] = {}
        self._lines = _Lines(path)
        self._values = _streamed(path, self._parse)

    def _parse(self, reader: _Checked) -> Iterator[Any]:
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
                at = _value_nearby(self.path, state, self.prefix.count(".") + 1, number, first)
        if at is None:
            at = _nth_value(self.path, self.prefix, number)
        return None if at is None else self._lines.at(at)


def json_item_line(path: Path, prefix: str, number: int) -> int | None:
    """The line where the `number`-th value at ijson `prefix` starts in `path` (a small file
    read with `load_json`); None if there is no such value."""
    at = _nth_value(path, prefix, number)
    return None if at is None else _Lines(path).at(at)


def _chunk_exact() -> bool:
    """Whether ijson hands out each value right after parsing the chunk that ends it, as its
    C backend does; with another, `JsonItems.line` searches from the top of the file."""
    import ijson

    return getattr(ijson, "backend", "") == "yajl2_c"


def _streamed(path: Path, parse: Callable[[_Checked], Iterator[Any]]) -> Iterator[Any]:
    import ijson

    with _open(path) as handle:
        try:
            yield from parse(_Checked(handle, path))
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


# --- how deep a file nests, checked before any parser reads it ------------------------------

TOO_DEEP = (
    f"JSON nested more than {MAX_DEPTH} levels deep (level {MAX_DEPTH + 1} opens on this line); "
    f"ocx reads at most {MAX_DEPTH}: this is not an export it can read"
)
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_FOLD_BRACES = bytes.maketrans(b"{}", b"[]")
_QUOTED_MARKS = re.compile(rb'"[^"]*"')
# the rest of a string, its closing quote included; and a string, a lone quote, a bracket
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]', re.S)


class _Nesting:
    """How deep the JSON read so far nests, kept up a chunk at a time with bytes methods that
    run in C: escapes are dropped, then all but quotes and brackets, then the strings (the
    quotes around them). Only a chunk that may go past MAX_DEPTH is read token by token."""

    def __init__(self) -> None:
        self.depth = 0  # arrays and objects open at `offset`
        self.in_string = False  # whether `offset` is inside a string
        self.offset = 0  # bytes checked so far
        self._carry = b""  # a chunk's closing backslashes: they escape what comes next

    def feed(self, chunk: bytes) -> int | None:
        """Check the next bytes: the offset of the bracket that opens level MAX_DEPTH + 1, or
        None (then `depth` and `in_string` hold at the end of the bytes checked)."""
        if self._carry:
            chunk, self._carry = self._carry + chunk, b""
        if chunk.endswith(b"\\"):
            kept = len(chunk.rstrip(b"\\"))
            chunk, self._carry = chunk[:kept], chunk[kept:]
        text = chunk
        if b"\\" in text:  # without escapes, each quote left opens or closes a string
            text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
        marks = text.translate(_FOLD_BRACES, _NOT_MARKS)  # quotes, [ and ]
        if self.in_string:
            marks = b'"' + marks
        # Two quotes side by side close a string and open the next, or open and close one:
        # either way no bracket changes sides when they go. Left: strings holding brackets.
        while b'""' in marks:
            marks = marks.replace(b'""', b"")
        in_string = False
        if b'"' in marks:
            marks = _QUOTED_MARKS.sub(b"", marks)
            quote = marks.find(b'"')
            if quote >= 0:  # a string goes on into the next chunk
                marks, in_string = marks[:quote], True
        opens = marks.count(b"[")
        if self.depth + opens > MAX_DEPTH and self._deepest(marks) > MAX_DEPTH:
            found = self._locate(chunk)
            if found is not None:
                return self.offset + found
        self.depth += 2 * opens - len(marks)
        self.in_string = in_string
        self.offset += len(chunk)
        return None

    def _deepest(self, marks: bytes) -> int:
        """At most how deep the chunk whose brackets are `marks` goes. Removing each pair []
        peels one layer off every closed group; what is left are brackets closing levels
        opened before the chunk, then ones it leaves open."""
        for layers in range(MAX_DEPTH + 1):
            inner = marks.replace(b"[]", b"")
            if len(inner) == len(marks):
                return self.depth + layers + marks.count(b"[")
            marks = inner
        return self.depth + MAX_DEPTH + 1

    def _locate(self, chunk: bytes) -> int | None:
        """Where in `chunk` level MAX_DEPTH + 1 opens, token by token; None if it does not."""
        depth, start = self.depth, 0
        if self.in_string:
            rest = _STRING_REST.match(chunk)
            if rest is None:
                return None
            start = rest.end()
        for token in _BRACKETS.finditer(chunk, start):
            mark = chunk[token.start()]
            if mark in b"[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return token.start()
            elif mark in b"]}":
                depth -= 1
            elif token.end() - token.start() == 1:  # a string the chunk does not close
                return None
        return None


class _Checked:
    """A binary file whose every chunk has its nesting checked before ijson parses it, so a
    file nested too deep is refused before ijson builds a path for each of its levels."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.start = handle.tell()  # past a byte-order mark
        self.nesting = _Nesting()
        self.reads = 0  # chunks handed to the parser
        # (offset, depth, in string) as each chunk began, kept for JsonItems.line
        self.states: dict[int, tuple[int, int, bool]] | None = None

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        if data:
            self.reads += 1
            nesting = self.nesting
            if self.states is not None:
                self.states[self.reads] = (
                    self.start + nesting.offset,
                    nesting.depth,
                    nesting.in_string,
                )
            at = nesting.feed(data)
            if at is not None:
                line = _Lines(self.path).at(self.start + at)
                raise ImportFileError(Origin(str(self.path), line), TOO_DEEP)
        return data


# --- where a record starts, looked for only when one is bad --------------------------------

# A string, one structural character, a run of anything else (a number, true), a lone quote
# (a string that goes on past the bytes at hand).
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]|[^\s\[\]{},:"]+|"', re.S)
_STRUCTURE = frozenset(b"[]{},:")


def _tokens(path: Path, offset: int, in_string: bool = False) -> Iterator[tuple[int, bytes]]:
    """(offset, token) from `offset` on, read a chunk at a time; `in_string`: the bytes
    there go on a string, which comes first, from a made-up opening quote."""
    with path.open("rb") as handle:
        handle.seek(offset)
        buffer, base = (b'"', offset - 1) if in_string else (b"", offset)
        while True:
            data = handle.read(_CHUNK)
            buffer += data
            done = len(buffer)
            for match in _TOKENS.finditer(buffer):
                token = match.group()
                if data and (
                    token == b'"' or (match.end() == len(buffer) and token[0] not in _STRUCTURE)
                ):
                    done = match.start()  # it may go on in the next chunk
                    break
                if token == b'"':
                    return  # a string the file does not close
                yield base + match.start(), token
            if not data:
                return
            buffer, base = buffer[done:], base + done


def _nth_value(path: Path, prefix: str, number: int) -> int | None:
    """The offset where the `number`-th value at ijson `prefix` starts, by reading `path` from
    the top, token by token, keeping the path ijson would."""
    parts = prefix.split(".")
    depth = len(parts)
    open_: list[list[Any]] = []  # [bracket, key] of each open array and object
    want_value, want_key, seen = True, False, 0
    with path.open("rb") as handle:
        start = len(BOM) if handle.read(3) == BOM else 0
    for at, token in _tokens(path, start):
        mark = token[0]
        if want_key:
            want_key = False
            if mark == 0x22:  # a key: kept only as far down as the prefix reaches
                if len(open_) <= depth:
                    try:
                        open_[-1][1] = json.loads(token)
                    except ValueError:
                        open_[-1][1] = token.decode("utf-8", "replace")
                continue
        if mark == 0x3A:  # :
            want_value = True
        elif mark == 0x2C:  # ,
            if open_ and open_[-1][0] == 0x7B:
                want_key = True
            else:
                want_value = True
        elif mark in b"]}":
            if open_:
                open_.pop()
            want_value = False
        elif want_value:
            if (
                len(open_) == depth
                and ["item" if bracket == 0x5B else key for bracket, key in open_] == parts
            ):
                seen += 1
                if seen == number:
                    return at
            want_value = False
            if mark in b"[{":
                open_.append([mark, None])
                want_value, want_key = mark == 0x5B, mark == 0x7B
    return None


def _value_nearby(
    path: Path, state: tuple[int, int, bool], depth: int, number: int, first: int
) -> int | None:
    """The offset where value `number` of the array at `depth` starts, read from `state`
    (offset, depth, in a string), where the chunk began in which value `first` (the first
    to end in it) and `number - 1` ended. None if the bytes there do not agree."""
    offset, level, in_string = state
    # The next value to start there: `first` itself, if it had not begun yet.
    following = first if level == depth and not in_string else first + 1
    wanted, seen = number - following + 1, 0
    if wanted < 1 or level < depth:
        return None
    tokens = _tokens(path, offset, in_string)
    if in_string:
        next(tokens, None)  # the rest of a string that started before
    for at, token in tokens:
        mark = token[0]
        if mark in b"]}":
            level -= 1
            if level < depth:
                return None
        elif mark not in b",:":
            if level == depth:
                seen += 1
                if seen == wanted:
                    return at
            if mark in b"[{":
                level += 1
    return None


class _Lines:
    """Line numbers of offsets in a file, counted on from the last one asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset, self.line = 0, 1

    def at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            left = offset - self.offset
            while left > 0:
                data = handle.read(min(_CHUNK, left))
                if not data:
                    break
                self.line += data.count(b"\n")
                left -= len(data)
        self.offset = offset
        return self.line


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
        return _too_deep(path, raw) or ImportFileError(str(path), "invalid JSON: nested too deeply")
    return None


def _too_deep(path: Path, raw: bytes) -> ImportFileError | None:
    """The nesting error for `path`, whose bytes are `raw`, if it nests past MAX_DEPTH."""
    body = raw.removeprefix(BOM)
    at = _Nesting().feed(body)
    if at is None:
        return None
    at += len(raw) - len(body)
    return ImportFileError(Origin(str(path), raw.count(b"\n", 0, at) + 1), TOO_DEEP)


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


# --- bytes read, for the progress of an import ----------------------------------------------

_COUNTING: ContextVar[BytesRead | None] = ContextVar("ocx_import_bytes_read", default=None)


@contextmanager
def counting(count: BytesRead) -> Iterator[BytesRead]:
    """Count into `count` what the readers here read while the block runs (ocx.importing
    does this for an import that shows its progress); outside such a block nothing counts,
    and reading costs nothing more."""
    token = _COUNTING.set(count)
    try:
        yield count
    finally:
        _COUNTING.reset(token)


def counted(path: Path, lines: Iterable[bytes]) -> Iterable[bytes]:
    """The lines (or blocks) of `path` as an importer reads them from its start, counted
    towards the bytes read of the import that is showing its progress; `lines` itself when
    none is (the csv importer reads its files through this)."""
    count = _COUNTING.get()
    return lines if count is None else count.lines(path, lines)


class _Span:
    """Where one pass over a file handed out its first and, so far, its last record."""

    __slots__ = ("began", "live", "reached")

    def __init__(self, began: int) -> None:
        self.began = began
        self.reached = began
        self.live = True


class BytesRead:
    """How many bytes of an export an import has read, for its progress display.

    A streamed file counts by the parts its records were handed out from (from the start of
    the chunk that ended the first record of a pass to the end of the one that ended its
    latest), merged over its passes. So a file read twice is not counted twice (a Zendesk page
    with its users sideloaded is read for the users, then for the tickets), a peek at a
    file's head counts once, and bytes only passed over (the tickets, while the users after
    them are looked for) count when their records come, not before. A file read whole counts
    whole each time. `outside` is the size of the files read that lie under none of `roots`
    (a Zendesk tickets.json given alone brings its comments/ in), for the total."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.outside = 0
        self._whole = 0  # bytes of files read whole
        self._roots = [(os.path.abspath(root), root.is_dir()) for root in roots]
        self._spans: dict[str, list[_Span]] = {}  # per streamed file, every pass over it
        self._settled: dict[str, int] = {}  # bytes of a file none of whose passes is live
        self._settled_bytes = 0

    def read(self) -> int:
        """Bytes read so far: summed when asked (a display asks a few times a second)."""
        total = self._whole + self._settled_bytes
        for key, spans in self._spans.items():
            if key not in self._settled:
                total += _merged(spans)
        return total

    def file(self, path: Path, size: int) -> None:
        """A file read whole."""
        self._whole += size
        if self._outside(path):
            self.outside += size

    def lines(self, path: Path, lines: Iterable[bytes]) -> Iterator[bytes]:
        """`lines` of `path`, each counted as it is handed out."""
        span = self._start(path, 0)
        try:
            for line in lines:
                span.reached += len(line)
                yield line
        finally:
            self._end(path, span)

    def _start(self, path: Path, began: int) -> _Span:
        key = str(path)
        spans = self._spans.get(key)
        if spans is None:
            spans = self._spans[key] = []
            if self._outside(path):
                with suppress(OSError):
                    self.outside += path.stat().st_size
        if key in self._settled:  # read again: its bytes are summed live until this pass ends
            self._settled_bytes -= self._settled.pop(key)
        span = _Span(began)
        spans.append(span)
        return span

    def _end(self, path: Path, span: _Span) -> None:
        span.live = False
        key = str(path)
        spans = self._spans.get(key, [])
        if key not in self._settled and not any(s.live for s in spans):
            self._settled[key] = _merged(spans)
            self._settled_bytes += self._settled[key]

    def _outside(self, path: Path) -> bool:
        if not self._roots:
            return False
        where = os.path.abspath(path)
        return not any(
            where == root or (folder and where.startswith(root + os.sep))
            for root, folder in self._roots
        )


def _merged(spans: list[_Span]) -> int:
    """Bytes covered by `spans`, overlaps counted once."""
    covered, end = 0, -1
    for span in sorted(spans, key=lambda s: s.began):
        if span.reached > end:
            covered += span.reached - max(span.began, end)
            end = span.reached
    return covered


class _CountedItems(JsonItems):
    """`JsonItems` that tell an import's `BytesRead` where their records come from."""

    def __init__(self, path: Path, prefix: str, count: BytesRead) -> None:
        super().__init__(path, prefix)
        self._count = count
        self._span: _Span | None = None

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
