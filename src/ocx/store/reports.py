"""SQL for reports: promise outcomes, incident contact times, who is at risk.

Every statement here reads an index made for it (migration 0009_report_speed), so a report
costs what it shows, not the size of the history: tests/test_query_plans_reports.py holds
each one to its index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from ocx.store import engine_of

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


# --- follow-through: the last promises made to each customer, judged -------------------------


def _came_due(p: str) -> str:
    """The promise `p` counts in follow-through at :now (ocx.promises.came_due): due by now
    and kept, kept late, or broken (cancelled at or after its due time, or open past it);
    not cancelled before it was due, nor open at its due time itself."""
    return (
        f"{p}.due_at <= :now AND ({p}.state = 'done' "
        f"OR ({p}.state = 'cancelled' AND {p}.cancelled_at >= {p}.due_at) "
        f"OR ({p}.state = 'open' AND {p}.due_at < :now))"
    )


def _kept_on_time(p: str) -> str:
    return f"CASE WHEN {p}.state = 'done' AND {p}.done_at <= {p}.due_at THEN 1 ELSE 0 END"


def _linked(*, lateral: bool) -> str:
    """(due_at, id, kept on time) of the promises made to no one customer that are the
    candidate's (ocx.store.promises.customer_links): about their case or their message,
    and the next updates that covered their case; of each case or message, the last :last
    that came due, read backwards from :now through promises_to_no_one (each once: a next
    update may have covered two of their cases). `lateral`: PostgreSQL joins each case to its
    last promises with LATERAL; SQLite, which has none, looks them up by id from a
    correlated list (PostgreSQL would run that list once per promise of the table)."""
    from ocx.store.promises import COVERS

    covers = COVERS.replace("p.", "q.")

    def part(table: str, alias: str, subject: str, id_: str, also: str = "") -> str:
        last = (
            f"FROM promises q WHERE q.customer_id IS NULL AND q.subject_type = '{subject}' "
            f"AND q.subject_id = {id_}{also} AND {_came_due('q')} "
            "ORDER BY q.due_at DESC, q.id DESC LIMIT :last"
        )
        row = f"SELECT p.due_at, p.id, {_kept_on_time('p')} AS on_time FROM {table} {alias}"
        mine = f"{alias}.customer_id = candidates.customer_id"
        if lateral:
            return (
                f"{row} CROSS JOIN LATERAL (SELECT q.id, q.due_at, q.state, q.done_at {last}) "
                f"AS p WHERE {mine}"
            )
        return f"{row} CROSS JOIN promises p WHERE {mine} AND p.id IN (SELECT q.id {last})"

    return " UNION ".join(
        (
            part("cases", "k", "case", "k.id"),
            part("inbox", "m", "inbox", "m.id"),
            part("cases", "k", "incident", "k.incident_id", f" AND {covers}"),
        )
    )


def _any_linked() -> str:
    """A row when the candidate was made a promise to no one customer that came due (as
    _linked, without reading them in order): most customers were made none, and for them
    their own last promises are all there is to read."""
    from ocx.store.promises import COVERS

    def part(table: str, alias: str, subject: str, id_: str, also: str = "") -> str:
        return (
            f"SELECT 1 FROM {table} {alias} CROSS JOIN promises p "
            f"WHERE {alias}.customer_id = candidates.customer_id AND p.customer_id IS NULL "
            f"AND p.subject_type = '{subject}' AND p.subject_id = {id_}{also} "
            f"AND {_came_due('p')}"
        )

    return " UNION ALL ".join(
        (
            part("cases", "k", "case", "k.id"),
            part("inbox", "m", "inbox", "m.id"),
            part("cases", "k", "incident", "k.incident_id", f" AND {COVERS}"),
        )
    )


def _follow_through_sql(*, lateral: bool) -> str:
    """One row per candidate: customer_id and `judged`, the misses, kept on time and
    earliest due time of the last :last promises made to them that came due, as text
    ('misses kept due_at'): SQLite has no LATERAL join, and a scalar subquery gives one
    value, so the three come in one and each customer's promises are read once."""
    from ocx.store.promises import COVERS, MISSED

    own = (
        f"(SELECT p.due_at, p.id, {_kept_on_time('p')} AS on_time "
        f"FROM promises p WHERE p.customer_id = candidates.customer_id AND {_came_due('p')} "
        "ORDER BY p.due_at DESC, p.id DESC LIMIT :last) AS own"
    )
    # SQLite's || binds tighter than -, PostgreSQL's looser: the parentheses are for both
    judge = "(count(*) - sum(on_time)) || ' ' || sum(on_time) || ' ' || min(due_at)"
    return f"""
        WITH unkept AS MATERIALIZED (
            SELECT p.id, p.subject_type, p.subject_id, p.state, p.due_at, p.done_at,
                   p.cancelled_at, p.created_at
              FROM promises p WHERE p.customer_id IS NULL AND {MISSED}
        ),
        candidates AS MATERIALIZED (
            SELECT p.customer_id FROM promises p
             WHERE p.customer_id IS NOT NULL AND {MISSED}
             GROUP BY p.customer_id HAVING count(*) >= :missed
            UNION
            SELECT k.customer_id FROM unkept CROSS JOIN cases k
             WHERE unkept.subject_type = 'case' AND k.id = unkept.subject_id
            UNION
            SELECT m.customer_id FROM unkept CROSS JOIN inbox m
             WHERE unkept.subject_type = 'inbox' AND m.id = unkept.subject_id
               AND m.customer_id IS NOT NULL
            UNION
            SELECT k.customer_id FROM unkept CROSS JOIN cases k
             WHERE unkept.subject_type = 'incident' AND k.incident_id = unkept.subject_id
               AND {COVERS.replace("p.", "unkept.")}
        )
        SELECT candidates.customer_id,
               CASE WHEN EXISTS ({_any_linked()})
                    THEN (SELECT {judge} FROM (
                              SELECT * FROM {own}
                              UNION {_linked(lateral=lateral)}
                              ORDER BY 1 DESC, 2 DESC LIMIT :last) AS last)
                    ELSE (SELECT {judge} FROM {own}) END AS judged
          FROM candidates"""


def follow_through(
    conn: sqlite3.Connection, now: str, *, last: int, missed: int
) -> list[tuple[int, int, int, str]]:
    """(customer, promises judged, kept on time, the earliest of their due times) of the
    customers with at least `missed` of the last `last` promises made to them that came due
    by `now` not kept on time: kept late, or broken (ocx.promises.came_due, judged against
    the original due time; every promise ocx.store.promises.customer_links names).

    Bounded: only a customer with `missed` promises not kept on time ever (their own, from
    the partial index promises_missed in its order), or named by a promise to no one
    customer that was not (a range of promises_missed, materialized), is a candidate; each
    candidate's own last promises are the first `last` of promises_customer_due read
    backwards from `now`, and those made to no one customer about their cases and messages
    the first `last` of promises_to_no_one per case or message, read only when there is one
    (EXISTS). Nobody's other promises are read."""
    statement = _follow_through_sql(lateral=engine_of(conn).name == "postgresql")
    out = []
    for customer_id, judged in conn.execute(
        statement, {"now": now, "last": last, "missed": missed}
    ):
        if judged is None:  # nothing came due (cannot be: a candidate missed one)
            continue
        misses, kept, oldest = judged.split(" ")
        if int(misses) >= missed:
            out.append((customer_id, int(misses) + int(kept), int(kept), oldest))
    return out
