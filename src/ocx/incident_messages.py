"""What an incident says to its customers: updates, and resolving with a closing message.

Every customer's message is rendered (Jinja2's sandbox, ocx.toml's limits) before the write
lock is taken; quiet hours hold a message, and a customer no channel reaches becomes a call
for their concierge. Resolving lives here too: it stops what a resolved case has not been
sent yet, and may send a closing message exactly as an update does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from ocx import clock, customers, promises, team, templates
from ocx import config as cfg
from ocx.channels import check_fallback, customer_addresses, customer_channel
from ocx.errors import NotFound, OcxError
from ocx.incidents import Incident, _case, _event, _find, _step, _unswept, update_key_prefix
from ocx.store import Store
from ocx.store import incidents as sql

if TYPE_CHECKING:
    from ocx.pluginhost import Plugins


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
    checks: int = 0  # promises to check with the customer that it is fixed (resolve)
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
    template_name: str = "--message", plugins: Plugins | None = None,
) -> list[_Outgoing]:  # fmt: skip
    """Render every case's message (Jinja2's sandbox, within ocx.toml's template_timeout and
    template_max_bytes) and choose how it reaches the customer. Reads only: callers do this
    before they take the write lock, so a slow template never holds other commands up.
    PLUGINS: the app's registry, so no second one is built; None: the installed notifiers,
    loaded only if a channel needs them."""
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
    notifiers = plugins.notifiers() if plugins is not None else None
    address = customer_addresses(config, notifiers)  # the same few answers for 100,000 customers

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
    template_name: str = "--message", plugins: Plugins | None = None,
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
                            template_name, plugins)  # fmt: skip
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


# --- resolve ---------------------------------------------------------------------------------


@_unswept
def resolve(
    store: Store, incident: str | int, *, customer_ref: str | None, note: str | None,
    author: str | None, template: str | None = None, config: dict[str, Any] | None = None,
    fallback: str | None = None, template_name: str = "--message", plugins: Plugins | None = None,
) -> Outcome:  # fmt: skip
    """Resolve one case, or the whole incident and every case still open.

    Whatever was not yet delivered for a resolved case is never sent (state `obsolete`), and
    its open call promises are closed. With `template`, each case resolved here gets a
    closing message exactly as `update` sends one; every message is rendered before the
    write lock is taken (a case added meanwhile is rendered then, and the lock taken again)."""
    config = config or {}
    if template is not None and not template.strip():
        raise OcxError("the closing message is empty; give --message TEXT or --template FILE")
    check_after = cfg.confirm_after(config)
    prepared: dict[int, _Outgoing] = {}
    while True:
        if template is not None:
            with store.read():
                found = _find(store, incident)
                rows = [
                    r for r in _resolving(store, found, customer_ref) if r["id"] not in prepared
                ]
                prepared.update({o.case_id: o for o in _prepare(
                    store, found, rows, template, None, config, fallback, author, template_name,
                    plugins)})  # fmt: skip
        now = clock.now()
        with store.write():
            found = _find(store, incident)
            rows = _resolving(store, found, customer_ref)
            if template is None or all(row["id"] in prepared for row in rows):
                return _resolve_now(store, found, rows, prepared, template is not None,
                                    customer_ref=customer_ref, note=note, now=now, author=author,
                                    check_after=check_after)  # fmt: skip
        # cases were added since the messages were rendered: render theirs, unlocked


def _resolve_now(
    store: Store, found: Incident, rows: list[Any], prepared: dict[int, _Outgoing],
    closing: bool, *, customer_ref: str | None, note: str | None, now: datetime,
    author: str | None, check_after: timedelta = timedelta(days=1),
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
    outcome.checks = _promise_checks(store, found, rows, now + check_after, author)
    return outcome


def _promise_checks(
    store: Store, found: Incident, rows: list[Any], due: datetime, author: str | None
) -> int:
    """Fixed means the customer says so: for each case resolved, its concierge promises to
    check with the customer (`ocx incident confirm` keeps it), due at `due` or, when that
    falls in the customer's quiet hours, when they end. Owned by the case's concierge, else
    the incident's lead, else whoever resolves if they are on the team; a case none of them
    can own gets no check. How many were promised."""
    people = customers.profiles(store, [row["customer_id"] for row in rows])
    owners: dict[str | None, str | None] = {}
    fallback = found.lead or _member(store, author)
    new = []
    for row, person in zip(rows, people, strict=True):
        handle = row["concierge"]
        if handle not in owners:
            owners[handle] = _member(store, handle) or fallback
        owner = owners[handle]
        if owner is None:
            continue
        zone = clock.zone(person.time_zone) if person.time_zone else clock.zone("UTC")
        at = _quiet_until(person.quiet_hours, zone, due) or due
        new.append(promises.NewPromise(
            person.id, f"Check with {person.name or person.email} that it is fixed", at, owner,
            "case", row["id"], kind="check",
        ))  # fmt: skip
    promises.add_many(store, new, author=author)
    return len(new)


def _resolving(store: Store, found: Incident, customer_ref: str | None) -> list[Any]:
    """The cases a resolve command resolves: the one named, or every case still open."""
    if customer_ref is not None:
        row = _case(store, found, customer_ref)
        if row["state"] in ("resolved", "confirmed"):
            raise OcxError(f"{customer_ref}'s case in {found.ref} is already {row['state']}")
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
