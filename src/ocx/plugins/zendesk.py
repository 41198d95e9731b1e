"""Built-in `zendesk` importer: ticket pages (list or incremental export, with or without
sideloaded users), user pages, and ticket comments, read people first.

A page file can be 1.4 GB for a million tickets, so it is streamed with ijson through
`ocx.plugin_api.json_items` (its C backend parses faster than json.load and keeps memory
flat). Every file of one `ocx import` is read in passes: organizations and ticket field titles, then every
user (sideloaded on a ticket page or in users.json), then the tickets, so a requester or a
comment author is known whatever page or PATH it came on. A pass whose key the file never
mentions is not made: a byte search is far cheaper than a parse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    Importer,
    ImportFileError,
    ImportWarning,
    MessageRecord,
    Origin,
    Record,
    Satisfaction,
    SkippedRecord,
    check_not_empty,
    clean_text,
    hookimpl,
    html_to_text,
    iana_zone,
    json_item_line,
    json_items,
    load_json,
    not_text,
    record_id,
    with_ids,
)

from .zendesk_files import (
    KEYS,
    check_key_after_empty_pass,
    check_shape,
    detect,
    mentions,
    page_files,
    people_files,
)

# The fields ocx reads that must be text when they are there (null is as good as missing).
USER_TEXT = ("role", "name", "email", "phone", "iana_time_zone", "time_zone", "locale",
             "notes", "user_fields.pace")  # fmt: skip
TICKET_TEXT = ("subject", "raw_subject", "status", "description", "created_at", "updated_at",
               "priority", "type", "via.channel", "satisfaction_rating.score",
               "satisfaction_rating.comment")  # fmt: skip
COMMENT_TEXT = ("plain_body", "html_body", "body", "created_at")
# A satisfaction score that says no survey went out: no rating to keep.
NO_RATING = "unoffered"
NO_USERS = (
    "no users in this export: a ticket imports only if its requester was imported before "
    "(export with include=users, or add users.json)"
)


class _People:
    """Who is who over every file of one import: names and roles of users (agents and
    admins are authors, never customers), organization names, ticket field titles."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        self.organizations: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.yielded: dict[str, int] = {}  # end-user id -> what was last said of them
        self.unusable: dict[str, str] = {}  # end-user id -> why they are no customer
        self.users_read = 0

    def is_agent(self, user_id: str) -> bool:
        return self.roles.get(user_id, "end-user") != "end-user"

    def missing(self, ticket_id: str, requester: str) -> str:
        """Why a ticket's requester may not be a customer ocx knows, in Zendesk's words; the
        engine says it only if the requester is not in ocx from an earlier import either."""
        if requester in self.unusable:
            return f"ticket {ticket_id}: requester {requester} {self.unusable[requester]}"
        if requester in self.yielded:
            return f"ticket {ticket_id}: requester {requester} could not be imported"
        return (
            f"ticket {ticket_id}: requester {requester} is not in this export; import the users too"
        )


def _named(path: Path, key: str, what: str, names: dict[str, str]) -> Iterator[Record]:
    """Organizations or ticket fields: id -> name (title), to name a company or a field."""
    items = json_items(path, f"{key}.item")
    count = 0
    for item_id, item, origin in with_ids(items, path, what):
        count += 1
        if item_id is None:
            yield BadRecord(origin, f"{what} has no id")
            continue
        fields = ("name",) if key == "organizations" else ("title", "raw_title")
        problem = not_text(item, *fields)
        if problem:
            yield BadRecord(Origin(str(path), items.line()), f"{what} {item_id}: {problem}")
            continue
        name = next((t for t in (clean_text(item.get(f)) for f in fields) if t), None)
        if name:
            names[item_id] = name
    if count == 0:
        check_key_after_empty_pass(path, key)


def _users(path: Path, people: _People) -> Iterator[Record]:
    count = 0
    users = json_items(path, "users.item")
    for user_id, user, origin in with_ids(users, path, "user"):
        count += 1
        people.users_read += 1
        if user_id is None:
            yield BadRecord(origin, "user has no id")
            continue
        problem = not_text(user, *USER_TEXT)
        if problem:
            people.unusable[user_id] = "was left out as a bad record"
            yield BadRecord(Origin(str(path), users.line()), f"user {user_id}: {problem}")
            continue
        name = clean_text(user.get("name"))
        if name:
            people.names[user_id] = name
        role = clean_text(user.get("role")) or "end-user"  # null: as if missing
        people.roles[user_id] = role
        if role != "end-user":
            continue
        email = clean_text(user.get("email"))
        if not email:  # a phone or social-media user: Zendesk's, not a broken record
            people.unusable[user_id] = "has no email"
            yield SkippedRecord(
                origin, f"user {user_id}: end-user has no email; ocx keeps customers by email"
            )
            continue
        people.unusable.pop(user_id, None)
        record = _customer(user_id, user, email, name, people, origin)
        said = hash(replace(record, origin=None))
        if people.yielded.get(user_id) == said:  # sideloaded again on a later page
            continue
        people.yielded[user_id] = said
        yield record
    if count == 0:
        check_key_after_empty_pass(path, "users")


def _customer(
    user_id: str, user: dict[str, Any], email: str, name: str | None, people: _People,
    origin: Origin,
) -> CustomerRecord:  # fmt: skip
    fields = user.get("user_fields") if isinstance(user.get("user_fields"), dict) else {}
    tags = user.get("tags") if isinstance(user.get("tags"), list) else []
    organization = record_id(user.get("organization_id"))
    # iana_time_zone is newer than the Rails name in time_zone ("Bangkok"): either will do.
    zone = iana_zone(clean_text(user.get("iana_time_zone"))) or iana_zone(
        clean_text(user.get("time_zone"))
    )
    return CustomerRecord(
        external_id=user_id, email=email, name=name,
        company=people.organizations.get(organization) if organization else None,
        phone=clean_text(user.get("phone")), time_zone=zone,
        language=clean_text(user.get("locale")), pace=clean_text(fields.get("pace")),
        context=clean_text(user.get("notes")),
        tags=tuple(str(t) for t in tags if isinstance(t, str)), origin=origin,
    )  # fmt: skip


def _comments(path: Path) -> tuple[list[Any], dict[str, Any]]:
    """A comments response: its comments and the users sideloaded with them (include=users)."""
    check_not_empty(path, "a Zendesk comments response")
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ImportFileError(str(path), "not a Zendesk comments response (expected 'comments')")
    users = data.get("users") if isinstance(data.get("users"), list) else []
    known = {}
    for user in users:
        user_id = record_id(user.get("id")) if isinstance(user, dict) else None
        if user_id is not None:
            known[user_id] = user
    return data["comments"], known


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

    def of(self, ticket_id: str) -> tuple[list[Any], dict[str, Any]] | None:
        """The ticket's comments and sideloaded users; None if it has no comments file."""
        name = f"{ticket_id}.json"
        if name not in self.names:
            return None
        self.unclaimed.discard(name)
        return _comments(self.folder / name)

    def skip(self, ticket_id: str) -> None:
        """The ticket is left out: its comments go with it, unread, and are no orphans."""
        self.unclaimed.discard(f"{ticket_id}.json")

    def orphans(self) -> Iterator[Record]:
        """A comments file of a ticket that is not in the export: bad input."""
        for name in sorted(self.unclaimed):
            path = self.folder / name
            if path.is_file():
                ticket_id = name.removesuffix(".json")
                yield BadRecord(
                    Origin(str(path), record=f"comments for ticket {ticket_id}"),
                    "that ticket is not in the export",
                )


def _extras(ticket: dict[str, Any], people: _People) -> dict[str, Any]:
    """What a support engineer wants to see of a ticket besides its subject and status."""
    tags = ticket.get("tags") if isinstance(ticket.get("tags"), list) else []
    via = ticket.get("via") if isinstance(ticket.get("via"), dict) else {}
    rating = ticket.get("satisfaction_rating")
    satisfaction = None
    if isinstance(rating, dict):
        score, comment = clean_text(rating.get("score")), clean_text(rating.get("comment"))
        if score == NO_RATING:
            score = None
        if score or comment:
            satisfaction = Satisfaction(score=score, comment=comment)
    return {
        "priority": clean_text(ticket.get("priority")),
        "type": clean_text(ticket.get("type")),
        "tags": tuple(t for t in (clean_text(t) for t in tags) if t),
        "channel": clean_text(via.get("channel")),
        "satisfaction": satisfaction,
        "custom_fields": _custom_fields(ticket, people),
    }


def _custom_fields(ticket: dict[str, Any], people: _People) -> tuple[tuple[str, Any], ...]:
    """(title, value) of each custom field with a value; the field id stands for the title
    when no ticket_fields.json names it. `fields` is Zendesk's older name for the list."""
    entries = ticket.get("custom_fields")
    if not isinstance(entries, list):
        entries = ticket.get("fields") if isinstance(ticket.get("fields"), list) else []
    out = []
    for entry in entries:
        field_id = record_id(entry.get("id")) if isinstance(entry, dict) else None
        if field_id is None:
            continue
        value = _field_value(entry.get("value"))
        if value is not None:
            out.append((people.fields.get(field_id, field_id), value))
    return tuple(out)


def _field_value(value: Any) -> Any:
    """A custom field's value as Zendesk gives it: text (blank is no value), a number, a
    checkbox's true or false, a multi-select's list of tags; anything else is no value."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        items = [v for v in (_field_value(v) for v in value) if v is not None and v != []]
        items = [v for v in items if not isinstance(v, list)]
        return items or None
    return None


def _author(
    author: str | None, requester: str, people: _People, local: dict[str, Any]
) -> tuple[str | None, str]:
    """(author, direction) of a comment: an agent's or admin's name, outbound; an end-user's
    name, inbound; someone the export does not name is `agent ID`, outbound."""
    if author is None:
        return None, "inbound"
    role = people.roles.get(author)
    name = people.names.get(author)
    if role is None and author in local:  # sideloaded with the comments (include=users)
        role = clean_text(local[author].get("role")) or "end-user"
        name = clean_text(local[author].get("name"))
    if role is None and author != requester:
        return f"agent {author}", "outbound"
    if role is not None and role != "end-user":
        return name or f"agent {author}", "outbound"
    return name, "inbound"


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
        if people.is_agent(requester):  # an internal ticket: no customer's history
            comment_files.skip(ticket_id)
            who = people.names.get(requester, requester)
            yield SkippedRecord(origin, f"ticket {ticket_id}: requested by agent {who}")
            continue
        yield ConversationRecord(
            external_id=ticket_id, customer_external_id=requester,
            subject=clean_text(ticket.get("subject")) or clean_text(ticket.get("raw_subject")),
            status=clean_text(ticket.get("status")),
            created_at=clean_text(ticket.get("created_at")),
            updated_at=clean_text(ticket.get("updated_at")), origin=origin,
            missing_customer=people.missing(ticket_id, requester), **_extras(ticket, people),
        )  # fmt: skip
        found = comment_files.of(ticket_id)
        if found is None:  # no comments file: the description is the one message
            yield MessageRecord(
                external_id=f"{ticket_id}-description", conversation_external_id=ticket_id,
                body=clean_text(ticket.get("description")) or "",
                created_at=clean_text(ticket.get("created_at")),
                author=people.names.get(requester), direction="inbound", origin=origin,
            )  # fmt: skip
            continue
        yield from _messages(ticket_id, requester, found, comment_files, people)
    if count == 0:
        check_key_after_empty_pass(path, "tickets")


def _messages(
    ticket_id: str, requester: str, found: tuple[list[Any], dict[str, Any]],
    comment_files: _CommentFiles, people: _People,
) -> Iterator[Record]:  # fmt: skip
    comments, local = found
    file = comment_files.folder / f"{ticket_id}.json"
    for number, comment in enumerate(comments, start=1):
        comment_id = record_id(comment.get("id")) if isinstance(comment, dict) else None
        where = Origin(str(file), record=f"comment #{number}")
        if comment_id is None:
            yield BadRecord(where, "comment has no id")
            continue
        problem = not_text(comment, *COMMENT_TEXT)
        if problem:
            line = json_item_line(file, "comments.item", number)
            yield BadRecord(Origin(str(file), line), f"comment {comment_id}: {problem}")
            continue
        author, direction = _author(record_id(comment.get("author_id")), requester, people, local)
        yield MessageRecord(
            external_id=comment_id, conversation_external_id=ticket_id, body=_body(comment),
            created_at=clean_text(comment.get("created_at")), author=author,
            direction=direction, public=comment.get("public") is not False, origin=where,
        )  # fmt: skip


def _files(paths: Sequence[Path]) -> tuple[list[Path], set[Path]]:
    """Every response file of the PATHs, each once: a folder's people files and pages, a
    file and the people files beside it (as its comments/ beside it). And the folders whose
    ticket pages are all there, so a comments file no ticket claims is an orphan (a page
    file given alone beside others may leave their tickets out)."""
    files: list[Path] = []
    whole: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = people_files(path) + page_files(path)
            if not found:
                raise ImportFileError(
                    str(path), "no tickets*.json, users*.json or other Zendesk page files here"
                )
            files += found
            whole.add(path.resolve())
        else:
            files += [*people_files(path.parent), path]
    unique, given = [], set()
    for file in files:
        if file.resolve() not in given:
            given.add(file.resolve())
            unique.append(file)
    for folder in {p.resolve().parent for p in unique}:
        pages = {p.resolve() for p in page_files(folder)}
        if pages and pages <= given:
            whole.add(folder)
    return unique, whole


def read_all(paths: Sequence[Path]) -> Iterator[Record]:
    """Every PATH of one `ocx import zendesk`, people first: organizations and field titles,
    then users from every file (users.json or sideloaded), then the tickets."""
    files, whole = _files(paths)
    seen = {file: check_shape(file) for file in files}
    # a key spelt with escapes ("\u0074ickets") escapes the byte search, not the parser
    mentioned = {file: mentions(file, KEYS) | seen[file] for file in files}
    people = _People()  # one for all files: a user on one page is known on every other
    for file in files:
        if "organizations" in mentioned[file]:
            yield from _named(file, "organizations", "organization", people.organizations)
        if "ticket_fields" in mentioned[file]:
            yield from _named(file, "ticket_fields", "ticket field", people.fields)
    for file in files:
        if "users" in mentioned[file]:
            yield from _users(file, people)
    comment_files: dict[Path, _CommentFiles] = {}
    tickets_read = False
    for file in files:
        if "tickets" not in mentioned[file]:
            continue
        folder = file.resolve().parent
        if folder not in comment_files:
            comment_files[folder] = _CommentFiles(folder)
        tickets_read = True
        yield from _tickets(file, comment_files[folder], people)
    if tickets_read and people.users_read == 0:
        yield ImportWarning(NO_USERS)
    for folder, comments in comment_files.items():
        if folder in whole:
            yield from comments.orphans()


def read(path: Path) -> Iterator[Record]:
    return read_all([path])


@hookimpl
def ocx_register_importers(register):  # type: ignore[no-untyped-def]
    register(
        Importer(
            name="zendesk",
            description="Zendesk ticket pages (incremental export or List Tickets, include=users), "
            "users.json and comments/{ticket_id}.json",
            detect=detect,
            read=read,
            read_all=read_all,
        )
    )
