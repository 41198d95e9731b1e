"""SQL for reports: promise outcomes, incident contact times, who is at risk.

Every statement here reads an index made for it (migration 0009_report_speed), so a report
costs what it shows, not the size of the history: tests/test_query_plans_reports.py holds
each one to its index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

# The outcome of each promise, measured against its ORIGINAL due time (a snooze never turns
# late into on time). Every column read is in the index promises_report (owner, state,
# created_at, due_at, done_at, cancelled_at): the counts never touch the table, and each
# state is its own range of it, so a row is only compared as its state needs.
_OUTCOMES = """
    SELECT 'done' AS state, count(*) AS n,
           count(*) FILTER (WHERE done_at <= due_at) AS kept_on_time,
           count(*) FILTER (WHERE done_at > due_at) AS kept_late
      FROM promises WHERE owner = :owner AND state = 'done'{since}
    UNION ALL
    SELECT 'cancelled', count(*), count(*) FILTER (WHERE cancelled_at >= due_at), 0
      FROM promises WHERE owner = :owner AND state = 'cancelled'{since}
    UNION ALL
    SELECT 'open', count(*), count(*) FILTER (WHERE due_at < :now), 0
      FROM promises WHERE owner = :owner AND state = 'open'{since}"""
_OUTCOME_KEYS = {"done": ("kept_on_time", "kept_late"), "cancelled": ("broken", None),
                 "open": ("open_overdue", None)}  # fmt: skip

# Each distinct owner by a seek into promises_owner from the last one found: as many steps
# as there are owners, however many promises they made.
_OWNERS = """
    WITH RECURSIVE owners (owner) AS (
        SELECT min(owner) FROM promises
        UNION ALL
        SELECT (SELECT min(p.owner) FROM promises p WHERE p.owner > owners.owner)
          FROM owners WHERE owners.owner IS NOT NULL
    )
    SELECT owner FROM owners WHERE owner IS NOT NULL"""


def promise_owners(conn: sqlite3.Connection) -> list[str]:
    """Everyone who owns a promise, in order."""
    return [row[0] for row in conn.execute(_OWNERS)]


def outcome_statement(since: str | None) -> str:
    """The statement that counts one owner's outcomes (made since `since`), state by state."""
    return _OUTCOMES.format(since=" AND created_at >= :since" if since else "")


def promise_outcomes(
    conn: sqlite3.Connection, *, since: str | None, owner: str | None, now: str
) -> list[dict[str, Any]]:
    """Per owner with promises (made since `since`): promises made, kept on time, kept late,
    broken, open overdue. One statement per owner reads that owner's ranges of the index in
    order; a single GROUP BY would have to sort every row of a --since range first."""
    sql = outcome_statement(since)
    out = []
    for name in [owner] if owner else promise_owners(conn):
        counts = {"owner": name, "made": 0, "kept_on_time": 0, "kept_late": 0, "broken": 0,
                  "open_overdue": 0}  # fmt: skip
        for state, n, first, second in conn.execute(
            sql, {"owner": name, "since": since, "now": now}
        ):
            counts["made"] += n  # a promise is open, done or cancelled (the table's CHECK)
            key, other = _OUTCOME_KEYS[state]
            counts[key] = first
            if other:
                counts[other] = second
        if counts["made"]:
            out.append(counts)
    return out


def incident_cases(conn: sqlite3.Connection, since: str | None) -> list[sqlite3.Row]:
    """Each incident (detected since `since`) with its cases and how many were contacted."""
    sql = (
        "SELECT i.id AS incident_id, i.title, count(*) AS cases, "
        "count(k.contacted_at) AS contacted FROM incidents i "
        "JOIN cases k ON k.incident_id = i.id"
    )
    params: dict[str, Any] = {}
    if since:
        sql += " WHERE i.detected_at >= :since"
        params["since"] = since
    return conn.execute(sql + " GROUP BY i.id ORDER BY i.id", params).fetchall()


def first_contact_waits(conn: sqlite3.Connection, incident_id: int) -> list[int]:
    """Seconds from being added to first contact, for each contacted case of an incident,
    shortest first (times are whole seconds, as ocx writes them)."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT CAST(strftime('%s', contacted_at) AS INTEGER) "
            "- CAST(strftime('%s', added_at) AS INTEGER) AS wait "
            "FROM cases WHERE incident_id = ? AND contacted_at IS NOT NULL ORDER BY wait",
            (incident_id,),
        )
    ]


def overdue_by_customer(conn: sqlite3.Connection, now: str) -> list[dict[str, Any]]:
    """Customers with open promises past their (snoozed) due time, how many and the oldest.
    The few open promises come from the partial index promises_open_due and are counted
    here: grouped in SQL, the planner would walk every promise in customer order instead."""
    out: dict[int, dict[str, Any]] = {}
    for customer_id, due in conn.execute(
        "SELECT customer_id, coalesce(snoozed_until, due_at) FROM promises "
        "WHERE state = 'open' AND coalesce(snoozed_until, due_at) < ?",
        (now,),
    ):
        if customer_id is None:  # an incident's next update, promised to no one customer
            continue
        entry = out.get(customer_id)
        if entry is None:
            out[customer_id] = {"customer_id": customer_id, "n": 1, "oldest": due}
        else:
            entry["n"] += 1
            entry["oldest"] = min(entry["oldest"], due)
    return list(out.values())


def uncontacted_cases(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per customer: cases nobody has contacted yet in open incidents, the oldest added, and
    the incidents (in the order the cases were added). The cases come from the index
    cases_queue, incident by open incident."""
    rows = conn.execute(
        "SELECT customer_id, incident_id, added_at FROM cases "
        "WHERE incident_id IN (SELECT id FROM incidents WHERE status = 'open') "
        "AND state = 'new' ORDER BY customer_id, id"
    )
    out: dict[int, dict[str, Any]] = {}
    for customer_id, incident_id, added_at in rows:
        entry = out.get(customer_id)
        if entry is None:
            out[customer_id] = {"customer_id": customer_id, "n": 1, "oldest": added_at,
                                "incidents": f"INC-{incident_id}"}  # fmt: skip
        else:
            entry["n"] += 1
            entry["oldest"] = min(entry["oldest"], added_at)
            entry["incidents"] += f", INC-{incident_id}"
    return list(out.values())


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
        ) AS contacts GROUP BY customer_id HAVING count(*) >= :at_least  -- PostgreSQL 15 needs the alias
        """,
        {"since": since, "until": until, "at_least": at_least},
    ).fetchall()


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def on_a_cadence(conn: sqlite3.Connection, ids: list[int]) -> set[int]:
    """Which of these customers a cadence in force covers, their own or a tag's: the
    customers ocx.store.cadences.cadence_targets lists, asked of these few only."""
    found: set[int] = set()
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT customer_id FROM cadences WHERE stopped_at IS NULL "
                f"AND customer_id IN ({marks}) "
                f"UNION SELECT t.customer_id FROM tags t "
                f"JOIN cadences k ON k.tag = t.tag AND k.stopped_at IS NULL "
                f"WHERE t.customer_id IN ({marks})",
                [*chunk, *chunk],
            )
        )
    return found


def customer_names(conn: sqlite3.Connection, ids: list[int]) -> dict[int, sqlite3.Row]:
    out: dict[int, sqlite3.Row] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            f"SELECT id, email, name FROM customers WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        out.update({row["id"]: row for row in rows})
    return out
