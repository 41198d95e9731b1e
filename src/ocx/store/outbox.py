"""SQL for the outbox: every message that leaves ocx, claimed before it is sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ocx.store import engine_of

# The delivery note of an update stopped because its case was resolved (not replaced).
CASE_RESOLVED = "not sent: the case was resolved"

_COLUMNS = (
    "key", "kind", "channel", "recipient", "subject", "body", "payload", "promise_id",
    "customer_id", "next_attempt_at", "created_at", "fallback_of", "case_id",
)  # fmt: skip


def enqueue(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    """Add a message unless its key is already there (then nothing happens): the key is what
    makes a reminder, however often cron asks for it, one message."""
    values = {c: row.get(c) for c in _COLUMNS}
    cursor = conn.execute(engine_of(conn).insert_or_ignore("outbox", _COLUMNS, named=True), values)
    return cursor.rowcount > 0


def enqueue_many(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> int:
    """`enqueue` for many messages in one statement; how many were added (a key already
    there adds nothing)."""
    cursor = conn.executemany(
        engine_of(conn).insert_or_ignore("outbox", _COLUMNS),
        ([row.get(c) for c in _COLUMNS] for row in rows),
    )
    return max(cursor.rowcount, 0)


def _prefix_range(key_prefix: str) -> tuple[str, str]:
    """Keys starting with `key_prefix` are exactly those in [low, high): a range the key's
    unique index reads, where `substr(key, ...) = ?` read every message."""
    return key_prefix, key_prefix[:-1] + chr(ord(key_prefix[-1]) + 1)


def mark_obsolete(conn: sqlite3.Connection) -> int:
    """Messages that must never arrive: promise messages waiting to go out for a promise that
    was done, cancelled or snoozed since they were queued, and incident updates for a case
    resolved since (resolving marks them too; this catches any queued in between)."""
    cursor = conn.execute(
        """
        UPDATE outbox SET state = 'obsolete'
         WHERE state IN ('pending', 'digested') AND promise_id IS NOT NULL
           AND kind IN ('reminder', 'overdue', 'escalation')
           AND EXISTS (
               SELECT 1 FROM promises p WHERE p.id = outbox.promise_id
                  AND (p.state <> 'open'
                       OR coalesce(p.snoozed_until, p.due_at)
                          <> json_extract(outbox.payload, '$.due_at')))
        """
    )
    stale = conn.execute(
        "UPDATE outbox SET state = 'obsolete', delivery_note = ? WHERE state IN ('pending', 'dead') "
        "AND kind = 'incident-update' AND case_id IN "
        "(SELECT id FROM cases WHERE state IN ('resolved', 'confirmed'))",
        (CASE_RESOLVED,),
    )
    return cursor.rowcount + stale.rowcount


def obsolete_for_cases(conn: sqlite3.Connection, case_ids: Sequence[int]) -> int:
    """A resolved case's updates not yet delivered (held for quiet hours, waiting for a
    retry, queued, or given up and retryable): never sent."""
    count = 0
    for start in range(0, len(case_ids), 500):
        chunk = list(case_ids[start : start + 500])
        count += conn.execute(
            "UPDATE outbox SET state = 'obsolete', delivery_note = ? WHERE kind = 'incident-update' "
            f"AND state IN ('pending', 'dead') AND case_id IN ({', '.join('?' * len(chunk))})",
            [CASE_RESOLVED, *chunk],
        ).rowcount
    return count


def claim(
    conn: sqlite3.Connection, *, now: str, token: str, stale_before: str
) -> list[sqlite3.Row]:
    """Take every message ready to go (and any left 'sending' by a run that died before
    `stale_before`); the caller holds a write transaction, so two runs never take the same."""
    conn.execute(
        "UPDATE outbox SET state = 'sending', claim = ?, claimed_at = ? "
        "WHERE (state = 'pending' AND next_attempt_at <= ?) "
        "   OR (state = 'sending' AND claimed_at < ?)",
        (token, now, now, stale_before),
    )
    return conn.execute(
        "SELECT * FROM outbox WHERE state = 'sending' AND claim = ? ORDER BY id", (token,)
    ).fetchall()


def mark_sent(conn: sqlite3.Connection, message_id: int, at: str, note: str) -> None:
    """Recorded whoever holds the claim now: it went out, so no later run may send it."""
    conn.execute(
        "UPDATE outbox SET state = 'sent', sent_at = ?, delivery_note = ?, "
        "attempts = attempts + 1, last_error = NULL WHERE id = ? AND state <> 'sent'",
        (at, note, message_id),
    )


def release(conn: sqlite3.Connection, message_ids: Sequence[int], token: str, at: str) -> int:
    """Claimed but not tried (their channel is down this run): back to waiting, no attempt
    counted, due again at `at`."""
    count = 0
    for message_id in message_ids:
        count += conn.execute(
            "UPDATE outbox SET state = 'pending', claim = NULL, claimed_at = NULL, "
            "next_attempt_at = ? WHERE id = ? AND claim = ? AND state = 'sending'",
            (at, message_id, token),
        ).rowcount
    return count


def mark_failed(
    conn: sqlite3.Connection, message_id: int, token: str, *, error: str, retry_at: str | None
) -> None:
    """One more failed attempt: back to pending for a retry, or dead when out of attempts."""
    conn.execute(
        "UPDATE outbox SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), "
        "attempts = attempts + 1, last_error = ? WHERE id = ? AND claim = ?",
        ("pending" if retry_at else "dead", retry_at, error, message_id, token),
    )


def message(conn: sqlite3.Connection, message_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM outbox WHERE id = ?", (message_id,)).fetchone()


def messages(
    conn: sqlite3.Connection, *, failed_only: bool, limit: int | None
) -> list[sqlite3.Row]:
    where = "WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')" if failed_only else ""
    sql = f"SELECT * FROM outbox {where} ORDER BY id DESC"
    params: list[Any] = []
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params).fetchall()


def make_due(conn: sqlite3.Connection, message_id: int | None, now: str) -> int:
    """`ocx outbox retry`: failed (and given-up) messages become due now, attempts reset."""
    sql = (
        "UPDATE outbox SET state = 'pending', next_attempt_at = ?, attempts = 0 "
        "WHERE last_error IS NOT NULL AND state IN ('pending', 'dead')"
    )
    params: list[Any] = [now]
    if message_id is not None:
        sql += " AND id = ?"
        params.append(message_id)
    return conn.execute(sql, params).rowcount


def stand_down(conn: sqlite3.Connection, keys: list[str]) -> None:
    """Items folded into a digest: kept (so their keys are never queued again), not sent."""
    conn.executemany(
        "UPDATE outbox SET state = 'digested' WHERE key = ? AND state = 'pending'",
        [(key,) for key in keys],
    )


def still_digested(conn: sqlite3.Connection, keys: list[str]) -> set[str]:
    """Which of a digest's items are still wanted (not made obsolete since it was written)."""
    out: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = conn.execute(
            f"SELECT key FROM outbox WHERE state = 'digested' AND key IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        out.update(key for (key,) in rows)
    return out


def mark_obsolete_one(conn: sqlite3.Connection, message_id: int, token: str) -> None:
    conn.execute(
        "UPDATE outbox SET state = 'obsolete' WHERE id = ? AND claim = ?", (message_id, token)
    )


def renew_claim(conn: sqlite3.Connection, message_id: int, token: str, now: str) -> bool:
    """Still ours? A run slower than the lease may have lost the message to a later run,
    which then sends it; renewing just before each send keeps that window to one message."""
    cursor = conn.execute(
        "UPDATE outbox SET claimed_at = ? WHERE id = ? AND claim = ? AND state = 'sending'",
        (now, message_id, token),
    )
    return cursor.rowcount == 1


def supersede(
    conn: sqlite3.Connection, key_prefix: str, customer_ids: Sequence[int], now: str
) -> set[int]:
    """Updates held for later (quiet hours) that a newer one replaces: the customer gets the
    latest news once, not a pile of stale ones when their night ends. Returns the customers
    who had one. Each customer's messages are found through outbox_customer, 500 customers
    a statement."""
    low, high = _prefix_range(key_prefix)
    replaced: set[int] = set()
    for start in range(0, len(customer_ids), 500):
        chunk = list(customer_ids[start : start + 500])
        rows = conn.execute(
            "UPDATE outbox SET state = 'obsolete' WHERE state = 'pending' AND attempts = 0 "
            f"AND customer_id IN ({', '.join('?' * len(chunk))}) AND next_attempt_at > ? "
            "AND key >= ? AND key < ? RETURNING customer_id",
            [*chunk, now, low, high],
        )
        replaced.update(cid for (cid,) in rows)
    return replaced


def by_update(conn: sqlite3.Connection, key_prefix: str) -> dict[int, dict[str, Any]]:
    """For an incident's updates (keys `PREFIX{update}:customer:{id}`): how many of each
    update's messages were sent, replaced, stopped (case resolved first) or are still
    waiting, and when they went out."""
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        "SELECT key, state, sent_at, delivery_note FROM outbox WHERE key >= ? AND key < ?",
        _prefix_range(key_prefix),
    )
    for key, state, sent_at, note in rows:
        update_id = int(key[len(key_prefix) :].split(":", 1)[0])
        entry = out.setdefault(update_id, {"sent": 0, "replaced": 0, "stopped": 0, "waiting": 0,
                                           "first_sent_at": None, "last_sent_at": None})  # fmt: skip
        if state == "sent":
            entry["sent"] += 1
            entry["first_sent_at"] = min(filter(None, (entry["first_sent_at"], sent_at)))
            entry["last_sent_at"] = max(filter(None, (entry["last_sent_at"], sent_at)))
        elif state == "obsolete" and note == CASE_RESOLVED:
            entry["stopped"] += 1
        elif state == "obsolete":
            entry["replaced"] += 1
        else:
            entry["waiting"] += 1
    return out


def by_keys(conn: sqlite3.Connection, keys: Sequence[str]) -> list[sqlite3.Row]:
    """The messages with these keys (id, key, kind, customer, case, promise), any order."""
    found: list[sqlite3.Row] = []
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.extend(
            conn.execute(
                "SELECT id, key, kind, customer_id, case_id, promise_id FROM outbox "
                f"WHERE key IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    return found
