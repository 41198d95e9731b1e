"""Fixtures for ocx-helpscout's tests: ocx.testing's (an isolated environment with entry points
ON, so the installed package is what gets tested, and a real SQLite file), plus the samples
and `export`, the sample export read with plain json (its `counts()` are what a first import
creates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

# tests/ -> ocx-helpscout/ -> contrib/ -> the ocx checkout, whose tests/fixtures/ holds the
# samples (made by tests/fixtures/build.py).
SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"


@pytest.fixture
def samples() -> Path:
    folder = SAMPLES / "helpscout"
    assert folder.is_dir(), (
        f"the sample exports are missing: {folder} (run tests/fixtures/build.py)"
    )
    return folder


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Export:
    """What a Help Scout export folder holds, read with plain json."""

    def __init__(self, folder: Path) -> None:
        self.customers: list[dict[str, Any]] = load(folder / "customers.json")["_embedded"][
            "customers"
        ]
        self.conversations: list[dict[str, Any]] = load(folder / "conversations.json")["_embedded"][
            "conversations"
        ]

    @property
    def threads(self) -> list[dict[str, Any]]:
        return [t for c in self.conversations for t in c["_embedded"]["threads"]]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Threads that are messages: not events (lineitem), not unsent drafts."""
        return [t for t in self.threads if t["type"] != "lineitem" and t.get("state") != "draft"]

    def customer_ids(self) -> set[str]:
        return {str(c["id"]) for c in self.customers}

    def conversation_ids(self) -> set[str]:
        return {str(c["id"]) for c in self.conversations}

    def message_ids(self) -> set[str]:
        return {str(t["id"]) for t in self.messages}

    def counts(self) -> dict[str, int]:
        emails = {
            e["value"].strip().lower() for c in self.customers for e in c["_embedded"]["emails"][:1]
        }
        return {
            "customers": len(emails),
            "conversations": len({c["id"] for c in self.conversations}),
            "messages": len(self.messages),
        }


@pytest.fixture
def export(samples: Path) -> Export:
    return Export(samples)
