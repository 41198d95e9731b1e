"""Incidents: one outage becomes one case per affected customer, each with a concierge,
personal updates through the customer's own channel, and the next update always promised.

This module holds the incident itself, its cases and the concierge queue (`incident next`),
and loads neither templates nor the plugin API; adding the cases is `ocx.fanout`, and what
reaches the customers (updates, resolving) is `ocx.incident_messages`."""

from __future__ import annotations

import functools
import gc
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ocx import clock, customers, promises, team
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import incidents as sql

CASE_STATES = sql.CASE_STATES
# A case `incident next` handed out is left to that concierge this long before another may take it.
CLAIM_LEASE = timedelta(minutes=30)
_ID = re.compile(r"(?:inc-?|#)?(\d{1,18})", re.IGNORECASE)


T = TypeVar("T")


def _unswept(func: Callable[..., T]) -> Callable[..., T]:
    """Python's cycle collector off while a command makes a row, a dict and a message for
    each of 100,000 cases: none of them form cycles (reference counting frees them), and the
    collector walking them again and again cost a quarter of an update's time."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> T:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


def parse_id(text: str | int) -> int:
    """`7`, `INC-7`, `inc-7` and `#7` all name incident 7."""
    match = _ID.fullmatch(str(text).strip())
    if not match:
        raise NotFound(f"no incident {text!r}; see 'ocx incident list'")
    return int(match.group(1))


def ref(incident_id: int) -> str:
    return f"INC-{incident_id}"


def update_key_prefix(incident_id: int) -> str:
    """Outbox keys of an incident's updates: PREFIX{update_id}:customer:{customer_id}."""
    return f"incident:{incident_id}:update:"


@dataclass
class Incident:
    id: int
    title: str
    severity: int
    lead: str | None
    summary: str | None
    status: str
    started_at: str
    detected_at: str
    resolved_at: str | None
    rescue_plan: str | None
    rollback_plan: str | None
    planned_at: str | None
    next_update_promise_id: int | None
    created_by: str | None
    cases: dict[str, int] = field(default_factory=dict)
    updates_sent: int = 0  # updates posted
    messages_sent: int = 0  # messages delivered to customers
    messages_waiting: int = 0  # queued, not delivered yet (quiet hours, retries)
    messages_replaced: int = 0  # held, then replaced by a newer update: never sent
    messages_stopped: int = 0  # not delivered when the case was resolved: never sent
    next_update_due: str | None = None

    @property
    def ref(self) -> str:
        return ref(self.id)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "detected_at", "resolved_at", "planned_at", "next_update_due"):
            out[key] = clock.iso_json(out[key])
        return {"ref": self.ref, **out}


def _from_row(row: Any) -> Incident:
    values = {k: row[k] for k in row.keys() if k in Incident.__dataclass_fields__}  # noqa: SIM118
    return Incident(**values)


def _find(store: Store, incident: str | int) -> Incident:
    """The incident's own row, without what `get` counts (cases by state, messages sent):
    commands that change an incident need only the row, and counting reads every case and
    every message of it."""
    row = sql.incident(store.conn, parse_id(incident))
    if row is None:
        raise NotFound(f"no incident {incident!r}; see 'ocx incident list'")
    return _from_row(row)


def _incident(store: Store, row: Any) -> Incident:
    found = _from_row(row)
    found.cases = sql.case_counts(store.conn, found.id)
    updates = sql.updates(store.conn, found.id)
    found.updates_sent = len(updates)
    from ocx import outbox  # here: `incident next` and the rest never load the plugin API

    deliveries = outbox.deliveries_by_update(store, update_key_prefix(found.id)).values()
    found.messages_sent = sum(d["sent"] for d in deliveries)
    found.messages_waiting = sum(d["waiting"] for d in deliveries)
    found.messages_replaced = sum(d["replaced"] for d in deliveries)
    found.messages_stopped = sum(d["stopped"] for d in deliveries)
    if found.next_update_promise_id:
        promise = promises.get(store, found.next_update_promise_id)
        if promise.state == "open":
            found.next_update_due = promise.effective_due
    return found


def get(store: Store, incident: str | int) -> Incident:
    row = sql.incident(store.conn, parse_id(incident))
    if row is None:
        raise NotFound(f"no incident {incident!r}; see 'ocx incident list'")
    return _incident(store, row)


def listing(store: Store, *, open_only: bool = True) -> list[Incident]:
    with store.read():
        return [_incident(store, row) for row in sql.incidents(store.conn, open_only=open_only)]


def _event(
    store: Store, incident_id: int, kind: str, text: str, *, author: str | None,
    customer_id: int | None = None, data: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    sql.add_event(store.conn, {
        "incident_id": incident_id, "at": clock.to_iso(clock.now()), "kind": kind,
        "author": author, "text": text, "customer_id": customer_id,
        "data": json.dumps(data, sort_keys=True) if data else None,
    })  # fmt: skip


def new(
    store: Store, title: str, *, severity: int = 3, lead: str | None = None,
    started: datetime | None = None, summary: str | None = None, author: str | None,
) -> Incident:  # fmt: skip
    if not title.strip():
        raise OcxError("the incident needs a title, e.g. 'Bank sync failing for HDFC'")
    if severity not in (1, 2, 3, 4):
        raise OcxError(f"severity {severity} is not 1 to 4 (1 is the worst)")
    now = clock.now()
    if started is not None and started > now:
        raise OcxError(f"--started {clock.to_iso(started)} is in the future")
    with store.write():
        lead_handle = team.get(store, lead).handle if lead else None
        incident_id = sql.insert_incident(store.conn, {
            "title": title.strip(), "severity": severity, "lead": lead_handle,
            "summary": (summary or "").strip() or None,
            "started_at": clock.to_iso(started or now), "detected_at": clock.to_iso(now),
            "created_by": author,
        })  # fmt: skip
        _event(store, incident_id, "opened", f"{ref(incident_id)} opened: {title.strip()}",
               author=author, data={"severity": severity, "lead": lead_handle})  # fmt: skip
        return get(store, incident_id)


# --- plan, agreement, case steps -------------------------------------------------------------


def plan(
    store: Store, incident: str | int, *, rescue: str, rollback: str, author: str | None
) -> Incident:
    if not rescue.strip() or not rollback.strip():
        raise OcxError("give both --rescue (how it will be fixed) and --rollback (how to undo it)")
    with store.write():
        found = _find(store, incident)
        sql.update_incident(store.conn, found.id, {
            "rescue_plan": rescue.strip(), "rollback_plan": rollback.strip(),
            "planned_at": clock.to_iso(clock.now()),
        })  # fmt: skip
        _event(store, found.id, "plan", f"Rescue plan: {rescue.strip()} / Roll-back: {rollback.strip()}",
               author=author)  # fmt: skip
        return get(store, found.id)


_STEPS = {
    # step: (state it moves the case to, timestamp column, words for the timeline)
    "contact": ("contacted", "contacted_at", "Contacted about"),
    "ack": ("acknowledged", "acknowledged_at", "Acknowledged"),
    "agree": ("agreed", "agreed_at", "Agreed to the rescue plan for"),
    "resolve": ("resolved", "resolved_at", "Resolved for them:"),
}


def _case(store: Store, found: Incident, customer_ref: str) -> Any:
    customer_id = customers.resolve(store, customer_ref)
    row = sql.case(store.conn, found.id, customer_id)
    if row is None:
        raise NotFound(
            f"customer {customer_ref!r} is not in {found.ref}; add them with 'ocx incident fanout'"
        )
    return row


def _step(
    store: Store, found: Incident, row: Any, step: str, note: str | None, author: str | None
) -> None:
    state, column, words = _STEPS[step]
    stamp = clock.to_iso(clock.now())
    fields: dict[str, Any] = {"last_activity_at": stamp, "claimed_by": None, "claimed_at": None}
    if CASE_STATES.index(state) > CASE_STATES.index(row["state"]):
        fields["state"] = state
    if row[column] is None:
        fields[column] = stamp
    if step == "contact" and row["concierge"] is None and author:
        fields["concierge"] = author
    sql.update_case(store.conn, row["id"], fields)
    text = f"{words} {found.ref}: {found.title}" + (f" ({note})" if note else "")
    customers.record(store, row["customer_id"], "incident", text, author=author,
                     subject_type="incident", subject_id=found.id, data={"step": step})  # fmt: skip
    _event(store, found.id, step, text, author=author, customer_id=row["customer_id"])


def case_step(
    store: Store, incident: str | int, customer_ref: str, step: str, *, note: str | None = None,
    author: str | None,
) -> None:  # fmt: skip
    """contact, ack, agree or resolve one customer's case; each step is timestamped."""
    with store.write():
        found = _find(store, incident)
        row = _case(store, found, customer_ref)
        if step == "agree" and not found.rescue_plan:
            raise OcxError(
                f"{found.ref} has no rescue plan yet; record it with 'ocx incident plan'"
            )
        calls = _open_calls(store, row["id"]) if step == "contact" else []
        # A resolved case may still owe a call: the closing message for a phone customer.
        if row["state"] in ("resolved", "confirmed") and step != "resolve" and not calls:
            raise OcxError(f"{customer_ref}'s case in {found.ref} is already {row['state']}")
        _step(store, found, row, step, note, author)
        for call_id in calls:  # the call ocx asked for is made
            promises.done(store, call_id, note=note or "contacted", author=author)


def acknowledge_by_reply(store: Store, case_id: int, *, note: str, author: str | None) -> bool:
    """A customer's reply to an update on their case: the `ack` step, only when that moves
    the case forward (a case acknowledged, agreed or resolved already stays as it is).
    Whether it moved. The caller holds the write lock."""
    row = sql.case_by_id(store.conn, case_id)
    if row is None or CASE_STATES.index(row["state"]) >= CASE_STATES.index("acknowledged"):
        return False
    _step(store, _find(store, row["incident_id"]), row, "ack", note, author)
    return True


def case_incident(store: Store, case_id: int) -> int | None:
    """The incident a case belongs to (None: no such case)."""
    row = sql.case_by_id(store.conn, case_id)
    return int(row["incident_id"]) if row else None


def open_case_concierge(store: Store, customer_id: int) -> str | None:
    """The concierge of the customer's open case (the most recently active of several)."""
    return sql.open_case_concierge(store.conn, customer_id)


def _resolved_case(store: Store, found: Incident, customer_ref: str, what: str) -> Any:
    row = _case(store, found, customer_ref)
    if row["state"] != "resolved":
        raise OcxError(
            f"{customer_ref}'s case in {found.ref} is {row['state']}, not resolved; "
            f"only a resolved case can be {what}"
        )
    return row


def confirm(
    store: Store, incident: str | int, customer_ref: str, *, note: str | None = None,
    author: str | None,
) -> None:  # fmt: skip
    """The customer says it is fixed: their resolved case becomes `confirmed`, with when and
    who recorded it, and the promise to check with them is kept."""
    with store.write():
        found = _find(store, incident)
        row = _resolved_case(store, found, customer_ref, "confirmed")
        stamp = clock.to_iso(clock.now())
        sql.update_case(store.conn, row["id"], {
            "state": "confirmed", "confirmed_at": stamp, "confirmed_by": author,
            "last_activity_at": stamp, "claimed_by": None, "claimed_at": None,
        })  # fmt: skip
        text = f"Confirmed fixed: {found.ref}: {found.title}" + (f" ({note})" if note else "")
        _answered(store, found, row, "confirm", text, note or "confirmed fixed", author)


def reopen(
    store: Store, incident: str | int, customer_ref: str, *, note: str, author: str | None
) -> None:
    """The customer says it is not fixed: their resolved case goes back to `contacted` (no
    longer resolved), with the note in their timeline. The promise to check with them is
    kept: the question was asked and answered, as with `confirm` (cancelling it once due
    would count a broken promise to someone we did hear from). Resolving the case again
    promises a new check."""
    if not note.strip():
        raise OcxError("say why the case is reopened: --note 'Still failing for her'")
    with store.write():
        found = _find(store, incident)
        row = _resolved_case(store, found, customer_ref, "reopened")
        stamp = clock.to_iso(clock.now())
        fields: dict[str, Any] = {
            "state": "contacted", "resolved_at": None, "last_activity_at": stamp,
            "claimed_by": None, "claimed_at": None,
        }  # fmt: skip
        if row["contacted_at"] is None:  # telling us it is not fixed is a contact
            fields["contacted_at"] = stamp
        sql.update_case(store.conn, row["id"], fields)
        text = f"Reopened {found.ref}: {found.title}: not fixed ({note.strip()})"
        _answered(store, found, row, "reopen", text, f"not fixed: {note.strip()}", author)


def _answered(
    store: Store, found: Incident, row: Any, step: str, text: str, kept: str, author: str | None
) -> None:
    """The customer answered whether it is fixed (`confirm` or `reopen`): the step in their
    timeline and the incident's events, and the promise to check with them kept (with the
    note `kept`). The caller holds the write lock."""
    customers.record(store, row["customer_id"], "incident", text, author=author,
                     subject_type="incident", subject_id=found.id, data={"step": step})  # fmt: skip
    _event(store, found.id, step, text, author=author, customer_id=row["customer_id"])
    for check in sql.open_checks(store.conn, [row["id"]]).get(row["id"], []):
        promises.done(store, check, note=kept, author=author)


def _open_calls(store: Store, case_id: int) -> list[int]:
    """The calls still to make about a case (promise ids, the soonest due first)."""
    return sql.open_calls(store.conn, [case_id]).get(case_id, [])


def cases(store: Store, incident: str | int, *, state: str | None = None) -> list[dict[str, Any]]:
    """Every case of an incident with its customer, concierge, state and times."""
    if state is not None and state not in CASE_STATES:
        raise OcxError(f"unknown case state {state!r}; use one of {', '.join(CASE_STATES)}")
    with store.read():
        found = _find(store, incident)
        rows = sql.cases(store.conn, found.id)
    return [
        {k: row[k] for k in row.keys()}  # noqa: SIM118
        for row in rows
        if state is None or row["state"] == state
    ]


# --- one customer at a time ------------------------------------------------------------------


@dataclass
class CaseView:
    incident: Incident
    case: dict[str, Any]
    customer: customers.Customer

    def to_json(self) -> dict[str, Any]:
        case = {k: (clock.iso_json(v) if k.endswith("_at") else v) for k, v in self.case.items()}
        return {"incident": self.incident.ref, "case": case, "customer": self.customer.to_json()}


def next_case(store: Store, incident: str | int, *, concierge: str) -> CaseView | None:
    """Claim the one case to handle now for this concierge: two engineers asking at once get
    different customers (the claim is made inside a write transaction)."""
    now = clock.now()
    with store.write():
        found = _find(store, incident)
        me = team.get(store, concierge).handle
        row = sql.next_case(store.conn, found.id, me, clock.to_iso(now - CLAIM_LEASE))
        if row is None:
            return None
        fields: dict[str, Any] = {"claimed_by": me, "claimed_at": clock.to_iso(now)}
        if row["concierge"] is None:
            fields["concierge"] = me
        sql.update_case(store.conn, row["id"], fields)
        row = sql.case_by_id(store.conn, row["id"])
        profile = customers.get(store, str(row["customer_id"]), timeline_limit=5)
        case = {k: row[k] for k in row.keys()}  # noqa: SIM118
        return CaseView(found, case, profile)


# --- what `incident show` and a postmortem read of an incident -------------------------------


def show(store: Store, incident: str | int) -> Incident:
    """`get`, every figure read in one snapshot (`ocx incident show`)."""
    with store.read():
        return get(store, incident)


def updates(store: Store, incident_id: int) -> list[Any]:
    """The updates posted on an incident, oldest first."""
    return sql.updates(store.conn, incident_id)


def events(store: Store, incident_id: int) -> list[Any]:
    """The incident's timeline of events, oldest first."""
    return sql.events(store.conn, incident_id)
