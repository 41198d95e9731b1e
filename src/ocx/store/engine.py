"""The engine seam: what a database engine must provide for the store to run on it.

Every store module writes portable SQL with `?` / `:name` placeholders through a
DB-API-like `Connection`; the few things engines do differently (opening, transactions
and locking, the catalog, full-text search, INSERT-or-ignore, maintenance) are asked of the
`Engine`. ocx.store.SQLiteEngine is the one engine today; a PostgreSQL engine is a second
implementation of `Engine` (translating placeholders in its connection), not an edit of
every query.

Only type checkers import this module: the cron fast path (`ocx due`) loads nothing it
does not run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol


class Row(Protocol):
    """A result row, addressable by index and by column name (sqlite3.Row)."""

    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int
    lastrowid: int | None

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Any: ...


class Connection(Protocol):
    """What store modules get as `conn`: execute with `?` or `:name` parameters."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor: ...
    def close(self) -> None: ...


class Engine(Protocol):
    """Everything engine-specific the store needs. Methods that take `conn` run statements;
    the others return SQL text for a store module to embed."""

    name: str

    # --- connections and transactions
    def connect(self, path: Path, *, create: bool) -> Connection:
        """An open connection, autocommit, foreign keys enforced; OcxError when it fails."""

    def connect_read_only(self, path: Path, wait_s: float) -> Connection:
        """A connection that cannot write (shell completion), plain tuples as rows."""

    def begin_write(self, conn: Connection) -> None:
        """Start a transaction holding the one write lock (SQLite: BEGIN IMMEDIATE;
        PostgreSQL: BEGIN and a transaction-level advisory lock)."""

    def begin_read(self, conn: Connection) -> None:
        """Start a transaction that sees one snapshot."""

    def commit(self, conn: Connection) -> None: ...
    def rollback(self, conn: Connection) -> None: ...

    def is_busy(self, exc: BaseException) -> bool:
        """Whether exc means another connection holds the lock (try again)."""

    # --- the catalog
    def has_schema(self, conn: Connection) -> bool:
        """Whether the database holds any table (a new file is empty)."""

    def prepare_new(self, conn: Connection) -> None:
        """Once per database ocx made: readers and a writer at once (SQLite's WAL)."""

    def tables(self, conn: Connection) -> list[str]:
        """Every ordinary table (no full-text index tables)."""

    def references(self, conn: Connection, table: str) -> list[tuple[str, str]]:
        """(referenced table, referencing column) of each foreign key of `table`."""

    # --- statements that differ
    def insert_or_ignore(self, table: str, columns: Sequence[str], *, named: bool = False) -> str:
        """INSERT of one row that does nothing when it would break a unique constraint."""

    def update_or_ignore(
        self, conn: Connection, table: str, column: str, new: Any, old: Any
    ) -> None:
        """UPDATE table SET column = new WHERE column = old, skipping rows that would clash
        with a unique constraint (they stay as they were)."""

    def insert_rows(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Plain INSERTs of many new rows (values in `columns` order), the fastest way the
        engine has: SQLite's executemany; PostgreSQL's COPY, which an import's conversations
        and messages go through many times faster than as statements."""

    def in_values(
        self, column: str, values: Sequence[Any], sql_type: str
    ) -> list[tuple[str, list[Any]]]:
        """`column IN (values)` as WHERE conditions with their parameters, one per statement
        to run: SQLite's in chunks under its limit of bound parameters; PostgreSQL's one
        `= ANY(?)` of an array (`sql_type`: TEXT or BIGINT), a statement short and the same
        each time, which neither the driver nor the server parses again per call."""

    def text_match(self, index: str) -> str:
        """A WHERE condition: rows of full-text index `index` matching the query parameter."""

    def text_query(self, conn: Connection, query: str) -> str:
        """The query parameter for text_match from an FTS5 query as the store writes it
        (quoted phrases, `*` prefixes, OR, a `name :` filter). SQLite: the query itself;
        PostgreSQL: a tsquery with the same meaning, its words folded as the index's are."""

    # --- maintenance
    def analyze(self, conn: Connection, tables: Sequence[str]) -> None:
        """Refresh the planner's statistics of tables that have grown a lot in this
        transaction (an import's); SQLite: nothing (its plans do not depend on them here)."""

    def optimize_search(self, conn: Connection, index: str) -> None: ...
    def vacuum(self, conn: Connection) -> None: ...
    def checkpoint(self, conn: Connection) -> bool: ...
    def secure_delete(self, conn: Connection, on: bool) -> bool: ...
