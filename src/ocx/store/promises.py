"""SQL for the team, promises and cadences."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ocx.store import insert_row, update_row

TEAM_FIELDS = ("name", "email", "channel", "lead", "digest")
# The time a promise is due now: a snooze moves it, the original due_at stays for the record.
EFFECTIVE_DUE = "coalesce(p.snoozed_until, p.due_at)"


# --- team ----------------------------------------------------------------------------------


def member(conn: sqlite3.Connection, handle: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM team WHERE handle = ?", (handle,)).fetchone()


def insert_member(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO team (handle, name, email, channel, lead, digest, created_at, updated_at) "
        "VALUES (:handle, :name, :email, :channel, :lead, :digest, :created_at, :updated_at)",
        row,
    )


def update_member(conn: sqlite3.Connection, handle: str, fields: dict[str, Any]) -> None:
    columns = (*TEAM_FIELDS, "updated_at")
    update_row(conn, "team", ("handle", handle), {c: fields[c] for c in columns if c in fields})


def members(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM team ORDER BY lead DESC, handle").fetchall()


def leads(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM team WHERE lead = 1 ORDER BY handle").fetchall()


# --- promises ------------------------------------------------------------------------------

_PROMISE_SELECT = (
    "SELECT p.*, c.email AS customer_email, c.name AS customer_name, "
    f"{EFFECTIVE_DUE} AS effective_due FROM promises p LEFT JOIN customers c ON c.id = p.customer_id"
)


def insert_promise(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    return insert_row(conn, "promises", row)


def promise(conn: sqlite3.Connection, promise_id: int) -> sqlite3.Row | None:
    return conn.execute(f"{_PROMISE_SELECT} WHERE p.id = ?", (promise_id,)).fetchone()


def update_promise(conn: sqlite3.Connection, promise_id: int, fields: dict[str, Any]) -> None:
    update_row(conn, "promises", ("id", promise_id), fields)


def open_promises(conn: sqlite3.Connection, promise_ids: Sequence[int]) -> list[sqlite3.Row]:
    """Those of the promises that are still open (id, customer, text, due time), in the
    order given."""
    found: dict[int, sqlite3.Row] = {}
    for start in range(0, len(promise_ids), 500):
        chunk = list(promise_ids[start : start + 500])
        for row in conn.execute(
            "SELECT id, customer_id, text, due_at FROM promises WHERE state = 'open' "
            f"AND id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ):
            found[row["id"]] = row
    return [found[pid] for pid in dict.fromkeys(promise_ids) if pid in found]


def cancel_promises(
    conn: sqlite3.Connection, promise_ids: Sequence[int], at: str, note: str
) -> None:
    conn.executemany(
        "UPDATE promises SET state = 'cancelled', cancelled_at = ?, note = ? WHERE id = ?",
        ((at, note, pid) for pid in promise_ids),
    )


def promises(
    conn: sqlite3.Connection,
    *,
    which: str,
    now: str,
    owner: str | None = None,
    customer_id: int | None = None,
) -> list[sqlite3.Row]:
    """open, overdue, kept (done), broken (cancelled at or after the original due), all."""
    where = {
        "open": "p.state = 'open'",
        "overdue": f"p.state = 'open' AND {EFFECTIVE_DUE} < :now",
        "kept": "p.state = 'done'",
        "broken": "p.state = 'cancelled' AND p.cancelled_at >= p.due_at",
        "all": "1 = 1",
    }[which]
    params: dict[str, Any] = {"now": now}
    if owner is not None:
        where += " AND p.owner = :owner"
        params["owner"] = owner
    if customer_id is not None:
        where += " AND p.customer_id = :customer"
        params["customer"] = customer_id
    order = f"{EFFECTIVE_DUE}, p.id" if which in ("open", "overdue") else "p.due_at, p.id"
    return conn.execute(f"{_PROMISE_SELECT} WHERE {where} ORDER BY {order}", params).fetchall()


def due_promises(conn: sqlite3.Connection, until: str, owner: str | None) -> list[sqlite3.Row]:
    """Open promises due by `until`, soonest first: the partial index on open promises
    keeps this a range scan however many promises were ever made."""
    sql = (
        f"{_PROMISE_SELECT} WHERE p.state = 'open' AND {EFFECTIVE_DUE} <= :until"
        + (" AND p.owner = :owner" if owner else "")
        + f" ORDER BY {EFFECTIVE_DUE}, p.id"
    )
    return conn.execute(sql, {"until": until, "owner": owner}).fetchall()


def any_due_promise(conn: sqlite3.Connection, until: str, owner: str | None) -> bool:
    """Whether due_promises would return a row: the same condition on the same index,
    stopped at the first row (`ocx due` with nothing due, every few minutes from cron)."""
    sql = (
        f"SELECT 1 FROM promises p WHERE p.state = 'open' AND {EFFECTIVE_DUE} <= :until"
        + (" AND p.owner = :owner" if owner else "")
        + " LIMIT 1"
    )
    return conn.execute(sql, {"until": until, "owner": owner}).fetchone() is not None


def cadences_in_force(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Each cadence not stopped: its schedule and when it was set (a small table)."""
    return conn.execute(
        "SELECT id, schedule, set_at FROM cadences WHERE stopped_at IS NULL"
    ).fetchall()


def promises_about(
    conn: sqlite3.Connection, subject_type: str, subject_id: int
) -> list[sqlite3.Row]:
    return conn.execute(
        f"{_PROMISE_SELECT} WHERE p.subject_type = ? AND p.subject_id = ? ORDER BY p.due_at, p.id",
        (subject_type, subject_id),
    ).fetchall()


def open_promises_of(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        f"{_PROMISE_SELECT} WHERE p.state = 'open' AND p.customer_id = ? "
        f"ORDER BY {EFFECTIVE_DUE}, p.id",
        (customer_id,),
    ).fetchall()


# --- cadences ------------------------------------------------------------------------------


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
        SELECT k.id, t.customer_id, 1, k.set_at, max(k.set_at, coalesce(t.tagged_at, k.set_at))
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
