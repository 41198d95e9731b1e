"""SQL for cadences: how often a customer (or everyone with a tag) is contacted."""

from __future__ import annotations

import sqlite3
from typing import Any

from ocx.store import insert_row


def cadences_in_force(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Each cadence not stopped: its schedule and when it was set (a small table)."""
    return conn.execute(
        "SELECT id, schedule, set_at FROM cadences WHERE stopped_at IS NULL"
    ).fetchall()


def active_cadence_for_customer(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM cadences WHERE customer_id = ? AND stopped_at IS NULL", (customer_id,)
    ).fetchone()


def active_cadence_for_tag(conn: sqlite3.Connection, tag: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM cadences WHERE tag = ? AND stopped_at IS NULL", (tag,)
    ).fetchone()


def insert_cadence(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return insert_row(conn, "cadences", row)


def stop_cadence(conn: sqlite3.Connection, cadence_id: int, at: str) -> None:
    conn.execute("UPDATE cadences SET stopped_at = ? WHERE id = ?", (at, cadence_id))


def stop_customer_cadences(conn: sqlite3.Connection, customer_id: int, at: str) -> None:
    """Every cadence of the customer's own in force (a merge can bring a second one)."""
    conn.execute(
        "UPDATE cadences SET stopped_at = ? WHERE customer_id = ? AND stopped_at IS NULL",
        (at, customer_id),
    )


# Every (customer, cadence) pair that could be in force, best first for each customer.
_CANDIDATES = """
    WITH candidates AS (
        SELECT k.id AS cadence_id, k.customer_id, 0 AS via_tag, k.set_at,
               k.set_at AS start_at
          FROM cadences k WHERE k.stopped_at IS NULL AND k.customer_id IS NOT NULL
        UNION ALL
        SELECT k.id, t.customer_id, 1, k.set_at,
               CASE WHEN t.tagged_at > k.set_at THEN t.tagged_at ELSE k.set_at END
          FROM cadences k JOIN tags t ON t.tag = k.tag
         WHERE k.stopped_at IS NULL AND k.tag IS NOT NULL
    )
    SELECT r.customer_id AS target_id, {columns},
           (SELECT count(*) FROM timeline t
             WHERE t.customer_id = r.customer_id AND t.kind = 'contact'
               AND t.direction = 'outbound' AND t.at >= r.start_at) AS contacts,
           (SELECT max(t.at) FROM timeline t
             WHERE t.customer_id = r.customer_id AND t.kind = 'contact'
               AND t.direction = 'outbound' AND t.at >= r.start_at) AS last_contact_at
      FROM candidates r JOIN cadences k ON k.id = r.cadence_id {joins}
     ORDER BY r.customer_id, r.via_tag, r.set_at DESC, r.cadence_id DESC
"""


def _in_force(conn: sqlite3.Connection, columns: str, joins: str = "") -> list[sqlite3.Row]:
    """Every (customer, cadence) pair in force: a customer's own cadence wins over a tag's;
    among tag cadences the most recently set wins. A customer tagged after a tag's cadence
    was set starts on it when tagged, not late.
    Each comes with its outbound contacts since the cadence started (count and latest), so
    one query serves however many customers are on a cadence. The first candidate of each
    customer is picked here rather than by a window function, which costs more than the
    whole rest of the query."""
    winners: dict[int, sqlite3.Row] = {}
    for row in conn.execute(_CANDIDATES.format(columns=columns, joins=joins)):
        winners.setdefault(row[0], row)
    return list(winners.values())


def cadence_targets(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Every cadence target with its customer, in the customer list's order."""
    rows = _in_force(
        conn, "k.*, r.start_at, c.email AS customer_email, c.name AS customer_name, c.sort_name",
        "JOIN customers c ON c.id = r.customer_id",
    )  # fmt: skip
    # sort_name IS NULL last, then sort_name and email (code point order is SQLite's BINARY)
    rows.sort(key=lambda r: (r["sort_name"] is None, r["sort_name"] or "", r["customer_email"]))
    return rows


def cadence_progress(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """(customer, schedule, start, outbound contacts since, latest of them) for every cadence
    target: what `cadence_targets` knows, without the names a count does not need."""
    return _in_force(conn, "k.schedule, r.start_at")
