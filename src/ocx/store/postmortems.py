"""SQL for postmortems and the incident facts they are prefilled from."""

from __future__ import annotations

import sqlite3
from typing import Any

from ocx.store import update_row


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    cursor = conn.execute(
        "INSERT INTO postmortems (incident_id, author, reviewer, body, facts, created_at, "
        "updated_at) VALUES (:incident_id, :author, :reviewer, :body, :facts, :created_at, "
        ":created_at)",
        row,
    )
    return int(cursor.lastrowid or 0)


def get(conn: sqlite3.Connection, postmortem_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM postmortems WHERE id = ?", (postmortem_id,)).fetchone()


def listing(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM postmortems ORDER BY id DESC").fetchall()


def update(conn: sqlite3.Connection, postmortem_id: int, fields: dict[str, Any]) -> None:
    update_row(conn, "postmortems", ("id", postmortem_id), fields)


def affected_by(conn: sqlite3.Connection, incident_id: int, column: str) -> list[tuple[str, int]]:
    """Affected customers counted by company, or by tag (a customer counts once per tag)."""
    if column == "company":
        sql = (
            "SELECT coalesce(c.company, '(none)'), count(*) FROM cases k "
            "JOIN customers c ON c.id = k.customer_id WHERE k.incident_id = ? "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    else:
        sql = (
            "SELECT t.tag, count(*) FROM cases k JOIN tags t ON t.customer_id = k.customer_id "
            "WHERE k.incident_id = ? GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    return [(name, n) for name, n in conn.execute(sql, (incident_id,))]
