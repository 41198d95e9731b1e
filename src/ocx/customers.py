"""Customer profiles, their timeline and search: the domain layer, usable without the CLI."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ocx import clock
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import customers as sql

PACES = ("slow", "normal", "fast")
# Internationalised addresses (RFC 6531: garcía@example.com, 用户@例子.广告) are real
# customers' addresses; \w is Unicode-aware here.
_EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})"
)
_SOURCE_REF = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):(.+)")
_QUIET = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_TAG = re.compile(r"[^\s,]+")


# --- parsing and normalising what people type -------------------------------------------


def normalise_email(text: str) -> str:
    """Trimmed and lower-cased, so Margo@Example.com and margo@example.com are one person."""
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise OcxError(f"{text.strip()!r} is not a valid email address; use e.g. jim@example.com")
    return email


@dataclass(frozen=True)
class Ref:
    """How a customer is named on the command line: by id, email, or SOURCE:EXTERNAL_ID."""

    kind: str  # "id", "email", "source"
    value: str
    source: str | None = None


def parse_ref(text: str) -> Ref:
    """Read a REF: digits are an id, `source:id` an imported record, anything with @ an email."""
    raw = text.strip()
    if raw.isascii() and raw.isdigit():
        return Ref("id", raw.lstrip("0") or "0")  # not int(): 5,000 digits would raise
    match = _SOURCE_REF.fullmatch(raw)
    if match and "@" not in match.group(1) and match.group(2).strip():
        return Ref("source", match.group(2).strip(), match.group(1).lower())
    if "@" in raw:
        return Ref("email", raw.lower())
    raise NotFound(f"no customer matches {text!r}")


def parse_quiet_hours(text: str) -> str:
    """'22:00-07:00' (may wrap midnight) -> the canonical 'HH:MM-HH:MM'."""
    match = _QUIET.fullmatch(text.strip())
    if match:
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sh < 24 and eh < 24 and sm < 60 and em < 60 and (sh, sm) != (eh, em):
            return f"{sh:02d}:{sm:02d}-{eh:02d}:{em:02d}"
    raise OcxError(
        f"quiet hours {text!r} are not valid; use HH:MM-HH:MM with different start and end, "
        "e.g. 22:00-07:00"
    )


def normalise_tag(text: str) -> str:
    tag = text.strip().lower()
    if not _TAG.fullmatch(tag):
        raise OcxError(f"tag {text!r} is not valid; use one word without spaces or commas")
    return tag


def _clean(value: str | None) -> str | None:
    """Empty text clears a field; everything else is trimmed."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def validate_profile(fields: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise profile fields given as text; '' means clear the field."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key not in sql.PROFILE_COLUMNS:
            raise OcxError(f"unknown customer field {key!r}")
        if key == "email":
            out[key] = normalise_email(value)
        elif key == "time_zone":
            out[key] = clock.check_zone(value.strip()) if value.strip() else None
        elif key == "quiet_hours":
            out[key] = parse_quiet_hours(value) if value.strip() else None
        elif key == "pace":
            pace = value.strip().lower()
            if pace and pace not in PACES:
                raise OcxError(f"pace {value!r} is not one of {', '.join(PACES)}")
            out[key] = pace or None
        else:
            out[key] = value.strip() if key == "context" and value.strip() else _clean(value)
    return out


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


class AmbiguousRef(OcxError):
    """A name that matches several customers; the message lists them."""


_CANDIDATES_SHOWN = 10


def resolve(store: Store, ref: str) -> int:
    """The id of the customer a REF names, or NotFound (AmbiguousRef for a name that
    several customers answer to). Ids, emails and SOURCE:ID come first; anything else is
    read as a name."""
    try:
        parsed = parse_ref(ref)
    except NotFound:
        return _resolve_name(store, ref)
    conn = store.conn
    if parsed.kind == "id":
        # An id past SQLite's 64-bit range names nobody (and would overflow the query).
        in_range = len(parsed.value) <= 19 and int(parsed.value) < 2**63
        found = sql.get_customer(conn, int(parsed.value)) if in_range else None
        customer_id = None if found is None else int(found["id"])
    elif parsed.kind == "email":
        customer_id = sql.id_by_email(conn, parsed.value)
    else:
        customer_id = sql.id_by_source(conn, parsed.source or "", parsed.value)
        if customer_id is None and parsed.value != parsed.value.lower():
            # ids made from emails (csv) are stored lower-cased; let people type them as seen
            customer_id = sql.id_by_source(conn, parsed.source or "", parsed.value.lower())
    if customer_id is None:
        raise NotFound(f"no customer matches {ref!r}")
    return customer_id


def _resolve_name(store: Store, ref: str) -> int:
    """The one customer whose whole name is ref, else the one with a name holding ref's
    words in order, the last one as a beginning (`margo`, `lane`, `marg`, `Margo L`), in
    any letter case and with or without accents; both through indexes."""
    words = ref.replace("\x00", " ").split()  # FTS5 reads a query as a C string
    key = sql.sort_key(" ".join(words))
    if not key or not any(ch.isalnum() for ch in key):  # no word a name could hold
        raise NotFound(f"no customer matches {ref!r}")
    conn = store.conn
    count, whole = sql.customers_named(conn, key, _CANDIDATES_SHOWN)
    if count == 1:
        return int(whole[0]["id"])
    if count:  # namesakes: the words would only add more
        raise _ambiguous(ref, count, whole)
    name_query = 'name : "' + " ".join(words).replace('"', '""') + '"*'
    ids = sql.ids_by_name_query(conn, name_query, 2)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        query = shlex.quote(ref.strip())
        raise NotFound(
            f"no customer matches {ref!r}; to look wider than names, try: "
            f"ocx customer search {'-- ' if query.startswith('-') else ''}{query}"
        )
    count, rows = sql.name_query_candidates(conn, name_query, _CANDIDATES_SHOWN)
    raise _ambiguous(ref, count, rows)


def _ambiguous(ref: str, count: int, rows: list[Any]) -> AmbiguousRef:
    """One line: how many match, the first few as `Name <email>`, and what to do."""
    shown = ", ".join(f"{row['name']} <{row['email']}>" for row in rows)
    more = f" ({count - _CANDIDATES_SHOWN:,} more not shown)" if count > _CANDIDATES_SHOWN else ""
    return AmbiguousRef(
        f"{ref!r} matches {count:,} customers: {shown}{more}; name one by email or id"
    )


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
        return record(
            store, resolve(store, ref), "contact", text.strip(), author=author,
            direction=direction, channel=_clean(channel),
        )  # fmt: skip


def fts_terms(text: str) -> list[str]:
    """What a person typed as safe FTS5 terms, one per word: `word*` is a prefix;
    punctuation (an email's @ and dots) cannot break the query syntax."""
    terms = []
    for word in text.replace("\x00", " ").split():  # FTS5 reads a query as a C string
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    if not terms:
        raise OcxError("the search query is empty; give words to look for, e.g. 'marg*'")
    return terms


def fts_query(text: str) -> str:
    """Turn what a person typed into a safe FTS5 query: every word must match."""
    return " ".join(fts_terms(text))


@dataclass(frozen=True)
class Match:
    """Where a search hit matched: the field (one of MATCH_FIELDS) and a few words of its
    text around the match, as runs of (text, matched)."""

    field: str
    parts: tuple[tuple[str, bool], ...]

    @property
    def snippet(self) -> str:
        """The snippet with each match in brackets: `…her [cat] is at the vet`."""
        return "".join(f"[{text}]" if marked else text for text, marked in self.parts)

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "snippet": self.snippet}


MATCH_FIELDS = sql.MATCH_FIELDS
_MARKS = ("\x02", "\x03")  # around each match in a snippet; not in text people type
_SNIPPET_TOKENS = 10  # words of context: a short line, also in a table


@dataclass
class Hit:
    """A customer search found, and where the query matched them (None in the rare case
    no single text holds a whole term, e.g. an email-like term across two notes)."""

    customer: Customer
    match: Match | None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.customer.to_json(full=False),
            "match": None if self.match is None else self.match.to_json(),
        }


def search(store: Store, query: str, *, limit: int = 50) -> list[Hit]:
    """Customers matching every word of the query, best first, each with where it matched."""
    terms = fts_terms(query)
    with store.read():
        rows = sql.search(store.conn, " ".join(terms), limit)
        ids = [row["id"] for row in rows]
        tags = sql.tags_for(store.conn, ids)
        found = _matches(store, terms, ids)
    return [Hit(Customer.from_row(row, tags[row["id"]]), found.get(row["id"])) for row in rows]


def _matches(store: Store, terms: list[str], ids: list[int]) -> dict[int, Match]:
    """Each hit's best-matching text: the one holding the most query terms, then the first
    in MATCH_FIELDS' order (a name before a note); its snippet marks every term."""
    conn = store.conn
    terms = list(dict.fromkeys(terms))
    any_term = " OR ".join(terms)
    # customer id -> (-terms held, field's rank, rowid, field, snippet): min() is the best
    best: dict[int, tuple[int, int, int, str, str]] = {}
    try:
        pending = ids
        for stage in sql.MATCH_STAGES:
            if not pending:
                break
            sql.collect_match_texts(conn, stage, pending)
            held: dict[int, int] = {}  # rowid -> how many terms it holds; one term: all 1
            for term in terms if len(terms) > 1 else ():
                for row in sql.texts_matching(conn, term):
                    held[row["rowid"]] = held.get(row["rowid"], 0) + 1
            for row in sql.texts_matching(conn, any_term, _MARKS, _SNIPPET_TOKENS):
                key = (-held.get(row["rowid"], 1), MATCH_FIELDS.index(row["field"]),
                       row["rowid"], row["field"], row["snippet"])  # fmt: skip
                best[row["customer_id"]] = min(best.get(row["customer_id"], key), key)
            pending = [cid for cid in pending if best.get(cid, (0,))[0] > -len(terms)]
    finally:
        sql.clear_match_texts(conn)
    return {cid: Match(found[3], _snippet_parts(found[4])) for cid, found in best.items()}


def _snippet_parts(text: str) -> tuple[tuple[str, bool], ...]:
    """Runs of (text, matched) from a marked snippet, all whitespace (a note's line breaks,
    a tab) made one space so that a snippet stays on one line and in one column."""
    parts: list[tuple[str, bool]] = []
    marked = False
    for chunk in re.split(f"([{''.join(_MARKS)}])", " ".join(text.split())):
        if chunk in _MARKS:
            marked = chunk == _MARKS[0]
        elif chunk:
            parts.append((chunk, marked))
    return tuple(parts)


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
