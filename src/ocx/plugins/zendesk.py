"""Built-in `zendesk` importer: the incremental ticket export (with users) and ticket comments.

A page file can be 1.4 GB for a million tickets, so it is streamed with ijson through
`ocx.importkit` (its C backend parses faster than json.load and keeps memory flat): one pass
for the side-loaded users, so requesters are known before their tickets, then one for the
tickets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.hookspecs import hookimpl
from ocx.importkit import (
    check_not_empty,
    clean_text,
    json_events,
    json_first_event,
    json_items,
    load_json,
    record_id,
    with_ids,
)
from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    Importer,
    ImportFileError,
    MessageRecord,
    Origin,
    Record,
    html_to_text,
)

SHAPE = (
    "not a Zendesk export (expected an object with 'tickets', from the incremental ticket export)"
)


def page_files(path: Path) -> list[Path]:
    """tickets.json or page files tickets*.json, in name order (as a paged export is saved)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("tickets*.json") if p.is_file())


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(page_files(path))
    return path.suffix.lower() == ".json"


def _check_shape(path: Path) -> None:
    check_not_empty(path, "a Zendesk ticket export")
    if json_first_event(path) != "start_map":
        raise ImportFileError(str(path), SHAPE)


def _has_tickets_key(path: Path) -> bool:
    """Only asked when a page gave no tickets: is that an empty page or the wrong file?"""
    with closing(json_events(path)) as events:
        return any(
            prefix == "" and event == "map_key" and value == "tickets"
            for prefix, event, value in events
        )


class _People:
    """Who is who on this page: agents (authors, not customers) and end-users' names."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.agents: set[str] = set()


def _users(path: Path, people: _People) -> Iterator[Record]:
    for user_id, user, origin in with_ids(json_items(path, "users.item"), path, "user"):
        if user_id is None:
            yield BadRecord(origin, "user has no id")
            continue
        name = clean_text(user.get("name"))
        if name:
            people.names[user_id] = name
        if user.get("role", "end-user") != "end-user":
            people.agents.add(user_id)
            continue
        email = clean_text(user.get("email"))
        if not email:
            yield BadRecord(origin, "end-user has no email")
            continue
        fields = user.get("user_fields") if isinstance(user.get("user_fields"), dict) else {}
        tags = user.get("tags") if isinstance(user.get("tags"), list) else []
        yield CustomerRecord(
            external_id=user_id, email=email, name=name,
            phone=clean_text(user.get("phone")), time_zone=clean_text(user.get("iana_time_zone")),
            language=clean_text(user.get("locale")), pace=clean_text(fields.get("pace")),
            context=clean_text(user.get("notes")),
            tags=tuple(str(t) for t in tags if isinstance(t, str)), origin=origin,
        )  # fmt: skip


def _comments(path: Path) -> list[Any] | None:
    if not path.is_file():
        return None
    check_not_empty(path, "a Zendesk comments response")
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ImportFileError(str(path), "not a Zendesk comments response (expected 'comments')")
    return data["comments"]


def _body(comment: dict[str, Any]) -> str:
    plain = clean_text(comment.get("plain_body"))
    if plain:
        return plain
    html = comment.get("html_body")
    if isinstance(html, str) and html.strip():
        return html_to_text(html)
    return clean_text(comment.get("body")) or ""


def _comment_files(folder: Path | None) -> set[str]:
    """Names in comments/, listed once: a stat per ticket costs more than the parse."""
    try:
        return set(os.listdir(folder / "comments")) if folder else set()
    except OSError:
        return set()


def _tickets(path: Path, folder: Path | None, people: _People) -> Iterator[Record]:
    count = 0
    with_comments = _comment_files(folder)
    for ticket_id, ticket, origin in with_ids(json_items(path, "tickets.item"), path, "ticket"):
        count += 1
        if ticket_id is None:
            yield BadRecord(origin, "ticket has no id")
            continue
        requester = record_id(ticket.get("requester_id"))
        if requester is None:
            yield BadRecord(origin, f"ticket {ticket_id} has no requester_id")
            continue
        yield ConversationRecord(
            external_id=ticket_id, customer_external_id=requester,
            subject=clean_text(ticket.get("subject")) or clean_text(ticket.get("raw_subject")),
            status=clean_text(ticket.get("status")),
            created_at=clean_text(ticket.get("created_at")),
            updated_at=clean_text(ticket.get("updated_at")), origin=origin,
        )  # fmt: skip
        name = f"{ticket_id}.json"
        comments = _comments(folder / "comments" / name) if name in with_comments else None
        if comments is None:  # no comments file: the description is the one message
            yield MessageRecord(
                external_id=f"{ticket_id}-description", conversation_external_id=ticket_id,
                body=clean_text(ticket.get("description")) or "",
                created_at=clean_text(ticket.get("created_at")),
                author=people.names.get(requester), direction="inbound", origin=origin,
            )  # fmt: skip
            continue
        for number, comment in enumerate(comments, start=1):
            comment_id = record_id(comment.get("id")) if isinstance(comment, dict) else None
            where = Origin(f"{folder}/comments/{ticket_id}.json", record=f"comment #{number}")
            if comment_id is None:
                yield BadRecord(where, "comment has no id")
                continue
            author = record_id(comment.get("author_id"))
            yield MessageRecord(
                external_id=comment_id, conversation_external_id=ticket_id, body=_body(comment),
                created_at=clean_text(comment.get("created_at")),
                author=people.names.get(author or "", author),
                direction="outbound" if author in people.agents else "inbound",
                public=comment.get("public") is not False, origin=where,
            )  # fmt: skip
    if count == 0 and not _has_tickets_key(path):
        raise ImportFileError(str(path), SHAPE)


def read(path: Path) -> Iterator[Record]:
    files = page_files(path)
    if not files:
        raise ImportFileError(str(path), "no tickets.json or tickets*.json page files here")
    folder = path if path.is_dir() else path.parent
    for file in files:
        _check_shape(file)
    for file in files:
        people = _People()
        yield from _users(file, people)
        yield from _tickets(file, folder, people)


@hookimpl
def ocx_register_importers(register):  # type: ignore[no-untyped-def]
    register(
        Importer(
            name="zendesk",
            description="Zendesk incremental ticket export (include=users) and "
            "comments/{ticket_id}.json",
            detect=detect,
            read=read,
        )
    )
