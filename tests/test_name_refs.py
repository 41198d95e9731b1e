"""A customer REF may be a name: the whole name, any word of it, or the beginning of one, in
any letter case, when exactly one customer answers to it. Several: exit 1 with up to 10
candidates and their emails, on one line. None: a hint to `ocx customer search`. Ids,
emails and SOURCE:ID come first."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from ocx import customers
from ocx.store import open_store
from ocx.testing import Recorder

Run = Callable[..., Result]
LoadJson = Callable[[Result], Any]
AssertError = Callable[..., str]
Dump = Callable[[Path], list[str]]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def add(run: Run, email: str, name: str, *options: str) -> int:
    return int(ok(run("customer", "add", email, "--name", name, *options)).stdout)


@pytest.fixture
def people(run: Run, initialized: Path) -> dict[str, int]:
    return {
        "margo": add(run, "margo@example.com", "Margo Lane"),
        "jim": add(run, "jim@example.com", "Jim Hollis"),
        "zoe": add(run, "zoe@example.com", "Zoë Ångström"),
        "priya": add(run, "priya@example.com", "Priya O'Brien-Raman"),
    }


def shown_id(run: Run, load_json: LoadJson, ref: str) -> int:
    return int(load_json(run("customer", "show", ref, "--json"))["id"])


@pytest.mark.parametrize(
    ("ref", "who"),
    [
        ("Margo Lane", "margo"),
        ("margo lane", "margo"),
        ("  MARGO   LANE ", "margo"),
        ("Margo", "margo"),
        ("lane", "margo"),
        ("marg", "margo"),
        ("LA", "margo"),
        ("Margo L", "margo"),
        ("hollis", "jim"),
        ("zoe", "zoe"),
        ("ZOË ÅNGSTRÖM", "zoe"),
        ("angst", "zoe"),
        ("o'brien", "priya"),
        ("Raman", "priya"),
        ("Priya O'Brien-Raman", "priya"),
    ],
)
def test_a_name_word_or_beginning_names_the_one_customer_it_matches(
    run: Run, load_json: LoadJson, people: dict[str, int], ref: str, who: str
) -> None:
    assert shown_id(run, load_json, ref) == people[who]


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "note", "{ref}", "Her cat is at the vet"],
        ["customer", "contact", "{ref}", "Called her", "--inbound"],
        ["customer", "tag", "{ref}", "vip"],
        ["customer", "edit", "{ref}", "--pace", "fast"],
        ["customer", "timeline", "{ref}"],
        ["promise", "add", "{ref}", "Call back", "--due", "tomorrow 9am", "--owner", "tester"],
        ["cadence", "set", "{ref}", "monthly", "--owner", "tester"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_every_command_taking_a_ref_takes_a_name(
    run: Run, people: dict[str, int], rows: Callable[..., list[dict[str, Any]]],
    initialized: Path, args: list[str],
) -> None:  # fmt: skip
    ok(run("team", "add", "tester"))
    ok(run(*(a.replace("{ref}", "margo") for a in args)))
    touched = rows(initialized, "SELECT DISTINCT customer_id FROM timeline WHERE kind != 'created'"
                   " UNION SELECT customer_id FROM promises UNION SELECT customer_id FROM cadences")  # fmt: skip
    assert {r["customer_id"] for r in touched} <= {people["margo"]}


def test_merge_and_incident_take_names(
    run: Run, load_json: LoadJson, people: dict[str, int], tmp_path: Path
) -> None:
    add(run, "m.lane@old.example", "Maggie Lanes")
    ok(run("customer", "merge", "Margo Lane", "maggie"))
    assert shown_id(run, load_json, "m.lane@old.example") == people["margo"]
    ok(run("team", "add", "tester"))
    ok(run("incident", "new", "Sync down", "--severity", "2", "--lead", "tester"))
    refs = tmp_path / "affected.txt"
    refs.write_text("hollis\nZoë\n", encoding="utf-8")
    ok(run("incident", "fanout", "INC-1", "--customers", str(refs)))
    ok(run("incident", "contact", "INC-1", "jim hollis", "--note", "Called"))
    cases = load_json(run("incident", "cases", "INC-1", "--json"))
    assert sorted((c["customer_id"], c["state"]) for c in cases) == [
        (people["jim"], "contacted"), (people["zoe"], "new"),
    ]  # fmt: skip


def test_the_whole_name_wins_over_a_longer_name_it_begins(
    run: Run, load_json: LoadJson, people: dict[str, int]
) -> None:
    longer = add(run, "margo.lanes@example.com", "Margo Lanesborough")
    assert shown_id(run, load_json, "margo lane") == people["margo"]
    assert shown_id(run, load_json, "margo lanes") == longer


def test_several_matches_exit_1_listing_them_with_their_emails(
    run: Run, people: dict[str, int], assert_error: AssertError, dump: Dump, initialized: Path
) -> None:
    add(run, "margot@example.com", "Margot Fontaine")
    before = dump(initialized)
    line = assert_error(run("customer", "note", "marg", "Which one?"))
    assert line == (
        "Error: 'marg' matches 2 customers: Margo Lane <margo@example.com>, "
        "Margot Fontaine <margot@example.com>; name one by email or id"
    )
    assert dump(initialized) == before


def test_namesakes_are_ambiguous_too(
    run: Run, people: dict[str, int], assert_error: AssertError
) -> None:
    add(run, "other.margo@example.com", "margo lane")
    line = assert_error(run("customer", "show", "Margo Lane"))
    assert line == (
        "Error: 'Margo Lane' matches 2 customers: Margo Lane <margo@example.com>, "
        "margo lane <other.margo@example.com>; name one by email or id"
    )


def test_at_most_10_candidates_are_listed(
    run: Run, initialized: Path, assert_error: AssertError
) -> None:
    for i in range(13):
        add(run, f"sam{i:02d}@example.com", f"Sam Tanaka{i:02d}")
    line = assert_error(run("customer", "show", "sam"))
    assert line.startswith("Error: 'sam' matches 13 customers: Sam Tanaka00 <sam00@example.com>, ")
    assert line.count("@example.com>") == 10
    assert "Sam Tanaka09 <sam09@example.com> (3 more not shown); name one by email or id" in line
    assert "sam10@" not in line


def test_no_match_suggests_search(
    run: Run, people: dict[str, int], assert_error: AssertError
) -> None:
    line = assert_error(run("customer", "show", "Marjorie"))
    assert line == (
        "Error: no customer matches 'Marjorie'; to look wider than names, try: "
        "ocx customer search Marjorie"
    )
    line = assert_error(run("customer", "show", "Jim Lane"))
    assert line.endswith("try: ocx customer search 'Jim Lane'")


@pytest.mark.parametrize("ref", ["---", "…", "*"])
def test_a_ref_without_words_matches_nobody_and_suggests_nothing(
    run: Run, people: dict[str, int], assert_error: AssertError, ref: str
) -> None:
    assert assert_error(run("customer", "show", "--", ref)) == f"Error: no customer matches {ref!r}"


def test_ids_emails_and_source_ids_come_before_names(
    run: Run, load_json: LoadJson, people: dict[str, int], assert_error: AssertError
) -> None:
    digits = add(run, "digits@example.com", str(people["jim"]))  # named like Jim's id
    add(run, "csv-fan@example.com", "Csv Fan")
    assert shown_id(run, load_json, str(people["jim"])) == people["jim"]
    assert shown_id(run, load_json, "digits@example.com") == digits
    # not a name: an id, email or SOURCE:ID that names nobody is not looked up as one
    assert assert_error(run("customer", "show", "999")) == "Error: no customer matches '999'"
    assert assert_error(run("customer", "show", "csv:fan")) == (
        "Error: no customer matches 'csv:fan'"
    )


def test_show_by_name_through_the_console_script(
    run: Run, people: dict[str, int], db_path: Path
) -> None:
    """`ocx customer show REF` is answered without click when plain (ocx.cli.fast)."""
    for ref, expected in (("zoe", 0), ("nobody here", 1)):
        done = subprocess.run(
            [sys.executable, "-m", "ocx", "--db", str(db_path), "customer", "show", ref],
            capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, check=False,
        )  # fmt: skip
        assert done.returncode == expected, done.stderr
        if expected == 0:
            assert "zoe@example.com" in done.stdout
        else:
            assert "ocx customer search 'nobody here'" in done.stderr


@pytest.mark.sqlite_only
@pytest.mark.parametrize("ref", ["margo lane", "marg", "zz", "m"])
def test_a_name_is_found_through_indexes_not_a_scan(run: Run, initialized: Path, ref: str) -> None:
    for i in range(30):
        add(run, f"p{i}@example.com", f"Margo Person{i}" if i % 3 else "Margo Lane")
    store = open_store(initialized)
    real = store.conn
    recorder = Recorder(real)
    store.conn = recorder  # type: ignore[assignment]
    try:
        with pytest.raises(customers.OcxError):
            customers.resolve(store, ref)
    finally:
        store.conn = real
    assert recorder.statements
    for sql, params in recorder.statements:
        plan = " | ".join(r["detail"] for r in real.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "SCAN customers" not in plan, (sql, plan)  # not even of an index
        assert "customer_search VIRTUAL TABLE" in plan or "INDEX" in plan, (sql, plan)
    store.close()


def test_a_nul_in_a_name_separates_words(
    run: Run, load_json: LoadJson, people: dict[str, int]
) -> None:
    """A REF read from a file may hold anything; FTS5 reads its query as a C string."""
    assert shown_id(run, load_json, "margo\x00lane") == people["margo"]
