"""An import keeps search rows whole batch by batch: a customer a batch only added
conversations and messages to has them appended to their row, one whose profile, tags or
existing tickets changed has it rebuilt. Either way the row must hold what a rebuild from
the database gives, on both engines (on PostgreSQL, its document too: the trigger folds only
appended text)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from ocx import customers
from ocx.cli import cli
from ocx.store import open_store
from ocx.testing import execute, postgres, query

if TYPE_CHECKING:
    from conftest import LoadJson, Run

ZENDESK_DIR = Path(__file__).resolve().parent / "fixtures" / "zendesk"
EVERY_TICKET_A_BATCH = {"OCX_IMPORT_BATCH_SECONDS": "0"}  # a batch ends at each ticket


def search_rows(db: Path | str) -> dict[int, list[str]]:
    """Each customer's search row as the words of its columns, sorted."""
    found = query(
        db, "SELECT rowid, name, email, company, tags, context, notes FROM customer_search"
    )
    return {
        row["rowid"]: sorted(
            f"{column}:{word}"
            for column in ("name", "email", "company", "tags", "context", "notes")
            for word in (row[column] or "").split()
        )
        for row in found
    }


def documents(db: Path | str, of: str) -> dict[int, list[str]]:
    """PostgreSQL: each row's lexemes with their weights, from the stored document or one
    computed again from the row's text by the schema's own function."""
    found = query(
        db,
        f"SELECT s.rowid, u.lexeme, u.weights FROM customer_search s, unnest({of}) u",
    )
    out: dict[int, list[str]] = {}
    for row in found:
        out.setdefault(row["rowid"], []).append(
            f"{row['lexeme']}:{''.join(sorted(row['weights']))}"
        )
    return {rowid: sorted(lexemes) for rowid, lexemes in out.items()}


WHOLE_DOC = "ocx_search_doc(s.name, s.email, s.company, s.tags, s.context, s.notes)"


def assert_as_rebuilt(db: Path | str) -> dict[int, list[str]]:
    """The rows hold what rebuilding every customer's row gives (and, on PostgreSQL, each
    document is the one its text gives); returns the rows."""
    before = search_rows(db)
    if isinstance(db, str):
        assert documents(db, "s.doc") == documents(db, WHOLE_DOC)
    store = open_store(db)
    try:
        with store.write():
            ids = {row["id"] for row in query(db, "SELECT id FROM customers")}
            customers.reindex_many(store, ids)
    finally:
        store.close()
    assert search_rows(db) == before
    return before


def tickets_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "tickets.json").read_text(encoding="utf-8"))


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A copy of the Zendesk fixture export, to change between imports."""
    return Path(shutil.copytree(ZENDESK_DIR, tmp_path / "zendesk"))


def busiest(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The end user with the most tickets (several: they land in several batches), and them."""
    data = tickets_of(folder)
    by_requester: dict[int, list[dict[str, Any]]] = {}
    for ticket in data["tickets"]:
        by_requester.setdefault(ticket["requester_id"], []).append(ticket)
    requester, tickets = max(by_requester.items(), key=lambda item: len(item[1]))
    [user] = [u for u in data["users"] if u["id"] == requester]
    assert len(tickets) >= 3, "the fixture needs a customer with several tickets"
    return user, tickets


def notes_of(db: Path | str, email: str) -> str:
    [row] = query(
        db,
        "SELECT s.notes FROM customer_search s JOIN customers c ON c.id = s.rowid "
        "WHERE c.email = ?",
        (email.lower(),),
    )
    return str(row["notes"])


def test_an_import_of_many_batches_leaves_the_rows_a_rebuild_gives(
    run: Run, initialized: Path, export: Path
) -> None:
    result = run("import", "zendesk", str(export), env=EVERY_TICKET_A_BATCH)
    assert result.exit_code == 0, result.output
    user, tickets = busiest(export)
    notes = notes_of(initialized, user["email"])
    for ticket in tickets:  # each from its own batch
        assert ticket["subject"] in notes
    assert_as_rebuilt(initialized)


def test_a_later_import_appends_a_new_ticket_and_search_finds_it(
    run: Run, initialized: Path, export: Path, load_json: LoadJson
) -> None:
    assert run("import", "zendesk", str(export)).exit_code == 0
    user, tickets = busiest(export)
    add_ticket(export, user, tickets[0], "Quixotic ledger drift")

    result = run("import", "zendesk", str(export), "--json", env=EVERY_TICKET_A_BATCH)
    assert result.exit_code == 0, result.output
    assert load_json(result)["created"]["conversations"] == 1
    for word in ("quixotic", "zanzibar"):
        found = load_json(run("customer", "search", word, "--json"))
        assert [c["email"] for c in found] == [user["email"].lower()], word
    rows = assert_as_rebuilt(initialized)
    assert sum("notes:zanzibar" in words for words in rows.values()) == 1


def test_a_changed_ticket_rebuilds_the_row_and_its_old_subject_goes(
    run: Run, initialized: Path, export: Path, load_json: LoadJson
) -> None:
    assert run("import", "zendesk", str(export)).exit_code == 0
    user, tickets = busiest(export)
    old_subject = tickets[0]["subject"]
    times = notes_of(initialized, user["email"]).count(old_subject)
    data = tickets_of(export)
    for ticket in data["tickets"]:
        if ticket["id"] == tickets[0]["id"]:
            ticket["subject"] = "Marmalade invoice puzzle"
            ticket["updated_at"] = "2026-01-01T00:00:00Z"
    (export / "tickets.json").write_text(json.dumps(data), encoding="utf-8")

    result = run("import", "zendesk", str(export), "--json", env=EVERY_TICKET_A_BATCH)
    assert result.exit_code == 0, result.output
    assert load_json(result)["updated"]["conversations"] == 1
    notes = notes_of(initialized, user["email"])
    assert "Marmalade invoice puzzle" in notes
    assert notes.count(old_subject) == times - 1
    found = load_json(run("customer", "search", "marmalade", "--json"))
    assert [c["email"] for c in found] == [user["email"].lower()]
    assert_as_rebuilt(initialized)


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A new ocx database on the session's PostgreSQL server, whichever engine the run is on."""
    server = postgres.server()
    url = server.create_database()
    try:
        result = CliRunner().invoke(cli, ["--db", url, "init"])
        assert result.exit_code == 0, result.output
        yield url
    finally:
        server.drop_database(url)


def add_ticket(export: Path, user: dict[str, Any], like: dict[str, Any], subject: str) -> None:
    """A new ticket (and one comment) from `user` in the export, for the next import."""
    data = tickets_of(export)
    new = {**like, "id": 990001, "subject": subject, "description": subject,
           "updated_at": "2025-06-01T00:00:00Z"}  # fmt: skip
    data["tickets"].append(new)
    (export / "tickets.json").write_text(json.dumps(data), encoding="utf-8")
    comments = {"comments": [{"id": 99000101, "author_id": user["id"], "public": True,
                              "plain_body": "Still wobbling: zanzibar", "body": "x",
                              "created_at": "2025-06-01T00:00:00Z"}], "count": 1}  # fmt: skip
    (export / "comments" / "990001.json").write_text(json.dumps(comments), encoding="utf-8")


@pytest.mark.postgres_itself
def test_postgres_documents_are_what_their_text_gives_after_appends_and_other_changes(
    pg_db: str, export: Path
) -> None:
    """An import's append brings the document up to date in its own statement; any other
    change (run-on text, a profile column with the notes) is folded again from the whole
    row by the trigger, and so is a row near the 1 MB a tsvector holds."""

    def ocx(*args: str) -> None:
        result = CliRunner().invoke(cli, ["--db", pg_db, *args], env=EVERY_TICKET_A_BATCH)
        assert result.exit_code == 0, result.output

    ocx("import", "zendesk", str(export))
    assert documents(pg_db, "s.doc") == documents(pg_db, WHOLE_DOC)
    execute(pg_db, "UPDATE customer_search SET notes = notes || 'zz'")
    execute(pg_db, "UPDATE customer_search SET notes = notes || ' and more words'")
    execute(pg_db, "UPDATE customer_search SET company = 'Other Co', notes = notes || ' x'")
    assert documents(pg_db, "s.doc") == documents(pg_db, WHOLE_DOC)
    assert any("zz" in lexeme for rows in documents(pg_db, "s.doc").values() for lexeme in rows)
    # the busiest customer's notes grown to just under 1 MB of distinct words, as much as a
    # tsvector holds: the next append goes over it
    user, tickets = busiest(export)
    words = (999_900 - len(notes_of(pg_db, user["email"]))) // 33  # distinct, 32 letters
    execute(
        pg_db,
        "UPDATE customer_search SET notes = notes || (SELECT string_agg(' ' || md5(CAST(g AS "
        "TEXT)), '') FROM generate_series(1, ?) AS g) "
        "WHERE rowid = (SELECT id FROM customers WHERE email = ?)",
        (words, user["email"].lower()),
    )
    assert 999_000 < len(notes_of(pg_db, user["email"])) < 1_000_000
    add_ticket(export, user, tickets[0], "Quixotic ledger drift")
    ocx("import", "zendesk", str(export))
    assert notes_of(pg_db, user["email"]).endswith("Still wobbling: zanzibar")  # appended
    assert documents(pg_db, "s.doc") == documents(pg_db, WHOLE_DOC)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("analyzed", [False, True], ids=["no statistics", "analyzed"])
def test_a_batch_reads_only_the_rows_it_added(
    run: Run, initialized: Path, export: Path, analyzed: bool
) -> None:
    """What a batch appends is found by id above the marks, never by walking every
    conversation (grouping by customer tempted SQLite to read them all in customer order,
    every batch: an import of a million tickets slowed as it went)."""
    from ocx.store import customers as sql
    from ocx.testing import assert_no_big_scan, connect

    assert run("import", "zendesk", str(export)).exit_code == 0
    conn = connect(initialized)
    try:
        if analyzed:
            conn.execute("ANALYZE")
        added = sql._ADDED_SQL.format(**sql._atoms(conn))
        select = added[added.index("SELECT") :]
        plan = "\n".join(
            row[3]
            for row in conn.execute(
                f"EXPLAIN QUERY PLAN {select}", {"conversation": 10, "message": 10}
            )
        )
    finally:
        conn.close()
    assert_no_big_scan(plan, small=("j",))  # j: one conversation's details, json_tree
    assert plan.count("USING INTEGER PRIMARY KEY (rowid>?)") == 3, plan
