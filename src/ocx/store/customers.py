"""SQL for customers, their tags, sources, timeline and full-text index."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from ocx.fields import COLUMNS as PROFILE_COLUMNS
from ocx.store import engine_of, insert_row, insert_rows, update_row

# Timeline kinds whose text is what a person said or wrote down: searched with the profile.
SEARCHABLE_KINDS = ("note", "contact")
_TIMELINE_COLUMNS = (
    "customer_id", "at", "kind", "author", "text", "direction", "channel",
    "subject_type", "subject_id", "data",
)  # fmt: skip


def sort_key(name: str | None) -> str | None:
    """How a name sorts for people: accents and case folded, so Élodie sits with the Es and
    not after Zoë (SQLite's NOCASE folds ASCII only)."""
    if not name:
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _with_sort_name(fields: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    row = {c: fields[c] for c in columns if c in fields}
    if "name" in row:
        row["sort_name"] = sort_key(row["name"])
    return row


def insert_customer(conn: sqlite3.Connection, fields: dict[str, Any]) -> int:
    columns = (*PROFILE_COLUMNS, "created_at", "updated_at")
    return insert_row(conn, "customers", _with_sort_name(fields, columns))


def insert_customers(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """insert_customer for many rows at once (an import's); their ids, in order. A field a
    row does not have is NULL, as insert_customer leaves it."""
    columns = (*PROFILE_COLUMNS, "sort_name", "created_at", "updated_at")
    return insert_rows(conn, "customers", columns, (
        [fields.get(c) if c != "sort_name" else sort_key(fields.get("name")) for c in columns]
        for fields in rows
    ))  # fmt: skip


def update_customer(conn: sqlite3.Connection, customer_id: int, fields: dict[str, Any]) -> None:
    columns = (*PROFILE_COLUMNS, "updated_at")
    update_row(conn, "customers", ("id", customer_id), _with_sort_name(fields, columns))


def get_customer(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()


def id_by_email(conn: sqlite3.Connection, email: str) -> int | None:
    """The customer with this email, or the one it was merged into (kept as source 'email')."""
    row = conn.execute("SELECT id FROM customers WHERE email = ?", (email,)).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT customer_id FROM customer_sources WHERE source = 'email' AND external_id = ?",
            (email,),
        ).fetchone()
    return None if row is None else int(row[0])


def ids_by_email(conn: sqlite3.Connection, emails: Iterable[str]) -> dict[str, int]:
    """id_by_email for many emails, a query or two per 500 (one round trip each on
    PostgreSQL, not two per address): the emails that name a customer, with their ids."""
    found: dict[str, int] = {}
    wanted = list(dict.fromkeys(emails))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for email, customer_id in conn.execute(
            f"SELECT email, id FROM customers WHERE email IN ({marks})", chunk
        ):
            found[email] = int(customer_id)
        rest = [email for email in chunk if email not in found]
        if rest:
            marks = ", ".join("?" * len(rest))
            for email, customer_id in conn.execute(
                "SELECT external_id, customer_id FROM customer_sources "
                f"WHERE source = 'email' AND external_id IN ({marks})",
                rest,
            ):
                found[email] = int(customer_id)
    return found


def id_by_source(conn: sqlite3.Connection, source: str, external_id: str) -> int | None:
    row = conn.execute(
        "SELECT customer_id FROM customer_sources WHERE source = ? AND external_id = ?",
        (source, external_id),
    ).fetchone()
    return None if row is None else int(row[0])


def tags_of(conn: sqlite3.Connection, customer_id: int) -> list[str]:
    rows = conn.execute(
        "SELECT tag FROM tags WHERE customer_id = ? ORDER BY tag", (customer_id,)
    ).fetchall()
    return [row[0] for row in rows]


def add_tags(conn: sqlite3.Connection, customer_id: int, tags: Iterable[str], at: str) -> list[str]:
    """Add tags (when matters: a tag's cadence starts for a customer when they get the tag);
    returns those that were new."""
    added = []
    for tag in tags:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO tags (customer_id, tag, tagged_at) VALUES (?, ?, ?)",
            (customer_id, tag, at),
        )
        if cursor.rowcount:
            added.append(tag)
    return added


def add_tags_many(conn: sqlite3.Connection, rows: Sequence[tuple[int, str]], at: str) -> None:
    """Add (customer id, tag) pairs in one statement; a tag a customer has stays as it was."""
    conn.executemany(
        "INSERT OR IGNORE INTO tags (customer_id, tag, tagged_at) VALUES (?, ?, ?)",
        [(customer_id, tag, at) for customer_id, tag in rows],
    )


def remove_tags(conn: sqlite3.Connection, customer_id: int, tags: Iterable[str]) -> list[str]:
    """Remove tags; returns those that were there."""
    removed = []
    for tag in tags:
        cursor = conn.execute(
            "DELETE FROM tags WHERE customer_id = ? AND tag = ?", (customer_id, tag)
        )
        if cursor.rowcount:
            removed.append(tag)
    return removed


def sources_of(conn: sqlite3.Connection, customer_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT source, external_id, created_at FROM customer_sources "
        "WHERE customer_id = ? ORDER BY source, external_id",
        (customer_id,),
    ).fetchall()


def add_source(
    conn: sqlite3.Connection, customer_id: int, source: str, external_id: str, at: str
) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO customer_sources (customer_id, source, external_id, created_at) "
        "VALUES (?, ?, ?, ?)",
        (customer_id, source, external_id, at),
    )


def list_customers(
    conn: sqlite3.Connection, tag: str | None, company: str | None, limit: int | None
) -> list[sqlite3.Row]:
    where, params = [], []
    if tag is not None:
        where.append("id IN (SELECT customer_id FROM tags WHERE tag = ?)")
        params.append(tag)
    if company is not None:
        where.append("company = ? COLLATE NOCASE")
        params.append(company)
    sql = "SELECT * FROM customers"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY sort_name IS NULL, sort_name, email"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params).fetchall()


def tags_for(conn: sqlite3.Connection, customer_ids: Sequence[int]) -> dict[int, list[str]]:
    """Tags of many customers in one query (listings, an update to 100,000 customers)."""
    out: dict[int, list[str]] = {cid: [] for cid in customer_ids}
    rows = conn.execute(
        "SELECT t.customer_id, t.tag FROM json_each(?) j JOIN tags t ON t.customer_id = j.value"
        " ORDER BY t.customer_id, t.tag",
        (json.dumps(list(out)),),
    )
    for cid, tag in rows:
        out[cid].append(tag)
    return out


# A profile as a tuple, in this order: what customers.Customer is made from in bulk.
PROFILE_ROW = ("id", *PROFILE_COLUMNS, "created_at", "updated_at")


def profiles(conn: sqlite3.Connection, customer_ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """Many customers' profiles at once, by id, as PROFILE_ROW tuples: an update renders one
    per case, and a query per customer took most of a second per 100,000."""
    rows = conn.execute(
        f"SELECT {', '.join('c.' + name for name in PROFILE_ROW)} "
        "FROM json_each(?) j JOIN customers c ON c.id = j.value",
        (json.dumps(list(dict.fromkeys(customer_ids))),),
    )
    return {row[0]: tuple(row) for row in rows}


def add_timeline(conn: sqlite3.Connection, entry: dict[str, Any]) -> int:
    columns = [c for c in _TIMELINE_COLUMNS if entry.get(c) is not None]
    cursor = conn.execute(
        f"INSERT INTO timeline ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [entry[c] for c in columns],
    )
    return int(cursor.lastrowid or 0)


def add_timeline_many(conn: sqlite3.Connection, entries: Sequence[dict[str, Any]]) -> None:
    """add_timeline for many entries in one statement (an incident update writes one per
    customer); a missing field is NULL, a missing text empty, as add_timeline leaves them."""
    conn.executemany(
        f"INSERT INTO timeline ({', '.join(_TIMELINE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_TIMELINE_COLUMNS))})",
        ([entry.get(c) if c != "text" else entry.get(c) or "" for c in _TIMELINE_COLUMNS]
         for entry in entries),
    )  # fmt: skip


# Imported conversations and messages live in their own tables (one copy of the truth);
# the timeline shows them beside its own rows.
_TIMELINE_SQL = """
SELECT id, customer_id, at, kind, author, text, direction, channel, subject_type, subject_id,
       data, 0 AS ord
  FROM timeline WHERE customer_id = :customer {since_t}
UNION ALL
SELECT NULL, customer_id, coalesce(created_at, imported_at), 'conversation', NULL,
       coalesce(subject, ''), NULL, source, 'conversation', id,
       json_patch(json_object('source', source, 'external_id', external_id, 'status', status),
                  coalesce(data, '{{}}')), 1
  FROM conversations WHERE customer_id = :customer {since_c}
UNION ALL
SELECT NULL, c.customer_id, coalesce(m.created_at, c.created_at, c.imported_at), 'message',
       m.author, m.body, m.direction, m.source, 'message', m.id,
       CAST(json_object('source', m.source, 'external_id', m.external_id,
                   'conversation_id', m.conversation_id, 'public', json(iif(m.public, 'true', 'false')),
                   'preview', json(iif(m.preview, 'true', 'false'))) AS TEXT),
       0
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
 WHERE c.customer_id = :customer {since_m}
ORDER BY at DESC, ord, id DESC, subject_id DESC
"""


def timeline(
    conn: sqlite3.Connection, customer_id: int, limit: int | None, since: str | None
) -> list[sqlite3.Row]:
    params: dict[str, Any] = {"customer": customer_id, "since": since, "limit": limit}
    sql = _TIMELINE_SQL.format(
        since_t="AND at >= :since" if since else "",
        since_c="AND coalesce(created_at, imported_at) >= :since" if since else "",
        since_m="AND coalesce(m.created_at, c.created_at, c.imported_at) >= :since"
        if since
        else "",
    )
    if limit is not None:
        sql += " LIMIT :limit"
    return conn.execute(sql, params).fetchall()


# The string values anywhere in conversations' details (a ticket's priority, tags, custom
# fields), run together: an aggregate over `conversations v`, what to join it with, and a
# condition on what is joined.
_ATOMS = {
    "sqlite": ("group_concat(j.atom, ' ')", ", json_tree(v.data) j",
               " AND j.atom IS NOT NULL AND j.type = 'text'"),
    "postgresql": ("string_agg(j #>> '{}', ' ')",
                   ", jsonb_path_query(CAST(v.data AS jsonb), 'strict $.**') j",
                   " AND jsonb_typeof(j) = 'string'"),
}  # fmt: skip

_REINDEX_SQL = """
INSERT INTO customer_search (rowid, name, email, company, tags, context, notes)
SELECT c.id, c.name, c.email, c.company,
       (SELECT group_concat(tag, ' ') FROM tags WHERE customer_id = c.id),
       c.context,
       coalesce((SELECT group_concat(text, ' ') FROM timeline
                  WHERE customer_id = c.id AND kind IN ({kinds})), '')
       || ' ' || coalesce((SELECT group_concat(subject, ' ') FROM conversations
                  WHERE customer_id = c.id), '')
       || ' ' || coalesce((SELECT {atoms} FROM conversations v{atoms_from}
                  WHERE v.customer_id = c.id AND v.data IS NOT NULL{atoms_where}), '')
       || ' ' || coalesce((SELECT group_concat(m.body, ' ') FROM messages m
                  JOIN conversations v ON v.id = m.conversation_id
                  WHERE v.customer_id = c.id), '')
  FROM customers c WHERE c.id {where}
"""

# What an import batch added (conversations and messages numbered above the marks taken
# when it began), by customer and in the parts a rebuild puts after the notes: read in one
# pass over the new rows.
_ADDED_SQL = """
INSERT INTO search_added_parts (id, part, text)
SELECT +customer_id, 1, group_concat(subject, ' ') FROM conversations
 WHERE id > :conversation GROUP BY +customer_id
UNION ALL
SELECT +v.customer_id, 2, {atoms} FROM conversations v{atoms_from}
 WHERE v.id > :conversation AND v.data IS NOT NULL{atoms_where} GROUP BY +v.customer_id
UNION ALL
SELECT +v.customer_id, 3, group_concat(m.body, ' ') FROM messages m
  JOIN conversations v ON v.id = m.conversation_id
 WHERE m.id > :message GROUP BY +v.customer_id
"""
# (`+customer_id`: grouped after the new rows are found by id. Grouped by the column itself,
# SQLite walked the whole of conversations in customer order, every batch, to group
# without sorting.)
# The three parts run together, one text per customer.
_JOINED_SQL = """
INSERT INTO search_added (id, text)
SELECT id, ' ' || coalesce(max(CASE WHEN part = 1 THEN text END), '')
           || ' ' || coalesce(max(CASE WHEN part = 2 THEN text END), '')
           || ' ' || coalesce(max(CASE WHEN part = 3 THEN text END), '')
  FROM search_added_parts GROUP BY id
"""
# Appended to the search rows of customers an import batch only added conversations and
# messages to, instead of all they ever said read again.
_APPEND_SQL = """
UPDATE customer_search
   SET notes = coalesce(notes, '')
       || coalesce((SELECT text FROM search_added WHERE id = customer_search.rowid), ''){doc}
 WHERE rowid IN (SELECT id FROM reindex_ids)
"""
# PostgreSQL: the document gets the appended words' own (the schema's trigger leaves a
# document the statement set itself), rather than the trigger folding all the text again.
# A long text is left for the trigger to fold whole: its words might not fit in a tsvector
# (see ocx_search_doc in pg_schema).
_APPEND_DOC = {
    "sqlite": "",
    "postgresql": """,
       doc = CASE
           WHEN octet_length(coalesce(notes, '')) + octet_length(coalesce((SELECT text
                FROM search_added WHERE id = customer_search.rowid), '')) < 250000
           THEN doc || setweight(to_tsvector('simple', ocx_fold(coalesce((SELECT text
                FROM search_added WHERE id = customer_search.rowid), ''))), 'D')
           ELSE doc END""",
}


def _atoms(conn: sqlite3.Connection) -> dict[str, str]:
    atoms, atoms_from, atoms_where = _ATOMS[engine_of(conn).name]
    return {"atoms": atoms, "atoms_from": atoms_from, "atoms_where": atoms_where}


def _reindex_sql(conn: sqlite3.Connection, where: str) -> str:
    kinds = ", ".join("?" * len(SEARCHABLE_KINDS))
    return _REINDEX_SQL.format(kinds=kinds, where=where, **_atoms(conn))


def reindex(conn: sqlite3.Connection, customer_id: int) -> None:
    """Rebuild one customer's search row from the profile, tags and what was said."""
    conn.execute("DELETE FROM customer_search WHERE rowid = ?", (customer_id,))
    conn.execute(_reindex_sql(conn, "= ?"), (*SEARCHABLE_KINDS, customer_id))


def _reindex_ids(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Fill the temporary table reindex_ids with these ids, in one statement (not one per
    customer: a round trip each on PostgreSQL)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS reindex_ids (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM reindex_ids")
    conn.execute(
        "INSERT OR IGNORE INTO reindex_ids SELECT value FROM json_each(?)",
        (json.dumps(list(customer_ids)),),
    )


def reindex_many(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Rebuild many customers' search rows in a few statements (after an import)."""
    _reindex_ids(conn, customer_ids)
    conn.execute("DELETE FROM customer_search WHERE rowid IN (SELECT id FROM reindex_ids)")
    conn.execute(_reindex_sql(conn, "IN (SELECT id FROM reindex_ids)"), SEARCHABLE_KINDS)
    conn.execute("DELETE FROM reindex_ids")


def search_marks(conn: sqlite3.Connection) -> tuple[int, int]:
    """The highest conversation and message ids so far: what an import batch adds after this
    (under the write lock, nobody else adds any) is numbered above them."""
    row = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM conversations),"
        " (SELECT coalesce(max(id), 0) FROM messages)"
    ).fetchone()
    return int(row[0]), int(row[1])


def append_search(
    conn: sqlite3.Connection, customer_ids: Iterable[int], marks: tuple[int, int]
) -> None:
    """Add to these customers' search rows the conversations and messages numbered above
    `marks` (search_marks when the batch began), for customers a batch changed nothing else
    of: their rows then hold the words a rebuild would give them, without reading again all
    they said before."""
    _reindex_ids(conn, customer_ids)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS search_added_parts"
        " (id INTEGER, part INTEGER, text TEXT, PRIMARY KEY (id, part))"
    )
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS search_added (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute(_ADDED_SQL.format(**_atoms(conn)), {"conversation": marks[0], "message": marks[1]})
    conn.execute(_JOINED_SQL)
    conn.execute(_APPEND_SQL.format(doc=_APPEND_DOC[engine_of(conn).name]))
    for table in ("search_added_parts", "search_added", "reindex_ids"):
        conn.execute(f"DELETE FROM {table}")


def search(conn: sqlite3.Connection, fts_query: str, limit: int) -> list[sqlite3.Row]:
    """Customers matching an FTS5 query, best first (name and email weigh most), the lower
    id first between equals; `rank` is lower for a better match."""
    engine = engine_of(conn)
    match = engine.text_match("customer_search")
    query = engine.text_query(conn, fts_query)
    if engine.name == "postgresql":
        from ocx.store.pg_search import rank as pg_rank

        rank, rank_params = pg_rank(conn, fts_query, "doc")
        params: tuple[Any, ...] = (*rank_params, query, limit)
    else:
        rank = "bm25(customer_search, 10.0, 10.0, 5.0, 3.0, 2.0, 1.0)"
        params = (query, limit)
    return conn.execute(
        "SELECT c.*, s.rank AS rank FROM ("
        f"  SELECT rowid, {rank} AS rank"
        f"  FROM customer_search WHERE {match} ORDER BY rank, rowid LIMIT ?"
        ") s JOIN customers c ON c.id = s.rowid ORDER BY s.rank, c.id",
        params,
    ).fetchall()


# --- why a search hit matched ---------------------------------------------------------------
# The index holds one row per customer (its `notes` column runs notes, contacts, subjects,
# ticket details and messages together), which is what keeps search fast; which text a hit
# matched is found afterwards, for the hits only: their texts, one row each under the field
# a person knows it by, go into a small temporary index with customer_search's tokenizer,
# where the same query terms match exactly as they did in the big one.
MATCH_FIELDS = (
    "name", "email", "company", "tags", "context", "note", "contact", "subject", "message",
)  # fmt: skip
# The profile first; what was said and written (notes, contacts, tickets, messages) only
# for hits the profile does not explain fully (most hits stop after the profile).
MATCH_STAGES = ("profile", "history")
_MATCH_TEXTS = {
    "profile": """
SELECT c.id, 'name', c.name FROM customers c JOIN json_each(:ids) h ON h.value = c.id
 WHERE c.name IS NOT NULL
UNION ALL
SELECT c.id, 'email', c.email FROM customers c JOIN json_each(:ids) h ON h.value = c.id
UNION ALL
SELECT c.id, 'company', c.company FROM customers c JOIN json_each(:ids) h ON h.value = c.id
 WHERE c.company IS NOT NULL
UNION ALL
SELECT h.value, 'tags', (SELECT group_concat(tag, ' ') FROM
                           (SELECT tag FROM tags WHERE customer_id = h.value ORDER BY tag))
  FROM json_each(:ids) h
UNION ALL
SELECT c.id, 'context', c.context FROM customers c JOIN json_each(:ids) h ON h.value = c.id
 WHERE c.context IS NOT NULL
""",
    # A ticket's details (priority, type, its tags, custom fields) describe the ticket, as
    # its subject line does: they count as `subject`.
    "history": """
SELECT t.customer_id, t.kind, t.text FROM timeline t JOIN json_each(:ids) h
    ON t.customer_id = h.value
 WHERE t.kind IN (SELECT value FROM json_each(:kinds))
UNION ALL
SELECT v.customer_id, 'subject', v.subject FROM conversations v JOIN json_each(:ids) h
    ON v.customer_id = h.value
 WHERE v.subject IS NOT NULL
UNION ALL
SELECT v.customer_id, 'subject', j.atom FROM conversations v JOIN json_each(:ids) h
    ON v.customer_id = h.value, json_tree(v.data) j
 WHERE v.data IS NOT NULL AND j.atom IS NOT NULL AND j.type = 'text'
UNION ALL
SELECT v.customer_id, 'message', m.body FROM conversations v JOIN json_each(:ids) h
    ON v.customer_id = h.value JOIN messages m ON m.conversation_id = v.id
""",
}


# The same texts on PostgreSQL (ids and kinds as JSON lists through ocx_each/_text, a
# conversation's details through jsonb_path_query).
_MATCH_TEXTS_PG = {
    "profile": """
SELECT c.id, 'name', c.name FROM customers c JOIN ocx_each(:ids) h ON h.value = c.id
 WHERE c.name IS NOT NULL
UNION ALL
SELECT c.id, 'email', c.email FROM customers c JOIN ocx_each(:ids) h ON h.value = c.id
UNION ALL
SELECT c.id, 'company', c.company FROM customers c JOIN ocx_each(:ids) h ON h.value = c.id
 WHERE c.company IS NOT NULL
UNION ALL
SELECT h.value, 'tags', (SELECT string_agg(tag, ' ' ORDER BY tag) FROM tags
                          WHERE customer_id = h.value)
  FROM ocx_each(:ids) h
UNION ALL
SELECT c.id, 'context', c.context FROM customers c JOIN ocx_each(:ids) h ON h.value = c.id
 WHERE c.context IS NOT NULL
""",
    "history": """
SELECT t.customer_id, t.kind, t.text FROM timeline t JOIN ocx_each(:ids) h
    ON t.customer_id = h.value
 WHERE t.kind IN (SELECT value FROM ocx_each_text(:kinds))
UNION ALL
SELECT v.customer_id, 'subject', v.subject FROM conversations v JOIN ocx_each(:ids) h
    ON v.customer_id = h.value
 WHERE v.subject IS NOT NULL
UNION ALL
SELECT v.customer_id, 'subject', j #>> '{}' FROM conversations v JOIN ocx_each(:ids) h
    ON v.customer_id = h.value, jsonb_path_query(CAST(v.data AS jsonb), 'strict $.**') j
 WHERE v.data IS NOT NULL AND jsonb_typeof(j) = 'string'
UNION ALL
SELECT v.customer_id, 'message', m.body FROM conversations v JOIN ocx_each(:ids) h
    ON v.customer_id = h.value JOIN messages m ON m.conversation_id = v.id
""",
}


def collect_match_texts(conn: sqlite3.Connection, stage: str, customer_ids: Sequence[int]) -> None:
    """Put one stage's texts of these customers into the temporary match index."""
    params = {"ids": json.dumps(list(customer_ids)), "kinds": json.dumps(SEARCHABLE_KINDS)}
    if engine_of(conn).name == "postgresql":
        # a temporary table of the texts with their words, folded as customer_search's are
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS search_match (rowid BIGINT GENERATED ALWAYS AS"
            " IDENTITY PRIMARY KEY, customer_id BIGINT, field TEXT, body TEXT, doc tsvector)"
        )
        conn.execute(
            "INSERT INTO pg_temp.search_match (customer_id, field, body, doc)"
            " SELECT customer_id, field, body, to_tsvector('simple', ocx_fold(body))"
            f" FROM ({_MATCH_TEXTS_PG[stage]}) AS t (customer_id, field, body)",
            params,
        )
        return
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_match USING fts5 ("
        " customer_id UNINDEXED, field UNINDEXED, body,"
        " tokenize = 'unicode61 remove_diacritics 2')"  # as customer_search's
    )
    conn.execute(
        f"INSERT INTO temp.search_match (customer_id, field, body) {_MATCH_TEXTS[stage]}",
        params,
    )


def texts_matching(
    conn: sqlite3.Connection, fts_query: str, marks: tuple[str, str] | None = None, tokens: int = 8
) -> list[sqlite3.Row]:
    """(rowid, customer_id, field, snippet) of each collected text an FTS5 query matches;
    with marks, the snippet is a few words around what matched, each match between the
    marks (else it is NULL)."""
    engine = engine_of(conn)
    if engine.name == "postgresql":
        from ocx.store.pg_search import snippet as make_snippet

        rows = conn.execute(
            "SELECT rowid, customer_id, field, body FROM pg_temp.search_match"
            " WHERE doc @@ CAST(? AS tsquery) ORDER BY rowid",
            (engine.text_query(conn, fts_query),),
        ).fetchall()
        return [{"rowid": row["rowid"], "customer_id": row["customer_id"], "field": row["field"],
                 "snippet": make_snippet(conn, row["body"], fts_query, marks, "…", tokens)
                 if marks else None} for row in rows]  # type: ignore[misc]  # fmt: skip
    snippet = "snippet(search_match, 2, ?, ?, '…', ?)" if marks else "NULL"
    return conn.execute(
        f"SELECT rowid, customer_id, field, {snippet} AS snippet FROM temp.search_match"
        " WHERE search_match MATCH ?",
        (*marks, tokens, fts_query) if marks else (fts_query,),
    ).fetchall()


def clear_match_texts(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS temp.search_match")


# --- naming a customer by name -------------------------------------------------------------


def customers_named(
    conn: sqlite3.Connection, key: str, limit: int
) -> tuple[int, list[sqlite3.Row]]:
    """How many customers' whole name folds (sort_key) to key, and the first few by email."""
    count = conn.execute("SELECT count(*) FROM customers WHERE sort_name = ?", (key,)).fetchone()
    rows = conn.execute(
        "SELECT id, name, email FROM customers WHERE sort_name = ? ORDER BY email LIMIT ?",
        (key, limit),
    ).fetchall()
    return int(count[0]), rows


def ids_by_name_query(conn: sqlite3.Connection, fts_query: str, limit: int) -> list[int]:
    """Customers whose name an FTS5 query (a `name : ...` filter) matches, in no order."""
    engine = engine_of(conn)
    rows = conn.execute(
        f"SELECT rowid FROM customer_search WHERE {engine.text_match('customer_search')} LIMIT ?",
        (engine.text_query(conn, fts_query), limit),
    )
    return [cid for (cid,) in rows]


def name_query_candidates(
    conn: sqlite3.Connection, fts_query: str, limit: int
) -> tuple[int, list[sqlite3.Row]]:
    """How many customers a `name : ...` query matches, and the first few by name."""
    engine = engine_of(conn)
    match = engine.text_match("customer_search")
    query = engine.text_query(conn, fts_query)
    found = conn.execute(f"SELECT count(*) FROM customer_search WHERE {match}", (query,))
    count = found.fetchone()[0]
    rows = conn.execute(
        "SELECT id, name, email FROM customers WHERE id IN"
        f" (SELECT rowid FROM customer_search WHERE {match})"
        " ORDER BY sort_name, email LIMIT ?",
        (query, limit),
    ).fetchall()
    return int(count), rows


def _referencing_columns(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (table, column) with a foreign key to customers: merge moves them all,
    so tables added by later migrations (promises, cases...) follow without edits here."""
    engine = engine_of(conn)
    return [(table, column) for table in engine.tables(conn)
            for target, column in engine.references(conn, table) if target == "customers"]  # fmt: skip


def move_references(conn: sqlite3.Connection, keep: int, other: int) -> None:
    """Point everything that belongs to `other` at `keep`; duplicates (a tag both have) drop."""
    engine = engine_of(conn)
    for table, column in _referencing_columns(conn):
        engine.update_or_ignore(conn, table, column, keep, other)


def delete_customer(conn: sqlite3.Connection, customer_id: int) -> None:
    conn.execute("DELETE FROM customer_search WHERE rowid = ?", (customer_id,))
    conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,))


def search_ids(conn: sqlite3.Connection, fts_query: str) -> list[int]:
    """Every customer matching an FTS5 query (no ranking, no limit: for selecting a group)."""
    engine = engine_of(conn)
    rows = conn.execute(
        f"SELECT rowid FROM customer_search WHERE {engine.text_match('customer_search')}"
        " ORDER BY rowid",
        (engine.text_query(conn, fts_query),),
    )
    return [cid for (cid,) in rows]
