"""Customer search on PostgreSQL finds what it finds on SQLite for the same data: words,
prefixes (`marg*`), any part of an email, accents folded (`zoe` finds Zoë), the best match
first, where each hit matched, names as REFs and in shell completion. Each test puts the
same customers into a SQLite file and a PostgreSQL database and asks both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx import completion, refs, search
from ocx.cli import cli
from ocx.errors import OcxError
from ocx.store import open_store
from ocx.store.complete import open_read_only
from ocx.testing import postgres

# Runs against the session's PostgreSQL server in the SQLite run too: not again on PostgreSQL.
pytestmark = pytest.mark.postgres_itself

ZENDESK_TICKETS = Path(__file__).resolve().parent / "fixtures" / "zendesk" / "tickets.json"
Ocx = Callable[..., Result]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards: on the session's own server
    (ocx.testing.postgres, started on first use); skipped only where PostgreSQL's server
    programs are missing."""
    try:
        server = postgres.server()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL to test against: {exc}")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


def runner(db: Path | str) -> Ocx:
    def invoke(*args: str) -> Result:
        result = CliRunner().invoke(cli, ["--db", str(db), *args])
        assert result.exit_code == 0, (db, args, result.output)
        return result

    return invoke


def fill(ocx: Ocx) -> None:
    """The sample customers, a few more, notes and contacts, and imported tickets."""
    ocx("init", "--sample")
    ocx("customer", "add", "noel@example.com", "--name", "Noël Brontë", "--company", "Ørsted")
    ocx("customer", "note", "noel@example.com", "Her cat Pepper is at the vet this week")
    ocx("customer", "add", "pepper@potts.example", "--name", "Pepper Potts")
    ocx("customer", "add", "cook@kitchen.example", "--name", "Sam Cook",
        "--context", "Buys pepper, pepper and more pepper")  # fmt: skip
    ocx("customer", "note", "cook@kitchen.example", "Pepper again: pepper pepper pepper")
    ocx("customer", "contact", "jim@example.com", "Called about the duplicate invoice",
        "--inbound", "--channel", "phone")  # fmt: skip
    ocx("customer", "note", "jim@example.com", "Same as the samples: Samsung phones, Samba "
        "shares, samosas for Samuel, a Samoa trip, samurai films, Samantha's salmon")  # fmt: skip
    ocx("customer", "add", "ivan@example.ru", "--name", "ИВАН Петров")
    ocx("customer", "add", "twin.one@example.com", "--name", "Robin Twin")
    ocx("customer", "add", "twin.two@example.com", "--name", "Robin Twin")
    ocx("import", "zendesk", str(ZENDESK_TICKETS))


@pytest.fixture
def both(tmp_path: Path, pg_url: str) -> dict[str, Path | str]:
    """The same data in a SQLite file and in a PostgreSQL database."""
    dbs: dict[str, Path | str] = {"sqlite": tmp_path / "ocx.db", "postgresql": pg_url}
    for db in dbs.values():
        fill(runner(db))
    return dbs


def hits(db: Path | str, query: str) -> list[dict[str, Any]]:
    store = open_store(db)
    try:
        return [{"email": hit.customer.email,
                 "match": None if hit.match is None else hit.match.to_json()}
                for hit in search.search(store, query)]  # fmt: skip
    finally:
        store.close()


def emails(db: Path | str, query: str) -> list[str]:
    return [hit["email"] for hit in hits(db, query)]


QUERIES = [
    "margo", "MARGO", "marg*", "lane", "margo lane", "example", "margo@example.com",
    "example.com", "margo@", "zoe", "Zoë", "ZOË ÅNGSTRÖM", "angstrom", "ångström", "angst*",
    "noel", "NOËL", "bronte", "brontë", "bront*", "noël b*",
    "ørsted", "иван", "петров", "hardware", "founding", "squeaky-wheel", "pepper", "invoice",
    "com", "a*", "s*", "the", "sync failed", "expired 401", "bank-feeds", "lane.margo",
    "margo@@@", "@@@", "nobody-here", "twin", "rob* twin", "sam*", "same sam*",
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_postgresql_finds_the_same_customers_as_sqlite(
    both: dict[str, Path | str], query: str
) -> None:
    on_sqlite = hits(both["sqlite"], query)
    on_postgres = hits(both["postgresql"], query)
    assert sorted(h["email"] for h in on_postgres) == sorted(h["email"] for h in on_sqlite)
    # and each hit matched in the same field with the same snippet
    by_email = {h["email"]: h["match"] for h in on_sqlite}
    assert {h["email"]: h["match"] for h in on_postgres} == by_email


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("marg*", ["margo@example.com"]),
        ("margo@example.com", ["margo@example.com"]),
        ("example", None),  # every customer whose email holds the word, no one else
        ("noel", ["noel@example.com"]),
        ("Noël", ["noel@example.com"]),
        ("BRONTE", ["noel@example.com"]),
        ("zoe", ["zoe.angstrom@nordlys.se"]),  # imported
        ("angstrom", ["zoe.angstrom@nordlys.se"]),
        ("ИВАН", ["ivan@example.ru"]),
        ("lane.margo", []),  # a phrase does not run from the name into the email
        ("@@@", []),
    ],
)
def test_words_prefixes_email_parts_and_accents(
    both: dict[str, Path | str], query: str, found: list[str] | None
) -> None:
    got = emails(both["postgresql"], query)
    if found is None:
        assert set(got) >= {"margo@example.com", "noel@example.com", "pepper@potts.example"}
        assert "priya.raman@ledgerleaf.in" not in got  # imported, at another domain
    else:
        assert got == found


def test_the_best_match_comes_first(both: dict[str, Path | str]) -> None:
    """A name outweighs a note and context saying the word many times; namesakes come in
    the order they were added, on both engines."""
    for db in both.values():
        found = emails(db, "pepper")
        assert found[0] == "pepper@potts.example", (db, found)
        assert set(found) == {"pepper@potts.example", "cook@kitchen.example", "noel@example.com"}
        assert emails(db, "twin") == ["twin.one@example.com", "twin.two@example.com"], db
        # a prefix: the name it begins beats a note holding many words it begins
        found = emails(db, "sam*")
        assert found[0] == "cook@kitchen.example" and "jim@example.com" in found, (db, found)


def test_search_ids_select_the_same_group(both: dict[str, Path | str]) -> None:
    for query in ("example", "founding", "pepper", "zoe", "nobody-here"):
        groups = []
        for db in both.values():
            store = open_store(db)
            try:
                groups.append([store.conn.execute(
                    "SELECT email FROM customers WHERE id = ?", (cid,)).fetchone()[0]
                    for cid in search.search_ids(store, query)])  # fmt: skip
            finally:
                store.close()
        assert sorted(groups[0]) == sorted(groups[1]), query


@pytest.mark.parametrize(
    "ref", ["marg", "Margo L", "angst", "ZOË", "zoe ångström", "noel b", "BRONTË", "петр"]
)
def test_a_name_names_the_same_customer(both: dict[str, Path | str], ref: str) -> None:
    named = []
    for db in both.values():
        store = open_store(db)
        try:
            with store.read():
                cid = refs.resolve(store, ref)
                named.append(store.conn.execute(
                    "SELECT email FROM customers WHERE id = ?", (cid,)).fetchone()[0])  # fmt: skip
        finally:
            store.close()
    assert named[0] == named[1]


def test_an_ambiguous_name_is_refused_on_both(both: dict[str, Path | str]) -> None:
    for db in both.values():
        store = open_store(db)
        try:
            with store.read(), pytest.raises(OcxError, match="matches 2 customers"):
                refs.resolve(store, "robin")
        finally:
            store.close()


@pytest.mark.parametrize(
    "typed", ["marg", "zo", "noë", "bront", "ZOË", "piv", "robin t", "twin.o", ""]
)
def test_completion_offers_the_same_customers(both: dict[str, Path | str], typed: str) -> None:
    offered = []
    for db in both.values():
        store = open_read_only(db)
        try:
            offered.append(completion.customers(store, typed))
        finally:
            store.close()
    assert offered[0] == offered[1]


def test_a_query_becomes_a_tsquery_folded_as_the_documents(pg_url: str) -> None:
    runner(pg_url)("init")
    store = open_store(pg_url)
    try:
        engine, conn = store.engine, store.conn
        assert engine.text_query(conn, '"margo@example"*') == "'margo' <-> 'example':*"
        assert engine.text_query(conn, 'name : "Zoë Å"*') == "'zoe':A <-> 'a':*A"
        assert engine.text_query(conn, '"marg"* "LANE"') == "('marg':*) & ('lane')"
        assert engine.text_query(conn, '"a" OR "b"*') == "('a') | ('b':*)"
        assert engine.text_query(conn, '"@@@" "x"') == "'x'"
        assert engine.text_query(conn, '"@@@"') == "'-'"  # a query no document matches
        assert engine.text_query(conn, '"it""s"') == "'it' <-> 's'"
        with pytest.raises(ValueError):
            engine.text_query(conn, "margo")  # not a query the store writes
    finally:
        store.close()


def test_the_search_index_can_answer_without_reading_every_row(
    both: dict[str, Path | str],
) -> None:
    """The GIN index on the document answers a query (at 100,000 customers the planner
    takes it; here, on a few rows, it is made to show that it can)."""
    store = open_store(both["postgresql"])
    try:
        conn = store.conn
        query = store.engine.text_query(conn, '"marg"*')
        with store.read():
            conn.execute("SET LOCAL enable_seqscan = off")
            plan = " | ".join(row[0] for row in conn.execute(
                "EXPLAIN SELECT rowid FROM customer_search"
                f" WHERE {store.engine.text_match('customer_search')}", (query,)))  # fmt: skip
        assert "customer_search_doc" in plan, plan
        assert "Seq Scan" not in plan, plan
    finally:
        store.close()


def test_a_changed_profile_is_found_by_its_new_words(pg_url: str) -> None:
    ocx = runner(pg_url)
    ocx("init")
    ocx("customer", "add", "a@example.com", "--name", "Old Name")
    assert emails(pg_url, "old") == ["a@example.com"]
    ocx("customer", "edit", "a@example.com", "--name", "Brand Nouveau")
    ocx("customer", "tag", "a@example.com", "vip")
    assert emails(pg_url, "old") == []
    assert emails(pg_url, "nouveau") == ["a@example.com"]
    assert emails(pg_url, "vip") == ["a@example.com"]
