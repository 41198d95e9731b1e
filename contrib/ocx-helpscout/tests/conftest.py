"""Fixtures for ocx-helpscout's tests: an isolated environment with entry points ON (the
installed package is what gets tested), a real SQLite file in tmp_path, and the samples."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli

# tests/ -> ocx-helpscout/ -> contrib/ -> the ocx checkout; the samples sit beside it.
SAMPLES = Path(
    os.environ.get("OCX_FIXTURES")
    or Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
)


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
def samples() -> Path:
    folder = SAMPLES / "helpscout"
    assert folder.is_dir(), f"the sample exports are missing: {folder} (set OCX_FIXTURES)"
    return folder


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
