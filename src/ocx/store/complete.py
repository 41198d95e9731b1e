"""SQL for shell completion: read-only, each an indexed query with a LIMIT.

A completion runs on every TAB, against a database of any size: no query here scans a
table, and none writes (the connection is opened read-only, with no migrations)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ocx.store import SQLITE, Store, engine_of

# Past this a busy database yields nothing rather than a shell waiting on TAB.
_WAIT_MS = 50


def open_read_only(path: Path | str) -> Store:
    """The database at path, read-only and as it is (pending migrations are not applied:
    a query the old schema cannot answer fails, and the completion offers nothing)."""
    if isinstance(path, str):
        from ocx.store.pg import POSTGRES, masked

        return Store(POSTGRES.connect_read_only(path, _WAIT_MS / 1000), masked(path),
                     busy_timeout=_WAIT_MS / 1000, engine=POSTGRES)  # type: ignore[arg-type]  # fmt: skip
    conn = SQLITE.connect_read_only(path, _WAIT_MS / 1000)
    return Store(conn, path, busy_timeout=_WAIT_MS / 1000, engine=SQLITE)


def customers(
    conn: sqlite3.Connection, email_from: str | None, email_to: str | None,
    name_query: str | None, limit: int,
) -> list[tuple[str, str | None]]:  # fmt: skip
    """(email, name) of up to `limit` customers, by email: those whose email is
    in [email_from, email_to) (all when both are None) and those the FTS5 `name_query`
    matches. Each side is limited before they meet: the email index and the search index."""
    if email_from is None and name_query is None:
        sql = "SELECT email, name FROM customers ORDER BY email LIMIT ?"
        return conn.execute(sql, (limit,)).fetchall()
    parts: list[str] = []
    params: list[object] = []
    if email_from is not None:
        parts.append(
            "SELECT id FROM (SELECT id FROM customers WHERE email >= ?"
            + (" AND email < ?" if email_to is not None else "")
            + " ORDER BY email LIMIT ?) AS by_email"
        )
        params += [email_from, *([email_to] if email_to is not None else []), limit]
    if name_query is not None:
        engine = engine_of(conn)
        parts.append(
            "SELECT rowid FROM (SELECT rowid FROM customer_search"
            f" WHERE {engine.text_match('customer_search')} LIMIT ?) AS by_name"
        )
        params += [engine.text_query(conn, name_query), limit]
    sql = (
        "SELECT email, name FROM customers WHERE id IN ("
        + " UNION ".join(parts)
        + ") ORDER BY email LIMIT ?"
    )
    return conn.execute(sql, (*params, limit)).fetchall()


def _in_ranges(
    table: str, columns: str, where: str, ranges: Sequence[tuple[int, int]], limit: int
) -> tuple[str, list[int]]:
    """One query for the newest `limit` rows whose id is in any of the ranges: each range a
    rowid range scan of its own, limited, so a short prefix never sorts the whole table."""
    if not ranges:
        return f"SELECT {columns} FROM {table}{where and ' WHERE ' + where}" \
               " ORDER BY id DESC LIMIT ?", [limit]  # fmt: skip
    condition = "id BETWEEN ? AND ?" + (f" AND {where}" if where else "")
    each = (
        f"SELECT * FROM (SELECT {columns} FROM {table} WHERE {condition} ORDER BY id DESC LIMIT ?)"
        " AS one_range"  # PostgreSQL before 16 wants a subquery named
    )
    sql = " UNION ALL ".join([each] * len(ranges)) + " ORDER BY id DESC LIMIT ?"
    params: list[int] = []
    for low, high in ranges:
        params += [low, high, limit]
    return sql, [*params, limit]


def incidents(
    conn: sqlite3.Connection, ranges: Sequence[tuple[int, int]], limit: int
) -> list[tuple[int, str, str]]:
    """(id, title, status) of the newest incidents with an id in the ranges (all: none)."""
    sql, params = _in_ranges("incidents", "id, title, status", "", ranges, limit)
    return conn.execute(sql, params).fetchall()


def promises(
    conn: sqlite3.Connection, ranges: Sequence[tuple[int, int]], open_only: bool, limit: int
) -> list[tuple[int, str, str | None, str]]:
    """(id, text, owner, state) of the newest promises with an id in the ranges."""
    where = "state = 'open'" if open_only else ""
    sql, params = _in_ranges("promises", "id, text, owner, state", where, ranges, limit)
    return conn.execute(sql, params).fetchall()


def team(
    conn: sqlite3.Connection, handle_from: str, handle_to: str | None, limit: int
) -> list[tuple[str, str | None]]:
    """(handle, name) of team members whose handle is in [handle_from, handle_to)."""
    sql = "SELECT handle, name FROM team WHERE handle >= ?"
    params: list[object] = [handle_from]
    if handle_to is not None:
        sql += " AND handle < ?"
        params.append(handle_to)
    return conn.execute(sql + " ORDER BY handle LIMIT ?", (*params, limit)).fetchall()
