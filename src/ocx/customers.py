"""Customer profiles and their timeline: the domain layer, usable without the CLI.

The profile's fields are declared in ocx.fields (re-exported here: customers.normalise_email);
search lives in ocx.search, above this module."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ocx import clock
from ocx.errors import NotFound, OcxError
from ocx.fields import (  # noqa: F401 (re-exported: callers name them customers.*)
    PACES,
    normalise_email,
    normalise_tag,
    parse_quiet_hours,
    validate_profile,
)
from ocx.fields import clean as _clean
from ocx.refs import AmbiguousRef, Ref, parse_ref, resolve  # noqa: F401 (re-exported)
from ocx.store import Store
from ocx.store import customers as sql

# --- domain objects ------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    id: int
    customer_id: int
    at: str
    kind: str
    author: str | None
    text: str
    direction: str | None = None
    channel: str | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    data: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Any) -> TimelineEntry:
        values = {k: row[k] for k in row.keys() if k in cls.__dataclass_fields__}  # noqa: SIM118 (sqlite3.Row iterates values)
        values["data"] = json.loads(values["data"]) if values.get("data") else None
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = clock.iso_json(self.at)
        return out


@dataclass
class Customer:
    id: int
    email: str
    name: str | None
    company: str | None
    phone: str | None
    time_zone: str | None
    channel: str | None
    pace: str | None
    tone: str | None
    language: str | None
    quiet_hours: str | None
    context: str | None
    created_at: str
    updated_at: str
    tags: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: Any, tags: list[str] | None = None) -> Customer:
        values = {k: row[k] for k in row.keys() if k in cls.__dataclass_fields__}  # noqa: SIM118 (sqlite3.Row iterates values)
        return cls(**values, tags=tags or [])

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def to_json(self, *, full: bool = True) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = clock.iso_json(self.created_at)
        out["updated_at"] = clock.iso_json(self.updated_at)
        out["timeline"] = [entry.to_json() for entry in self.timeline]
        out["sources"] = [
            {**s, "created_at": clock.iso_json(s["created_at"])} for s in self.sources
        ]
        if not full:
            for key in ("timeline", "sources"):
                out.pop(key)
        return out


# --- operations ----------------------------------------------------------------------------


def record(
    store: Store,
    customer_id: int,
    kind: str,
    text: str = "",
    *,
    author: str | None,
    at: datetime | None = None,
    direction: str | None = None,
    channel: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Add one entry to a customer's timeline; every feature writes its events through this."""
    entry = {
        "customer_id": customer_id,
        "at": clock.to_iso(at or clock.now()),
        "kind": kind,
        "author": author,
        "text": text,
        "direction": direction,
        "channel": channel,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "data": json.dumps(data, sort_keys=True) if data else None,
    }
    with store.write():
        entry_id = sql.add_timeline(store.conn, entry)
        if kind in sql.SEARCHABLE_KINDS:
            sql.reindex(store.conn, customer_id)
    return entry_id


def record_many(store: Store, kind: str, entries: list[dict[str, Any]], **common: Any) -> None:
    """record() for many customers at once: each entry holds `customer_id`, `text` and any
    field of its own (`data`, `channel`, `subject_id`); `common` the fields they share
    (`author`, `subject_type`...). The same timeline rows, in one statement, without a
    transaction and a clock reading per row."""
    if not entries:
        return
    stamp = clock.to_iso(clock.now())
    rows = []
    for entry in entries:
        row = {"at": stamp, "kind": kind, **common, **entry}
        data = row.get("data")
        row["data"] = json.dumps(data, sort_keys=True) if data else None
        rows.append(row)
    with store.write():
        sql.add_timeline_many(store.conn, rows)
        if kind in sql.SEARCHABLE_KINDS:
            for customer_id in dict.fromkeys(entry["customer_id"] for entry in entries):
                sql.reindex(store.conn, customer_id)


def add(
    store: Store,
    email: str,
    *,
    author: str | None,
    tags: list[str] | tuple[str, ...] = (),
    **profile: str | None,
) -> int:
    """Create a customer; refuses a second customer with the same email."""
    fields = validate_profile({"email": email, **profile})
    tag_list = [normalise_tag(t) for t in tags]
    stamp = clock.to_iso(clock.now())
    with store.write():
        if sql.id_by_email(store.conn, fields["email"]) is not None:
            raise OcxError(f"a customer with email {fields['email']} already exists")
        customer_id = sql.insert_customer(
            store.conn, {**fields, "created_at": stamp, "updated_at": stamp}
        )
        sql.add_tags(store.conn, customer_id, tag_list, stamp)
        record(store, customer_id, "created", f"Customer {fields['email']} added", author=author)
        sql.reindex(store.conn, customer_id)
    return customer_id


def edit(
    store: Store,
    ref: str,
    *,
    author: str | None,
    tags: list[str] | tuple[str, ...] = (),
    untags: list[str] | tuple[str, ...] = (),
    **profile: str | None,
) -> list[str]:
    """Change profile fields and tags; returns the names of what changed."""
    fields = validate_profile(profile)
    add_list = [normalise_tag(t) for t in tags]
    remove_list = [normalise_tag(t) for t in untags]
    with store.write():
        customer_id = resolve(store, ref)
        current = sql.get_customer(store.conn, customer_id)
        changed = {k: v for k, v in fields.items() if current[k] != v}
        if "email" in changed:
            owner = sql.id_by_email(store.conn, changed["email"])
            if owner is not None and owner != customer_id:
                raise OcxError(f"a customer with email {changed['email']} already exists")
        removed = sql.remove_tags(store.conn, customer_id, remove_list)
        added = sql.add_tags(store.conn, customer_id, add_list, clock.to_iso(clock.now()))
        if not changed and not added and not removed:
            return []
        sql.update_customer(
            store.conn, customer_id, {**changed, "updated_at": clock.to_iso(clock.now())}
        )
        summary = [
            f"{k} {'cleared' if v is None else 'set to ' + repr(v)}" for k, v in changed.items()
        ]
        summary += [f"tagged {t}" for t in added] + [f"untagged {t}" for t in removed]
        record(
            store, customer_id, "edited", "; ".join(summary), author=author,
            data={"fields": sorted(changed), "tagged": added, "untagged": removed},
        )  # fmt: skip
        sql.reindex(store.conn, customer_id)
    return [*changed, *(f"+{t}" for t in added), *(f"-{t}" for t in removed)]


def tag(
    store: Store, ref: str, tags: list[str] | tuple[str, ...], *, author: str | None
) -> list[str]:
    """Add tags; returns the ones that were new."""
    changes = edit(store, ref, author=author, tags=tags)
    return [c[1:] for c in changes if c.startswith("+")]


def get(store: Store, ref: str, *, timeline_limit: int | None = 10) -> Customer:
    """The full profile: fields, tags, sources and the latest timeline entries."""
    with store.read():
        customer_id = resolve(store, ref)
        conn = store.conn
        customer = Customer.from_row(
            sql.get_customer(conn, customer_id), sql.tags_of(conn, customer_id)
        )
        customer.sources = [dict(row) for row in sql.sources_of(conn, customer_id)]
        customer.timeline = [
            TimelineEntry.from_row(row)
            for row in sql.timeline(conn, customer_id, timeline_limit, None)
        ]
    return customer


def profiles(store: Store, customer_ids: list[int]) -> list[Customer]:
    """Many customers' profiles and tags (no sources or timeline), in the order given, read
    together: what an incident update writes its 100,000 messages from."""
    found = sql.profiles(store.conn, customer_ids)
    tags = sql.tags_for(store.conn, customer_ids)
    out = []
    for cid in customer_ids:
        if cid not in found:
            raise NotFound(f"no customer matches {str(cid)!r}")
        out.append(
            Customer(**dict(zip(sql.PROFILE_ROW, found[cid], strict=True)), tags=list(tags[cid]))
        )
    return out


def listing(
    store: Store, *, tag: str | None = None, company: str | None = None, limit: int | None = None
) -> list[Customer]:
    """Customers ordered by name, optionally one tag's or one company's."""
    if limit is not None and limit < 1:
        raise OcxError("--limit must be at least 1")
    with store.read():
        rows = sql.list_customers(
            store.conn, normalise_tag(tag) if tag else None, company and company.strip(), limit
        )
        tags = sql.tags_for(store.conn, [row["id"] for row in rows])
    return [Customer.from_row(row, tags[row["id"]]) for row in rows]


def history(
    store: Store, ref: str, *, limit: int | None = None, since: datetime | None = None
) -> list[TimelineEntry]:
    """A customer's timeline, newest first."""
    if limit is not None and limit < 1:
        raise OcxError("--limit must be at least 1")
    with store.read():
        customer_id = resolve(store, ref)
        rows = sql.timeline(store.conn, customer_id, limit, since and clock.to_iso(since))
    return [TimelineEntry.from_row(row) for row in rows]


def note(store: Store, ref: str, text: str, *, author: str | None) -> int:
    """Write down something worth remembering about a customer."""
    if not text.strip():
        raise OcxError("the note is empty; give the text to write down")
    with store.write():
        return record(store, resolve(store, ref), "note", text.strip(), author=author)


def contact(
    store: Store,
    ref: str,
    text: str,
    *,
    author: str | None,
    direction: str = "outbound",
    channel: str | None = None,
) -> int:
    """Log a contact with the customer (a call, an email, a chat), inbound or outbound."""
    if direction not in ("inbound", "outbound"):
        raise OcxError(f"direction {direction!r} must be inbound or outbound")
    if not text.strip():
        raise OcxError("the contact text is empty; say what was discussed")
    with store.write():
        customer_id = resolve(store, ref)
        entry_id = record(
            store, customer_id, "contact", text.strip(), author=author,
            direction=direction, channel=_clean(channel),
        )  # fmt: skip
        if direction == "outbound":
            from ocx import replies  # above this module: it keeps promises

            replies.keep(store, [customer_id], how=f"answered: contact {entry_id}", author=author)
        return entry_id


def merge(store: Store, keep_ref: str, other_ref: str, *, author: str | None) -> int:
    """Fold OTHER into KEEP (timeline, sources, tags, everything that points at OTHER),
    fill KEEP's empty fields from OTHER, then delete OTHER; all or nothing."""
    with store.write():
        keep, other = resolve(store, keep_ref), resolve(store, other_ref)
        if keep == other:
            raise OcxError(f"{keep_ref!r} and {other_ref!r} are the same customer")
        conn = store.conn
        kept, gone = sql.get_customer(conn, keep), sql.get_customer(conn, other)
        filled = {
            c: gone[c]
            for c in sql.PROFILE_COLUMNS
            if c != "email" and kept[c] is None and gone[c] is not None
        }
        sql.move_references(conn, keep, other)
        sql.delete_customer(conn, other)
        # Keep OTHER's address findable: `email:old@example.com` still names this customer.
        sql.add_source(conn, keep, "email", gone["email"], clock.to_iso(clock.now()))
        sql.update_customer(conn, keep, {**filled, "updated_at": clock.to_iso(clock.now())})
        record(
            store, keep, "merged", f"Merged customer {gone['email']} (#{other}) into this one",
            author=author, data={"merged_id": other, "merged_email": gone["email"],
                                 "filled": sorted(filled)},
        )  # fmt: skip
        sql.reindex(conn, keep)
    return keep


# --- for other domain modules: the store's customer rows through one door -------------------
# These run inside the caller's transaction (an import's batch, `ocx init --sample`).


def id_by_email(store: Store, email: str) -> int | None:
    """The customer with this (normalised) email, or the one it was merged into."""
    return sql.id_by_email(store.conn, email)


def ids_by_email(store: Store, emails: Iterable[str]) -> dict[str, int]:
    """id_by_email for many (normalised) emails at once: those that name a customer."""
    return sql.ids_by_email(store.conn, emails)


def add_entry(store: Store, customer_id: int, kind: str, text: str, *, at: str,
              author: str | None, direction: str | None = None, channel: str | None = None,
              data: dict[str, Any] | None = None, subject_type: str | None = None,
              subject_id: int | None = None) -> int:  # fmt: skip
    """A timeline entry as record() writes it, stamped `at`, without reindexing the
    customer (the caller reindexes its batch with reindex_many); the entry's id."""
    entry = {
        "customer_id": customer_id, "at": at, "kind": kind, "author": author, "text": text,
        "direction": direction, "channel": channel,
        "data": json.dumps(data, sort_keys=True) if data else None,
        "subject_type": subject_type, "subject_id": subject_id,
    }  # fmt: skip
    return sql.add_timeline(store.conn, entry)


def add_email(store: Store, customer_id: int, email: str) -> bool:
    """Let another address name this customer (their mail matches it, `ocx customer show`
    finds them by it), kept as a merged-away address is; False when it names them already.
    Refuses an address another customer has."""
    address = normalise_email(email)
    owner = sql.id_by_email(store.conn, address)
    if owner == customer_id:
        return False
    if owner is not None:
        raise OcxError(f"{address} is the address of customer {owner} already")
    sql.add_source(store.conn, customer_id, "email", address, clock.to_iso(clock.now()))
    return True


def tags_for(store: Store, customer_ids: list[int]) -> dict[int, list[str]]:
    """Many customers' tags in one query, by id."""
    return sql.tags_for(store.conn, customer_ids)


def profile_row(store: Store, customer_id: int) -> Any:
    """A customer's stored row (columns by name), or None."""
    return sql.get_customer(store.conn, customer_id)


def insert_profile(store: Store, fields: dict[str, Any], tags: list[str], at: str) -> int:
    """A new customer from already-normalised fields (an import's), tagged at `at`; no
    timeline entry and no reindex (an import reindexes its batch at once)."""
    customer_id = sql.insert_customer(store.conn, {**fields, "created_at": at, "updated_at": at})
    sql.add_tags(store.conn, customer_id, tags, at)
    return customer_id


def insert_profiles(store: Store, rows: list[dict[str, Any]], at: str) -> list[int]:
    """insert_profile for many customers (no tags: see tag_many); their ids, in order."""
    return sql.insert_customers(
        store.conn, [{**fields, "created_at": at, "updated_at": at} for fields in rows]
    )


def tag_many(store: Store, pairs: list[tuple[int, str]], at: str) -> None:
    """Give each (customer id, normalised tag) pair's customer the tag, tagged at `at`."""
    sql.add_tags_many(store.conn, pairs, at)


def profile_rows(store: Store, customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Many customers' stored profiles at once, by id, each as {column: value}."""
    return {
        cid: dict(zip(sql.PROFILE_ROW, row, strict=True))
        for cid, row in sql.profiles(store.conn, customer_ids).items()
    }


def update_profile(store: Store, customer_id: int, fields: dict[str, Any], at: str) -> None:
    """Set already-normalised fields, stamped `at`."""
    sql.update_customer(store.conn, customer_id, {**fields, "updated_at": at})


def add_tags(store: Store, customer_id: int, tags: list[str], at: str) -> list[str]:
    """Add normalised tags tagged at `at`; returns those that were new."""
    return sql.add_tags(store.conn, customer_id, tags, at)


def reindex_many(store: Store, customer_ids: set[int]) -> None:
    """Rebuild these customers' search rows (after an import's batch)."""
    sql.reindex_many(store.conn, customer_ids)


def search_marks(store: Store) -> tuple[int, int]:
    """Where an import batch begins, for append_search."""
    return sql.search_marks(store.conn)


def append_search(store: Store, customer_ids: set[int], marks: tuple[int, int]) -> None:
    """Add what an import batch added to these customers since `marks` to their search
    rows (customers it changed nothing else of)."""
    if customer_ids:
        sql.append_search(store.conn, customer_ids, marks)
