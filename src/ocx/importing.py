"""Import engine: stream an importer's records into customers, conversations and messages.

An import commits in batches of about a second's work each, so the short commands that write
(`ocx customer note`, `ocx promise add`, `ocx due --notify`) get the write lock between them
instead of waiting out a long import. A batch ends only at a ticket boundary (just before a
customer or a conversation is taken in), so a conversation and all its messages are always
committed together; each batch brings the search rows of the customers it touched up to date
before it commits (appending what it added, rebuilding what it changed). A killed
import leaves each ticket whole or absent, and running it again completes it (records match
by (source, external_id)). `atomic=True` (`ocx import --atomic`) and a dry run keep one
transaction for the whole import. Records are written in chunks, so memory stays flat however
big the export. Matching is by (source, external_id) first, then by normalised email across
sources.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ocx import importkit
from ocx.errors import OcxError
from ocx.importmerge import (  # noqa: F401 (re-exported: callers name them importing.*)
    BATCH,
    KINDS,
    ImportSummary,
    Job,
    said,
)
from ocx.plugin_types import ConversationRecord, CustomerRecord, Importer
from ocx.store import Store

# A transaction is committed at the first ticket boundary after it has run this long; then the
# import lets go of the write lock for PAUSE seconds, long enough for a command that waits for
# it (polling every 5 ms, see ocx.store) to get in. OCX_IMPORT_BATCH_SECONDS overrides the
# batch time, for tests and benchmarks only (tests/test_import_batches.py,
# bench/bench_import_contention.py); it is not a user setting.
BATCH_SECONDS = 1.0
PAUSE = 0.05


class _DryRun(Exception):
    """Raised inside the transaction so a dry run rolls everything back."""


def check_paths(importer: Importer, paths: Sequence[Path]) -> None:
    """Every PATH must exist and be something this importer reads."""
    for path in paths:
        if not path.exists():
            raise OcxError(f"{path}: no such file or folder")
        if not importer.detect(path):
            kind = "folder" if path.is_dir() else "file"
            raise OcxError(
                f"{path}: nothing the {importer.name} importer can read in this {kind}; "
                f"see 'ocx import --list' and docs/importing.md"
            )


def _kept_text(kept: dict[str, int]) -> str:
    """What the committed batches of a failed import hold, for its error line."""
    parts = [f"{kept['conversations']:,} tickets"]
    if kept["customers"]:
        parts.insert(0, f"{kept['customers']:,} customers")
    return (
        f"the {' and '.join(parts)} imported before it are kept: "
        "fix it and run the import again to continue"
    )


def env_seconds(name: str, default: float) -> float:
    """Seconds from environment variable NAME, a knob for tests; DEFAULT when it is unset, not
    a number or negative."""
    text = os.environ.get(name, "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if value >= 0 else default


def batch_seconds() -> float:
    """How long one of an import's transactions runs before it commits (see BATCH_SECONDS)."""
    return env_seconds("OCX_IMPORT_BATCH_SECONDS", BATCH_SECONDS)


def _boundary(record: Any) -> bool:
    """A batch may end just before this record: a customer, or a ticket (its messages follow
    it, so they always land in the same transaction as their conversation)."""
    return isinstance(record, CustomerRecord | ConversationRecord)


def run(
    store: Store,
    importer: Importer,
    paths: Sequence[Path],
    *,
    author: str | None,
    dry_run: bool = False,
    skip_bad: bool = False,
    atomic: bool = False,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import every PATH with one importer, committing in batches of about a second's work
    that end at ticket boundaries; one transaction when `atomic` or for a dry run (rolled
    back). An error rolls back the batch it happened in; earlier batches stay committed and
    the error says how many tickets they hold."""
    check_paths(importer, paths)
    started = time.perf_counter()
    job = Job(store, importer.name, skip_bad, author, strict)
    one_transaction = atomic or dry_run
    limit = batch_seconds()
    records = _all_records(importer, paths)
    held: Any = None  # the record that ended the last batch: the first of the next one
    done = False
    kept: dict[str, int] = {}  # what the batches committed so far took in, by kind
    try:
        while not done:
            if held is None:  # the first batch: an importer may read far before its first
                held = next(records, None)  # record (users after a page's tickets), unlocked
            with store.write():
                began = time.monotonic()
                job.begin_batch()
                first = job.seen  # a batch takes in at least one record, however short
                if held is not None:
                    job.feed(held)
                    held = None
                for record in records:
                    if (
                        not one_transaction
                        and _boundary(record)
                        and job.seen > first
                        and time.monotonic() - began >= limit
                    ):
                        held = record
                        break
                    job.feed(record)
                    if job.seen % 1000 == 0:
                        if one_transaction:  # one long batch: plan its later lookups on
                            job.refresh_statistics()  # what it has written so far
                        if progress is not None:
                            progress(job.seen)
                else:
                    done = True
                job.flush()
                job.refresh_statistics()  # before the reindex, which reads the whole batch
                job.reindex()
                if dry_run:
                    raise _DryRun
            kept = job.summary.taken()
            if not done:
                time.sleep(PAUSE)  # the lock is free: a waiting command gets in now
    except _DryRun:
        job.summary.dry_run = True
    except OcxError as exc:
        if any(kept.values()):
            raise OcxError(f"{exc}; {_kept_text(kept)}") from exc
        raise
    if progress is not None:
        progress(job.seen)
    job.warn_left_out()
    job.summary.seconds = round(time.perf_counter() - started, 3)
    return job.summary


def _all_records(importer: Importer, paths: Sequence[Path]) -> Iterable[Any]:
    """Every PATH's records: through `read_all` in one go when the importer has it (people
    files first, whatever the order given), else `read` PATH by PATH."""
    read_all = importer.read_all
    if read_all is not None:
        where = str(paths[0]) if len(paths) == 1 else ", ".join(map(str, paths))
        yield from _records(importer, where, lambda: read_all(paths))
        return
    for path in paths:
        yield from _records(importer, str(path), lambda path=path: importer.read(path))


def _records(importer: Importer, where: str, read: Callable[[], Iterable[Any]]) -> Iterable[Any]:
    """The importer's records; a crash inside a plugin becomes an error naming the file."""
    try:
        yield from read()
    except OcxError:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise OcxError(f"{where}: {exc}") from exc
    except Exception as exc:
        raise OcxError(
            f"{where}: the {importer.name} importer failed: {type(exc).__name__}: {exc}"
        ) from exc


# --- how much of the export has been read, for a progress display ---------------------------


class ExportRead:
    """Bytes of an export an import has read so far, and in all, for a display of its progress
    (`ocx import` on a terminal). The readers count (see `ocx.importkit.BytesRead`), so no
    importer needs to know; see `reading`."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = paths
        self.count = importkit.BytesRead(paths)
        self._size: int | None = None

    def read(self) -> int:
        """Bytes read so far, never more than `total` (a file read whole twice counts twice)."""
        return min(self.count.read(), self.total())

    def total(self) -> int:
        """The size of every regular file under each PATH (a file PATH: that file), measured
        when first asked, so an import that shows nothing walks no folder; plus every file read
        that lies under none of them (a tickets.json given alone brings in its comments/)."""
        if self._size is None:
            self._size = _size_under(self.paths)
        return self._size + self.count.outside


@contextmanager
def reading(paths: Sequence[Path]) -> Iterator[ExportRead]:
    """Count the bytes an import of PATHs reads while the block runs (wrap `run` in it)."""
    export = ExportRead(paths)
    with importkit.counting(export.count):
        yield export


def _size_under(paths: Sequence[Path]) -> int:
    """Bytes of the regular files under PATHs, a file under two of them counted once."""
    roots = sorted({os.path.realpath(path) for path in paths})
    total = 0
    for n, root in enumerate(roots):
        if any(root.startswith(other + os.sep) for other in roots[:n]):
            continue  # inside a folder already counted
        for folder, _, names in os.walk(root) if os.path.isdir(root) else [("", [], [root])]:
            for name in names:
                with suppress(OSError):
                    info = os.stat(os.path.join(folder, name))
                    if stat.S_ISREG(info.st_mode):
                        total += info.st_size
    return total
