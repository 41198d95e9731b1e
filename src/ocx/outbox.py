"""The outbox: queue a message once (by idempotency key), claim it, deliver it through a
notifier, retry with backoff, fall back, and never send it twice."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocx import channels, clock
from ocx.errors import ChannelDown, NotFound, OcxError
from ocx.plugin_types import OutboundMessage
from ocx.store import Store
from ocx.store import outbox as sql

if TYPE_CHECKING:
    from ocx.pluginhost import Plugins

DEFAULT_MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# A message claimed by a run that died (kill -9) is taken again after this long.
CLAIM_LEASE = timedelta(minutes=15)
# Kinds of message that go to the team (about a customer, never to them); every other kind
# with a customer goes to that customer, and answers them: it keeps their reply promise.
TEAM_KINDS = frozenset({"reminder", "overdue", "escalation", "cadence", "digest", "test"})


@dataclass
class Delivery:
    id: int
    key: str
    kind: str
    channel: str
    recipient: str | None
    ok: bool
    note: str
    retry_at: str | None = None

    @classmethod
    def of(cls, row: Any, ok: bool, note: str, retry_at: str | None = None) -> Delivery:
        return cls(row["id"], row["key"], row["kind"], row["channel"], row["recipient"], ok,
                   note, retry_at)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "key": self.key, "kind": self.kind, "channel": self.channel,
            "recipient": self.recipient, "ok": self.ok, "note": self.note,
            "retry_at": clock.iso_json(self.retry_at),
        }  # fmt: skip


@dataclass
class Report:
    delivered: list[Delivery] = field(default_factory=list)
    failed: list[Delivery] = field(default_factory=list)
    obsolete: int = 0
    deferred: int = 0  # not tried: their channel was down earlier in this run
    undeliverable: list[str] = field(default_factory=list)  # nobody to send to: what to set


def queue(
    store: Store, *, key: str, kind: str, channel: str, recipient: str | None, subject: str,
    body: str, payload: dict[str, Any] | None = None, promise_id: int | None = None,
    customer_id: int | None = None, not_before: datetime | None = None,
    fallback_of: int | None = None, case_id: int | None = None,
) -> bool:  # fmt: skip
    """Put a message in the outbox; False when a message with this key is already there."""
    now = clock.now()
    with store.write():
        added = sql.enqueue(
            store.conn,
            {
                "key": key,
                "kind": kind,
                "channel": channel,
                "recipient": recipient,
                "subject": subject,
                "body": body,
                "payload": json.dumps(payload or {}, sort_keys=True, ensure_ascii=False),
                "promise_id": promise_id,
                "customer_id": customer_id,
                "next_attempt_at": clock.to_iso(max(not_before or now, now)),
                "created_at": clock.to_iso(now),
                "fallback_of": fallback_of,
                "case_id": case_id,
            },
        )
        if added and customer_id is not None and kind not in TEAM_KINDS:
            _answers(store, [customer_id], kind)
        return added


def queue_many(store: Store, messages: list[dict[str, Any]]) -> int:
    """`queue` for many messages at once (an incident update to every customer): each dict
    holds queue's keyword arguments. Returns how many were added."""
    return queue_rows(store, rows_for(messages))


def rows_for(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """queue_many's first half, the outbox rows (payload as JSON, times), which need no
    database: made before the write lock is taken, the lock is held only to write them. A
    row's `key` may be filled in after (an incident update's names the update)."""
    now = clock.now()
    stamp = clock.to_iso(now)
    payload = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode  # json.dumps's own
    return [
        {
            **message,
            "payload": payload(message.get("payload") or {}),
            "next_attempt_at": clock.to_iso(max(message["not_before"], now))
            if message.get("not_before") else stamp,
            "created_at": stamp,
        }
        for message in messages
    ]  # fmt: skip


def queue_new(store: Store, rows: list[dict[str, Any]]) -> set[str]:
    """queue_rows, telling which keys it added (those not in the outbox before; the first
    row of a key repeated among them)."""
    with store.write():
        there = {found["key"] for found in sql.by_keys(store.conn, [r["key"] for r in rows])}
        fresh: dict[str, dict[str, Any]] = {}
        for row in rows:
            if row["key"] not in there:
                fresh.setdefault(row["key"], row)
        queue_rows(store, list(fresh.values()))
        return set(fresh)


def queue_rows(store: Store, rows: list[dict[str, Any]]) -> int:
    """queue_many's second half: the rows written, those whose key is there already left
    out; how many were added."""
    with store.write():
        answering = _answering(store, rows)
        added = sql.enqueue_many(store.conn, rows)
        for kind, customer_ids in answering.items():
            _answers(store, customer_ids, kind)
        return added


def _answering(store: Store, rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """By kind, the customers waiting for an answer whom these rows answer: a message to
    them (not a team kind) whose key is not in the outbox yet, as `queue` counts only a
    message it adds. Keys are looked up only for customers with a reply promise open."""
    from ocx import replies

    to_customers = [
        row for row in rows
        if row.get("customer_id") is not None and row.get("kind") not in TEAM_KINDS
    ]  # fmt: skip
    if not to_customers:
        return {}
    waiting = replies.waiting(store, [row["customer_id"] for row in to_customers])
    candidates = [row for row in to_customers if row["customer_id"] in waiting]
    queued = {found["key"] for found in sql.by_keys(store.conn, [r["key"] for r in candidates])}
    out: dict[str, list[int]] = {}
    for row in candidates:
        if row["key"] not in queued:
            out.setdefault(row["kind"], []).append(row["customer_id"])
    return out


def _answers(store: Store, customer_ids: list[int], kind: str) -> None:
    """A message queued to customers answers them: their open reply promises are kept."""
    from ocx import replies

    replies.keep(store, customer_ids, how=f"answered: {kind} queued", author=None)


def _backoff(attempts: int) -> timedelta:
    """1 minute after the first failure, doubling, never more than an hour apart."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def digest_subject(count: int) -> str:
    return f"ocx: {count} item needs you" if count == 1 else f"ocx: {count} items need you"


def digest_body(parts: list[dict[str, str]]) -> str:
    return "\n\n".join(f"- {p['subject']}\n  " + p["body"].replace("\n", "\n  ") for p in parts)


def _current_digest(store: Store, row: Any, token: str) -> Any:
    """A digest as it stands now: items handled since it was written are dropped from it,
    and a digest with nothing left is not sent at all (None)."""
    payload = json.loads(row["payload"] or "{}")
    parts = payload.get("parts") or []
    with store.write():
        sql.mark_obsolete(store.conn)
        live = sql.still_digested(store.conn, [p["key"] for p in parts])
        kept = [p for p in parts if p["key"] in live]
        if not kept:
            sql.mark_obsolete_one(store.conn, row["id"], token)
            return None
    if len(kept) == len(parts):
        return row
    return {**dict(row), "subject": digest_subject(len(kept)), "body": digest_body(kept)}


def _message(row: Any) -> OutboundMessage:
    return OutboundMessage(
        key=row["key"],
        kind=row["kind"],
        channel=row["channel"],
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        payload=json.loads(row["payload"] or "{}"),
        created_at=clock.iso_json(row["created_at"]),
    )


def send(message: OutboundMessage, config: dict[str, Any], plugins: Plugins) -> str:
    """Send one message through the channel it names, checked first: an unknown type, a
    missing key or an unset secret variable is an error naming the channel."""
    return channels.send(message, config, plugins.notifiers())


def _send(row: Any, config: dict[str, Any], plugins: Plugins) -> str:
    return send(_message(row), config, plugins)


def _fallback(store: Store, row: Any, config: dict[str, Any], plugins: Plugins) -> bool:
    """A message out of attempts goes once through its channel's fallback, if it has one,
    addressed as the fallback's notifier asks (an email channel: the person's email)."""
    tables = config.get("channels") or {}
    table = tables.get(row["channel"]) if isinstance(tables, dict) else None
    target = table.get("fallback") if isinstance(table, dict) else None
    if not target or row["fallback_of"] is not None:
        return False
    payload = json.loads(row["payload"] or "{}")
    recipient = channels.fallback_recipient(
        config, str(target), payload.get("addresses") or {}, row["recipient"], plugins.notifiers()
    )
    return queue(
        store,
        key=f"{row['key']}:fallback",
        kind=row["kind"],
        channel=str(target),
        recipient=recipient,
        subject=row["subject"],
        body=row["body"],
        payload=payload,
        promise_id=row["promise_id"],
        customer_id=row["customer_id"],
        fallback_of=row["id"],
        case_id=row["case_id"],
    )


def deliver(store: Store, *, config: dict[str, Any], plugins: Plugins) -> Report:
    """Deliver every message that is ready. Each is claimed in a transaction first, so two
    runs at once never send the same message; a sent message is never sent again. A message
    that gives up in this run goes out through its channel's fallback in this run too."""
    report = Report()
    while _deliver_ready(store, config, plugins, report):
        pass  # another pass only for fallbacks queued by the one before
    return report


def _deliver_ready(store: Store, config: dict[str, Any], plugins: Plugins, report: Report) -> bool:
    """One pass over the ready messages; True when it queued a fallback to send now.

    Once a message is sent, its outcome is recorded even if another ocx holds the write lock
    for long: recording waits as long as it must, since giving up would send it again."""
    now = clock.now()
    max_attempts = int(config.get("max_attempts", DEFAULT_MAX_ATTEMPTS) or DEFAULT_MAX_ATTEMPTS)
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    fell_back = False
    with store.write():
        report.obsolete += sql.mark_obsolete(store.conn)
        rows = sql.claim(
            store.conn,
            now=clock.to_iso(now),
            token=token,
            stale_before=clock.to_iso(now - CLAIM_LEASE),
        )
    down: dict[str, str] = {}  # channel -> when to try again, once it timed out this run
    for index, row in enumerate(rows):
        if row["channel"] in down:
            continue
        with store.write(forever=True):
            if not sql.renew_claim(store.conn, row["id"], token, clock.to_iso(clock.now())):
                continue  # taken over by a later run after our lease ran out: it sends it
        if row["kind"] == "digest":
            row = _current_digest(store, row, token)
            if row is None:
                report.obsolete += 1
                continue
        try:
            note = _send(row, config, plugins)
        except Exception as exc:  # a notifier's failure is reported, never fatal to the run
            reason = str(exc) if isinstance(exc, OcxError) else f"{type(exc).__name__}: {exc}"
            attempts = row["attempts"] + 1
            retry_at = None if attempts >= max_attempts else clock.to_iso(now + _backoff(attempts))
            with store.write(forever=True):
                sql.mark_failed(store.conn, row["id"], token, error=reason, retry_at=retry_at)
                if retry_at is None:
                    fell_back = _fallback(store, row, config, plugins) or fell_back
            report.failed.append(Delivery.of(row, False, reason, retry_at))
            if isinstance(exc, ChannelDown):
                # One hung channel must not hold the others up: its other messages wait for
                # the next run instead of each waiting out the timeout.
                later = retry_at or clock.to_iso(now + FIRST_RETRY)
                down[row["channel"]] = later
                waiting = [r["id"] for r in rows[index + 1 :] if r["channel"] == row["channel"]]
                if waiting:
                    with store.write(forever=True):
                        report.deferred += sql.release(store.conn, waiting, token, later)
            continue
        with store.write(forever=True):
            sql.mark_sent(store.conn, row["id"], clock.to_iso(clock.now()), str(note or ""))
        report.delivered.append(Delivery.of(row, True, str(note or "")))
    return fell_back


@dataclass
class OutboxMessage:
    id: int
    key: str
    kind: str
    channel: str
    recipient: str | None
    subject: str
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    created_at: str
    sent_at: str | None
    delivery_note: str | None

    @classmethod
    def from_row(cls, row: Any) -> OutboxMessage:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "key": self.key, "kind": self.kind, "channel": self.channel,
            "recipient": self.recipient, "subject": self.subject, "state": self.state,
            "attempts": self.attempts, "next_attempt_at": clock.iso_json(self.next_attempt_at),
            "last_error": self.last_error, "created_at": clock.iso_json(self.created_at),
            "sent_at": clock.iso_json(self.sent_at), "delivery_note": self.delivery_note,
        }  # fmt: skip


def listing(
    store: Store, *, failed_only: bool = False, limit: int | None = None
) -> list[OutboxMessage]:
    rows = sql.messages(store.conn, failed_only=failed_only, limit=limit)
    return [OutboxMessage.from_row(row) for row in rows]


def parse_id(text: str | int) -> int:
    """`42` or `#42`; an id no message can have (0, past SQLite's 64-bit integers, not digits)
    names nothing, so it is NotFound like any other unknown id."""
    raw = str(text).strip().lstrip("#")
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(raw.lstrip("0")) > 19
        or not 0 < int(raw) < 2**63
    ):
        raise NotFound(f"no outbox message {text!r}; see 'ocx outbox list'")
    return int(raw)


def retry(store: Store, message_id: int | str | None) -> int:
    """Make failed messages (or one) due now; returns how many."""
    if message_id is not None:
        message_id = parse_id(message_id)
    with store.write():
        if message_id is not None and sql.message(store.conn, message_id) is None:
            raise NotFound(f"no outbox message {message_id}; see 'ocx outbox list'")
        count = sql.make_due(store.conn, message_id, clock.to_iso(clock.now()))
    if message_id is not None and count == 0:
        raise OcxError(f"outbox message {message_id} has not failed; nothing to retry")
    return count


# --- for other domains: what incidents and postmortems ask of the outbox ----------------------


def deliveries_by_update(store: Store, key_prefix: str) -> dict[int, dict[str, Any]]:
    """Per incident update (keys `PREFIX{update}:customer:{id}`): messages sent, replaced,
    stopped or waiting, and when they went out."""
    return sql.by_update(store.conn, key_prefix)


def obsolete_for_cases(store: Store, case_ids: list[int]) -> int:
    """Resolved cases' updates not yet delivered are never sent; returns how many."""
    return sql.obsolete_for_cases(store.conn, case_ids)


def supersede(store: Store, key_prefix: str, customer_ids: list[int], now: str) -> set[int]:
    """Updates still held for these customers that a newer one replaces; returns the
    customers who had one."""
    return sql.supersede(store.conn, key_prefix, customer_ids, now)
