"""Read a Freshdesk API v2 export as ocx import records: tickets (include=requester,
description) with their conversations, contacts, and the agents, companies and satisfaction
ratings that name people, fill companies and rate tickets.

A folder holds `tickets.json` (or page files `tickets-2.json`, `tickets-0002.json`..., read in
page order), `contacts.json`, `agents.json`, `companies.json`, `satisfaction_ratings.json`
and `conversations/{ticket_id}.json`; a single file is recognised by what its records hold.
All the PATHs of one import are read together (`read_all`): agents, companies and ratings
first, then contacts, then tickets, so a ticket finds its people whatever order the PATHs
came in. Contacts and tickets files are streamed with `ocx.plugin_api.json_items` (ijson), so a big
export keeps memory flat; a conversations file is one ticket's and is read whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    ImportFileError,
    ImportWarning,
    MessageRecord,
    Origin,
    Record,
    Satisfaction,
    SkippedRecord,
    check_not_empty,
    clean_text,
    html_to_text,
    iana_zone,
    json_first_event,
    json_item_line,
    json_items,
    load_json,
    not_text,
    record_id,
    value_type,
    with_ids,
)

RATINGS = "satisfaction_ratings"
KINDS = ("contacts", "tickets", "conversations", "agents", "companies", RATINGS)
# Files read before the tickets to name people and companies and rate tickets, never
# imported on their own.
LOOKUPS = ("agents", "companies", RATINGS)
_EXPECTED = {
    "contacts": "a JSON array of contacts, as GET /api/v2/contacts returns",
    "tickets": "a JSON array of tickets, as GET /api/v2/tickets returns",
    "conversations": "a JSON array of conversation entries, "
    "as GET /api/v2/tickets/{id}/conversations returns",
    "agents": "a JSON array of agents, as GET /api/v2/agents returns",
    "companies": "a JSON array of companies, as GET /api/v2/companies returns",
    RATINGS: "a JSON array of satisfaction ratings, "
    "as GET /api/v2/surveys/satisfaction_ratings returns",
}
SHAPE = (
    "not a Freshdesk export (expected a JSON array of tickets, contacts, conversation "
    "entries, agents, companies or satisfaction ratings, as the Freshdesk API v2 returns)"
)
# Freshdesk's own names for its numbers (developers.freshdesk.com/api, "Ticket properties");
# sources 4-6, 8 and 11-13 as a live account's GET /api/v2/ticket_fields names them.
STATUSES = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
PRIORITIES = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
SOURCES = {
    1: "Email", 2: "Portal", 3: "Phone", 4: "Forum", 5: "Twitter", 6: "Facebook", 7: "Chat",
    8: "MobiHelp", 9: "Feedback Widget", 10: "Outbound Email", 11: "Ecommerce", 12: "Bot",
    13: "Whatsapp",
}  # fmt: skip
# A survey answer's rating: new surveys' (-103 to 103) and classic surveys' (1 to 3).
RATING_NAMES = {
    103: "Extremely Happy", 102: "Very Happy", 101: "Happy", 100: "Neutral", -101: "Unhappy",
    -102: "Very Unhappy", -103: "Extremely Unhappy", 1: "Happy", 2: "Neutral", 3: "Unhappy",
}  # fmt: skip
OUTBOUND_EMAIL = 10  # ticket `source`: the ticket was opened by an agent's outbound email
# The fields read that must be text when they are there (null is as good as missing); a
# ticket's status and priority may also be numbers (2 = Open, ...).
CONTACT_TEXT = ("name", "email", "phone", "mobile", "time_zone", "language", "description",
                "custom_fields.preferred_pace")  # fmt: skip
TICKET_TEXT = ("subject", "description_text", "description", "created_at", "updated_at", "type",
               "requester.name", "requester.email", "requester.phone", "requester.mobile")  # fmt: skip
ENTRY_TEXT = ("body_text", "body", "from_email", "created_at")
NOT_IN_EXPORT = (
    "ticket {ticket}: requester {requester} is not in this export; import the contacts too"
)
NO_EMAIL = (
    "ticket {ticket}: requester {requester} has no email address; ocx knows customers by email"
)

# Keys that only one kind of record has, to recognise a file by its content.
_TICKET_KEYS = {"requester_id", "responder_id", "subject", "priority", "due_by", "fr_due_by"}
_AGENT_KEYS = {"ticket_scope", "occasional", "available", "available_since", "focus_mode",
               "signature", "contact", "agent_type", "role_ids", "skill_ids"}  # fmt: skip
_COMPANY_KEYS = {"domains", "account_tier", "health_score", "renewal_date", "industry"}
_RATING_KEYS = {"survey_id", "ratings", "feedback"}
_ENTRY_KEYS = {"incoming", "private", "body_text", "ticket_id", "from_email", "to_emails"}
_CONTACT_KEYS = {"email", "name", "phone", "mobile", "other_emails", "time_zone", "job_title"}


# --- small helpers ---------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tag(value: Any) -> str | None:
    """A Freshdesk tag may hold spaces ('billing issue'); ocx's customer tags are one word."""
    text = clean_text(value)
    if text is None:
        return None
    return "-".join(text.replace(",", " ").split()) or None


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(value: Any, names: dict[int, str]) -> str | None:
    """Freshdesk's name for one of its numbers (2 -> 'Open'); a number it does not name (a
    custom status) as given; text as given."""
    if _number(value):
        return names.get(value, str(value))
    return clean_text(value)


def _page_order(path: Path) -> tuple[Any, ...]:
    """`tickets.json`, `tickets-2.json`, ..., `tickets-10.json`: pages in the order of the
    numbers in their names, with or without leading zeros; a name without one first."""
    return tuple(int(n) for n in re.findall(r"\d+", path.name)), path.name


def kind_of_record(record: Any) -> str | None:
    """Which of KINDS one record is, by the keys only that kind has; None if it cannot tell."""
    if not isinstance(record, dict):
        return None
    keys = set(record)
    if keys & _TICKET_KEYS:
        return "tickets"
    if keys & _RATING_KEYS:
        return RATINGS
    if keys & _AGENT_KEYS:
        return "agents"
    if keys & _COMPANY_KEYS:
        return "companies"
    if keys & _ENTRY_KEYS or "body" in keys:
        return "conversations"
    if keys & _CONTACT_KEYS:
        return "contacts"
    return None


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    if path.parent.name.lower() == "conversations":
        return "conversations"
    for kind in ("contacts", "tickets", "agents", "companies", RATINGS):
        if name.startswith(kind) and name.endswith(".json"):
            return kind
    return None


# --- checking a file's shape ---------------------------------------------------------------


def _check_not_empty(path: Path, kind: str | None) -> None:
    check_not_empty(path, _EXPECTED[kind] if kind else "a Freshdesk API v2 response")


def _first_record(path: Path) -> Any:
    with closing(json_items(path, "item")) as items:
        return next(items, None)


def file_kind(path: Path, expected: str | None = None) -> str | None:
    """What a file holds, checked: one of KINDS, or None for an empty array. Raises
    ImportFileError for an empty file, bad JSON, or anything but an array of the expected
    records."""
    _check_not_empty(path, expected)
    shape = f"not a Freshdesk export (expected {_EXPECTED[expected]})" if expected else SHAPE
    if json_first_event(path) != "start_array":
        raise ImportFileError(str(path), shape)
    first = _first_record(path)
    if first is None:
        return expected  # an empty page
    if not isinstance(first, dict):
        raise ImportFileError(str(path), shape)
    kind = kind_of_record(first)
    if expected is not None and kind not in (None, expected):
        raise ImportFileError(str(path), f"{shape}; it holds {kind}")
    kind = kind or expected or kind_of_name(path)
    if kind is None:
        raise ImportFileError(str(path), f"{SHAPE}; cannot tell which its records are")
    return kind


def _load_entries(path: Path) -> list[Any]:
    """One ticket's conversation entries (a small file: read whole)."""
    _check_not_empty(path, "conversations")
    data = load_json(path)
    if not isinstance(data, list):
        raise ImportFileError(
            str(path), f"not a Freshdesk export (expected {_EXPECTED['conversations']})"
        )
    return data


# --- what one import has learnt ---------------------------------------------------------------


class _Folder:
    """One export folder's conversations: where they are, which ticket pages of the folder
    were read, and which conversations files no ticket has asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.conversations = folder / "conversations"
        try:
            self.entry_files = set(os.listdir(self.conversations))
        except OSError:
            self.entry_files = set()
        self.unclaimed = {name for name in self.entry_files if name.endswith(".json")}
        self.pages_read: set[Path] = set()

    def entries_file(self, ticket_id: str) -> Path | None:
        name = f"{ticket_id}.json"
        if name not in self.entry_files:
            return None
        self.unclaimed.discard(name)
        return self.conversations / name

    def skip(self, ticket_id: str) -> None:
        """The ticket is left out: its conversations file goes with it, unread."""
        self.unclaimed.discard(f"{ticket_id}.json")

    def orphans(self) -> Iterator[Record]:
        """A conversations file of a ticket that is not in the export: bad input. Told only
        when every tickets page of the folder was read (one page of several cannot say)."""
        pages = {p.resolve() for p in _pages(self.folder, "tickets")}
        if not pages or not pages <= self.pages_read:
            return
        for name in sorted(self.unclaimed):
            path = self.conversations / name
            if path.is_file():
                ticket_id = name.removesuffix(".json")
                yield BadRecord(
                    Origin(str(path), record=f"conversations for ticket {ticket_id}"),
                    "that ticket is not in the export",
                )


class _Import:
    """What one `ocx import freshdesk PATH...` has learnt so far: companies' and agents'
    names, the people it has yielded, and what the summary should warn about."""

    def __init__(self) -> None:
        self.companies: dict[str, str] = {}
        self.agents: dict[str, str | None] = {}
        # each ticket's latest satisfaction rating: (when, its Satisfaction)
        self.ratings: dict[str, tuple[str, Satisfaction]] = {}
        self.names: dict[str, str] = {}  # contacts' and requesters' names by id
        self.customers: set[str] = set()  # ids yielded as a CustomerRecord
        self.folders: dict[Path, _Folder] = {}
        self.read_entries: set[Path] = set()  # conversations files read with their ticket
        self.no_description = 0
        self.unnamed_agents: set[str] = set()

    def folder(self, path: Path) -> _Folder:
        key = path.resolve()
        if key not in self.folders:
            self.folders[key] = _Folder(path)
        return self.folders[key]

    def agent(self, agent_id: str) -> str:
        """An agent by name (agents.json), else `agent ID`: never a bare number."""
        name = self.agents.get(agent_id)
        if name:
            return name
        self.unnamed_agents.add(agent_id)
        return f"agent {agent_id}"

    def warnings(self) -> Iterator[Record]:
        if self.no_description:
            yield ImportWarning(
                f"{_count(self.no_description, 'ticket')} had no description "
                "(export with include=description)"
            )
        if self.unnamed_agents:
            yield ImportWarning(
                f"{_count(len(self.unnamed_agents), 'agent')} had no name, their messages say "
                "'agent ID' (save GET /api/v2/agents as agents.json beside the tickets)"
            )


# --- names: companies and agents ---------------------------------------------------------------


def _companies(path: Path) -> Iterator[tuple[str, str]]:
    for company in json_items(path, "item"):
        company_id = record_id(company.get("id")) if isinstance(company, dict) else None
        name = clean_text(company.get("name")) if company_id else None
        if company_id and name:
            yield company_id, name


def _ratings(path: Path, ratings: dict[str, tuple[str, Satisfaction]]) -> None:
    """Each ticket's latest survey answer: its default question's rating by Freshdesk's name
    (103 "Extremely Happy"), and the feedback written with it."""
    for rating in json_items(path, "item"):
        rating = _dict(rating)
        ticket_id = record_id(rating.get("ticket_id"))
        score = _dict(rating.get("ratings")).get("default_question")
        if ticket_id is None or not _number(score):
            continue
        when = clean_text(rating.get("updated_at")) or clean_text(rating.get("created_at")) or ""
        if ticket_id in ratings and ratings[ticket_id][0] > when:
            continue
        named = RATING_NAMES.get(score, str(score))
        ratings[ticket_id] = (when, Satisfaction(named, clean_text(rating.get("feedback"))))


def _agents(path: Path) -> Iterator[tuple[str, str | None]]:
    for agent in json_items(path, "item"):
        agent_id = record_id(agent.get("id")) if isinstance(agent, dict) else None
        if agent_id:
            yield agent_id, clean_text(_dict(agent.get("contact")).get("name"))


# --- records -----------------------------------------------------------------------------------


def _contacts(path: Path, run: _Import) -> Iterator[Record]:
    contacts = json_items(path, "item")
    for contact_id, contact, origin in with_ids(contacts, path, "contact"):
        if contact_id is None:
            yield BadRecord(origin, "contact has no id")
            continue
        problem = not_text(contact, *CONTACT_TEXT)
        if problem:
            yield BadRecord(Origin(str(path), contacts.line()), f"contact {contact_id}: {problem}")
            continue
        name = clean_text(contact.get("name"))
        if name:
            run.names[contact_id] = name
        others = (
            contact.get("other_emails") if isinstance(contact.get("other_emails"), list) else []
        )
        email = clean_text(contact.get("email")) or next(
            filter(None, map(clean_text, others)), None
        )
        if email is None:  # a phone-only contact is a real Freshdesk contact, not a broken one
            yield SkippedRecord(origin, f"contact {contact_id} has no email address")
            continue
        tags = contact.get("tags") if isinstance(contact.get("tags"), list) else []
        fields = _dict(contact.get("custom_fields"))
        zone = clean_text(contact.get("time_zone"))
        run.customers.add(contact_id)
        yield CustomerRecord(
            external_id=contact_id,
            email=email,
            name=name,
            company=run.companies.get(record_id(contact.get("company_id")) or ""),
            phone=clean_text(contact.get("phone")) or clean_text(contact.get("mobile")),
            time_zone=(iana_zone(zone) or zone) if zone else None,
            language=clean_text(contact.get("language")),
            pace=clean_text(fields.get("preferred_pace")),
            context=clean_text(contact.get("description")),
            tags=tuple(dict.fromkeys(t for t in map(_tag, tags) if t)),
            origin=origin,
        )


def _description(ticket: dict[str, Any]) -> str | None:
    """The ticket's first message; None when the export has none at all (the list was
    fetched without include=description and has no structured_description either)."""
    text = clean_text(ticket.get("description_text"))
    if text is not None:
        return text
    html = ticket.get("description")
    if isinstance(html, str):
        return html_to_text(html)
    if "description_text" in ticket or "description" in ticket:
        return ""
    # The list's documented example carries the text as structured_description instead.
    contents = _dict(ticket.get("structured_description")).get("description_contents")
    parts = [
        clean_text(_dict(_dict(part).get("data")).get("content"))
        for part in (contents if isinstance(contents, list) else [])
        if _dict(part).get("type") == "text"
    ]
    found = [p for p in parts if p]
    return "\n".join(found) if found else None


def _number_or_text(ticket: dict[str, Any], field: str) -> str | None:
    """Freshdesk sends a status or priority as a number (2 = Open); text is read too."""
    value = ticket.get(field)
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return None
    return f"{field} is {value_type(value)}, expected text or a number"


def _choice(value: Any) -> str | int | float | None:
    if isinstance(value, str):
        return clean_text(value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _custom_fields(value: Any) -> tuple[tuple[str, Any], ...]:
    """Freshdesk's {name: value}: (name, value) pairs, nulls and empty text left out."""
    pairs: list[tuple[str, Any]] = []
    for name, raw in _dict(value).items():
        label = clean_text(name)
        if label is None:
            continue
        if isinstance(raw, str):
            raw = clean_text(raw)
        elif isinstance(raw, list):  # a multi-select: its choices
            raw = [c for c in map(_choice, raw) if c is not None] or None
        elif not isinstance(raw, bool | int | float):
            raw = None  # an object: no field type of Freshdesk's holds one
        if raw is not None:
            pairs.append((label, raw))
    return tuple(pairs)


def _requester(
    ticket_id: str, requester_id: str | None, ticket: dict[str, Any], run: _Import, origin: Origin
) -> Iterator[Record]:
    """The customer `include=requester` embeds in the ticket, when no contacts file of this
    import has them: name, email, phone (else mobile), and the ticket's company."""
    requester = _dict(ticket.get("requester"))
    email = clean_text(requester.get("email"))
    name = clean_text(requester.get("name"))
    if requester_id is None:
        return
    if name and requester_id not in run.names:
        run.names[requester_id] = name
    if email is None or requester_id in run.customers:
        return
    run.customers.add(requester_id)
    company = run.companies.get(record_id(ticket.get("company_id")) or "") or clean_text(
        _dict(ticket.get("company")).get("name")  # include=company on GET /api/v2/tickets/[id]
    )
    yield CustomerRecord(
        external_id=requester_id,
        email=email,
        name=name,
        company=company,
        phone=clean_text(requester.get("phone")) or clean_text(requester.get("mobile")),
        origin=Origin(origin.file, record=f"ticket {ticket_id}: requester {requester_id}"),
    )


def _tickets(path: Path, run: _Import) -> Iterator[Record]:
    folder = run.folder(path.parent)
    folder.pages_read.add(path.resolve())
    tickets = json_items(path, "item")
    for ticket_id, ticket, origin in with_ids(tickets, path, "ticket"):
        if ticket_id is None:
            yield BadRecord(origin, "ticket has no id")
            continue
        problem = (
            not_text(ticket, *TICKET_TEXT)
            or _number_or_text(ticket, "status")
            or _number_or_text(ticket, "priority")
        )
        if problem:
            folder.skip(ticket_id)  # its conversations go with it: not orphans
            yield BadRecord(Origin(str(path), tickets.line()), f"ticket {ticket_id}: {problem}")
            continue
        requester = _dict(ticket.get("requester"))
        requester_id = record_id(ticket.get("requester_id")) or record_id(requester.get("id"))
        email = clean_text(requester.get("email"))
        if requester_id is None and email is None:
            folder.skip(ticket_id)
            yield BadRecord(origin, f"ticket {ticket_id} has no requester_id")
            continue
        if requester_id is not None and requester_id in run.agents:
            folder.skip(ticket_id)  # an agent's own ticket is no customer's history
            who = run.agents[requester_id] or f"agent {requester_id}"
            yield SkippedRecord(origin, f"ticket {ticket_id}: requested by agent {who}")
            continue
        yield from _requester(ticket_id, requester_id, ticket, run, origin)
        who = requester_id or email
        if requester_id is not None and requester_id in run.customers:
            missing = f"ticket {ticket_id}: requester {who} could not be imported"
        elif requester and email is None:
            missing = NO_EMAIL.format(ticket=ticket_id, requester=who)
        else:
            missing = NOT_IN_EXPORT.format(ticket=ticket_id, requester=who)
        tags = ticket.get("tags") if isinstance(ticket.get("tags"), list) else []
        source = ticket.get("source")
        created = clean_text(ticket.get("created_at"))
        yield ConversationRecord(
            external_id=ticket_id,
            customer_external_id=requester_id,
            customer_email=email,
            subject=clean_text(ticket.get("subject")),
            status=_named(ticket.get("status"), STATUSES),
            created_at=created,
            updated_at=clean_text(ticket.get("updated_at")),
            origin=origin,
            priority=_named(ticket.get("priority"), PRIORITIES),
            type=clean_text(ticket.get("type")),
            tags=tuple(dict.fromkeys(t for t in map(clean_text, tags) if t)),
            channel=_named(source, SOURCES),
            custom_fields=_custom_fields(ticket.get("custom_fields")),
            satisfaction=run.ratings.get(ticket_id, ("", None))[1],
            missing_customer=missing,
        )
        requester_name = run.names.get(requester_id or "") or email
        body = _description(ticket)
        if body is None:
            run.no_description += 1
        else:
            outbound = source == OUTBOUND_EMAIL
            author = requester_name
            if outbound:  # an agent's outbound email: the responder wrote it
                responder = record_id(ticket.get("responder_id"))
                author = run.agent(responder) if responder else None
            yield MessageRecord(
                external_id=f"{ticket_id}-description",
                conversation_external_id=ticket_id,
                body=body,
                created_at=created,
                author=author,
                direction="outbound" if outbound else "inbound",
                origin=origin,
            )
        entries = folder.entries_file(ticket_id)
        if entries is not None:
            run.read_entries.add(entries.resolve())
            yield from _entries(entries, ticket_id, run, (requester_id, requester_name))


def _entries(
    path: Path, ticket_id: str | None, run: _Import, requester: tuple[str | None, str | None]
) -> Iterator[Record]:
    """Messages from one conversations/{ticket_id}.json; ticket_id None: each entry's own."""
    entries = with_ids(_load_entries(path), path, "conversation entry")
    for number, (entry_id, entry, origin) in enumerate(entries, start=1):
        if entry_id is None:
            yield BadRecord(origin, "conversation entry has no id")
            continue
        problem = not_text(entry, *ENTRY_TEXT)
        if problem:
            yield BadRecord(
                Origin(str(path), json_item_line(path, "item", number)),
                f"conversation entry {entry_id}: {problem}",
            )
            continue
        parent = ticket_id or record_id(entry.get("ticket_id")) or record_id(path.stem)
        if parent is None:
            yield BadRecord(origin, "conversation entry has no ticket_id")
            continue
        incoming = entry.get("incoming") is True
        user_id = record_id(entry.get("user_id"))
        sender = clean_text(entry.get("from_email"))
        if incoming:
            known = run.names.get(user_id or "")
            if not known and user_id is not None and user_id == requester[0]:
                known = requester[1]
            author = known or sender
        else:
            author = run.agent(user_id) if user_id else sender
        body = clean_text(entry.get("body_text"))
        if body is None:
            html = entry.get("body")
            body = clean_text(html_to_text(html)) if isinstance(html, str) else None
        yield MessageRecord(
            external_id=entry_id,
            conversation_external_id=parent,
            body=body or "",
            created_at=clean_text(entry.get("created_at")),
            author=author,
            direction="inbound" if incoming else "outbound",
            public=entry.get("private") is not True,
            origin=origin,
        )


# --- the importer's detect, read_all and read --------------------------------------------------


def _pages(folder: Path, kind: str) -> list[Path]:
    return sorted((p for p in folder.glob(f"{kind}*.json") if p.is_file()), key=_page_order)


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(_pages(path, "contacts") or _pages(path, "tickets"))
    return path.suffix.lower() == ".json"


def _plan(paths: Iterable[Path]) -> dict[str, list[Path]]:
    """Every file to read, by kind, each once, every one's shape checked before anything is
    read: a folder's files; a tickets file with the contacts, agents and companies beside
    it; a lone conversations file with the agents and companies of its export."""
    plan: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    seen: set[Path] = set()

    def add(kind: str, file: Path) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            file_kind(file, kind)
            plan[kind].append(file)

    def beside(folder: Path, kinds: Sequence[str]) -> None:
        for kind in kinds:
            for file in _pages(folder, kind):
                add(kind, file)

    for path in paths:
        if path.is_dir():
            if not _pages(path, "contacts") and not _pages(path, "tickets"):
                raise ImportFileError(str(path), "no contacts.json or tickets.json here")
            beside(path, (*LOOKUPS, "contacts", "tickets"))
            continue
        in_conversations = path.parent.name.lower() == "conversations"
        kind = file_kind(path, "conversations" if in_conversations else None)
        if kind is None:
            continue  # an empty array: nothing to read
        add(kind, path)
        if kind == "tickets":
            beside(path.parent, (*LOOKUPS, "contacts"))
        elif kind == "conversations" and in_conversations:
            beside(path.parent.parent, ("agents", "companies"))
    return plan


def read_all(paths: Sequence[Path]) -> Iterator[Record]:
    """All PATHs of one import: names first, then contacts, tickets (each with its
    conversations) and lone conversations files, then what the summary should warn about."""
    plan = _plan(paths)
    run = _Import()
    for file in plan["companies"]:
        run.companies.update(_companies(file))
    for file in plan["agents"]:
        run.agents.update(_agents(file))
    for file in plan[RATINGS]:
        _ratings(file, run.ratings)
    for file in plan["contacts"]:
        yield from _contacts(file, run)
    for file in plan["tickets"]:
        yield from _tickets(file, run)
    for file in plan["conversations"]:
        if file.resolve() in run.read_entries:
            continue  # read with its ticket already
        if file.parent.name.lower() == "conversations":
            for contact_id, name in _contact_names(file.parent.parent).items():
                run.names.setdefault(contact_id, name)
        yield from _entries(file, None, run, (None, None))
    for folder in run.folders.values():
        yield from folder.orphans()
    yield from run.warnings()


def read(path: Path) -> Iterator[Record]:
    """One PATH: as `read_all` reads it alone."""
    return read_all([path])


_names_cache: dict[tuple[Any, ...], dict[str, str]] = {}


def _contact_names(folder: Path) -> dict[str, str]:
    """Contacts' names from the export a lone conversations file belongs to, so an incoming
    entry is authored by the same name as in a folder import. Cached: people pass
    conversations/*.json, one read per file."""
    files = _pages(folder, "contacts")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if key not in _names_cache:
        names: dict[str, str] = {}
        try:
            for file in files:
                file_kind(file, "contacts")
                for contact in json_items(file, "item"):
                    contact_id = record_id(contact.get("id")) if isinstance(contact, dict) else None
                    name = clean_text(contact.get("name")) if contact_id else None
                    if contact_id and name:
                        names[contact_id] = name
        except ImportFileError:
            names = {}  # only a nicety for authors: a broken contacts file is not this file's
        _names_cache.clear()
        _names_cache[key] = names
    return dict(_names_cache[key])
