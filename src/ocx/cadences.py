"""Cadences: proactive contact schedules (daily, then weekly, then monthly) that restart
from each real outbound contact."""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ocx import clock
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import cadences as sql

SCHEDULE_EXAMPLE = "daily*5,weekly*4,monthly"
_NAMED = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1),
          "fortnightly": timedelta(weeks=2), "biweekly": timedelta(weeks=2)}  # fmt: skip
_LONGEST_STEP = timedelta(days=3653)
MOST_TIMES = 10_000  # daily*10000 is 27 years; a count past it is a typo, not a plan
_STEP = re.compile(r"\s*([a-z0-9 .]+?)\s*(?:\*\s*(\d+))?\s*")


@dataclass(frozen=True)
class Step:
    every: str  # daily, weekly, monthly, or a duration such as 3d
    times: int | None  # None: for good

    def after(self, moment: datetime) -> datetime:
        if self.every == "monthly":
            return add_months(moment, 1)
        return moment + (_NAMED.get(self.every) or clock.parse_duration(self.every))

    def __str__(self) -> str:
        return self.every + (f"*{self.times}" if self.times is not None else "")


@functools.lru_cache(maxsize=256)
def _steps(schedule: str) -> list[Step]:
    """Stored schedules parse the same every time: once per run is enough."""
    return parse_schedule(schedule)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, clamped to the month's end (31 Jan -> 28/29 Feb)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def parse_schedule(text: str) -> list[Step]:
    """'daily*5,weekly*4,monthly' -> steps; only the last step may go on for good."""
    steps = []
    parts = [part for part in text.lower().split(",")]
    for index, part in enumerate(parts):
        match = _STEP.fullmatch(part)
        if not match or not match.group(1).strip():
            raise OcxError(f"cannot read cadence {text!r}; use e.g. {SCHEDULE_EXAMPLE}")
        every = match.group(1).strip()
        if every not in _NAMED and every != "monthly":
            try:
                interval = clock.parse_duration(every)
            except OcxError:
                raise OcxError(
                    f"cadence step {every!r} is not daily, weekly, monthly or a duration like 3d; "
                    f"use e.g. {SCHEDULE_EXAMPLE}"
                ) from None
            if interval > _LONGEST_STEP:  # past the calendar's end, it would break every list
                raise OcxError(f"cadence step {every!r} is longer than ten years")
        count = (match.group(2) or "").lstrip("0") or match.group(2)
        if count and (len(count) > len(str(MOST_TIMES)) or int(count) > MOST_TIMES):
            # checked before int() reads it: that refuses 4,300 digits with a ValueError
            raise OcxError(
                f"cadence step {every!r} repeats too many times; use *1 to *{MOST_TIMES}"
            )
        times = int(count) if count else None
        if times == 0:
            raise OcxError(
                f"cadence step {part.strip()!r} repeats 0 times; drop it or use *1 or more"
            )
        if times is None and index < len(parts) - 1:
            raise OcxError(
                f"cadence step {every!r} goes on for good, so nothing after it can happen; "
                f"give it a count (e.g. {every}*3) or put it last"
            )
        steps.append(Step(every, times))
    return steps


def interval_index(steps: list[Step], contacts: int) -> tuple[Step, int] | None:
    """The step that sets the next due time after `contacts` outbound contacts, and its
    1-based position in the schedule; None when a finite schedule is complete."""
    n = max(contacts - 1, 0)  # until the first contact and after it: step 1's interval
    for position, step in enumerate(steps, start=1):
        if step.times is None or n < step.times:
            return step, position
        n -= step.times
    return None


@dataclass
class CadenceState:
    cadence_id: int
    customer_id: int
    customer: str
    customer_name: str | None
    schedule: str
    owner: str
    set_at: str
    via_tag: str | None
    contacts: int  # outbound contacts made since the cadence was set
    last_contact_at: str | None
    step: int | None  # position in the schedule of the interval now running
    next_due_at: str | None  # None: a finite schedule that is complete

    def behind_seconds(self, now: datetime) -> int:
        if self.next_due_at is None:
            return 0
        return max(0, int((now - clock.from_iso(self.next_due_at)).total_seconds()))

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "cadence_id": self.cadence_id, "customer": self.customer,
            "customer_id": self.customer_id, "customer_name": self.customer_name,
            "schedule": self.schedule, "owner": self.owner, "tag": self.via_tag,
            "set_at": clock.iso_json(self.set_at), "contacts": self.contacts,
            "last_contact_at": clock.iso_json(self.last_contact_at), "step": self.step,
            "next_due_at": clock.iso_json(self.next_due_at),
            "behind_seconds": self.behind_seconds(now),
        }  # fmt: skip


def _next(schedule: str, contacts: int, since: str) -> tuple[datetime, int] | None:
    """When the next contact is due after the latest one (or the start), and the position
    of the step that sets it; None when a finite schedule is complete."""
    found = interval_index(_steps(schedule), contacts)
    if found is None:
        return None
    return found[0].after(clock.from_iso(since)), found[1]


def _state(row: Any) -> CadenceState:
    found = _next(row["schedule"], row["contacts"], row["last_contact_at"] or row["start_at"])
    return CadenceState(
        cadence_id=row["id"], customer_id=row["target_id"], customer=row["customer_email"],
        customer_name=row["customer_name"], schedule=row["schedule"], owner=row["owner"],
        set_at=row["start_at"], via_tag=row["tag"], contacts=row["contacts"],
        last_contact_at=row["last_contact_at"],
        step=found[1] if found else None,
        next_due_at=clock.to_iso(found[0]) if found else None,
    )  # fmt: skip


def states(store: Store) -> list[CadenceState]:
    """Every customer with a cadence in force, with when the next contact is due."""
    with store.read():
        return [_state(row) for row in sql.cadence_targets(store.conn)]


def counts(store: Store, now: datetime) -> tuple[int, int]:
    """(in force, behind) without a state per customer: `ocx report` counts thousands of
    cadences on its start-up path."""
    with store.read():
        rows = sql.cadence_progress(store.conn)
    behind = 0
    for _, schedule, start_at, contacts, last_contact_at in rows:
        found = _next(schedule, contacts, last_contact_at or start_at)
        # behind_seconds counts whole seconds: a fraction of one is on schedule
        behind += found is not None and (now - found[0]).total_seconds() >= 1
    return len(rows), behind


def due(store: Store, *, now: datetime, owner: str | None = None) -> list[CadenceState]:
    stamp = clock.to_iso(now)
    return [
        s for s in states(store)
        if s.next_due_at is not None and s.next_due_at <= stamp
        and (owner is None or s.owner == owner.strip().lower())
    ]  # fmt: skip


def set_cadence(
    store: Store, *, ref: str | None, tag: str | None, schedule: str, owner: str,
    author: str | None,
) -> tuple[int, str | None]:  # fmt: skip
    """Start (or replace) a cadence for one customer or for everyone with a tag; returns the
    new cadence's id and what it replaced (`daily*5,monthly (owner alex)`), so nobody
    replaces a colleague's schedule without being told."""
    if (ref is None) == (tag is None):
        raise OcxError("give a customer REF or --tag, not both")
    steps = parse_schedule(schedule)
    canonical = ",".join(str(step) for step in steps)
    stamp = clock.to_iso(clock.now())
    from ocx import customers, team  # the report's cadence counts need neither

    with store.write():
        member = team.get(store, owner)
        customer_id = customers.resolve(store, ref) if ref is not None else None
        tag_name = customers.normalise_tag(tag) if tag is not None else None
        current = (
            sql.active_cadence_for_customer(store.conn, customer_id)
            if customer_id is not None
            else sql.active_cadence_for_tag(store.conn, tag_name or "")
        )
        if customer_id is not None:
            sql.stop_customer_cadences(store.conn, customer_id, stamp)
        elif current is not None:
            sql.stop_cadence(store.conn, current["id"], stamp)
        cadence_id = sql.insert_cadence(
            store.conn,
            {"customer_id": customer_id, "tag": tag_name, "schedule": canonical,
             "owner": member.handle, "set_at": stamp},
        )  # fmt: skip
        if customer_id is not None:
            customers.record(
                store, customer_id, "cadence", f"Cadence set: {canonical} (owner {member.handle})",
                author=author, subject_type="cadence", subject_id=cadence_id,
            )  # fmt: skip
    replaced = f"{current['schedule']} (owner {current['owner']})" if current is not None else None
    return cadence_id, replaced


def stop(store: Store, *, ref: str | None, tag: str | None, author: str | None) -> None:
    if (ref is None) == (tag is None):
        raise OcxError("give a customer REF or --tag, not both")
    from ocx import customers

    stamp = clock.to_iso(clock.now())
    with store.write():
        if ref is not None:
            customer_id = customers.resolve(store, ref)
            current = sql.active_cadence_for_customer(store.conn, customer_id)
            if current is None:
                raise NotFound(f"{ref!r} has no cadence of their own to stop")
            sql.stop_customer_cadences(store.conn, customer_id, stamp)
            customers.record(
                store, customer_id, "cadence", f"Cadence stopped: {current['schedule']}",
                author=author, subject_type="cadence", subject_id=current["id"],
            )  # fmt: skip
        else:
            current = sql.active_cadence_for_tag(store.conn, customers.normalise_tag(tag or ""))
            if current is None:
                raise NotFound(f"no cadence for tag {tag!r} to stop")
            sql.stop_cadence(store.conn, current["id"], stamp)
