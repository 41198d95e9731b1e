"""`ocx db copy` and `ocx db check`: a whole database moved from SQLite to PostgreSQL and back
with every row, id and checksum kept, the search index rebuilt, and the copy answering as
the original did; refusals that leave the target as it was; checks that find a broken
database on either engine.

Everything runs through the CLI against real SQLite files in tmp_path and real PostgreSQL
databases (a throwaway database per test on the server the test session starts)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli
from ocx.store import SQLITE
from ocx.store.dbcopy import SEARCH, TABLES
from ocx.testing import postgres

# Runs against the session's PostgreSQL server in the SQLite run too: not again on PostgreSQL.
pytestmark = pytest.mark.postgres_itself

if TYPE_CHECKING:
    from conftest import AssertError, AssertUsageError, Dump

NOW = "2026-11-25T10:00:00Z"
DAY_BEFORE = "2026-11-24T10:00:00Z"
CONFIG = """\
user = "alex"
timezone = "UTC"
max_attempts = 1

[channels.broken]
type = "command"
argv = ["false"]
fallback = "screen"

[channels.screen]
type = "console"
"""

# --- PostgreSQL: a throwaway database per test ----------------------------------------------

NewPg = Callable[[], str]


@pytest.fixture
def new_pg() -> Iterator[NewPg]:
    """new_pg() -> the URL of a new empty database on the session's own server, owned by a
    role that is not a superuser; each is dropped after the test."""
    server = postgres.server()
    made: list[str] = []

    def make() -> str:
        made.append(server.create_database())
        return made[-1]

    try:
        yield make
    finally:
        for url in made:
            server.drop_database(url)


def as_superuser(url: str, *statements: str) -> None:
    """Run statements in the test's database as `postgres` (breaking it on purpose)."""
    import psycopg

    server = postgres.server()
    name = url.split("/")[3].split("?")[0]
    with psycopg.connect(server.url(name, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


# --- running ocx -----------------------------------------------------------------------------


def ocx(db: Path | str | None, *args: str, now: str = NOW) -> Result:
    head = ["--db", str(db)] if db is not None else []
    return CliRunner().invoke(cli, [*head, *args], env={"OCX_NOW": now})


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def sums(db: Path | str) -> dict[str, tuple[int, str]]:
    report = as_json(ocx(db, "db", "check", "--json"))
    return {t["table"]: (t["rows"], t["sha256"]) for t in report["tables"]}


def not_ocx(path: Path) -> None:
    """Another program's SQLite database: one table of its own."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    conn.close()


@pytest.fixture
def source(tmp_path: Path, env: Path) -> Path:
    """A SQLite database with something in every kind of table: the sample customers, a
    note, tags, team members, promises (one overdue), an incident with cases (one claimed),
    outbox rows (one dead, its fallback sent) and a forgotten customer's tombstone."""
    db = tmp_path / "source" / "ocx.db"
    ok(ocx(db, "init", "--sample"))
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(CONFIG, encoding="utf-8")
    ok(ocx(db, "team", "add", "alex", "--email", "alex@acme.example", "--channel", "broken"))
    ok(ocx(db, "team", "add", "sam", "--lead", "--channel", "screen"))
    ok(ocx(db, "customer", "note", "jim@example.com", "Prefers phone calls; Müller's café"))
    ok(ocx(db, "promise", "add", "margo@example.com", "Call back with the fix ETA",
           "--due", "2026-11-25T08:00:00Z", "--owner", "alex", now=DAY_BEFORE))  # fmt: skip
    ok(ocx(db, "promise", "add", "jim@example.com", "Send the guide", "--due",
           "2026-11-26T08:00:00Z", "--owner", "sam"))  # fmt: skip
    ok(ocx(db, "incident", "new", "Bank sync failing", "--severity", "2", "--lead", "sam"))
    ok(ocx(db, "incident", "fanout", "INC-1", "--tag", "founding", "--concierge", "alex",
           "--concierge", "sam"))  # fmt: skip
    ok(ocx(db, "incident", "next", "INC-1"))
    ok(ocx(db, "customer", "add", "gone@example.com", "--name", "Gone Away"))
    ok(ocx(db, "customer", "forget", "gone@example.com", "--yes"))
    notified = ocx(db, "due", "--notify")
    assert notified.exit_code == 3, notified.output  # broken failed; the fallback delivered
    return db


def test_source_has_rows_in_the_tables_that_matter(source: Path) -> None:
    counts = {table: rows for table, (rows, _) in sums(source).items()}
    for table in ("customers", "tags", "timeline", "team", "promises", "incidents", "cases",
                  "incident_events", "outbox", "migrations", "forgotten", "forgotten_keys",
                  "forgotten_salt"):  # fmt: skip
        assert counts[table] > 0, table
    conn = sqlite3.connect(source)
    assert conn.execute("SELECT count(*) FROM outbox WHERE fallback_of IS NOT NULL").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM cases WHERE claimed_by = 'alex'").fetchone()[0]
    conn.close()


# --- the table list -------------------------------------------------------------------------


def test_the_copied_tables_are_every_ocx_table_parents_first(tmp_path: Path, new_pg: NewPg
                                                              ) -> None:  # fmt: skip
    names = [table for table, _ in TABLES]
    file = tmp_path / "fresh.db"
    url = new_pg()
    ok(ocx(file, "init"))
    ok(ocx(url, "init"))
    conn = SQLITE.connect(file, create=False)
    on_file = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE ? ESCAPE '!'", (SEARCH.replace("_", "!_") + "%",))}  # fmt: skip
    for table, key in TABLES:  # the key is the table's primary key
        pk = [r[1] for r in sorted(conn.execute(f"PRAGMA table_info({table})"), key=lambda r: r[5])
              if r[5]]  # fmt: skip
        assert tuple(pk) == key or (pk == [] and key == ("id",)), table
        for parent, _ in SQLITE.references(conn, table):
            assert names.index(parent) <= names.index(table), (table, parent)
    conn.close()
    assert on_file == set(names)
    from ocx.store.pg import POSTGRES

    pg = POSTGRES.connect(url)
    on_pg = {row[0] for row in pg.execute(
        "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")}  # fmt: skip
    pg.close()
    assert on_pg == {*names, SEARCH}


# --- the round trip ---------------------------------------------------------------------------


def test_sqlite_to_postgresql_and_back_keeps_every_row(
    source: Path, new_pg: NewPg, tmp_path: Path
) -> None:
    url = new_pg()
    before = sums(source)
    copied = as_json(ocx(None, "db", "copy", str(source), url, "--json"))
    assert copied["source_engine"] == "sqlite" and copied["target_engine"] == "postgresql"
    assert copied["verified"] is True and copied["replaced"] is False
    assert {t["table"]: (t["rows"], t["sha256"]) for t in copied["tables"]} == before
    assert copied["rows"] == sum(rows for rows, _ in before.values())
    assert sums(url) == before  # the same checksums, read on PostgreSQL

    back = tmp_path / "back" / "ocx.db"  # a folder that does not exist yet
    again = as_json(ocx(None, "db", "copy", url, str(back), "--json"))
    assert again["source_engine"] == "postgresql" and again["target_engine"] == "sqlite"
    assert sums(back) == before
    assert oct(back.stat().st_mode & 0o777) == "0o600"
    assert sqlite3.connect(back).execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    for db in (url, back):
        report = as_json(ocx(db, "db", "check", "--against", str(source), "--json"))
        assert report["ok"] is True and report["against"]["same"] is True, report["problems"]


def test_the_copy_answers_as_the_original(source: Path, new_pg: NewPg) -> None:
    url = new_pg()
    ok(ocx(None, "db", "copy", str(source), url))
    for args in (
        ("customer", "show", "margo@example.com", "--json"),
        ("customer", "show", "jim@example.com", "--json"),
        ("due", "--json"),
        ("promise", "list", "--json"),
        ("incident", "show", "INC-1", "--json"),
        ("outbox", "list", "--json"),
    ):
        assert as_json(ocx(url, *args)) == as_json(ocx(source, *args)), args
    for query in ("margo", "café", "phone", "founding"):
        found = [c["email"] for c in as_json(ocx(url, "customer", "search", query, "--json"))]
        wanted = [c["email"] for c in as_json(ocx(source, "customer", "search", query, "--json"))]
        assert found == wanted and found, query


def test_new_rows_on_the_copy_get_new_ids(source: Path, new_pg: NewPg) -> None:
    url = new_pg()
    ok(ocx(None, "db", "copy", str(source), url))
    top = max(p["id"] for p in as_json(ocx(source, "promise", "list", "--all", "--json")))
    added = ok(ocx(url, "promise", "add", "judy@example.com", "Check in", "--due", "in 2 days"))
    assert int(added.stdout.split()[0]) == top + 1
    ok(ocx(url, "customer", "add", "ben@example.com", "--name", "Ben Ode"))
    report = as_json(ocx(url, "db", "check", "--json"))
    assert report["ok"] is True, report["problems"]


def test_replace_overwrites_an_ocx_target_in_one_go(source: Path, tmp_path: Path,
                                                    new_pg: NewPg) -> None:  # fmt: skip
    url = new_pg()
    ok(ocx(url, "init"))
    ok(ocx(url, "team", "add", "kim"))
    result = ok(ocx(None, "db", "copy", str(source), url, "--replace"))
    assert "replaced" in result.stdout and "row counts and checksums match" in result.stdout
    assert sums(url) == sums(source)
    assert "kim" not in [m["handle"] for m in as_json(ocx(url, "team", "list", "--json"))]
    target = tmp_path / "other.db"
    ok(ocx(target, "init", "--sample"))
    ok(ocx(None, "db", "copy", url, str(target), "--replace"))
    assert sums(target) == sums(source)


# --- refusals --------------------------------------------------------------------------------


def test_a_target_with_ocx_schema_is_refused_without_replace(
    source: Path, tmp_path: Path, new_pg: NewPg, assert_error: AssertError, dump: Dump
) -> None:
    url = new_pg()
    ok(ocx(url, "init"))  # the schema, no customers
    before = dump(url)  # type: ignore[arg-type]
    line = assert_error(ocx(None, "db", "copy", str(source), url))
    assert "already holds an ocx database; pass --replace" in line
    assert dump(url) == before  # type: ignore[arg-type]
    target = tmp_path / "there.db"
    ok(ocx(target, "init"))
    before = dump(target)
    assert "--replace" in assert_error(ocx(None, "db", "copy", str(source), str(target)))
    assert dump(target) == before


def test_sources_that_are_not_ocx_databases_are_refused(
    source: Path, tmp_path: Path, new_pg: NewPg, assert_error: AssertError
) -> None:
    target = tmp_path / "target.db"
    missing = tmp_path / "nowhere.db"
    line = assert_error(ocx(None, "db", "copy", str(missing), str(target)))
    assert line == f"Error: no ocx database at {missing}; check the path"
    other = tmp_path / "other.db"
    not_ocx(other)
    line = assert_error(ocx(None, "db", "copy", str(other), str(target)))
    assert line == f"Error: {other} is not an ocx database (no migrations table)"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all, just some bytes" * 100)
    assert "garbage.db" in assert_error(ocx(None, "db", "copy", str(garbage), str(target)))
    url = new_pg()
    line = assert_error(ocx(None, "db", "copy", url, str(target)))
    assert "is not an ocx database" in line
    assert not target.exists()


def test_a_source_from_another_ocx_version_is_refused(
    source: Path, tmp_path: Path, assert_error: AssertError
) -> None:
    target = tmp_path / "target.db"
    conn = sqlite3.connect(source)
    conn.execute("INSERT INTO migrations (name, applied_at) VALUES ('9999_future', ?)", (NOW,))
    conn.commit()
    line = assert_error(ocx(None, "db", "copy", str(source), str(target)))
    assert "made by a newer ocx (unknown migration '9999_future'); upgrade ocx" in line
    conn.execute("DELETE FROM migrations WHERE name IN ('9999_future', '0008_incident_speed')")
    conn.commit()
    conn.close()
    line = assert_error(ocx(None, "db", "copy", str(source), str(target)))
    assert "has an older ocx schema (1 migrations pending); open it once with this ocx" in line
    assert not target.exists()


def test_targets_that_cannot_take_the_copy_are_refused_and_left_alone(
    source: Path, tmp_path: Path, new_pg: NewPg, assert_error: AssertError, dump: Dump
) -> None:
    url = new_pg()
    as_superuser(
        url, "CREATE TABLE invoices (id int)", f"ALTER TABLE invoices OWNER TO {postgres.ROLE}"
    )
    for extra in ((), ("--replace",)):
        line = assert_error(ocx(None, "db", "copy", str(source), url, *extra))
        assert "is not an ocx database (it holds other tables: invoices)" in line
    other = tmp_path / "other.db"
    not_ocx(other)
    before = dump(other)
    assert "other tables: things" in assert_error(ocx(None, "db", "copy", str(source), str(other)))
    assert dump(other) == before
    assert "same database" in assert_error(ocx(None, "db", "copy", str(source), str(source)))


def test_an_unreachable_server_is_refused_without_showing_the_password(
    source: Path, tmp_path: Path, assert_error: AssertError
) -> None:
    url = f"postgresql://ocx:hunter2@/nosuchdb?host={tmp_path}/no-server-here"
    for args in (("db", "copy", str(source), url), ("db", "copy", url, str(tmp_path / "t.db"))):
        line = assert_error(ocx(None, *args))
        assert "cannot open database postgresql://ocx:********@" in line
        assert "hunter2" not in line
    line = assert_error(ocx(url, "db", "check"))
    assert "hunter2" not in line and "cannot open database" in line
    assert not (tmp_path / "t.db").exists()


def test_a_copy_that_fails_half_way_leaves_nothing_behind(
    source: Path, tmp_path: Path, new_pg: NewPg, assert_error: AssertError, dump: Dump
) -> None:
    conn = sqlite3.connect(source)  # foreign keys off, as any sqlite3 shell: an orphan tag
    conn.execute("INSERT INTO tags (customer_id, tag) VALUES (999, 'orphan')")
    conn.commit()
    conn.close()
    target = tmp_path / "new.db"
    line = assert_error(ocx(None, "db", "copy", str(source), str(target)))
    assert "cannot copy table tags into" in line and "the target is unchanged" in line
    assert not target.exists() and not Path(f"{target}-wal").exists()
    url = new_pg()
    before = dump(url)  # type: ignore[arg-type]
    assert "cannot copy table tags" in assert_error(ocx(None, "db", "copy", str(source), url))
    assert dump(url) == before == []  # type: ignore[arg-type]


def test_copy_needs_both_databases(source: Path, assert_usage_error: AssertUsageError) -> None:
    assert_usage_error(ocx(None, "db", "copy", str(source)))
    assert_usage_error(ocx(None, "db", "copy", "", "x.db"))


# --- check -----------------------------------------------------------------------------------


def test_check_reports_schema_integrity_and_checksums_on_both_engines(
    source: Path, new_pg: NewPg
) -> None:
    url = new_pg()
    ok(ocx(None, "db", "copy", str(source), url))
    for db, engine, checks in (
        (source, "sqlite", ["tables present", "integrity_check", "foreign_key_check"]),
        (url, "postgresql", ["tables present", "foreign keys validated", "foreign keys hold",
                             "sequences ahead of max(id)"]),
    ):  # fmt: skip
        report = as_json(ocx(db, "db", "check", "--json"))
        assert list(report) == ["database", "engine", "ok", "schema", "integrity", "tables",
                                "problems"]  # fmt: skip
        assert report["engine"] == engine and report["ok"] is True and report["problems"] == []
        assert report["schema"]["state"] == "current"
        assert report["schema"]["applied"] == report["schema"]["known"] > 0
        assert [c["name"] for c in report["integrity"]["checks"]] == checks
        assert [t["table"] for t in report["tables"]] == [t for t, _ in TABLES]
        text = ok(ocx(db, "db", "check")).stdout
        assert text.splitlines()[-1] == "ok" and f"({engine})" in text


def test_check_finds_a_broken_foreign_key_in_sqlite(source: Path, assert_error: AssertError
                                                     ) -> None:  # fmt: skip
    conn = sqlite3.connect(source)  # foreign keys are off in a plain connection
    conn.execute("UPDATE promises SET customer_id = 999 WHERE id = 1")
    conn.commit()
    conn.close()
    result = ocx(source, "db", "check", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["integrity"]["ok"] is False
    failed = [c for c in report["integrity"]["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["foreign_key_check"]
    assert "promises row 1 points at a missing customers" in failed[0]["detail"]
    text = ocx(source, "db", "check")
    assert text.exit_code == 1
    assert "problem: foreign_key_check: promises row 1" in text.stderr
    assert text.stdout.splitlines()[-1] == "1 problem(s) found"


def test_check_finds_broken_keys_and_sequences_in_postgresql(source: Path, new_pg: NewPg) -> None:
    url = new_pg()
    ok(ocx(None, "db", "copy", str(source), url))
    as_superuser(
        url,
        "ALTER TABLE promises DISABLE TRIGGER ALL",
        "UPDATE promises SET customer_id = 999 WHERE id = 1",
        "SELECT setval(pg_get_serial_sequence('customers', 'id'), 1)",
    )
    result = ocx(url, "db", "check", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    failed = {c["name"]: c["detail"] for c in report["integrity"]["checks"] if not c["ok"]}
    assert set(failed) == {"foreign keys validated", "foreign keys hold",
                           "sequences ahead of max(id)"}  # fmt: skip
    assert "checks switched off on promises" in failed["foreign keys validated"]
    assert (
        "1 promises rows point at a missing customers (customer_id)" in failed["foreign keys hold"]
    )
    assert "customers would next use id 2" in failed["sequences ahead of max(id)"]


def test_check_against_finds_a_changed_row(source: Path, tmp_path: Path, new_pg: NewPg) -> None:
    url = new_pg()
    ok(ocx(None, "db", "copy", str(source), url))
    ok(ocx(url, "promise", "done", "2"))
    result = ocx(source, "db", "check", "--against", url, "--json")
    assert result.exit_code == 1, result.output
    against = json.loads(result.stdout)["against"]
    assert against["same"] is False and against["engine"] == "postgresql"
    assert {t["table"] for t in against["tables"] if not t["same"]} == {"promises", "timeline"}
    row = next(t for t in against["tables"] if t["table"] == "promises")
    assert row["rows"] == row["other_rows"] and row["sha256"] != row["other_sha256"]
    text = ocx(source, "db", "check", "--against", url)
    assert "problem: table promises differs from" in text.stderr
    assert "same count, other contents" in text.stderr


def test_check_refuses_what_is_not_an_ocx_database(tmp_path: Path, assert_error: AssertError
                                                   ) -> None:  # fmt: skip
    other = tmp_path / "other.db"
    not_ocx(other)
    assert "is not an ocx database" in assert_error(ocx(other, "db", "check"))
    missing = tmp_path / "missing.db"
    assert "no ocx database at" in assert_error(ocx(missing, "db", "check"))
    assert not missing.exists()
