"""`ocx import freshdesk` against hostile files, through the real CLI with the installed
package: JSON nested past 64 levels, NUL characters, text fields holding numbers, objects or
arrays, and arbitrary bytes or JSON (hypothesis). Every file is made here. A refused import
leaves the database file byte for byte as it was (checked after a WAL checkpoint)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx.testing import cli, import_or_refuse, record_line, save_json, settled

TOO_DEEP = "JSON nested more than 64 levels deep"
SKIP_HINT = " (use --skip-bad to import the rest)"
ANA = {"id": 1, "name": "Ana Lund", "email": "ana@example.com"}
NOT_TEXT = [(5, "a number"), ({"a": 1}, "an object"), (["x"], "an array"),
            (False, "true or false")]  # fmt: skip


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "requester_id": 1, "subject": f"Ticket {number}", "status": 2,
            "description_text": f"Body {number}", "created_at": "2025-06-02T09:15:00Z",
            **fields}  # fmt: skip


@pytest.fixture
def refused(db: Path, dump: Callable[[], list[str]], error: Callable[[Result], str]) -> Any:
    """refused(*args): `ocx import ARGS` fails with one clean `Error:` line and leaves the
    database file byte-identical. Returns the line."""

    def check(*args: str) -> str:
        before, rows_before = settled(db), dump()
        line = error(CliRunner().invoke(cli, ["--db", str(db), "import", *args]))
        assert settled(db) == before and dump() == rows_before
        return line

    return check


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("levels", "deep"), [(64, False), (65, True)])
def test_64_levels_are_read_and_65_refused_at_the_line_where_it_opens(
    tmp_path: Path, refused: Any, levels: int, deep: bool
) -> None:
    """The tickets array is level 1; levels 2 to 63 open on line 2, the rest on line 3."""
    path = tmp_path / "tickets.json"
    path.write_text(
        "[\n" + "[" * 62 + "\n" + "[" * (levels - 63) + "0" + "]" * (levels - 1) + "\n]",
        encoding="utf-8",
    )
    line = refused("freshdesk", str(path))
    if deep:
        assert line.startswith(f"Error: {path}:3: {TOO_DEEP}"), line
    else:  # read: an array of arrays is no Freshdesk export
        assert "nested" not in line and "not a Freshdesk export" in line, line


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


# --- NUL --------------------------------------------------------------------------------------


def test_nul_characters_are_removed_and_the_rest_is_found(
    tmp_path: Path, ocx: Any, summary: Any, rows: Any
) -> None:
    folder = tmp_path / "freshdesk"
    save_json(
        folder / "contacts.json", [{**ANA, "name": "Ana\u0000 Lund", "description": "VIP\u0000"}]
    )
    save_json(folder / "tickets.json", [ticket(7, subject="Refund\u0000 pending",
                                               description_text="Invoice\u0000 overdue")])  # fmt: skip
    save_json(folder / "conversations" / "7.json",
              [{"id": 70, "body_text": "Still\u0000 waiting", "incoming": True}])  # fmt: skip
    assert summary(ocx("import", "freshdesk", str(folder), "--json"))["skipped"] == []
    assert rows("SELECT name, context FROM customers") == [{"name": "Ana Lund", "context": "VIP"}]
    assert rows("SELECT subject FROM conversations") == [{"subject": "Refund pending"}]
    assert sorted(r["body"] for r in rows("SELECT body FROM messages")) == [
        "Invoice overdue", "Still waiting"]  # fmt: skip
    for word in ("pending", "overdue", "waiting"):
        found = json.loads(ocx("customer", "search", word, "--json").stdout)
        assert [c["email"] for c in found] == ["ana@example.com"], word


# --- text fields that are not text -------------------------------------------------------------


@pytest.mark.parametrize(("value", "called"), NOT_TEXT, ids=[c for _, c in NOT_TEXT])
@pytest.mark.parametrize("field", ["subject", "description_text", "created_at"])
def test_a_ticket_field_that_is_not_text_is_a_bad_record_at_its_line(
    tmp_path: Path, refused: Any, field: str, value: Any, called: str
) -> None:
    folder = tmp_path / "freshdesk"
    save_json(folder / "contacts.json", [ANA])
    path = save_json(
        folder / "tickets.json", [ticket(122), ticket(123, **{field: value}), ticket(124)]
    )
    line = record_line(path.read_text(encoding="utf-8"), 123)
    assert refused("freshdesk", str(folder)) == (
        f"Error: {path}:{line}: ticket 123: {field} is {called}, expected text{SKIP_HINT}"
    )


def test_a_status_may_be_a_number_or_text_but_not_an_object(tmp_path: Path, refused: Any) -> None:
    folder = tmp_path / "freshdesk"
    save_json(folder / "contacts.json", [ANA])
    path = save_json(folder / "tickets.json", [ticket(1), ticket(2, status="Open"),
                                               ticket(3, status={"id": 2})])  # fmt: skip
    line = record_line(path.read_text(encoding="utf-8"), 3)
    assert refused("freshdesk", str(folder)) == (
        f"Error: {path}:{line}: ticket 3: status is an object, expected text or a number{SKIP_HINT}"
    )


@pytest.mark.parametrize(("kind", "field"), [("contact", "email"), ("contact", "name"),
                                             ("entry", "body_text"), ("entry", "from_email")])  # fmt: skip
def test_a_contact_or_entry_field_that_is_not_text_is_a_bad_record(
    tmp_path: Path, refused: Any, kind: str, field: str
) -> None:
    folder = tmp_path / "freshdesk"
    contacts = [ANA, {"id": 2, "name": "Bo", "email": "bo@example.com"}]
    entries = [{"id": 70, "body_text": "hi"}, {"id": 71, "body_text": "there"}]
    (contacts if kind == "contact" else entries)[1][field] = ["x"]
    people = save_json(folder / "contacts.json", contacts)
    save_json(folder / "tickets.json", [ticket(7)])
    notes = save_json(folder / "conversations" / "7.json", entries)
    file, what, number = (people, "contact 2", 2) if kind == "contact" else (
        notes, "conversation entry 71", 71)  # fmt: skip
    line = record_line(file.read_text(encoding="utf-8"), number)
    assert refused("freshdesk", str(folder)) == (
        f"Error: {file}:{line}: {what}: {field} is an array, expected text{SKIP_HINT}"
    )


def test_with_skip_bad_the_rest_imports_and_the_bad_ticket_is_listed(
    tmp_path: Path, ocx: Any, summary: Any, rows: Any
) -> None:
    folder = tmp_path / "freshdesk"
    save_json(folder / "contacts.json", [ANA])
    path = save_json(folder / "tickets.json", [ticket(1), ticket(2, subject=42), ticket(3)])
    save_json(folder / "conversations" / "2.json", [{"id": 20, "body_text": "hi"}])
    result = summary(ocx("import", "freshdesk", str(folder), "--skip-bad", "--json"))
    line = record_line(path.read_text(encoding="utf-8"), 2)
    assert result["skipped"] == [  # its conversations file goes with it, not as an orphan
        {"file": str(path), "line": line, "reason": "ticket 2: subject is a number, expected text"}
    ]
    assert [r["external_id"] for r in rows("SELECT external_id FROM conversations ORDER BY 1")] == [
        "1", "3"]  # fmt: skip


# --- hypothesis --------------------------------------------------------------------------------

FUZZ = settings(max_examples=int(os.environ.get("OCX_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
odd = st.one_of(st.text(max_size=8), st.sampled_from(["\x00", "a\x00", "ana@example.com", "[["]))
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False),
              odd),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def deep(draw: st.DrawFn) -> Any:
    value = draw(anything)
    if draw(st.integers(0, 7)) == 0:
        for _ in range(draw(st.integers(58, 70))):
            value = [value] if draw(st.booleans()) else {"k": value}
    return value


ids = st.one_of(st.sampled_from([1, 2, "1"]), anything)
field = st.one_of(odd, odd, deep())
contacts = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "name", "email", "phone", "time_zone", "description", "custom_fields", "other_emails")})  # fmt: skip
tickets = st.fixed_dictionaries({"id": ids, "requester_id": ids}, optional={k: field for k in (
    "subject", "status", "description", "description_text", "created_at", "requester")})  # fmt: skip
entries = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "body_text", "body", "from_email", "incoming", "private", "created_at")})  # fmt: skip


def encoded(value: Any) -> bytes:
    return json.dumps(value, indent=1).encode("utf-8", "surrogatepass")


@FUZZ
@given(
    people=st.lists(contacts | deep(), max_size=3),
    cases=st.lists(tickets | deep(), max_size=3),
    notes=st.dictionaries(st.sampled_from(["1", "2"]), st.lists(entries, max_size=2) | deep(),
                          max_size=2),
    skip_bad=st.booleans(),
)  # fmt: skip
def test_arbitrary_json_imports_or_fails_cleanly(
    db: Path, people: list[Any], cases: list[Any], notes: dict[str, Any], skip_bad: bool
) -> None:
    files = {"contacts.json": encoded(people), "tickets.json": encoded(cases)}
    files.update({f"conversations/{k}.json": encoded(v) for k, v in notes.items()})
    import_or_refuse(db, "freshdesk", files, skip_bad)
