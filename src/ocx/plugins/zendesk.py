"""Built-in `zendesk` importer: the incremental ticket export (with users) and ticket comments.

A page file can be 1.4 GB for a million tickets, so it is streamed with ijson (its C
backend parses faster than json.load and keeps memory flat): one pass for the side-loaded
users, so requesters are known before their tickets, then one for the tickets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ocx.hookspecs import hookimpl
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
_PRECISE_ERRORS_UP_TO = 256 * 1024 * 1024  # re-read smaller files with json for line:column


def page_files(path: Path) -> list[Path]:
    """tickets.json or page files tickets*.json, in name order (as a paged export is saved)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("tickets*.json") if p.is_file())


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(page_files(path))
    return path.suffix.lower() == ".json"


def _json_error(path: Path, exc: Exception) -> ImportFileError:
    """A parse error with line and column where the file is small enough to re-read."""
    if path.stat().st_size <= _PRECISE_ERRORS_UP_TO:
        try:
            with path.open("rb") as handle:
                json.load(handle)
        except json.JSONDecodeError as precise:
            return ImportFileError(
                Origin(str(path), precise.lineno),
                f"invalid or truncated JSON at column {precise.colno}: {precise.msg}",
            )
        except UnicodeDecodeError as bad:
            return ImportFileError(str(path), f"not UTF-8 ({bad.reason} at byte {bad.start})")
        except ValueError:
            pass
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ImportFileError(str(path), f"invalid or truncated JSON ({first})")


def _items(path: Path, prefix: str) -> Iterator[Any]:
    import ijson

    with path.open("rb") as handle:
        try:
            yield from ijson.items(handle, prefix, use_float=True)
        except ijson.JSONError as exc:
            raise _json_error(path, exc) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(str(path), f"not UTF-8 ({exc.reason})") from None


def _check_shape(path: Path) -> None:
    import ijson

    if path.stat().st_size == 0:
        raise ImportFileError(str(path), "file is empty; expected a Zendesk ticket export")
    with path.open("rb") as handle:
        try:
            first = next(ijson.parse(handle), None)
        except ijson.JSONError as exc:
            raise _json_error(path, exc) from None
    if first is None or first[1] != "start_map":
        raise ImportFileError(str(path), SHAPE)


def _has_tickets_key(path: Path) -> bool:
    """Only asked when a page gave no tickets: is that an empty page or the wrong file?"""
    import ijson

    with path.open("rb") as handle:
        try:
            return any(
                prefix == "" and event == "map_key" and value == "tickets"
                for prefix, event, value in ijson.parse(handle)
            )
        except ijson.JSONError as exc:
            raise _json_error(path, exc) from None


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


class _People:
    """Who is who on this page: agents (authors, not customers) and end-users' names."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.agents: set[str] = set()


def _users(path: Path, people: _People) -> Iterator[Record]:
    for index, user in enumerate(_items(path, "users.item"), start=1):
        if not isinstance(user, dict) or _id(user.get("id")) is None:
            yield BadRecord(Origin(str(path), record=f"user #{index}"), "user has no id")
            continue
        user_id = _id(user.get("id")) or ""
        origin = Origin(str(path), record=f"user {user_id}")
        name = _text(user.get("name"))
        if name:
            people.names[user_id] = name
        if user.get("role", "end-user") != "end-user":
            people.agents.add(user_id)
            continue
        email = _text(user.get("email"))
        if not email:
            yield BadRecord(origin, "end-user has no email")
            continue
        fields = user.get("user_fields") if isinstance(user.get("user_fields"), dict) else {}
        tags = user.get("tags") if isinstance(user.get("tags"), list) else []
        yield CustomerRecord(
            external_id=user_id, email=email, name=name, phone=_text(user.get("phone")),
            time_zone=_text(user.get("iana_time_zone")), language=_text(user.get("locale")),
            pace=_text(fields.get("pace")), context=_text(user.get("notes")),
            tags=tuple(str(t) for t in tags if isinstance(t, str)), origin=origin,
        )  # fmt: skip


def _comments(path: Path) -> list[Any] | None:
    if not path.is_file():
        return None
    if path.stat().st_size == 0:
        raise ImportFileError(str(path), "file is empty; expected a Zendesk comments response")
    try:
        with path.open("rb") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            Origin(str(path), exc.lineno),
            f"invalid or truncated JSON at column {exc.colno}: {exc.msg}",
        ) from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ImportFileError(str(path), "not a Zendesk comments response (expected 'comments')")
    return data["comments"]


def _body(comment: dict[str, Any]) -> str:
    plain = comment.get("plain_body")
    if isinstance(plain, str) and plain.strip():
        return plain.strip()
    html = comment.get("html_body")
    if isinstance(html, str) and html.strip():
        return html_to_text(html)
    body = comment.get("body")
    return body.strip() if isinstance(body, str) else ""


def _comment_files(folder: Path | None) -> set[str]:
    """Names in comments/, listed once: a stat per ticket costs more than the parse."""
    try:
        return set(os.listdir(folder / "comments")) if folder else set()
    except OSError:
        return set()


def _tickets(path: Path, folder: Path | None, people: _People) -> Iterator[Record]:
    count = 0
    file = str(path)
    with_comments = _comment_files(folder)
    for index, ticket in enumerate(_items(path, "tickets.item"), start=1):
        count += 1
        ticket_id = _id(ticket.get("id")) if isinstance(ticket, dict) else None
        if ticket_id is None:
            yield BadRecord(Origin(file, record=f"ticket #{index}"), "ticket has no id")
            continue
        origin = Origin(file, record=f"ticket {ticket_id}")
        requester = _id(ticket.get("requester_id"))
        if requester is None:
            yield BadRecord(origin, f"ticket {ticket_id} has no requester_id")
            continue
        yield ConversationRecord(
            external_id=ticket_id, customer_external_id=requester,
            subject=_text(ticket.get("subject")) or _text(ticket.get("raw_subject")),
            status=_text(ticket.get("status")), created_at=_text(ticket.get("created_at")),
            updated_at=_text(ticket.get("updated_at")), origin=origin,
        )  # fmt: skip
        name = f"{ticket_id}.json"
        comments = _comments(folder / "comments" / name) if name in with_comments else None
        if comments is None:  # no comments file: the description is the one message
            yield MessageRecord(
                external_id=f"{ticket_id}-description", conversation_external_id=ticket_id,
                body=_text(ticket.get("description")) or "",
                created_at=_text(ticket.get("created_at")),
                author=people.names.get(requester), direction="inbound", origin=origin,
            )  # fmt: skip
            continue
        for number, comment in enumerate(comments, start=1):
            comment_id = _id(comment.get("id")) if isinstance(comment, dict) else None
            where = Origin(f"{folder}/comments/{ticket_id}.json", record=f"comment #{number}")
            if comment_id is None:
                yield BadRecord(where, "comment has no id")
                continue
            author = _id(comment.get("author_id"))
            yield MessageRecord(
                external_id=comment_id, conversation_external_id=ticket_id, body=_body(comment),
                created_at=_text(comment.get("created_at")),
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
