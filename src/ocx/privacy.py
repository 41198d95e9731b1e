"""A customer's right to be forgotten and right of access: erase one customer, leaving an
anonymous tombstone that keeps imports from bringing them back; export all that is held
about one customer."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ocx import clock, customers
from ocx.errors import OcxError
from ocx.store import Store, is_busy
from ocx.store import privacy as sql

FORGOTTEN = "forgotten"  # the reason an import gives for a record it leaves out
_CHECKPOINT_POLL = 0.05


# --- tombstones ----------------------------------------------------------------------------


def _hash(salt: str, kind: str, *parts: str) -> str:
    """A keyed hash (HMAC-SHA256, the database's salt as key) of one email or source id.
    Without the salt the hash says nothing; with it, only a guess can be checked."""
    text = "\x00".join((kind, *parts))
    return hmac.new(
        salt.encode(), text.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()


def email_key(salt: str, email: str) -> str:
    return _hash(salt, "email", email.strip().lower())


def source_key(salt: str, source: str, external_id: str) -> str:
    return _hash(salt, "source", source, external_id.strip())


def _keys(salt: str, identities: Iterable[tuple[str, str]]) -> set[str]:
    """Every email of theirs (merged-away ones are source 'email') and every source id."""
    return {
        email_key(salt, value) if source == "email" else source_key(salt, source, value)
        for source, value in identities
    }


class Tombstones:
    """The hashes of everyone forgotten, read once: an import asks about each record."""

    def __init__(self, salt: str, hashes: set[str]) -> None:
        self._salt = salt
        self._hashes = hashes

    @classmethod
    def load(cls, store: Store) -> Tombstones:
        conn = store.conn
        return store.patiently(lambda: cls(sql.salt(conn), sql.tombstone_hashes(conn)))

    def email(self, email: str | None) -> bool:
        """Was a customer with this email (any letter case) forgotten?"""
        return bool(self._hashes and email and email_key(self._salt, email) in self._hashes)

    def source(self, source: str, external_id: str | None) -> bool:
        """Was the customer this source knows by this id forgotten?"""
        return bool(
            self._hashes
            and external_id
            and source_key(self._salt, source, str(external_id)) in self._hashes
        )


@dataclass
class Tombstone:
    id: int
    erased_by: str | None
    erased_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "erased_by": self.erased_by,
            "erased_at": clock.iso_json(self.erased_at),
        }


def tombstones(store: Store) -> list[Tombstone]:
    """Everyone forgotten, oldest first: only who erased them and when."""
    return [Tombstone(row["id"], row["erased_by"], row["erased_at"])
            for row in store.patiently(lambda: sql.tombstones(store.conn))]  # fmt: skip


# --- forgetting ----------------------------------------------------------------------------


@dataclass
class Forgotten:
    customer_id: int
    tombstone: int
    wal_emptied: bool  # False: a reader kept the WAL from being emptied (it is when they close)


def _redact_digests(store: Store, keys: list[str]) -> list[int]:
    """Take the items about the customer out of digests sent to the team; returns the ids of
    digests that had nothing else (to be deleted)."""
    from ocx import outbox

    emptied = []
    for row in sql.digests_with(store.conn, keys):
        payload = json.loads(row["payload"])
        gone = set(keys)
        parts = [p for p in payload.get("parts") or [] if p.get("key") not in gone]
        if not parts:
            emptied.append(int(row["id"]))
            continue
        payload["parts"] = parts
        payload["items"] = [k for k in payload.get("items") or [] if k not in gone]
        sql.rewrite_digest(
            store.conn, row["id"], outbox.digest_subject(len(parts)), outbox.digest_body(parts),
            json.dumps(payload, sort_keys=True, ensure_ascii=False),
        )  # fmt: skip
    return emptied


def forget(store: Store, ref: str, *, author: str | None) -> Forgotten:
    """Erase a customer in one transaction: profile, tags, sources, timeline (notes,
    contacts), conversations and messages, promises to them, cadences, incident cases and
    their events, outbox messages to or about them (and their items in digests), their
    inbound mail (and unmatched mail from any of their addresses), and their search-index
    entry. A tombstone keeps a salted hash of each email and source id.

    Nothing of them stays in the file: SQLite's secure_delete zeroes what is deleted, the
    search index is merged so no old segment keeps their words, VACUUM rewrites the file
    from live rows (earlier versions of a row linger in free space otherwise), and the WAL
    is checkpointed and truncated."""
    conn = store.conn
    was_secure = sql.secure_delete(conn, True)
    try:
        with store.write():
            customer_id = customers.resolve(store, ref)
            keys = _keys(sql.salt(conn), sql.identities(conn, customer_id))
            tombstone = sql.insert_tombstone(conn, author, clock.to_iso(clock.now()), keys)
            doomed = sql.outbox(conn, customer_id)
            emptied = _redact_digests(store, [row["key"] for row in doomed])
            sql.delete_outbox(conn, [row["id"] for row in doomed] + emptied)
            sql.erase(conn, customer_id)
            sql.compact_search(conn)
        try:
            _patiently(store, lambda: sql.vacuum(conn))
        except sqlite3.DatabaseError as exc:  # a full disk: the erasure itself is committed
            raise OcxError(
                f"customer {customer_id} is erased (tombstone {tombstone}), but rewriting "
                f"{store.path} failed ({exc}), so deleted pages may still hold their data; "
                f"free some disk space and run: sqlite3 {store.path} VACUUM"
            ) from None
        emptied_wal = _empty_wal(store)
    finally:
        sql.secure_delete(conn, was_secure)
    return Forgotten(customer_id, tombstone, emptied_wal)


def _patiently(store: Store, step: Any) -> None:
    """Run a step that takes the write lock, retrying while another connection holds it."""
    deadline = time.monotonic() + store.busy_timeout
    while True:
        try:
            step()
            return
        except Exception as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(_CHECKPOINT_POLL)


def _empty_wal(store: Store) -> bool:
    """Checkpoint and truncate the WAL, waiting (up to busy_timeout) for readers that hold
    old frames in it."""
    deadline = time.monotonic() + store.busy_timeout
    while True:
        try:
            if sql.checkpoint(store.conn):
                return True
        except Exception as exc:
            if not is_busy(exc):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(_CHECKPOINT_POLL)


# --- access --------------------------------------------------------------------------------


def _json_text(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def export(store: Store, ref: str) -> dict[str, Any]:
    """Everything held about one customer, as one JSON-ready document: exactly what
    `forget` would erase."""
    from ocx import incidents, promises

    with store.read():
        customer_id = customers.resolve(store, ref)
        person = customers.get(store, str(customer_id), timeline_limit=None)
        promised = promises.listing(store, which="all", customer=str(customer_id))
        conn = store.conn
        sources = sql.sources(conn, customer_id)
        tags = sql.tags(conn, customer_id)
        cadences = sql.cadences(conn, customer_id)
        cases = sql.cases(conn, customer_id)
        events = sql.incident_events(conn, customer_id)
        messages = sql.outbox(conn, customer_id)
    profile = person.to_json(full=False)
    profile.pop("tags")  # listed on their own, with when each was given
    return {
        "exported_at": clock.to_iso(clock.now()),
        "profile": profile,
        "tags": [{"tag": t["tag"], "tagged_at": clock.iso_json(t["tagged_at"])} for t in tags],
        "sources": [_source(s) for s in sources],
        "timeline": [entry.to_json() for entry in person.timeline],
        "promises": [p.to_json() for p in promised],
        "cadences": [_cadence(k) for k in cadences],
        "cases": [
            _case(
                k,
                incidents.ref(k["incident_id"]),
                [e for e in events if e["incident_id"] == k["incident_id"]],
            )
            for k in cases
        ],
        "outbox": [_message(m) for m in messages],
    }


def _source(row: Any) -> dict[str, Any]:
    return {
        "source": row["source"], "external_id": row["external_id"],
        "created_at": clock.iso_json(row["created_at"]), "imported": _json_text(row["imported"]),
    }  # fmt: skip


def _cadence(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "schedule": row["schedule"], "owner": row["owner"],
        "set_at": clock.iso_json(row["set_at"]), "stopped_at": clock.iso_json(row["stopped_at"]),
    }  # fmt: skip


_CASE_TIMES = ("added_at", "contacted_at", "acknowledged_at", "agreed_at", "resolved_at",
               "last_activity_at", "last_update_at")  # fmt: skip


def _case(row: Any, incident: str, events: list[Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "incident": incident, "incident_title": row["incident_title"],
        "state": row["state"], "concierge": row["concierge"],
        **{name: clock.iso_json(row[name]) for name in _CASE_TIMES},
        "events": [{"at": clock.iso_json(e["at"]), "kind": e["kind"], "author": e["author"],
                    "text": e["text"]} for e in events],
    }  # fmt: skip


def _message(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "kind": row["kind"], "channel": row["channel"],
        "recipient": row["recipient"], "subject": row["subject"], "body": row["body"],
        "payload": _json_text(row["payload"]), "state": row["state"],
        "created_at": clock.iso_json(row["created_at"]), "sent_at": clock.iso_json(row["sent_at"]),
    }  # fmt: skip
