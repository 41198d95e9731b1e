"""Read a Help Scout Mailbox API 2.0 export: customers, and conversations with their threads
(embed=threads), as ocx import records.

A folder holds `customers.json` and `conversations.json` (or page files `customers*.json`,
`conversations*.json`, read in name order); a single file is recognised by what its
`_embedded` holds. Files are streamed with ijson, one customer or conversation at a time,
so a big export keeps memory flat. Help Scout leaves out keys whose value is empty: every
optional key may be missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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
SHAPE = (
    "not a Help Scout export (expected an object with _embedded.customers or "
    "_embedded.conversations, as the Mailbox API 2.0 returns)"
)
# Thread types that are not messages: `lineitem` is an event ("Assigned to Sam"), with no
# body. A `draft` was never sent.
_NOT_MESSAGES = {"lineitem"}
_BOM = b"\xef\xbb\xbf"
_PRECISE_ERRORS_UP_TO = 256 * 1024 * 1024  # re-read smaller files with json for line:column


# --- small helpers ---------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str) and str(value).strip():
        return str(value).strip()
    return None


def _text(value: Any) -> str | None:
    """Trimmed text, or None for anything else (a missing key, null, a number, '')."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_value(entries: Any) -> str | None:
    """The first non-empty `value` of Help Scout's [{id, value, type}] lists."""
    for entry in _list(entries):
        value = _text(_dict(entry).get("value"))
        if value:
            return value
    return None


def _person(person: dict[str, Any]) -> str | None:
    """'First Last' of a {id, type, first, last, email} person, else the email."""
    name = " ".join(p for p in (_text(person.get("first")), _text(person.get("last"))) if p)
    return name or _text(person.get("email"))


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    for kind in KINDS:
        if name.startswith(kind) and name.endswith(".json"):
            return kind
    return None


# --- reading JSON with errors that name the file and the line --------------------------------


def _precise(path: Path) -> ImportFileError | None:
    """Re-read with json to say where a file breaks (ijson's errors have no line)."""
    try:
        with path.open("rb") as handle:
            json.loads(handle.read().removeprefix(_BOM))
    except json.JSONDecodeError as exc:
        return ImportFileError(
            Origin(str(path), exc.lineno),
            f"invalid or truncated JSON at column {exc.colno}: {exc.msg}",
        )
    except UnicodeDecodeError as exc:
        return ImportFileError(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})")
    except RecursionError:
        return ImportFileError(str(path), "invalid JSON: nested too deeply")
    except (ValueError, OSError):
        return None
    return None


def _json_error(path: Path, exc: Exception) -> ImportFileError:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if path.stat().st_size <= _PRECISE_ERRORS_UP_TO:
        precise = _precise(path)
        if precise is not None:
            return precise
        if "overflow" in first:  # valid JSON, but a number the streaming parser cannot hold
            return ImportFileError(str(path), f"a number is too large to read ({first})")
    return ImportFileError(str(path), f"invalid or truncated JSON ({first})")


def _open(path: Path) -> IO[bytes]:
    """The file, past a UTF-8 byte-order mark if it has one (json accepts it, ijson not)."""
    handle = path.open("rb")
    if handle.read(3) != _BOM:
        handle.seek(0)
    return handle


def _items(path: Path, kind: str) -> Iterator[Any]:
    """The customers or conversations of one page, streamed."""
    import ijson

    with _open(path) as handle:
        try:
            yield from ijson.items(handle, f"_embedded.{kind}.item", use_float=True)
        except ijson.JSONError as exc:
            raise _json_error(path, exc) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(str(path), f"not UTF-8 ({exc.reason})") from None


def file_kind(path: Path, expected: str | None = None) -> str | None:
    """'customers' or 'conversations', checked; None for a page with nothing embedded.
    Raises ImportFileError for an empty file, bad JSON or another shape."""
    import ijson

    size = path.stat().st_size
    if size == 0 or (size <= 4096 and not path.read_bytes().removeprefix(_BOM).strip()):
        what = _EXPECTED[expected] if expected else "a Help Scout Mailbox API 2.0 response"
        raise ImportFileError(str(path), f"file is empty; expected {what}")
    shape = f"not a Help Scout export (expected {_EXPECTED[expected]})" if expected else SHAPE
    top: set[str] = set()
    found: str | None = None
    with _open(path) as handle:
        events = ijson.parse(handle, use_float=True)
        try:
            first = next(events, None)
            if first is None or first[1] != "start_map":
                raise ImportFileError(str(path), shape)
            for prefix, event, value in events:
                if event == "map_key" and prefix == "":
                    top.add(value)
                elif event == "map_key" and prefix == "_embedded" and value in KINDS:
                    found = value
                    break
                elif prefix == "" and event == "end_map":
                    break
        except ijson.JSONError as exc:
            raise _json_error(path, exc) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(str(path), f"not UTF-8 ({exc.reason})") from None
    if found is None:
        # A page with no results may leave `_embedded` out; anything else is not Help Scout.
        if "_embedded" not in top and "page" in top:
            return expected
        raise ImportFileError(str(path), shape)
    if expected is not None and found != expected:
        raise ImportFileError(str(path), f"{shape}; it holds {found}")
    return found


# --- records -----------------------------------------------------------------------------------


def _customers(path: Path) -> Iterator[Record]:
    file = str(path)
    for index, customer in enumerate(_items(path, "customers"), start=1):
        customer_id = _id(customer.get("id")) if isinstance(customer, dict) else None
        if customer_id is None:
            yield BadRecord(Origin(file, record=f"customer #{index}"), "customer has no id")
            continue
        origin = Origin(file, record=f"customer {customer_id}")
        embedded = _dict(customer.get("_embedded"))
        email = _first_value(embedded.get("emails")) or _text(customer.get("email"))
        if email is None:
            yield BadRecord(origin, f"customer {customer_id} has no email")
            continue
        first, last = _text(customer.get("firstName")), _text(customer.get("lastName"))
        yield CustomerRecord(
            external_id=customer_id,
            email=email,
            name=" ".join(p for p in (first, last) if p) or None,
            company=_text(customer.get("organization")),
            phone=_first_value(embedded.get("phones")),
            context=_text(customer.get("background")),
            origin=origin,
        )


def _conversations(path: Path) -> Iterator[Record]:
    file = str(path)
    for index, conversation in enumerate(_items(path, "conversations"), start=1):
        if not isinstance(conversation, dict) or _id(conversation.get("id")) is None:
            yield BadRecord(Origin(file, record=f"conversation #{index}"), "conversation has no id")
            continue
        conversation_id = _id(conversation.get("id")) or ""
        origin = Origin(file, record=f"conversation {conversation_id}")
        customer = _dict(conversation.get("primaryCustomer"))
        customer_id, email = _id(customer.get("id")), _text(customer.get("email"))
        if customer_id is None and email is None:
            yield BadRecord(origin, f"conversation {conversation_id} has no primaryCustomer")
            continue
        yield ConversationRecord(
            external_id=conversation_id,
            customer_external_id=customer_id,
            customer_email=email,
            subject=_text(conversation.get("subject")),
            status=_text(conversation.get("status")),
            created_at=_text(conversation.get("createdAt")),
            updated_at=_text(conversation.get("userUpdatedAt"))
            or _text(conversation.get("updatedAt")),
            origin=origin,
        )
        threads = _list(_dict(conversation.get("_embedded")).get("threads"))
        yield from _threads(file, conversation_id, threads)


def _threads(file: str, conversation_id: str, threads: list[Any]) -> Iterator[Record]:
    """Threads come newest first (the API's order); ocx gets them oldest first."""
    for number in range(len(threads), 0, -1):
        thread = threads[number - 1]
        thread_id = _id(thread.get("id")) if isinstance(thread, dict) else None
        if thread_id is None:
            where = f"conversation {conversation_id} thread #{number}"
            yield BadRecord(Origin(file, record=where), "thread has no id")
            continue
        kind = _text(thread.get("type"))
        if kind in _NOT_MESSAGES or _text(thread.get("state")) == "draft":
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
            created_at=_text(thread.get("createdAt")),
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
