"""Naming a customer: a REF (id, email, SOURCE:EXTERNAL_ID or a name) to a customer id.

Re-exported by ocx.customers (`customers.resolve`, `customers.parse_ref`...)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import customers as sql

_SOURCE_REF = re.compile(r"([A-Za-z][A-Za-z0-9_.-]*):(.+)")


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
