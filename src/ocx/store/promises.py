"""SQL for promises: what someone said they would do for a customer, and by when."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ocx.store import insert_row, update_row

# The time a promise is due now: a snooze moves it, the original due_at stays for the record.
EFFECTIVE_DUE = "coalesce(p.snoozed_until, p.due_at)"

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


def insert_reply(conn: sqlite3.Connection, row: dict[str, Any]) -> int | None:
    """A reply promise (kind 'reply'), unless the customer has an open one already (the
    unique index promises_open_reply): its id, or None when one was open."""
    row = {**row, "kind": "reply"}
    columns = list(row)
    found = conn.execute(
        f"INSERT OR IGNORE INTO promises ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) RETURNING id",
        [row[c] for c in columns],
    ).fetchone()
    return int(found[0]) if found else None


def open_replies(conn: sqlite3.Connection, customer_ids: Sequence[int]) -> dict[int, int]:
    """The open reply promises of these customers (at most one each): customer -> promise id,
    in promise id order."""
    ids = list(dict.fromkeys(customer_ids))
    found: list[tuple[int, int]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.extend(
            (int(row[0]), int(row[1]))
            for row in conn.execute(
                "SELECT id, customer_id FROM promises WHERE kind = 'reply' AND state = 'open' "
                f"AND customer_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    return {customer_id: promise_id for promise_id, customer_id in sorted(found)}


# --- the promises a customer was made, and whether we kept them ------------------------------

# An incident's next-update promise (made to no one customer: customer_id NULL, subject the
# incident) was made to the customers whose case was open from the moment it was made until
# it was settled (done or cancelled) or came due, whichever was first: added at or before it
# was made, and not resolved before then. A case resolved earlier had its closing word, and
# the promise was no longer theirs; a case added later was covered by the next one.
_SETTLED_OR_DUE = (
    "CASE WHEN p.state = 'done' AND p.done_at < p.due_at THEN p.done_at "
    "WHEN p.state = 'cancelled' AND p.cancelled_at < p.due_at THEN p.cancelled_at "
    "ELSE p.due_at END"
)
COVERS = (
    "k.incident_id = p.subject_id AND k.added_at <= p.created_at "
    f"AND (k.resolved_at IS NULL OR k.resolved_at >= {_SETTLED_OR_DUE})"
)
NEXT_UPDATE = "p.customer_id IS NULL AND p.subject_type = 'incident'"

# Promises that came due and were not kept on time, judged by the ORIGINAL due time: kept
# late, cancelled at or after it, or still open past it (:now). UNKEPT is the WHERE of the
# partial index promises_missed (migration 0015) word for word, so SQLite reads that index
# (it holds every column MISSED reads) and not the table.
UNKEPT = (
    "(p.state = 'open' OR (p.state = 'done' AND p.done_at > p.due_at) "
    "OR (p.state = 'cancelled' AND p.cancelled_at >= p.due_at))"
)
MISSED = f"({UNKEPT} AND (p.state <> 'open' OR p.due_at < :now))"


def customer_links(where: str, *, also: str = "1 = 1", own_by_scan: bool = False) -> str:
    """(customer_id, promise_id) for every promise made to a customer: their own (customer_id
    set: what they were promised, their reply and check promises), a promise to no one
    customer about their case or their message (subject 'case' or 'inbox'), and the
    next-update promises that covered one of their cases (COVERS). `where` filters the
    customers ({c} is the customer column of each part), `also` the promises (on p).
    `own_by_scan`: read their own promises in one pass over the table, not through
    promises_customer (for every customer at once)."""
    own = "+p.customer_id" if own_by_scan else "p.customer_id"
    return f"""
        SELECT p.customer_id, p.id AS promise_id FROM promises p
         WHERE p.customer_id IS NOT NULL AND {where.format(c=own)} AND {also}
        UNION ALL
        SELECT k.customer_id, p.id FROM promises p JOIN cases k ON k.id = p.subject_id
         WHERE p.customer_id IS NULL AND p.subject_type = 'case'
           AND {where.format(c="k.customer_id")} AND {also}
        UNION ALL
        SELECT m.customer_id, p.id FROM promises p JOIN inbox m ON m.id = p.subject_id
         WHERE p.customer_id IS NULL AND p.subject_type = 'inbox'
           AND {where.format(c="m.customer_id")} AND {also}
        UNION ALL
        SELECT k.customer_id, p.id FROM cases k JOIN promises p
            ON p.subject_type = 'incident' AND p.subject_id = k.incident_id
         WHERE p.customer_id IS NULL AND {COVERS} AND {where.format(c="k.customer_id")}
           AND {also}"""


def promises_to_customer(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    """Every promise ever made to the customer (see customer_links), by original due time.
    Each part reads an index: promises_customer, cases_customer then promises_subject,
    inbox_customer then the primary key."""
    links = customer_links("{c} = :customer")
    return conn.execute(
        f"{_PROMISE_SELECT} WHERE p.id IN (SELECT promise_id FROM ({links}) AS links) "
        "ORDER BY p.due_at, p.id",
        {"customer": customer_id},
    ).fetchall()
