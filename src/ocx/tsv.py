"""Tables as plain lines, for a pipe or a file: one line a row, fields tab-separated."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

# Plain rows: a value's tab, newline and carriage return written as \t, \n, \r, and a
# backslash doubled, as `mysql --batch` writes them, so each row stays one line of fields.
_PLAIN_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PLAIN_SPECIAL = re.compile(r"[\\\t\n\r]")


def _plain(cell: Any) -> str:
    if cell is None:
        return ""
    text = cell.snippet if hasattr(cell, "parts") else str(cell)
    return text.translate(_PLAIN_ESCAPES) if _PLAIN_SPECIAL.search(text) else text


def plain_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
               *, header: bool = True) -> None:  # fmt: skip
    """A table as plain lines (stdout not a terminal): `# title` when it has one, the header
    (unless header=False), then one line a row, fields tab-separated, full values, no
    styles; nothing at all when there are no rows."""
    write_lines(sys.stdout, _plain_lines(columns, rows, title, header))


def _plain_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None,
                 header: bool) -> Iterator[str]:  # fmt: skip
    started = False
    for row in rows:
        if not started:
            started = True
            yield from [f"# {title}"] if title else []
            yield from ["\t".join(map(_plain, columns))] if header else []
        yield "\t".join(map(_plain, row))


def write_lines(stream: TextIO, lines: Iterable[str]) -> None:
    """Write the lines a thousand at a time, so that a pipe's reader sees the first rows of
    a long table early, then flush."""
    piece: list[str] = []
    for line in lines:
        piece.append(line)
        if len(piece) >= 1000:
            stream.write("\n".join(piece) + "\n")
            piece = []
    if piece:
        stream.write("\n".join(piece) + "\n")
    stream.flush()
