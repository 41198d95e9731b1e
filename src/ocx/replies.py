"""Answering customers' mail: the thread a message follows (the ocx message it replies to,
and that message's case or promise), and the promise to reply at the customer's own pace,
kept by the next thing we send them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ocx import clock, customers, incidents, promises
from ocx import config as cfg
from ocx.errors import NotFound
from ocx.store import Store
from ocx.store import outbox as outbox_sql
from ocx.store import promises as sql


@dataclass(frozen=True)
class Rules:
    """How soon each pace is answered (`reply_within`) and who owns the reply when no open
    case of the customer has a concierge (`inbox_owner`, else the configured user)."""

    within: dict[str, timedelta]
    owner: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, user: str) -> Rules:
        data = dict(config)
        return cls(within=cfg.reply_within(data), owner=cfg.inbox_owner(data, user=user))


@dataclass(frozen=True)
class Thread:
    """What a customer's message answers: an ocx message, and its case or promise."""

    outbox_id: int
    key: str
    customer_id: int | None
    case_id: int | None
    incident_id: int | None
    promise_id: int | None
    promise_text: str | None

    @property
    def label(self) -> str:
        """What the timeline names: the incident (`INC-3`) or the promise (`promise 12`)."""
        if self.incident_id is not None:
            return incidents.ref(self.incident_id)
        if self.promise_id is not None:
            return f"promise {self.promise_id}"
        return f"message {self.key}"

    @property
    def subject(self) -> tuple[str | None, int | None]:
        if self.incident_id is not None:
            return "incident", self.incident_id
        if self.promise_id is not None:
            return "promise", self.promise_id
        return None, None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"in_reply_to": self.key}
        if self.incident_id is not None:
            data.update(incident=self.label, case_id=self.case_id)
        if self.promise_id is not None:
            data.update(promise_id=self.promise_id, promise=self.promise_text)
        return data


def _ocx_keys(in_reply_to: str | None, reference_ids: str | None) -> list[str]:
    """The outbox keys among the ids a message names, the one it replies to first, then
    its References from the newest back."""
    from ocx.message_ids import key_of

    ids = [in_reply_to] if in_reply_to else []
    ids += reversed((reference_ids or "").split())
    keys = []
    for found in ids:
        if found.endswith("@ocx"):
            key = key_of(found)
            if key is not None and key not in keys:
                keys.append(key)
    return keys


def follow(store: Store, in_reply_to: str | None, reference_ids: str | None) -> Thread | None:
    """The ocx message a reply answers, named by its In-Reply-To or References (ocx's own
    Message-IDs, made from outbox keys), or None when it names none of ours."""
    keys = _ocx_keys(in_reply_to, reference_ids)
    if not keys:
        return None
    rows = {row["key"]: row for row in outbox_sql.by_keys(store.conn, keys)}
    row = next((rows[k] for k in keys if k in rows), None)
    if row is None:
        return None
    case_id, promise_id = row["case_id"], row["promise_id"]
    text = None
    if promise_id is not None:
        try:
            text = promises.get(store, promise_id).text
        except NotFound:  # a promise deleted with its customer: the message still names it
            promise_id = None
    return Thread(
        outbox_id=int(row["id"]), key=row["key"], customer_id=row["customer_id"],
        case_id=case_id, incident_id=incidents.case_incident(store, case_id) if case_id else None,
        promise_id=promise_id, promise_text=text,
    )  # fmt: skip


def answered(store: Store, customer_id: int, thread: Thread | None, *, author: str | None) -> bool:
    """A customer replied on a thread: a reply to an update on their own case moves it to
    acknowledged (never backwards). Whether the case moved. The caller holds the write lock."""
    if thread is None or thread.case_id is None or thread.customer_id != customer_id:
        return False
    return incidents.acknowledge_by_reply(
        store, thread.case_id, note="replied by email", author=author
    )


def promise_reply(
    store: Store, customer_id: int, inbox_id: int, subject: str, received_at: str,
    rules: Rules, *, author: str | None,
) -> int | None:  # fmt: skip
    """The promise to answer a customer's message, `Reply to <name>: <subject>`, due by
    their pace from when ocx took it, owned by their open case's concierge, else the inbox
    owner; None when a reply promise of theirs is open already (one at a time). The caller
    holds the write lock."""
    if sql.open_replies(store.conn, [customer_id]):
        return None
    person = customers.profile_row(store, customer_id)
    pace = person["pace"] if person["pace"] in rules.within else "normal"
    now = clock.now()
    due_at = clock.to_iso(max(clock.from_iso(received_at) + rules.within[pace], now))
    owner = incidents.open_case_concierge(store, customer_id) or rules.owner
    text = f"Reply to {person['name'] or person['email']}: {subject or '(no subject)'}"
    stamp = clock.to_iso(now)
    promise_id = sql.insert_reply(store.conn, {
        "customer_id": customer_id, "text": text, "owner": owner, "due_at": due_at,
        "created_at": stamp, "created_by": author, "subject_type": "inbox",
        "subject_id": inbox_id,
    })  # fmt: skip
    if promise_id is not None:
        customers.add_entry(
            store, customer_id, "promise", f"Promised: {text} (due {due_at}, owner {owner})",
            at=stamp, author=author, subject_type="promise", subject_id=promise_id,
            data={"event": "made", "due_at": due_at, "kind": "reply"},
        )  # fmt: skip
    return promise_id


def waiting(store: Store, customer_ids: Sequence[int]) -> set[int]:
    """Those of these customers who wait for an answer: a reply promise of theirs is open."""
    return set(sql.open_replies(store.conn, customer_ids))


def keep(store: Store, customer_ids: Sequence[int], *, how: str, author: str | None) -> int:
    """Something we sent these customers answers them: their open reply promises are kept
    (done now: on time if before the due time). How many."""
    with store.write():
        found = sql.open_replies(store.conn, customer_ids)
        for promise_id in found.values():
            promises.done(store, promise_id, note=how, author=author)
    return len(found)
