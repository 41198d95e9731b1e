"""The store: pragmas, transactions that are all or nothing, and writers that wait their turn."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ocx import customers
from ocx.errors import OcxError
from ocx.store import Busy, create_store, open_store
from ocx.testing import connect

if TYPE_CHECKING:
    from conftest import Dump, Rows, Run


def ocx_process(db: Path, *args: str) -> subprocess.Popen[str]:
    """The installed program in its own process, as a second terminal or a cron job runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "ocx", "--db", str(db), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.fixture
def customer(run: Run, initialized: Path) -> int:
    result = run("customer", "add", "judy@example.com", "--name", "Judy Park")
    assert result.exit_code == 0, result.output
    return int(result.stdout)


@pytest.mark.sqlite_only
def test_open_store_sets_foreign_keys_and_wal(initialized: Path) -> None:
    store = open_store(initialized)
    try:
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.busy_timeout == 30
    finally:
        store.close()


class _Holder:
    """Another ocx connection holding the write lock in a thread; `join()` fails the test if
    the holder itself failed."""

    def __init__(self, db: Path | str, seconds: float) -> None:
        self.failure: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(db, seconds), daemon=True)
        self._thread.start()
        # Either the lock is held or the holder failed: never wait for an event nobody sets.
        while not self._started.wait(0.05):
            if not self._thread.is_alive():
                self.join()
                raise AssertionError("the holder ended without taking the write lock")

    def _hold(self, db: Path | str, seconds: float) -> None:
        try:
            store = open_store(db)
            try:
                with store.write():
                    self._started.set()
                    time.sleep(seconds)
            finally:
                store.close()
        except BaseException as exc:
            self.failure = exc

    def join(self) -> None:
        self._thread.join(60)
        assert not self._thread.is_alive(), "the holder still holds the write lock after 60 s"
        if self.failure is not None:
            raise AssertionError(f"the holder failed: {self.failure!r}") from self.failure


def _hold_write_lock(db: Path | str, seconds: float) -> _Holder:
    """Another ocx (its own store and connection) takes the write lock and keeps it for
    `seconds`: the same lock on either engine (BEGIN IMMEDIATE on SQLite, the advisory lock
    on PostgreSQL)."""
    return _Holder(db, seconds)


def test_a_writer_waits_for_the_lock_instead_of_failing(initialized: Path) -> None:
    store = open_store(initialized, busy_timeout=10)
    holder = _hold_write_lock(initialized, 1.0)
    try:
        began = time.monotonic()
        with store.write():
            customers.add(store, "waited@example.com", author="tester")
        assert time.monotonic() - began >= 0.9
    finally:
        holder.join()
        store.close()


def test_a_writer_gives_up_after_busy_timeout_with_advice(initialized: Path, rows: Rows) -> None:
    store = open_store(initialized, busy_timeout=0.3)
    holder = _hold_write_lock(initialized, 1.5)
    try:
        with pytest.raises(Busy, match="busy_timeout"), store.write():
            customers.add(store, "never@example.com", author="tester")
    finally:
        holder.join()
        store.close()
    assert rows(initialized, "SELECT id FROM customers") == []


def test_busy_timeout_comes_from_the_config(run: Run, initialized: Path) -> None:
    assert run("config", "set", "busy_timeout", "0.3").exit_code == 0
    holder = _hold_write_lock(initialized, 2.0)
    try:
        result = run("customer", "add", "late@example.com")
    finally:
        holder.join()
    assert result.exit_code == 1
    assert "held the write lock for over 0.3 s" in result.output
    assert run("config", "set", "busy_timeout", "99999").exit_code == 1
    assert run("config", "set", "busy_timeout", "true").exit_code == 1


def test_create_store_twice_applies_each_migration_once(db_path: Path, rows: Rows) -> None:
    for _ in range(2):
        create_store(db_path).close()
    names = [r["name"] for r in rows(db_path, "SELECT name FROM migrations ORDER BY id")]
    assert names and len(names) == len(set(names))


def test_two_processes_writing_at_once_both_succeed(
    initialized: Path, customer: int, rows: Rows
) -> None:
    """Two writers, ten notes each, all started together: each waits for the lock (busy
    timeout, BEGIN IMMEDIATE) instead of failing with 'database is locked'."""
    processes = [
        ocx_process(initialized, "customer", "note", str(customer), f"{writer} note {n}")
        for n in range(10)
        for writer in ("first", "second")
    ]
    results = [finish(p) for p in processes]
    for code, _, err in results:
        assert code == 0, err
        assert "Error" not in err
    notes = rows(initialized, "SELECT text FROM timeline WHERE kind = 'note'")
    assert sorted(n["text"] for n in notes) == sorted(
        f"{writer} note {n}" for n in range(10) for writer in ("first", "second")
    )
    ids = [r["id"] for r in rows(initialized, "SELECT id FROM timeline")]
    assert len(ids) == len(set(ids)) == 21  # 20 notes and the "created" entry


def test_several_first_inits_at_once_make_one_database(
    tmp_path: Path, db_path: Path | str, rows: Rows
) -> None:
    # A file in a folder not made yet; on PostgreSQL, the test's new empty database.
    path = tmp_path / "fresh" / "ocx.db" if isinstance(db_path, Path) else db_path
    results = [finish(p) for p in [ocx_process(path, "init") for _ in range(4)]]
    for code, out, err in results:
        assert code == 0, err
        assert out == f"{path}\n"
    names = [r["name"] for r in rows(path, "SELECT name FROM migrations")]
    assert names and len(names) == len(set(names))
    if isinstance(path, Path):
        assert rows(path, "PRAGMA journal_mode") == [{"journal_mode": "wal"}]


@pytest.mark.sqlite_only  # another program's BEGIN IMMEDIATE on the file
def test_a_writer_waits_for_a_lock_held_by_another_program(
    initialized: Path, customer: int, rows: Rows
) -> None:
    holder = sqlite3.connect(initialized, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute(
        "INSERT INTO timeline (customer_id, at, kind, text) "
        "VALUES (?, '2026-01-01T00:00:00Z', 'note', 'written by the holder')",
        (customer,),
    )
    waiting = ocx_process(initialized, "customer", "note", str(customer), "written by ocx")
    # Give ocx time to reach the lock (if it is slower, it simply finds the lock free).
    time.sleep(0.5)
    holder.execute("COMMIT")
    holder.close()
    code, _, err = finish(waiting)
    assert code == 0, err
    texts = [r["text"] for r in rows(initialized, "SELECT text FROM timeline WHERE kind = 'note'")]
    assert sorted(texts) == ["written by ocx", "written by the holder"]


def test_a_failed_write_leaves_nothing(initialized: Path, dump: Dump) -> None:
    before = dump(initialized)
    store = open_store(initialized)
    try:
        with pytest.raises(RuntimeError), store.write():
            customers.add(store, "half@example.com", author="tester", tags=["x"])
            customers.note(store, "half@example.com", "never kept", author="tester")
            raise RuntimeError("the command failed after writing")
    finally:
        store.close()
    assert dump(initialized) == before


def test_nested_writes_are_one_transaction(initialized: Path, dump: Dump) -> None:
    """A domain call inside a command's transaction joins it: the inner call's error undoes
    what the outer one wrote first."""
    before = dump(initialized)
    store = open_store(initialized)
    try:
        with pytest.raises(OcxError, match="already exists"), store.write():
            customers.add(store, "one@example.com", author="tester")
            customers.add(store, "ONE@example.com", author="tester")
    finally:
        store.close()
    assert dump(initialized) == before


def test_a_committed_write_is_seen_by_a_new_connection(initialized: Path, rows: Rows) -> None:
    store = open_store(initialized)
    try:
        customer_id = customers.add(store, "kept@example.com", author="tester")
    finally:
        store.close()
    assert rows(initialized, "SELECT id, email FROM customers") == [
        {"id": customer_id, "email": "kept@example.com"}
    ]


def _refuse_merges(db: Path | str) -> None:
    """A trigger that fails the last step of a merge: recording it in KEEP's timeline."""
    conn = connect(db)
    try:
        if isinstance(db, Path):
            conn.execute(
                "CREATE TRIGGER no_merges BEFORE INSERT ON timeline WHEN NEW.kind = 'merged' "
                "BEGIN SELECT RAISE(ABORT, 'merges are refused'); END"
            )
            conn.commit()
        else:  # autocommit
            conn.execute(
                "CREATE FUNCTION no_merges() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'merges are refused'; END $$"
            )
            conn.execute(
                "CREATE TRIGGER no_merges BEFORE INSERT ON timeline FOR EACH ROW "
                "WHEN (NEW.kind = 'merged') EXECUTE FUNCTION no_merges()"
            )
    finally:
        conn.close()


def test_merge_that_fails_half_way_rolls_back(run: Run, initialized: Path, dump: Dump) -> None:
    for email in ("keep@example.com", "other@example.com"):
        assert run("customer", "add", email, "--tag", "t").exit_code == 0
    assert run("customer", "note", "other@example.com", "moves only if all moves").exit_code == 0
    _refuse_merges(initialized)
    before = dump(initialized)
    result = run("customer", "merge", "keep@example.com", "other@example.com")
    assert result.exit_code == 1
    assert "merges are refused" in result.stderr
    assert dump(initialized) == before


def _lock_readers_out(db: Path) -> sqlite3.Connection:
    """A connection that keeps every other one from reading, as a checkpoint or a WAL
    recovery does for a moment: exclusive locking mode, with a write done."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE held (x)")
    holder.execute("COMMIT")
    return holder


@pytest.mark.sqlite_only  # SQLite's exclusive locking mode
def test_a_command_waits_while_readers_are_locked_out(
    initialized: Path, customer: int, rows: Rows
) -> None:
    holder = _lock_readers_out(initialized)
    waiting = ocx_process(initialized, "customer", "note", str(customer), "written after")
    time.sleep(0.8)  # long past SQLite's own 50 ms wait: ocx must still be waiting
    holder.execute("DROP TABLE held")
    holder.close()
    code, _, err = finish(waiting)
    assert code == 0, err  # not "is not an ocx database"
    texts = [r["text"] for r in rows(initialized, "SELECT text FROM timeline WHERE kind = 'note'")]
    assert texts == ["written after"]


@pytest.mark.sqlite_only  # SQLite's exclusive locking mode
def test_readers_locked_out_past_busy_timeout_say_busy(run: Run, initialized: Path) -> None:
    assert run("config", "set", "busy_timeout", "0.3").exit_code == 0
    holder = _lock_readers_out(initialized)
    try:
        result = run("customer", "list")
    finally:
        holder.close()
    assert result.exit_code == 1
    assert "the database is busy" in result.output
    assert "not an ocx database" not in result.output
