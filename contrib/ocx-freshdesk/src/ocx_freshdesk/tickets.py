"""Freshdesk tickets as ocx records: each ticket, the requester it embeds, its description
as the first message, and its conversations/{ticket_id}.json entries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    MessageRecord,
    Origin,
    Record,
    SkippedRecord,
    as_dict,
    clean_text,
    field_value,
    html_to_text,
    json_item_line,
    json_items,
    not_text,
    record_id,
    value_type,
    with_ids,
)
from ocx_freshdesk.files import _load_entries
from ocx_freshdesk.run import _Import

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
TICKET_TEXT = ("subject", "description_text", "description", "created_at", "updated_at", "type",
               "requester.name", "requester.email", "requester.phone", "requester.mobile")  # fmt: skip
ENTRY_TEXT = ("body_text", "body", "from_email", "created_at")
NOT_IN_EXPORT = (
    "ticket {ticket}: requester {requester} is not in this export; import the contacts too"
)
NO_EMAIL = (
    "ticket {ticket}: requester {requester} has no email address; ocx knows customers by email"
)


def _number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(value: Any, names: dict[int, str]) -> str | None:
    """Freshdesk's name for one of its numbers (2 -> 'Open'); a number it does not name (a
    custom status) as given; text as given."""
    if _number(value):
        return names.get(value, str(value))
    return clean_text(value)


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
    contents = as_dict(ticket.get("structured_description")).get("description_contents")
    parts = [
        clean_text(as_dict(as_dict(part).get("data")).get("content"))
        for part in (contents if isinstance(contents, list) else [])
        if as_dict(part).get("type") == "text"
    ]
    found = [p for p in parts if p]
    return "\n".join(found) if found else None


def _number_or_text(ticket: dict[str, Any], field: str) -> str | None:
    """Freshdesk sends a status or priority as a number (2 = Open); text is read too."""
    value = ticket.get(field)
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return None
    return f"{field} is {value_type(value)}, expected text or a number"


def _custom_fields(value: Any) -> tuple[tuple[str, Any], ...]:
    """Freshdesk's {name: value}: (name, value) pairs, nulls and empty text left out."""
    pairs: list[tuple[str, Any]] = []
    for name, raw in as_dict(value).items():
        label = clean_text(name)
        if label is None:
            continue
        if isinstance(raw, str):
            raw = clean_text(raw)
        elif isinstance(raw, list):  # a multi-select: its choices
            raw = [c for c in map(field_value, raw) if c is not None] or None
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
    requester = as_dict(ticket.get("requester"))
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
        as_dict(ticket.get("company")).get("name")  # include=company on GET /api/v2/tickets/[id]
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
        requester = as_dict(ticket.get("requester"))
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
