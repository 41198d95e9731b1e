"""How an import's records become customers, conversations and messages: matching (by
(source, external_id) first, then by normalised email across sources), merging what an
export says into what ocx holds, and cleaning the text helpdesks send. ocx.importing runs
this in batches; ImportSummary, said and KINDS are re-exported there."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocx import clock, customers, fields, privacy
from ocx.errors import OcxError
from ocx.plugin_types import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    ImportWarning,
    MessageRecord,
    Origin,
    SkippedRecord,
)
from ocx.store import Store
from ocx.store import imports as sql

KINDS = ("customers", "conversations", "messages")
BATCH = 2000  # records written per chunk (several chunks may make one transaction)


@dataclass
class ImportSummary:
    source: str
    dry_run: bool = False
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def taken(self) -> dict[str, int]:
        """Records taken in so far, by kind: created, updated or unchanged."""
        return {
            kind: self.created[kind] + self.updated[kind] + self.unchanged[kind] for kind in KINDS
        }

    def to_json(self) -> dict[str, Any]:
        """Exactly the contract's keys; source and dry run are the caller's to say."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "seconds": self.seconds,
        }


def said(where: dict[str, Any], reason: str) -> str:
    """`FILE:LINE: reason` or `FILE: RECORD: reason` for one skipped record, the record not
    named twice when the reason already starts with it (`ticket 7: requested by agent ...`)."""
    text = where["file"] + (f":{where['line']}" if where.get("line") is not None else "")
    record = where.get("record")
    if record and not reason.startswith(f"{record}:"):
        text += f": {record}"
    return f"{text}: {reason}"


def _where(origin: Origin | None, fallback: str) -> Origin:
    return origin or Origin(fallback)


_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str | None:
    """Text as SQLite can store it: a lone surrogate (JSON allows "\\ud800") becomes U+FFFD
    instead of failing the whole import far from the record that held it, and NUL characters
    ("\\u0000") are removed whatever importer let them through: C tools, search and terminals
    would cut the text short at them."""
    if value is None:
        return None
    value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", value)
    return value


def _lines(value: Any) -> str | None:
    """Text with Windows (and old Mac) line endings as plain newlines: a CR left in a body
    shows as ^M in a terminal and splits words in search."""
    text = _text(value)
    if text is not None and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _details(r: ConversationRecord) -> str | None:
    """A ticket's extras as the conversation's `data` (JSON), empty and null values left out."""
    data: dict[str, Any] = {}
    for name in ("priority", "type", "channel"):
        value = _text(getattr(r, name))
        if value is not None and value.strip():
            data[name] = value.strip()
    tags = [t for t in (str(_text(t)).strip() for t in r.tags if t is not None) if t]
    if tags:
        data["tags"] = tags
    if r.satisfaction is not None:
        rating = {k: v for k in ("score", "comment") if (v := _lines(getattr(r.satisfaction, k)))}
        if rating:
            data["satisfaction"] = rating
    fields = [
        {"label": str(_text(label)), "value": _json_value(value)}
        for label, value in r.custom_fields
        if value is not None and label is not None
    ]
    if fields:
        data["custom_fields"] = fields
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None


def _json_value(value: Any) -> Any:
    """A custom field's value as JSON can hold it: text cleaned, numbers and booleans as they
    are, lists of those kept, anything else as text."""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value if v is not None]
    return _lines(value)


def _tag(value: Any) -> str:
    """A helpdesk tag as an ocx tag: 'VIP customer' becomes 'vip-customer'."""
    return customers.normalise_tag(re.sub(r"[\s,]+", "-", str(_text(value)).strip()))


def _time(text: Any) -> str | None:
    """Any ISO 8601 time (offset or Z; none means UTC) as stored UTC text."""
    if text is None or not str(text).strip():
        return None
    if not isinstance(text, str):
        raise OcxError(f"time {text!r} is not ISO 8601 text (e.g. 2025-06-02T09:15:00Z)")
    if _CANONICAL_TIME.fullmatch(text):  # what helpdesk APIs send: already stored form
        try:
            datetime.fromisoformat(text[:-1])  # cheap: 2025-02-30T10:00:00Z only looks right
            return text
        except ValueError:
            pass
    try:
        return clock.to_iso(clock.parse_iso(str(text), UTC))
    except OcxError:
        raise OcxError(f"time {text!r} is not ISO 8601 (e.g. 2025-06-02T09:15:00Z)") from None


def _profile(record: CustomerRecord) -> tuple[dict[str, Any], list[str]]:
    """The profile fields an export offers (those ocx.fields lets an import set), as
    `customer add` would store them, and why each value it refused was left out: unusable
    values are dropped, not fatal (a helpdesk's 'Central Time (US & Canada)' is mapped to
    an IANA zone, but not every zone is)."""
    out: dict[str, Any] = {}
    refused = []
    for declared in fields.IMPORTED:
        value = getattr(record, declared.name)
        if value is None or not str(value).strip():
            continue
        try:
            value = fields.imported_value(declared, str(_text(value)).strip())
        except OcxError as exc:
            refused.append(str(exc))
            continue
        if value is not None:
            out[declared.name] = value
    return out, refused


def _sort(
    old: Any, row: dict[str, Any], fields: Sequence[str], inserts: list[Any], updates: list[Any]
) -> bool:
    """File a record as new or changed; False when the stored row already says the same."""
    if old is None:
        inserts.append(row)
    elif any(old[f] != row[f] for f in fields):
        updates.append({**row, "id": old["id"]})
    else:
        return False
    return True


@dataclass
class _Person:
    """A customer record's usable parts, checked (see Job._usable)."""

    external_id: str
    email: str
    tags: list[str]
    profile: dict[str, Any]


class Job:
    """One import run's state: what it took in, skipped and left out so far."""

    def __init__(
        self, store: Store, source: str, skip_bad: bool, author: str | None, strict: bool = False
    ) -> None:
        self.store = store
        self.conn = store.conn
        self.source = source
        self.skip_bad = skip_bad
        self.strict = strict
        self.author = author
        self.stamp = clock.to_iso(clock.now())
        self.summary = ImportSummary(source)
        self.pending: list[Any] = []
        # Customers whose search rows are rebuilt at the end of the batch, and those the batch
        # only added conversations or messages to: what it added is appended to their rows.
        self.touched: set[int] = set()
        self.added_to: set[int] = set()
        self.marks = (0, 0)
        self.seen = 0
        self.analyzed_at = 0  # records taken in when statistics were last refreshed
        # Conversations left out as bad: their messages go with them, not listed again.
        self.skipped_conversations: set[str] = set()
        # Customers erased with `ocx customer forget`: their records are left out, every time.
        self.forgotten = privacy.Tombstones.load(store)
        # Profile values left out (the reason -> how many customers, the first one's origin).
        self.left_out: dict[str, tuple[int, dict[str, Any]]] = {}

    # -- bad input ---------------------------------------------------------------------------
    def bad(self, origin: Origin, reason: str) -> None:
        if not self.skip_bad:
            raise OcxError(f"{origin}: {reason} (use --skip-bad to import the rest)")
        entry = {**origin.to_json(), "reason": reason}
        if not self.summary.skipped or self.summary.skipped[-1] != entry:  # a ticket row and
            self.summary.skipped.append(entry)  # its message share a line and a reason

    def forget(self, origin: Origin) -> None:
        """A record of a forgotten customer: listed, never an error (not even --strict), so
        the same export imports again as it did."""
        self.summary.skipped.append({**origin.to_json(), "reason": privacy.FORGOTTEN})

    def skip(self, origin: Origin, reason: str) -> None:
        """Left out on purpose (not malformed): listed, and an error only with --strict."""
        if self.strict:
            raise OcxError(f"{said(origin.to_json(), reason)} (--strict refuses a skipped ticket)")
        self.summary.skipped.append({**origin.to_json(), "reason": reason})

    def leave_out(self, origin: Origin, reason: str) -> None:
        """A profile value `customer add` would refuse: not imported, and said once per
        reason in the summary's warnings (see warn_left_out)."""
        count, first = self.left_out.get(reason, (0, origin.to_json()))
        self.left_out[reason] = (count + 1, first)

    def warn_left_out(self) -> None:
        """Add a warning per reason values were left out for: where it first happened, and
        how many more customers it happened to."""
        for reason, (count, first) in self.left_out.items():
            others = count - 1
            more = f" (here and for {others:,} more customer{'s' * (others > 1)})"
            text = f"{said(first, reason)}; not imported{more if others else ''}"
            if text not in self.summary.warnings:
                self.summary.warnings.append(text)
        self.left_out.clear()

    def refresh_statistics(self) -> None:
        """Before a batch's reindex, and now and then inside one long batch (--atomic, a dry
        run): refresh the database's statistics of the tables an import writes whenever what
        it has taken in has doubled since the last time (a few times in all).
        A PostgreSQL database the import started empty is otherwise planned as empty: every
        lookup of the next batch scans whole tables."""
        taken = sum(self.summary.taken().values())
        if taken and taken >= 2 * self.analyzed_at:
            self.analyzed_at = taken
            sql.analyze(self.conn)

    # -- a batch's search rows ---------------------------------------------------------------
    def begin_batch(self) -> None:
        """Under the write lock, before the batch writes anything."""
        self.marks = customers.search_marks(self.store)

    def reindex(self) -> None:
        """Bring the search rows of the customers this batch touched up to date before it
        commits: rebuilt where anything but new conversations and messages changed, else the
        new ones appended. An import of many batches touches a customer in many of them, and
        rebuilding them each time read all they had said again, batch after batch."""
        customers.reindex_many(self.store, self.touched)
        customers.append_search(self.store, self.added_to - self.touched, self.marks)
        self.touched.clear()
        self.added_to.clear()

    # -- feeding -----------------------------------------------------------------------------
    def feed(self, record: Any) -> None:
        self.seen += 1
        if isinstance(record, BadRecord):
            self.bad(record.origin, record.reason)
            return
        if isinstance(record, SkippedRecord):
            self.skip(record.origin, record.reason)
            return
        if isinstance(record, ImportWarning):
            text = str(_text(record.text))
            if text not in self.summary.warnings:
                self.summary.warnings.append(text)
            return
        if not isinstance(record, CustomerRecord | ConversationRecord | MessageRecord):
            raise OcxError(
                f"the {self.source} importer yielded {type(record).__name__}, not an import record"
            )
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        self.customers([r for r in batch if isinstance(r, CustomerRecord)])
        self.conversations([r for r in batch if isinstance(r, ConversationRecord)])
        self.messages([r for r in batch if isinstance(r, MessageRecord)])

    # -- customers ---------------------------------------------------------------------------
    def _usable(self, record: CustomerRecord) -> _Person | None:
        """The record's id, email, tags and profile, checked; None when it is left out (bad,
        or a forgotten customer's)."""
        origin = _where(record.origin, f"customer {record.external_id}")
        external_id = str(record.external_id or "").strip()
        if not external_id:
            self.bad(origin, "customer has no id" if (record.email or "").strip() else "no email")
            return None
        try:
            email = customers.normalise_email(record.email or "")
        except OcxError:
            self.bad(origin, f"invalid email {record.email!r}")
            return None
        if self.forgotten.source(self.source, external_id) or self.forgotten.email(email):
            self.forget(origin)
            return None
        try:
            tags = [_tag(t) for t in record.tags if str(t).strip()]
        except OcxError as exc:
            self.bad(origin, str(exc))
            return None
        profile, refused = _profile(record)
        for reason in refused:
            self.leave_out(origin, reason)
        return _Person(external_id, email, tags, profile)

    def customers(self, records: Sequence[CustomerRecord]) -> None:
        """Take in a chunk of customer records, in order, as if one at a time: a record sees
        what the ones before it wrote (a user listed twice, two ids with one email). What
        the database holds is read for the whole chunk at once, the records are merged in
        memory, and what changed is written in a few statements: a statement per customer
        was a round trip each on PostgreSQL."""
        people = [p for p in map(self._usable, records) if p is not None]
        if not people:
            return
        conn, store = self.conn, self.store
        known = sql.source_rows(conn, self.source, [p.external_id for p in people])
        by_email: dict[str, int] = sql.customer_ids_by_email(conn, [p.email for p in people])
        stored = {cid for cid, _ in known.values()} | set(by_email.values())
        current = customers.profile_rows(store, sorted(stored))
        has = {cid: set(tags) for cid, tags in customers.tags_for(store, sorted(stored)).items()}
        # New customers are numbered -1, -2, ... until they are inserted and have ids.
        new: list[dict[str, Any]] = []
        tagged: list[tuple[int, str]] = []
        changed: dict[int, dict[str, Any]] = {}
        sources: list[tuple[int, str, str]] = []
        touched: set[int] = set()
        for p in people:
            found = known.get(p.external_id)
            last: dict[str, Any] = json.loads(found[1] or "{}") if found else {}
            customer_id = found[0] if found else by_email.get(p.email)
            # What this source said last time, tags included: what it said before and a
            # person removed or changed in ocx since is not brought back. Added to what it
            # said before, not instead: a partial record (a ticket's embedded requester:
            # name and email only) must not make ocx forget the company a full contact
            # record set.
            said_tags = sorted(set(p.tags) | set(last.get("tags", [])))
            imported = json.dumps(
                {**last, **p.profile, "tags": said_tags}, sort_keys=True, ensure_ascii=False
            )
            if customer_id is None:
                new.append({"email": p.email, **p.profile})
                customer_id = -len(new)
                current[customer_id], has[customer_id] = new[-1], set()
                by_email[p.email] = customer_id
                self._tag(customer_id, p.tags, has, tagged)
                known[p.external_id] = (customer_id, imported)
                sources.append((customer_id, p.external_id, imported))
                self.summary.created["customers"] += 1
                touched.add(customer_id)
                continue
            profile = current[customer_id]
            # Fill empty fields; replace a value only if it is still what this source last
            # set (nobody edited it in ocx since).
            changes = {
                name: value
                for name, value in p.profile.items()
                if profile.get(name) is None or (profile.get(name) == last.get(name) != value)
            }
            said_before = set(last.get("tags", []))
            added = self._tag(customer_id, [t for t in p.tags if t not in said_before], has, tagged)
            if changes:
                profile.update(changes)  # a new customer's row itself, not yet inserted
                if customer_id > 0:
                    changed.setdefault(customer_id, {}).update(changes)
            if found is None or found[1] != imported:
                known[p.external_id] = (customer_id, imported)
                sources.append((customer_id, p.external_id, imported))
            if changes or added or found is None:
                self.summary.updated["customers"] += 1
                touched.add(customer_id)
            else:
                self.summary.unchanged["customers"] += 1
        ids = customers.insert_profiles(store, new, self.stamp)

        def real(customer_id: int) -> int:
            return ids[-customer_id - 1] if customer_id < 0 else customer_id

        customers.tag_many(store, [(real(cid), tag) for cid, tag in tagged], self.stamp)
        for customer_id, changes in changed.items():
            customers.update_profile(store, customer_id, changes, self.stamp)
        sql.set_sources(
            conn, self.source, [(real(cid), ext, said) for cid, ext, said in sources], self.stamp
        )
        self.touched.update(map(real, touched))

    @staticmethod
    def _tag(
        customer_id: int, tags: list[str], has: dict[int, set[str]], tagged: list[tuple[int, str]]
    ) -> list[str]:
        """File the tags the customer does not have yet to be added; returns them."""
        added = []
        for tag in tags:
            if tag not in has[customer_id]:
                has[customer_id].add(tag)
                tagged.append((customer_id, tag))
                added.append(tag)
        return added

    def _skip_conversation(
        self, external_id: str, origin: Origin, reason: str, *, bad: bool = True
    ) -> None:
        self.skipped_conversations.add(external_id)
        if bad:
            self.bad(origin, reason)
        else:
            self.skip(origin, reason)

    # -- conversations -----------------------------------------------------------------------
    def conversations(self, records: Sequence[ConversationRecord]) -> None:
        if not records:
            return
        latest = {str(r.external_id): r for r in records}  # a repeated id: the later wins
        by_ext = sql.customer_ids_by_source(
            self.conn, self.source,
            [str(r.customer_external_id) for r in latest.values() if r.customer_external_id],
        )  # fmt: skip
        emails = {}
        for r in latest.values():
            if r.customer_email:
                try:
                    emails[r.customer_email] = customers.normalise_email(r.customer_email)
                except OcxError:
                    emails[r.customer_email] = None
        by_email = sql.customer_ids_by_email(self.conn, [e for e in emails.values() if e])
        existing = sql.existing_conversations(self.conn, self.source, list(latest))
        inserts, updates = [], []
        for external_id, r in latest.items():
            origin = _where(r.origin, f"conversation {external_id}")
            if self.forgotten.source(self.source, r.customer_external_id) or (
                r.customer_email and self.forgotten.email(emails[r.customer_email])
            ):
                self.skipped_conversations.add(external_id)
                self.forget(origin)
                continue
            customer_id = (
                by_ext.get(str(r.customer_external_id)) if r.customer_external_id else None
            )
            if customer_id is None and r.customer_email:
                if emails[r.customer_email] is None:
                    self._skip_conversation(
                        external_id, origin, f"invalid customer email {r.customer_email!r}"
                    )
                    continue
                customer_id = by_email.get(emails[r.customer_email])
            if customer_id is None:
                who = r.customer_external_id or r.customer_email or "no customer"
                reason = r.missing_customer or f"customer {who} is not in this export"
                self._skip_conversation(external_id, origin, reason, bad=False)
                continue
            try:
                row = {
                    "customer_id": customer_id, "subject": _lines(r.subject),
                    "status": _text(r.status), "created_at": _time(r.created_at),
                    "updated_at": _time(r.updated_at), "source": self.source,
                    "external_id": external_id, "imported_at": self.stamp, "data": _details(r),
                }  # fmt: skip
            except OcxError as exc:
                self._skip_conversation(external_id, origin, str(exc))
                continue
            old = existing.get(external_id)
            if (
                old
                and old["updated_at"]
                and row["updated_at"]
                and row["updated_at"] < old["updated_at"]
            ):
                self.summary.unchanged["conversations"] += 1  # an older export: never roll back
                continue
            if not _sort(old, row, sql.CONVERSATION_FIELDS, inserts, updates):
                self.summary.unchanged["conversations"] += 1
            elif old is None:
                self.added_to.add(customer_id)
            else:  # changed, perhaps moved to another customer: both are rebuilt
                self.touched.update((customer_id, old["customer_id"]))
        sql.insert_conversations(self.conn, inserts)
        sql.update_conversations(self.conn, updates)
        self.summary.created["conversations"] += len(inserts)
        self.summary.updated["conversations"] += len(updates)

    # -- messages ----------------------------------------------------------------------------
    def messages(self, records: Sequence[MessageRecord]) -> None:
        if not records:
            return
        latest = {str(r.external_id): r for r in records}
        parents = sql.existing_conversations(
            self.conn, self.source, [str(r.conversation_external_id) for r in latest.values()]
        )
        existing = sql.existing_messages(self.conn, self.source, list(latest))
        inserts, updates = [], []
        for external_id, r in latest.items():
            origin = _where(r.origin, f"message {external_id}")
            parent = parents.get(str(r.conversation_external_id))
            if parent is None:
                if str(r.conversation_external_id) not in self.skipped_conversations:
                    self.bad(
                        origin, f"conversation {r.conversation_external_id} is not in the export"
                    )
                continue
            if r.direction not in ("inbound", "outbound"):
                self.bad(origin, f"direction {r.direction!r} is not inbound or outbound")
                continue
            try:
                row = {
                    "conversation_id": parent["id"], "author": _text(r.author),
                    "direction": r.direction, "public": 1 if r.public else 0,
                    "body": _lines(r.body) or "", "created_at": _time(r.created_at),
                    "source": self.source, "external_id": external_id,
                    "preview": 1 if r.preview else 0,
                }  # fmt: skip
            except OcxError as exc:
                self.bad(origin, str(exc))
                continue
            old = existing.get(external_id)
            if not _sort(old, row, sql.MESSAGE_FIELDS, inserts, updates):
                self.summary.unchanged["messages"] += 1
            elif old is None:
                self.added_to.add(parent["customer_id"])
            else:
                self.touched.add(parent["customer_id"])
        sql.insert_messages(self.conn, inserts)
        sql.update_messages(self.conn, updates)
        # A conversation first exported without its threads kept its preview as a stand-in;
        # once its real messages are here the stand-in goes.
        dropped = sql.drop_previews(
            self.conn, {row["conversation_id"] for row in inserts if not row["preview"]}
        )
        owners = {p["id"]: p["customer_id"] for p in parents.values()}
        self.touched.update(owners[conversation_id] for conversation_id in dropped)
        self.summary.created["messages"] += len(inserts)
        self.summary.updated["messages"] += len(updates)
