"""Pytest fixtures for testing an ocx plugin through its installed entry point.

A plugin package's tests/conftest.py imports the ones it needs:

    from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

`env` (autouse there) gives each test its own OCX_HOME and caches with entry-point loading
ON, so the installed package is what gets tested; `db` is a real SQLite file made by
`ocx init`; `ocx(*args)` runs the real root group against it. The plain functions below
(`import_or_refuse`, `settled`, ...) are for tests of hostile or generated exports, ocx's own
included. `ocx.testing.conformance` is the suite every importer must pass (docs/plugins.md).
For a plugin's tests, the ocx objects they drive are re-exported here too (`cli`, `Plugins`,
`App`, `check_channel`, `clock`, `RAILS_TO_IANA`), so a plugin package imports only `ocx.plugin_api` and `ocx.testing`.
Imported only by tests.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx import clock as clock
from ocx.channels import check_channel as check_channel
from ocx.cli import cli as cli
from ocx.cli.app import App as App
from ocx.pluginhost import Plugins as Plugins
from ocx.zones import RAILS_TO_IANA as RAILS_TO_IANA


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own OCX_HOME and caches; plugins come from the installed entry points."""
    home = tmp_path / "home"
    monkeypatch.setenv("OCX_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("OCX_DISABLE_PLUGINS", raising=False)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("OCX_DB", "OCX_DEBUG", "OCX_NOW"):
        monkeypatch.delenv(name, raising=False)
    return home


@contextlib.contextmanager
def new_database(tmp_path: Path) -> Iterator[Path | str]:
    """Where a test's database goes: a file in tmp_path, or with OCX_TEST_DATABASE=postgresql
    a new empty PostgreSQL database on the session's own server (ocx.testing.postgres),
    dropped afterwards."""
    from ocx.testing import postgres

    if not postgres.wanted():
        yield tmp_path / "ocx.db"
        return
    server = postgres.server()
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Path | str]:
    """A database with nothing in it yet (see new_database)."""
    with new_database(tmp_path) as where:
        yield where


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path | str]:
    """A fresh ocx database (made by `ocx init`): a file in tmp_path, or a PostgreSQL
    database when the session runs on PostgreSQL. Needs no other fixture, so a plugin's
    conftest imports only what it uses."""
    with new_database(tmp_path) as where:
        result = CliRunner().invoke(cli, ["--db", str(where), "init"])
        assert result.exit_code == 0, result.output
        yield where


Ocx = Callable[..., Result]


@pytest.fixture
def ocx(db: Path) -> Ocx:
    """ocx(*args): `ocx --db <db> ARGS` through the real root group."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", str(db), *map(str, args)])

    return invoke


def connect(db: Path | str) -> Any:
    """A plain connection to a test's database: sqlite3 for a file; for a PostgreSQL URL,
    psycopg behind ocx.store.pg's translation, so a test's SQLite-flavoured SQL runs on both."""
    if isinstance(db, str):
        from ocx.store.pg import POSTGRES

        return POSTGRES.connect(db)
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    return conn


def query(db: Path | str, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """The rows of a query on the database, with plain sqlite3 (not ocx's store) for a file."""
    conn = connect(db)
    try:
        return [dict(zip(row.keys(), row, strict=True)) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def execute(db: Path | str, sql: str, params: Any = ()) -> None:
    """One statement on the database outside ocx (as another program would), committed."""
    conn = connect(db)
    try:
        conn.execute(sql, params)
        if not isinstance(db, str):
            conn.commit()  # the PostgreSQL connection commits each statement itself
    finally:
        conn.close()


def dump_database(db: Path | str) -> list[str]:
    """Every schema statement and row: sqlite3's iterdump for a file; for PostgreSQL each
    table's columns and its rows in a fixed order."""
    if not isinstance(db, str):
        conn = sqlite3.connect(db)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()
    conn = connect(db)
    try:
        out: list[str] = []
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "ORDER BY tablename")]  # fmt: skip
        for table in tables:
            columns = [row[0] for row in conn.execute(
                "SELECT column_name || ' ' || data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? "
                "ORDER BY ordinal_position", (table,))]  # fmt: skip
            out.append(f"TABLE {table} ({', '.join(columns)})")
            order = ", ".join(str(n + 1) for n in range(len(columns)))
            out.extend(f"{table} {tuple(row)!r}" for row in conn.execute(
                f'SELECT * FROM "{table}" ORDER BY {order}'))  # fmt: skip
        return out
    finally:
        conn.close()


def refusal(db: Path, dump: Callable[[], list[str]], error: Callable[[Result], str]
            ) -> Callable[..., str]:  # fmt: skip
    """refusal(db, dump, error)(*args): `ocx import ARGS` fails with one clean `Error:` line
    and leaves the database file byte-identical (and `dump()` as it was). Returns the line."""

    def check(*args: str) -> str:
        before, rows_before = settled(db), dump()
        line = error(CliRunner().invoke(cli, ["--db", str(db), "import", *args]))
        assert settled(db) == before and dump() == rows_before
        return line

    return check


@pytest.fixture
def rows(db: Path) -> Callable[..., list[dict[str, Any]]]:
    """rows(sql, params=()): query the database with plain sqlite3."""

    return lambda sql, params=(): query(db, sql, params)


@pytest.fixture
def dump(db: Path) -> Callable[[], list[str]]:
    """dump(): every schema statement and row, to prove a failed import changed nothing."""

    return lambda: dump_database(db)


@pytest.fixture
def summary() -> Callable[[Result], dict[str, Any]]:
    """summary(result): the import succeeded; its --json summary."""

    def parse(result: Result) -> dict[str, Any]:
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return parse


def _error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def error() -> Callable[[Result], str]:
    """error(result): exit 1 and one `Error:` line on stderr, no traceback; that line."""
    return _error_line


def write_export(path: Path, data: Any, ascii_only: bool) -> None:
    """JSON as an export would be saved; a lone surrogate written raw is not UTF-8."""
    path.write_bytes(json.dumps(data, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


def import_twice(importer: Any, folder: Path, path: Path, skip_bad: bool) -> None:
    """For generated exports: the import either fails with a clear OcxError (never another
    exception), or succeeds and a second import of the same files creates nothing new."""
    from ocx import importing
    from ocx.errors import OcxError
    from ocx.store import create_store

    store = create_store(folder / "ocx.db")
    try:
        for again in (False, True):
            try:
                summary = importing.run(store, importer, [path], author="t", skip_bad=skip_bad)
            except OcxError as exc:
                assert str(exc).strip(), "an error must say what is wrong"
                return
            if again:
                assert summary.created == dict.fromkeys(importing.KINDS, 0)
    finally:
        store.close()


def save_json(path: Path, data: Any, indent: int | None = 1) -> Path:
    """`data` as a test export's JSON file, its folders made; pretty by default so records
    fall on lines of their own (the lines errors name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False), encoding="utf-8")
    return path


def record_line(text: str, number: int, start: int = 0) -> int:
    """The line where the object whose first key is `"id": number` starts, from `start` on:
    the line an error about that record must name."""
    found = re.compile(r'\{\s*"id": ' + str(number) + ",").search(text, start)
    assert found is not None, number
    return text.count("\n", 0, found.start()) + 1


def latin1_in_line(path: Path, pattern: bytes, occurrence: int = 0) -> int:
    """Put a Latin-1 byte (è) just after the `occurrence`-th `pattern` in `path`; its line
    (for tests that a non-UTF-8 byte is reported on the line it is on)."""
    data = path.read_bytes()
    at = -1
    for _ in range(occurrence + 1):
        at = data.index(pattern, at + 1)
    at += len(pattern)
    path.write_bytes(data[:at] + "è".encode("latin-1") + data[at:])
    return data.count(b"\n", 0, at) + 1


# Every column an import fills with text from the export: where a NUL must not end up.
TEXT_COLUMNS = {
    "customers": ("email", "name", "company", "phone", "time_zone", "language", "context"),
    "conversations": ("subject", "status", "external_id"),
    "messages": ("body", "author", "external_id"),
}


def settled(db: Path | str) -> bytes:
    """The database file's bytes with everything committed in it: a checkpoint moves what
    the WAL holds into the file (and empties the WAL), so nothing written can hide there.
    A PostgreSQL database has no file: its full dump stands in."""
    if isinstance(db, str):
        return "\n".join(dump_database(db)).encode()
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db.read_bytes()


def text_cells(db: Path | str) -> Iterator[str]:
    """Every stored text in TEXT_COLUMNS, to look for what an import must have removed."""
    conn = connect(db)
    try:
        for table, columns in TEXT_COLUMNS.items():
            for row in conn.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                yield from (cell for cell in row if isinstance(cell, str))
    finally:
        conn.close()


@contextlib.contextmanager
def copy_of(template: Path | str, folder: Path) -> Iterator[Path | str]:
    """A copy of a database, for one test or example: the file copied into `folder`, or a
    new PostgreSQL database made from `template` (nobody may be connected to it), dropped
    afterwards."""
    if not isinstance(template, str):
        db = folder / "ocx.db"
        shutil.copyfile(template, db)
        yield db
        return
    from ocx.testing import postgres

    server = postgres.server()
    url = server.create_database(copy_of=template)
    try:
        yield url
    finally:
        server.drop_database(url)


def import_or_refuse(
    template: Path | str, source: str, files: dict[str, bytes], skip_bad: bool
) -> dict[str, Any] | None:
    """For generated exports: `ocx import SOURCE FOLDER --json` on `files` (path in the folder:
    bytes), against a copy of `template` so every example starts the same. Anything in must
    give a clean import that stores no NUL (its summary), or one planned `Error:` line, no
    traceback, and a database file byte for byte as it was (None)."""
    with tempfile.TemporaryDirectory() as tmp, copy_of(template, Path(tmp)) as db:
        folder = Path(tmp) / source
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        before = settled(db)
        args = ["--db", str(db), "import", source, str(folder), "--json"]
        result = CliRunner().invoke(cli, [*args, *(["--skip-bad"] if skip_bad else [])])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        if result.exit_code == 0:
            assert not [cell for cell in text_cells(db) if "\x00" in cell]
            return json.loads(result.stdout)
        line = _error_line(result)
        assert result.stdout == "", result.stdout
        # An error nobody planned for says "--debug"; an importer's crash says "importer failed".
        assert "--debug" not in line and "importer failed" not in line, line
        assert settled(db) == before, "a refused import changed the database file"
        return None


class Recorder:
    """A connection stand-in that keeps every statement (and its parameters) run through it,
    for query-plan checks; statements run with executemany are kept without parameters."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Any]] = []

    def execute(self, statement: str, params: Any = ()) -> sqlite3.Cursor:
        self.statements.append((statement, params))
        return self.conn.execute(statement, params)

    def executemany(self, statement: str, params: Any) -> sqlite3.Cursor:
        self.statements.append((statement, None))
        return self.conn.executemany(statement, params)


def assert_no_big_scan(plan: str, small: tuple[str, ...] = ()) -> None:
    """An EXPLAIN QUERY PLAN (detail lines) reads no table from end to end (by name or
    alias), but the `small` ones: a later change cannot fall back to a scan unseen."""
    for line in plan.splitlines():
        words = line.split()
        if words[:1] == ["SCAN"] and words[1] not in small and not words[1].startswith("("):
            pytest.fail(f"a scan of {words[1]}:\n{plan}")


def assert_uses(plan: str, *indexes: str, small: tuple[str, ...] = ()) -> None:
    """The plan scans no big table and searches through every one of `indexes`."""
    assert_no_big_scan(plan, small)
    for index in indexes:
        assert f"INDEX {index}" in plan, f"{index} is not used:\n{plan}"


def read_terminal(leader: int, process: Any, seconds: float = 120) -> bytes:
    """Everything a child wrote to a pseudo-terminal (`pty.openpty()`, the follower side
    already closed here), read until the child closes it or `seconds` pass; closes `leader`."""
    import os
    import select
    import time

    received, deadline = bytearray(), time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            received += data
    finally:
        os.close(leader)
    return bytes(received)
