"""The store: the only place that opens the database and speaks SQL."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ocx import private
from ocx.errors import NoDatabase, OcxError

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a command waits for the write lock (ocx.toml busy_timeout)
# SQLite's own busy handler sleeps up to 100 ms between tries, so a writer that commits and
# begins again at once (an import's batches) could starve a waiting `ocx customer note`.
# Statements wait only this long inside SQLite; BEGIN IMMEDIATE is retried here, every few
# milliseconds, until the command's own busy_timeout.
_STATEMENT_WAIT_MS = 50
_POLL = 0.005


class Busy(OcxError):
    """The write lock stayed taken longer than busy_timeout."""


def is_busy(exc: BaseException) -> bool:
    """A SQLite error that means another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


def insert_row(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """INSERT one row from a dict; `table` and the keys are the store's own names, never
    user input (values always go through parameters)."""
    columns = list(row)
    cursor = conn.execute(
        f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})',
        [row[c] for c in columns],
    )
    return int(cursor.lastrowid or 0)


def update_row(
    conn: sqlite3.Connection, table: str, key: tuple[str, Any], fields: dict[str, Any]
) -> None:
    """UPDATE the columns in `fields` of the row whose `key` column has the given value."""
    if not fields:
        return
    columns = list(fields)
    conn.execute(
        f'UPDATE "{table}" SET {", ".join(f"{c} = ?" for c in columns)} WHERE {key[0]} = ?',
        [*(fields[c] for c in columns), key[1]],
    )


class Store:
    """One open database: pragmas set, migrations applied, transactions counted."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.conn = conn
        self.path = path
        self.busy_timeout = busy_timeout
        self._depth = 0

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _begin(self, *, forever: bool) -> None:
        """BEGIN IMMEDIATE, waiting for the write lock: up to busy_timeout, or as long as it
        takes (`forever`: recording a delivery that already happened must never give up)."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if not forever and time.monotonic() >= deadline:
                    raise Busy(
                        f"the database is busy: another ocx held the write lock for over "
                        f"{self.busy_timeout:g} s; try again, or raise busy_timeout in ocx.toml"
                    ) from None
            time.sleep(_POLL)

    def patiently(self, read: Callable[[], T]) -> T:
        """Run a read again while another connection locks even readers out (a checkpoint
        or WAL recovery, over in a moment), up to busy_timeout; then `Busy`."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return read()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"the database is busy: another ocx kept it locked for over "
                        f"{self.busy_timeout:g} s; try again, or raise busy_timeout in ocx.toml"
                    ) from None
            time.sleep(_POLL)

    @contextmanager
    def write(self, *, forever: bool = False) -> Iterator[Store]:
        """One write transaction; nested calls join the outer one, so a command is atomic.

        BEGIN IMMEDIATE takes the write lock up front: a second ocx waits (busy_timeout)
        instead of failing half-way when both try to write.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._begin(forever=forever)
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A consistent snapshot for commands that read several tables."""
        if self._depth:
            yield self
            return
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    uri = f"file:{path.resolve().as_posix()}?mode={mode}"
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, timeout=_STATEMENT_WAIT_MS / 1000,
            check_same_thread=False,
        )  # fmt: skip
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {_STATEMENT_WAIT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot open database {path}: {exc}") from None
    return conn


def open_store(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
    """Open an existing database, applying any pending migrations."""
    from ocx.store import migrations

    if not path.is_file():
        raise NoDatabase(f"no ocx database at {path}; run 'ocx init' or pass --db")
    store = Store(_connect(path, create=False), path, busy_timeout)
    migrations.apply(store)
    return store


def create_store(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
    """Create the database (and its folder) if needed; harmless when it already exists."""
    from ocx.store import migrations

    try:
        private.make_dirs(path.parent)
    except OSError as exc:
        raise OcxError(f"cannot create folder {path.parent}: {exc.strerror}") from None
    try:  # 0600 before SQLite opens it: its -wal and -shm files take the database's mode
        private.create_file(path)
    except OSError as exc:
        raise OcxError(f"cannot create database {path}: {exc.strerror}") from None
    store = Store(_connect(path, create=True), path, busy_timeout)
    try:
        fresh = store.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if fresh:  # WAL from the start, so concurrent first runs do not block each other's reads
            os.chmod(path, 0o600)  # customers' details: readable by their team's account only
            store.conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        store.close()
        raise OcxError(f"cannot open database {path}: {exc}") from None
    migrations.apply(store, fresh_ok=True)
    # Only once the file is known to be ours: another program's database keeps its mode.
    store.conn.execute("PRAGMA journal_mode = WAL")
    return store
