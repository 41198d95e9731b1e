"""Promises: every commitment to a customer, with an owner and a due time, kept or broken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ocx import clock, customers, team
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import promises as sql

FILTERS = ("open", "overdue", "kept", "broken", "all")


@dataclass
class Promise:
    id: int
    customer_id: int | None  # None: a promise to many (an incident's next update)
    customer: str  # the customer's email, or what the promise is about (INC-7)
    customer_name: str | None
    text: str
    owner: str
    due_at: str  # the original due time: kept on time means done at or before it
    snoozed_until: str | None
    snoozes: int
    state: str  # open, done, cancelled
    done_at: str | None
    cancelled_at: str | None
    note: str | None
    created_at: str
    created_by: str | None
    subject_type: str | None
    subject_id: int | None
    kind: str | None = None  # 'reply', 'check', or None for the others

    @classmethod
    def from_row(cls, row: Any) -> Promise:
        return cls(
            id=row["id"], customer_id=row["customer_id"],
            customer=row["customer_email"] or _about(row["subject_type"], row["subject_id"]),
            customer_name=row["customer_name"], text=row["text"], owner=row["owner"],
            due_at=row["due_at"], snoozed_until=row["snoozed_until"], snoozes=row["snoozes"],
            state=row["state"], done_at=row["done_at"], cancelled_at=row["cancelled_at"],
            note=row["note"], created_at=row["created_at"], created_by=row["created_by"],
            subject_type=row["subject_type"], subject_id=row["subject_id"],
            kind=row["kind"],
        )  # fmt: skip

    @property
    def effective_due(self) -> str:
        """When it is due now (a snooze moves this, never due_at)."""
        return self.snoozed_until or self.due_at

    @property
    def outcome(self) -> str:
        """open, overdue, kept (on time), kept_late, broken, or cancelled (before it was due)."""
        if self.state == "done":
            return "kept" if (self.done_at or "") <= self.due_at else "kept_late"
        if self.state == "cancelled":
            return "broken" if (self.cancelled_at or "") >= self.due_at else "cancelled"
        return "overdue" if self.effective_due < clock.to_iso(clock.now()) else "open"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "customer": self.customer, "customer_id": self.customer_id,
            "customer_name": self.customer_name, "text": self.text, "owner": self.owner,
            "due_at": clock.iso_json(self.due_at),
            "snoozed_until": clock.iso_json(self.snoozed_until), "snoozes": self.snoozes,
            "effective_due_at": clock.iso_json(self.effective_due), "state": self.state,
            "outcome": self.outcome, "done_at": clock.iso_json(self.done_at),
            "cancelled_at": clock.iso_json(self.cancelled_at), "note": self.note,
            "created_at": clock.iso_json(self.created_at), "created_by": self.created_by,
        }  # fmt: skip


def _about(subject_type: str | None, subject_id: int | None) -> str:
    names = {"incident": "INC-", "postmortem": "PM-"}
    return f"{names.get(subject_type or '', f'{subject_type} ')}{subject_id}"


def _note(store: Store, promise: Promise, text: str, *, author: str | None,
          data: dict[str, Any]) -> None:  # fmt: skip
    """Every change to a customer's promise lands in their timeline."""
    if promise.customer_id is not None:
        customers.record(
            store, promise.customer_id, "promise", text, author=author,
            subject_type="promise", subject_id=promise.id, data=data,
        )  # fmt: skip


def _future(when: datetime, what: str) -> str:
    if when <= clock.now():
        raise OcxError(
            f"{what} {clock.to_iso(when)} is in the past; give a time ahead, e.g. "
            f"{clock.when_example()}"
        )
    return clock.to_iso(when)


@dataclass(frozen=True)
class NewPromise:
    """One promise for add_many: to a customer (by id) or, with None, to many at once (an
    incident's next update, named by its subject)."""

    customer_id: int | None
    text: str
    due: datetime
    owner: str
    subject_type: str | None = None
    subject_id: int | None = None
    kind: str | None = None  # 'reply', 'check' (that a resolved case is fixed), None: the rest


def add(
    store: Store, ref: str | None, text: str, *, due: datetime, owner: str, author: str | None,
    subject_type: str | None = None, subject_id: int | None = None, ahead: bool = True,
) -> Promise:  # fmt: skip
    """Record a commitment; the owner must be on the team and the due time ahead (`ahead`
    False: ocx's own tasks, such as a call due now, may be due at once).
    `ref` None is a promise to many at once (an incident's next update), named by subject."""
    if not text.strip():
        raise OcxError("the promise is empty; say what was promised")
    if ahead:
        _future(due, "due time")
    with store.write():
        customer_id = customers.resolve(store, ref) if ref is not None else None
        (promise_id,) = add_many(
            store, [NewPromise(customer_id, text, due, owner, subject_type, subject_id)],
            author=author,
        )  # fmt: skip
        return get(store, promise_id)


def add_many(store: Store, new: list[NewPromise], *, author: str | None) -> list[int]:
    """Record many commitments at once (an incident update's calls, one per customer no
    channel reaches), each due at its time or now if that has passed; their ids, in order.
    The same rows and timeline entries as add(), each owner looked up once."""
    for item in new:
        if not item.text.strip():
            raise OcxError("the promise is empty; say what was promised")
    now = clock.now()
    stamp = clock.to_iso(now)
    with store.write():
        owners = {handle: team.get(store, handle).handle for handle in {i.owner for i in new}}
        ids, notes = [], []
        for item in new:
            due_at = clock.to_iso(max(item.due, now))
            owner = owners[item.owner]
            promise_id = sql.insert_promise(store.conn, {
                "customer_id": item.customer_id, "text": item.text.strip(), "owner": owner,
                "due_at": due_at, "created_at": stamp, "created_by": author,
                "subject_type": item.subject_type, "subject_id": item.subject_id,
                "kind": item.kind,
            })  # fmt: skip
            ids.append(promise_id)
            if item.customer_id is not None:
                notes.append({
                    "customer_id": item.customer_id, "subject_id": promise_id,
                    "text": f"Promised: {item.text.strip()} (due {due_at}, owner {owner})",
                    "data": {"event": "made", "due_at": due_at},
                })  # fmt: skip
        customers.record_many(store, "promise", notes, author=author, subject_type="promise")
    return ids


def parse_id(text: str | int) -> int:
    raw = str(text).strip().lstrip("#")
    # an id no row can hold (past SQLite's 64-bit integers) names nothing; the length check
    # comes first, as int() refuses more than 4,300 digits
    if not raw.isascii() or not raw.isdigit() or len(raw.lstrip("0")) > 19 or int(raw) >= 2**63:
        raise NotFound(f"no promise {text!r}; see 'ocx promise list'")
    return int(raw)


def get(store: Store, promise_id: int | str) -> Promise:
    row = sql.promise(store.conn, parse_id(promise_id))
    if row is None:
        raise NotFound(f"no promise {promise_id!r}; see 'ocx promise list'")
    return Promise.from_row(row)


def _open(store: Store, promise_id: int | str) -> Promise:
    promise = get(store, promise_id)
    if promise.state != "open":
        raise OcxError(f"promise {promise.id} is already {promise.state}")
    return promise


def done(store: Store, promise_id: int | str, *, note: str | None, author: str | None) -> Promise:
    """Mark a promise kept; on time only if now is at or before the original due time."""
    with store.write():
        promise = _open(store, promise_id)
        stamp = clock.to_iso(clock.now())
        sql.update_promise(
            store.conn, promise.id, {"state": "done", "done_at": stamp, "note": note or None}
        )
        on_time = stamp <= promise.due_at
        _note(
            store, promise, f"Kept{'' if on_time else ' late'}: {promise.text}" + (f" ({note})" if note else ""),
            author=author, data={"event": "done", "on_time": on_time},
        )  # fmt: skip
        return get(store, promise.id)


def cancel(store: Store, promise_id: int | str, *, reason: str, author: str | None) -> Promise:
    """Cancel a promise; at or after its original due time that counts as broken."""
    if not reason.strip():
        raise OcxError("give a --reason for cancelling the promise")
    with store.write():
        promise = _open(store, promise_id)
        cancel_many(store, [promise.id], reason=reason, author=author)
        return get(store, promise.id)


def cancel_many(store: Store, promise_ids: list[int], *, reason: str, author: str | None
                ) -> int:  # fmt: skip
    """Cancel those of the promises still open (an incident update replacing its calls);
    how many. The same rows and timeline entries as cancel(), one statement each."""
    reason = reason.strip()
    stamp = clock.to_iso(clock.now())
    with store.write():
        found = sql.open_promises(store.conn, promise_ids)
        sql.cancel_promises(store.conn, [row["id"] for row in found], stamp, reason)
        customers.record_many(store, "promise", [
            {"customer_id": row["customer_id"], "subject_id": row["id"],
             "text": f"{'Broken' if stamp >= row['due_at'] else 'Cancelled'}: {row['text']} ({reason})",
             "data": {"event": "cancelled", "broken": stamp >= row["due_at"]}}
            for row in found if row["customer_id"] is not None
        ], author=author, subject_type="promise")  # fmt: skip
    return len(found)


def snooze(
    store: Store, promise_id: int | str, *, until: datetime, reason: str | None,
    author: str | None,
) -> Promise:  # fmt: skip
    """Move when a promise is due; the original due time stays, and the snooze is recorded."""
    until_at = _future(until, "snooze time")
    with store.write():
        promise = _open(store, promise_id)
        sql.update_promise(
            store.conn, promise.id,
            {"snoozed_until": until_at, "snoozes": promise.snoozes + 1},
        )  # fmt: skip
        _note(
            store, promise, f"Snoozed until {until_at}: {promise.text}" + (f" ({reason})" if reason else ""),
            author=author, data={"event": "snoozed", "until": until_at, "original_due_at": promise.due_at},
        )  # fmt: skip
        return get(store, promise.id)


def listing(
    store: Store, *, which: str = "open", owner: str | None = None, customer: str | None = None
) -> list[Promise]:
    if which not in FILTERS:
        raise OcxError(f"unknown filter {which!r}; use one of {', '.join(FILTERS)}")
    with store.read():
        customer_id = customers.resolve(store, customer) if customer else None
        owner = team.get(store, owner).handle if owner else None  # a typo is an error
        rows = sql.promises(
            store.conn, which=which, now=clock.to_iso(clock.now()),
            owner=owner.strip().lower() if owner else None, customer_id=customer_id,
        )  # fmt: skip
    return [Promise.from_row(row) for row in rows]


def about(store: Store, subject_type: str, subject_id: int) -> list[Promise]:
    """Promises made for something other than one customer: a postmortem's action items."""
    return [
        Promise.from_row(row) for row in sql.promises_about(store.conn, subject_type, subject_id)
    ]


def open_for_customer(store: Store, customer_id: int) -> list[Promise]:
    return [Promise.from_row(row) for row in sql.open_promises_of(store.conn, customer_id)]


def profile(store: Store, ref: str) -> tuple[customers.Customer, list[Promise]]:
    """A customer and their open promises, read in one snapshot (`ocx customer show`)."""
    with store.read():
        person = customers.get(store, ref)
        return person, open_for_customer(store, person.id)


def due(store: Store, *, until: datetime, owner: str | None = None) -> list[Promise]:
    """Open promises due by `until` (overdue ones included), soonest first."""
    rows = sql.due_promises(
        store.conn, clock.to_iso(until), owner.strip().lower() if owner else None
    )
    return [Promise.from_row(row) for row in rows]


def _ics_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 75:
            out.append(current)
            current = " " + char
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def to_ics(items: list[Promise], *, stamp: datetime) -> str:
    """Open promises as an iCalendar file of VTODOs with stable UIDs."""

    def moment(text: str) -> str:
        return clock.from_iso(text).strftime("%Y%m%dT%H%M%SZ")

    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ocx//promises//EN", "CALSCALE:GREGORIAN",
    ]  # fmt: skip
    for p in items:
        who = p.customer_name or p.customer
        lines += [
            "BEGIN:VTODO",
            f"UID:promise-{p.id}@ocx",
            f"DTSTAMP:{stamp.strftime('%Y%m%dT%H%M%SZ')}",
            f"CREATED:{moment(p.created_at)}",
            f"DUE:{moment(p.effective_due)}",
            f"SUMMARY:{_ics_text(f'{who}: {p.text}')}",
            f"DESCRIPTION:{_ics_text(f'Promise {p.id} to {p.customer}, owner {p.owner}')}",
            "STATUS:NEEDS-ACTION",
            "END:VTODO",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


# --- what was promised to one customer, and did we keep it -----------------------------------

FOLLOW_THROUGH_DAYS = 90  # the window of customer_promises' follow_through
JUDGED = ("kept", "kept_late", "broken")  # the outcomes of a promise that came due


def judged(p: Promise, now: str) -> str:
    """How a promise went for the customer, against its ORIGINAL due time (a snooze never
    helps): kept (done by then), kept_late, broken (cancelled at or after it, or still open
    past it), open (not yet due: at the due time itself it can still be kept), cancelled
    (before it was due: called off, not counted)."""
    if p.state == "done":
        return "kept" if (p.done_at or "") <= p.due_at else "kept_late"
    if p.state == "cancelled":
        return "broken" if (p.cancelled_at or "") >= p.due_at else "cancelled"
    return "broken" if p.due_at < now else "open"


def came_due(p: Promise, now: str) -> bool:
    """Whether a promise counts in follow-through: its original due time has passed and it
    was kept, kept late or broken (not cancelled before it was due, not open at its due
    time)."""
    return p.due_at <= now and judged(p, now) in JUDGED


def follow_through(items: list[Promise], now: datetime) -> float | None:
    """Kept on time ÷ every promise that came due in the last FOLLOW_THROUGH_DAYS days (by
    original due time, up to now); None when none came due."""
    stamp = clock.to_iso(now)
    start = clock.to_iso(now - timedelta(days=FOLLOW_THROUGH_DAYS))
    due = [p for p in items if start <= p.due_at and came_due(p, stamp)]
    return sum(judged(p, stamp) == "kept" for p in due) / len(due) if due else None


def promise_kind(p: Promise) -> str:
    """reply, check, next_update (an incident's, covering their case) or promise."""
    if p.kind:
        return p.kind
    if p.customer_id is None and p.subject_type == "incident":
        return "next_update"
    return "promise"


@dataclass
class CustomerPromises:
    customer: customers.Customer
    promises: list[Promise]
    now: str
    follow_through: float | None

    def outcome(self, p: Promise) -> str:
        return judged(p, self.now)

    def to_json(self) -> dict[str, Any]:
        return {
            "promises": [
                {**p.to_json(), "kind": promise_kind(p), "outcome": self.outcome(p)}
                for p in self.promises
            ],
            "follow_through": self.follow_through,
        }


def to_customer(store: Store, ref: str) -> CustomerPromises:
    """Every promise ever made to a customer (their own, their reply and check promises,
    the next-update promises of incidents that covered their case), by original due time,
    each judged against it, and their follow-through (`ocx customer promises`)."""
    now = clock.now()
    with store.read():
        person = customers.get(store, ref, timeline_limit=0)
        rows = sql.promises_to_customer(store.conn, person.id)
    found = [Promise.from_row(row) for row in rows]
    return CustomerPromises(person, found, clock.to_iso(now), follow_through(found, now))
