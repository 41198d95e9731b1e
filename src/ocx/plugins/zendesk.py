"""Built-in `zendesk` importer: the incremental ticket export (with users) and ticket comments.

A page file can be 1.4 GB for a million tickets, so it is streamed with ijson through
`ocx.importkit` (its C backend parses faster than json.load and keeps memory flat): one pass
over every page for the side-loaded users, so requesters and agents are known before any
ticket (a page's comments may be by an agent side-loaded on another page), then one for the
tickets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ocx.hookspecs import hookimpl
from ocx.importkit import (
    check_not_empty,
    clean_text,
    json_first_event,
    json_item_line,
    json_items,
    json_top_level_values,
    json_type,
    load_json,
    not_text,
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
# The fields ocx reads that must be text when they are there (null is as good as missing).
USER_TEXT = ("role", "name", "email", "phone", "iana_time_zone", "locale", "notes",
             "user_fields.pace")  # fmt: skip
TICKET_TEXT = ("subject", "raw_subject", "status", "description", "created_at", "updated_at")
COMMENT_TEXT = ("plain_body", "html_body", "body", "created_at")


def page_files(path: Path) -> list[Path]:
    """tickets.json or page files tickets*.json, in name order (as a paged export is saved)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("tickets*.json") if p.is_file())


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(page_files(path))
    return path.suffix.lower() == ".json"


# Parse events a page's head is peeked at for 'tickets' and 'users': Zendesk writes
# 'tickets' first, so in an export as it comes the tickets' shape is known before any record.
_PEEK = 64


def _check_shape(path: Path) -> None:
    check_not_empty(path, "a Zendesk ticket export")
    if json_first_event(path) != "start_map":
        raise ImportFileError(str(path), SHAPE)
    for key, event in json_top_level_values(path, ("tickets", "users"), within=_PEEK).items():
        _check_array(path, key, event)


def _check_array(path: Path, key: str, event: str | None) -> None:
    """`key` of a page must be an array. Its value is looked up whole-file only when a pass
    found no records under it (a streamed pass cannot tell an empty array from an object)."""
    if event is None and key == "tickets":
        raise ImportFileError(str(path), SHAPE)
    if event not in (None, "start_array"):  # no 'users': exported without include=users
        raise ImportFileError(
            str(path),
            f"not a Zendesk export ('{key}' is {json_type(event)}; expected an array of "
            f"{key}, as the incremental ticket export has)",
        )


def _check_key_after_empty_pass(path: Path, key: str) -> None:
    _check_array(path, key, json_top_level_values(path, (key,)).get(key))


class _People:
    """Who is who in this export, over all its pages: agents (authors, not customers) and
    people's names."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.agents: set[str] = set()


def _users(path: Path, people: _People) -> Iterator[Record]:
    count = 0
    users = json_items(path, "users.item")
    for user_id, user, origin in with_ids(users, path, "user"):
        count += 1
        if user_id is None:
            yield BadRecord(origin, "user has no id")
            continue
        problem = not_text(user, *USER_TEXT)
        if problem:
            yield BadRecord(Origin(str(path), users.line()), f"user {user_id}: {problem}")
            continue
        name = clean_text(user.get("name"))
        if name:
            people.names[user_id] = name
        if (user.get("role") or "end-user") != "end-user":  # null: as if missing
            people.agents.add(user_id)
            continue
        people.agents.discard(user_id)  # an agent on an older page, an end-user now
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
    if count == 0:
        _check_key_after_empty_pass(path, "users")


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


class _CommentFiles:
    """comments/{ticket_id}.json, listed once (a stat per ticket costs more than the parse),
    and which of them no ticket has asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "comments"
        try:
            self.names = set(os.listdir(self.folder))
        except OSError:
            self.names = set()
        self.unclaimed = {name for name in self.names if name.endswith(".json")}

    def of(self, ticket_id: str) -> list[Any] | None:
        """The ticket's comments; None if it has no comments file."""
        name = f"{ticket_id}.json"
        if name not in self.names:
            return None
        self.unclaimed.discard(name)
        return _comments(self.folder / name)

    def skip(self, ticket_id: str) -> None:
        """The ticket is bad: its comments go with it, unread."""
        self.unclaimed.discard(f"{ticket_id}.json")

    def orphans(self) -> Iterator[Record]:
        """A comments file of a ticket that is not in the export: bad input, like a ticket
        whose requester is not."""
        for name in sorted(self.unclaimed):
            path = self.folder / name
            if path.is_file():
                ticket_id = name.removesuffix(".json")
                yield BadRecord(
                    Origin(str(path), record=f"comments for ticket {ticket_id}"),
                    "that ticket is not in the export",
                )


def _tickets(path: Path, comment_files: _CommentFiles, people: _People) -> Iterator[Record]:
    count = 0
    tickets = json_items(path, "tickets.item")
    for ticket_id, ticket, origin in with_ids(tickets, path, "ticket"):
        count += 1
        if ticket_id is None:
            yield BadRecord(origin, "ticket has no id")
            continue
        problem = not_text(ticket, *TICKET_TEXT)
        if problem:
            comment_files.skip(ticket_id)  # left out with its ticket, not an orphan
            yield BadRecord(Origin(str(path), tickets.line()), f"ticket {ticket_id}: {problem}")
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
        comments = comment_files.of(ticket_id)
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
            where = Origin(f"{comment_files.folder}/{ticket_id}.json", record=f"comment #{number}")
            if comment_id is None:
                yield BadRecord(where, "comment has no id")
                continue
            problem = not_text(comment, *COMMENT_TEXT)
            if problem:
                file = comment_files.folder / f"{ticket_id}.json"
                line = json_item_line(file, "comments.item", number)
                yield BadRecord(Origin(str(file), line), f"comment {comment_id}: {problem}")
                continue
            author = record_id(comment.get("author_id"))
            yield MessageRecord(
                external_id=comment_id, conversation_external_id=ticket_id, body=_body(comment),
                created_at=clean_text(comment.get("created_at")),
                author=people.names.get(author or "", author),
                direction="outbound" if author in people.agents else "inbound",
                public=comment.get("public") is not False, origin=where,
            )  # fmt: skip
    if count == 0:
        _check_key_after_empty_pass(path, "tickets")


def read(path: Path) -> Iterator[Record]:
    files = page_files(path)
    if not files:
        raise ImportFileError(str(path), "no tickets.json or tickets*.json page files here")
    folder = path if path.is_dir() else path.parent
    for file in files:
        _check_shape(file)
    people = _People()  # one for all pages: users side-loaded on one are known on the others
    for file in files:
        yield from _users(file, people)
    comment_files = _CommentFiles(folder)
    for file in files:
        yield from _tickets(file, comment_files, people)
    # Orphan comments only when these pages are the whole export: a page file given alone
    # beside others may leave the tickets of the other pages out.
    if path.is_dir() or [p.resolve() for p in page_files(folder)] == [path.resolve()]:
        yield from comment_files.orphans()


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
