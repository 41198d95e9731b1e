"""Text measured and wrapped as rich lays it out, without importing rich: the customer card's
plain text (ocx.render) and the long tables' fast layout (ocx.render_tables) both need it."""

from __future__ import annotations

import re

_WORD = re.compile(r"\s*\S+\s*")  # a word and the spaces around it, as rich._wrap reads them


def measure(text: str) -> tuple[int, int] | None:
    """Rich's (minimum, maximum) width of a Text of printable characters one cell wide each
    (ASCII, Latin accents): its longest word and its length. None for anything else (wide
    or combining characters, tabs, control codes)."""
    if not (text.isprintable() and (text.isascii() or max(text) <= "\u02ff")):
        return None
    words = text.split()
    return (max(map(len, words)) if words else len(text)), len(text)


def breaks(text: str, width: int) -> list[int] | None:
    """Where rich breaks a line of text `measure` reads (one cell a character) to fit the
    width (rich._wrap.divide_line when no word is too long); None when a word (with the
    spaces before it, for the first) is longer than the width, and must be folded."""
    offsets, offset = [], 0
    if text[:1] != " " and text[-1:] != " " and "  " not in text:  # words one space apart
        start = 0
        for word in text.split(" "):
            size = len(word)
            if size > width:
                return None
            if size <= width - offset:
                offset += size + 1
            elif offset and start:
                offsets.append(start)
                offset = size + 1
            start += size + 1
        return offsets
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        size = len(word.rstrip())
        if size > width:
            return None
        if size <= width - offset:
            offset += len(word)
        elif offset and start:
            offsets.append(start)
            offset = len(word)
    return offsets


def wrapped(text: str, offsets: list[int], width: int) -> list[str]:
    """The text cut at the offsets, each line cropped to the width as rich crops it (the
    spaces past the width go first), not padded."""
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(text)], strict=True):
        line = text[start:end]
        if len(line) > width:  # Text.rstrip_end, then Text.truncate
            line = line[: len(line) - min(len(line) - len(line.rstrip()), len(line) - width)]
        lines.append(line[:width])
    return lines
