"""`ocx import` commits in batches: real imports in real processes, killed and raced.

A Zendesk export big enough to take several seconds is generated here with `json` (never
with ocx), the import runs as a subprocess (`python -m ocx`), and the database is read with
plain `sqlite3` (or, on PostgreSQL, a connection of its own) while it runs. Expected counts
come from the generated export, not from ocx.

OCX_IMPORT_BATCH_SECONDS (read by ocx.importing, for tests and benchmarks) makes batches
shorter than the default second, so a few seconds of import hold many of them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from ocx.cli import cli
from ocx.testing import connect, new_database

if TYPE_CHECKING:
    from conftest import AssertError, Dump, LoadJson, Run

TICKETS = 40_000  # about 6-10 s to import on a laptop: time to look, race and kill
STAMP = "2025-03-{day:02d}T{hour:02d}:{minute:02d}:00Z"


# --- a generated export, and what it holds ---------------------------------------------------


@dataclass
class Export:
    folder: Path
    users: dict[str, dict[str, Any]]  # end-users by id
    tickets: dict[str, dict[str, Any]]  # by id
    messages: dict[str, int]  # messages per ticket id: comments, or 1 (the description)

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())


def _stamp(n: int) -> str:
    return STAMP.format(day=1 + n % 28, hour=n % 24, minute=n % 60)


def write_export(folder: Path, tickets: int, *, users: int | None = None,
                 bad_requester_at: int | None = None) -> Export:  # fmt: skip
    """A Zendesk export: tickets.json ({"tickets", "users"}) and comments/{id}.json with two
    or three comments for most tickets (every 7th has no comments file: its description is
    its one message). Ticket `bad_requester_at` (1-based) names a requester not in the export."""
    people = users or max(1, tickets // 5)
    (folder / "comments").mkdir(parents=True)
    end_users = {
        str(1000 + k): {"id": 1000 + k, "role": "end-user", "name": f"Person {k}",
                        "email": f"person{k}@example.com", "tags": ["batch-test"]}
        for k in range(people)
    }  # fmt: skip
    agent = {"id": 9, "role": "agent", "name": "Agent Nine", "email": "agent9@support.example"}
    by_id: dict[str, dict[str, Any]] = {}
    messages: dict[str, int] = {}
    for n in range(1, tickets + 1):
        requester = 1000 + (n * 7919) % people
        if n == bad_requester_at:
            requester = 999_999
        ticket = {
            "id": n, "requester_id": requester, "subject": f"Order {n} arrived damaged",
            "description": f"Ticket {n}: the parcel was crushed.", "status": "open",
            "created_at": _stamp(n), "updated_at": _stamp(n + 1),
        }  # fmt: skip
        by_id[str(n)] = ticket
        if n % 7 == 0:
            messages[str(n)] = 1
            continue
        count = 2 + n % 2
        comments = [
            {"id": n * 10 + k, "author_id": requester if k % 2 == 0 else agent["id"],
             "plain_body": f"Comment {k} on ticket {n}", "public": True,
             "created_at": _stamp(n + k)}
            for k in range(count)
        ]  # fmt: skip
        (folder / "comments" / f"{n}.json").write_text(
            json.dumps({"comments": comments, "count": count}), encoding="utf-8"
        )
        messages[str(n)] = count
    (folder / "tickets.json").write_text(
        json.dumps({"tickets": list(by_id.values()), "users": [*end_users.values(), agent],
                    "end_of_stream": True}),
        encoding="utf-8",
    )  # fmt: skip
    return Export(folder, end_users, by_id, messages)


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    return write_export(tmp_path_factory.mktemp("big") / "zendesk", TICKETS)


# --- running ocx as a separate process -------------------------------------------------------


def ocx_env(batch_seconds: float | None = None) -> dict[str, str]:
    """This test's environment (OCX_HOME in tmp_path, plugins off: the autouse fixture),
    with the batch time set or left at its default."""
    env = dict(os.environ)
    env["OCX_DISABLE_PLUGINS"] = "1"
    env.pop("OCX_IMPORT_BATCH_SECONDS", None)
    if batch_seconds is not None:
        env["OCX_IMPORT_BATCH_SECONDS"] = str(batch_seconds)
    return env


def ocx(db: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "ocx", "--db", str(db), *args], env=env or ocx_env(),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def start_import(db_path: Path) -> Iterator[Any]:
    """start_import(folder, *options, batch_seconds=None) -> the running `ocx import zendesk`
    process (stdout and stderr to pipes). Killed after the test if it still runs."""
    started: list[subprocess.Popen[str]] = []

    def start(folder: Path, *options: str,
              batch_seconds: float | None = None) -> subprocess.Popen[str]:  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "ocx", "--db", str(db_path), "import", "zendesk",
             str(folder), "--json", *options],
            env=ocx_env(batch_seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def read_only(db: Path | str) -> Any:
    """A connection of another program: sqlite3 opening the file read-only, or on PostgreSQL
    a plain connection (ocx.testing.connect) that only reads."""
    if isinstance(db, str):
        return connect(db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


def scalar(db: Path | str, sql: str, params: tuple[Any, ...] = ()) -> Any:
    conn = read_only(db)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def wait_for_conversations(db: Path, process: subprocess.Popen[str], at_least: int = 1,
                           timeout: float = 60) -> int:  # fmt: skip
    """Poll the database (read-only, as another program would) until the running import has
    committed `at_least` conversations; fails if the import ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the import ended first: {process.communicate()}"
        count = scalar(db, "SELECT count(*) FROM conversations")
        if count >= at_least:
            return int(count)
        time.sleep(0.02)
    raise AssertionError(f"no {at_least} conversations committed within {timeout} s")


def kill(process: subprocess.Popen[str]) -> None:
    assert process.poll() is None, "the import ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL


def assert_every_ticket_whole(db: Path | str, export: Export) -> int:
    """integrity_check ok (SQLite; PostgreSQL's foreign keys are constraints it never lets
    go unmet); every conversation has all its messages and its customer (the ticket's
    requester); the search index covers each customer's conversations. Returns how many
    conversations there are."""
    on_postgres = isinstance(db, str)
    conn = read_only(db)
    try:
        if not on_postgres:
            assert [tuple(r) for r in conn.execute("PRAGMA integrity_check")] == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        found = conn.execute(
            "SELECT v.external_id, v.customer_id, count(m.id) AS messages, s.external_id AS who "
            "FROM conversations v LEFT JOIN messages m ON m.conversation_id = v.id "
            "LEFT JOIN customer_sources s ON s.customer_id = v.customer_id "
            "AND s.source = 'zendesk' GROUP BY v.id, v.external_id, v.customer_id, s.external_id"
        ).fetchall()
        for row in found:
            ticket = row["external_id"]
            assert row["messages"] == export.messages[ticket], f"ticket {ticket} is not whole"
            assert row["who"] == str(export.tickets[ticket]["requester_id"]), ticket
        # Committed with each batch: every customer has a search row, and it holds the
        # subjects of all their conversations.
        assert conn.execute(
            "SELECT count(*) FROM customers WHERE id NOT IN (SELECT rowid FROM customer_search)"
        ).fetchone()[0] == 0  # fmt: skip
        assert conn.execute(
            "SELECT count(*) FROM conversations v JOIN customer_search s ON s.rowid = v.customer_id "
            f"WHERE {'strpos' if on_postgres else 'instr'}(s.notes, v.subject) = 0"
        ).fetchone()[0] == 0  # fmt: skip
        return len(found)
    finally:
        conn.close()


def assert_complete(db: Path, export: Export, *, other_customers: int = 0) -> None:
    """Everything in the export is in the database exactly once (beside `other_customers`
    added with `ocx customer add`)."""
    assert assert_every_ticket_whole(db, export) == len(export.tickets)
    assert scalar(db, "SELECT count(*) FROM messages") == export.total_messages
    assert scalar(db, "SELECT count(*) FROM customers") == len(export.users) + other_customers
    for table in ("conversations", "messages", "customer_sources"):
        duplicates = scalar(
            db, f"SELECT count(*) FROM (SELECT 1 FROM {table} "
            "GROUP BY source, external_id HAVING count(*) > 1) AS d",
        )  # fmt: skip
        assert duplicates == 0, table


def summary_of(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def written(db: Path | str) -> int:
    """Bytes the database has had written to it, committed or not: SQLite's WAL (where an
    open transaction's pages go), or the size of a PostgreSQL database's files (its tables
    grow as rows go in, before they are committed)."""
    if isinstance(db, str):
        return int(scalar(db, "SELECT pg_database_size(current_database())"))
    wal = Path(f"{db}-wal")
    return wal.stat().st_size if wal.exists() else 0


# --- a killed import -------------------------------------------------------------------------


def test_a_killed_import_leaves_every_ticket_whole_and_a_rerun_completes_it(
    initialized: Path, big_export: Export, start_import: Any
) -> None:
    process = start_import(big_export.folder, batch_seconds=0.2)
    wait_for_conversations(initialized, process)
    time.sleep(0.5)  # into a later batch: killed half-way through it, not between two
    kill(process)
    kept = assert_every_ticket_whole(initialized, big_export)
    assert 0 < kept < len(big_export.tickets)

    again = start_import(big_export.folder)  # the default batch time
    summary = summary_of(again)
    assert_complete(initialized, big_export)
    assert summary["created"]["conversations"] == len(big_export.tickets) - kept
    assert summary["unchanged"]["conversations"] == kept
    assert summary["created"]["messages"] + summary["unchanged"]["messages"] == (
        big_export.total_messages
    )
    assert summary["skipped"] == []


def test_killed_twice_then_completed_still_has_each_ticket_once(
    initialized: Path, big_export: Export, start_import: Any
) -> None:
    for _ in range(2):
        process = start_import(big_export.folder, batch_seconds=0.2)
        before = scalar(initialized, "SELECT count(*) FROM conversations")
        wait_for_conversations(initialized, process, at_least=before + 1)
        kill(process)
        assert_every_ticket_whole(initialized, big_export)
    summary_of(start_import(big_export.folder, batch_seconds=0.2))
    assert_complete(initialized, big_export)


def test_a_killed_atomic_import_leaves_nothing(
    initialized: Path, big_export: Export, start_import: Any, dump: Dump
) -> None:
    before = dump(initialized)
    start = written(initialized)
    # The short batch time a batched import would commit after: --atomic ignores it.
    process = start_import(big_export.folder, "--atomic", batch_seconds=0.2)
    deadline = time.monotonic() + 60
    while written(initialized) - start < 4_000_000 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)  # until the import has written megabytes it has not committed
    assert written(initialized) - start >= 4_000_000, "the import wrote too little to look"
    assert scalar(initialized, "SELECT count(*) FROM conversations") == 0
    kill(process)
    if isinstance(initialized, Path):
        assert scalar(initialized, "PRAGMA integrity_check") == "ok"
    assert scalar(initialized, "SELECT count(*) FROM conversations") == 0
    assert scalar(initialized, "SELECT count(*) FROM customers") == 0
    assert dump(initialized) == before


# --- other commands while an import runs ------------------------------------------------------


def test_short_commands_get_in_while_an_import_runs(
    run: Run, initialized: Path, big_export: Export, start_import: Any, env: Path
) -> None:
    # A short wait for the lock, so a command that had to wait for the whole import fails.
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text('user = "tester"\nbusy_timeout = 5\n', encoding="utf-8")
    assert run("customer", "add", "margo@example.com", "--name", "Margo Lane").exit_code == 0
    assert run("team", "add", "tester").exit_code == 0
    process = start_import(big_export.folder)  # the default batch time: about a second
    wait_for_conversations(initialized, process)
    commands = [
        ("customer", "note", "margo@example.com", "Called while the import ran"),
        ("promise", "add", "margo@example.com", "Send the refund", "--due", "tomorrow 9am"),
        ("due", "--notify"),
    ]
    latencies = []
    for _ in range(2):  # the three at once, waiting for the lock together; then again
        started = time.monotonic()
        running = [
            subprocess.Popen([sys.executable, "-m", "ocx", "--db", str(initialized), *args],
                             env=ocx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
            for args in commands
        ]  # fmt: skip
        for args, command in zip(commands, running, strict=True):
            _, err = command.communicate(timeout=60)
            assert command.returncode == 0, (args, err)
        latencies.append(time.monotonic() - started)
        assert process.poll() is None, (
            f"the import ended before the commands were done: {latencies}"
        )
    summary = summary_of(process)
    assert summary["created"]["conversations"] == len(big_export.tickets)
    assert_complete(initialized, big_export, other_customers=1)
    notes = scalar(initialized, "SELECT count(*) FROM timeline WHERE kind = 'note'")
    assert notes == 2
    assert scalar(initialized, "SELECT count(*) FROM promises") == 2


# --- dry run, bad records, counts --------------------------------------------------------------


def test_a_dry_run_of_a_many_batch_export_changes_nothing(
    run: Run, initialized: Path, big_export: Export, dump: Dump, load_json: LoadJson
) -> None:
    before = dump(initialized)
    result = run(
        "import", "zendesk", str(big_export.folder), "--dry-run", "--json",
        env={"OCX_IMPORT_BATCH_SECONDS": "0.2"},
    )  # fmt: skip
    summary = load_json(result)
    assert summary["created"]["conversations"] == len(big_export.tickets)
    assert summary["created"]["messages"] == big_export.total_messages
    assert dump(initialized) == before


@pytest.fixture
def small_export(tmp_path: Path) -> Export:
    """40 tickets of 12 customers; with a batch time of 0 each ticket is a batch."""
    return write_export(tmp_path / "small" / "zendesk", 40, users=12)


def test_batches_count_the_same_as_one_transaction(
    run: Run, initialized: Path, small_export: Export, load_json: LoadJson, tmp_path: Path
) -> None:
    folder = str(small_export.folder)
    batched = load_json(run("import", "zendesk", folder, "--json",
                            env={"OCX_IMPORT_BATCH_SECONDS": "0"}))  # fmt: skip
    (tmp_path / "other").mkdir()
    with new_database(tmp_path / "other") as where:
        other = str(where)
        assert CliRunner().invoke(cli, ["--db", other, "init"]).exit_code == 0
        atomic = load_json(CliRunner().invoke(
            cli, ["--db", other, "import", "zendesk", folder, "--json", "--atomic"]
        ))  # fmt: skip
    for summary in (batched, atomic):
        summary.pop("seconds")
    assert batched == atomic
    assert batched["created"] == {
        "customers": 12, "conversations": 40, "messages": small_export.total_messages,
    }  # fmt: skip
    again = load_json(run("import", "zendesk", folder, "--json",
                          env={"OCX_IMPORT_BATCH_SECONDS": "0"}))  # fmt: skip
    assert again["created"] == dict.fromkeys(again["created"], 0)
    assert again["updated"] == dict.fromkeys(again["updated"], 0)
    assert again["unchanged"] == batched["created"]
    assert_complete(initialized, small_export)


def test_a_bad_ticket_after_committed_batches_says_what_was_kept_and_a_rerun_continues(
    run: Run, initialized: Path, tmp_path: Path, assert_error: AssertError, load_json: LoadJson
) -> None:
    export = write_export(tmp_path / "bad" / "zendesk", 40, users=12, bad_requester_at=31)
    batch_now = {"OCX_IMPORT_BATCH_SECONDS": "0"}
    # A requester not in the export is skipped and listed; --strict makes it an error.
    line = assert_error(run("import", "zendesk", str(export.folder), "--strict", env=batch_now))
    assert "ticket 31" in line and "requester 999999 is not in this export" in line
    assert "the 12 customers and 30 tickets imported before it are kept" in line
    assert "run the import again to continue" in line
    assert scalar(initialized, "SELECT count(*) FROM conversations") == 30
    assert_every_ticket_whole(initialized, export)

    fixed = json.loads((export.folder / "tickets.json").read_text(encoding="utf-8"))
    fixed["tickets"][30]["requester_id"] = 1000
    (export.folder / "tickets.json").write_text(json.dumps(fixed), encoding="utf-8")
    export.tickets["31"]["requester_id"] = 1000
    summary = load_json(run("import", "zendesk", str(export.folder), "--json", env=batch_now))
    assert summary["created"]["conversations"] == 10
    assert summary["unchanged"]["conversations"] == 30
    assert_complete(initialized, export)


def test_a_bad_ticket_in_an_atomic_import_leaves_the_database_as_it_was(
    run: Run, initialized: Path, tmp_path: Path, assert_error: AssertError, dump: Dump
) -> None:
    export = write_export(tmp_path / "bad" / "zendesk", 40, users=12, bad_requester_at=31)
    before = dump(initialized)
    line = assert_error(run("import", "zendesk", str(export.folder), "--atomic", "--strict",
                            env={"OCX_IMPORT_BATCH_SECONDS": "0"}))  # fmt: skip
    assert "ticket 31" in line and "kept" not in line
    assert dump(initialized) == before


def test_atomic_is_in_the_help(run: Run) -> None:
    result = run("import", "--help")
    assert result.exit_code == 0
    assert "--atomic" in result.output and "all or nothing" in result.output
