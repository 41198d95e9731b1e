"""Reports: do we keep our word, how fast do we reach people in an incident, and who is at
risk of being forgotten right now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ocx import clock
from ocx.errors import OcxError
from ocx.store import Store
from ocx.store import reports as sql

# cadences, team and ocx.figures (for percentile) are imported where they are
# used: the at-risk list needs none of them, and they are about 40 ms of its start-up.

OUTCOMES = ("made", "kept_on_time", "kept_late", "broken", "open_overdue")
CADENCE_SUGGESTION = "daily*5,weekly*4,monthly"


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    """The five counts and the kept-on-time rate (None when nothing has come due yet)."""
    judged = (
        counts["kept_on_time"] + counts["kept_late"] + counts["broken"] + counts["open_overdue"]
    )
    return {**counts, "kept_on_time_rate": counts["kept_on_time"] / judged if judged else None}


def promise_report(store: Store, *, since: datetime | None, owner: str | None) -> dict[str, Any]:
    rows = sql.promise_outcomes(
        store.conn, since=clock.to_iso(since) if since else None,
        owner=owner.strip().lower() if owner else None, now=clock.to_iso(clock.now()),
    )  # fmt: skip
    total = dict.fromkeys(OUTCOMES, 0)
    by_owner = {}
    for row in rows:
        counts = {k: int(row[k] or 0) for k in OUTCOMES}
        by_owner[row["owner"]] = _figures(counts)
        for k in OUTCOMES:
            total[k] += counts[k]
    return {**_figures(total), "by_owner": by_owner}


def incident_report(store: Store, *, since: datetime | None) -> list[dict[str, Any]]:
    from ocx.figures import percentile  # its median is statistics.median's, without the import

    out = []
    for row in sql.incident_cases(store.conn, clock.to_iso(since) if since else None):
        waits = [float(s) for s in sql.first_contact_waits(store.conn, row["incident_id"])]
        out.append({"incident": f"INC-{row['incident_id']}", "title": row["title"],
                    "cases": row["cases"], "contacted": len(waits),
                    "first_contact_p50_s": percentile(waits, 50),
                    "first_contact_p90_s": percentile(waits, 90)})  # fmt: skip
    return out


def cadence_report(store: Store) -> dict[str, int]:
    from ocx import cadences

    in_force, behind = cadences.counts(store, clock.now())
    return {"on_schedule": in_force - behind, "behind": behind}


def report(store: Store, *, since: datetime | None, owner: str | None) -> dict[str, Any]:
    with store.read():
        if owner:
            from ocx import team

            owner = team.get(store, owner).handle  # a typo is an error, not a row of zeros
        return {
            "since": clock.to_iso(since) if since else None,
            **promise_report(store, since=since, owner=owner),
            "incidents": incident_report(store, since=since),
            "cadences": cadence_report(store),
        }


@dataclass
class AtRisk:
    customer_id: int
    customer: str
    name: str | None
    score: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    suggestion: str | None = None
    oldest: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"customer": self.customer, "customer_id": self.customer_id, "name": self.name,
                "score": self.score, "reasons": self.reasons, "suggestion": self.suggestion}  # fmt: skip


FOLLOW_THROUGH_LAST = 5  # the promises that came due last, per customer
FOLLOW_THROUGH_MISSED = 3  # not kept on time, of those, that puts a customer at risk
FOLLOW_THROUGH_WEIGHT = 10  # per promise of those not kept on time


def at_risk(store: Store, config: dict[str, Any]) -> list[AtRisk]:
    """Customers who need attention now, most urgent first: overdue promises weigh most, then
    incident cases nobody has contacted and promises not kept on time lately, then squeaky
    wheels without a cadence."""
    try:
        contacts = int(config.get("squeaky_contacts", 3))
        days = float(config.get("squeaky_days", 7))
    except (TypeError, ValueError):
        raise OcxError("squeaky_contacts and squeaky_days in ocx.toml must be numbers") from None
    now = clock.now()
    stamp = clock.to_iso(now)
    found: dict[int, AtRisk] = {}

    def entry(customer_id: int) -> AtRisk:
        return found.setdefault(customer_id, AtRisk(customer_id, "", None))

    with store.read():
        conn = store.conn
        for row in sql.overdue_by_customer(conn, stamp):
            item = entry(row["customer_id"])
            item.score += 100 * row["n"]
            item.oldest = min(item.oldest or row["oldest"], row["oldest"])
            item.reasons.append({"kind": "overdue_promises", "count": row["n"],
                                 "text": f"{row['n']} overdue promise{'s' if row['n'] != 1 else ''}"
                                         f" (oldest due {row['oldest']})"})  # fmt: skip
        for row in sql.uncontacted_cases(conn):
            item = entry(row["customer_id"])
            item.score += 10 * row["n"]
            item.oldest = min(item.oldest or row["oldest"], row["oldest"])
            item.reasons.append({"kind": "incident_not_contacted", "count": row["n"],
                                 "text": f"not contacted yet in {row['incidents']}"})  # fmt: skip
        since = clock.to_iso(now - timedelta(days=days))
        inbound = sql.inbound_contacts(conn, since, stamp, contacts)
        with_cadence = sql.on_a_cadence(conn, [row["customer_id"] for row in inbound])
        for row in inbound:
            if row["customer_id"] in with_cadence:
                continue
            item = entry(row["customer_id"])
            item.score += row["n"]
            item.reasons.append({"kind": "squeaky_wheel", "count": row["n"],
                                 "text": f"{row['n']} inbound contacts in {days:g} days and no cadence"})  # fmt: skip
            item.oldest = item.oldest or row["latest"]
        # fewer than 3 of their last 5 promises kept on time (with fewer than 5 come due,
        # still 3 missed: two late promises are not yet a pattern)
        for customer_id, judged, kept, oldest in sql.follow_through(
            conn, stamp, last=FOLLOW_THROUGH_LAST, missed=FOLLOW_THROUGH_MISSED
        ):
            item = entry(customer_id)
            item.score += FOLLOW_THROUGH_WEIGHT * (judged - kept)
            item.oldest = min(item.oldest or oldest, oldest)
            item.reasons.append({"kind": "follow_through", "count": judged - kept,
                                 "text": f"kept {kept} of their last {judged} promises on time"})  # fmt: skip
        names = sql.customer_names(conn, list(found))
    for customer_id, item in found.items():
        item.customer = names[customer_id]["email"]
        item.name = names[customer_id]["name"]
        if any(r["kind"] == "squeaky_wheel" for r in item.reasons):
            item.suggestion = f"ocx cadence set {item.customer} {CADENCE_SUGGESTION}"
    return sorted(found.values(), key=lambda i: (-i.score, i.oldest, i.customer))
