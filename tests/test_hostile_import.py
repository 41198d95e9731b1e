"""`ocx import` against hostile files: JSON nested past any export, NUL characters, text fields
holding numbers, objects or arrays, and arbitrary bytes, JSON and CSV rows (hypothesis).

Every file is made here, in tmp_path. A refused import must leave the database file byte for
byte as it was: `settled` (ocx.testing) checkpoints the WAL first, so a change committed there
cannot hide.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx.cli import cli
from ocx.testing import import_or_refuse, record_line, save_json, settled, text_cells

if TYPE_CHECKING:
    from conftest import AssertError, Dump, LoadJson, Rows, Run

LIMIT = 64  # levels of arrays and objects ocx reads, the outermost counted as 1
TOO_DEEP = f"JSON nested more than {LIMIT} levels deep"
SKIP_HINT = " (use --skip-bad to import the rest)"
KINDS = ("customers", "conversations", "messages")
# What a value that is not text is called, as the error says it.
NOT_TEXT = [(5, "a number"), (2.5, "a number"), ({"text": "Refund"}, "an object"),
            (["Refund"], "an array"), (True, "true or false")]  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def refused(dump: Dump, assert_error: AssertError) -> Callable[..., str]:
    """refused(db, *args): `ocx --db DB ARGS` fails with one `Error:` line, no traceback, and
    leaves the database file byte-identical (and its dump equal). Returns the line."""

    def check(db: Path, *args: str) -> str:
        before, rows_before = settled(db), dump(db)
        result = CliRunner().invoke(cli, ["--db", str(db), *args])
        line = assert_error(result)
        assert settled(db) == before, "a refused import changed the database file"
        assert dump(db) == rows_before
        return line

    return check


def import_json(db: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--db", str(db), "import", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def page(tickets: list[Any], users: list[Any] | None = None) -> dict[str, Any]:
    return {"tickets": tickets, "users": users if users is not None else [ANA], "count": 0}


ANA = {"id": 1, "role": "end-user", "email": "ana@example.com", "name": "Ana Lund"}


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "requester_id": 1, "subject": f"Ticket {number}", "status": "open",
            "description": f"Body of ticket {number}", "created_at": "2025-06-02T09:15:00Z",
            **fields}  # fmt: skip


def line_of(text: str, needle: str) -> int:
    """The 1-based line where `needle` first starts in `text`."""
    at = text.index(needle)
    return text.count("\n", 0, at) + 1


# --- nesting: refused past 64 levels, in bounded memory ---------------------------------------


def capped_ocx(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ocx ARGS` in a process limited to 512 MB of address space: these files once
    took ijson 2.2 GB (30,000 deep) and 24 GB (100,000 deep), which would fail here with a
    MemoryError (never the nesting error the tests want) instead of taking the machine's."""
    limit = 512 * 1024 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "ocx", *args], capture_output=True, text=True, preexec_fn=cap,
        timeout=600, env={**os.environ},
    )  # fmt: skip


@pytest.mark.parametrize("depth", [30_000, 100_000])
@pytest.mark.parametrize("head", ["", '{"tickets": '], ids=["bare", "zendesk-shaped"])
def test_brackets_nested_by_the_thousand_are_refused_naming_the_line(
    initialized: Path, tmp_path: Path, dump: Dump, depth: int, head: str
) -> None:
    path = tmp_path / "tickets.json"
    path.write_text(head + "[" * depth + "]" * depth + ("}" if head else ""), encoding="utf-8")
    before, rows_before = settled(initialized), dump(initialized)
    done = capped_ocx("--db", str(initialized), "import", "zendesk", str(path))
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr.strip() == (
        f"Error: {path}:1: {TOO_DEEP} (level 65 opens on this line); ocx reads at most 64: "
        "this is not an export it can read"
    )
    assert settled(initialized) == before
    assert dump(initialized) == rows_before


def nested(opener: str, levels: int) -> tuple[str, str]:
    """`levels` arrays (opener '[') or objects ('{') one in another, (opening, closing):
    opening + "0" + closing is JSON."""
    if opener == "[":
        return "[" * levels, "]" * levels
    return '{"a":' * levels, "}" * levels


@pytest.mark.parametrize("opener", ["[", "{"])
def test_64_levels_are_read_and_level_65_is_refused_at_the_line_it_opens(
    initialized: Path, tmp_path: Path, refused: Callable[..., str], opener: str
) -> None:
    """The page object is level 1 and its tickets array level 2; the rest open on line 2
    and, the last one or two, on line 3."""
    path = tmp_path / "tickets.json"
    for extra, error in ((1, False), (2, True)):
        opening, closing = nested(opener, LIMIT - 2 - 1)
        last_open, last_close = nested(opener, extra)
        path.write_text(
            f'{{"tickets": [\n{opening}\n{last_open}0{last_close}{closing}\n]}}\n',
            encoding="utf-8",
        )
        line = refused(initialized, "import", "zendesk", str(path))
        if error:
            assert line.startswith(f"Error: {path}:3: {TOO_DEEP}"), line
        else:  # 64 levels: read, and found to be no ticket
            assert TOO_DEEP not in line and "nested" not in line, line
            assert f"{path}: ticket #1: ticket has no id" in line, line


def test_nesting_in_a_comments_file_read_whole_names_that_file_and_line(
    initialized: Path, tmp_path: Path, refused: Callable[..., str]
) -> None:
    folder = tmp_path / "zendesk"
    save_json(folder / "tickets.json", page([ticket(7)]))
    comments = folder / "comments" / "7.json"
    comments.parent.mkdir()
    comments.write_text('{"comments": [\n{"id": 1, "plain_body": "hi"},\n'
                        + "[" * 200 + "]" * 200 + "\n]}", encoding="utf-8")  # fmt: skip
    line = refused(initialized, "import", "zendesk", str(folder))
    assert line.startswith(f"Error: {comments}:3: {TOO_DEEP}"), line


@pytest.mark.parametrize("shift", [0, 1, 30, 64, 65, 200])
def test_nesting_far_into_a_streamed_page_names_its_line(
    initialized: Path, tmp_path: Path, refused: Callable[..., str], shift: int
) -> None:
    """Megabytes of good tickets whose strings hold brackets, quotes and backslashes, then a
    ticket nested too deep, its brackets laid across a 64 KiB chunk boundary in some runs."""
    good = [ticket(n, subject=f'[[{{ "quoted [" \\ {n}', description="]]] \\\\" + "[" * 80)
            for n in range(1, 4001)]  # fmt: skip
    text = '{"tickets": [\n' + ",\n".join(json.dumps(t, ensure_ascii=False) for t in good)
    text += ',\n{"id": 9999, "requester_id": 1, "subject":\n'
    # The page is level 1, its tickets 2, the ticket 3: the 62nd bracket opens level 65. The
    # run of brackets starts `shift` bytes before a 64 KiB boundary (ijson's chunk).
    text += " " * ((-len(text.encode()) - shift) % 65536)
    text += "[" * 100 + "]" * 100 + '}\n],\n"users": [' + json.dumps(ANA) + "]}\n"
    path = tmp_path / "tickets.json"
    path.write_text(text, encoding="utf-8")
    assert len(text) > 10 * 65536
    line = refused(initialized, "import", "zendesk", str(path))
    assert line.startswith(f"Error: {path}:{line_of(text, '[' * 100)}: {TOO_DEEP}"), line


def test_brackets_quotes_and_backslashes_inside_strings_are_text_not_nesting(
    initialized: Path, tmp_path: Path, rows: Rows
) -> None:
    subjects = ["[" * 500, '\\"' + "{" * 100, "\\\\" + "[" * 70 + '"', "\\" * 99 + "[" * 99]
    tickets = [ticket(n, subject=s) for n, s in enumerate(subjects, start=1)]
    path = save_json(tmp_path / "tickets.json", page(tickets), indent=None)
    summary = import_json(initialized, "zendesk", str(path))
    assert summary["created"]["conversations"] == len(subjects)
    stored = rows(
        initialized, "SELECT subject FROM conversations ORDER BY CAST(external_id AS INT)"
    )
    assert [r["subject"] for r in stored] == subjects


# --- NUL ---------------------------------------------------------------------------------------


def test_nul_characters_are_removed_from_stored_text_and_the_rest_is_found(
    initialized: Path, tmp_path: Path, run: Run, load_json: LoadJson, rows: Rows
) -> None:
    folder = tmp_path / "zendesk"
    users = [{**ANA, "name": "Ana\u0000 Lund", "notes": "VIP\u0000customer",
              "email": "ana@example.com\u0000"},
             {"id": 9, "role": "agent\u0000", "email": "sam@support.example", "name": "Sam"}]  # fmt: skip
    tickets = [ticket(7, subject="Refund\u0000 pending", status="\u0000open",
                      description="Invoice\u0000 overdue"),
               ticket(8, subject="\u0000\u0000", description="Quiet\u0000ly")]  # fmt: skip
    save_json(folder / "tickets.json", page(tickets, users))
    save_json(folder / "comments" / "7.json", {"comments": [
        {"id": 70, "author_id": 1, "plain_body": "Still\u0000 waiting"},
        {"id": 71, "author_id": 9, "html_body": "<p>On it\u0000, Sam</p>"}]})  # fmt: skip
    summary = import_json(initialized, "zendesk", str(folder))
    assert summary["created"] == {"customers": 1, "conversations": 2, "messages": 3}
    assert not [cell for cell in text_cells(initialized) if "\x00" in cell]
    [customer] = rows(initialized, "SELECT email, name, context FROM customers")
    assert customer == {"email": "ana@example.com", "name": "Ana Lund", "context": "VIPcustomer"}
    subjects = rows(initialized, "SELECT external_id, subject, status FROM conversations")
    assert sorted((r["external_id"], r["subject"], r["status"]) for r in subjects) == [
        ("7", "Refund pending", "open"), ("8", None, "open")]  # fmt: skip
    bodies = {r["external_id"]: r["body"] for r in rows(initialized, "SELECT * FROM messages")}
    assert bodies == {"70": "Still waiting", "71": "On it, Sam", "8-description": "Quietly"}
    for word in ("pending", "waiting", "Quietly", "VIPcustomer"):
        found = load_json(run("customer", "search", word, "--json"))
        assert [c["email"] for c in found] == ["ana@example.com"], word


# --- text fields that are not text --------------------------------------------------------------


@pytest.mark.parametrize(("value", "called"), NOT_TEXT, ids=[c for _, c in NOT_TEXT])
@pytest.mark.parametrize("field", ["subject", "status", "description", "created_at"])
def test_a_ticket_field_that_is_not_text_is_a_bad_record_at_its_line(
    initialized: Path, tmp_path: Path, refused: Callable[..., str], field: str, value: Any,
    called: str,
) -> None:  # fmt: skip
    tickets = [ticket(122), ticket(123, **{field: value}), ticket(124)]
    path = save_json(tmp_path / "tickets.json", page(tickets))
    line = record_line(path.read_text(encoding="utf-8"), 123)
    assert refused(initialized, "import", "zendesk", str(path)) == (
        f"Error: {path}:{line}: ticket 123: {field} is {called}, expected text{SKIP_HINT}"
    )


@pytest.mark.parametrize(("value", "called"), NOT_TEXT, ids=[c for _, c in NOT_TEXT])
def test_with_skip_bad_the_other_tickets_import_and_the_bad_one_is_listed(
    initialized: Path, tmp_path: Path, rows: Rows, value: Any, called: str
) -> None:
    folder = tmp_path / "zendesk"
    path = save_json(
        folder / "tickets.json", page([ticket(122), ticket(123, subject=value), ticket(124)])
    )
    save_json(folder / "comments" / "123.json", {"comments": [{"id": 5, "plain_body": "hi"}]})
    line = record_line(path.read_text(encoding="utf-8"), 123)
    summary = import_json(initialized, "zendesk", str(folder), "--skip-bad")
    assert summary["created"] == {"customers": 1, "conversations": 2, "messages": 2}
    assert summary["skipped"] == [  # its comments go with it: not listed as orphans
        {
            "file": str(path),
            "line": line,
            "reason": f"ticket 123: subject is {called}, expected text",
        }
    ]
    stored = rows(initialized, "SELECT external_id FROM conversations ORDER BY external_id")
    assert [r["external_id"] for r in stored] == ["122", "124"]
    assert rows(initialized, "SELECT count(*) AS n FROM messages WHERE external_id = '5'") == [
        {"n": 0}
    ]


def test_null_in_a_text_field_is_as_good_as_missing(
    initialized: Path, tmp_path: Path, rows: Rows
) -> None:
    path = save_json(tmp_path / "tickets.json", page([ticket(7, subject=None, status=None)]))
    assert import_json(initialized, "zendesk", str(path))["skipped"] == []
    assert rows(initialized, "SELECT subject, status FROM conversations") == [
        {"subject": None, "status": None}
    ]


@pytest.mark.parametrize("indent", [None, 1], ids=["one-line", "pretty"])
def test_bad_records_deep_into_a_big_page_are_told_at_their_lines(
    initialized: Path, tmp_path: Path, indent: int | None
) -> None:
    """Several megabytes: each line is found from the chunk where the record before ended,
    and a bad user (after all the tickets) from the top of the file."""
    bad = {2: 7, 2500: ["x"], 2501: {"a": 1}, 6000: 1.5}
    tickets = [ticket(n, subject=bad.get(n, f"Ticket {n} " + "[x] " * (n % 50)))
               for n in range(1, 6001)]  # fmt: skip
    users = [ANA, {"id": 2, "role": "end-user", "email": "bo@example.com", "name": 42}]
    path = save_json(tmp_path / "tickets.json", page(tickets, users), indent=indent)
    text = path.read_text(encoding="utf-8")
    summary = import_json(initialized, "zendesk", str(path), "--skip-bad")
    # Users are read first (all pages), then tickets.
    expected = [(record_line(text, 2, text.index('"users"')), "user 2: name is a number")]
    expected += [(record_line(text, n), f"ticket {n}: subject is ") for n in bad]
    got = [(s["line"], s["reason"]) for s in summary["skipped"]]
    assert [(line, reason[: len(start)]) for (line, reason), (_, start) in
            zip(got, expected, strict=True)] == expected  # fmt: skip
    assert summary["created"]["conversations"] == 6000 - len(bad)


def test_a_bad_ticket_after_a_number_that_ends_a_chunk_is_told_at_its_own_line(
    initialized: Path, tmp_path: Path
) -> None:
    """ijson tells of a number only at the byte after it: one that ends a 64 KiB chunk is
    told in the next chunk, where none of its bytes are; counting from there would name the
    ticket after the bad one."""
    head = '{"tickets": [\n{"id": 100, "requester_id": 1, "subject": "'
    tail = '"},\n12345'
    text = head + "x" * (65536 - len(head) - len(tail)) + tail
    assert len(text.encode()) == 65536  # the number's last digit ends the first chunk
    text += ',\n{"id": 123, "requester_id": 1, "subject": 5},\n{"id": 124, "requester_id": 1}'
    text += "\n], " + f'"users": [{json.dumps(ANA)}]}}'
    path = tmp_path / "tickets.json"
    path.write_text(text, encoding="utf-8")
    summary = import_json(initialized, "zendesk", str(path), "--skip-bad")
    assert [(s.get("line"), s["reason"]) for s in summary["skipped"]] == [
        (None, "ticket has no id"), (4, "ticket 123: subject is a number, expected text")]  # fmt: skip
    assert summary["created"]["conversations"] == 2


@pytest.mark.parametrize(
    ("where", "field"), [("user", "email"), ("user", "notes"), ("comment", "plain_body"),
                         ("comment", "html_body")],
)  # fmt: skip
def test_a_user_or_comment_field_that_is_not_text_is_a_bad_record(
    initialized: Path, tmp_path: Path, refused: Callable[..., str], where: str, field: str
) -> None:
    folder = tmp_path / "zendesk"
    users = [ANA, {**ANA, "id": 2, "email": "bo@example.com"}]
    comments = [{"id": 70, "author_id": 1, "plain_body": "fine"},
                {"id": 71, "author_id": 1, "plain_body": "also fine"}]  # fmt: skip
    (users if where == "user" else comments)[1][field] = {"value": "x"}
    pages = save_json(folder / "tickets.json", page([ticket(7)], users))
    notes = save_json(folder / "comments" / "7.json", {"comments": comments})
    file, record = (pages, "user 2") if where == "user" else (notes, "comment 71")
    line = record_line(file.read_text(encoding="utf-8"), int(record.split()[1]))
    assert refused(initialized, "import", "zendesk", str(folder)) == (
        f"Error: {file}:{line}: {record}: {field} is an object, expected text{SKIP_HINT}"
    )


# --- hypothesis: anything in, a clean import or one clean error out ---------------------------

FUZZ = settings(
    max_examples=int(os.environ.get("OCX_FUZZ_EXAMPLES", "60")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)  # fmt: skip


@pytest.fixture
def template(initialized: Path) -> Path:
    """A database made by `ocx init`, settled, for each example to start from a copy."""
    settled(initialized)
    return initialized


def run_import(template: Path, files: dict[str, bytes], source: str, skip_bad: bool) -> None:
    """import_or_refuse, and a summary that counts every kind and, without --skip-bad, skips
    only what is left out on purpose (a customer not in the export, an agent's ticket, a
    person with no email to key a customer by)."""
    summary = import_or_refuse(template, source, files, skip_bad)
    if summary is not None:
        assert set(summary["created"]) == set(KINDS)
        if not skip_bad:
            on_purpose = ("is not in this export", "requested by agent", "has no email")
            assert all(any(w in s["reason"] for w in on_purpose) for s in summary["skipped"])


# Bytes: noise, JSON-ish characters, and a good export with bytes changed here and there.
GOOD_PAGE = json.dumps(page([ticket(1), ticket(2, subject="Two")]), indent=1).encode()
GOOD_CSV = b"email,name\nana@example.com,Ana\n"


@st.composite
def damaged(draw: st.DrawFn, good: bytes) -> bytes:
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=0, max_size=4) | st.sampled_from(
            [b"\x00", b"\\u0000", b"[" * 70, b"\xff", b"\\", b'"', b"\r", b"\xef\xbb\xbf"]))  # fmt: skip
        data[at : at + draw(st.integers(0, 3))] = junk
    return bytes(data)


def any_bytes(good: bytes) -> st.SearchStrategy[bytes]:
    jsonish = st.text(alphabet='[]{}",:\\ \n0a\x00é', max_size=300).map(str.encode)
    return st.one_of(st.binary(max_size=300), jsonish, damaged(good))


@FUZZ
@given(data=any_bytes(GOOD_PAGE), skip_bad=st.booleans())
def test_arbitrary_bytes_as_a_zendesk_page(template: Path, data: bytes, skip_bad: bool) -> None:
    run_import(template, {"tickets.json": data}, "zendesk", skip_bad)


@FUZZ
@given(data=any_bytes(GOOD_CSV), name=st.sampled_from(["customers.csv", "tickets.csv"]),
       skip_bad=st.booleans())  # fmt: skip
def test_arbitrary_bytes_as_a_csv_file(
    template: Path, data: bytes, name: str, skip_bad: bool
) -> None:
    run_import(template, {name: data}, "csv", skip_bad)


# JSON: records of the right shape with any values (wrong types, NULs, deep nesting), or not.
odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "ana@example.com", "end-user",
                     "agent", "2025-06-02T09:15:00Z", "2025-02-30T00:00:00Z", "[[[", '"\\']),
)  # fmt: skip
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63),
                   st.floats(allow_nan=False, allow_infinity=False), odd_text)  # fmt: skip
anything = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@st.composite
def deep(draw: st.DrawFn, inner: st.SearchStrategy[Any]) -> Any:
    """A value, now and then inside 55 to 75 arrays or objects (around the limit)."""
    value = draw(inner)
    if draw(st.integers(0, 9)) == 0:
        for _ in range(draw(st.integers(55, 75))):
            value = [value] if draw(st.booleans()) else {"k": value}
    return value


ids = st.one_of(st.sampled_from([1, 2, 3, "2", " 3 "]), anything)
value = st.one_of(odd_text, odd_text, deep(anything))
users = st.fixed_dictionaries(
    {"id": ids},
    optional={key: value for key in ("role", "email", "name", "phone", "iana_time_zone",
                                     "locale", "notes", "tags", "user_fields")},
)  # fmt: skip
tickets = st.fixed_dictionaries(
    {"id": ids, "requester_id": ids},
    optional={key: value for key in ("subject", "raw_subject", "status", "description",
                                     "created_at", "updated_at")},
)  # fmt: skip
comments = st.fixed_dictionaries(
    {"id": ids},
    optional={key: value for key in ("author_id", "plain_body", "html_body", "body", "public",
                                     "created_at")},
)  # fmt: skip


@FUZZ
@given(
    document=st.one_of(
        st.fixed_dictionaries({"tickets": st.lists(tickets | deep(anything), max_size=4),
                               "users": st.lists(users | deep(anything), max_size=4)}),
        deep(anything),
    ),
    notes=st.dictionaries(st.sampled_from(["1", "2", "3"]),
                          st.fixed_dictionaries({"comments": st.lists(comments, max_size=3)})
                          | deep(anything), max_size=2),
    indent=st.sampled_from([None, 1]),
    skip_bad=st.booleans(),
)  # fmt: skip
def test_arbitrary_json_as_a_zendesk_export(
    template: Path, document: Any, notes: dict[str, Any], indent: int | None, skip_bad: bool
) -> None:
    def encoded(value: Any) -> bytes:
        return json.dumps(value, indent=indent).encode("utf-8", "surrogatepass")

    files = {"tickets.json": encoded(document)}
    files.update({f"comments/{k}.json": encoded(v) for k, v in notes.items()})
    run_import(template, files, "zendesk", skip_bad)


cell = st.one_of(odd_text, st.sampled_from(["ana@example.com", "BO@Example.org", "T1", "open",
                                             "2025-06-02T09:15:00-06:00", "<b>x</b>", ""]))  # fmt: skip


@FUZZ
@given(
    customers=st.lists(st.lists(cell, min_size=1, max_size=8), max_size=5),
    tickets=st.lists(st.lists(cell, min_size=1, max_size=8), max_size=5),
    skip_bad=st.booleans(),
)
def test_arbitrary_csv_rows(
    template: Path, customers: list[list[str]], tickets: list[list[str]], skip_bad: bool
) -> None:
    def sheet(header: str, rows: list[list[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header.split(","), *rows])
        return out.getvalue().encode("utf-8", "surrogatepass")

    files = {
        "customers.csv": sheet("email,name,company,phone,time_zone,tags,notes", customers),
        "tickets.csv": sheet("external_id,customer_email,subject,status,created_at,body", tickets),
    }
    run_import(template, files, "csv", skip_bad)
