"""The store: the only place that opens the database and speaks SQL."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ocx.errors import NoDatabase, OcxError

BUSY_TIMEOUT_MS = 5000


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

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0

    @contextmanager
    def write(self) -> Iterator[Store]:
        """One write transaction; nested calls join the outer one, so a command is atomic.

        BEGIN IMMEDIATE takes the write lock up front: a second ocx waits (busy timeout)
        instead of failing half-way when both try to write.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
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
            uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )  # fmt: skip
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot open database {path}: {exc}") from None
    return conn


def open_store(path: Path) -> Store:
    """Open an existing database, applying any pending migrations."""
    from ocx.store import migrations

    if not path.is_file():
        raise NoDatabase(f"no ocx database at {path}; run 'ocx init' or pass --db")
    store = Store(_connect(path, create=False), path)
    migrations.apply(store)
    return store


def create_store(path: Path) -> Store:
    """Create the database (and its folder) if needed; harmless when it already exists."""
    from ocx.store import migrations

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OcxError(f"cannot create folder {path.parent}: {exc.strerror}") from None
    store = Store(_connect(path, create=True), path)
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
