"""SQL for erasing a customer (`ocx customer forget`), their tombstones, and reading all that
is held about one customer (`ocx customer export`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ocx.store import engine_of

# Every (table, column) that points at a customer, and how `erase` deals with its rows.
# tests/test_forget_export.py fails when a migration adds a reference that is not listed here.
CUSTOMER_REFERENCES = {
    ("tags", "customer_id"): "deleted",
    ("customer_sources", "customer_id"): "deleted",
    ("timeline", "customer_id"): "deleted",
    ("conversations", "customer_id"): "deleted, with their messages",
    ("promises", "customer_id"): "deleted",
    ("cadences", "customer_id"): "deleted",
    ("outbox", "customer_id"): "deleted, with reminders of their promises and cases",
    ("incident_events", "customer_id"): "deleted",
    ("cases", "customer_id"): "deleted",
    ("inbox", "customer_id"): "deleted, with unmatched mail from any of their addresses",
}


def _ids(values: Iterable[Any]) -> str:
    """A list of values as one JSON parameter, read back with json_each (no 999-limit)."""
    return json.dumps(list(values))


# --- tombstones ----------------------------------------------------------------------------


def salt(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT salt FROM forgotten_salt WHERE id = 1").fetchone()[0])


def tombstone_hashes(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT hash FROM forgotten_keys")}


def insert_tombstone(
    conn: sqlite3.Connection, erased_by: str | None, erased_at: str, hashes: Iterable[str]
) -> int:
    cursor = conn.execute(
        "INSERT INTO forgotten (erased_by, erased_at) VALUES (?, ?)", (erased_by, erased_at)
    )
    tombstone = int(cursor.lastrowid or 0)
    conn.executemany(
        engine_of(conn).insert_or_ignore("forgotten_keys", ("forgotten_id", "hash")),
        [(tombstone, h) for h in sorted(set(hashes))],
    )
    return tombstone


def tombstones(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT id, erased_by, erased_at FROM forgotten ORDER BY id").fetchall()


# --- what is held about one customer -------------------------------------------------------


def identities(conn: sqlite3.Connection, customer_id: int) -> list[tuple[str, str]]:
    """(source, external_id) of every name the customer goes by; their own email is
    ('email', address), like the addresses of customers merged into them."""
    own = conn.execute("SELECT email FROM customers WHERE id = ?", (customer_id,)).fetchone()
    rows = conn.execute(
        "SELECT source, external_id FROM customer_sources WHERE customer_id = ? "
        "ORDER BY source, external_id",
        (customer_id,),
    ).fetchall()
    return ([("email", own[0])] if own else []) + [(r[0], r[1]) for r in rows]


def sources(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    """Each source record, with the profile it last imported (JSON text)."""
    return conn.execute(
        "SELECT source, external_id, created_at, imported FROM customer_sources "
        "WHERE customer_id = ? ORDER BY source, external_id",
        (customer_id,),
    ).fetchall()


def tags(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT tag, tagged_at FROM tags WHERE customer_id = ? ORDER BY tag", (customer_id,)
    ).fetchall()


def cadences(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT id, schedule, owner, set_at, stopped_at FROM cadences WHERE customer_id = ? "
        "ORDER BY set_at, id",
        (customer_id,),
    ).fetchall()


def cases(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT k.*, i.title AS incident_title FROM cases k "
        "JOIN incidents i ON i.id = k.incident_id WHERE k.customer_id = ? ORDER BY k.id",
        (customer_id,),
    ).fetchall()


def incident_events(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT id, incident_id, at, kind, author, text FROM incident_events "
        "WHERE customer_id = ? ORDER BY at, id",
        (customer_id,),
    ).fetchall()


_OUTBOX_OF = """
SELECT * FROM outbox
 WHERE customer_id = :customer
    OR promise_id IN (SELECT id FROM promises WHERE customer_id = :customer)
    OR case_id IN (SELECT id FROM cases WHERE customer_id = :customer)
"""


def outbox(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    """Messages to the customer and reminders about them (their promises, cadence, cases),
    with the fallbacks sent in their place."""
    rows = conn.execute(f"{_OUTBOX_OF} ORDER BY id", {"customer": customer_id}).fetchall()
    ids = [row["id"] for row in rows]
    fallbacks = conn.execute(
        "SELECT * FROM outbox WHERE fallback_of IN (SELECT value FROM json_each(?)) "
        "AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id",
        (_ids(ids), _ids(ids)),
    ).fetchall()
    return sorted([*rows, *fallbacks], key=lambda row: row["id"])


def digests_with(conn: sqlite3.Connection, keys: Sequence[str]) -> list[sqlite3.Row]:
    """Digest messages that carry any of these messages (by key) as one of their items."""
    if not keys:
        return []
    # The items are read here rather than in SQL: SQLite's json_valid and json_each(x, path)
    # have no PostgreSQL equivalent the translation could map them to, and forget is rare.
    wanted = set(keys)
    found = []
    for row in conn.execute("SELECT id, payload FROM outbox WHERE kind = 'digest' ORDER BY id"):
        try:
            items = json.loads(row["payload"]).get("items")
        except (TypeError, ValueError, AttributeError):
            continue  # not a JSON object: no items to take out
        if isinstance(items, list) and any(isinstance(k, str) and k in wanted for k in items):
            found.append(row)
    return found


def rewrite_digest(
    conn: sqlite3.Connection, message_id: int, subject: str, body: str, payload: str
) -> None:
    conn.execute(
        "UPDATE outbox SET subject = ?, body = ?, payload = ? WHERE id = ?",
        (subject, body, payload, message_id),
    )


def delete_outbox(conn: sqlite3.Connection, message_ids: Sequence[int]) -> None:
    # Fallbacks point at what they stand in for: they go first.
    conn.execute(
        "UPDATE outbox SET fallback_of = NULL WHERE fallback_of IN "
        "(SELECT value FROM json_each(?))",
        (_ids(message_ids),),
    )
    conn.execute(
        "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?))", (_ids(message_ids),)
    )


# --- erasing -------------------------------------------------------------------------------


def secure_delete(conn: sqlite3.Connection, on: bool) -> bool:
    """Turn SQLite's secure_delete on or off (deleted content overwritten with zeros, free
    pages included); returns whether it was on."""
    return engine_of(conn).secure_delete(conn, on)


def erase(conn: sqlite3.Connection, customer_id: int) -> None:
    """Delete every row held about the customer (the outbox apart: see delete_outbox).
    Each table is named, not left to ON DELETE CASCADE, so a reader sees what goes."""
    params = {"customer": customer_id}
    # First, while their addresses are still known: mail from them that waits unmatched too.
    conn.execute(
        "DELETE FROM inbox WHERE customer_id = :customer OR (customer_id IS NULL AND "
        "from_address IN (SELECT email FROM customers WHERE id = :customer UNION "
        "SELECT external_id FROM customer_sources WHERE customer_id = :customer "
        "AND source = 'email'))",
        params,
    )
    conn.execute(
        "DELETE FROM messages WHERE conversation_id IN "
        "(SELECT id FROM conversations WHERE customer_id = :customer)",
        params,
    )
    for table in (
        "conversations", "timeline", "tags", "customer_sources", "promises", "cadences",
        "incident_events", "cases",
    ):  # fmt: skip
        conn.execute(f'DELETE FROM "{table}" WHERE customer_id = :customer', params)
    conn.execute("DELETE FROM customer_search WHERE rowid = :customer", params)
    conn.execute("DELETE FROM customers WHERE id = :customer", params)


def compact_search(conn: sqlite3.Connection) -> None:
    """Merge the full-text index into one segment: a deleted row's words otherwise stay in
    older segments (marked deleted, still in the file) until FTS5 merges them some day."""
    engine_of(conn).optimize_search(conn, "customer_search")


def vacuum(conn: sqlite3.Connection) -> None:
    """Rewrite the file from its live rows only: free pages and the unused space inside
    pages (where earlier versions of rows linger) are gone afterwards."""
    engine_of(conn).vacuum(conn)


def checkpoint(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the database and empty it; False when a reader kept it from
    finishing (the WAL still holds earlier frames)."""
    return engine_of(conn).checkpoint(conn)
