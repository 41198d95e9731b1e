"""An import reads its export in a thread of its own, ahead of the database
(ocx.importing._read_ahead): the records arrive whole and in order, what the reader raises
is raised where it happened, and an import that stops early stops the reader too."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ocx import importing
from ocx.errors import OcxError


def test_every_record_arrives_in_order() -> None:
    count = importing.READ_CHUNK * 7 + 3  # whole chunks and a last short one
    assert list(importing._read_ahead(iter(range(count)))) == list(range(count))
    assert list(importing._read_ahead(iter([]))) == []


def test_an_error_is_raised_after_the_records_read_before_it() -> None:
    def records() -> Iterator[int]:
        yield from range(450)
        raise OcxError("tickets.json: line 9: not JSON")

    got: list[int] = []
    with pytest.raises(OcxError, match="line 9"):
        for record in importing._read_ahead(records()):
            got.append(record)
    assert got == list(range(450))


def test_an_import_that_stops_early_stops_its_reader() -> None:
    read = 0
    reader_done = threading.Event()

    def records() -> Iterator[int]:
        nonlocal read
        try:
            while True:
                read += 1
                yield read
        finally:
            reader_done.set()

    ahead = importing._read_ahead(records())
    assert next(ahead) == 1
    ahead.close()  # the import failed or was done with the export
    assert reader_done.wait(5), "the reader kept reading"
    # never more than the chunks it may hold ahead, and the one it was filling
    assert read <= importing.READ_CHUNK * (importing.READ_AHEAD + 2)


def test_the_reader_reads_ahead_while_the_import_writes() -> None:
    """Records are read while the importing thread is busy elsewhere (writing a batch), not
    only when it asks for the next one."""
    ahead_by = importing.READ_CHUNK * 3
    far_enough = threading.Event()

    def records() -> Iterator[int]:
        for n in range(ahead_by * 2):
            if n == ahead_by:
                far_enough.set()
            yield n

    ahead = importing._read_ahead(records())
    assert next(ahead) == 0
    assert far_enough.wait(5), "nothing was read while the import was busy"
    assert list(ahead) == list(range(1, ahead_by * 2))
