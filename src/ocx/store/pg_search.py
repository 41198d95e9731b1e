"""Full-text search on PostgreSQL as FTS5 does it on SQLite (loaded with ocx.store.pg).

The store writes FTS5 queries (`"margo" "lane"*`, `"a" OR "b"`, `name : "margo l"*`); on
PostgreSQL each becomes a tsquery with the same meaning over customer_search.doc, whose
words the schema's ocx_fold made (pg_schema): accents off, lower case, split at whatever is
not a letter or digit. A query's words are folded by the same SQL function, so a query and
a document always fold alike. `snippet` is FTS5's snippet() for a text PostgreSQL matched:
the same window of words and the same marks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The weight of each column's words in the document (pg_schema's ocx_search_doc).
COLUMN_WEIGHTS = {"name": "A", "email": "B", "company": "C", "tags": "C",
                  "context": "D", "notes": "D"}  # fmt: skip
# ts_rank's weights for D, C, B, A: bm25's 10/10/5/3/2/1 with company and tags, context
# and notes sharing a weight.
RANK_WEIGHTS = "{0.15, 0.4, 1.0, 1.0}"
# A query no document matches (FTS5 matches nothing for a query of empty phrases): the gap
# word ocx_search_doc removes again.
NOTHING = "'-'"

_ITEM = re.compile(
    r'\s*(?:(?P<column>\w+)\s*:\s*)?"(?P<text>(?:[^"]|"")*)"(?P<prefix>\*?)'
    r"|\s*(?P<op>OR|AND)(?=[\s\"]|$)"
)


@dataclass(frozen=True)
class Phrase:
    """One quoted FTS5 phrase: its text as given, a prefix on its last word, a column."""

    text: str
    prefix: bool = False
    column: str | None = None


def parse(query: str) -> list[list[Phrase]]:
    """An FTS5 query as ocx writes it (quoted phrases, maybe `column :` before one, `*`
    after one, joined by spaces or AND, and OR) as groups ORed, each group's phrases ANDed."""
    groups: list[list[Phrase]] = [[]]
    at = 0
    while query[at:].strip():
        found = _ITEM.match(query, at)
        if found is None:
            raise ValueError(f"not a full-text query ocx writes: {query!r}")
        at = found.end()
        if found["op"] == "OR":
            groups.append([])
        elif found["op"] is None:
            column = found["column"]
            if column is not None and column not in COLUMN_WEIGHTS:
                raise ValueError(f"no column {column!r} in the search index: {query!r}")
            groups[-1].append(
                Phrase(found["text"].replace('""', '"'), bool(found["prefix"]), column)
            )
    return groups


# --- folding, as the documents are folded --------------------------------------------------


def fold(conn: Any, texts: Sequence[str]) -> dict[str, list[str]]:
    """Each text's words as ocx_fold (the documents' folding) makes them; one query for all
    the texts not folded before on this connection."""
    known: dict[str, list[str]] = conn.__dict__.setdefault("_ocx_folds", {})
    wanted = [t for t in dict.fromkeys(texts) if t not in known]
    if wanted:
        if len(known) > 10_000:
            known.clear()
        rows = conn.execute(
            "SELECT ocx_fold(t) FROM unnest(CAST(? AS text[])) WITH ORDINALITY AS u (t, n)"
            " ORDER BY n",
            (wanted,),
        ).fetchall()
        for text, row in zip(wanted, rows, strict=True):
            known[text] = (row[0] or "").split()
    return {t: known[t] for t in texts}


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase(words: list[str], prefix: bool, weight: str) -> str:
    """One phrase as tsquery text: its words in a row (<->), the last a prefix with `*`,
    each restricted to the weight's columns when there is one."""
    last = len(words) - 1
    return " <-> ".join(
        _lexeme(word) + (":" + ("*" if prefix and n == last else "") + weight
                         if weight or (prefix and n == last) else "")
        for n, word in enumerate(words)
    )  # fmt: skip


def to_tsquery(groups: list[list[Phrase]], words: dict[str, list[str]]) -> str:
    """The tsquery text for parsed groups, given each phrase's folded words: a phrase's
    words follow each other (<->), the last a prefix with `*`; a column keeps its weight; a
    phrase without words is left out (as FTS5 leaves out an empty phrase)."""
    ors = []
    for group in groups:
        ands = [
            _phrase(words[phrase.text], phrase.prefix,
                    COLUMN_WEIGHTS[phrase.column] if phrase.column else "")
            for phrase in group if words[phrase.text]
        ]  # fmt: skip
        if ands:
            ors.append(" & ".join(f"({part})" for part in ands) if len(ands) > 1 else ands[0])
    if not ors:
        return NOTHING
    return " | ".join(f"({part})" for part in ors) if len(ors) > 1 else ors[0]


def text_query(conn: Any, query: str) -> str:
    """The tsquery (as text) meaning what an FTS5 query of the store means."""
    groups = parse(query)
    words = fold(conn, [phrase.text for group in groups for phrase in group])
    return to_tsquery(groups, words)


# Points for a phrase by the best column it is found in: the name or the email, the
# company or tags, context or notes (bm25's 10, 5 and 3, 2 and 1). Whole points, so that
# ts_rank's tie-break below 1 never outweighs a better column.
_LEVELS = (("AB", 20), ("C", 8), ("", 3))


def rank(conn: Any, query: str, doc: str) -> tuple[str, list[str]]:
    """An SQL expression (and its parameters) ranking a document against an FTS5 query,
    lower for a better match, as bm25 ranks on SQLite: each phrase counts by the best
    column it is in (a word in the name beats the same word many times in messages),
    then ts_rank, relative to the document's length, between equals."""
    groups = parse(query)
    words = fold(conn, [phrase.text for group in groups for phrase in group])
    parts, params = [], []
    for phrase in dict.fromkeys(phrase for group in groups for phrase in group):
        found = words[phrase.text]
        if not found:
            continue
        levels = [(COLUMN_WEIGHTS[phrase.column], 20)] if phrase.column else _LEVELS
        cases = []
        for weight, points in levels:
            cases.append(f"WHEN {doc} @@ CAST(? AS tsquery) THEN {points}")
            params.append(_phrase(found, phrase.prefix, weight))
        parts.append(f"CASE {' '.join(cases)} ELSE 0 END")
    params.append(to_tsquery(groups, words))
    # 1|32: divided by 1 + the log of the document's length, then scaled into [0, 1)
    tie = f"ts_rank('{RANK_WEIGHTS}', {doc}, CAST(? AS tsquery), 33)"
    return f"-({' + '.join([*parts, tie])})", params


# --- FTS5's snippet() ----------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of text: a run of letters and digits, with the accents
    that go with them (a decomposed ë is one word, as unicode61 reads it)."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(text):
        inside = ch.isalnum() or (start is not None and unicodedata.category(ch)[0] == "M")
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _instances(phrases: list[list[str]], prefixes: list[bool], words: list[str]
               ) -> list[tuple[int, int]]:  # fmt: skip
    """(position, phrase) of every place a phrase matches the words, by position."""
    found = []
    for p, (phrase, prefix) in enumerate(zip(phrases, prefixes, strict=True)):
        if not phrase:
            continue
        last = len(phrase) - 1
        for i in range(len(words) - last):
            if all(words[i + k] == w or (prefix and k == last and words[i + k].startswith(w))
                   for k, w in enumerate(phrase)):  # fmt: skip
                found.append((i, p))
    return sorted(found)


def _sentence_starts(text: str, starts: list[int]) -> list[int]:
    """Positions of the words that begin a sentence: the first, and each after `.` or `:`
    and white space (FTS5's rule)."""
    firsts = []
    for position, offset in enumerate(starts):
        if position == 0:
            firsts.append(0)
            continue
        i = offset - 1
        while i >= 0 and text[i] in " \t\n\r":
            i -= 1
        if i != offset - 1 and i >= 0 and text[i] in ".:":
            firsts.append(position)
    return firsts


def snippet(
    conn: Any, text: str, query: str, marks: tuple[str, str], ellipsis: str, size: int
) -> str:
    """FTS5's snippet(index, column, open, close, ellipsis, size) of one text the query
    matched: the `size` words holding most of the query's phrases, each match marked."""
    phrases_given = [phrase for group in parse(query) for phrase in group]
    spans = _tokens(text)
    folded = fold(conn, [text[a:b] for a, b in spans] + [p.text for p in phrases_given])
    # one position per folded word; a word that folds to two (½: 1 2) spans both
    words: list[str] = []
    places: list[tuple[int, int]] = []
    for a, b in spans:
        for word in folded[text[a:b]]:
            words.append(word)
            places.append((a, b))
    phrases = [folded[p.text] for p in phrases_given]
    lengths = [len(p) for p in phrases]
    instances = _instances(phrases, [p.prefix for p in phrases_given], words)
    count = len(words)

    def score(start: int) -> tuple[int, int, int]:
        seen: set[int] = set()
        total, first, last = 0, -1, 0
        for position, p in instances:
            if start <= position < start + size:
                total += 1 if p in seen else 1000
                seen.add(p)
                if first < 0:
                    first = position
                last = position + lengths[p]
        return total, first, last

    firsts = _sentence_starts(text, [a for a, _ in places])
    best_score, best_start = 0, 0
    for position, _ in instances:
        total, first, last = score(position)
        adjusted = max(min(first - (size - (last - first)) // 2, count - size), 0)
        if total > best_score:
            best_score, best_start = total, adjusted
        if firsts and count > size:
            j = 0
            while j < len(firsts) - 1 and firsts[j + 1] <= position:
                j += 1
            if firsts[j] < position:
                total = score(firsts[j])[0] + (120 if firsts[j] == 0 else 100)
                if total > best_score:
                    best_score, best_start = total, firsts[j]
    return _highlight(text, places, instances, lengths, marks, ellipsis, best_start, size)


def _highlight(
    text: str, places: list[tuple[int, int]], instances: list[tuple[int, int]],
    lengths: list[int], marks: tuple[str, str], ellipsis: str, start: int, size: int,
) -> str:  # fmt: skip
    """The words start .. start+size-1 of text, runs of matched words between the marks."""
    # coalesced matches: (first, last) positions of overlapping phrase matches
    runs: list[list[int]] = []
    for position, p in instances:
        end = position + lengths[p] - 1
        if runs and position <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([position, end])
    runs = [run for run in runs if run[0] >= start]
    stop = start + size - 1
    out: list[str] = [ellipsis] if start > 0 else []
    copied = 0
    is_open = False
    run = 0
    for position, (a, b) in enumerate(places):
        if position < start or position > stop:
            continue
        if start and position == start:
            copied = a
        current = runs[run] if run < len(runs) else None
        if is_open and (current is None or position <= current[0]) and a > copied:
            out.append(marks[1])
            is_open = False
        if current is not None and position == current[0] and not is_open:
            out += [text[copied:a], marks[0]]
            copied, is_open = a, True
        if current is not None and position == current[1]:
            if not is_open:
                out.append(marks[0])
                is_open = True
            out.append(text[copied:b])
            copied = b
            run += 1
        if position == stop:
            current = runs[run] if run < len(runs) else None
            if is_open:
                if current is not None and position >= current[0]:
                    out.append(text[copied:b])
                    copied = b
                out.append(marks[1])
                is_open = False
            out.append(text[copied:b])
            copied = b
    if is_open:
        out.append(marks[1])
    if stop >= len(places) - 1:
        out.append(text[copied:])
    else:
        out.append(ellipsis)
    return "".join(out)
