"""SQL for `ocx db copy` and `ocx db check`: opening a database without migrating it, the
catalog (tables, columns, applied migrations), reading a table in primary-key order in
batches, writing rows with their ids, emptying ocx's tables, moving PostgreSQL's identity
sequences past the copied ids, and each engine's integrity checks.

Both engines speak through the store's connection (`?` placeholders, translated for
PostgreSQL); where the catalog or a check differs, the function branches on the engine.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ocx.errors import NoDatabase, OcxError
from ocx.store import SQLITE, Store, engine_of

# Every ocx table but the search index, in an order where a row's parents come first
# (outbox's fallback_of points at an earlier outbox row: the id order serves), with the
# columns of its primary key. tests/test_db_copy.py keeps it in step with the schema.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("migrations", ("id",)),
    ("customers", ("id",)),
    ("tags", ("customer_id", "tag")),
    ("customer_sources", ("id",)),
    ("timeline", ("id",)),
    ("conversations", ("id",)),
    ("messages", ("id",)),
    ("team", ("handle",)),
    ("promises", ("id",)),
    ("cadences", ("id",)),
    ("incidents", ("id",)),
    ("incident_events", ("id",)),
    ("cases", ("id",)),
    ("incident_updates", ("id",)),
    ("outbox", ("id",)),
    ("inbox", ("id",)),
    ("postmortems", ("id",)),
    ("forgotten", ("id",)),
    ("forgotten_keys", ("hash", "forgotten_id")),
    ("forgotten_salt", ("id",)),
)
SEARCH = "customer_search"  # rebuilt from the tables above, never copied
BATCH = 5000


def is_postgres(conn: Any) -> bool:
    return engine_of(conn).name == "postgresql"


# --- opening ---------------------------------------------------------------------------------


def open_read_only(target: Path | str, wait_s: float = 30.0) -> Store:
    """A database opened for reading only, as it is: no migration, nothing created."""
    if isinstance(target, str):
        from ocx.store.pg import POSTGRES, masked

        return Store(POSTGRES.connect_read_only(target, wait_s), masked(target), wait_s, POSTGRES)
    if not target.is_file():
        raise NoDatabase(f"no ocx database at {target}; check the path")
    try:
        conn = SQLITE.connect_read_only(target, wait_s)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot open database {target}: {exc}") from None
    return Store(conn, target, wait_s, SQLITE)


def open_writable(target: Path | str, busy_timeout: float) -> tuple[Store, bool]:
    """(the database opened for writing without migrating it, whether this made its file).
    A new SQLite file is made as `ocx init` makes one (0600, WAL); a PostgreSQL database must
    exist already."""
    if isinstance(target, str):
        from ocx.store import _open_url

        return _open_url(target, busy_timeout), False
    from ocx import private

    made = not target.exists()
    try:
        private.make_dirs(target.parent)
        if made:
            private.create_file(target)
    except OSError as exc:
        raise OcxError(f"cannot create database {target}: {exc.strerror}") from None
    store = Store(SQLITE.connect(target, create=True), target, busy_timeout, SQLITE)
    try:
        if not table_names(store.conn):  # a new or empty file: WAL, as `ocx init` makes it
            store.engine.prepare_new(store.conn)
    except sqlite3.DatabaseError as exc:
        store.close()
        if made:
            remove_file(target)
        raise OcxError(f"cannot open database {target}: {exc}") from None
    return store, made


def remove_file(path: Path) -> None:
    """A SQLite database file this copy made, with its -wal and -shm files."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(OSError):
            name.unlink()


def create_schema(store: Store) -> None:
    """ocx's schema on a new database, or the pending migrations on an older one; inside the
    caller's write transaction (store.write() nests), so a failed copy leaves none of it."""
    from ocx.store import migrations

    migrations.apply(store, fresh_ok=True)


def known_migrations() -> list[str]:
    from ocx.store.migrations import MIGRATIONS

    return [name for name, _ in MIGRATIONS]


# --- the catalog -----------------------------------------------------------------------------


def table_names(conn: Any) -> set[str]:
    """Every table of the database (PostgreSQL: of its current schema)."""
    if is_postgres(conn):
        sql = "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {str(row[0]) for row in conn.execute(sql)}


def applied_migrations(conn: Any) -> list[str] | None:
    """The migrations the database records, in order; None when it has no migrations table."""
    if "migrations" not in table_names(conn):
        return None
    return [str(row[0]) for row in conn.execute("SELECT name FROM migrations ORDER BY id")]


def columns(conn: Any, table: str) -> list[str]:
    if is_postgres(conn):
        rows = conn.execute(
            "SELECT attname FROM pg_catalog.pg_attribute "
            "WHERE attrelid = to_regclass(CAST(? AS text)) AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            (f'"{table}"',),
        )
    else:
        rows = conn.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    return [str(row[0]) for row in rows]


def _names(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


# --- reading and writing rows ----------------------------------------------------------------


def batches(conn: Any, table: str, key: Sequence[str], cols: Sequence[str],
            size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:  # fmt: skip
    """Every row of `table` (values in `cols` order), in primary-key order, `size` rows at a
    time: each batch is a range read after the last key, so memory stays bounded on both
    engines (a plain PostgreSQL cursor would hold the whole result)."""
    where = (
        f'"{key[0]}" > ?' if len(key) == 1 else f"({_names(key)}) > ({', '.join('?' * len(key))})"
    )
    head = f'SELECT {_names(cols)} FROM "{table}"'
    order = f" ORDER BY {_names(key)} LIMIT {int(size)}"
    positions = [list(cols).index(name) for name in key]
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            rows = conn.execute(head + order).fetchall()
        else:
            rows = conn.execute(f"{head} WHERE {where}{order}", last).fetchall()
        if not rows:
            return
        batch = [tuple(row) for row in rows]
        yield batch
        if len(batch) < size:
            return
        last = tuple(batch[-1][i] for i in positions)


def insert_many(conn: Any, table: str, cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows as they are, ids included (PostgreSQL: through COPY, several times faster)."""
    if is_postgres(conn):
        from ocx.store.pg import _sqlite_error

        try:
            with (
                conn.raw.cursor() as cursor,
                cursor.copy(f'COPY "{table}" ({_names(cols)}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            raise _sqlite_error(exc) from exc
        return
    conn.executemany(
        f'INSERT INTO "{table}" ({_names(cols)}) VALUES ({", ".join("?" * len(cols))})', rows
    )


def ids(conn: Any, table: str, size: int = BATCH) -> Iterator[list[int]]:
    """A table's ids in order, `size` at a time."""
    for batch in batches(conn, table, ("id",), ("id",), size):
        yield [int(row[0]) for row in batch]


def empty(conn: Any) -> None:
    """Delete every row of ocx's tables and the search index (children first)."""
    names = [table for table, _ in reversed(TABLES)] + [SEARCH]
    if is_postgres(conn):
        conn.execute(f"TRUNCATE {_names(names)}")
        return
    for table in names:
        conn.execute(f'DELETE FROM "{table}"')


def restart_ids(conn: Any) -> None:
    """PostgreSQL: each identity column's next value just past the table's largest id, so the
    next row ocx adds does not collide with a copied one. (SQLite needs nothing.)"""
    if not is_postgres(conn):
        return
    for table, sequence in _sequences(conn):
        conn.execute(
            f'SELECT setval(CAST(? AS regclass), coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)',
            (sequence,),
        )


def _sequences(conn: Any) -> list[tuple[str, str]]:
    """(table, its id sequence) for ocx's tables with an identity id (PostgreSQL)."""
    found = []
    for table, key in TABLES:
        if key != ("id",):
            continue
        row = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (f'"{table}"',)).fetchone()
        if row and row[0]:
            found.append((table, str(row[0])))
    return found


# --- integrity -------------------------------------------------------------------------------


def integrity(conn: Any) -> list[tuple[str, bool, str]]:
    """(check, passed, what it found) for the engine's own checks of the database."""
    if is_postgres(conn):
        return _pg_integrity(conn)
    checks = []
    found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    checks.append(("integrity_check", found == ["ok"], "; ".join(found[:5])))
    broken = conn.execute("SELECT * FROM pragma_foreign_key_check").fetchall()
    detail = "; ".join(f"{row[0]} row {row[1]} points at a missing {row[2]}" for row in broken[:5])
    if len(broken) > 5:
        detail += f"; and {len(broken) - 5} more"
    checks.append(("foreign_key_check", not broken, detail or "ok"))
    return checks


def _pg_integrity(conn: Any) -> list[tuple[str, bool, str]]:
    checks = []
    invalid = [f"{row[0]}.{row[1]}" for row in conn.execute(
        "SELECT cl.relname, con.conname FROM pg_catalog.pg_constraint con "
        "JOIN pg_catalog.pg_class cl ON cl.oid = con.conrelid "
        "WHERE con.contype = 'f' AND cl.relnamespace = CAST(current_schema() AS regnamespace) "
        "AND NOT con.convalidated ORDER BY 1, 2"
    )]  # fmt: skip
    disabled = sorted({str(row[0]) for row in conn.execute(
        "SELECT cl.relname FROM pg_catalog.pg_trigger t "
        "JOIN pg_catalog.pg_class cl ON cl.oid = t.tgrelid "
        "WHERE t.tgisinternal AND t.tgenabled = 'D' "
        "AND cl.relnamespace = CAST(current_schema() AS regnamespace)"
    )})  # fmt: skip
    problems = [f"not validated: {name}" for name in invalid]
    problems += [f"checks switched off on {name}" for name in disabled]
    checks.append(("foreign keys validated", not problems, "; ".join(problems) or "ok"))
    orphans = []
    present = table_names(conn)
    for table, _ in TABLES:
        if table not in present:
            continue
        for parent, column in engine_of(conn).references(conn, table):
            row = conn.execute(
                f'SELECT count(*) FROM "{table}" c WHERE c."{column}" IS NOT NULL AND NOT EXISTS '
                f'(SELECT 1 FROM "{parent}" p WHERE p.id = c."{column}")'
            ).fetchone()
            if row[0]:
                orphans.append(f"{row[0]} {table} rows point at a missing {parent} ({column})")
    checks.append(("foreign keys hold", not orphans, "; ".join(orphans) or "ok"))
    behind = []
    for table, sequence in _sequences(conn):
        if table not in present:
            continue
        last, called = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
        following = int(last) + 1 if called else int(last)
        top = conn.execute(f'SELECT max(id) FROM "{table}"').fetchone()[0]
        if top is not None and following <= int(top):
            behind.append(f"{table} would next use id {following}, at or below max(id) {top}")
    checks.append(("sequences ahead of max(id)", not behind, "; ".join(behind) or "ok"))
    return checks
