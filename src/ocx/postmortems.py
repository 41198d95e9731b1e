"""Blameless postmortems: prefilled from the incident's record, checked for blame, with
action items tracked as promises."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from ocx import clock, incidents, outbox, promises, team
from ocx.errors import NotFound, OcxError
from ocx.figures import percentile, span_text
from ocx.store import Store
from ocx.store import postmortems as sql

SECTIONS = ("Root cause", "What went well", "What went wrong", "Where we got lucky")


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (clock.from_iso(end) - clock.from_iso(start)).total_seconds()


def facts(store: Store, incident: incidents.Incident) -> dict[str, Any]:
    """The figures a postmortem starts from, computed from the record alone."""
    conn = store.conn
    cases = incidents.cases(store, incident.id)
    first_contact = [
        s for s in (_seconds(c["added_at"], c["contacted_at"]) for c in cases) if s is not None
    ]
    updates = incidents.updates(store, incident.id)
    deliveries = outbox.deliveries_by_update(store, incidents.update_key_prefix(incident.id))
    p50 = statistics.median(first_contact) if first_contact else None
    return {
        "incident": incident.ref,
        "title": incident.title,
        "summary": incident.summary,
        "severity": incident.severity,
        "lead": incident.lead,
        "customers_affected": len(cases),
        "customers_contacted": len(first_contact),
        "customers_agreed": sum(1 for c in cases if c["agreed_at"]),
        # resolved for them, confirmed ones included (a confirmed case was resolved first)
        "customers_resolved": sum(1 for c in cases if c["resolved_at"]),
        # of those, the customers who said it is fixed (`ocx incident confirm`)
        "customers_confirmed": sum(1 for c in cases if c["state"] == "confirmed"),
        "by_company": dict(sql.affected_by(conn, incident.id, "company")),
        "by_tag": dict(sql.affected_by(conn, incident.id, "tag")),
        "started_at": clock.iso_json(incident.started_at),
        "detected_at": clock.iso_json(incident.detected_at),
        "resolved_at": clock.iso_json(incident.resolved_at),
        "time_to_detect_s": _seconds(incident.started_at, incident.detected_at),
        "duration_s": _seconds(incident.started_at, incident.resolved_at),
        "first_contact_p50_s": p50,
        "first_contact_p90_s": percentile(first_contact, 90),
        "updates": [
            {
                "at": clock.iso_json(u["at"]),
                "messages": u["messages"],
                "author": u["author"],
                "delivered": deliveries.get(u["id"], {}).get("sent", 0),
                "replaced": deliveries.get(u["id"], {}).get("replaced", 0),
                "stopped": deliveries.get(u["id"], {}).get("stopped", 0),
                "first_delivered_at": clock.iso_json(
                    deliveries.get(u["id"], {}).get("first_sent_at")
                ),
                "last_delivered_at": clock.iso_json(
                    deliveries.get(u["id"], {}).get("last_sent_at")
                ),
            }
            for u in updates
        ],  # every update: when it was posted, and when and to how many it was delivered
        "events": [
            {
                "at": clock.iso_json(e["at"]),
                "kind": e["kind"],
                "text": e["text"],
                "author": e["author"],
            }
            for e in incidents.events(store, incident.id)
        ],
        "rescue_plan": incident.rescue_plan,
        "rollback_plan": incident.rollback_plan,
    }


def markdown(data: dict[str, Any], *, author: str, reviewer: str | None, tz: tzinfo) -> str:
    """The starting text: the record's facts, then empty sections for people to write."""

    def when(text: str | None) -> str:
        return clock.local_text(text, tz) if text else "not yet"

    counts = lambda mapping: ", ".join(f"{k} {v}" for k, v in mapping.items()) or "none"  # noqa: E731
    lines = [
        f"# Postmortem: {data['incident']} {data['title']}",
        "",
        f"Author: {author} · Reviewer: {reviewer or 'not set'} · Severity {data['severity']}"
        f" · Lead: {data['lead'] or 'none'}",
        "",
        "This postmortem is blameless: it asks what in our systems and processes let this "
        "happen, not who.",
        "",
        "## Summary",
        "",
        data["summary"] or "(what happened, in two sentences)",
        "",
        "## Impact",
        "",
        f"- Customers affected: {data['customers_affected']}",
        f"- By company: {counts(data['by_company'])}",
        f"- By tag: {counts(data['by_tag'])}",
        f"- Started {when(data['started_at'])}, detected {when(data['detected_at'])} "
        f"(after {span_text(data['time_to_detect_s'])}), resolved {when(data['resolved_at'])}",
        f"- Duration: {span_text(data['duration_s'])}",
        "",
        "## Customer contact",
        "",
        f"- Time to first contact, counted from fanout: median {span_text(data['first_contact_p50_s'])}, "
        f"90th percentile {span_text(data['first_contact_p90_s'])} "
        f"({data['customers_contacted']} of {data['customers_affected']} customers contacted)",
        f"- Agreed to the rescue plan: {data['customers_agreed']} of {data['customers_affected']}",
        f"- Resolved for {data['customers_resolved']} of {data['customers_affected']}; "
        f"confirmed fixed by the customer: {data.get('customers_confirmed', 0)} of "
        f"{data['customers_resolved']}",
        f"- Updates sent: {len(data['updates'])}"
        + "".join(
            f"\n  - posted {when(u['at'])} for {u['messages']} customers: {u['delivered']} delivered"
            + (
                f" ({when(u['first_delivered_at'])} to {when(u['last_delivered_at'])})"
                if u["delivered"]
                else ""
            )
            + (f", {u['replaced']} replaced by a later update" if u["replaced"] else "")
            + (f", {u['stopped']} not sent: case resolved first" if u.get("stopped") else "")
            for u in data["updates"]
        ),
        "",
        "## Timeline",
        "",
        *(f"- {when(e['at'])} {e['kind']}: {e['text']}" for e in data["events"]),
        "",
        "## Rescue plan and roll-back",
        "",
        f"- Rescue: {data['rescue_plan'] or 'none recorded'}",
        f"- Roll-back: {data['rollback_plan'] or 'none recorded'}",
        "",
    ]
    for section in SECTIONS:
        lines += [f"## {section}", "", ""]
    lines += [
        "## Action items",
        "",
        "Tracked as promises: ocx postmortem action ID TEXT --owner HANDLE --due WHEN",
        "",
    ]
    return "\n".join(lines)


@dataclass
class Postmortem:
    id: int
    incident_id: int
    author: str
    reviewer: str | None
    status: str
    body: str
    facts: dict[str, Any]
    created_at: str
    updated_at: str
    published_at: str | None
    actions: list[promises.Promise] = field(default_factory=list)

    @property
    def incident(self) -> str:
        return incidents.ref(self.incident_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "incident": self.incident, "author": self.author,
            "reviewer": self.reviewer, "status": self.status,
            **self.facts,
            "actions": [
                {"id": p.id, "text": p.text, "owner": p.owner, "due_at": clock.iso_json(p.due_at),
                 "state": p.state, "outcome": p.outcome, "done_at": clock.iso_json(p.done_at)}
                for p in self.actions
            ],
            "body": self.body,
            "created_at": clock.iso_json(self.created_at),
            "updated_at": clock.iso_json(self.updated_at),
            "published_at": clock.iso_json(self.published_at),
        }  # fmt: skip


def parse_id(text: str | int) -> int:
    match = re.fullmatch(r"(?:pm-?|#)?(\d{1,18})", str(text).strip(), re.IGNORECASE)
    if not match:
        raise NotFound(f"no postmortem {text!r}; see 'ocx postmortem list'")
    return int(match.group(1))


def get(store: Store, postmortem: str | int) -> Postmortem:
    """The postmortem and its action items, read in one snapshot."""
    with store.read():
        row = sql.get(store.conn, parse_id(postmortem))
        if row is None:
            raise NotFound(f"no postmortem {postmortem!r}; see 'ocx postmortem list'")
        found = Postmortem(
            id=row["id"], incident_id=row["incident_id"], author=row["author"],
            reviewer=row["reviewer"], status=row["status"], body=row["body"],
            facts=json.loads(row["facts"]), created_at=row["created_at"],
            updated_at=row["updated_at"], published_at=row["published_at"],
        )  # fmt: skip
        found.actions = promises.about(store, "postmortem", found.id)
    return found


def listing(store: Store) -> list[Postmortem]:
    with store.read():
        return [get(store, row["id"]) for row in sql.listing(store.conn)]


def _check_reviewer(incident: incidents.Incident, reviewer: str | None) -> None:
    if reviewer and incident.lead and reviewer == incident.lead:
        raise OcxError(
            f"the reviewer must not be {incident.ref}'s lead ({incident.lead}): a postmortem "
            "needs an independent review; pick someone else"
        )


def new(
    store: Store, incident: str | int, *, author: str, reviewer: str | None, tz: tzinfo
) -> Postmortem:
    with store.write():
        found = incidents.get(store, incident)
        writer = team.get(store, author).handle
        checker = team.get(store, reviewer).handle if reviewer else None
        _check_reviewer(found, checker)
        data = facts(store, found)
        postmortem_id = sql.insert(store.conn, {
            "incident_id": found.id, "author": writer, "reviewer": checker,
            "body": markdown(data, author=writer, reviewer=checker, tz=tz),
            "facts": json.dumps(data, sort_keys=True), "created_at": clock.to_iso(clock.now()),
        })  # fmt: skip
        return get(store, postmortem_id)


def edit(store: Store, postmortem: str | int, body: str) -> Postmortem:
    with store.write():
        found = get(store, postmortem)
        if found.status == "published":
            raise OcxError(f"postmortem {found.id} is published and final")
        if body != found.body:
            sql.update(
                store.conn, found.id, {"body": body, "updated_at": clock.to_iso(clock.now())}
            )
        return get(store, found.id)


def set_reviewer(store: Store, postmortem: str | int, reviewer: str) -> Postmortem:
    with store.write():
        found = get(store, postmortem)
        if found.status == "published":
            raise OcxError(f"postmortem {found.id} is published and final")
        checker = team.get(store, reviewer).handle
        _check_reviewer(incidents.get(store, found.incident_id), checker)
        sql.update(
            store.conn, found.id, {"reviewer": checker, "updated_at": clock.to_iso(clock.now())}
        )
        return get(store, found.id)


def action(
    store: Store, postmortem: str | int, text: str, *, owner: str, due: datetime,
    author: str | None,
) -> promises.Promise:  # fmt: skip
    """An action item is a promise: it shows in `ocx due` and is kept or broken like any."""
    with store.write():
        found = get(store, postmortem)
        return promises.add(store, None, text, due=due, owner=owner, author=author,
                            subject_type="postmortem", subject_id=found.id)  # fmt: skip


# --- blameless check -----------------------------------------------------------------------

# (pattern, suggestion). {people} stands for the team's handles and names.
RULES: list[tuple[str, str]] = [
    (r"\bhuman error\b", "name the conditions that made the error likely (a missing check, a "
     "confusing screen, time pressure) instead of 'human error'"),
    (r"\bshould(?:n't| not)? have\b", "say what the system or process lacked, e.g. 'the runbook "
     "had no step for ...', rather than what someone should have done"),
    (r"\bcareless(?:ly|ness)?\b", "describe what made the step easy to get wrong"),
    (r"\b(?:(?:his|her|their|my|your|our|{people})(?:'s)?\s+fault|fault of)\b",
     "replace fault with the contributing factors"),
    (r"(?<!nobody is at )(?<!no one is at )(?<!not at )(?<!nobody's )"
     r"\bfault(?:y)?\b(?!\s*(?:tolerance|tolerant|injection|line|domain))",
     "replace fault with the contributing factors"),
    (r"\b(?:{people})(?:'s)?\s+(?:mistake|error|doing)\b|\b(?:mistake|error)s?\s+(?:by|of)\s+"
     r"(?:{people})\b", "name the gap in the process that let the mistake through, not the person"),
    (r"\b(?:{people})\s+(?:was|were|is)\s+(?:responsible|to blame|at fault)\b",
     "a person is not a root cause: say which safeguard was missing"),
    (r"\bbecause\s+(?:{people})\b", "a person is not a root cause: say which safeguard was missing"),
    (r"\b(?:{people}|he|she|they|someone|somebody|the (?:engineer|agent|developer|operator|"
     r"on-call|team))\s+(?:had\s+)?failed to\b",
     "describe what the system did, not what a person failed to do"),
    (r"\bblam(?:e|ed|es|ing)\b", "a blameless postmortem names causes, not culprits"),
    (r"\b(?:negligen\w*|incompeten\w*|sloppy|lazy|stupid|reckless\w*|inattentive)\b",
     "describe the conditions, not a person's character"),
    (r"\b(?:{people})\b[^.\n]{0,40}\b(?:caused|broke|forgot|missed|messed up|screwed up|"
     r"ignored|neglected)\b", "a person is not a root cause: say which safeguard was missing"),
    (r"\b(?:caused by|because of|due to|thanks to)\s+(?:{people})\b",
     "a person is not a root cause: say which safeguard was missing"),
    (r"\b(?:forgot to|didn't bother|did not bother|dropped the ball)\b",
     "say what reminder or check was missing"),
]  # fmt: skip


@dataclass
class Flag:
    line: int
    text: str
    match: str
    suggestion: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "match": self.match,
                "suggestion": self.suggestion}  # fmt: skip


def rules(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The built-in rules plus `[[postmortem.rules]] pattern = "...", suggestion = "..."`."""
    extra = (config.get("postmortem") or {}).get("rules") or []
    out = list(RULES)
    for item in extra:
        if not isinstance(item, dict) or not item.get("pattern"):
            raise OcxError(
                "each [[postmortem.rules]] in ocx.toml needs a pattern (and a suggestion)"
            )
        try:
            re.compile(str(item["pattern"]))
        except re.error as exc:
            raise OcxError(
                f"postmortem rule {item['pattern']!r} is not a valid pattern: {exc}"
            ) from None
        out.append((str(item["pattern"]), str(item.get("suggestion") or "rephrase without blame")))
    return out


def _people(store: Store) -> str:
    words: set[str] = set()
    for member in team.listing(store):
        words.add(member.handle)
        if member.name:
            words.add(member.name)
            words.update(part for part in member.name.split() if len(part) > 2)
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) or r"(?!x)x"


def check_text(text: str, rule_list: list[tuple[str, str]], people: str) -> list[Flag]:
    """Flag blaming language line by line, each with a suggestion."""
    compiled = [
        (re.compile(pattern.replace("{people}", people), re.IGNORECASE), suggestion)
        for pattern, suggestion in rule_list
    ]
    flags = []
    for number, line in enumerate(text.splitlines(), start=1):
        seen: set[str] = set()
        for pattern, suggestion in compiled:
            for match in pattern.finditer(line):
                if suggestion in seen:
                    continue
                seen.add(suggestion)
                flags.append(Flag(number, line.strip(), match.group(0), suggestion))
    return flags


def check(store: Store, postmortem: str | int, config: dict[str, Any]) -> list[Flag]:
    with store.read():
        found = get(store, postmortem)
        return check_text(found.body, rules(config), _people(store))


def publish(store: Store, postmortem: str | int, config: dict[str, Any]) -> Postmortem:
    with store.write():
        found = get(store, postmortem)
        if found.status == "published":
            raise OcxError(f"postmortem {found.id} is already published")
        if not found.reviewer:
            raise OcxError(
                f"postmortem {found.id} has no reviewer; set one with "
                f"'ocx postmortem review {found.id} HANDLE'"
            )
        flags = check_text(found.body, rules(config), _people(store))
        if flags:
            raise OcxError(
                f"postmortem {found.id} has {len(flags)} blaming phrase"
                f"{'s' if len(flags) != 1 else ''} (first on line {flags[0].line}: "
                f"{flags[0].match!r}); see 'ocx postmortem check {found.id}'"
            )
        stamp = clock.to_iso(clock.now())
        sql.update(store.conn, found.id, {"status": "published", "published_at": stamp,
                                          "updated_at": stamp})  # fmt: skip
        return get(store, found.id)


def export_markdown(found: Postmortem, tz: tzinfo) -> str:
    """The text as written, with the action items and their states as of now."""
    lines = [found.body.rstrip(), ""]
    if found.actions:
        lines += ["### Action items (live)", ""]
        lines += [
            f"- [{'x' if p.state == 'done' else ' '}] {p.text} (owner {p.owner}, due "
            f"{clock.local_text(p.due_at, tz)}, {p.outcome.replace('_', ' ')})"
            for p in found.actions
        ]
    return "\n".join(lines) + "\n"
