"""SQL for inbound mail (`ocx inbox`): the inbox table, each message once by its key."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

COLUMNS = (
    "message_id", "from_address", "from_name", "subject", "body", "sent_at", "received_at",
    "in_reply_to", "reference_ids", "source", "customer_id", "timeline_id", "outbox_id",
    "case_id", "promise_id",
)  # fmt: skip
_CHUNK = 500  # message ids per query: well below either engine's parameter limit


def taken(conn: sqlite3.Connection, message_ids: Sequence[str]) -> set[str]:
    """Which of these keys the inbox holds already."""
    found: set[str] = set()
    ids = list(dict.fromkeys(message_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.update(
            str(row[0])
            for row in conn.execute(
                f"SELECT message_id FROM inbox WHERE message_id IN ({marks})", chunk
            )
        )
    return found


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    """Store one message (its key not yet taken: the caller holds the write lock)."""
    cursor = conn.execute(
        f"INSERT INTO inbox ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
        "RETURNING id",
        [row.get(c) for c in COLUMNS],
    )
    return int(cursor.fetchone()[0])


def set_filed(
    conn: sqlite3.Connection, inbox_id: int, *, timeline_id: int, outbox_id: int | None,
    case_id: int | None, promise_id: int | None,
) -> None:  # fmt: skip
    """A filed message's timeline entry and the ocx message, case and promise it answers."""
    conn.execute(
        "UPDATE inbox SET timeline_id = ?, outbox_id = ?, case_id = ?, promise_id = ? WHERE id = ?",
        (timeline_id, outbox_id, case_id, promise_id, inbox_id),
    )


def by_message_id(conn: sqlite3.Connection, message_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM inbox WHERE message_id = ?", (message_id,)).fetchone()


def unmatched(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Mail filed under nobody, oldest first."""
    return conn.execute(
        "SELECT * FROM inbox WHERE customer_id IS NULL ORDER BY received_at, id"
    ).fetchall()


def file_under(
    conn: sqlite3.Connection, inbox_id: int, customer_id: int, at: str, by: str | None
) -> bool:
    """File unmatched mail under a customer; False when it is filed already (by another
    command in between: the row count says who won)."""
    cursor = conn.execute(
        "UPDATE inbox SET customer_id = ?, filed_at = ?, filed_by = ? "
        "WHERE id = ? AND customer_id IS NULL",
        (customer_id, at, by, inbox_id),
    )
    return cursor.rowcount == 1
