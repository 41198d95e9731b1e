"""Fixtures for ocx-freshdesk's tests: ocx.testing's (an isolated environment with entry points
ON, so the installed package is what gets tested, and a real SQLite file), plus the samples
and `export`, the sample export read with plain json (its `counts()` are what a first import
creates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

# tests/ -> ocx-freshdesk/ -> contrib/ -> the ocx checkout, whose tests/fixtures/ holds the
# samples (made by tests/fixtures/build.py).
SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"


@pytest.fixture
def samples() -> Path:
    folder = SAMPLES / "freshdesk"
    assert folder.is_dir(), (
        f"the sample exports are missing: {folder} (run tests/fixtures/build.py)"
    )
    return folder


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Export:
    """What a Freshdesk export folder holds, read with plain json."""

    def __init__(self, folder: Path) -> None:
        self.contacts: list[dict[str, Any]] = load(folder / "contacts.json")
        self.tickets: list[dict[str, Any]] = load(folder / "tickets.json")
        ids = {t["id"] for t in self.tickets}
        self.entries: dict[int, list[dict[str, Any]]] = {
            int(p.stem): load(p)
            for p in sorted((folder / "conversations").glob("*.json"))
            if int(p.stem) in ids
        }

    @property
    def all_entries(self) -> list[dict[str, Any]]:
        return [e for entries in self.entries.values() for e in entries]

    def customer_ids(self) -> set[str]:
        return {str(c["id"]) for c in self.contacts}

    def conversation_ids(self) -> set[str]:
        return {str(t["id"]) for t in self.tickets}

    def message_ids(self) -> set[str]:
        described = [t for t in self.tickets if "description" in t or "description_text" in t]
        return {f"{t['id']}-description" for t in described} | {
            str(e["id"]) for e in self.all_entries
        }

    def counts(self) -> dict[str, int]:
        descriptions = [t for t in self.tickets if "description" in t or "description_text" in t]
        return {
            "customers": len({c["email"].strip().lower() for c in self.contacts}),
            "conversations": len({t["id"] for t in self.tickets}),
            "messages": len(descriptions) + len(self.all_entries),
        }


@pytest.fixture
def export(samples: Path) -> Export:
    return Export(samples)
