"""Incidents: one outage becomes one case per affected customer, each with a concierge,
personal updates through the customer's own channel, and the next update always promised."""

from __future__ import annotations

import functools
import gc
import heapq
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from ocx import clock, customers, promises, team, templates
from ocx import config as cfg
from ocx.channels import check_fallback, customer_addresses, customer_channel
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import incidents as sql

CASE_STATES = sql.CASE_STATES
# A case `incident next` handed out is left to that concierge this long before another may take it.
CLAIM_LEASE = timedelta(minutes=30)
# Customers a fanout adds per transaction (about a second of work each).
FANOUT_BATCH = 100_000
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


# --- fanout ----------------------------------------------------------------------------------


@dataclass
class Fanout:
    added: int = 0
    already_present: int = 0
    unknown: list[str] = field(default_factory=list)
    dry_run: bool = False
    assigned: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "already_present": self.already_present,
                "unknown": self.unknown}  # fmt: skip


def _refs_in(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise OcxError(
            f"{path}: no such file; give a file with one customer REF per line"
        ) from None
    except UnicodeDecodeError:
        raise OcxError(f"{path}: not UTF-8 text; one customer REF per line") from None
    except OSError as exc:
        raise OcxError(f"cannot read {path}: {exc.strerror}") from None
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@_unswept
def fanout(
    store: Store, incident: str | int, *, tags: tuple[str, ...] = (),
    companies: tuple[str, ...] = (), files: tuple[Path, ...] = (), queries: tuple[str, ...] = (),
    everyone: bool = False, concierges: tuple[str, ...] = (), dry_run: bool = False,
    author: str | None,
) -> Fanout:  # fmt: skip
    """One case per affected customer; again later adds only those not yet in. Concierges
    are given least-loaded first, and a customer who already has one in an open incident
    keeps that person."""
    if not (tags or companies or files or queries or everyone):
        raise OcxError("say who is affected: --tag, --company, --customers FILE, --query or --all")
    result = Fanout(dry_run=dry_run)
    refs = [r for path in files for r in _refs_in(path)]
    # Finding who is affected (searches, a file of refs) is read-only work: it is done
    # before the write lock, which is then held only to add the cases.
    with store.read():
        found = _find(store, incident)
        if found.status != "open":
            raise OcxError(f"{found.ref} is resolved; open a new incident for a new outage")
        helpers = [team.get(store, h).handle for h in dict.fromkeys(concierges)]
        conn = store.conn
        affected: dict[int, None] = {}
        for tag in tags:
            affected.update(dict.fromkeys(sql.customers_by(conn, tag=customers.normalise_tag(tag))))
        for company in companies:
            affected.update(dict.fromkeys(sql.customers_by(conn, company=company.strip())))
        for query in queries:
            affected.update(dict.fromkeys(customers.search_ids(store, query)))
        if everyone:
            affected.update(dict.fromkeys(sql.customers_by(conn, everyone=True)))
        for text in refs:
            try:
                affected[customers.resolve(store, text)] = None
            except NotFound:
                result.unknown.append(text)
    ids = list(affected)
    added = 0
    # A million customers take seconds to add: in batches of FANOUT_BATCH, each committed
    # with its cases' timeline rows, so other commands get the lock in between and a fanout
    # killed half-way leaves whole cases behind (running it again adds the rest).
    for start in range(0, max(len(ids), 1), FANOUT_BATCH):
        chunk = ids[start : start + FANOUT_BATCH]
        with store.read() if dry_run else store.write():
            found = _find(store, incident)
            if found.status != "open":
                raise OcxError(f"{found.ref} was resolved meanwhile; open a new incident")
            conn = store.conn
            if start == 0:  # who is in, who keeps whom, who carries what: read once
                present = sql.case_customer_ids(conn, found.id)
                keep = sql.concierges_in_open_incidents(conn, found.id)
                load = sql.open_load(conn, helpers)
            batch = _assign(
                [(seq, cid) for seq, cid in enumerate(chunk, 1) if cid not in present],
                keep, helpers, load, result,
            )  # fmt: skip
            if dry_run:
                result.already_present += len(chunk) - len(batch)
                continue
            sql.stage_fanout(conn, batch)
            left_out = sql.fanout_leave_out(conn, found.id)
            result.already_present += len(chunk) - len(batch) + len(left_out)
            stamp = clock.to_iso(clock.now())
            added += sql.add_fanout_cases(conn, found.id, stamp)
            sql.record_fanout(conn, found.id, f"Affected by {found.ref}: {found.title}", author,
                              stamp)  # fmt: skip
            if start + FANOUT_BATCH >= len(ids):
                _event(store, found.id, "fanout", f"{added} cases added", author=author,
                       data={"added": added, "already_present": result.already_present,
                             "unknown": len(result.unknown)})  # fmt: skip
    result.added = len(ids) - result.already_present
    return result


def _assign(
    batch: list[tuple[int, int]], keep: dict[int, str], helpers: list[str],
    load: dict[str, int], result: Fanout,
) -> list[tuple[int, int, str | None]]:  # fmt: skip
    """Concierges for a batch of new cases, (seq, customer id) each: a customer keeps their
    concierge from another open incident, else gets the least-loaded helper (the first
    named, on a tie); `load` is kept up to date. Returns (seq, customer id, concierge)."""
    # A heap of (load, position, handle), one entry per helper: an entry may lag behind its
    # helper's load (loads only grow), and is brought up to date when it comes to the top.
    heap = [(load[h], position, h) for position, h in enumerate(helpers)]
    heapq.heapify(heap)
    out = []
    for seq, cid in batch:
        concierge = keep.get(cid)
        if concierge is None and heap:
            while heap[0][0] != load[heap[0][2]]:
                _, position, handle = heap[0]
                heapq.heapreplace(heap, (load[handle], position, handle))
            concierge = heap[0][2]
        if concierge in load:
            load[concierge] += 1
        if concierge:
            result.assigned[concierge] = result.assigned.get(concierge, 0) + 1
        out.append((seq, cid, concierge))
    return out


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
        if row["state"] == "resolved" and step != "resolve" and not calls:
            raise OcxError(f"{customer_ref}'s case in {found.ref} is already resolved")
        _step(store, found, row, step, note, author)
        for call_id in calls:  # the call ocx asked for is made
            promises.done(store, call_id, note=note or "contacted", author=author)


@_unswept
def resolve(
    store: Store, incident: str | int, *, customer_ref: str | None, note: str | None,
    author: str | None, template: str | None = None, config: dict[str, Any] | None = None,
    fallback: str | None = None, template_name: str = "--message",
) -> Outcome:  # fmt: skip
    """Resolve one case, or the whole incident and every case still open.

    Whatever was not yet delivered for a resolved case is never sent (state `obsolete`), and
    its open call promises are closed. With `template`, each case resolved here gets a
    closing message exactly as `update` sends one; every message is rendered before the
    write lock is taken (a case added meanwhile is rendered then, and the lock taken again)."""
    config = config or {}
    if template is not None and not template.strip():
        raise OcxError("the closing message is empty; give --message TEXT or --template FILE")
    prepared: dict[int, _Outgoing] = {}
    while True:
        if template is not None:
            with store.read():
                found = _find(store, incident)
                rows = [
                    r for r in _resolving(store, found, customer_ref) if r["id"] not in prepared
                ]
                prepared.update({o.case_id: o for o in _prepare(
                    store, found, rows, template, None, config, fallback, author, template_name)})  # fmt: skip
        now = clock.now()
        with store.write():
            found = _find(store, incident)
            rows = _resolving(store, found, customer_ref)
            if template is None or all(row["id"] in prepared for row in rows):
                return _resolve_now(store, found, rows, prepared, template is not None,
                                    customer_ref=customer_ref, note=note, now=now, author=author)  # fmt: skip
        # cases were added since the messages were rendered: render theirs, unlocked


def _resolve_now(
    store: Store, found: Incident, rows: list[Any], prepared: dict[int, _Outgoing],
    closing: bool, *, customer_ref: str | None, note: str | None, now: datetime,
    author: str | None,
) -> Outcome:  # fmt: skip
    """resolve's writes, under the write lock, every closing message already rendered."""
    for row in rows:
        _step(store, found, row, "resolve", note, author)
    _close_cases(store, [row["id"] for row in rows], reason="case resolved", author=author)
    outcome = Outcome(resolved=len(rows))
    if closing:
        outgoing = [prepared[row["id"]] for row in rows]
        _dispatch(store, found, outgoing, outcome, kind="incident-resolved",
                  key=lambda cid: f"incident:{found.id}:resolved:customer:{cid}",
                  now=now, author=author)  # fmt: skip
    whole = customer_ref is None
    if whole:
        sql.update_incident(store.conn, found.id, {"status": "resolved",
                                                   "resolved_at": clock.to_iso(now)})  # fmt: skip
    last = whole or not sql.cases(store.conn, found.id, open_only=True)
    if last and found.next_update_promise_id:
        promise = promises.get(store, found.next_update_promise_id)
        if promise.state == "open":
            reason = "incident resolved" if whole else "last case resolved"
            promises.done(store, promise.id, note=reason, author=author)
    if whole:
        _event(store, found.id, "resolved",
               f"{found.ref} resolved" + (f": {note}" if note else ""), author=author)  # fmt: skip
    return outcome


def _resolving(store: Store, found: Incident, customer_ref: str | None) -> list[Any]:
    """The cases a resolve command resolves: the one named, or every case still open."""
    if customer_ref is not None:
        row = _case(store, found, customer_ref)
        if row["state"] == "resolved":
            raise OcxError(f"{customer_ref}'s case in {found.ref} is already resolved")
        return [row]
    if found.status == "resolved":
        raise OcxError(f"{found.ref} is already resolved")
    return sql.cases(store.conn, found.id, open_only=True)


def _close_cases(store: Store, case_ids: list[int], *, reason: str, author: str | None) -> None:
    """Nothing stale reaches a resolved case's customer: updates not yet delivered are made
    obsolete, and calls still to make are closed."""
    from ocx import outbox

    outbox.obsolete_for_cases(store, case_ids)
    calls = sql.open_calls(store.conn, case_ids)
    promises.cancel_many(store, [call for case_id in case_ids for call in calls.get(case_id, ())],
                         reason=reason, author=author)  # fmt: skip


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


# --- updates -----------------------------------------------------------------------------------


def _quiet_until(quiet_hours: str | None, zone: tzinfo, now: datetime) -> datetime | None:
    """When the customer's quiet hours end, if `now` falls inside them (their time zone)."""
    if not quiet_hours:
        return None
    start_text, end_text = quiet_hours.split("-")
    start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    local = now.astimezone(zone)
    at = local.time()
    inside = start <= at < end if start < end else (at >= start or at < end)
    if not inside:
        return None
    day = local.date() if at < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


@dataclass
class Outcome:
    """What an update or a closing message did: messages queued (held ones included), held
    for quiet hours, and turned into calls for a person to make."""

    queued: int = 0
    held: int = 0
    calls: int = 0
    resolved: int = 0
    samples: list[tuple[str, str]] = field(default_factory=list)  # (customer, text), dry run
    next_update_due: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, int]:
        return {"queued": self.queued, "held": self.held, "calls": self.calls}


@dataclass
class _Outgoing:
    """One customer's rendered message and how it will reach them (a channel or a call)."""

    case_id: int
    customer_id: int
    person: customers.Customer
    text: str
    channel: str | None  # None: a call for the owner below
    recipient: str | None
    owner: str | None  # who makes the call
    until: datetime | None  # quiet hours end


class _Contexts:
    """What each customer's template sees. The parts all customers in one time zone share
    (the incident, its times) and each concierge's are made once and shared between their
    contexts: the sandbox is immutable, so no template can change them for the next one."""

    def __init__(self, found: Incident, helpers: dict[str, team.Member | None],
                 next_update: datetime | None) -> None:  # fmt: skip
        self.found = found
        self.helpers = helpers
        self.next_update = clock.to_iso(next_update) if next_update else None
        self._shown: dict[tuple[str | None, tzinfo], str] = {}
        self._zones: dict[tzinfo, tuple[dict[str, Any], str | None]] = {}
        self._concierges: dict[str, dict[str, Any] | None] = {}

    def local(self, stored: str | None, zone: tzinfo) -> str:
        """clock.local_text, remembered: the same few times in a dozen zones, many times."""
        key = (stored, zone)
        if key not in self._shown:
            self._shown[key] = clock.local_text(stored, zone)
        return self._shown[key]

    def _zone(self, zone: tzinfo) -> tuple[dict[str, Any], str | None]:
        if zone not in self._zones:
            found = self.found
            incident = {
                "id": found.ref, "number": found.id, "title": found.title,
                "severity": found.severity, "summary": found.summary, "status": found.status,
                "lead": found.lead, "started_at": self.local(found.started_at, zone),
                "rescue_plan": found.rescue_plan, "rollback_plan": found.rollback_plan,
            }  # fmt: skip
            shown = self.local(self.next_update, zone) if self.next_update else None
            self._zones[zone] = (incident, shown)
        return self._zones[zone]

    def _concierge(self, handle: str | None) -> dict[str, Any] | None:
        key = handle or ""
        if key not in self._concierges:
            member = self.helpers.get(key)
            self._concierges[key] = None if member is None else {
                "handle": member.handle, "name": member.name or member.handle,
                "email": member.email,
            }  # fmt: skip
        return self._concierges[key]

    def __call__(self, case: Any, person: customers.Customer) -> dict[str, Any]:
        zone = clock.zone(person.time_zone) if person.time_zone else clock.zone("UTC")
        first = (person.name or "").split()[0] if person.name else None
        incident, next_update = self._zone(zone)
        return {
            "customer": {
                "name": person.name or person.email,
                "first_name": first or person.name or person.email,
                "email": person.email, "company": person.company,
                "pace": person.pace or "normal", "tone": person.tone,
                "language": person.language, "time_zone": person.time_zone,
                "channel": person.channel, "tags": list(person.tags),
            },
            "incident": incident,
            "case": {"state": case["state"], "concierge": case["concierge"],
                     "added_at": self.local(case["added_at"], zone)},
            "concierge": self._concierge(case["concierge"]),
            "next_update": next_update,
        }  # fmt: skip


def _prepare(
    store: Store, found: Incident, rows: list[Any], template: str, due_next: datetime | None,
    config: dict[str, Any], fallback: str | None, author: str | None,
    template_name: str = "--message",
) -> list[_Outgoing]:  # fmt: skip
    """Render every case's message (Jinja2's sandbox, within ocx.toml's template_timeout and
    template_max_bytes) and choose how it reaches the customer. Reads only: callers do this
    before they take the write lock, so a slow template never holds other commands up."""
    if fallback is not None:
        check_fallback(config, fallback)
    now = clock.now()
    people = customers.profiles(store, [row["customer_id"] for row in rows])
    helpers: dict[str, team.Member | None] = {}
    for row in rows:
        handle = row["concierge"]
        if handle and handle not in helpers:
            try:
                helpers[handle] = team.get(store, handle)
            except NotFound:
                helpers[handle] = None
    context = _Contexts(found, helpers, due_next)
    contexts = [context(row, person) for row, person in zip(rows, people, strict=True)]
    limits = templates.Limits(cfg.template_timeout(config), cfg.template_max_bytes(config))
    texts = templates.render_all(template, contexts, name=template_name, limits=limits,
                                 labels=[person.email for person in people])  # fmt: skip
    channels: dict[str | None, str | None] = {}
    address = customer_addresses(config)  # the same few answers for 100,000 customers

    out = []
    for row, person, text in zip(rows, people, texts, strict=True):
        zone = clock.zone(person.time_zone) if person.time_zone else clock.zone("UTC")
        until = None if found.severity == 1 else _quiet_until(person.quiet_hours, zone, now)
        if person.channel not in channels:  # the same few answers for 100,000 customers
            channels[person.channel] = customer_channel(config, person.channel)
        channel = channels[person.channel]
        recipient = address(channel, person) if channel else None
        if channel is None and fallback is not None:
            recipient = address(fallback, person)
            channel = fallback if recipient else None
        owner = None
        if channel is None:
            concierge = helpers.get(row["concierge"] or "")
            owner = concierge.handle if concierge else found.lead or _member(store, author)
            if owner is None:
                raise OcxError(
                    f"{person.email} prefers {person.channel}, which no channel reaches, and "
                    f"their case in {found.ref} has neither a concierge nor a lead to call "
                    f"them; join the team with 'ocx team add {author or 'HANDLE'}' to take "
                    "the calls, or give cases out with 'ocx incident next --concierge HANDLE'"
                )
        out.append(_Outgoing(row["id"], person.id, person, text, channel, recipient, owner, until))
    return out


def _member(store: Store, handle: str | None) -> str | None:
    if not handle:
        return None
    try:
        return team.get(store, handle).handle
    except NotFound:
        return None


@dataclass
class _Letters:
    """What an update or a closing message writes for the customers a channel reaches: their
    outbox rows (keys still to fill in) and timeline entries, one each, in the same order.
    Made from the rendered messages before the write lock is taken."""

    rows: list[dict[str, Any]]
    entries: list[dict[str, Any]]

    def only(self, case_ids: set[int]) -> _Letters:
        keep = [i for i, row in enumerate(self.rows) if row["case_id"] in case_ids]
        return _Letters([self.rows[i] for i in keep], [self.entries[i] for i in keep])


def _letters(found: Incident, outgoing: list[_Outgoing], kind: str) -> _Letters:
    from ocx import outbox  # here: `incident next` and the rest never load the plugin API

    incident = found.ref
    subject = f"[{incident}] {found.title}"
    sent = [item for item in outgoing if item.channel is not None]
    rows = outbox.rows_for([
        {
            "key": None, "kind": kind, "channel": item.channel, "recipient": item.recipient,
            "subject": subject, "body": item.text,
            "payload": {"incident": incident, "case_id": item.case_id,
                        "customer": item.person.email,
                        "addresses": {"email": item.person.email, "phone": item.person.phone}},
            "customer_id": item.customer_id, "not_before": item.until, "case_id": item.case_id,
        }
        for item in sent
    ])  # fmt: skip
    entries = [
        {"customer_id": item.customer_id, "text": item.text, "channel": item.channel}
        for item in sent
    ]
    return _Letters(rows, entries)


def _dispatch(
    store: Store, found: Incident, outgoing: list[_Outgoing], outcome: Outcome, *, kind: str,
    key: Callable[[int], str], now: datetime, author: str | None,
    letters: _Letters | None = None,
) -> None:  # fmt: skip
    """Queue each message on its channel, or make it a call promise owned by the case's
    concierge; record it in the customer's timeline. `key` names a customer's message (by
    customer id); `letters`, when given, were made from `outgoing` before the write lock.
    The caller holds the write lock."""
    from ocx import outbox

    letters = letters or _letters(found, outgoing, kind)
    calls = sql.open_calls(store.conn, [item.case_id for item in outgoing])
    # The latest news replaces a call; each customer's call changes come first in their
    # timeline, then the messages are queued and recorded together.
    promises.cancel_many(
        store, [earlier for item in outgoing for earlier in calls.get(item.case_id, ())],
        reason="replaced by a newer message", author=author,
    )  # fmt: skip
    new_calls = [
        promises.NewPromise(item.customer_id, f"Call {item.person.name or item.person.email} "
                            f"({item.person.channel}): {item.text}", item.until or now,
                            item.owner or "", "case", item.case_id)
        for item in outgoing if item.channel is None
    ]  # fmt: skip
    promises.add_many(store, new_calls, author=author)
    outcome.calls += len(new_calls)
    outcome.held += sum(item.until is not None for item in outgoing if item.channel is not None)
    for row in letters.rows:
        row["key"] = key(row["customer_id"])
    outcome.queued += outbox.queue_rows(store, letters.rows)
    customers.record_many(store, kind, letters.entries, author=author,
                          subject_type="incident", subject_id=found.id, direction="outbound")  # fmt: skip


@_unswept
def update(
    store: Store, incident: str | int, template: str, *, next_update: timedelta | None,
    dry_run: bool, config: dict[str, Any], author: str | None, fallback: str | None = None,
    template_name: str = "--message",
) -> Outcome:  # fmt: skip
    """Render one message per open case and queue it for the customer's own channel; quiet
    hours hold it (unless severity 1); a customer no channel reaches becomes a call for their
    concierge. Every message is rendered, outside the write lock, before any is queued."""
    if not template.strip():
        raise OcxError("the update is empty; give --message TEXT or --template FILE")
    now = clock.now()
    due_next = now + next_update if next_update else None
    with store.read():
        found = _find(store, incident)
        if found.status != "open":
            raise OcxError(f"{found.ref} is resolved; no more updates to send")
        rows = sql.cases(store.conn, found.id, open_only=True)
        if not rows:
            raise OcxError(f"{found.ref} has no open cases; run 'ocx incident fanout' first")
        outgoing = _prepare(store, found, rows, template, due_next, config, fallback, author,
                            template_name)  # fmt: skip
    if dry_run:
        samples = [(o.person.email, o.text) for o in outgoing[:3]]
        return Outcome(samples=samples, dry_run=True,
                       next_update_due=clock.to_iso(due_next) if due_next else None)  # fmt: skip
    if due_next is not None and not (found.lead or author):
        raise OcxError(f"{found.ref} has no lead to own the next-update promise; set --lead")
    letters = _letters(found, outgoing, "incident-update")
    with store.write():
        found = _find(store, incident)
        if found.status != "open":
            raise OcxError(f"{found.ref} was resolved meanwhile; no more updates to send")
        still_open = sql.open_case_ids(store.conn, found.id)
        outgoing = [o for o in outgoing if o.case_id in still_open]
        letters = letters.only(still_open)
        stamp = clock.to_iso(now)
        update_id = sql.add_update(store.conn, {
            "incident_id": found.id, "at": stamp, "author": author, "template": template,
            "messages": len(outgoing),
            "next_update_at": clock.to_iso(due_next) if due_next else None,
        })  # fmt: skip
        from ocx import outbox

        replaced = outbox.supersede(
            store, update_key_prefix(found.id), [o.customer_id for o in outgoing], stamp
        )
        customers.record_many(store, "incident-update", [
            {"customer_id": cid, "data": {"replaced": True},
             "text": f"An earlier update on {found.ref} was not sent: this one replaced it "
                     "while it waited for their quiet hours to end"}
            for cid in dict.fromkeys(o.customer_id for o in outgoing) if cid in replaced
        ], author=author, subject_type="incident", subject_id=found.id)  # fmt: skip
        sql.mark_updated(store.conn, [o.case_id for o in outgoing], stamp)
        outcome = Outcome(next_update_due=clock.to_iso(due_next) if due_next else None)
        _dispatch(store, found, outgoing, outcome, kind="incident-update",
                  key=lambda cid: f"{update_key_prefix(found.id)}{update_id}:customer:{cid}",
                  now=now, author=author, letters=letters)  # fmt: skip
        if found.next_update_promise_id:
            previous = promises.get(store, found.next_update_promise_id)
            if previous.state == "open":
                promises.done(store, previous.id, note=f"update {update_id} sent", author=author)
        promise_id = None
        if due_next is not None:
            promise_id = promises.add(
                store, None, f"Post the next update on {found.ref}: {found.title}",
                due=due_next, owner=found.lead or author or "", author=author,
                subject_type="incident", subject_id=found.id,
            ).id  # fmt: skip
        sql.update_incident(store.conn, found.id, {"next_update_promise_id": promise_id})
        _event(store, found.id, "update", f"Update {update_id} queued for {len(outgoing)} customers",
               author=author, data={"update_id": update_id, "messages": len(outgoing),
                                    "held_for_quiet_hours": outcome.held,
                                    "calls": outcome.calls})  # fmt: skip
        return outcome


# --- appended: a unit of work for `incident show`; what a postmortem reads of its incident ----


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
