"""Whether anything can be due: the check behind cron's `ocx due`, every few minutes.

Two small queries and nothing else loaded (ocx.due, with its dataclasses, loads only when
something may be due): the due query on its index, stopped at the first row, and the
cadences in force. A cadence cannot come due sooner after it was set than its shortest
step; one set longer ago, or with a step given as a duration, means "maybe", and
ocx.due.items says.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ocx import clock

if TYPE_CHECKING:
    from ocx.store import Store

DEFAULT_ESCALATE_AFTER = "4h"  # escalate_after when the config gives none

# The least time each named cadence step waits (a month: 28 days at least).
SHORTEST_STEP = {
    "daily": timedelta(days=1), "weekly": timedelta(weeks=1),
    "fortnightly": timedelta(weeks=2), "biweekly": timedelta(weeks=2),
    "monthly": timedelta(days=28),
}  # fmt: skip


def nothing_due(store: Store, *, within: timedelta, owner: str | None = None) -> bool:
    """True when ocx.due.items would surely find nothing: no open promise is due within
    `within` and every cadence in force was set more recently than its shortest step, so
    none of its contacts can be due yet. False: there may be something. The owner is a
    handle as team.get returns it."""
    from ocx.store import cadences as cadence_sql
    from ocx.store import promises as promise_sql

    now = clock.now()
    with store.read():
        if promise_sql.any_due_promise(store.conn, clock.to_iso(now + within), owner):
            return False
        in_force = cadence_sql.cadences_in_force(store.conn)
    for row in in_force:
        steps = [part.split("*")[0].strip() for part in row["schedule"].lower().split(",")]
        if not steps or any(step not in SHORTEST_STEP for step in steps):
            return False
        if clock.from_iso(row["set_at"]) + min(SHORTEST_STEP[step] for step in steps) <= now:
            return False
    return True
