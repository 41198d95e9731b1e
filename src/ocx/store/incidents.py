"""SQL for incidents, their events, updates and the per-customer cases."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ocx.store import insert_row, update_row

CASE_STATES = ("new", "contacted", "acknowledged", "agreed", "resolved")


def insert_incident(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return insert_row(conn, "incidents", row)


def incident(conn: sqlite3.Connection, incident_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()


def incidents(conn: sqlite3.Connection, *, open_only: bool) -> list[sqlite3.Row]:
    where = "WHERE status = 'open'" if open_only else ""
    return conn.execute(f"SELECT * FROM incidents {where} ORDER BY id DESC").fetchall()


def update_incident(conn: sqlite3.Connection, incident_id: int, fields: dict[str, Any]) -> None:
    update_row(conn, "incidents", ("id", incident_id), fields)


def add_event(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO incident_events (incident_id, at, kind, author, text, customer_id, data) "
        "VALUES (:incident_id, :at, :kind, :author, :text, :customer_id, :data)",
        {"customer_id": None, "data": None, **row},
    )


def events(conn: sqlite3.Connection, incident_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM incident_events WHERE incident_id = ? ORDER BY at, id", (incident_id,)
    ).fetchall()


def case_counts(conn: sqlite3.Connection, incident_id: int) -> dict[str, int]:
    counts = dict.fromkeys(CASE_STATES, 0)
    rows = conn.execute(
        "SELECT state, count(*) FROM cases WHERE incident_id = ? GROUP BY state", (incident_id,)
    )
    counts.update({state: n for state, n in rows})
    return counts


def case_customer_ids(conn: sqlite3.Connection, incident_id: int) -> set[int]:
    rows = conn.execute("SELECT customer_id FROM cases WHERE incident_id = ?", (incident_id,))
    return {cid for (cid,) in rows}


def concierges_in_open_incidents(
    conn: sqlite3.Connection, customer_ids: Iterable[int]
) -> dict[int, str]:
    """A customer's concierge in any open incident (the most recent), to keep the same person."""
    out: dict[int, str] = {}
    ids = list(customer_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            "SELECT k.customer_id, k.concierge FROM cases k JOIN incidents i ON i.id = k.incident_id "
            f"WHERE i.status = 'open' AND k.concierge IS NOT NULL AND k.customer_id IN "
            f"({', '.join('?' * len(chunk))}) ORDER BY k.added_at, k.id",
            chunk,
        )
        out.update({cid: concierge for cid, concierge in rows})
    return out


def existing_customer_ids(conn: sqlite3.Connection, customer_ids: Sequence[int]) -> list[int]:
    """The ids (in the order given) of customers that still exist."""
    keep: set[int] = set()
    for start in range(0, len(customer_ids), 500):
        chunk = list(customer_ids[start : start + 500])
        rows = conn.execute(
            f"SELECT id FROM customers WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )
        keep.update(cid for (cid,) in rows)
    return [cid for cid in customer_ids if cid in keep]


def open_load(conn: sqlite3.Connection, handles: Sequence[str]) -> dict[str, int]:
    """Open cases each concierge carries across open incidents."""
    load = dict.fromkeys(handles, 0)
    rows = conn.execute(
        "SELECT k.concierge, count(*) FROM cases k JOIN incidents i ON i.id = k.incident_id "
        "WHERE i.status = 'open' AND k.state <> 'resolved' AND k.concierge IS NOT NULL "
        "GROUP BY k.concierge"
    )
    for handle, n in rows:
        if handle in load:
            load[handle] = n
    return load


def insert_cases(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO cases (incident_id, customer_id, concierge, added_at, last_activity_at) "
        "VALUES (:incident_id, :customer_id, :concierge, :added_at, :added_at)",
        rows,
    )


_CASE_SELECT = (
    "SELECT k.*, c.email AS customer_email, c.name AS customer_name FROM cases k "
    "JOIN customers c ON c.id = k.customer_id"
)


def case(conn: sqlite3.Connection, incident_id: int, customer_id: int) -> sqlite3.Row | None:
    return conn.execute(
        f"{_CASE_SELECT} WHERE k.incident_id = ? AND k.customer_id = ?", (incident_id, customer_id)
    ).fetchone()


def case_by_id(conn: sqlite3.Connection, case_id: int) -> sqlite3.Row | None:
    return conn.execute(f"{_CASE_SELECT} WHERE k.id = ?", (case_id,)).fetchone()


def cases(
    conn: sqlite3.Connection, incident_id: int, *, open_only: bool = False
) -> list[sqlite3.Row]:
    where = " AND k.state <> 'resolved'" if open_only else ""
    return conn.execute(
        f"{_CASE_SELECT} WHERE k.incident_id = ?{where} ORDER BY k.id", (incident_id,)
    ).fetchall()


def update_case(conn: sqlite3.Connection, case_id: int, fields: dict[str, Any]) -> None:
    update_row(conn, "cases", ("id", case_id), fields)


def next_case(
    conn: sqlite3.Connection, incident_id: int, concierge: str, stale_before: str
) -> sqlite3.Row | None:
    """The one case to handle now: one this concierge already holds, else their own or an
    unassigned case (else anyone's); not yet contacted first, then the longest waiting.
    Cases another concierge claimed recently are left to them."""
    return conn.execute(
        f"""
        {_CASE_SELECT}
         WHERE k.incident_id = :incident AND k.state <> 'resolved'
           AND (k.claimed_by IS NULL OR k.claimed_by = :me OR k.claimed_at < :stale)
         ORDER BY (k.claimed_by = :me AND k.claimed_at >= :stale) DESC,
                  (k.concierge = :me OR k.concierge IS NULL) DESC,
                  (k.state = 'new') DESC, k.last_activity_at, k.id
         LIMIT 1
        """,
        {"incident": incident_id, "me": concierge, "stale": stale_before},
    ).fetchone()


def add_update(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return insert_row(conn, "incident_updates", row)


def updates(conn: sqlite3.Connection, incident_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM incident_updates WHERE incident_id = ? ORDER BY at, id", (incident_id,)
    ).fetchall()


def customers_by(
    conn: sqlite3.Connection, *, tag: str | None = None, company: str | None = None,
    everyone: bool = False,
) -> list[int]:  # fmt: skip
    if everyone:
        sql, params = "SELECT id FROM customers ORDER BY id", ()
    elif tag is not None:
        sql, params = "SELECT customer_id FROM tags WHERE tag = ? ORDER BY customer_id", (tag,)
    else:
        sql, params = (
            "SELECT id FROM customers WHERE company = ? COLLATE NOCASE ORDER BY id",
            (company,),
        )
    return [cid for (cid,) in conn.execute(sql, params)]
