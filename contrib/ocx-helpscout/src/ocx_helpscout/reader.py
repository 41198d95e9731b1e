"""Read a Help Scout Mailbox API 2.0 export: customers, and conversations with their threads
(embed=threads) or without them, as ocx import records.

A folder holds `customers.json` and `conversations.json` (or page files `customers-2.json`,
`conversations-0002.json`..., read in page order); a single file is recognised by what its
`_embedded` holds. All the PATHs of one import are read together (`read_all`): every
customers page first, then the conversations, so a conversation finds its customer whatever
order the PATHs came in; a conversations file given alone brings the customers pages beside
it. Files are streamed with `ocx.plugin_api.json_items` (ijson), one customer or conversation at a time,
so a big export keeps memory flat. Help Scout leaves out keys whose value is empty: every
optional key may be missing.
Which page is which: ocx_helpscout.files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    as_dict,
    as_list,
    clean_text,
    field_value,
    html_to_text,
    json_items,
    not_text,
    record_id,
    value_type,
    with_ids,
)
from ocx_helpscout.files import KINDS, SHAPE, _page_order, _pages, file_kind, kind_of_name

__all__ = ["KINDS", "SHAPE", "_page_order", "_pages", "detect", "file_kind", "kind_of_name",
           "read", "read_all"]  # fmt: skip

# Why a conversation's customer cannot be known, in the summary's `skipped` list.
NOT_IN_EXPORT = (
    "conversation {conversation}: customer {customer} is not in this export; "
    "import the customers too"
)
NO_EMAIL = (
    "conversation {conversation}: customer {customer} has no email address; "
    "ocx knows customers by email"
)
NAME_ONLY = (
    "conversation {conversation}: customer {customer} has no id or email address; "
    "a name alone matches no customer"
)
NO_THREADS = "{count} conversations had no threads (export with embed=threads)"
# Thread types that are not messages: `lineitem` is an event ("Assigned to Sam"), with no
# body. A `draft` was never sent.
_NOT_MESSAGES = {"lineitem"}
# The fields read that must be text when they are there (null is as good as missing).
CUSTOMER_TEXT = ("firstName", "lastName", "organization", "background", "email")
CONVERSATION_TEXT = ("subject", "status", "createdAt", "userUpdatedAt", "updatedAt", "preview",
                     "primaryCustomer.email", "primaryCustomer.first",
                     "primaryCustomer.last")  # fmt: skip
THREAD_TEXT = ("type", "state", "body", "createdAt", "createdBy.type", "createdBy.first",
               "createdBy.last", "createdBy.email", "customer.first", "customer.last",
               "customer.email")  # fmt: skip


# --- small helpers ---------------------------------------------------------------------------


def _first_value(entries: Any) -> str | None:
    """The first non-empty `value` of Help Scout's [{id, value, type}] lists."""
    for entry in as_list(entries):
        value = clean_text(as_dict(entry).get("value"))
        if value:
            return value
    return None


def _name(person: dict[str, Any], first: str = "first", last: str = "last") -> str | None:
    """'First Last' of a person, either part may be missing; None when both are."""
    parts = (clean_text(person.get(first)), clean_text(person.get(last)))
    return " ".join(p for p in parts if p) or None


def _person(person: dict[str, Any]) -> str | None:
    """'First Last' of a {id, type, first, last, email} person, else the email."""
    return _name(person) or clean_text(person.get("email"))


# --- what one import has learnt ---------------------------------------------------------------


class _Import:
    """What one `ocx import helpscout PATH...` has learnt so far: the customers it has
    yielded (by id and by email), customers' names, the customers Help Scout has without an
    email, and how many conversations came without their threads."""

    def __init__(self) -> None:
        self.customers: set[str] = set()  # external ids yielded as a CustomerRecord
        self.emails: set[str] = set()  # their emails, lower-cased
        self.names: dict[str, str] = {}  # customers' names by id
        self.no_email: set[str] = set()  # customers in the export without an email
        self.no_threads = 0

    def yielded(self, external_id: str, email: str) -> None:
        self.customers.add(external_id)
        self.emails.add(email.lower())

    def warnings(self) -> Iterator[Record]:
        if self.no_threads:
            yield ImportWarning(NO_THREADS.format(count=self.no_threads))


# --- records -----------------------------------------------------------------------------------


def _values_not_text(embedded: dict[str, Any], key: str) -> str | None:
    """Help Scout's [{id, value, type}] lists: a `value` that is not text is a broken
    record, like any text field that is not."""
    for entry in as_list(embedded.get(key)):
        value = as_dict(entry).get("value")
        if value is not None and not isinstance(value, str):
            return f"_embedded.{key} value is {value_type(value)}, expected text"
    return None


def _customers(path: Path, run: _Import) -> Iterator[Record]:
    customers = json_items(path, "_embedded.customers.item")
    for customer_id, customer, origin in with_ids(customers, path, "customer"):
        if customer_id is None:
            yield BadRecord(origin, "customer has no id")
            continue
        embedded = as_dict(customer.get("_embedded"))
        problem = (
            not_text(customer, *CUSTOMER_TEXT)
            or _values_not_text(embedded, "emails")
            or _values_not_text(embedded, "phones")
        )
        if problem:
            where = Origin(str(path), customers.line())
            yield BadRecord(where, f"customer {customer_id}: {problem}")
            continue
        name = _name(customer, "firstName", "lastName")
        if name:
            run.names[customer_id] = name
        email = _first_value(embedded.get("emails")) or clean_text(customer.get("email"))
        if email is None:  # a phone or chat customer is a real Help Scout customer
            run.no_email.add(customer_id)
            yield SkippedRecord(origin, f"customer {customer_id} has no email address")
            continue
        run.yielded(customer_id, email)
        yield CustomerRecord(
            external_id=customer_id,
            email=email,
            name=name,
            company=clean_text(customer.get("organization")),
            phone=_first_value(embedded.get("phones")),
            context=clean_text(customer.get("background")),
            origin=origin,
        )


def _tags(value: Any) -> tuple[str, ...]:
    """The conversation's tags: [{id, color, tag}] as the API sends them, or plain names."""
    names = (
        clean_text(as_dict(t).get("tag") if isinstance(t, dict) else t) for t in as_list(value)
    )
    return tuple(dict.fromkeys(n for n in names if n))


def _custom_fields(value: Any) -> tuple[tuple[str, Any], ...]:
    """customFields [{id, name, value, text}]: (name, text) pairs; `text` is what a person
    sees (a dropdown's option label, `value` being its id), so it wins; the field's id names
    it when it has no name. Fields with no value are left out."""
    pairs: list[tuple[str, Any]] = []
    for field in as_list(value):
        field = as_dict(field)
        label = clean_text(field.get("name")) or record_id(field.get("id"))
        shown = field_value(field.get("text"))
        if shown is None:
            shown = field_value(field.get("value"))
        if label is not None and shown is not None:
            pairs.append((label, shown))
    return tuple(pairs)


def _satisfaction(threads: list[Any]) -> Satisfaction | None:
    """The customer's rating of the newest rated reply: Help Scout puts a `rating` {rating,
    comments} on the thread that was rated (List Conversations with embed=threads carries it
    since 2023-09)."""
    for thread in threads:  # newest first, as the API lists them
        rating = as_dict(as_dict(thread).get("rating"))
        score, comment = clean_text(rating.get("rating")), clean_text(rating.get("comments"))
        if score or comment:
            return Satisfaction(score=score, comment=comment)
    return None


def _primary_customer(
    conversation_id: str, customer: dict[str, Any], file: str, run: _Import
) -> tuple[CustomerRecord | None, str]:
    """The customer `primaryCustomer` creates or matches when it has an email and no
    customers page of this import has them yet (None otherwise), and the reason to give if
    the conversation still finds no customer. One without an id is keyed by its email."""
    customer_id = record_id(customer.get("id"))
    email = clean_text(customer.get("email"))
    name = _name(customer)
    if customer_id and name:
        run.names.setdefault(customer_id, name)
    who = customer_id or email or name
    if email is None:
        if customer_id is None:
            return None, NAME_ONLY.format(conversation=conversation_id, customer=name)
        if customer_id in run.no_email:
            return None, NO_EMAIL.format(conversation=conversation_id, customer=who)
        return None, NOT_IN_EXPORT.format(conversation=conversation_id, customer=who)
    missing = NOT_IN_EXPORT.format(conversation=conversation_id, customer=who)
    key = customer_id or email.lower()
    if key in run.customers or email.lower() in run.emails:
        return None, missing
    run.yielded(key, email)
    record = CustomerRecord(
        external_id=key,
        email=email,
        name=name,
        origin=Origin(file, record=f"conversation {conversation_id}: primaryCustomer {who}"),
    )
    return record, missing


def _conversations(path: Path, run: _Import) -> Iterator[Record]:
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
        customer = as_dict(conversation.get("primaryCustomer"))
        customer_id, email = record_id(customer.get("id")), clean_text(customer.get("email"))
        if customer_id is None and email is None and _name(customer) is None:
            yield BadRecord(origin, f"conversation {conversation_id} has no primaryCustomer")
            continue
        person, missing = _primary_customer(conversation_id, customer, str(path), run)
        if person is not None:
            yield person
        threads = as_dict(conversation.get("_embedded")).get("threads")
        embedded = isinstance(threads, list)
        updated = clean_text(conversation.get("userUpdatedAt")) or clean_text(
            conversation.get("updatedAt")
        )
        yield ConversationRecord(
            external_id=conversation_id,
            customer_external_id=customer_id,
            customer_email=email,
            subject=clean_text(conversation.get("subject")),
            status=clean_text(conversation.get("status")),
            created_at=clean_text(conversation.get("createdAt")),
            updated_at=updated,
            origin=origin,
            tags=_tags(conversation.get("tags")),
            # email, chat or phone; how it came in (beacon, api, ...) when the type is missing
            channel=clean_text(conversation.get("type"))
            or clean_text(as_dict(conversation.get("source")).get("type")),
            satisfaction=_satisfaction(threads) if embedded else None,
            custom_fields=_custom_fields(conversation.get("customFields")),
            missing_customer=missing,
        )
        if embedded:
            yield from _threads(str(path), conversation_id, threads, conversations.line, run)
            continue
        run.no_threads += 1
        preview = clean_text(conversation.get("preview"))
        if preview:
            yield _preview(conversation_id, conversation, preview, updated, str(path))


def _preview(
    conversation_id: str, conversation: dict[str, Any], text: str, updated: str | None, file: str
) -> MessageRecord:
    """A conversation listed without embed=threads keeps only `preview`, the start of its
    newest thread: one message marked as a preview, from whoever `customerWaitingSince`
    says replied last, at the conversation's last update."""
    last = as_dict(conversation.get("customerWaitingSince")).get("latestReplyFrom")
    return MessageRecord(
        external_id=f"{conversation_id}-preview",
        conversation_external_id=conversation_id,
        body=text,
        created_at=updated or clean_text(conversation.get("createdAt")),
        direction="outbound" if last == "user" else "inbound",
        origin=Origin(file, record=f"conversation {conversation_id} preview"),
        preview=True,
    )


def _author(thread: dict[str, Any], inbound: bool, run: _Import) -> str | None:
    """Who wrote a thread, by name when the export has one anywhere: `createdBy`'s first and
    last name, the customers page's name for a customer, `createdBy`'s email, the thread's
    `customer`; an agent with none of these is `agent ID`."""
    created_by = as_dict(thread.get("createdBy"))
    creator_id = record_id(created_by.get("id"))
    by_customer = created_by.get("type") == "customer" or (inbound and "type" not in created_by)
    author = _name(created_by)
    if author is None and by_customer and creator_id:
        author = run.names.get(creator_id)
    author = author or clean_text(created_by.get("email"))
    if author is None and inbound:
        customer = as_dict(thread.get("customer"))
        author = _person(customer) or run.names.get(record_id(customer.get("id")) or "")
    if author is None and creator_id and not by_customer:
        author = f"agent {creator_id}"
    return author


def _threads(
    file: str, conversation_id: str, threads: list[Any], line: Callable[[], int | None],
    run: _Import,
) -> Iterator[Record]:  # fmt: skip
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
        if kind in ("customer", "message", "note"):
            inbound = kind == "customer"
        else:  # chat, phone, forwards: whoever wrote it
            inbound = as_dict(thread.get("createdBy")).get("type") == "customer"
        body = thread.get("body")
        yield MessageRecord(
            external_id=thread_id,
            conversation_external_id=conversation_id,
            body=html_to_text(body) if isinstance(body, str) else "",
            created_at=clean_text(thread.get("createdAt")),
            author=_author(thread, inbound, run),
            direction="inbound" if inbound else "outbound",
            public=kind != "note",
            origin=Origin(file, record=f"conversation {conversation_id} thread {thread_id}"),
        )


# --- the importer's detect, read_all and read --------------------------------------------------


def detect(path: Path) -> bool:
    if path.is_dir():
        return any(_pages(path, kind) for kind in KINDS)
    return path.suffix.lower() == ".json"


def _plan(paths: Sequence[Path]) -> dict[str, list[Path]]:
    """Every file to read, by kind, each once, every one's shape checked before anything is
    read: a folder's pages; a file; the customers pages beside a conversations file."""
    plan: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    seen: set[Path] = set()

    def add(kind: str, file: Path, checked: bool = False) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            if not checked:
                file_kind(file, kind)
            plan[kind].append(file)

    for path in paths:
        if path.is_dir():
            pages = [(kind, file) for kind in KINDS for file in _pages(path, kind)]
            if not pages:
                raise ImportFileError(str(path), "no customers.json or conversations.json here")
            for kind, file in pages:
                add(kind, file)
            continue
        kind = file_kind(path) or kind_of_name(path)
        if kind is None:
            continue  # a page with no results, and its name does not say of what
        add(kind, path, checked=True)
        if kind == "conversations":
            for file in _pages(path.parent, "customers"):
                add("customers", file)
    return plan


def read_all(paths: Sequence[Path]) -> Iterator[Record]:
    """All PATHs of one import: every customers page first, then the conversations (each
    with its threads, or its preview), then what the summary should warn about."""
    plan = _plan(paths)
    run = _Import()
    for file in plan["customers"]:
        yield from _customers(file, run)
    for file in plan["conversations"]:
        yield from _conversations(file, run)
    yield from run.warnings()


def read(path: Path) -> Iterator[Record]:
    """One PATH: as `read_all` reads it alone."""
    return read_all([path])
