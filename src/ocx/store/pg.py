"""The PostgreSQL engine (ocx.store.engine.Engine): a team's shared database.

Loaded only when the database is a postgresql:// URL, so `ocx` on SQLite never imports
psycopg. Store modules keep writing SQLite-flavoured SQL with `?` / `:name` placeholders;
`translate` turns each statement into PostgreSQL once (cached): placeholders, INSERT OR
IGNORE, group_concat, NOCASE comparisons, json_each and json_extract. Errors come back as
the sqlite3 exception classes the store already catches (IntegrityError, OperationalError),
so one `except` serves both engines.

Writers take one transaction-level advisory lock (pg_advisory_xact_lock): as on SQLite,
one ocx writes at a time, on any number of hosts, because the lock lives in the server.
Outbox claims and `incident next` claims happen inside such a write, so no message or case
is handed out twice.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ocx.errors import OcxError

# pg_advisory_xact_lock's key for "the ocx write lock" of a database: 'ocx' in ASCII.
WRITE_LOCK = 0x6F6378
SCHEMES = ("postgresql://", "postgres://")
EXTRA = 'the PostgreSQL driver is not installed; run: pip install "ocx[postgresql]"'


def is_url(target: object) -> bool:
    """Whether a --db / OCX_DB / `db` value names a PostgreSQL database."""
    return isinstance(target, str) and target.lower().startswith(SCHEMES)


def masked(url: str) -> str:
    """The URL with any password replaced, for messages and `config show`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:********@{host}"))


# --- translating the store's SQL -------------------------------------------------------------

_TOKENS = re.compile(
    r"""('(?:[^']|'')*')"""  # a string literal: left alone
    r"""|("(?:[^"]|"")*")"""  # a quoted identifier: left alone
    r"|(--[^\n]*)"  # a comment
    r"|(\?)"  # a positional placeholder
    r"|(?<![:\w]):([A-Za-z_]\w*)"  # a named placeholder (not a :: cast)
    r"|(%)"  # a literal percent sign: psycopg would read it as a placeholder
)
_REWRITES = [
    (re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I), "INSERT INTO"),
    (re.compile(r"\bgroup_concat\s*\(", re.I), "string_agg("),
    (re.compile(r"\bjson_each\s*\(", re.I), "ocx_each("),
    (re.compile(r"\bAS\s+REAL\b", re.I), "AS double precision"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\btemp\.", re.I), "pg_temp."),
    (re.compile(r"\bLIKE\b", re.I), "ILIKE"),
    (re.compile(r"\bjson_object\s*\(", re.I), "json_build_object("),
]
# Rewrites of phrases that hold a string literal ('$.key', '%s') or a placeholder: made on the
# whole statement before it is cut into tokens, since _rewrite sees only the text between
# those, never a literal or a placeholder with its surroundings.
_CALLS_WITH_LITERALS = [
    # SQLite's NOCASE folds ASCII only, as lower() does under the "C" collation.
    (re.compile(r"([\w.]+)\s*=\s*(\?|:\w+)\s+COLLATE\s+NOCASE", re.I), r"lower(\1) = lower(\2)"),
    (re.compile(r"json_extract\(([\w.]+),\s*'\$\.(\w+)'\)", re.I), r"(CAST(\1 AS json) ->> '\2')"),
    (
        re.compile(r"CAST\(strftime\('%s',\s*([\w.]+)\)\s+AS\s+INTEGER\)", re.I),
        r"CAST(extract(epoch FROM CAST(\1 AS timestamptz)) AS BIGINT)",
    ),
]
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+\"?(\w+)\"?\s*\(.*\)\s*VALUES\s*\(", re.I | re.S)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\b", re.I)
# Tables whose rows have an `id` the store reads back as cursor.lastrowid.
ID_TABLES = frozenset({
    "customers", "customer_sources", "timeline", "conversations", "messages", "promises",
    "cadences", "outbox", "incidents", "incident_events", "cases", "incident_updates",
    "postmortems", "forgotten", "migrations",
})  # fmt: skip


@lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str, bool]:
    """(PostgreSQL text, whether to add RETURNING id) for one statement of the store."""
    ignore = bool(_OR_IGNORE.search(sql))
    for pattern, replacement in _CALLS_WITH_LITERALS:
        sql = pattern.sub(replacement, sql)
    out: list[str] = []
    last = 0
    for match in _TOKENS.finditer(sql):
        out.append(_rewrite(sql[last : match.start()]))
        literal, ident, comment, positional, named, percent = match.groups()
        if literal is not None:
            out.append(literal.replace("%", "%%"))
        elif ident is not None:
            out.append(ident.replace("%", "%%"))
        elif comment is not None:
            out.append(" ")
        elif positional:
            out.append("%s")
        elif named:
            out.append(f"%({named})s")
        elif percent:
            out.append("%%")
        last = match.end()
    out.append(_rewrite(sql[last:]))
    text = "".join(out)
    if ignore:
        found = _RETURNING.search(text)
        if found:
            text = f"{text[: found.start()]}ON CONFLICT DO NOTHING {text[found.start() :]}"
        else:
            text = f"{text.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    insert = _INSERT_INTO.match(sql)
    wants_id = bool(insert and insert.group(1).lower() in ID_TABLES and not _RETURNING.search(sql))
    if wants_id:
        text = f"{text.rstrip().rstrip(';')} RETURNING id"
    return text, wants_id


def _rewrite(part: str) -> str:
    for pattern, replacement in _REWRITES:
        part = pattern.sub(replacement, part)
    return part


# --- rows, cursors and the connection ----------------------------------------------------


class Row:
    """A result row addressable by index and by column name, as sqlite3.Row is."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return tuple(self._values) == tuple(other._values) and self._index == other._index
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=False))!r})"


def _plain(value: Any) -> Any:
    # numeric results (sum, avg over integers) as SQLite gives them: int when whole, else float
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return lambda values: values
    index = {column.name: number for number, column in enumerate(description)}

    def make(values: Sequence[Any]) -> Row:
        return Row([_plain(v) for v in values], index)

    return make


def _tuple_factory(cursor: Any) -> Any:
    return lambda values: tuple(_plain(v) for v in values)


def _params(parameters: Any) -> Any:
    """Booleans as the 0/1 integers the schema stores (SQLite takes True as 1)."""
    if isinstance(parameters, dict):
        return {k: int(v) if isinstance(v, bool) else v for k, v in parameters.items()}
    if parameters is None:
        return None
    return [int(v) if isinstance(v, bool) else v for v in parameters]


class Cursor:
    """The result of one statement: rows, rowcount and (for an INSERT) lastrowid."""

    def __init__(self, cursor: Any, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor) if self._cursor.description else iter(())

    def close(self) -> None:
        self._cursor.close()


class Connection:
    """A psycopg connection that speaks the store's dialect (see translate)."""

    def __init__(self, raw: Any, engine: PostgresEngine, *, tuples: bool = False) -> None:
        self.raw = raw
        self.engine = engine
        self.lock_wait_ms = 30_000
        raw.row_factory = _tuple_factory if tuples else _row_factory

    def execute(self, sql: str, parameters: Any = None, /) -> Cursor:
        text, wants_id = translate(sql)
        cursor = self.raw.cursor()
        try:
            cursor.execute(text, _params(parameters) if parameters is not None else None)
        except Exception as exc:
            raise _sqlite_error(exc) from exc
        if wants_id:
            row = cursor.fetchone()
            return Cursor(cursor, int(row[0]) if row else None)
        return Cursor(cursor)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Cursor:
        text, wants_id = translate(sql)
        if wants_id:
            text = text[: text.rfind(" RETURNING id")]
        cursor = self.raw.cursor()
        try:
            cursor.executemany(text, [_params(p) for p in parameters])
        except Exception as exc:
            raise _sqlite_error(exc) from exc
        return Cursor(cursor)

    def insert_many(self, sql: str, parameters: Iterable[Any], /) -> list[int]:
        """An INSERT into a table with ids (ID_TABLES) for many rows, sent together in one
        pipeline: each row's new id, in order."""
        text, wants_id = translate(sql)
        if not wants_id:
            raise ValueError(f"not an INSERT into a table with ids: {sql[:80]}")
        rows = [_params(p) for p in parameters]
        if not rows:
            return []
        cursor = self.raw.cursor()
        try:
            cursor.executemany(text, rows, returning=True)
            ids = []
            while True:
                ids.append(int(cursor.fetchone()[0]))
                if not cursor.nextset():
                    break
        except Exception as exc:
            raise _sqlite_error(exc) from exc
        return ids

    def close(self) -> None:
        self.raw.close()


def _sqlite_error(exc: Exception) -> Exception:
    """A psycopg error as the sqlite3 class the store already handles."""
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return _Busy(f"database is locked ({text})")
    if isinstance(exc, psycopg.IntegrityError):
        return sqlite3.IntegrityError(text)
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return sqlite3.OperationalError(f"no such table ({text})")
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.QueryCanceled):
        return sqlite3.OperationalError(text)
    return sqlite3.DatabaseError(text)


class _Busy(sqlite3.OperationalError):
    """Another ocx holds the write lock (lock_timeout ran out)."""


# --- the engine ------------------------------------------------------------------------------


class PostgresEngine:
    """The PostgreSQL engine: one shared database, one writer at a time (an advisory lock)."""

    name = "postgresql"

    def connect(self, url: str, *, create: bool = False) -> Connection:
        try:
            import psycopg
        except ImportError:
            raise OcxError(EXTRA) from None
        try:
            raw = psycopg.connect(url, autocommit=True, application_name="ocx")
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise OcxError(f"cannot open database {masked(url)}: {reason}") from None
        conn = Connection(raw, self)
        return conn

    def connect_read_only(self, url: str, wait_s: float) -> Connection:
        conn = self.connect(url)
        conn.raw.row_factory = _tuple_factory
        conn.raw.execute("SET default_transaction_read_only = on")
        conn.raw.execute(f"SET lock_timeout = {max(int(wait_s * 1000), 1)}")
        return conn

    def begin_write(self, conn: Any) -> None:
        conn.execute("BEGIN")
        try:
            conn.execute(f"SET LOCAL lock_timeout = {max(int(conn.lock_wait_ms), 1)}")
            conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        except BaseException:
            conn.raw.execute("ROLLBACK")
            raise

    def begin_read(self, conn: Any) -> None:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")

    def commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: Any) -> None:
        conn.execute("ROLLBACK")

    def is_busy(self, exc: BaseException) -> bool:
        return isinstance(exc, _Busy)

    # --- the catalog

    def has_schema(self, conn: Any) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        ).fetchone()
        return bool(row[0])

    def prepare_new(self, conn: Any) -> None:
        """Nothing to do: PostgreSQL readers never block a writer."""

    def tables(self, conn: Any) -> list[str]:
        return [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'customer_search' ORDER BY tablename"
        )]  # fmt: skip

    def references(self, conn: Any, table: str) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in conn.execute(
            "SELECT ref.relname, att.attname FROM pg_catalog.pg_constraint con "
            "JOIN pg_catalog.pg_class src ON src.oid = con.conrelid "
            "JOIN pg_catalog.pg_class ref ON ref.oid = con.confrelid "
            "JOIN pg_catalog.pg_attribute att "
            "  ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1] "
            "WHERE con.contype = 'f' AND src.relname = ? "
            "AND src.relnamespace = CAST(current_schema() AS regnamespace)",
            (table,),
        )]  # fmt: skip

    # --- statements that differ

    def insert_rows(
        self, conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        try:
            with conn.raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            raise _sqlite_error(exc) from exc

    def in_values(
        self, column: str, values: Sequence[Any], sql_type: str
    ) -> list[tuple[str, list[Any]]]:
        if sql_type not in ("TEXT", "BIGINT"):
            raise ValueError(f"in_values: no array of {sql_type}")
        if not values:
            return []
        return [(f"{column} = ANY(CAST(? AS {sql_type}[]))", [list(values)])]

    def insert_or_ignore(self, table: str, columns: Sequence[str], *, named: bool = False) -> str:
        values = ", ".join(":" + c for c in columns) if named else ", ".join("?" * len(columns))
        return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({values})"

    def update_or_ignore(self, conn: Any, table: str, column: str, new: Any, old: Any) -> None:
        # SQLite's UPDATE OR IGNORE, spelled out: a row stays as it was when, moved, it would
        # repeat another row on a unique constraint that includes the column.
        clashes = []
        for (others,) in conn.execute(
            "SELECT array(SELECT a.attname FROM pg_catalog.pg_attribute a "
            "             WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) "
            "             AND a.attname <> ?) "
            "FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
            "JOIN pg_catalog.pg_attribute col ON col.attrelid = c.oid AND col.attname = ? "
            "WHERE c.relname = ? AND c.relnamespace = CAST(current_schema() AS regnamespace) "
            "AND con.contype IN ('p', 'u') AND col.attnum = ANY (con.conkey)",
            (column, column, table),
        ):
            same = "".join(f' AND o."{name}" = t."{name}"' for name in others)
            clashes.append(
                f'NOT EXISTS (SELECT 1 FROM "{table}" o WHERE o."{column}" = :new{same})'
            )
        where = "".join(f" AND {clash}" for clash in clashes)
        conn.execute(
            f'UPDATE "{table}" t SET "{column}" = :new WHERE t."{column}" = :old{where}',
            {"new": new, "old": old},
        )

    def text_match(self, index: str) -> str:
        return f"{index}.doc @@ CAST(? AS tsquery)"

    def text_query(self, conn: Any, query: str) -> str:
        from ocx.store.pg_search import text_query

        return text_query(conn, query)

    # --- maintenance

    def analyze(self, conn: Any, tables: Sequence[str]) -> None:
        # A table's plans are made from its statistics; a table that was empty when they
        # were last gathered is planned as if it still were (a sequential scan inside every
        # lookup), until autovacuum gets to it, which is after a long import.
        conn.execute(f"ANALYZE {', '.join(tables)}")

    def optimize_search(self, conn: Any, index: str) -> None:
        """Nothing to do: a GIN index needs no merge step (autovacuum tidies it)."""

    def vacuum(self, conn: Any) -> None:
        conn.execute("VACUUM")

    def checkpoint(self, conn: Any) -> bool:
        return True

    def secure_delete(self, conn: Any, on: bool) -> bool:
        return False


POSTGRES = PostgresEngine()
