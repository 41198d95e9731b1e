"""Fixtures for ocx-imap's tests: ocx.testing's (an isolated environment with entry points
ON, so the installed package is what gets tested, and a real database of the suite's
engine), a real Dovecot IMAP server on 127.0.0.1 for the whole session (tests/dovecot.py),
and `account`, which writes an `[imap.support]` table for it into ocx.toml."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ocx.testing import db, env, error, ocx, rows, summary  # noqa: F401

sys.path.insert(0, str(Path(__file__).parent))
import dovecot

PASSWORD_ENV = "OCX_TEST_IMAP_PASSWORD"


@pytest.fixture(scope="session")
def server() -> Iterator[dovecot.Server]:
    with dovecot.running() as running:
        yield running


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def password_env() -> str:
    """The environment variable the [imap.support] table names for the password."""
    return PASSWORD_ENV


@pytest.fixture
def account(server: dovecot.Server, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """account(mailbox, **keys): an [imap.support] table in ocx.toml for the test server
    (IMAPS, its certificate trusted through ca_file, the password in PASSWORD_ENV), KEYS
    changing or, given None, removing its keys; returns the SOURCE, `imap:support`."""
    monkeypatch.setenv(PASSWORD_ENV, dovecot.PASSWORD)

    def write(mailbox: str, **keys: Any) -> str:
        table: dict[str, Any] = {
            "host": "127.0.0.1", "port": server.imaps_port, "tls": "imaps",
            "username": dovecot.USER, "password_env": PASSWORD_ENV, "mailbox": mailbox,
            "ca_file": str(server.ca_file), "timeout": 10,
        }  # fmt: skip
        table.update(keys)
        config = Path(os.environ["OCX_HOME"]) / "ocx.toml"  # set by the env fixture
        text = config.read_text() if config.exists() else ""
        text = text.split("\n[imap.support]\n")[0]
        lines = [f"{k} = {_toml(v)}" for k, v in table.items() if v is not None]
        config.write_text(text + "\n[imap.support]\n" + "\n".join(lines) + "\n")
        return "imap:support"

    return write
