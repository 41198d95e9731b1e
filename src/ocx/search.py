"""Customer search: full-text over profiles and what was said, and where each hit matched.

Above ocx.customers: a hit carries a customers.Customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocx.errors import OcxError
from ocx.store import Store
from ocx.store import customers as sql

if TYPE_CHECKING:
    from ocx.customers import Customer


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
    from ocx.customers import Customer  # here: ocx.customers re-exports this module

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


def search_ids(store: Store, query: str) -> list[int]:
    """Every customer matching what a person typed (no ranking, no limit: a group to select,
    e.g. `incident update --query`)."""
    return sql.search_ids(store.conn, fts_query(query))
