"""Mail from customers: `ocx inbox ingest` reads mailboxes (through the sources plugins
register), takes each message once by its Message-ID (or a hash of headers and body), files
it under the customer whose address sent it, in their timeline as an inbound contact, and
keeps mail from unknown senders waiting until someone assigns it (`ocx inbox assign`).
Filed mail follows its thread and makes a promise to reply (ocx.replies)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocx import clock, customers, replies
from ocx.errors import NotFound, OcxError
from ocx.plugin_types import InboxReading, InboxSource, RawMessage
from ocx.store import Store
from ocx.store import inbox as sql

DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # a larger message is named and skipped
BATCH_MESSAGES = 500  # messages per write transaction...
BATCH_SECONDS = 1.0  # ...or fewer, so other commands can write between batches
BATCH_BYTES = 32 * 1024 * 1024  # ...or fewer, so memory holds a batch of large messages
_MAX_ID = 500  # a longer Message-ID is no id to trust: the message is keyed by its hash
_IDS = re.compile(r"<([^<>\s]+)>")
# Headers mail programs add or change when they store or read a message: left out of the
# hash, so the same message without a Message-ID hashes alike in any mailbox.
_BOOKKEEPING = frozenset({
    b"status", b"x-status", b"x-keywords", b"x-uid", b"content-length", b"lines",
    b"x-mozilla-status", b"x-mozilla-status2", b"delivered-to", b"return-path",
})  # fmt: skip


class Malformed(Exception):
    """A message ocx cannot take; str() says why (no header block, no From address)."""


@dataclass(frozen=True)
class Parsed:
    """One message as ocx keeps it."""

    message_id: str
    from_address: str
    from_name: str | None
    subject: str
    body: str
    sent_at: str | None
    in_reply_to: str | None
    reference_ids: str | None


@dataclass
class Ingested:
    """What one `ocx inbox ingest` did: each message read counts in exactly one of
    ingested, duplicates and unmatched; problems name the ones skipped."""

    ingested: int = 0
    duplicates: int = 0
    unmatched: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, int]:
        return {"ingested": self.ingested, "duplicates": self.duplicates,
                "unmatched": self.unmatched}  # fmt: skip


@dataclass(frozen=True)
class InboundMessage:
    id: int
    message_id: str
    from_address: str
    from_name: str | None
    subject: str
    sent_at: str | None
    received_at: str
    customer_id: int | None

    @classmethod
    def from_row(cls, row: Any) -> InboundMessage:
        return cls(
            id=int(row["id"]), message_id=row["message_id"], from_address=row["from_address"],
            from_name=row["from_name"], subject=row["subject"], sent_at=row["sent_at"],
            received_at=row["received_at"], customer_id=row["customer_id"],
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id, "from": self.from_address,
            "from_name": self.from_name, "subject": self.subject,
            "sent_at": clock.iso_json(self.sent_at),
            "received_at": clock.iso_json(self.received_at),
        }  # fmt: skip


@dataclass(frozen=True)
class Filed:
    message_id: str
    customer_id: int
    email_added: str | None  # the sender's address, when --add-email added it
    customer: str = ""  # who, as people read it: "Margo Lane <margo@example.com>"


# --- reading a message ---------------------------------------------------------------------


def normalise_id(text: str) -> str:
    """A Message-ID as ocx keys it: the part between angle brackets, or the text trimmed."""
    raw = text.strip()
    found = _IDS.search(raw)
    if found:
        return found.group(1)
    return raw.strip("<>").strip()


def _hash_key(data: bytes) -> str:
    """sha256 of the headers (mailbox bookkeeping left out, folded lines joined) and the
    body, line endings and trailing blank lines aside."""
    text = data.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    fields: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    kept = [f for f in fields if f.split(b":", 1)[0].strip().lower() not in _BOOKKEEPING]
    digest = hashlib.sha256(b"\n".join(kept) + b"\n\n" + body.rstrip(b"\n"))
    return "sha256:" + digest.hexdigest()


# Only the headers ocx keeps are decoded, once each, as the email package's default policy
# decodes them: parsing every header with that policy (and Content-Type again at each look
# at a part) cost milliseconds a message. Messages are parsed with compat32, which keeps
# headers as text; a value of the common simple forms below is read by a pattern, anything
# else (encoded words, groups, comments, 8-bit text) by the default policy's own parser.
_WANTED = ("from", "subject", "message-id", "date", "in-reply-to", "references")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = rf"{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*"
_SIMPLE_FROM = re.compile(
    rf"[ \t]*(?:(?:\"(?P<quoted>[ !#-\[\]-~]*)\"|(?P<words>[A-Za-z0-9'-]+(?:[ \t]+[A-Za-z0-9'-]+)*))"
    rf"[ \t]*)?<(?P<angle>{_ADDRESS})>[ \t]*|[ \t]*(?P<bare>{_ADDRESS})[ \t]*"
)
_BLANK = re.compile(rb"\n\r?\n")
_SIMPLE_ID = re.compile(rf"[ \t]*<({_ADDRESS})>[ \t]*")


def _fields(message: Any) -> dict[str, str]:
    """The first value of each wanted header, lines joined as the default policy joins them."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key in _WANTED and key not in found and isinstance(value, str):
            found[key] = value.replace("\r", "").replace("\n", "")
    return found


def _policy_header(name: str, value: str | None) -> Any:
    """The header as the default policy makes it, or None (absent, or beyond repair)."""
    if value is None:
        return None
    from email import policy

    try:
        return policy.default.header_factory(name, value)
    except Exception:
        return None


def _text(name: str, value: str | None) -> str | None:
    """An unstructured header's text: as written, or decoded when it has encoded words."""
    if value is None or ("=?" not in value and value.isascii()):
        return value
    header = _policy_header(name, value)
    try:
        return None if header is None else str(header)
    except Exception:
        return None


def _clean(text: str) -> str:
    """Text as stored: bytes the email package kept as surrogates read as UTF-8 (raw UTF-8
    headers are common), what is not UTF-8 replaced, no NUL, \n line ends."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def _sender(value: str | None) -> tuple[str, str | None]:
    from email.utils import getaddresses

    pairs: list[tuple[str, str]] = []
    simple = _SIMPLE_FROM.fullmatch(value) if value is not None and "=?" not in value else None
    if simple:
        name = simple["quoted"] if simple["quoted"] is not None else simple["words"] or ""
        pairs = [(name, simple["angle"] or simple["bare"])]
    else:
        header = _policy_header("from", value)
        try:
            addresses = getattr(header, "addresses", None)
            if addresses:
                pairs = [(a.display_name or "", a.addr_spec or "") for a in addresses]
        except Exception:
            pairs = []
        if not pairs and header is not None:
            try:
                pairs = getaddresses([str(header)])
            except Exception:
                pairs = []
    for name, address in pairs:
        try:
            email = customers.normalise_email(_clean(address))
        except OcxError:
            continue
        shown = " ".join(_clean(name).split()) or None
        return email, shown
    raise Malformed("no From address")


def _find_body(top: Any, part: Any) -> Iterator[tuple[int, Any]]:
    """EmailMessage.get_body's search (preferring plain, then html) over compat32 parts."""
    if part.get_content_disposition() == "attachment":
        return
    maintype, subtype = part.get_content_type().split("/")
    if maintype == "text":
        if subtype in ("plain", "html"):
            yield (0 if subtype == "plain" else 1), part
        return
    if maintype != "multipart" or not top.is_multipart():
        return
    if subtype != "related":
        for subpart in part.get_payload():
            yield from _find_body(top, subpart)
        return
    candidate = None
    start = part.get_param("start")
    if start:
        for subpart in part.get_payload():
            if subpart["content-id"] == start:
                candidate = subpart
                break
    if candidate is None:
        subparts = part.get_payload()
        candidate = subparts[0] if subparts else None
    if candidate is not None:
        yield from _find_body(top, candidate)


def _body(message: Any) -> str:
    """The text of the message: its text/plain part, else its HTML turned to text."""
    part, best = None, 2
    try:
        for rank, found in _find_body(message, message):
            if rank < best:
                part, best = found, rank
                if rank == 0:
                    break
    except Exception:
        part = None
    if part is None:
        return ""
    try:  # as the default policy's get_content reads a text part
        content: Any = part.get_payload(decode=True).decode(
            part.get_param("charset", "ASCII"), errors="replace"
        )
    except Exception:
        try:
            content = part.get_payload(decode=True)
        except Exception:
            content = b""
    if isinstance(content, bytes | bytearray):
        content = bytes(content).decode("utf-8", "replace")
    elif not isinstance(content, str):
        content = ""
    try:
        html = part.get_content_subtype() == "html"
    except Exception:
        html = False
    if html:
        from ocx.plugin_types import html_to_text

        content = html_to_text(content)
    return _clean(content).strip()


def _sent_at(value: str | None) -> str | None:
    """The Date header as the default policy reads it (parsedate_to_datetime), in UTC."""
    from email.utils import parsedate_to_datetime

    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
        if not isinstance(moment, datetime):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return clock.to_iso(moment.astimezone(UTC))
    except Exception:
        return None


def _ids(name: str, value: str | None) -> list[str]:
    try:
        text = _text(name, value)
        found = _IDS.findall(_clean(text)) if text is not None else []
        return [i for i in found if len(i) <= _MAX_ID]
    except Exception:
        return []


def _message_id(value: str | None, data: bytes) -> str:
    """The message's key: its Message-ID without brackets, else a hash of the message."""
    simple = _SIMPLE_ID.fullmatch(value) if value is not None and "=?" not in value else None
    if simple:
        message_id = simple[1]
    else:
        header = _policy_header("message-id", value)
        try:
            message_id = normalise_id(_clean(str(header))) if header is not None else ""
        except Exception:
            message_id = ""
    if not message_id or len(message_id) > _MAX_ID or any(c.isspace() for c in message_id):
        return _hash_key(data)
    return message_id


def _header_block(parser: Any, data: bytes) -> Any:
    """The message's headers, its payload the rest as text (what parsing the whole message
    with headersonly gives): the parser reads the lines up to the first blank line only,
    unless a line before it ends the header block (then it reads them all)."""
    blank = _BLANK.search(data)
    if blank is not None:
        message = parser.parsebytes(data[: blank.end()], headersonly=True)
        if message.get_payload() == "":  # the blank line ended the header block
            message.set_payload(data[blank.end() :].decode("ascii", "surrogateescape"))
            return message
    return parser.parsebytes(data, headersonly=True)


@dataclass(frozen=True)
class Head:
    """What a message's header block tells before its body is read: enough to know whether
    it was taken already (its key) and whether it can be taken at all (a From address)."""

    message: Any  # the compat32 Message of the header block (its payload the raw body)
    fields: dict[str, str]
    message_id: str
    from_address: str
    from_name: str | None


def read_head(data: bytes) -> Head:
    """A message's header block; Malformed when it has none or no From address."""
    from email import policy
    from email.parser import BytesParser

    try:
        message = _header_block(BytesParser(policy=policy.compat32), data)
        has_headers = bool(message.keys())
    except Exception:
        raise Malformed("no header block") from None
    if not has_headers:
        raise Malformed("no header block")
    fields = _fields(message)
    address, name = _sender(fields.get("from"))
    return Head(message, fields, _message_id(fields.get("message-id"), data), address, name)


def read_rest(head: Head, data: bytes) -> Parsed:
    """The message whose header block is `head`: subject, body, date and thread."""
    from email import policy
    from email.parser import BytesParser

    message = head.message
    try:  # a multipart body is parsed into its parts; any other body is the text as it is
        if message.get_content_maintype() == "multipart":
            message = BytesParser(policy=policy.compat32).parsebytes(data)
    except Exception:
        pass
    fields = head.fields
    try:
        subject_text = _text("subject", fields.get("subject"))
        subject = " ".join(_clean(subject_text).split()) if subject_text else ""
    except Exception:
        subject = ""
    replying = _ids("in-reply-to", fields.get("in-reply-to"))
    references = _ids("references", fields.get("references"))
    return Parsed(
        message_id=head.message_id, from_address=head.from_address, from_name=head.from_name,
        subject=subject, body=_body(message), sent_at=_sent_at(fields.get("date")),
        in_reply_to=replying[0] if replying else None,
        reference_ids=" ".join(references) or None,
    )  # fmt: skip


def parse(data: bytes) -> Parsed:
    """Read one RFC 5322 message; Malformed when it has no header block or no From address."""
    return read_rest(read_head(data), data)


# --- ingesting -----------------------------------------------------------------------------


def choose_sources(
    sources: Mapping[str, InboxSource], arguments: Sequence[str]
) -> list[tuple[str, InboxSource]]:
    """The source that reads each SOURCE argument, all found before anything is read."""
    chosen = []
    for argument in arguments:
        reader = next((s for s in sources.values() if _detects(s, argument)), None)
        if reader is None:
            raise OcxError(
                f"nothing reads {argument!r} as a mailbox: give a Maildir folder, an mbox "
                "file, .eml files, or - for one message on stdin"
            )
        chosen.append((argument, reader))
    return chosen


def _detects(source: InboxSource, argument: str) -> bool:
    try:
        return bool(source.detect(argument))
    except Exception:  # a plugin's detect that raises reads nothing
        return False


def ingest(
    store: Store,
    sources: Sequence[tuple[str, InboxSource]],
    *,
    config: Mapping[str, Any] | None = None,
    limit: int = DEFAULT_MAX_BYTES,
    warn: Callable[[str], None] = lambda line: None,
    user: str = "ocx",
) -> Ingested:
    """Read every message of each (argument, source) and take the new ones, a batch per
    write transaction: a stopped ingest leaves whole messages, and running it again takes
    the rest once. `warn` hears one line per message skipped (too large, malformed).
    `user` (the configured user) owns replies when neither a concierge nor `inbox_owner`
    in `config` does."""
    report = Ingested()
    rules = replies.Rules.from_config(config or {}, user=user)  # a bad table stops it first

    def taken(ids: Sequence[str]) -> set[str]:
        wanted = [normalise_id(i) for i in ids]
        return store.patiently(lambda: sql.taken(store.conn, wanted))

    reading = InboxReading(limit=limit, config=dict(config or {}), taken=taken)
    batch: list[tuple[Head, bytes, str]] = []
    size, started = 0, time.monotonic()
    try:
        for argument, source in sources:
            for raw in source.read(argument, reading):
                head = _read_one(raw, limit, report, warn)
                if head is None:
                    continue
                batch.append((head, raw.data, source.name))
                size += len(raw.data)
                if (len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES
                        or time.monotonic() - started > BATCH_SECONDS):  # fmt: skip
                    _take(store, _new_ones(store, batch, report), report, rules, user)
                    batch, size, started = [], 0, time.monotonic()
    finally:  # what was read is taken, even when a mailbox fails half-way
        if batch:
            _take(store, _new_ones(store, batch, report), report, rules, user)
    return report


def _new_ones(
    store: Store, batch: list[tuple[Head, bytes, str]], report: Ingested
) -> list[tuple[Parsed, str]]:
    """The batch's messages not taken before, read to their end: mail an earlier run took
    is counted as a duplicate from its header block alone (one query for the batch)."""
    keys = [head.message_id for head, _, _ in batch]
    taken = store.patiently(lambda: sql.taken(store.conn, keys))
    new = []
    for head, data, source in batch:
        if head.message_id in taken:
            report.duplicates += 1
        else:
            new.append((read_rest(head, data), source))
    return new


def _read_one(
    raw: RawMessage, limit: int, report: Ingested, warn: Callable[[str], None]
) -> Head | None:
    if not isinstance(raw, RawMessage):
        raise OcxError(f"a mailbox source yielded {raw!r}, which is not a RawMessage")
    if raw.data is None or len(raw.data) > limit:
        line = f"{raw.label}: {raw.size:,} bytes, more than the limit of {limit:,}; skipped"
    else:
        try:
            return read_head(raw.data)
        except Malformed as exc:
            line = f"{raw.label}: {exc}; skipped"
    report.problems.append(line)
    warn(line)
    return None


def _take(
    store: Store, batch: list[tuple[Parsed, str]], report: Ingested, rules: replies.Rules,
    user: str,
) -> None:  # fmt: skip
    """Store one batch in one transaction: duplicates (taken before, or twice in the batch)
    counted and left, matched mail filed under its customer (_file), the rest waiting."""
    with store.write():
        conn = store.conn
        seen = sql.taken(conn, [p.message_id for p, _ in batch])
        received = clock.to_iso(clock.now())
        owners = customers.ids_by_email(store, [p.from_address for p, _ in batch])
        touched: set[int] = set()
        for message, source in batch:
            if message.message_id in seen:
                report.duplicates += 1
                continue
            seen.add(message.message_id)
            customer_id = owners.get(message.from_address)
            filed: dict[str, Any] = {}
            thread = None
            if customer_id is not None:
                filed, thread = _file(store, customer_id, message, received)
            inbox_id = sql.insert(conn, {
                **_row(message), "source": source, "received_at": received,
                "customer_id": customer_id, **filed,
            })  # fmt: skip
            if customer_id is None:
                report.unmatched += 1
            else:
                _answer(store, inbox_id, customer_id, message, thread, received, rules, user)
                touched.add(customer_id)
                report.ingested += 1
        if touched:
            customers.reindex_many(store, touched)


def _row(message: Parsed) -> dict[str, Any]:
    return {
        "message_id": message.message_id, "from_address": message.from_address,
        "from_name": message.from_name, "subject": message.subject, "body": message.body,
        "sent_at": message.sent_at, "in_reply_to": message.in_reply_to,
        "reference_ids": message.reference_ids,
    }  # fmt: skip


def _file(
    store: Store, customer_id: int, message: Parsed, received: str
) -> tuple[dict[str, Any], replies.Thread | None]:
    """A message filed under its customer, on ingest or by `inbox assign`, first half: the
    thread it follows and its timeline entry naming what it answers; the inbox columns to
    fill (timeline_id, outbox_id, case_id, promise_id). The caller holds the write lock."""
    thread = replies.follow(store, message.in_reply_to, message.reference_ids)
    timeline_id = _add_to_timeline(store, customer_id, message, received, thread)
    return {
        "timeline_id": timeline_id,
        "outbox_id": thread.outbox_id if thread else None,
        "case_id": thread.case_id if thread else None,
        "promise_id": thread.promise_id if thread else None,
    }, thread


def _answer(
    store: Store, inbox_id: int, customer_id: int, message: Parsed,
    thread: replies.Thread | None, received: str, rules: replies.Rules, user: str,
) -> None:  # fmt: skip
    """The second half, once the message is stored: the case it replies to acknowledged,
    and the promise to reply."""
    replies.answered(store, customer_id, thread, author=message.from_name or message.from_address)
    replies.promise_reply(store, customer_id, inbox_id, message.subject, received, rules,
                          author=user)  # fmt: skip


def _add_to_timeline(
    store: Store, customer_id: int, message: Any, received: str, thread: replies.Thread | None
) -> int:
    """The message as an inbound email contact, dated when it was sent (never later than
    ocx took it: a Date header can say anything); a reply names what it answers."""
    subject, body = message.subject, message.body
    text = f"{subject}\n\n{body}" if subject and body else subject or body
    if thread is not None:
        text = f"Reply on {thread.label}: {text}"
    sent = message.sent_at
    subject_type, subject_id = thread.subject if thread is not None else (None, None)
    return customers.add_entry(
        store, customer_id, "contact", text, at=min(sent, received) if sent else received,
        author=message.from_name or message.from_address, direction="inbound",
        channel="email",
        data={"message_id": message.message_id, "from": message.from_address,
              "subject": subject, **(thread.to_data() if thread is not None else {})},
        subject_type=subject_type, subject_id=subject_id,
    )  # fmt: skip


# --- mail that matched nobody --------------------------------------------------------------


def unmatched(store: Store) -> list[InboundMessage]:
    """Mail filed under nobody yet, oldest first."""
    with store.read():
        return [InboundMessage.from_row(row) for row in sql.unmatched(store.conn)]


def assign(
    store: Store,
    message_id: str,
    ref: str,
    *,
    add_email: bool = False,
    author: str | None,
    config: Mapping[str, Any] | None = None,
) -> Filed:
    """File one unmatched message under a customer (into their timeline, following its
    thread, with a promise to reply, as ingest does); with add_email, its sender's address
    becomes theirs too, so later mail from it matches."""
    key = normalise_id(message_id)
    rules = replies.Rules.from_config(config or {}, user=author or "ocx")
    with store.write():
        row = sql.by_message_id(store.conn, key) if key else None
        if row is None:
            raise NotFound(f"no inbound message {message_id.strip()!r}; see: ocx inbox unmatched")
        if row["customer_id"] is not None:
            [owner] = customers.profiles(store, [int(row["customer_id"])])
            raise OcxError(f"message {key} is filed under {_who(owner)} already")
        customer_id = customers.resolve(store, ref)
        stamp = clock.to_iso(clock.now())
        if not sql.file_under(store.conn, int(row["id"]), customer_id, stamp, author):
            raise OcxError(f"message {key} was filed by someone else just now")
        message = Parsed(
            message_id=key, from_address=row["from_address"], from_name=row["from_name"],
            subject=row["subject"], body=row["body"], sent_at=row["sent_at"],
            in_reply_to=row["in_reply_to"], reference_ids=row["reference_ids"],
        )  # fmt: skip
        filed, thread = _file(store, customer_id, message, row["received_at"])
        sql.set_filed(store.conn, int(row["id"]), **filed)
        _answer(store, int(row["id"]), customer_id, message, thread, row["received_at"],
                rules, author or "ocx")  # fmt: skip
        added = None
        if add_email and customers.add_email(store, customer_id, row["from_address"]):
            added = row["from_address"]
        customers.reindex_many(store, {customer_id})
        [person] = customers.profiles(store, [customer_id])
    return Filed(key, customer_id, added, _who(person))


def _who(person: customers.Customer) -> str:
    return f"{person.name} <{person.email}>" if person.name else person.email
