"""`ocx due`: what needs action now, and turning it into messages exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from ocx import clock
from ocx.duecheck import DEFAULT_ESCALATE_AFTER as DEFAULT_ESCALATE_AFTER
from ocx.errors import NotFound, OcxError
from ocx.figures import late_text as late_text

if TYPE_CHECKING:  # loaded when used: only --notify sends
    from ocx import outbox, team
    from ocx.pluginhost import Plugins
    from ocx.store import Store


@dataclass
class Item:
    """One thing to act on: a promise coming due or overdue, or a cadence contact due."""

    kind: str  # promise, cadence
    stage: str  # reminder, overdue, escalation (promises); due (cadences)
    customer: str
    customer_id: int | None
    customer_name: str | None
    owner: str
    due_at: str
    text: str
    late_seconds: int
    promise_id: int | None = None
    cadence_id: int | None = None

    @property
    def key(self) -> str:
        if self.promise_id is not None:
            return f"promise:{self.promise_id}:{self.due_at}:{self.stage}"
        return f"cadence:{self.cadence_id}:{self.customer_id}:{self.due_at}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "stage": self.stage, "customer": self.customer,
            "customer_id": self.customer_id, "customer_name": self.customer_name,
            "owner": self.owner, "due_at": clock.iso_json(self.due_at), "text": self.text,
            "late_seconds": self.late_seconds, "promise_id": self.promise_id,
            "cadence_id": self.cadence_id,
        }  # fmt: skip


def _late(now: datetime, due_at: str) -> int:
    return int((now - clock.from_iso(due_at)).total_seconds())


def items(
    store: Store, *, within: timedelta, owner: str | None = None,
    escalate_after: timedelta = timedelta(hours=4),
) -> list[Item]:  # fmt: skip
    """Overdue promises, promises due within `within`, cadence contacts due: soonest first.

    An overdue promise past `escalate_after` yields both its overdue item (for the owner)
    and an escalation (for the lead). Opens its own read, so callers need not."""
    from ocx import cadences, promises

    with store.read():  # one snapshot: promises and cadences as of the same moment
        now = clock.now()
        found: list[Item] = []
        for p in promises.due(store, until=now + within, owner=owner):
            late = _late(now, p.effective_due)
            stages = ["reminder"] if late < 0 else ["overdue"]
            if late >= escalate_after.total_seconds():
                stages.append("escalation")
            for stage in stages:
                found.append(Item(
                    "promise", stage, p.customer, p.customer_id, p.customer_name, p.owner,
                    p.effective_due, p.text, late, promise_id=p.id,
                ))  # fmt: skip
        for c in cadences.due(store, now=now, owner=owner):
            assert c.next_due_at is not None
            found.append(Item(
                "cadence", "due", c.customer, c.customer_id, c.customer_name, c.owner,
                c.next_due_at, f"Contact them ({c.schedule}, step {c.step})",
                _late(now, c.next_due_at), cadence_id=c.cadence_id,
            ))  # fmt: skip
        found.sort(key=lambda i: (i.due_at, i.kind, i.promise_id or 0, i.stage))
        return found


def _message_text(item: Item, tz: tzinfo) -> tuple[str, str]:
    who = f"{item.customer_name} <{item.customer}>" if item.customer_name else item.customer
    when = clock.local_text(item.due_at, tz)
    if item.kind == "cadence":
        return (f"Contact due: {who}", f"{item.text}.\nDue {when} ({late_text(item.late_seconds)}).\n"
                f"Log it with: ocx customer contact {item.customer} '...' --outbound")  # fmt: skip
    subject = {
        "reminder": f"Reminder: promise to {who} due {when}",
        "overdue": f"Overdue: promise to {who} was due {when}",
        "escalation": f"Escalation: promise to {who} overdue since {when} (owner {item.owner})",
    }[item.stage]
    body = (
        f"Promise {item.promise_id} to {who}: {item.text}\n"
        f"Owner: {item.owner}. Due {when} ({late_text(item.late_seconds)}).\n"
        f"When it is done: ocx promise done {item.promise_id}"
    )
    return subject, body


def _who(item: Item) -> str:
    return f"promise {item.promise_id}" if item.promise_id is not None else (
        f"cadence {item.cadence_id} ({item.customer})")  # fmt: skip


def _unreachable(
    item: Item, target: team.Member | None, config: dict[str, Any], plugins: Plugins
) -> str | None:
    """Why this item's message has nobody to go to, and what to set; None when it can go."""
    from ocx import channels

    if target is None:
        if item.stage == "escalation":
            return (f"{_who(item)}: the escalation has nobody to go to; make someone the team "
                    "lead with 'ocx team edit HANDLE --lead'")  # fmt: skip
        return (f"{_who(item)}: its owner {item.owner} is not on the team; add them with "
                f"'ocx team add {item.owner}' or give it another owner")  # fmt: skip
    channel, recipient = channels.member_route(target, config, plugins.notifiers())
    try:
        channels.channel_config(config, channel, plugins.notifiers())
    except OcxError:
        return (f"{_who(item)}: {target.handle}'s channel {channel} is not configured; add "
                f"[channels.{channel}] to ocx.toml or 'ocx team edit {target.handle} --channel NAME'")  # fmt: skip
    if not recipient:
        return (f"{_who(item)}: {target.handle} has no email for the email channel {channel}; "
                f"set it with 'ocx team edit {target.handle} --email ADDRESS'")  # fmt: skip
    return None


def notify(
    store: Store, found: list[Item], *, config: dict[str, Any], plugins: Plugins, tz: tzinfo
) -> outbox.Report:
    """Queue a message per item (once per key, ever), then deliver everything waiting. An
    item with nobody to go to is not queued but reported, every run, until it is fixed.
    The messages are written together (one statement, not one per item: a round trip each
    on PostgreSQL, under the write lock)."""
    from ocx import channels, outbox, team

    digests: dict[str, list[tuple[Item, str, str]]] = {}
    undeliverable: list[str] = []
    with store.write():
        lead = team.lead(store)
        members: dict[str, team.Member | None] = {}
        messages: list[dict[str, Any]] = []
        routed: list[tuple[Item, team.Member, str, str]] = []
        for item in found:
            if item.stage == "escalation":
                target = lead
            else:
                if item.owner not in members:
                    members[item.owner] = _member(store, item.owner)
                target = members[item.owner]
            problem = _unreachable(item, target, config, plugins)
            if problem is not None or target is None:
                undeliverable.append(problem or _who(item))
                continue
            subject, body = _message_text(item, tz)
            channel, recipient = channels.member_route(target, config, plugins.notifiers())
            payload = {
                **item.to_json(),
                "due_at": item.due_at,
                "to": target.handle,
                "addresses": {"email": target.email, "handle": target.handle},
            }
            messages.append({
                "key": item.key, "kind": item.stage if item.kind == "promise" else "cadence",
                "channel": channel, "recipient": recipient, "subject": subject, "body": body,
                "payload": payload, "promise_id": item.promise_id,
                "customer_id": item.customer_id,
            })  # fmt: skip
            routed.append((item, target, subject, body))
        added = outbox.queue_new(store, outbox.rows_for(messages))
        for item, target, subject, body in routed:
            if item.key in added and target.digest:
                digests.setdefault(target.handle, []).append((item, subject, body))
        for handle, entries in digests.items():
            _digest(store, handle, entries, config, plugins)
    report = outbox.deliver(store, config=config, plugins=plugins)
    report.undeliverable = undeliverable
    return report


def _member(store: Store, handle: str) -> team.Member | None:
    from ocx import team

    try:
        return team.get(store, handle)
    except NotFound:  # an owner removed from the team: reported as undeliverable
        return None


def _digest(
    store: Store, handle: str, entries: list[tuple[Item, str, str]], config: dict[str, Any],
    plugins: Plugins,
) -> None:  # fmt: skip
    """One message with all of a member's new items; the items' own messages stand down."""
    import hashlib

    from ocx import channels, outbox, team
    from ocx.store import outbox as sql

    keys = [item.key for item, _, _ in entries]
    sql.stand_down(store.conn, keys)
    member = team.get(store, handle)
    channel, recipient = channels.member_route(member, config, plugins.notifiers())
    digest_key = "digest:" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:24]
    parts = [{"key": item.key, "subject": subject, "body": body} for item, subject, body in entries]
    outbox.queue(
        store, key=digest_key, kind="digest", channel=channel, recipient=recipient,
        subject=outbox.digest_subject(len(parts)), body=outbox.digest_body(parts),
        payload={"to": handle, "items": keys, "parts": parts,
                 "addresses": {"email": member.email, "handle": handle}},
    )  # fmt: skip
