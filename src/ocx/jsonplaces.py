"""Where a record starts in a JSON file, looked for only when one is bad: the file is read
again token by token, from the top or from a chunk whose state (depth, in a string) was noted
while streaming, so an error can say `tickets.json:1234`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ocx.jsoncheck import BOM, CHUNK

# A string, one structural character, a run of anything else (a number, true), a lone quote
# (a string that goes on past the bytes at hand).
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]|[^\s\[\]{},:"]+|"', re.S)
_STRUCTURE = frozenset(b"[]{},:")


def tokens(path: Path, offset: int, in_string: bool = False) -> Iterator[tuple[int, bytes]]:
    """(offset, token) from `offset` on, read a chunk at a time; `in_string`: the bytes
    there go on a string, which comes first, from a made-up opening quote."""
    with path.open("rb") as handle:
        handle.seek(offset)
        buffer, base = (b'"', offset - 1) if in_string else (b"", offset)
        while True:
            data = handle.read(CHUNK)
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


def nth_value(path: Path, prefix: str, number: int) -> int | None:
    """The offset where the `number`-th value at ijson `prefix` starts, by reading `path` from
    the top, token by token, keeping the path ijson would."""
    parts = prefix.split(".")
    depth = len(parts)
    open_: list[list[Any]] = []  # [bracket, key] of each open array and object
    want_value, want_key, seen = True, False, 0
    with path.open("rb") as handle:
        start = len(BOM) if handle.read(3) == BOM else 0
    for at, token in tokens(path, start):
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


def value_nearby(
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
    found = tokens(path, offset, in_string)
    if in_string:
        next(found, None)  # the rest of a string that started before
    for at, token in found:
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
