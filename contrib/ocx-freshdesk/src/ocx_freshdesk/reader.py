"""Read a Freshdesk API v2 export as ocx import records: tickets (include=requester,
description) with their conversations, contacts, and the agents, companies and satisfaction
ratings that name people, fill companies and rate tickets.

A folder holds `tickets.json` (or page files `tickets-2.json`, `tickets-0002.json`..., read in
page order), `contacts.json`, `agents.json`, `companies.json`, `satisfaction_ratings.json`
and `conversations/{ticket_id}.json`; a single file is recognised by what its records hold.
All the PATHs of one import are read together (`read_all`): agents, companies and ratings
first, then contacts, then tickets, so a ticket finds its people whatever order the PATHs
came in. Contacts and tickets files are streamed with `ocx.plugin_api.json_items` (ijson), so a big
export keeps memory flat; a conversations file is one ticket's and is read whole. Which file
is which: ocx_freshdesk.files; tickets and their conversations: ocx_freshdesk.tickets.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ocx.plugin_api import (
    BadRecord,
    CustomerRecord,
    ImportFileError,
    Origin,
    Record,
    Satisfaction,
    SkippedRecord,
    as_dict,
    clean_text,
    iana_zone,
    json_items,
    not_text,
    record_id,
    with_ids,
)
from ocx_freshdesk.files import (
    KINDS,
    LOOKUPS,
    RATINGS,
    SHAPE,
    _page_order,
    _pages,
    file_kind,
    kind_of_name,
    kind_of_record,
)
from ocx_freshdesk.run import _Folder, _Import
from ocx_freshdesk.tickets import (
    NO_EMAIL,
    NOT_IN_EXPORT,
    PRIORITIES,
    RATING_NAMES,
    SOURCES,
    STATUSES,
    _entries,
    _number,
    _tickets,
)

__all__ = [
    "KINDS", "LOOKUPS", "NOT_IN_EXPORT", "NO_EMAIL", "PRIORITIES", "RATINGS", "RATING_NAMES",
    "SHAPE", "SOURCES", "STATUSES", "_Folder", "_Import", "_page_order", "_pages", "detect",
    "file_kind", "kind_of_name", "kind_of_record", "read", "read_all",
]  # fmt: skip

# The contact fields read that must be text when they are there (null is as good as missing).
CONTACT_TEXT = ("name", "email", "phone", "mobile", "time_zone", "language", "description",
                "custom_fields.preferred_pace")  # fmt: skip


def _tag(value: Any) -> str | None:
    """A Freshdesk tag may hold spaces ('billing issue'); ocx's customer tags are one word."""
    text = clean_text(value)
    if text is None:
        return None
    return "-".join(text.replace(",", " ").split()) or None


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
        rating = as_dict(rating)
        ticket_id = record_id(rating.get("ticket_id"))
        score = as_dict(rating.get("ratings")).get("default_question")
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
            yield agent_id, clean_text(as_dict(agent.get("contact")).get("name"))


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
        fields = as_dict(contact.get("custom_fields"))
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


# --- the importer's detect, read_all and read --------------------------------------------------


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
