"""`ocx import helpscout` against hostile files, through the real CLI with the installed
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
ANA = {
    "id": 1,
    "firstName": "Ana",
    "lastName": "Lund",
    "_embedded": {"emails": [{"id": 1, "value": "ana@example.com", "type": "work"}]},
}
NOT_TEXT = [(5, "a number"), ({"a": 1}, "an object"), (["x"], "an array"),
            (False, "true or false")]  # fmt: skip


def conversation(number: int, *threads: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": number, "subject": f"Conversation {number}", "status": "active",
            "primaryCustomer": {"id": 1}, "createdAt": "2025-06-02T09:15:00Z", **fields,
            "_embedded": {"threads": list(threads)}}  # fmt: skip


def thread(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "type": "customer", "body": f"<p>Thread {number}</p>",
            "createdAt": "2025-06-02T09:15:00Z", **fields}  # fmt: skip


def customers(*people: Any) -> dict[str, Any]:
    return {"_embedded": {"customers": list(people)}, "page": {"number": 1, "totalPages": 1}}


def conversations(*items: Any) -> dict[str, Any]:
    return {"_embedded": {"conversations": list(items)}, "page": {"number": 1, "totalPages": 1}}


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
    """The page is level 1, _embedded 2, the conversations array 3, a conversation 4; levels
    5 to 63 open on line 2, the rest on line 3."""
    path = tmp_path / "conversations.json"
    head = '{"_embedded": {"conversations": [{"id": 1, "primaryCustomer": {"id": 1}, "x":\n'
    path.write_text(
        head + "[" * 59 + "\n" + "[" * (levels - 63) + "0" + "]" * (levels - 4)
        + "}]}, \"page\": {}}",
        encoding="utf-8",
    )  # fmt: skip
    line = refused("helpscout", str(path), "--strict")
    if deep:
        assert line.startswith(f"Error: {path}:3: {TOO_DEEP}"), line
    else:  # read: the customer is not in the export, which --strict refuses
        assert "nested" not in line and "customer 1 is not in this export" in line, line


# --- NUL --------------------------------------------------------------------------------------


def test_nul_characters_are_removed_and_the_rest_is_found(
    tmp_path: Path, ocx: Any, summary: Any, rows: Any
) -> None:
    folder = tmp_path / "helpscout"
    save_json(folder / "customers.json", customers({**ANA, "firstName": "An\u0000a",
                                                    "background": "VIP\u0000"}))  # fmt: skip
    save_json(folder / "conversations.json", conversations(
        conversation(7, thread(70, body="<p>Still\u0000 waiting</p>"),
                     subject="Refund\u0000 pending")))  # fmt: skip
    assert summary(ocx("import", "helpscout", str(folder), "--json"))["skipped"] == []
    assert rows("SELECT name, context FROM customers") == [{"name": "Ana Lund", "context": "VIP"}]
    assert rows("SELECT subject FROM conversations") == [{"subject": "Refund pending"}]
    assert rows("SELECT body FROM messages") == [{"body": "Still waiting"}]
    for word in ("pending", "waiting"):
        found = json.loads(ocx("customer", "search", word, "--json").stdout)
        assert [c["email"] for c in found] == ["ana@example.com"], word


# --- text fields that are not text -------------------------------------------------------------


@pytest.mark.parametrize(("value", "called"), NOT_TEXT, ids=[c for _, c in NOT_TEXT])
@pytest.mark.parametrize("field", ["subject", "status", "createdAt"])
def test_a_conversation_field_that_is_not_text_is_a_bad_record_at_its_line(
    tmp_path: Path, refused: Any, field: str, value: Any, called: str
) -> None:
    folder = tmp_path / "helpscout"
    save_json(folder / "customers.json", customers(ANA))
    path = save_json(folder / "conversations.json", conversations(
        conversation(122), conversation(123, **{field: value}), conversation(124)))  # fmt: skip
    line = record_line(path.read_text(encoding="utf-8"), 123)
    assert refused("helpscout", str(folder)) == (
        f"Error: {path}:{line}: conversation 123: {field} is {called}, expected text{SKIP_HINT}"
    )


@pytest.mark.parametrize(("where", "field"), [("customer", "firstName"),
                                              ("customer", "background"), ("email", "value"),
                                              ("thread", "body"), ("thread", "type")])  # fmt: skip
def test_a_customer_or_thread_field_that_is_not_text_is_a_bad_record(
    tmp_path: Path, refused: Any, where: str, field: str
) -> None:
    """A thread is told at the line of its conversation, the record it came in."""
    folder = tmp_path / "helpscout"
    bo = {"id": 2, "firstName": "Bo", "_embedded": {"emails": [{"value": "bo@example.com"}]}}
    threads = [thread(70), thread(71)]
    if where == "customer":
        bo[field] = 7
    elif where == "email":
        bo["_embedded"]["emails"][0]["value"] = 7
    else:
        threads[1][field] = 7
    people = save_json(folder / "customers.json", customers(ANA, bo))
    talks = save_json(folder / "conversations.json", conversations(conversation(5, *threads)))
    if where == "thread":
        file, what, line_id = talks, f"conversation 5 thread 71: {field}", 5
    else:
        name = "_embedded.emails value" if where == "email" else field
        file, what, line_id = people, f"customer 2: {name}", 2
    line = record_line(file.read_text(encoding="utf-8"), line_id)
    assert refused("helpscout", str(folder)) == (
        f"Error: {file}:{line}: {what} is a number, expected text{SKIP_HINT}"
    )


def test_with_skip_bad_the_rest_imports_and_the_bad_conversation_is_listed(
    tmp_path: Path, ocx: Any, summary: Any, rows: Any
) -> None:
    folder = tmp_path / "helpscout"
    save_json(folder / "customers.json", customers(ANA))
    path = save_json(folder / "conversations.json", conversations(
        conversation(1, thread(10)), conversation(2, thread(20), subject=["x"]),
        conversation(3, thread(30))))  # fmt: skip
    result = summary(ocx("import", "helpscout", str(folder), "--skip-bad", "--json"))
    line = record_line(path.read_text(encoding="utf-8"), 2)
    assert result["skipped"] == [
        {
            "file": str(path),
            "line": line,
            "reason": "conversation 2: subject is an array, expected text",
        }
    ]
    assert [r["external_id"] for r in rows("SELECT external_id FROM conversations ORDER BY 1")] == [
        "1", "3"]  # fmt: skip
    assert [r["external_id"] for r in rows("SELECT external_id FROM messages ORDER BY 1")] == [
        "10", "30"]  # fmt: skip


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
people = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "firstName", "lastName", "organization", "background", "email", "_embedded")})  # fmt: skip
threads = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "type", "state", "body", "createdAt", "createdBy", "customer")})  # fmt: skip
talks = st.fixed_dictionaries({"id": ids}, optional={
    **{k: field for k in ("subject", "status", "createdAt", "updatedAt", "primaryCustomer")},
    "_embedded": st.fixed_dictionaries({"threads": st.lists(threads, max_size=3)}) | deep()})  # fmt: skip


def encoded(value: Any) -> bytes:
    return json.dumps(value, indent=1).encode("utf-8", "surrogatepass")


@FUZZ
@given(
    folks=st.lists(people | deep(), max_size=3),
    items=st.lists(talks | deep(), max_size=3),
    wrap=st.booleans(),
    skip_bad=st.booleans(),
)
def test_arbitrary_json_imports_or_fails_cleanly(
    db: Path, folks: list[Any], items: list[Any], wrap: bool, skip_bad: bool
) -> None:
    """Records of any shape, in pages of the right shape (or not: `wrap` False)."""
    files = {
        "customers.json": encoded(customers(*folks) if wrap else folks),
        "conversations.json": encoded(conversations(*items) if wrap else items),
    }
    import_or_refuse(db, "helpscout", files, skip_bad)
