"""Read a Help Scout Mailbox API 2.0 export: customers, and conversations with their threads
(embed=threads), as ocx import records.

A folder holds `customers.json` and `conversations.json` (or page files `customers*.json`,
`conversations*.json`, read in name order); a single file is recognised by what its
`_embedded` holds. Files are streamed with `ocx.importkit` (ijson), one customer or
conversation at a time, so a big export keeps memory flat. Help Scout leaves out keys whose
value is empty: every optional key may be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.importkit import (
    check_not_empty,
    clean_text,
    json_events,
    json_items,
    json_type,
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

KINDS = ("customers", "conversations")
_EXPECTED = {
    "customers": "an object with _embedded.customers, as GET /v2/customers returns",
    "conversations": "an object with _embedded.conversations, "
    "as GET /v2/conversations?embed=threads returns",
}
_API = {"customers": "GET /v2/customers", "conversations": "GET /v2/conversations?embed=threads"}
SHAPE = (
    "not a Help Scout export (expected an object with _embedded.customers or "
    "_embedded.conversations, as the Mailbox API 2.0 returns)"
)
# Thread types that are not messages: `lineitem` is an event ("Assigned to Sam"), with no
# body. A `draft` was never sent.
_NOT_MESSAGES = {"lineitem"}
# The fields read that must be text when they are there (null is as good as missing).
CUSTOMER_TEXT = ("firstName", "lastName", "organization", "background", "email")
CONVERSATION_TEXT = ("subject", "status", "createdAt", "userUpdatedAt", "updatedAt",
                     "primaryCustomer.email")  # fmt: skip
THREAD_TEXT = ("type", "state", "body", "createdAt", "createdBy.type", "createdBy.first",
               "createdBy.last", "createdBy.email", "customer.first", "customer.last",
               "customer.email")  # fmt: skip


# --- small helpers ---------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_value(entries: Any) -> str | None:
    """The first non-empty `value` of Help Scout's [{id, value, type}] lists."""
    for entry in _list(entries):
        value = clean_text(_dict(entry).get("value"))
        if value:
            return value
    return None


def _person(person: dict[str, Any]) -> str | None:
    """'First Last' of a {id, type, first, last, email} person, else the email."""
    name = " ".join(
        p for p in (clean_text(person.get("first")), clean_text(person.get("last"))) if p
    )
    return name or clean_text(person.get("email"))


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    for kind in KINDS:
        if name.startswith(kind) and name.endswith(".json"):
            return kind
    return None


# --- checking a file's shape ---------------------------------------------------------------


def file_kind(path: Path, expected: str | None = None) -> str | None:
    """'customers' or 'conversations', checked; None for a page with nothing embedded.
    Raises ImportFileError for an empty file, bad JSON or another shape."""
    check_not_empty(
        path, _EXPECTED[expected] if expected else "a Help Scout Mailbox API 2.0 response"
    )
    shape = f"not a Help Scout export (expected {_EXPECTED[expected]})" if expected else SHAPE
    top: set[str] = set()
    found: str | None = None
    with closing(json_events(path)) as events:
        first = next(events, None)
        if first is None or first[1] != "start_map":
            raise ImportFileError(str(path), shape)
        for prefix, event, value in events:
            if event == "map_key" and prefix == "":
                top.add(value)
            elif event == "map_key" and prefix == "_embedded" and value in KINDS:
                found = value
                # The event after the key starts its value: records come only in an array.
                start = next(events, None)
                if start is None or start[1] != "start_array":
                    raise ImportFileError(
                        str(path),
                        f"not a Help Scout export (_embedded.{found} is "
                        f"{json_type(start[1] if start else None)}; expected an array of "
                        f"{found}, as {_API[found]} returns)",
                    )
                break
            elif prefix == "" and event == "end_map":
                break
    if found is None:
        # A page with no results may leave `_embedded` out; anything else is not Help Scout.
        if "_embedded" not in top and "page" in top:
            return expected
        raise ImportFileError(str(path), shape)
    if expected is not None and found != expected:
        raise ImportFileError(str(path), f"{shape}; it holds {found}")
    return found


# --- records -----------------------------------------------------------------------------------


def _values_not_text(embedded: dict[str, Any], key: str) -> str | None:
    """Help Scout's [{id, value, type}] lists: a `value` that is not text is a broken
    record, like any text field that is not."""
    for entry in _list(embedded.get(key)):
        value = _dict(entry).get("value")
        if value is not None and not isinstance(value, str):
            return f"_embedded.{key} value is {value_type(value)}, expected text"
    return None


def _customers(path: Path) -> Iterator[Record]:
    customers = json_items(path, "_embedded.customers.item")
    for customer_id, customer, origin in with_ids(customers, path, "customer"):
        if customer_id is None:
            yield BadRecord(origin, "customer has no id")
            continue
        embedded = _dict(customer.get("_embedded"))
        problem = (
            not_text(customer, *CUSTOMER_TEXT)
            or _values_not_text(embedded, "emails")
            or _values_not_text(embedded, "phones")
        )
        if problem:
            where = Origin(str(path), customers.line())
            yield BadRecord(where, f"customer {customer_id}: {problem}")
            continue
        email = _first_value(embedded.get("emails")) or clean_text(customer.get("email"))
        if email is None:
            yield BadRecord(origin, f"customer {customer_id} has no email")
            continue
        first, last = clean_text(customer.get("firstName")), clean_text(customer.get("lastName"))
        yield CustomerRecord(
            external_id=customer_id,
            email=email,
            name=" ".join(p for p in (first, last) if p) or None,
            company=clean_text(customer.get("organization")),
            phone=_first_value(embedded.get("phones")),
            context=clean_text(customer.get("background")),
            origin=origin,
        )


def _conversations(path: Path) -> Iterator[Record]:
    conversations = json_items(path, "_embedded.conversations.item")
    for conversation_id, conversation, origin in with_ids(conversations, path, "conversation"):
        if conversation_id is None:
            yield BadRecord(origin, "conversation has no id")
            continue
        problem = not_text(conversation, *CONVERSATION_TEXT)
        if problem:
            where = Origin(str(path), conversations.line())
            yield BadRecord(where, f"conversation {conversation_id}: {problem}")
            continue
        customer = _dict(conversation.get("primaryCustomer"))
        customer_id, email = record_id(customer.get("id")), clean_text(customer.get("email"))
        if customer_id is None and email is None:
            yield BadRecord(origin, f"conversation {conversation_id} has no primaryCustomer")
            continue
        yield ConversationRecord(
            external_id=conversation_id,
            customer_external_id=customer_id,
            customer_email=email,
            subject=clean_text(conversation.get("subject")),
            status=clean_text(conversation.get("status")),
            created_at=clean_text(conversation.get("createdAt")),
            updated_at=clean_text(conversation.get("userUpdatedAt"))
            or clean_text(conversation.get("updatedAt")),
            origin=origin,
        )
        threads = _list(_dict(conversation.get("_embedded")).get("threads"))
        yield from _threads(str(path), conversation_id, threads, conversations.line)


def _threads(
    file: str, conversation_id: str, threads: list[Any], line: Callable[[], int | None]
) -> Iterator[Record]:
    """Threads come newest first (the API's order); ocx gets them oldest first. A thread
    that is bad is told at the line of its conversation, the record it came in."""
    for number in range(len(threads), 0, -1):
        thread = threads[number - 1]
        thread_id = record_id(thread.get("id")) if isinstance(thread, dict) else None
        if thread_id is None:
            where = f"conversation {conversation_id} thread #{number}"
            yield BadRecord(Origin(file, record=where), "thread has no id")
            continue
        problem = not_text(thread, *THREAD_TEXT)
        if problem:
            where = f"conversation {conversation_id} thread {thread_id}"
            yield BadRecord(Origin(file, line()), f"{where}: {problem}")
            continue
        kind = clean_text(thread.get("type"))
        if kind in _NOT_MESSAGES or clean_text(thread.get("state")) == "draft":
            continue
        created_by = _dict(thread.get("createdBy"))
        if kind in ("customer", "message", "note"):
            inbound = kind == "customer"
        else:  # chat, phone, forwards: whoever wrote it
            inbound = created_by.get("type") == "customer"
        author = _person(created_by) or (
            _person(_dict(thread.get("customer"))) if inbound else None
        )
        body = thread.get("body")
        yield MessageRecord(
            external_id=thread_id,
            conversation_external_id=conversation_id,
            body=html_to_text(body) if isinstance(body, str) else "",
            created_at=clean_text(thread.get("createdAt")),
            author=author,
            direction="inbound" if inbound else "outbound",
            public=kind != "note",
            origin=Origin(file, record=f"conversation {conversation_id} thread {thread_id}"),
        )


# --- the importer's detect and read ------------------------------------------------------------


def _pages(folder: Path, kind: str) -> list[Path]:
    return sorted(p for p in folder.glob(f"{kind}*.json") if p.is_file())


def detect(path: Path) -> bool:
    if path.is_dir():
        return any(_pages(path, kind) for kind in KINDS)
    return path.suffix.lower() == ".json"


def read(path: Path) -> Iterator[Record]:
    if path.is_dir():
        files = [(file, kind) for kind in KINDS for file in _pages(path, kind)]
        if not files:
            raise ImportFileError(str(path), "no customers.json or conversations.json here")
        for file, kind in files:
            file_kind(file, kind)
    else:
        files = [(path, file_kind(path))]
    for file, kind in files:
        if kind == "customers":
            yield from _customers(file)
        elif kind == "conversations":
            yield from _conversations(file)
