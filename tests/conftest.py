"""Shared fixtures: an isolated environment, a real SQLite file in tmp_path, and a CliRunner
that invokes the real root group against it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ocx.db"


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own OCX_HOME, caches and clock; nothing leaks in from the machine."""
    home = tmp_path / "home"
    monkeypatch.setenv("OCX_HOME", str(home))
    monkeypatch.delenv("OCX_DB", raising=False)
    monkeypatch.setenv("OCX_DISABLE_PLUGINS", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("USER", "tester")
    # `ocx init` writes the system zone into the starter config; make it the same everywhere.
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("OCX_NOW", raising=False)
    monkeypatch.delenv("OCX_DEBUG", raising=False)
    return home


Run = Callable[..., Result]


@pytest.fixture
def run(db_path: Path) -> Run:
    """run(*args, input=None, env=None): `ocx --db <db_path> *args` through CliRunner."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str | None] | None = None
               ) -> Result:  # fmt: skip
        return CliRunner().invoke(cli, ["--db", str(db_path), *args], input=input, env=env)

    return invoke


@pytest.fixture
def run_bare() -> Run:
    """Like `run` but without `--db`, to test where the database is looked for."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str | None] | None = None
               ) -> Result:  # fmt: skip
        return CliRunner().invoke(cli, list(args), input=input, env=env)

    return invoke


@pytest.fixture
def initialized(run: Run, db_path: Path) -> Path:
    result = run("init")
    assert result.exit_code == 0, result.output
    return db_path


# --- helpers, handed out as fixtures (test modules cannot import conftest: importlib mode) ---

Rows = Callable[..., list[dict[str, Any]]]
Dump = Callable[[Path], list[str]]
LoadJson = Callable[[Result], Any]
AssertError = Callable[..., str]
AssertUsageError = Callable[[Result], None]


def _rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _load_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _assert_error(result: Result, *, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def _assert_usage_error(result: Result) -> None:
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def rows() -> Rows:
    """rows(path, sql, params=()): query the database with plain sqlite3, as datasette or
    the sqlite3 shell would; each row a dict."""
    return _rows


@pytest.fixture
def dump() -> Dump:
    """dump(path): every schema statement and row, to prove a failed command changed nothing."""
    return _dump


@pytest.fixture
def load_json() -> LoadJson:
    """load_json(result): the command succeeded; its stdout parsed as JSON."""
    return _load_json


@pytest.fixture
def assert_error() -> AssertError:
    """assert_error(result, exit_code=1): a user error: the exit code, stderr one line
    starting `Error:`, no traceback, nothing on stdout. Returns that line."""
    return _assert_error


@pytest.fixture
def assert_usage_error() -> AssertUsageError:
    """assert_usage_error(result): a click usage error: exit 2, `Error:` on stderr, no traceback."""
    return _assert_usage_error
