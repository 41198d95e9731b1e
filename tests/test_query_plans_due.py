"""The queries `ocx due` and a lookup by email run read their indexes, never the whole table.

Each statement is the one the store really runs (recorded from the store function, then
put through EXPLAIN QUERY PLAN on a real database made by ocx, with a few thousand promises
mostly closed, as in life), without statistics (ocx never runs ANALYZE) and with them (a
database someone did ANALYZE must not fall back to a scan either)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ocx.store import cadences as cadence_sql
from ocx.store import create_store
from ocx.store import customers as customer_sql
from ocx.store import promises as promise_sql
from ocx.testing import Recorder

# About SQLite's query planner (EXPLAIN QUERY PLAN): left out on PostgreSQL.
pytestmark = pytest.mark.sqlite_only

UNTIL = "2026-12-01T10:00:00Z"


@pytest.fixture(params=["no statistics", "analyzed"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "plans.db"
    create_store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO customers (id, email, created_at, updated_at) VALUES (?, ?, ?, ?)",
        [(i, f"c{i}@example.com", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
         for i in range(1, 501)],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at) "
        "VALUES (?, 'email', ?, ?)",
        [(i, f"old{i}@example.com", "2026-01-01T00:00:00Z") for i in range(1, 501)],
    )
    conn.executemany(
        "INSERT INTO promises (customer_id, text, owner, due_at, state, created_at) "
        "VALUES (?, 'Call back', ?, ?, ?, '2026-01-01T00:00:00Z')",
        [(i % 500 + 1, f"agent{i % 12}", f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}T09:00:00Z",
          "open" if i % 50 == 0 else "done") for i in range(5000)],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO cadences (customer_id, schedule, owner, set_at) VALUES (?, ?, ?, ?)",
        [(i, "daily*5,weekly*4,monthly", "agent1", "2026-11-30T09:00:00Z") for i in (1, 2, 3)],
    )
    conn.execute("COMMIT")
    if request.param == "analyzed":
        conn.execute("ANALYZE")
    yield conn
    conn.close()


def plans(conn: sqlite3.Connection, run: Callable[[Recorder], Any]) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement `run` makes through the store, one string each."""
    recorder = Recorder(conn)
    run(recorder)
    assert recorder.statements
    return [
        "; ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        for sql, params in recorder.statements
    ]


def scanned(plan: str) -> set[str]:
    """The tables (or aliases) a plan walks from end to end: its `SCAN x` steps."""
    return {step.split()[1] for step in plan.split("; ") if step.startswith("SCAN ")}


@pytest.mark.parametrize("owner", [None, "agent1"])
def test_the_due_query_reads_the_open_promises_index(conn: sqlite3.Connection,
                                                     owner: str | None) -> None:  # fmt: skip
    [plan] = plans(conn, lambda c: promise_sql.due_promises(c, UNTIL, owner))  # type: ignore[arg-type]
    assert "USING INDEX promises_open_" in plan, plan
    assert not scanned(plan) & {"p", "promises"}, plan


@pytest.mark.parametrize("owner", [None, "agent1"])
def test_is_anything_due_reads_the_open_promises_index(conn: sqlite3.Connection,
                                                       owner: str | None) -> None:  # fmt: skip
    [plan] = plans(conn, lambda c: promise_sql.any_due_promise(c, UNTIL, owner))  # type: ignore[arg-type]
    assert "INDEX promises_open_" in plan, plan
    assert not scanned(plan) & {"p", "promises"}, plan


def test_the_due_query_finds_what_a_full_scan_finds(conn: sqlite3.Connection) -> None:
    scanned = conn.execute(
        "SELECT id FROM promises NOT INDEXED WHERE state = 'open' "
        "AND coalesce(snoozed_until, due_at) <= ? ORDER BY coalesce(snoozed_until, due_at), id",
        (UNTIL,),
    ).fetchall()
    assert [row["id"] for row in promise_sql.due_promises(conn, UNTIL, None)] == [
        row["id"] for row in scanned
    ]
    assert promise_sql.any_due_promise(conn, UNTIL, None) == bool(scanned)
    assert not promise_sql.any_due_promise(conn, "2000-01-01T00:00:00Z", None)


def test_cadences_in_force_is_the_small_table_only(conn: sqlite3.Connection) -> None:
    [plan] = plans(conn, cadence_sql.cadences_in_force)  # type: ignore[arg-type]
    assert "promises" not in plan and "timeline" not in plan, plan


@pytest.mark.parametrize("email", ["c7@example.com", "old7@example.com"])
def test_a_customer_is_found_by_email_through_the_unique_indexes(conn: sqlite3.Connection,
                                                                 email: str) -> None:  # fmt: skip
    found = plans(conn, lambda c: customer_sql.id_by_email(c, email))  # type: ignore[arg-type]
    assert "SEARCH customers USING COVERING INDEX sqlite_autoindex_customers" in found[0], found
    for plan in found[1:]:  # the address of a customer merged into another
        assert "SEARCH customer_sources USING INDEX sqlite_autoindex_customer_sources" in plan, (
            found
        )


def test_a_search_for_an_email_reads_the_full_text_index(conn: sqlite3.Connection) -> None:
    from ocx.search import fts_query

    found = plans(conn, lambda c: customer_sql.search(c, fts_query("c7@example.com"), 50))  # type: ignore[arg-type]
    assert "SCAN customer_search VIRTUAL TABLE INDEX" in found[0], found
    assert not scanned(found[0]) & {"c", "customers"}, found
