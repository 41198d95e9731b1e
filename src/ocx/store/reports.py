"""SQL for reports: promise outcomes, incident contact times, who is at risk."""

from __future__ import annotations

import sqlite3
from typing import Any


def promise_outcomes(
    conn: sqlite3.Connection, *, since: str | None, owner: str | None, now: str
) -> list[sqlite3.Row]:
    """Per owner: promises made, kept on time, kept late, broken, open overdue, all measured
    against the ORIGINAL due time (a snooze never turns late into on time)."""
    where, params = ["1 = 1"], {"now": now, "since": since, "owner": owner}
    if since:
        where.append("created_at >= :since")
    if owner:
        where.append("owner = :owner")
    return conn.execute(
        f"""
        SELECT owner,
               count(*) AS made,
               sum(state = 'done' AND done_at <= due_at) AS kept_on_time,
               sum(state = 'done' AND done_at > due_at) AS kept_late,
               sum(state = 'cancelled' AND cancelled_at >= due_at) AS broken,
               sum(state = 'open' AND due_at < :now) AS open_overdue
          FROM promises WHERE {" AND ".join(where)}
         GROUP BY owner ORDER BY owner
        """,
        params,
    ).fetchall()


def first_contacts(conn: sqlite3.Connection, since: str | None) -> list[sqlite3.Row]:
    """Every case with its incident, for time-to-first-contact figures."""
    sql = (
        "SELECT i.id AS incident_id, i.title, k.added_at, k.contacted_at FROM cases k "
        "JOIN incidents i ON i.id = k.incident_id"
    )
    params: dict[str, Any] = {}
    if since:
        sql += " WHERE i.detected_at >= :since"
        params["since"] = since
    return conn.execute(sql + " ORDER BY i.id, k.id", params).fetchall()


def overdue_by_customer(conn: sqlite3.Connection, now: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT customer_id, count(*) AS n, min(coalesce(snoozed_until, due_at)) AS oldest "
        "FROM promises WHERE state = 'open' AND coalesce(snoozed_until, due_at) < ? "
        "AND customer_id IS NOT NULL GROUP BY customer_id",
        (now,),
    ).fetchall()


def uncontacted_cases(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT k.customer_id, count(*) AS n, min(k.added_at) AS oldest, "
        "group_concat('INC-' || i.id, ', ') AS incidents FROM cases k "
        "JOIN incidents i ON i.id = k.incident_id "
        "WHERE i.status = 'open' AND k.state = 'new' GROUP BY k.customer_id"
    ).fetchall()


def inbound_contacts(
    conn: sqlite3.Connection, since: str, until: str, at_least: int
) -> list[sqlite3.Row]:
    """Customers who reached out at least `at_least` times since `since`: logged inbound
    contacts and imported tickets (each a time they wrote in) both count."""
    return conn.execute(
        """
        SELECT customer_id, count(*) AS n, max(at) AS latest FROM (
            SELECT customer_id, at FROM timeline
             WHERE kind = 'contact' AND direction = 'inbound' AND at >= :since AND at <= :until
            UNION ALL
            SELECT customer_id, created_at FROM conversations
             WHERE created_at >= :since AND created_at <= :until
        ) GROUP BY customer_id HAVING count(*) >= :at_least
        """,
        {"since": since, "until": until, "at_least": at_least},
    ).fetchall()


def customer_names(conn: sqlite3.Connection, ids: list[int]) -> dict[int, sqlite3.Row]:
    out: dict[int, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            f"SELECT id, email, name FROM customers WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        out.update({row["id"]: row for row in rows})
    return out
