"""Refusing a JSON file that no export is: nested too deep (checked a chunk at a time,
before any parser sees the bytes) or not UTF-8, told as `FILE:LINE: reason`.

ijson keeps the path of every open level, so 100,000 `[` would cost it gigabytes, and json
would hit the recursion limit: both only ever see bytes that passed `Checked`.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import IO

from ocx.plugin_types import ImportFileError, Origin

BOM = b"\xef\xbb\xbf"
CHUNK = 1024 * 1024  # a file too big to read whole is checked for UTF-8 this much at a time
# Arrays and objects one inside another, the outermost counted as 1: no export comes near it.
MAX_DEPTH = 64

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


class Nesting:
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


class Checked:
    """A binary file whose every chunk has its nesting checked before ijson parses it, so a
    file nested too deep is refused before ijson builds a path for each of its levels."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self.handle = handle
        self.path = path
        self.start = handle.tell()  # past a byte-order mark
        self.nesting = Nesting()
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
                line = Lines(self.path).at(self.start + at)
                raise ImportFileError(Origin(str(self.path), line), TOO_DEEP)
        return data


class Lines:
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
                data = handle.read(min(CHUNK, left))
                if not data:
                    break
                self.line += data.count(b"\n")
                left -= len(data)
        self.offset = offset
        return self.line


def utf8_error(path: Path) -> ImportFileError | None:
    """`FILE:LINE: not UTF-8 (...)` for the first byte of `path` that is not UTF-8, or None
    if there is none. Read a chunk at a time, so a file of any size keeps memory flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines, line_start = 0, 1, 0  # bytes before the chunk, its line, where that began
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
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
                return not_utf8(path, lines + newlines, at - line_start + 1, byte, exc.reason)
            if not chunk:
                return None
            newlines = chunk.count(b"\n")
            if newlines:
                lines += newlines
                line_start = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)


def decode_error(path: Path, exc: Exception, raw: bytes) -> ImportFileError | None:
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
        return not_utf8(path, line, at - line_start + 1, raw[at], exc.reason)
    if isinstance(exc, RecursionError):
        return too_deep(path, raw) or ImportFileError(str(path), "invalid JSON: nested too deeply")
    return None


def too_deep(path: Path, raw: bytes) -> ImportFileError | None:
    """The nesting error for `path`, whose bytes are `raw`, if it nests past MAX_DEPTH."""
    body = raw.removeprefix(BOM)
    at = Nesting().feed(body)
    if at is None:
        return None
    at += len(raw) - len(body)
    return ImportFileError(Origin(str(path), raw.count(b"\n", 0, at) + 1), TOO_DEEP)


def not_utf8(path: Path, line: int, column: int, byte: int, reason: str) -> ImportFileError:
    """`FILE:LINE: not UTF-8 (byte 0xE8 at column 24: invalid continuation byte)`, the column
    counted in bytes, as the csv importer says it."""
    return ImportFileError(
        Origin(str(path), line),
        f"not UTF-8 (byte 0x{byte:02X} at column {column}: {reason}); save the file as UTF-8",
    )


def first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
