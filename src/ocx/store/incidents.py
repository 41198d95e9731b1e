"""SQL for incidents, their events, updates and the per-customer cases."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ocx.store import insert_row, update_row

CASE_STATES = ("new", "contacted", "acknowledged", "agreed", "resolved", "confirmed")
# A case is closed once resolved; `confirmed` (the customer says it is fixed) is resolved too.
_CLOSED = "('resolved', 'confirmed')"


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


# A fanout adds up to a million cases: each batch of customers is staged in a temporary
# table, in order (`seq`), and the cases and their timeline rows are written from it with
# INSERT ... SELECT, a statement each, not a statement (or a bound row) per case.


def stage_fanout(conn: sqlite3.Connection, batch: Iterable[tuple[int, int, str | None]]) -> None:
    """A fanout batch: (seq, customer id, concierge), `seq` being the order to add them in."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS fanout_batch "
        "(seq INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, concierge TEXT)"
    )
    conn.execute("DELETE FROM fanout_batch")
    conn.executemany(
        "INSERT INTO fanout_batch (seq, customer_id, concierge) VALUES (?, ?, ?)", batch
    )


def fanout_leave_out(conn: sqlite3.Connection, incident_id: int) -> set[int]:
    """Drop from the batch the customers who have a case in the incident by now (another
    fanout's, committed between two batches) or are no longer in the database (erased or
    merged away since they were found); returns who was dropped."""
    rows = conn.execute(
        "DELETE FROM fanout_batch WHERE EXISTS (SELECT 1 FROM cases k WHERE k.incident_id = ? "
        "AND k.customer_id = fanout_batch.customer_id) OR NOT EXISTS "
        "(SELECT 1 FROM customers c WHERE c.id = fanout_batch.customer_id) RETURNING customer_id",
        (incident_id,),
    )
    return {cid for (cid,) in rows}


def concierges_in_open_incidents(conn: sqlite3.Connection, incident_id: int) -> dict[int, str]:
    """Each customer's concierge in any other open incident (the most recent), to keep the
    same person: read once for a whole fanout into `incident_id`."""
    rows = conn.execute(
        "SELECT customer_id, concierge FROM cases WHERE incident_id IN "
        "(SELECT id FROM incidents WHERE status = 'open' AND id <> ?) "
        "AND concierge IS NOT NULL ORDER BY added_at, id",
        (incident_id,),
    )
    return {cid: concierge for cid, concierge in rows}


def case_customer_ids(conn: sqlite3.Connection, incident_id: int) -> set[int]:
    rows = conn.execute("SELECT customer_id FROM cases WHERE incident_id = ?", (incident_id,))
    return {cid for (cid,) in rows}


def add_fanout_cases(conn: sqlite3.Connection, incident_id: int, at: str) -> int:
    """A case for each customer left in the batch, in order; how many."""
    return conn.execute(
        "INSERT INTO cases (incident_id, customer_id, concierge, added_at, last_activity_at) "
        "SELECT ?, customer_id, concierge, ?, ? FROM fanout_batch ORDER BY seq",
        (incident_id, at, at),
    ).rowcount


def record_fanout(
    conn: sqlite3.Connection, incident_id: int, text: str, author: str | None, at: str
) -> None:
    """Each new case's line in its customer's timeline, as customers.record writes it:
    `TEXT (concierge HANDLE)`, kind `incident`, about the incident."""
    conn.execute(
        "INSERT INTO timeline (customer_id, at, kind, author, text, subject_type, subject_id) "
        "SELECT customer_id, ?, 'incident', ?, ? || coalesce(' (concierge ' || concierge || ')', "
        "''), 'incident', ? FROM fanout_batch ORDER BY seq",
        (at, author, text, incident_id),
    )


def open_load(conn: sqlite3.Connection, handles: Sequence[str]) -> dict[str, int]:
    """Open cases each concierge carries across open incidents."""
    load = dict.fromkeys(handles, 0)
    rows = conn.execute(
        "SELECT k.concierge, count(*) FROM cases k JOIN incidents i ON i.id = k.incident_id "
        f"WHERE i.status = 'open' AND k.state NOT IN {_CLOSED} AND k.concierge IS NOT NULL "
        "GROUP BY k.concierge"
    )
    for handle, n in rows:
        if handle in load:
            load[handle] = n
    return load


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
    where = f" AND k.state NOT IN {_CLOSED}" if open_only else ""
    return conn.execute(
        f"{_CASE_SELECT} WHERE k.incident_id = ?{where} ORDER BY k.id", (incident_id,)
    ).fetchall()


def update_case(conn: sqlite3.Connection, case_id: int, fields: dict[str, Any]) -> None:
    update_row(conn, "cases", ("id", case_id), fields)


_NEXT_COLUMNS = "id, concierge, state, claimed_by, claimed_at, last_activity_at"
_OPEN_STATES = ("new", "contacted", "acknowledged", "agreed")


def next_case(
    conn: sqlite3.Connection, incident_id: int, concierge: str, stale_before: str
) -> sqlite3.Row | None:
    """The one case to handle now: one this concierge already holds, else their own or an
    unassigned case (else anyone's); not yet contacted first, then the longest waiting.
    Cases another concierge claimed recently are left to them.

    As one sorted query this read every open case; at 100,000 it took most of a second.
    The order is the same, taken group by group: (1) a claim of theirs younger than the
    lease; (2) a claim older than the lease, anyone's; (3) unclaimed cases. Within each,
    their own or unassigned cases first, then `new` ones, then the oldest
    `last_activity_at`, then the lowest id. Claimed cases are few (a claim lasts until the
    next step) and are read whole; each kind of unclaimed case is one index probe with
    LIMIT 1 (cases_concierge_queue for their own and unassigned ones, cases_queue for
    anyone's), so the answer costs a dozen probes whatever the size."""
    candidates = [
        dict(row)
        for row in conn.execute(
            f"SELECT {_NEXT_COLUMNS} FROM cases WHERE incident_id = ? "
            f"AND claimed_by IS NOT NULL AND state NOT IN {_CLOSED}",
            (incident_id,),
        )
    ]
    candidates = [
        c for c in candidates
        if c["claimed_by"] == concierge
        or (c["claimed_at"] is not None and c["claimed_at"] < stale_before)
    ]  # fmt: skip
    probes = [
        ("concierge = ? AND state = ?", (concierge, state)) for state in _OPEN_STATES
    ] + [("concierge IS NULL AND state = ?", (state,)) for state in _OPEN_STATES] + [
        ("state = ?", (state,)) for state in _OPEN_STATES
    ]  # fmt: skip
    for where, params in probes:
        row = conn.execute(
            f"SELECT {_NEXT_COLUMNS} FROM cases WHERE incident_id = ? AND {where} "
            "AND claimed_by IS NULL ORDER BY last_activity_at, id LIMIT 1",
            (incident_id, *params),
        ).fetchone()
        if row is not None:
            candidates.append(dict(row))
    if not candidates:
        return None

    def rank(case: dict[str, Any]) -> tuple[int, bool, bool, str, int]:
        # As SQL sorted them: `claimed_by = me AND claimed_at >= stale` is 1, 0 or NULL (an
        # unclaimed case) in SQL's three-valued logic, and DESC puts NULL after 0.
        by, at = case["claimed_by"], case["claimed_at"]
        held = _and(
            None if by is None else by == concierge, None if at is None else at >= stale_before
        )
        mine = case["concierge"] in (concierge, None)
        return ({True: 0, False: 1, None: 2}[held], not mine, case["state"] != "new",
                case["last_activity_at"], case["id"])  # fmt: skip

    best = min(candidates, key=rank)
    return case_by_id(conn, best["id"])


def _and(left: bool | None, right: bool | None) -> bool | None:
    """SQL's AND, NULL being None."""
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def open_case_ids(conn: sqlite3.Connection, incident_id: int) -> set[int]:
    return {
        cid
        for (cid,) in conn.execute(
            f"SELECT id FROM cases WHERE incident_id = ? AND state NOT IN {_CLOSED}",
            (incident_id,),
        )
    }


def mark_updated(conn: sqlite3.Connection, case_ids: Iterable[int], at: str) -> None:
    """The cases an update was sent to: when they last had one."""
    conn.executemany(
        "UPDATE cases SET last_update_at = ? WHERE id = ?", ((at, cid) for cid in case_ids)
    )


def open_calls(conn: sqlite3.Connection, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """The open promises made about each case (calls for a person to make), oldest due
    first: {case id: [promise ids]}. The check that a resolved case is fixed is not a call."""
    return _open_about_cases(conn, case_ids, "coalesce(kind, '') <> 'check'")


def open_checks(conn: sqlite3.Connection, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """The open promises to check with the customer that a resolved case is fixed:
    {case id: [promise ids]}."""
    return _open_about_cases(conn, case_ids, "kind = 'check'")


def _open_about_cases(
    conn: sqlite3.Connection, case_ids: Sequence[int], kind: str
) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = list(case_ids[start : start + 500])
        rows = conn.execute(
            "SELECT id, subject_id FROM promises WHERE subject_type = 'case' AND state = 'open' "
            f"AND {kind} AND subject_id IN ({', '.join('?' * len(chunk))}) ORDER BY due_at, id",
            chunk,
        )
        for promise_id, case_id in rows:
            out.setdefault(case_id, []).append(promise_id)
    return out


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


def open_case_concierge(conn: sqlite3.Connection, customer_id: int) -> str | None:
    """The concierge of the customer's open case (the most recently active, when several
    are open), or None when no open case of theirs has one."""
    marks = ", ".join("?" * len(_OPEN_STATES))
    row = conn.execute(
        f"SELECT concierge FROM cases WHERE customer_id = ? AND state IN ({marks}) "
        "AND concierge IS NOT NULL ORDER BY last_activity_at DESC, id DESC LIMIT 1",
        (customer_id, *_OPEN_STATES),
    ).fetchone()
    return str(row[0]) if row else None
