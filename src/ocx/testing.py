"""Pytest fixtures for testing an ocx plugin through its installed entry point.

A plugin package's tests/conftest.py imports the ones it needs:

    from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

`env` (autouse there) gives each test its own OCX_HOME and caches with entry-point loading
ON, so the installed package is what gets tested; `db` is a real SQLite file made by
`ocx init`; `ocx(*args)` runs the real root group against it. Imported only by tests.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli


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


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A fresh ocx database (made by `ocx init`) in tmp_path."""
    path = tmp_path / "ocx.db"
    result = CliRunner().invoke(cli, ["--db", str(path), "init"])
    assert result.exit_code == 0, result.output
    return path


Ocx = Callable[..., Result]


@pytest.fixture
def ocx(db: Path) -> Ocx:
    """ocx(*args): `ocx --db <db> ARGS` through the real root group."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", str(db), *map(str, args)])

    return invoke


@pytest.fixture
def rows(db: Path) -> Callable[..., list[dict[str, Any]]]:
    """rows(sql, params=()): query the database with plain sqlite3."""

    def query(sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        conn = sqlite3.connect(db)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()

    return query


@pytest.fixture
def dump(db: Path) -> Callable[[], list[str]]:
    """dump(): every schema statement and row, to prove a failed import changed nothing."""

    def everything() -> list[str]:
        conn = sqlite3.connect(db)
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    return everything


@pytest.fixture
def summary() -> Callable[[Result], dict[str, Any]]:
    """summary(result): the import succeeded; its --json summary."""

    def parse(result: Result) -> dict[str, Any]:
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return parse


@pytest.fixture
def error() -> Callable[[Result], str]:
    """error(result): exit 1 and one `Error:` line on stderr, no traceback; that line."""

    def check(result: Result) -> str:
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: "), result.stderr
        assert "Traceback" not in result.output
        return lines[0]

    return check


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
