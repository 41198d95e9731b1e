"""Bytes an import has read, for its progress display: readers count into the `BytesRead`
that `counting` sets for the block, and nothing counts (or costs) outside one."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

COUNTING: ContextVar[BytesRead | None] = ContextVar("ocx_import_bytes_read", default=None)


@contextmanager
def counting(count: BytesRead) -> Iterator[BytesRead]:
    """Count into `count` what the readers here read while the block runs (ocx.importing
    does this for an import that shows its progress); outside such a block nothing counts,
    and reading costs nothing more."""
    token = COUNTING.set(count)
    try:
        yield count
    finally:
        COUNTING.reset(token)


def counted(path: Path, lines: Iterable[bytes]) -> Iterable[bytes]:
    """The lines (or blocks) of `path` as an importer reads them from its start, counted
    towards the bytes read of the import that is showing its progress; `lines` itself when
    none is (the csv importer reads its files through this)."""
    count = COUNTING.get()
    return lines if count is None else count.lines(path, lines)


class Span:
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
        self._spans: dict[str, list[Span]] = {}  # per streamed file, every pass over it
        self._settled: dict[str, int] = {}  # bytes of a file none of whose passes is live
        self._settled_bytes = 0

    def read(self) -> int:
        """Bytes read so far: summed when asked (a display asks a few times a second)."""
        total = self._whole + self._settled_bytes
        for key, spans in self._spans.items():
            if key not in self._settled:
                total += merged(spans)
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

    def _start(self, path: Path, began: int) -> Span:
        key = str(path)
        spans = self._spans.get(key)
        if spans is None:
            spans = self._spans[key] = []
            if self._outside(path):
                with suppress(OSError):
                    self.outside += path.stat().st_size
        if key in self._settled:  # read again: its bytes are summed live until this pass ends
            self._settled_bytes -= self._settled.pop(key)
        span = Span(began)
        spans.append(span)
        return span

    def _end(self, path: Path, span: Span) -> None:
        span.live = False
        key = str(path)
        spans = self._spans.get(key, [])
        if key not in self._settled and not any(s.live for s in spans):
            self._settled[key] = merged(spans)
            self._settled_bytes += self._settled[key]

    def _outside(self, path: Path) -> bool:
        if not self._roots:
            return False
        where = os.path.abspath(path)
        return not any(
            where == root or (folder and where.startswith(root + os.sep))
            for root, folder in self._roots
        )


def merged(spans: list[Span]) -> int:
    """Bytes covered by `spans`, overlaps counted once."""
    covered, end = 0, -1
    for span in sorted(spans, key=lambda s: s.began):
        if span.reached > end:
            covered += span.reached - max(span.began, end)
            end = span.reached
    return covered
