"""SQL for the team: the people who make promises and get reminders."""

from __future__ import annotations

import sqlite3
from typing import Any

from ocx.store import update_row

TEAM_FIELDS = ("name", "email", "channel", "lead", "digest")


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
