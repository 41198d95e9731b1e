"""SQL for imports: conversations, messages and the sources that tie records to customers."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ocx.store import engine_of

CONVERSATION_FIELDS = ("customer_id", "subject", "status", "created_at", "updated_at", "data")
MESSAGE_FIELDS = (
    "conversation_id", "author", "direction", "public", "body", "created_at", "preview",
)  # fmt: skip


def _in(
    conn: sqlite3.Connection, column: str, values: Sequence[Any], sql_type: str = "TEXT"
) -> list[tuple[str, list[Any]]]:
    """`column IN (values)` conditions, each with its parameters (see Engine.in_values),
    the values once each."""
    return engine_of(conn).in_values(column, list(dict.fromkeys(values)), sql_type)


def source_row(conn: sqlite3.Connection, source: str, external_id: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT customer_id, imported FROM customer_sources WHERE source = ? AND external_id = ?",
        (source, external_id),
    ).fetchone()


def set_source(
    conn: sqlite3.Connection, customer_id: int, source: str, external_id: str,
    imported: str, at: str,
) -> None:  # fmt: skip
    """Tie (source, external_id) to a customer and remember the profile it last imported."""
    conn.execute(
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at, imported) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, external_id) "
        "DO UPDATE SET imported = excluded.imported, customer_id = excluded.customer_id",
        (customer_id, source, external_id, at, imported),
    )


def source_rows(
    conn: sqlite3.Connection, source: str, external_ids: Sequence[str]
) -> dict[str, tuple[int, str | None]]:
    """source_row for many external ids: (customer_id, imported) by external id."""
    out: dict[str, tuple[int, str | None]] = {}
    for where, params in _in(conn, "external_id", external_ids):
        rows = conn.execute(
            "SELECT external_id, customer_id, imported FROM customer_sources WHERE source = ? "
            f"AND {where}",
            (source, *params),
        )
        out.update({ext: (cid, imported) for ext, cid, imported in rows})
    return out


def set_sources(
    conn: sqlite3.Connection, source: str, rows: Sequence[tuple[int, str, str]], at: str
) -> None:
    """set_source for many (customer_id, external_id, imported), in order (a later row for
    the same external id wins)."""
    conn.executemany(
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at, imported) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, external_id) "
        "DO UPDATE SET imported = excluded.imported, customer_id = excluded.customer_id",
        [(customer_id, source, external_id, at, imported)
         for customer_id, external_id, imported in rows],
    )  # fmt: skip


def customer_ids_by_source(
    conn: sqlite3.Connection, source: str, external_ids: Sequence[str]
) -> dict[str, int]:
    out: dict[str, int] = {}
    for where, params in _in(conn, "external_id", external_ids):
        rows = conn.execute(
            f"SELECT external_id, customer_id FROM customer_sources WHERE source = ? AND {where}",
            (source, *params),
        )
        out.update({ext: cid for ext, cid in rows})
    return out


def customer_ids_by_email(conn: sqlite3.Connection, emails: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (by_source, params), (by_email, _) in zip(
        _in(conn, "external_id", emails), _in(conn, "email", emails), strict=True
    ):
        rows = conn.execute(  # merged-away addresses (source 'email') still find their customer
            f"SELECT external_id, customer_id FROM customer_sources WHERE source = 'email' "
            f"AND {by_source} UNION ALL SELECT email, id FROM customers WHERE {by_email}",
            (*params, *params),
        )
        out.update({email: cid for email, cid in rows})  # a live customer's own email wins
    return out


def _existing(
    conn: sqlite3.Connection, table: str, fields: Sequence[str], source: str,
    external_ids: Sequence[str],
) -> dict[str, sqlite3.Row]:  # fmt: skip
    out: dict[str, sqlite3.Row] = {}
    for where, params in _in(conn, "external_id", external_ids):
        rows = conn.execute(
            f"SELECT id, external_id, {', '.join(fields)} FROM {table} WHERE source = ? "
            f"AND {where}",
            (source, *params),
        )
        out.update({row["external_id"]: row for row in rows})
    return out


def existing_conversations(
    conn: sqlite3.Connection, source: str, external_ids: Sequence[str]
) -> dict[str, sqlite3.Row]:
    return _existing(conn, "conversations", CONVERSATION_FIELDS, source, external_ids)


def existing_messages(
    conn: sqlite3.Connection, source: str, external_ids: Sequence[str]
) -> dict[str, sqlite3.Row]:
    return _existing(conn, "messages", MESSAGE_FIELDS, source, external_ids)


_NEW_CONVERSATION = (
    "customer_id", "source", "external_id", "subject", "status", "created_at", "updated_at",
    "imported_at", "data",
)  # fmt: skip
_NEW_MESSAGE = (
    "conversation_id", "source", "external_id", "author", "direction", "public", "body",
    "created_at", "preview",
)  # fmt: skip


def insert_conversations(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    engine_of(conn).insert_rows(
        conn, "conversations", _NEW_CONVERSATION, ([r[c] for c in _NEW_CONVERSATION] for r in rows)
    )


def update_conversations(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        "UPDATE conversations SET customer_id = :customer_id, subject = :subject, "
        "status = :status, created_at = :created_at, updated_at = :updated_at, "
        "imported_at = :imported_at, data = :data WHERE id = :id",
        rows,
    )


def insert_messages(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    engine_of(conn).insert_rows(
        conn, "messages", _NEW_MESSAGE, ([r[c] for c in _NEW_MESSAGE] for r in rows)
    )


def update_messages(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    conn.executemany(
        "UPDATE messages SET conversation_id = :conversation_id, author = :author, "
        "direction = :direction, public = :public, body = :body, created_at = :created_at, "
        "preview = :preview WHERE id = :id",
        rows,
    )


# What an import writes: the tables whose statistics it refreshes as they grow.
WRITTEN = (
    "customers", "tags", "customer_sources", "conversations", "messages", "customer_search",
)  # fmt: skip


def analyze(conn: sqlite3.Connection) -> None:
    """Refresh the planner's statistics of the tables an import writes (PostgreSQL)."""
    engine_of(conn).analyze(conn, WRITTEN)


def drop_previews(conn: sqlite3.Connection, conversation_ids: set[int]) -> set[int]:
    """Delete the preview stand-ins of these conversations (their threads have come); the
    conversations that had one."""
    dropped: set[int] = set()
    for where, params in _in(conn, "conversation_id", sorted(conversation_ids), "BIGINT"):
        dropped.update(
            row[0]
            for row in conn.execute(
                f"DELETE FROM messages WHERE preview = 1 AND {where} RETURNING conversation_id",
                params,
            )
        )
    return dropped
