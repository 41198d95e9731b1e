"""`ocx customer ...`: every command, its JSON and its error cases, on a real SQLite file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ocx.testing import execute

if TYPE_CHECKING:
    from conftest import AssertError, AssertUsageError, Dump, LoadJson, Rows, Run


NOW = "2026-11-25T10:00:00Z"  # a Wednesday
SHOW_KEYS = {
    "id", "email", "name", "company", "phone", "time_zone", "channel", "pace", "tone",
    "language", "quiet_hours", "tags", "context", "sources", "created_at", "updated_at",
    "timeline",
}  # fmt: skip
Show = Callable[[str], dict]
TimelineRows = Callable[[Path, int], list[dict]]
SearchEmails = Callable[[str], list[str]]
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def add(run: Run, email: str, *options: str, now: str = NOW) -> int:
    result = run("customer", "add", email, *options, env={"OCX_NOW": now})
    assert result.exit_code == 0, result.output
    return int(result.stdout.strip())


@pytest.fixture
def show(run: Run, load_json: LoadJson) -> Callable[[str], dict]:
    """show(ref): the profile as `customer show REF --json` prints it."""

    def profile(ref: str) -> dict:
        return load_json(run("customer", "show", ref, "--json"))

    return profile


@pytest.fixture
def timeline_rows(rows: Rows) -> Callable[[Path, int], list[dict]]:
    """timeline_rows(db, customer_id): the customer's timeline table rows, oldest first."""

    def entries(db: Path, customer_id: int) -> list[dict]:
        return rows(db, "SELECT * FROM timeline WHERE customer_id = ? ORDER BY id", (customer_id,))

    return entries


@pytest.fixture
def search_emails(run: Run, load_json: LoadJson) -> Callable[[str], list[str]]:
    """search_emails(query): the emails `customer search QUERY --json` finds, best first."""

    def found(query: str) -> list[str]:
        return [c["email"] for c in load_json(run("customer", "search", query, "--json"))]

    return found


@pytest.fixture
def margo(run: Run, initialized: Path) -> int:
    return add(
        run, "margo@example.com", "--name", "Margo Lane", "--company", "Lane Logistics",
        "--pace", "fast", "--tag", "founding", "--tag", "enterprise",
        "--context", "Always in a hurry: answer first",
    )  # fmt: skip


@pytest.fixture
def jim(run: Run, initialized: Path) -> int:
    return add(
        run, "jim@example.com", "--name", "Jim Hollis", "--company", "Hollis Hardware",
        "--pace", "slow", "--tag", "founding", "--context", "Likes things explained step by step",
    )  # fmt: skip


# --- add -----------------------------------------------------------------------------------


def test_add_prints_the_new_id_and_stores_every_field(
    run: Run, initialized: Path, rows: Rows, timeline_rows: TimelineRows
) -> None:
    result = run(
        "customer", "add", "  Jim@Example.COM ", "--name", "Jim Hollis",
        "--company", "Hollis Hardware", "--phone", "+1 555 0101", "--tz", "America/Chicago",
        "--channel", "phone", "--pace", "slow", "--tone", "patient, no jargon",
        "--language", "en", "--quiet-hours", "20:00-8:00", "--tag", "Founding", "--tag", "smb",
        "--context", "Likes things slow and explained step by step",
        env={"OCX_NOW": NOW},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    new_id = int(result.stdout.strip())
    [stored] = rows(initialized, "SELECT * FROM customers")
    assert stored["id"] == new_id
    assert stored == {
        "id": new_id, "email": "jim@example.com", "name": "Jim Hollis",
        "company": "Hollis Hardware", "phone": "+1 555 0101", "time_zone": "America/Chicago",
        "channel": "phone", "pace": "slow", "tone": "patient, no jargon", "language": "en",
        "quiet_hours": "20:00-08:00",
        "context": "Likes things slow and explained step by step",
        "sort_name": "jim hollis",  # the name as it sorts: case (and accents) folded
        "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    tags = rows(initialized, "SELECT tag FROM tags WHERE customer_id = ? ORDER BY tag", (new_id,))
    assert [t["tag"] for t in tags] == ["founding", "smb"]
    [created] = timeline_rows(initialized, new_id)
    assert (created["kind"], created["author"], created["at"]) == ("created", "tester", NOW)


def test_add_in_a_terminal_says_what_it_added_and_in_a_pipe_the_bare_id(
    initialized: Path, env: Path
) -> None:
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "ocx", "--db", str(initialized), "customer", "add"]
    piped = subprocess.run([*command, "Ben@Example.com"], capture_output=True, text=True,
                           timeout=60, check=True)  # fmt: skip
    assert piped.stdout == "1\n"
    leader, follower = os.openpty()
    try:
        done = subprocess.run([*command, "Margo@Example.com"], stdout=follower,
                              stderr=subprocess.PIPE, timeout=60, check=True)  # fmt: skip
        said = os.read(leader, 4096).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 0
    assert said.strip() == "added margo@example.com (id 2)"


def test_add_gives_each_customer_its_own_id(run: Run, initialized: Path, show: Show) -> None:
    first = add(run, "a@example.com")
    second = add(run, "b@example.com")
    assert first != second
    assert show(str(second))["email"] == "b@example.com"


def test_add_accepts_any_channel_word_without_checking_config(
    run: Run, initialized: Path, show: Show
) -> None:
    customer_id = add(run, "a@example.com", "--channel", "carrier-pigeon")
    assert show(str(customer_id))["channel"] == "carrier-pigeon"


@pytest.mark.parametrize(
    "again", ["margo@example.com", "MARGO@Example.com", "  margo@example.com\t"]
)
def test_add_refuses_a_second_customer_with_the_same_email(
    run: Run, initialized: Path, margo: int, again: str, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "add", again, "--name", "Other Margo"))
    assert "margo@example.com" in line and "already exists" in line
    assert dump(initialized) == before


@pytest.mark.parametrize(
    "email", ["not-an-email", "margo@", "@example.com", "margo@example", "a b@example.com", ""]
)
def test_add_refuses_a_bad_email(
    run: Run, initialized: Path, email: str, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "add", email))
    assert "not a valid email" in line
    assert dump(initialized) == before


def test_add_refuses_an_unknown_time_zone(
    run: Run, initialized: Path, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "add", "a@example.com", "--tz", "Mars/Olympus_Mons"))
    assert "Mars/Olympus_Mons" in line and "time zone" in line
    assert dump(initialized) == before


@pytest.mark.parametrize("hours", ["22:00", "25:00-07:00", "22:00-22:00", "22:60-07:00", "ten-six"])
def test_add_refuses_bad_quiet_hours(
    run: Run, initialized: Path, hours: str, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "add", "a@example.com", "--quiet-hours", hours))
    assert "quiet hours" in line
    assert dump(initialized) == before


def test_add_refuses_an_unknown_pace_as_a_usage_error(
    run: Run, initialized: Path, dump: Dump, assert_usage_error: AssertUsageError
) -> None:
    before = dump(initialized)
    result = run("customer", "add", "a@example.com", "--pace", "glacial")
    assert_usage_error(result)
    assert "glacial" in result.stderr
    assert dump(initialized) == before


def test_add_refuses_a_tag_with_spaces(
    run: Run, initialized: Path, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    assert_error(run("customer", "add", "a@example.com", "--tag", "two words"))
    assert dump(initialized) == before


# --- edit ----------------------------------------------------------------------------------


def test_edit_changes_fields_and_records_the_change(
    run: Run, initialized: Path, margo: int, show: Show, timeline_rows: TimelineRows
) -> None:
    later = "2026-11-26T08:30:00Z"
    result = run(
        "customer", "edit", "margo@example.com", "--pace", "normal", "--tz", "Europe/London",
        "--quiet-hours", "22:00-7:00", env={"OCX_NOW": later},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    profile = show(str(margo))
    assert (profile["pace"], profile["time_zone"], profile["quiet_hours"]) == (
        "normal", "Europe/London", "22:00-07:00",
    )  # fmt: skip
    assert profile["created_at"] == NOW
    assert profile["updated_at"] == later
    edited = timeline_rows(initialized, margo)[-1]
    assert edited["kind"] == "edited" and edited["at"] == later and edited["author"] == "tester"
    assert "pace set to 'normal'" in edited["text"]


def test_edit_with_an_empty_value_clears_the_field(
    run: Run, initialized: Path, margo: int, rows: Rows, timeline_rows: TimelineRows
) -> None:
    result = run("customer", "edit", str(margo), "--company", "", "--context", "")
    assert result.exit_code == 0, result.output
    [stored] = rows(initialized, "SELECT company, context, name FROM customers")
    assert stored == {"company": None, "context": None, "name": "Margo Lane"}
    assert "company cleared" in timeline_rows(initialized, margo)[-1]["text"]


def test_edit_tags_and_untags(
    run: Run, initialized: Path, margo: int, show: Show, timeline_rows: TimelineRows
) -> None:
    result = run("customer", "edit", str(margo), "--tag", "VIP", "--untag", "enterprise")
    assert result.exit_code == 0, result.output
    assert show(str(margo))["tags"] == ["founding", "vip"]
    data = json.loads(timeline_rows(initialized, margo)[-1]["data"])
    assert data["tagged"] == ["vip"] and data["untagged"] == ["enterprise"]


def test_edit_changes_the_email_and_the_new_one_names_the_customer(
    run: Run, initialized: Path, margo: int, assert_error: AssertError, show: Show
) -> None:
    result = run("customer", "edit", "margo@example.com", "--email", " Margo@Lane.example ")
    assert result.exit_code == 0, result.output
    assert show("margo@lane.example")["id"] == margo
    assert_error(run("customer", "show", "margo@example.com"))


def test_edit_with_nothing_new_changes_nothing(
    run: Run, initialized: Path, margo: int, dump: Dump
) -> None:
    before = dump(initialized)
    result = run("customer", "edit", str(margo), "--pace", "fast", "--tag", "founding",
                 env={"OCX_NOW": "2026-12-01T00:00:00Z"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.stderr
    assert dump(initialized) == before


def test_edit_refuses_another_customers_email(
    run: Run, initialized: Path, margo: int, jim: int, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "edit", str(jim), "--email", "MARGO@example.com"))
    assert "already exists" in line
    assert dump(initialized) == before


@pytest.mark.parametrize(
    "options",
    [
        ["--email", "nope"],
        ["--tz", "Nowhere/Special"],
        ["--quiet-hours", "7-9"],
        ["--name", "Renamed", "--quiet-hours", "09:00-09:00"],
    ],
    ids=["email", "tz", "quiet-hours", "no-partial-write"],
)
def test_edit_refuses_bad_values_and_writes_nothing(
    run: Run,
    initialized: Path,
    margo: int,
    options: list[str],
    dump: Dump,
    assert_error: AssertError,
) -> None:
    before = dump(initialized)
    assert_error(run("customer", "edit", str(margo), *options))
    assert dump(initialized) == before


def test_edit_refuses_an_unknown_pace_as_a_usage_error(
    run: Run, initialized: Path, margo: int, dump: Dump, assert_usage_error: AssertUsageError
) -> None:
    before = dump(initialized)
    assert_usage_error(run("customer", "edit", str(margo), "--pace", "warp"))
    assert dump(initialized) == before


# --- tag -----------------------------------------------------------------------------------


def test_tag_adds_tags_and_repeating_is_harmless(
    run: Run, initialized: Path, jim: int, dump: Dump, show: Show
) -> None:
    result = run("customer", "tag", "jim@example.com", "SMB", "needs-call")
    assert result.exit_code == 0, result.output
    assert show(str(jim))["tags"] == ["founding", "needs-call", "smb"]
    before = dump(initialized)
    again = run("customer", "tag", "jim@example.com", "smb")
    assert again.exit_code == 0, again.output
    assert "already tagged" in again.stderr
    assert dump(initialized) == before


def test_tag_needs_at_least_one_tag(
    run: Run, initialized: Path, jim: int, assert_usage_error: AssertUsageError
) -> None:
    assert_usage_error(run("customer", "tag", "jim@example.com"))


# --- show ----------------------------------------------------------------------------------


def test_show_json_has_every_documented_key_and_utc_times(
    run: Run, initialized: Path, margo: int, show: Show
) -> None:
    profile = show("margo@example.com")
    assert profile.keys() >= SHOW_KEYS
    assert profile["id"] == margo
    assert profile["tags"] == ["enterprise", "founding"]
    assert profile["created_at"] == NOW and profile["updated_at"] == NOW
    assert profile["sources"] == []
    [entry] = profile["timeline"]
    assert entry["kind"] == "created" and entry["at"] == NOW


def test_show_finds_a_customer_by_id_email_or_source(
    run: Run, initialized: Path, margo: int, show: Show
) -> None:
    execute(
        initialized,
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at) "
        "VALUES (?, 'zendesk', '1234', ?)",
        (margo, "2026-11-20T12:00:00+00:00"),
    )
    for ref in [str(margo), f" {margo} ", "margo@example.com", "  MARGO@Example.Com ",
                "zendesk:1234", "Zendesk:1234"]:  # fmt: skip
        assert show(ref)["id"] == margo, ref
    assert show(str(margo))["sources"] == [
        {"source": "zendesk", "external_id": "1234", "created_at": "2026-11-20T12:00:00Z"}
    ]


def test_show_lists_the_ten_latest_timeline_entries_newest_first(
    run: Run, initialized: Path, jim: int, show: Show
) -> None:
    for hour in range(12):
        result = run("customer", "note", str(jim), f"note number {hour}",
                     env={"OCX_NOW": f"2026-11-26T{hour:02d}:00:00Z"})  # fmt: skip
        assert result.exit_code == 0, result.output
    entries = show(str(jim))["timeline"]
    assert [e["text"] for e in entries] == [f"note number {h}" for h in range(11, 1, -1)]


def test_show_text_has_the_profile_and_times_in_the_configured_zone(
    run: Run, initialized: Path
) -> None:
    assert run("config", "set", "timezone", "America/New_York").exit_code == 0
    add(run, "alecia@example.com", "--name", "Alecia Moreno", "--pace", "normal",
        "--tag", "founding", "--context", "Her cat is at the vet",
        now="2026-01-15T15:00:00Z")  # fmt: skip
    result = run("customer", "show", "alecia@example.com")
    assert result.exit_code == 0, result.output
    for text in ["Alecia Moreno", "alecia@example.com", "normal", "founding",
                 "Her cat is at the vet", "2026-01-15 10:00"]:  # fmt: skip
        assert text in result.stdout, text
    assert "15:00" not in result.stdout
    assert run("config", "set", "timezone", "Asia/Tokyo").exit_code == 0
    assert "2026-01-16 00:00" in run("customer", "show", "alecia@example.com").stdout


def test_show_output_to_a_pipe_has_no_colour_codes(
    run: Run, initialized: Path, margo: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR")
    for args in (["customer", "show", str(margo)], ["customer", "list"]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert "Margo" in result.stdout
        assert "\x1b[" not in result.output


@pytest.mark.parametrize(
    "ref", ["nobody@example.com", "42", "zendesk:999", "zebediah", "99999999999999999999999"]
)
@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["show", "--json"],
        ["edit", "--name", "X"],
        ["tag", "vip"],
        ["note", "hello"],
        ["contact", "hello"],
        ["timeline"],
        ["merge", "1"],
    ],
    ids=lambda c: " ".join(c),
)
def test_an_unknown_ref_is_an_error_naming_it(
    run: Run,
    initialized: Path,
    margo: int,
    ref: str,
    command: list[str],
    dump: Dump,
    assert_error: AssertError,
) -> None:
    before = dump(initialized)
    name, *rest = command
    if name == "merge":  # the unknown one is OTHER here; KEEP exists
        args = ["customer", "merge", str(margo), ref]
    else:
        args = ["customer", name, ref, *rest]
    line = assert_error(run(*args))
    if ref == "zebediah":  # read as a name: nobody has it, so the error points to search
        assert line.startswith(f"Error: no customer matches '{ref}'"), line
        assert "ocx customer search" in line, line
    else:
        assert line == f"Error: no customer matches '{ref}'"
    assert dump(initialized) == before


def test_merge_with_an_unknown_keep_is_an_error(
    run: Run, initialized: Path, margo: int, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "merge", "ghost@example.com", str(margo)))
    assert line == "Error: no customer matches 'ghost@example.com'"
    assert dump(initialized) == before


# --- list ----------------------------------------------------------------------------------


def test_list_is_ordered_by_name_and_nameless_customers_come_last(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    add(run, "zed@example.com")
    add(run, "judy@example.com", "--name", "judy Park")
    add(run, "alecia@example.com", "--name", "Alecia Moreno")
    add(run, "adam@example.com")
    add(run, "margo@example.com", "--name", "Margo Lane")
    listed = load_json(run("customer", "list", "--json"))
    assert [c["email"] for c in listed] == [
        "alecia@example.com", "judy@example.com", "margo@example.com",
        "adam@example.com", "zed@example.com",
    ]  # fmt: skip
    for customer in listed:
        assert ISO_Z.fullmatch(customer["created_at"]) and ISO_Z.fullmatch(customer["updated_at"])


def test_list_filters_by_tag_company_and_limit(
    run: Run, initialized: Path, margo: int, jim: int, load_json: LoadJson
) -> None:
    add(run, "judy@example.com", "--name", "Judy Park", "--company", "lane logistics")

    def emails(*options: str) -> list[str]:
        return [c["email"] for c in load_json(run("customer", "list", *options, "--json"))]

    assert emails("--tag", "founding") == ["jim@example.com", "margo@example.com"]
    assert emails("--tag", "ENTERPRISE") == ["margo@example.com"]
    assert emails("--company", "LANE LOGISTICS") == ["judy@example.com", "margo@example.com"]
    assert emails("--tag", "founding", "--company", "Lane Logistics") == ["margo@example.com"]
    assert emails("--limit", "2") == ["jim@example.com", "judy@example.com"]
    assert emails("--tag", "nobody-has-this") == []


def test_list_text_shows_the_customers(run: Run, initialized: Path, margo: int, jim: int) -> None:
    result = run("customer", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.index("Jim Hollis") < result.stdout.index("Margo Lane")


def test_list_of_nobody_succeeds_quietly(run: Run, initialized: Path, load_json: LoadJson) -> None:
    result = run("customer", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert load_json(run("customer", "list", "--json")) == []


def test_list_refuses_a_limit_below_one(
    run: Run, initialized: Path, assert_usage_error: AssertUsageError
) -> None:
    assert_usage_error(run("customer", "list", "--limit", "0"))


# --- note and contact ----------------------------------------------------------------------


def test_note_adds_a_timeline_entry_with_author_and_time(
    run: Run, initialized: Path, jim: int, timeline_rows: TimelineRows
) -> None:
    at = "2026-11-25T11:15:00Z"
    result = run("customer", "note", "jim@example.com", "  Wrote every step down  ",
                 env={"OCX_NOW": at})  # fmt: skip
    assert result.exit_code == 0, result.output
    entry = timeline_rows(initialized, jim)[-1]
    assert {k: entry[k] for k in ("kind", "text", "author", "at")} == {
        "kind": "note", "text": "Wrote every step down", "author": "tester", "at": at,
    }  # fmt: skip


def test_note_author_is_the_configured_user_else_the_login_name(
    run: Run,
    initialized: Path,
    jim: int,
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    timeline_rows: TimelineRows,
) -> None:
    assert run("config", "set", "user", "alex").exit_code == 0
    assert run("customer", "note", str(jim), "from alex").exit_code == 0
    (env / "ocx.toml").unlink()
    monkeypatch.setenv("USER", "sam")
    assert run("customer", "note", str(jim), "from sam").exit_code == 0
    authors = {e["text"]: e["author"] for e in timeline_rows(initialized, jim)}
    assert authors["from alex"] == "alex"
    assert authors["from sam"] == "sam"


def test_note_refuses_empty_text(
    run: Run, initialized: Path, jim: int, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    assert_error(run("customer", "note", str(jim), "   "))
    assert dump(initialized) == before


def test_contact_is_outbound_unless_inbound(
    run: Run, initialized: Path, jim: int, timeline_rows: TimelineRows
) -> None:
    assert run("customer", "contact", str(jim), "Called him back").exit_code == 0
    assert run("customer", "contact", str(jim), "He rang", "--inbound", "--channel", "phone",
               env={"OCX_NOW": "2026-11-25T12:00:00Z"}).exit_code == 0  # fmt: skip
    assert run("customer", "contact", str(jim), "Sent the guide", "--outbound",
               "--channel", "email").exit_code == 0  # fmt: skip
    contacts = [e for e in timeline_rows(initialized, jim) if e["kind"] == "contact"]
    assert [(e["text"], e["direction"], e["channel"], e["author"]) for e in contacts] == [
        ("Called him back", "outbound", None, "tester"),
        ("He rang", "inbound", "phone", "tester"),
        ("Sent the guide", "outbound", "email", "tester"),
    ]
    assert contacts[1]["at"] == "2026-11-25T12:00:00Z"


def test_contact_refuses_empty_text(
    run: Run, initialized: Path, jim: int, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    assert_error(run("customer", "contact", str(jim), ""))
    assert dump(initialized) == before


# --- timeline ------------------------------------------------------------------------------


@pytest.fixture
def busy_jim(run: Run, jim: int) -> int:
    """Jim (created at NOW) with a note on each of the next three days."""
    for day, text in ((26, "first call"), (27, "second call"), (28, "third call")):
        result = run(
            "customer", "note", str(jim), text, env={"OCX_NOW": f"2026-11-{day}T09:00:00Z"}
        )
        assert result.exit_code == 0, result.output
    return jim


def test_timeline_is_newest_first_with_utc_times(
    run: Run, busy_jim: int, load_json: LoadJson
) -> None:
    entries = load_json(run("customer", "timeline", "jim@example.com", "--json"))
    assert [(e["at"], e["kind"], e["text"]) for e in entries] == [
        ("2026-11-28T09:00:00Z", "note", "third call"),
        ("2026-11-27T09:00:00Z", "note", "second call"),
        ("2026-11-26T09:00:00Z", "note", "first call"),
        (NOW, "created", "Customer jim@example.com added"),
    ]
    assert all(e["customer_id"] == busy_jim and e["author"] == "tester" for e in entries)


def test_timeline_entries_written_at_the_same_second_keep_their_order(
    run: Run, jim: int, load_json: LoadJson
) -> None:
    for text in ("one", "two", "three"):
        assert run("customer", "note", str(jim), text, env={"OCX_NOW": NOW}).exit_code == 0
    entries = load_json(run("customer", "timeline", str(jim), "--json"))
    assert [e["text"] for e in entries][:3] == ["three", "two", "one"]


def test_timeline_limit_keeps_the_newest(run: Run, busy_jim: int, load_json: LoadJson) -> None:
    entries = load_json(run("customer", "timeline", str(busy_jim), "--limit", "2", "--json"))
    assert [e["text"] for e in entries] == ["third call", "second call"]


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2026-11-27", ["third call", "second call"]),
        ("2026-11-27T09:00:00Z", ["third call", "second call"]),
        ("2026-11-27T09:00:01Z", ["third call"]),
        ("2 days ago", ["third call"]),  # now is 2026-11-29T12:00Z
        ("3 days ago", ["third call", "second call"]),
        ("yesterday", ["third call"]),
        ("now", []),
    ],
)
def test_timeline_since(
    run: Run, busy_jim: int, since: str, expected: list[str], load_json: LoadJson
) -> None:
    result = run("customer", "timeline", str(busy_jim), "--since", since, "--json",
                 env={"OCX_NOW": "2026-11-29T12:00:00Z"})  # fmt: skip
    assert [e["text"] for e in load_json(result)] == expected


def test_timeline_since_is_read_in_the_configured_zone(
    run: Run, busy_jim: int, load_json: LoadJson
) -> None:
    # 2026-11-27 in Tokyo starts at 2026-11-26T15:00Z: the first call (09:00Z on the 26th) is out.
    assert run("config", "set", "timezone", "Asia/Tokyo").exit_code == 0
    entries = load_json(run("customer", "timeline", str(busy_jim), "--since", "2026-11-27",
                            "--json"))  # fmt: skip
    assert [e["text"] for e in entries] == ["third call", "second call"]


def test_timeline_text_shows_entries(run: Run, busy_jim: int) -> None:
    result = run("customer", "timeline", str(busy_jim))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("third call") < out.index("second call") < out.index("first call")
    assert "2026-11-28 09:00" in out


def test_timeline_refuses_an_unreadable_since(
    run: Run, busy_jim: int, assert_error: AssertError
) -> None:
    line = assert_error(run("customer", "timeline", str(busy_jim), "--since", "whenever"))
    assert "whenever" in line


def test_timeline_refuses_a_limit_below_one(
    run: Run, busy_jim: int, assert_usage_error: AssertUsageError
) -> None:
    assert_usage_error(run("customer", "timeline", str(busy_jim), "--limit", "0"))


# --- search --------------------------------------------------------------------------------


@pytest.fixture
def crowd(run: Run, margo: int, jim: int) -> dict[str, int]:
    ids = {"margo": margo, "jim": jim}
    ids["zoe"] = add(run, "zoe@example.com", "--name", "Zoë Ångström", "--company", "Café Réunion")
    ids["marge"] = add(run, "marge@simpson.example", "--name", "Marge Simpson")
    ids["alecia"] = add(run, "alecia@example.com", "--name", "Alecia Moreno",
                        "--context", "Her cat Miso is at the vet")  # fmt: skip
    return ids


def test_search_prefix_query_finds_every_match(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    assert sorted(search_emails("marg*")) == ["marge@simpson.example", "margo@example.com"]
    assert search_emails("margo") == ["margo@example.com"]


def test_search_ignores_accents_both_ways(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    assert search_emails("zoe") == ["zoe@example.com"]
    assert search_emails("ZOË") == ["zoe@example.com"]
    assert search_emails("angstrom") == ["zoe@example.com"]
    assert search_emails("cafe reunion") == ["zoe@example.com"]


def test_search_covers_company_tags_and_context(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    assert search_emails("hardware") == ["jim@example.com"]
    assert search_emails("enterprise") == ["margo@example.com"]
    assert search_emails("hurry") == ["margo@example.com"]
    assert sorted(search_emails("founding")) == ["jim@example.com", "margo@example.com"]


def test_search_finds_notes_and_contact_text(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    assert search_emails("sandwich") == []
    assert run("customer", "note", str(crowd["jim"]), "Mentioned his sandwich shop").exit_code == 0
    assert run("customer", "contact", str(crowd["marge"]), "Asked about the invoice",
               "--inbound").exit_code == 0  # fmt: skip
    assert search_emails("sandwich") == ["jim@example.com"]
    assert search_emails("invoice") == ["marge@simpson.example"]


def test_search_follows_profile_edits(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    result = run("customer", "edit", str(crowd["jim"]), "--name", "James Hollis", "--untag",
                 "founding")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert search_emails("james") == ["jim@example.com"]
    assert search_emails("founding") == ["margo@example.com"]


def test_search_by_email(run: Run, crowd: dict[str, int], search_emails: SearchEmails) -> None:
    assert search_emails("margo@example.com") == ["margo@example.com"]
    assert search_emails("MARGE@simpson.example") == ["marge@simpson.example"]


def test_search_needs_every_word(
    run: Run, crowd: dict[str, int], search_emails: SearchEmails
) -> None:
    assert search_emails("marg* lane") == ["margo@example.com"]
    assert search_emails("margo hardware") == []


def test_search_ranks_a_name_above_a_passing_mention(
    run: Run, crowd: dict[str, int], load_json: LoadJson
) -> None:
    assert run("customer", "note", str(crowd["jim"]), "Told him about Miso").exit_code == 0
    miso = add(run, "miso@example.com", "--name", "Miso Tanaka")
    results = load_json(run("customer", "search", "miso", "--json"))
    assert results[0]["id"] == miso
    assert {c["email"] for c in results} == {
        "miso@example.com", "jim@example.com", "alecia@example.com",
    }  # fmt: skip
    assert all(ISO_Z.fullmatch(c["created_at"]) for c in results)


@pytest.mark.parametrize("query", ['"', "o'brien", "(a OR b)", "name:margo", "NEAR(x y)", "-x"])
def test_search_takes_punctuation_literally(
    run: Run, crowd: dict[str, int], query: str, load_json: LoadJson
) -> None:
    assert isinstance(load_json(run("customer", "search", "--json", "--", query)), list)


def test_search_with_no_match_succeeds(run: Run, crowd: dict[str, int]) -> None:
    result = run("customer", "search", "nothing-like-this")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_search_text_shows_a_table(run: Run, crowd: dict[str, int]) -> None:
    result = run("customer", "search", "marg*")
    assert result.exit_code == 0, result.output
    # Narrow tables fold long cells onto a second line; first names stay whole.
    assert "Margo" in result.stdout and "Marge" in result.stdout
    assert "Jim" not in result.stdout


@pytest.mark.parametrize("query", ["", "   ", "*"])
def test_search_refuses_an_empty_query(
    run: Run, crowd: dict[str, int], query: str, assert_error: AssertError
) -> None:
    assert_error(run("customer", "search", query))


# --- merge ---------------------------------------------------------------------------------


@pytest.fixture
def duplicates(run: Run, initialized: Path) -> tuple[int, int]:
    """Margo twice: the profile to keep, and a second record with its own history."""
    keep = add(run, "margo@example.com", "--name", "Margo Lane", "--tag", "founding",
               "--pace", "fast")  # fmt: skip
    other = add(run, "m.lane@lane.example", "--name", "M. Lane", "--phone", "+44 20 7946 0102",
                "--tag", "founding", "--tag", "enterprise", "--context", "Prefers bullet points",
                now="2026-11-24T10:00:00Z")  # fmt: skip
    assert run("customer", "note", str(other), "Asked for the fix ETA",
               env={"OCX_NOW": "2026-11-24T11:00:00Z"}).exit_code == 0  # fmt: skip
    assert run("customer", "contact", str(other), "Called about billing", "--inbound",
               env={"OCX_NOW": "2026-11-24T12:00:00Z"}).exit_code == 0  # fmt: skip
    execute(
        initialized,
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at) "
        "VALUES (?, 'zendesk', '77', '2026-11-20T00:00:00Z')",
        (other,),
    )
    return keep, other


def test_merge_moves_everything_onto_keep_and_deletes_other(
    run: Run,
    initialized: Path,
    duplicates: tuple[int, int],
    rows: Rows,
    load_json: LoadJson,
    assert_error: AssertError,
    show: Show,
    search_emails: SearchEmails,
) -> None:
    keep, other = duplicates
    at = "2026-11-30T09:00:00Z"
    result = run("customer", "merge", "margo@example.com", "m.lane@lane.example",
                 env={"OCX_NOW": at})  # fmt: skip
    assert result.exit_code == 0, result.output

    assert rows(initialized, "SELECT id FROM customers") == [{"id": keep}]
    for table in ("timeline", "tags", "customer_sources"):
        assert rows(initialized, f"SELECT * FROM {table} WHERE customer_id = ?", (other,)) == []
    profile = show("margo@example.com")
    assert profile["name"] == "Margo Lane"  # KEEP's own value wins
    assert profile["pace"] == "fast"
    assert profile["phone"] == "+44 20 7946 0102"  # empty on KEEP: filled from OTHER
    assert profile["context"] == "Prefers bullet points"
    assert profile["updated_at"] == at
    assert profile["tags"] == ["enterprise", "founding"]
    assert {(s["source"], s["external_id"]) for s in profile["sources"]} == {
        ("zendesk", "77"), ("email", "m.lane@lane.example"),
    }  # fmt: skip

    entries = load_json(run("customer", "timeline", str(keep), "--json"))
    assert entries[0]["kind"] == "merged" and entries[0]["at"] == at
    assert "m.lane@lane.example" in entries[0]["text"]
    assert {e["text"] for e in entries} >= {"Asked for the fix ETA", "Called about billing"}
    assert all(e["customer_id"] == keep for e in entries)

    assert_error(run("customer", "show", str(other)))
    assert show("email:m.lane@lane.example")["id"] == keep
    assert show("zendesk:77")["id"] == keep
    assert search_emails("billing") == ["margo@example.com"]
    assert search_emails("bullet") == ["margo@example.com"]
    assert rows(initialized, "SELECT rowid FROM customer_search") == [{"rowid": keep}]


def test_merge_refuses_the_same_customer_twice(
    run: Run, initialized: Path, duplicates: tuple[int, int], dump: Dump, assert_error: AssertError
) -> None:
    keep, _ = duplicates
    before = dump(initialized)
    line = assert_error(run("customer", "merge", str(keep), "MARGO@example.com"))
    assert "same customer" in line
    assert dump(initialized) == before


def test_merge_is_all_or_nothing(
    run: Run,
    initialized: Path,
    duplicates: tuple[int, int],
    dump: Dump,
    assert_error: AssertError,
    show: Show,
) -> None:
    """A failure after the references moved (here a trigger refuses the delete) rolls back."""
    keep, other = duplicates
    if isinstance(initialized, Path):
        execute(initialized, "CREATE TRIGGER refuse_delete BEFORE DELETE ON customers "
                "BEGIN SELECT RAISE(ABORT, 'deleting customers is refused'); END")  # fmt: skip
    else:
        execute(initialized, "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'deleting customers is refused'; END $$")  # fmt: skip
        execute(initialized, "CREATE TRIGGER refuse_delete BEFORE DELETE ON customers "
                "FOR EACH ROW EXECUTE FUNCTION refuse_delete()")  # fmt: skip
    before = dump(initialized)
    line = assert_error(run("customer", "merge", str(keep), str(other)))
    assert "deleting customers is refused" in line
    assert dump(initialized) == before
    assert show(str(other))["email"] == "m.lane@lane.example"


def test_after_a_merge_the_other_email_still_finds_the_kept_customer(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    keep = run("customer", "add", "keep@example.com", "--name", "Keep")
    other = run("customer", "add", "Other@Example.com", "--name", "Other")
    assert keep.exit_code == 0 and other.exit_code == 0, (keep.output, other.output)
    assert run("customer", "merge", "keep@example.com", "other@example.com").exit_code == 0
    shown = load_json(run("customer", "show", "OTHER@example.com", "--json"))
    assert shown["email"] == "keep@example.com"
    again = run("customer", "add", "other@example.com")
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_an_empty_pace_clears_it_like_any_other_field(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    assert run("customer", "add", "jim@example.com", "--pace", "slow").exit_code == 0
    assert run("customer", "edit", "jim@example.com", "--pace", "").exit_code == 0
    assert load_json(run("customer", "show", "jim@example.com", "--json"))["pace"] is None


def test_a_source_ref_made_from_an_email_matches_in_any_letter_case(
    run: Run, initialized: Path, tmp_path: Path, load_json: LoadJson
) -> None:
    sheet = tmp_path / "customers.csv"
    sheet.write_text("email,name\nMarcus.Webb@WebbFreight.co.uk,Marcus Webb\n", encoding="utf-8")
    assert run("import", "csv", str(sheet)).exit_code == 0
    shown = load_json(run("customer", "show", "csv:Marcus.Webb@WebbFreight.co.uk", "--json"))
    assert shown["name"] == "Marcus Webb"


def test_list_sorts_names_as_people_read_them_not_by_code_point(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    for email, name in [
        ("z@example.com", "Zoë Ångström"),
        ("e@example.com", "Élodie Marchand"),
        ("b@example.com", "björn eklund"),
        ("a@example.com", "Anna Berg"),
    ]:
        assert run("customer", "add", email, "--name", name).exit_code == 0
    listed = [c["name"] for c in load_json(run("customer", "list", "--json"))]
    assert listed == ["Anna Berg", "björn eklund", "Élodie Marchand", "Zoë Ångström"]
