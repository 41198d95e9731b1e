"""`ocx import freshdesk` against hostile files, through the real CLI with the installed
package, where Freshdesk differs from other importers: nesting in a conversations file, a
status that may be a number. The checks every importer shares (nesting at 64 and 65 levels,
NUL characters, fields that are not text, --skip-bad, arbitrary JSON) run in
test_freshdesk_conformance.py. A refused import leaves the database file byte for byte as
it was (checked after a WAL checkpoint)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ocx.testing import record_line, refusal, save_json
from ocx.testing.records import SKIP_HINT, TOO_DEEP

ANA = {"id": 1, "name": "Ana Lund", "email": "ana@example.com"}


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "requester_id": 1, "subject": f"Ticket {number}", "status": 2,
            "description_text": f"Body {number}", "created_at": "2025-06-02T09:15:00Z",
            **fields}  # fmt: skip


@pytest.fixture
def refused(db: Path, dump: Callable[[], list[str]], error: Callable[[Result], str]) -> Any:
    """refused(*args): see ocx.testing.refusal."""
    return refusal(db, dump, error)


# --- nesting (64 and 65 levels: the conformance suite) ----------------------------------------


def test_nesting_in_a_conversations_file_names_that_file_and_line(
    tmp_path: Path, refused: Any
) -> None:
    folder = tmp_path / "freshdesk"
    save_json(folder / "contacts.json", [ANA])
    save_json(folder / "tickets.json", [ticket(7)])
    entries = folder / "conversations" / "7.json"
    entries.parent.mkdir()
    entries.write_text('[\n{"id": 1, "body_text": "hi"},\n' + '{"a":' * 99 + "0" + "}" * 99
                       + "\n]", encoding="utf-8")  # fmt: skip
    line = refused("freshdesk", str(folder))
    assert line.startswith(f"Error: {entries}:3: {TOO_DEEP}"), line


# --- text fields that are not text (the rest: the conformance suite) -------------------------


def test_a_status_may_be_a_number_or_text_but_not_an_object(tmp_path: Path, refused: Any) -> None:
    folder = tmp_path / "freshdesk"
    save_json(folder / "contacts.json", [ANA])
    path = save_json(folder / "tickets.json", [ticket(1), ticket(2, status="Open"),
                                               ticket(3, status={"id": 2})])  # fmt: skip
    line = record_line(path.read_text(encoding="utf-8"), 3)
    assert refused("freshdesk", str(folder)) == (
        f"Error: {path}:{line}: ticket 3: status is an object, expected text or a number{SKIP_HINT}"
    )
