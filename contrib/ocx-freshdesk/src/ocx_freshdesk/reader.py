"""Read a Freshdesk API v2 export: contacts, tickets (include=requester,description) and
per-ticket conversations, as ocx import records.

A folder holds `contacts.json`, `tickets.json` (or page files `contacts*.json`,
`tickets*.json`, read in name order) and `conversations/{ticket_id}.json`; a single file is
recognised by what its records hold. Contacts and tickets files are streamed with
`ocx.importkit` (ijson), so a big export keeps memory flat; a conversations file is one
ticket's and is read whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.importkit import (
    check_not_empty,
    clean_text,
    json_first_event,
    json_item_line,
    json_items,
    load_json,
    not_text,
    record_id,
    value_type,
    with_ids,
)
from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    ImportFileError,
    MessageRecord,
    Origin,
    Record,
    html_to_text,
)
from ocx_freshdesk.zones import iana_zone

KINDS = ("contacts", "tickets", "conversations")
_EXPECTED = {
    "contacts": "a JSON array of contacts, as GET /api/v2/contacts returns",
    "tickets": "a JSON array of tickets, as GET /api/v2/tickets returns",
    "conversations": "a JSON array of conversation entries, "
    "as GET /api/v2/tickets/{id}/conversations returns",
}
SHAPE = (
    "not a Freshdesk export (expected a JSON array of contacts, tickets or conversation "
    "entries, as the Freshdesk API v2 returns)"
)
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
# The fields read that must be text when they are there (null is as good as missing); a
# ticket's status may also be a number (2 = open, ...).
CONTACT_TEXT = ("name", "email", "phone", "mobile", "time_zone", "language", "description",
                "custom_fields.preferred_pace")  # fmt: skip
TICKET_TEXT = ("subject", "description_text", "description", "created_at", "updated_at",
               "requester.name", "requester.email")  # fmt: skip
ENTRY_TEXT = ("body_text", "body", "from_email", "created_at")
OUTBOUND_EMAIL = 10  # ticket `source`: the ticket was opened by an agent's outbound email

# Keys that only one kind of record has, to recognise a file by its content.
_TICKET_KEYS = {"requester_id", "responder_id", "subject", "priority", "due_by", "fr_due_by"}
_ENTRY_KEYS = {"incoming", "private", "body_text", "ticket_id", "from_email", "to_emails"}
_CONTACT_KEYS = {"email", "name", "phone", "mobile", "other_emails", "time_zone", "job_title"}


# --- small helpers ---------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tag(value: Any) -> str | None:
    """A Freshdesk tag may hold spaces ('billing issue'); ocx tags are one word."""
    text = clean_text(value)
    if text is None:
        return None
    return "-".join(text.replace(",", " ").split()) or None


def kind_of_record(record: Any) -> str | None:
    """'contacts', 'tickets' or 'conversations' for one record, None if it cannot tell."""
    if not isinstance(record, dict):
        return None
    keys = set(record)
    if keys & _TICKET_KEYS:
        return "tickets"
    if keys & _ENTRY_KEYS or "body" in keys:
        return "conversations"
    if keys & _CONTACT_KEYS:
        return "contacts"
    return None


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    if path.parent.name.lower() == "conversations":
        return "conversations"
    for kind in ("contacts", "tickets"):
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
    """What a contacts or tickets file holds, checked: 'contacts', 'tickets',
    'conversations', or None for an empty array. Raises ImportFileError for an empty file,
    bad JSON, or anything but an array of the expected records."""
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
        raise ImportFileError(
            str(path), f"{SHAPE}; cannot tell whether it holds contacts, tickets or conversations"
        )
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


# --- records -----------------------------------------------------------------------------------


class _Export:
    """What one read has learnt so far: people's names by id, where conversations are, and
    which conversations files no ticket has asked for."""

    def __init__(self, conversations: Path | None) -> None:
        self.names: dict[str, str] = {}
        self.conversations = conversations
        try:
            self.entry_files = set(os.listdir(conversations)) if conversations else set()
        except OSError:
            self.entry_files = set()
        self.unclaimed = {name for name in self.entry_files if name.endswith(".json")}

    def entries_file(self, ticket_id: str) -> Path | None:
        name = f"{ticket_id}.json"
        if self.conversations is None or name not in self.entry_files:
            return None
        self.unclaimed.discard(name)
        return self.conversations / name

    def skip(self, ticket_id: str) -> None:
        """The ticket is bad: its conversations file goes with it, unread."""
        self.unclaimed.discard(f"{ticket_id}.json")

    def orphans(self) -> Iterator[Record]:
        """A conversations file of a ticket that is not in the export: bad input, like a
        ticket whose requester nobody knows."""
        for name in sorted(self.unclaimed):
            path = (self.conversations or Path()) / name
            if path.is_file():
                ticket_id = name.removesuffix(".json")
                yield BadRecord(
                    Origin(str(path), record=f"conversations for ticket {ticket_id}"),
                    "that ticket is not in the export",
                )


def _contacts(path: Path, export: _Export) -> Iterator[Record]:
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
            export.names[contact_id] = name
        others = (
            contact.get("other_emails") if isinstance(contact.get("other_emails"), list) else []
        )
        email = clean_text(contact.get("email")) or next(
            filter(None, map(clean_text, others)), None
        )
        if email is None:
            yield BadRecord(origin, "contact has no email")
            continue
        tags = contact.get("tags") if isinstance(contact.get("tags"), list) else []
        fields = _dict(contact.get("custom_fields"))
        zone = clean_text(contact.get("time_zone"))
        yield CustomerRecord(
            external_id=contact_id,
            email=email,
            name=name,
            phone=clean_text(contact.get("phone")) or clean_text(contact.get("mobile")),
            time_zone=iana_zone(zone) if zone else None,
            language=clean_text(contact.get("language")),
            pace=clean_text(fields.get("preferred_pace")),
            context=clean_text(contact.get("description")),
            tags=tuple(dict.fromkeys(t for t in map(_tag, tags) if t)),
            origin=origin,
        )


def _status(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return STATUSES.get(value, f"status {value}")
    text = clean_text(value)
    return text.lower() if text else None


def _description(ticket: dict[str, Any]) -> str | None:
    """The ticket's first message; None when the export has no description at all (the
    list was fetched without include=description)."""
    if "description_text" not in ticket and "description" not in ticket:
        return None
    text = clean_text(ticket.get("description_text"))
    if text is not None:
        return text
    html = ticket.get("description")
    return html_to_text(html) if isinstance(html, str) else ""


def _status_problem(value: Any) -> str | None:
    """Freshdesk sends a status as a number (2 = open); text is read too, nothing else."""
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return None
    return f"status is {value_type(value)}, expected text or a number"


def _tickets(path: Path, export: _Export) -> Iterator[Record]:
    tickets = json_items(path, "item")
    for ticket_id, ticket, origin in with_ids(tickets, path, "ticket"):
        if ticket_id is None:
            yield BadRecord(origin, "ticket has no id")
            continue
        problem = not_text(ticket, *TICKET_TEXT) or _status_problem(ticket.get("status"))
        if problem:
            export.skip(ticket_id)  # its conversations go with it: not orphans
            yield BadRecord(Origin(str(path), tickets.line()), f"ticket {ticket_id}: {problem}")
            continue
        requester_id = record_id(ticket.get("requester_id"))
        requester = _dict(ticket.get("requester"))
        requester_id = requester_id or record_id(requester.get("id"))
        email = clean_text(requester.get("email"))
        if requester_id is None and email is None:
            yield BadRecord(origin, f"ticket {ticket_id} has no requester_id")
            continue
        requester_name = clean_text(requester.get("name"))
        if requester_id and requester_name and requester_id not in export.names:
            export.names[requester_id] = requester_name
        # Both: the engine matches the contact by id, else (a requester missing from the
        # contacts) by the email include=requester gives.
        created = clean_text(ticket.get("created_at"))
        yield ConversationRecord(
            external_id=ticket_id,
            customer_external_id=requester_id,
            customer_email=email,
            subject=clean_text(ticket.get("subject")),
            status=_status(ticket.get("status")),
            created_at=created,
            updated_at=clean_text(ticket.get("updated_at")),
            origin=origin,
        )
        body = _description(ticket)
        if body is not None:
            outbound = ticket.get("source") == OUTBOUND_EMAIL
            author = (
                record_id(ticket.get("responder_id"))
                if outbound
                else export.names.get(requester_id or "") or requester_name or email
            )
            yield MessageRecord(
                external_id=f"{ticket_id}-description",
                conversation_external_id=ticket_id,
                body=body,
                created_at=created,
                author=author,
                direction="outbound" if outbound else "inbound",
                origin=origin,
            )
        entries = export.entries_file(ticket_id)
        if entries is not None:
            yield from _entries(entries, ticket_id, export)


def _entries(path: Path, ticket_id: str | None, export: _Export) -> Iterator[Record]:
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
        author = (export.names.get(user_id or "") or sender) if incoming else (user_id or sender)
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


# --- the importer's detect and read ------------------------------------------------------------


def _pages(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"{kind}*.json") if p.is_file())


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(_pages(path, "contacts") or _pages(path, "tickets"))
    return path.suffix.lower() == ".json"


def read(path: Path) -> Iterator[Record]:
    if path.is_dir():
        yield from _read_folder(path)
        return
    kind = file_kind(path, kind_of_name(path) if path.parent.name == "conversations" else None)
    export = _Export(path.parent / "conversations")
    if kind == "contacts":
        yield from _contacts(path, export)
    elif kind == "tickets":
        yield from _tickets(path, export)
        # The folder's one tickets file is its whole export: a conversations file no ticket
        # in it has is an orphan. (Beside other page files, it may be another page's.)
        if [p.resolve() for p in _pages(path.parent, "tickets")] == [path.resolve()]:
            yield from export.orphans()
    elif kind == "conversations":
        if path.parent.name.lower() == "conversations":
            export.names = _contact_names(path.parent.parent)
        yield from _entries(path, None, export)


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


def _read_folder(folder: Path) -> Iterator[Record]:
    contacts, tickets = _pages(folder, "contacts"), _pages(folder, "tickets")
    if not contacts and not tickets:
        raise ImportFileError(str(folder), "no contacts.json or tickets.json here")
    for file in contacts:
        file_kind(file, "contacts")
    for file in tickets:
        file_kind(file, "tickets")
    export = _Export(folder / "conversations")
    for file in contacts:
        yield from _contacts(file, export)
    for file in tickets:
        yield from _tickets(file, export)
    if tickets:  # a contacts-only folder says nothing about the tickets
        yield from export.orphans()
