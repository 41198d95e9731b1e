"""The store: the only place that opens the database and speaks SQL."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ocx.errors import NoDatabase, OcxError

if TYPE_CHECKING:
    from ocx.store.engine import Connection, Engine

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


IN_CHUNK = 500  # values in one IN (...): well under SQLite's bound-parameter limit


class SQLiteEngine:
    """The SQLite engine (ocx.store.engine.Engine): one file, one writer at a time.

    It lives here rather than in a module of its own so that cron's `ocx due` loads no more
    than it did; another engine is a module loaded only when it is configured."""

    name = "sqlite"

    # --- connections and transactions

    def connect(self, path: Path, *, create: bool) -> Connection:
        mode = "rwc" if create else "rw"
        uri = f"file:{path.resolve().as_posix()}?mode={mode}"
        try:
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=_STATEMENT_WAIT_MS / 1000,
                check_same_thread=False, factory=_SQLiteConnection,
            )  # fmt: skip
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {_STATEMENT_WAIT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise OcxError(f"cannot open database {path}: {exc}") from None
        return conn

    def connect_read_only(self, path: Path, wait_s: float) -> Connection:
        conn = sqlite3.connect(
            path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None,
            timeout=wait_s, factory=_SQLiteConnection,
        )  # fmt: skip
        try:
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def begin_write(self, conn: Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def begin_read(self, conn: Connection) -> None:
        conn.execute("BEGIN")

    def commit(self, conn: Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: Connection) -> None:
        conn.execute("ROLLBACK")

    def is_busy(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and (
            "locked" in str(exc) or "busy" in str(exc)
        )

    # --- the catalog

    def has_schema(self, conn: Connection) -> bool:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0

    def prepare_new(self, conn: Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")

    def tables(self, conn: Connection) -> list[str]:
        return [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        )]  # fmt: skip

    def references(self, conn: Connection, table: str) -> list[tuple[str, str]]:
        return [(fk["table"], fk["from"])
                for fk in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (table,))]  # fmt: skip

    # --- statements that differ

    def insert_or_ignore(self, table: str, columns: Sequence[str], *, named: bool = False) -> str:
        values = ", ".join(":" + c for c in columns) if named else ", ".join("?" * len(columns))
        return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({values})"

    def update_or_ignore(
        self, conn: Connection, table: str, column: str, new: Any, old: Any
    ) -> None:
        conn.execute(
            f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE "{column}" = ?', (new, old)
        )

    def insert_rows(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows,
        )

    def in_values(
        self, column: str, values: Sequence[Any], sql_type: str
    ) -> list[tuple[str, list[Any]]]:
        return [
            (f"{column} IN ({', '.join('?' * len(chunk))})", list(chunk))
            for chunk in (values[i : i + IN_CHUNK] for i in range(0, len(values), IN_CHUNK))
        ]

    def text_match(self, index: str) -> str:
        return f"{index} MATCH ?"

    def text_query(self, conn: Connection, query: str) -> str:
        return query

    # --- maintenance

    def analyze(self, conn: Connection, tables: Sequence[str]) -> None:
        pass

    def optimize_search(self, conn: Connection, index: str) -> None:
        conn.execute(f"INSERT INTO {index} ({index}) VALUES ('optimize')")

    def vacuum(self, conn: Connection) -> None:
        conn.execute("VACUUM")

    def checkpoint(self, conn: Connection) -> bool:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def secure_delete(self, conn: Connection, on: bool) -> bool:
        was = bool(conn.execute("PRAGMA secure_delete").fetchone()[0])
        conn.execute(f"PRAGMA secure_delete = {1 if on else 0}")
        return was


class _SQLiteConnection(sqlite3.Connection):
    """A sqlite3 connection that knows its engine (see engine_of)."""

    engine: Engine


SQLITE = SQLiteEngine()
_SQLiteConnection.engine = SQLITE


def engine_of(conn: Any) -> Engine:
    """The engine behind a store connection; a bare sqlite3 connection (a test's) is SQLite."""
    return getattr(conn, "engine", SQLITE)  # type: ignore[no-any-return]


def is_busy(exc: BaseException) -> bool:
    """A SQLite error that means another connection holds the lock."""
    return SQLITE.is_busy(exc)


def insert_row(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """INSERT one row from a dict; `table` and the keys are the store's own names, never
    user input (values always go through parameters)."""
    columns = list(row)
    cursor = conn.execute(
        f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})',
        [row[c] for c in columns],
    )
    return int(cursor.lastrowid or 0)


def insert_rows(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[int]:
    """INSERT many rows of the same columns; their new ids, in order. PostgreSQL sends them
    in one pipeline (a round trip per row was most of an import's time there); SQLite runs
    one statement each, which costs no round trip."""
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
    many = getattr(conn, "insert_many", None)
    if many is not None:
        return list(many(sql, rows))
    return [int(conn.execute(sql, row).lastrowid or 0) for row in rows]


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
        self, conn: Connection, path: Path | str, busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        engine: Engine | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine or engine_of(conn)
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
                self.engine.begin_write(self.conn)
                return
            except Exception as exc:
                if not self.engine.is_busy(exc):
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
            except Exception as exc:
                if not self.engine.is_busy(exc):
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
            self.engine.rollback(self.conn)
            raise
        self._depth = 0
        self.engine.commit(self.conn)

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A consistent snapshot for commands that read several tables."""
        if self._depth:
            yield self
            return
        self.engine.begin_read(self.conn)
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            self.engine.commit(self.conn)

    def close(self) -> None:
        self.conn.close()


def _connect(path: Path, create: bool) -> Connection:
    return SQLITE.connect(path, create=create)


def _open_url(url: str, busy_timeout: float) -> Store:
    from ocx.store.pg import POSTGRES, masked

    conn = POSTGRES.connect(url)
    conn.lock_wait_ms = busy_timeout * 1000  # type: ignore[attr-defined]
    return Store(conn, masked(url), busy_timeout, POSTGRES)  # type: ignore[arg-type]


def open_store(path: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
    """Open an existing database (a file, or a postgresql:// URL), applying any pending
    migrations."""
    from ocx.store import migrations

    if isinstance(path, str):
        store = _open_url(path, busy_timeout)
        try:
            migrations.apply(store)
        except BaseException:
            store.close()
            raise
        return store
    if not path.is_file():
        raise NoDatabase(f"no ocx database at {path}; run 'ocx init' or pass --db")
    store = Store(_connect(path, create=False), path, busy_timeout, SQLITE)
    migrations.apply(store)
    return store


def create_store(path: Path | str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
    """Create the database (and its folder) if needed; harmless when it already exists.
    A PostgreSQL database must exist already (its owner made it); ocx creates the schema."""
    from ocx import private  # only here: opening a database needs none of it
    from ocx.store import migrations

    if isinstance(path, str):
        store = _open_url(path, busy_timeout)
        try:
            migrations.apply(store, fresh_ok=True)
        except BaseException:
            store.close()
            raise
        return store
    try:
        private.make_dirs(path.parent)
    except OSError as exc:
        raise OcxError(f"cannot create folder {path.parent}: {exc.strerror}") from None
    try:  # 0600 before SQLite opens it: its -wal and -shm files take the database's mode
        private.create_file(path)
    except OSError as exc:
        raise OcxError(f"cannot create database {path}: {exc.strerror}") from None
    store = Store(_connect(path, create=True), path, busy_timeout, SQLITE)
    try:
        fresh = not store.engine.has_schema(store.conn)
        if fresh:  # WAL from the start, so concurrent first runs do not block each other's reads
            os.chmod(path, 0o600)  # customers' details: readable by their team's account only
            store.engine.prepare_new(store.conn)
    except sqlite3.DatabaseError as exc:
        store.close()
        raise OcxError(f"cannot open database {path}: {exc}") from None
    migrations.apply(store, fresh_ok=True)
    # Only once the file is known to be ours: another program's database keeps its mode.
    store.engine.prepare_new(store.conn)
    return store
