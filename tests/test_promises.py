"""`ocx team ...` and `ocx promise ...`: owners, due times read in the user's zone, kept and
broken, snoozes, the timeline, the iCalendar export; on a real SQLite file under OCX_NOW.

Expected times are computed here with datetime and zoneinfo, never with ocx's own parser."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, AssertUsageError, Dump, LoadJson, Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday: 11:00 in Paris (CET, UTC+1)
PARIS = ZoneInfo("Europe/Paris")
JSON_KEYS = {"id", "customer", "text", "owner", "due_at", "state", "done_at"}


def z(moment: datetime) -> str:
    """The UTC text ocx stores and prints in JSON."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    """The environment that pins ocx's clock to `moment`."""
    return {"OCX_NOW": z(moment)}


def local(*parts: int, tz: ZoneInfo = PARIS) -> datetime:
    """A wall-clock time in `tz`, as an aware datetime."""
    return datetime(*parts, tzinfo=tz)  # type: ignore[misc]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def write_config(home: Path, text: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "ocx.toml").write_text(
        f'user = "tester"\ntimezone = "Europe/Paris"\n{text}', encoding="utf-8"
    )


@pytest.fixture
def world(run: Run, initialized: Path, env: Path) -> Path:
    """Two customers (Margo, Jim), a team of tester (the config user) and alex; times shown
    in Europe/Paris."""
    write_config(env)
    for email, name in (("margo@example.com", "Margo Lane"), ("jim@example.com", "Jim Hollis")):
        ok(run("customer", "add", email, "--name", name, env=at(NOW - timedelta(days=30))))
    for handle in ("tester", "alex"):
        ok(run("team", "add", handle, env=at(NOW - timedelta(days=30))))
    return initialized


AddPromise = Callable[..., int]
ListPromises = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def add_promise(run: Run) -> AddPromise:
    """add_promise(ref, text, due, *options, now=NOW) -> the new promise's id."""

    def add(ref: str, text: str, due: str, *options: str, now: datetime = NOW) -> int:
        result = ok(run("promise", "add", ref, text, "--due", due, *options, env=at(now)))
        return int(result.stdout.split()[0])

    return add


@pytest.fixture
def plist(run: Run, load_json: LoadJson) -> ListPromises:
    """plist(*options, now=NOW): `promise list *options --json`."""

    def listing(*options: str, now: datetime = NOW) -> list[dict[str, Any]]:
        return load_json(run("promise", "list", *options, "--json", env=at(now)))

    return listing


def by_id(found: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {p["id"]: p for p in found}


def promise_timeline(run: Run, load_json: LoadJson, ref: str, promise_id: int) -> list[dict]:
    """The customer's timeline entries about one promise, oldest first."""
    entries = load_json(run("customer", "timeline", ref, "--json"))
    mine = [e for e in entries if e["subject_type"] == "promise" and e["subject_id"] == promise_id]
    return sorted(mine, key=lambda e: e["id"])


# --- team ----------------------------------------------------------------------------------


def test_team_add_prints_the_handle_and_list_shows_every_field(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    result = ok(run(
        "team", "add", "Alex", "--name", "Alex Kim", "--email", "Alex@Acme.Example",
        "--channel", "ops-chat", env=at(NOW),
    ))  # fmt: skip
    assert result.stdout.strip() == "alex"
    ok(run("team", "add", "sam", "--name", "Sam Rivera", "--lead", "--digest", env=at(NOW)))
    members = load_json(run("team", "list", "--json"))
    assert [m["handle"] for m in members] == ["sam", "alex"]  # the lead first
    alex = members[1]
    assert alex["name"] == "Alex Kim"
    assert alex["email"] == "alex@acme.example"
    assert alex["channel"] == "ops-chat"
    assert alex["lead"] is False and alex["digest"] is False
    assert members[0]["lead"] is True and members[0]["digest"] is True
    assert members[0]["email"] is None and members[0]["channel"] is None


def test_team_list_table_names_everyone(run: Run, initialized: Path) -> None:
    ok(run("team", "add", "alex", "--name", "Alex Kim", "--email", "alex@acme.example"))
    ok(run("team", "add", "sam", "--lead"))
    result = ok(run("team", "list", env={"COLUMNS": "200"}))
    for text in ("alex", "Alex Kim", "alex@acme.example", "sam"):
        assert text in result.stdout


def test_an_empty_team_lists_as_nothing_and_as_an_empty_json_list(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    assert ok(run("team", "list")).stdout == ""
    assert load_json(run("team", "list", "--json")) == []


def test_team_edit_changes_and_clears_fields(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    ok(run("team", "add", "alex", "--email", "alex@acme.example", "--channel", "ops-chat"))
    ok(run("team", "edit", "ALEX", "--name", "Alex Kim", "--channel", "", "--lead", "--digest"))
    (alex,) = load_json(run("team", "list", "--json"))
    assert alex == {
        **alex, "handle": "alex", "name": "Alex Kim", "email": "alex@acme.example",
        "channel": None, "lead": True, "digest": True,
    }  # fmt: skip
    ok(run("team", "edit", "alex", "--no-lead", "--email", "a.kim@acme.example"))
    (alex,) = load_json(run("team", "list", "--json"))
    assert alex["lead"] is False and alex["email"] == "a.kim@acme.example"
    assert alex["digest"] is True  # untouched


def test_team_add_a_taken_handle_is_an_error_and_changes_nothing(
    run: Run, initialized: Path, assert_error: AssertError, dump: Dump
) -> None:
    ok(run("team", "add", "alex", "--name", "Alex Kim"))
    before = dump(initialized)
    for handle in ("alex", "ALEX", " alex "):
        line = assert_error(run("team", "add", handle, "--name", "Someone Else"))
        assert "alex" in line and "exists" in line
    assert dump(initialized) == before


@pytest.mark.parametrize("email", ["not-an-email", "alex@", "@acme.example", "a b@acme.example"])
def test_team_add_with_a_bad_email_is_an_error_and_adds_nobody(
    run: Run, initialized: Path, assert_error: AssertError, load_json: LoadJson, email: str
) -> None:
    line = assert_error(run("team", "add", "alex", "--email", email))
    assert "email" in line
    assert load_json(run("team", "list", "--json")) == []


def test_team_edit_with_a_bad_email_changes_nothing(
    run: Run, initialized: Path, assert_error: AssertError, dump: Dump
) -> None:
    ok(run("team", "add", "alex", "--email", "alex@acme.example"))
    before = dump(initialized)
    assert_error(run("team", "edit", "alex", "--email", "nope"))
    assert dump(initialized) == before


@pytest.mark.parametrize("handle", ["Bad Handle", "al/ex", "_alex", ""])
def test_team_add_with_a_bad_handle_is_an_error(
    run: Run, initialized: Path, assert_error: AssertError, handle: str
) -> None:
    assert "handle" in assert_error(run("team", "add", handle))


def test_team_edit_of_an_unknown_member_is_an_error_that_says_how_to_add_them(
    run: Run, initialized: Path, assert_error: AssertError
) -> None:
    line = assert_error(run("team", "edit", "ghost", "--name", "Casper"))
    assert "ghost" in line and "team add" in line


# --- promise add: WHEN in every form, read in the user's zone ------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-12-01T15:00", local(2026, 12, 1, 15, 0)),  # no offset: Paris time
        ("2026-12-01T15:00:00", local(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00+05:00", datetime(2026, 12, 1, 10, 0, tzinfo=UTC)),
        ("2026-12-01T15:00:00Z", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        ("2026-12-01T15:00-03:30", datetime(2026, 12, 1, 18, 30, tzinfo=UTC)),
        ("2026-12-01", local(2026, 12, 1, 0, 0)),  # a date: its start, in Paris
        ("in 2 hours", NOW + timedelta(hours=2)),
        ("in 90 minutes", NOW + timedelta(minutes=90)),
        ("+3d", NOW + timedelta(days=3)),  # no DST change in between: 72 h either way
        ("+1h30m", NOW + timedelta(hours=1, minutes=30)),
        ("tomorrow 9am", local(2026, 11, 26, 9, 0)),
        ("tomorrow 15:30", local(2026, 11, 26, 15, 30)),
        ("friday 15:00", local(2026, 11, 27, 15, 0)),
        ("Friday 3pm", local(2026, 11, 27, 15, 0)),
        ("today 18:00", local(2026, 11, 25, 18, 0)),
    ],
)
def test_promise_add_reads_when_in_the_users_zone_and_stores_utc(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises, when: str,
    expected: datetime,
) -> None:  # fmt: skip
    result = ok(run("promise", "add", "margo@example.com", "Call back", "--due", when,
                    env=at(NOW)))  # fmt: skip
    promise_id = int(result.stdout.split()[0])
    (stored,) = plist()
    assert stored["id"] == promise_id
    assert stored["due_at"] == z(expected)
    # printed in the user's zone (Paris), not in UTC
    shown = expected.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")
    assert shown in result.stdout
    utc_shown = expected.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert utc_shown not in result.stdout  # Paris is never UTC+0


def test_next_monday_is_the_coming_monday_in_the_users_zone(
    world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    add_promise("margo@example.com", "Call back", "next monday")
    (stored,) = plist()
    due = datetime.fromisoformat(stored["due_at"].replace("Z", "+00:00")).astimezone(PARIS)
    assert due.date().isoformat() == "2026-11-30"  # said on Wednesday 25 November
    assert due.weekday() == 0


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Paris", datetime(2026, 11, 26, 8, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 11, 26, 14, 0, tzinfo=UTC)),
        # 19:00 on the 25th in Tokyo: tomorrow is the 26th there, 09:00 JST = 00:00 UTC
        ("Asia/Tokyo", datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
        ("UTC", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
    ],
)
def test_tomorrow_9am_follows_the_configured_zone(
    run: Run, world: Path, env: Path, add_promise: AddPromise, plist: ListPromises, zone: str,
    expected: datetime,
) -> None:  # fmt: skip
    ok(run("config", "set", "timezone", zone))
    result = ok(run("promise", "add", "jim@example.com", "Ship it", "--due", "tomorrow 9am",
                    env=at(NOW)))  # fmt: skip
    assert plist()[0]["due_at"] == z(expected)
    assert expected.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") in result.stdout
    assert "09:00" in result.stdout


def test_in_2_hours_is_two_real_hours_across_a_dst_change(
    world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    # 01:30 CET on 29 March 2026; at 02:00 Paris clocks jump to 03:00 CEST.
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    add_promise("margo@example.com", "Call back", "in 2 hours", now=now)
    assert plist(now=now)[0]["due_at"] == z(now + timedelta(hours=2))


def test_tomorrow_9am_across_a_dst_change_is_9am_summer_time(
    world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    now = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)  # Saturday, CET; Sunday is CEST
    add_promise("margo@example.com", "Call back", "tomorrow 9am", now=now)
    assert plist(now=now)[0]["due_at"] == z(local(2026, 3, 29, 9, 0))
    assert plist(now=now)[0]["due_at"] == "2026-03-29T07:00:00Z"


def test_a_weekday_said_on_that_day_after_the_hour_means_next_week(
    world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    friday_afternoon = local(2026, 11, 27, 16, 30)
    add_promise("margo@example.com", "Late", "friday 15:00", now=friday_afternoon)
    friday_morning = local(2026, 11, 27, 10, 0)
    add_promise("jim@example.com", "Early", "friday 15:00", now=friday_morning)
    found = {p["text"]: p["due_at"] for p in plist("--all", now=friday_morning)}
    assert found == {"Late": z(local(2026, 12, 4, 15, 0)), "Early": z(local(2026, 11, 27, 15, 0))}


def _examples(line: str) -> list[str]:
    """The quoted examples an error offers after 'e.g.'."""
    assert "e.g." in line, line
    return re.findall(r"'([^']+)'", line.split("e.g.", 1)[1])


@pytest.mark.parametrize(
    "when",
    [
        "yesterday",
        "yesterday 18:00",
        "2026-11-24T09:00",
        "2026-11-25",  # today's start has passed
        "2026-11-25T10:30",  # 09:30 UTC in Paris: past, though it would be future as UTC
        "2026-11-25T09:59:59Z",
        "-2h",
        "3 days ago",
        "now",
        "2020-01-01",
    ],
)
def test_a_past_when_is_refused_with_an_accepted_example(
    run: Run, world: Path, assert_error: AssertError, dump: Dump, when: str
) -> None:
    before = dump(world)
    line = assert_error(run("promise", "add", "margo@example.com", "Call back", "--due", when,
                            env=at(NOW)))  # fmt: skip
    assert "past" in line
    examples = _examples(line)
    assert examples
    assert dump(world) == before
    for example in examples:  # the examples offered are accepted right now
        ok(run("promise", "add", "margo@example.com", "Call back", "--due", example,
               env=at(NOW)))  # fmt: skip


@pytest.mark.parametrize(
    "when",
    ["blursday", "tomorrow at teatime", "in two hours", "2026-13-45", "25:00", "", "   ",
     "next", "+", "in", "friday 25:00", "2026-12-01T15:00+99:00"],
)  # fmt: skip
def test_an_unreadable_when_is_refused_with_an_accepted_example(
    run: Run, world: Path, assert_error: AssertError, dump: Dump, when: str
) -> None:
    before = dump(world)
    line = assert_error(run("promise", "add", "margo@example.com", "Call back", "--due", when,
                            env=at(NOW)))  # fmt: skip
    assert "Traceback" not in line
    examples = _examples(line)
    assert examples
    for example in examples:
        ok(run("promise", "add", "jim@example.com", "x", "--due", example, env=at(NOW)))
    assert len(dump(world)) > len(before)  # the examples went in; the bad WHEN did not


def test_promise_add_refuses_an_unknown_owner_customer_or_empty_text(
    run: Run, world: Path, assert_error: AssertError, dump: Dump
) -> None:
    before = dump(world)
    line = assert_error(run("promise", "add", "margo@example.com", "x", "--due", "+1d",
                            "--owner", "ghost", env=at(NOW)))  # fmt: skip
    assert "ghost" in line
    line = assert_error(run("promise", "add", "nobody@example.com", "x", "--due", "+1d",
                            env=at(NOW)))  # fmt: skip
    assert "nobody@example.com" in line
    assert_error(run("promise", "add", "margo@example.com", "  ", "--due", "+1d", env=at(NOW)))
    assert dump(world) == before


def test_promise_add_needs_due(run: Run, world: Path, assert_usage_error: AssertUsageError) -> None:
    assert_usage_error(run("promise", "add", "margo@example.com", "x"))


def test_the_default_owner_is_the_config_user(
    run: Run, world: Path, env: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    add_promise("margo@example.com", "Mine", "+1d")
    ok(run("config", "set", "user", "alex"))
    add_promise("margo@example.com", "Alex's", "+2d")
    add_promise("margo@example.com", "Explicit", "+3d", "--owner", "TESTER")
    assert [(p["text"], p["owner"]) for p in plist()] == [
        ("Mine", "tester"), ("Alex's", "alex"), ("Explicit", "tester"),
    ]  # fmt: skip


def test_a_config_user_not_on_the_team_cannot_own_by_default(
    run: Run, world: Path, assert_error: AssertError
) -> None:
    ok(run("config", "set", "user", "casper"))
    line = assert_error(run("promise", "add", "margo@example.com", "x", "--due", "+1d",
                            env=at(NOW)))  # fmt: skip
    assert "casper" in line


# --- promise list --------------------------------------------------------------------------


@pytest.fixture
def mixed(run: Run, world: Path, add_promise: AddPromise) -> dict[str, int]:
    """Promises in every state, seen at LATER (12:30 UTC):
    open-late (Jim, due 11:00, overdue), open-soon (Margo, due 13:00, alex),
    kept (Jim, due 12:00, done at 10:30), kept-late (Jim, due 11:00, done 12:30),
    cancelled (Margo, due in 2 days, cancelled 12:30), broken (Margo, due 11:00, cancelled 12:30)."""
    ids = {
        "open-soon": add_promise("margo@example.com", "open-soon", "in 3 hours", "--owner", "alex"),
        "open-late": add_promise("jim@example.com", "open-late", "in 1 hour"),
        "kept": add_promise("jim@example.com", "kept", "in 2 hours", "--owner", "alex"),
        "kept-late": add_promise("jim@example.com", "kept-late", "in 1 hour"),
        "cancelled": add_promise("margo@example.com", "cancelled", "+2d"),
        "broken": add_promise("margo@example.com", "broken", "in 1 hour"),
    }
    ok(run("promise", "done", str(ids["kept"]), env=at(NOW + timedelta(minutes=30))))
    for name in ("kept-late",):
        ok(run("promise", "done", str(ids[name]), env=at(LATER)))
    for name in ("cancelled", "broken"):
        ok(run("promise", "cancel", str(ids[name]), "--reason", "Customer left", env=at(LATER)))
    return ids


LATER = NOW + timedelta(hours=2, minutes=30)


def test_promise_list_defaults_to_open_soonest_first_with_the_json_keys(
    mixed: dict[str, int], plist: ListPromises
) -> None:
    found = plist(now=LATER)
    assert [p["text"] for p in found] == ["open-late", "open-soon"]
    assert plist("--open", now=LATER) == found
    for p in found:
        assert set(p) >= JSON_KEYS
        assert p["state"] == "open" and p["done_at"] is None
    late, soon = found
    assert late == {**late, "id": mixed["open-late"], "customer": "jim@example.com",
                    "owner": "tester", "due_at": "2026-11-25T11:00:00Z"}  # fmt: skip
    assert soon == {**soon, "id": mixed["open-soon"], "customer": "margo@example.com",
                    "owner": "alex", "due_at": "2026-11-25T13:00:00Z"}  # fmt: skip


def test_promise_list_filters(mixed: dict[str, int], plist: ListPromises) -> None:
    def texts(*options: str) -> list[str]:
        return [p["text"] for p in plist(*options, now=LATER)]

    assert texts("--overdue") == ["open-late"]
    assert sorted(texts("--kept")) == ["kept", "kept-late"]
    assert texts("--broken") == ["broken"]
    assert sorted(texts("--all")) == sorted(mixed)
    assert texts("--owner", "alex") == ["open-soon"]
    assert texts("--owner", "ALEX") == ["open-soon"]
    assert texts("--customer", "jim@example.com") == ["open-late"]
    assert sorted(texts("--all", "--customer", "margo@example.com")) == [
        "broken", "cancelled", "open-soon",
    ]  # fmt: skip
    assert texts("--kept", "--owner", "alex") == ["kept"]
    assert texts("--overdue", "--owner", "alex") == []
    # an hour earlier nothing open was overdue yet
    assert [p["text"] for p in plist("--overdue", now=NOW + timedelta(minutes=59))] == []


def test_promise_list_json_states_and_done_times(
    mixed: dict[str, int], plist: ListPromises
) -> None:
    everything = {p["text"]: p for p in plist("--all", now=LATER)}
    assert {t: p["state"] for t, p in everything.items()} == {
        "open-soon": "open", "open-late": "open", "kept": "done", "kept-late": "done",
        "cancelled": "cancelled", "broken": "cancelled",
    }  # fmt: skip
    assert everything["kept"]["done_at"] == z(NOW + timedelta(minutes=30))
    assert everything["kept-late"]["done_at"] == z(LATER)
    assert everything["cancelled"]["done_at"] is None


def test_promise_list_unknown_customer_is_an_error(
    run: Run, world: Path, assert_error: AssertError
) -> None:
    assert "nobody@example.com" in assert_error(
        run("promise", "list", "--customer", "nobody@example.com")
    )


def test_promise_list_table_shows_customer_owner_and_local_due(
    run: Run, mixed: dict[str, int]
) -> None:
    result = ok(run("promise", "list", env={**at(LATER), "COLUMNS": "200"}))
    assert "Jim Hollis" in result.stdout and "Margo Lane" in result.stdout
    assert "2026-11-25 12:00" in result.stdout  # 11:00 UTC, shown in Paris
    assert "2026-11-25 14:00" in result.stdout
    assert "kept" not in result.stdout


def test_nothing_to_list_prints_nothing(run: Run, world: Path) -> None:
    assert ok(run("promise", "list", env=at(NOW))).stdout == ""


# --- done, cancel, snooze ------------------------------------------------------------------


def _outcome(plist: ListPromises, promise_id: int, now: datetime) -> dict[str, Any]:
    return by_id(plist("--all", now=now))[promise_id]


def test_done_at_the_due_time_is_on_time_and_a_second_later_is_late(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises, load_json: LoadJson
) -> None:
    due = NOW + timedelta(hours=1)
    exact = add_promise("margo@example.com", "exact", z(due))
    late = add_promise("margo@example.com", "late", z(due))
    done = ok(run("promise", "done", str(exact), "--note", "Called", env=at(due)))
    assert "late" not in done.stderr
    done = ok(run("promise", "done", str(late), env=at(due + timedelta(seconds=1))))
    assert "late" in done.stderr
    assert _outcome(plist, exact, due)["outcome"] == "kept"
    assert _outcome(plist, late, due)["outcome"] == "kept_late"
    events = promise_timeline(run, load_json, "margo@example.com", exact)
    assert events[-1]["data"] == {**events[-1]["data"], "event": "done", "on_time": True}
    events = promise_timeline(run, load_json, "margo@example.com", late)
    assert events[-1]["data"] == {**events[-1]["data"], "event": "done", "on_time": False}


def test_cancel_before_due_is_not_broken_at_or_after_it_is(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises, load_json: LoadJson
) -> None:
    due = NOW + timedelta(hours=1)
    early = add_promise("margo@example.com", "early", z(due))
    exact = add_promise("margo@example.com", "exact", z(due))
    after = add_promise("margo@example.com", "after", z(due))
    ok(run("promise", "cancel", str(early), "--reason", "Not needed",
           env=at(due - timedelta(seconds=1))))  # fmt: skip
    ok(run("promise", "cancel", str(exact), "--reason", "Vendor slipped", env=at(due)))
    ok(run("promise", "cancel", str(after), "--reason", "Vendor slipped",
           env=at(due + timedelta(days=1))))  # fmt: skip
    assert sorted(p["id"] for p in plist("--broken", now=due)) == [exact, after]
    everything = by_id(plist("--all", now=due))
    assert everything[early]["state"] == "cancelled"
    assert everything[early]["outcome"] == "cancelled"
    (event,) = [e for e in promise_timeline(run, load_json, "margo@example.com", early)
                if e["data"]["event"] == "cancelled"]  # fmt: skip
    assert event["data"]["broken"] is False and "Not needed" in event["text"]
    (event,) = [e for e in promise_timeline(run, load_json, "margo@example.com", exact)
                if e["data"]["event"] == "cancelled"]  # fmt: skip
    assert event["data"]["broken"] is True and "Vendor slipped" in event["text"]


def test_cancel_needs_a_reason(
    run: Run, world: Path, add_promise: AddPromise, assert_usage_error: AssertUsageError,
    assert_error: AssertError, plist: ListPromises,
) -> None:  # fmt: skip
    promise_id = add_promise("margo@example.com", "x", "+1d")
    assert_usage_error(run("promise", "cancel", str(promise_id), env=at(NOW)))
    assert_error(run("promise", "cancel", str(promise_id), "--reason", "  ", env=at(NOW)))
    assert plist()[0]["state"] == "open"


def test_snooze_keeps_the_original_due_counts_snoozes_and_is_in_the_timeline(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises, load_json: LoadJson
) -> None:
    snoozed = add_promise("margo@example.com", "snoozed", "in 2 hours")  # 12:00 UTC
    other = add_promise("jim@example.com", "other", "in 3 hours")  # 13:00 UTC
    result = ok(run("promise", "snooze", str(snoozed), "--until", "in 5 hours",
                    "--reason", "Waiting on the vendor", env=at(NOW)))  # fmt: skip
    assert str(snoozed) in result.stdout.split()[0]
    assert "2026-11-25 16:00" in result.stdout  # 15:00 UTC in Paris
    ok(run("promise", "snooze", str(snoozed), "--until", "in 4 hours",
           env=at(NOW + timedelta(minutes=5))))  # fmt: skip
    found = plist()
    assert [p["id"] for p in found] == [other, snoozed]  # the snoozed one is now due later
    p = by_id(found)[snoozed]
    assert p["due_at"] == "2026-11-25T12:00:00Z"  # the original stays
    assert p["snoozes"] == 2
    assert p["snoozed_until"] == z(NOW + timedelta(minutes=5, hours=4))
    events = promise_timeline(run, load_json, "margo@example.com", snoozed)
    assert [e["data"]["event"] for e in events] == ["made", "snoozed", "snoozed"]
    assert "Waiting on the vendor" in events[1]["text"]
    assert events[1]["data"]["until"] == "2026-11-25T15:00:00Z"
    assert events[1]["at"] == z(NOW)


def test_done_after_the_original_due_is_late_even_within_the_snooze(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    late = add_promise("margo@example.com", "late", "in 1 hour")  # 11:00 UTC
    timely = add_promise("jim@example.com", "timely", "in 1 hour")
    for promise_id in (late, timely):
        ok(run("promise", "snooze", str(promise_id), "--until", "in 5 hours", env=at(NOW)))
    ok(run("promise", "done", str(late), env=at(NOW + timedelta(hours=2))))  # snooze not over
    ok(run("promise", "done", str(timely), env=at(NOW + timedelta(minutes=30))))
    everything = by_id(plist("--all", now=NOW + timedelta(hours=2)))
    assert everything[late]["outcome"] == "kept_late"
    assert everything[timely]["outcome"] == "kept"


def test_cancel_after_the_original_due_is_broken_even_within_the_snooze(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    promise_id = add_promise("margo@example.com", "x", "in 1 hour")
    ok(run("promise", "snooze", str(promise_id), "--until", "+1d", env=at(NOW)))
    ok(run("promise", "cancel", str(promise_id), "--reason", "Gave up",
           env=at(NOW + timedelta(hours=2))))  # fmt: skip
    assert [p["id"] for p in plist("--broken", now=NOW + timedelta(hours=2))] == [promise_id]


def test_a_snoozed_promise_is_overdue_only_after_the_snooze(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises
) -> None:
    promise_id = add_promise("margo@example.com", "x", "in 1 hour")
    ok(run("promise", "snooze", str(promise_id), "--until", "in 3 hours", env=at(NOW)))
    assert plist("--overdue", now=NOW + timedelta(hours=2)) == []
    assert [p["id"] for p in plist("--overdue", now=NOW + timedelta(hours=3, seconds=1))] == [
        promise_id
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("done", "999"), ("cancel", "999", "--reason", "x"), ("snooze", "999", "--until", "+1d"),
        ("done", "abc"), ("show", "999"), ("done", "0"), ("done", "1.5"),
    ],
)  # fmt: skip
def test_an_unknown_promise_id_is_an_error(
    run: Run, world: Path, assert_error: AssertError, args: tuple[str, ...]
) -> None:
    line = assert_error(run("promise", *args, env=at(NOW)))
    assert "promise" in line


def test_a_handled_promise_cannot_be_done_cancelled_or_snoozed_again(
    run: Run, world: Path, add_promise: AddPromise, assert_error: AssertError, dump: Dump,
    plist: ListPromises,
) -> None:  # fmt: skip
    done = add_promise("margo@example.com", "done", "+1d")
    gone = add_promise("margo@example.com", "gone", "+1d")
    ok(run("promise", "done", str(done), env=at(NOW)))
    ok(run("promise", "cancel", str(gone), "--reason", "No longer needed", env=at(NOW)))
    before = dump(world)
    later = at(NOW + timedelta(hours=1))
    assert "already done" in assert_error(run("promise", "done", str(done), env=later))
    assert_error(run("promise", "cancel", str(done), "--reason", "x", env=later))
    assert_error(run("promise", "snooze", str(done), "--until", "+1d", env=later))
    assert "already cancelled" in assert_error(run("promise", "done", str(gone), env=later))
    assert dump(world) == before
    assert by_id(plist("--all"))[done]["done_at"] == z(NOW)


def test_snooze_into_the_past_or_unreadable_is_refused(
    run: Run, world: Path, add_promise: AddPromise, assert_error: AssertError, dump: Dump
) -> None:
    promise_id = add_promise("margo@example.com", "x", "+1d")
    before = dump(world)
    assert "e.g." in assert_error(run("promise", "snooze", str(promise_id), "--until",
                                      "yesterday", env=at(NOW)))  # fmt: skip
    assert "e.g." in assert_error(run("promise", "snooze", str(promise_id), "--until",
                                      "whenever", env=at(NOW)))  # fmt: skip
    assert dump(world) == before


# --- timeline and customer show ------------------------------------------------------------


def test_every_change_appears_in_the_customers_timeline(
    run: Run, world: Path, add_promise: AddPromise, load_json: LoadJson
) -> None:
    one = add_promise("margo@example.com", "Send the invoice", "in 2 hours")
    two = add_promise("margo@example.com", "Call back", "in 2 hours", "--owner", "alex")
    ok(run("promise", "snooze", str(one), "--until", "+1d", env=at(NOW + timedelta(minutes=1))))
    ok(run("promise", "done", str(one), "--note", "Sent by mail",
           env=at(NOW + timedelta(minutes=2))))  # fmt: skip
    ok(run("promise", "cancel", str(two), "--reason", "Customer called us",
           env=at(NOW + timedelta(minutes=3))))  # fmt: skip
    first = promise_timeline(run, load_json, "margo@example.com", one)
    assert [(e["data"]["event"], e["at"]) for e in first] == [
        ("made", z(NOW)), ("snoozed", z(NOW + timedelta(minutes=1))),
        ("done", z(NOW + timedelta(minutes=2))),
    ]  # fmt: skip
    assert all("Send the invoice" in e["text"] for e in first)
    assert "Sent by mail" in first[-1]["text"]
    assert all(e["customer_id"] == first[0]["customer_id"] for e in first)
    second = promise_timeline(run, load_json, "margo@example.com", two)
    assert [(e["data"]["event"], e["at"]) for e in second] == [
        ("made", z(NOW)), ("cancelled", z(NOW + timedelta(minutes=3))),
    ]  # fmt: skip
    assert "alex" in second[0]["text"]
    # nothing about Margo's promises in Jim's timeline
    jim = load_json(run("customer", "timeline", "jim@example.com", "--json"))
    assert not [e for e in jim if e["subject_type"] == "promise"]


def test_customer_show_lists_open_promises_only(
    run: Run, world: Path, add_promise: AddPromise, load_json: LoadJson
) -> None:
    later = add_promise("margo@example.com", "later", "+2d")
    sooner = add_promise("margo@example.com", "sooner", "+1d", "--owner", "alex")
    closed = add_promise("margo@example.com", "closed", "+1d")
    add_promise("jim@example.com", "Jim's", "+1d")
    ok(run("promise", "done", str(closed), env=at(NOW)))
    shown = load_json(run("customer", "show", "margo@example.com", "--json", env=at(NOW)))
    assert [(p["id"], p["text"], p["owner"]) for p in shown["promises"]] == [
        (sooner, "sooner", "alex"), (later, "later", "tester"),
    ]  # fmt: skip
    table = ok(run("customer", "show", "margo@example.com", env={**at(NOW), "COLUMNS": "200"}))
    section = table.stdout.split("Open promises", 1)[1].split("Latest timeline", 1)[0]
    assert f"#{sooner} sooner" in section and f"#{later} later" in section
    assert "2026-11-26 11:00" in section  # due 10:00 UTC, shown in Paris
    assert "closed" not in section


def test_merge_moves_promises_to_the_customer_kept(
    run: Run, world: Path, add_promise: AddPromise, plist: ListPromises, load_json: LoadJson
) -> None:
    margos = add_promise("margo@example.com", "Margo's", "+1d")
    jims = add_promise("jim@example.com", "Jim's", "+2d")
    ok(run("promise", "snooze", str(jims), "--until", "+3d", env=at(NOW)))
    ok(run("customer", "merge", "margo@example.com", "jim@example.com", env=at(NOW)))
    found = plist("--customer", "margo@example.com")
    assert [(p["id"], p["customer"]) for p in found] == [
        (margos, "margo@example.com"), (jims, "margo@example.com"),
    ]  # fmt: skip
    assert found[1]["snoozes"] == 1 and found[1]["due_at"] == z(NOW + timedelta(days=2))
    shown = load_json(run("customer", "show", "margo@example.com", "--json", env=at(NOW)))
    assert [p["id"] for p in shown["promises"]] == [margos, jims]
    # the moved promise keeps working: its history moved along, and it can be kept
    assert [e["data"]["event"] for e in promise_timeline(run, load_json, "margo@example.com",
                                                         jims)] == ["made", "snoozed"]  # fmt: skip
    ok(run("promise", "done", str(jims), env=at(NOW + timedelta(hours=1))))
    assert [e["data"]["event"] for e in promise_timeline(run, load_json, "margo@example.com",
                                                         jims)][-1] == "done"  # fmt: skip


# --- iCalendar export ----------------------------------------------------------------------


def _ics_unescape(text: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def parse_ics(raw: bytes) -> list[dict[str, str]]:
    """Check the RFC 5545 framing (CRLF, lines of at most 75 octets, no split UTF-8) and
    return each component as {NAME: value} (the VCALENDAR first, then each VTODO)."""
    assert raw.endswith(b"\r\n")
    physical = raw[:-2].split(b"\r\n")
    for line in physical:
        assert b"\n" not in line and b"\r" not in line, line  # no bare line ends
        assert len(line) <= 75, (len(line), line)
        line.decode("utf-8")  # folding never splits a character
    logical: list[str] = []
    for line in physical:
        text = line.decode("utf-8")
        if text.startswith((" ", "\t")):
            assert logical, "a continuation line first"
            logical[-1] += text[1:]
        else:
            logical.append(text)
    assert logical[0] == "BEGIN:VCALENDAR" and logical[-1] == "END:VCALENDAR"
    components: list[dict[str, str]] = [{}]
    current: dict[str, str] | None = None
    for line in logical[1:-1]:
        name, _, value = line.partition(":")
        name = name.split(";")[0]
        if line == "BEGIN:VTODO":
            assert current is None, "nested VTODO"
            current = {}
        elif line == "END:VTODO":
            assert current is not None
            components.append(current)
            current = None
        else:
            assert name and _, line
            (current if current is not None else components[0])[name] = value
    assert current is None
    return components


def test_export_ics_is_a_valid_calendar_of_open_promises_with_stable_uids(
    run: Run, world: Path, add_promise: AddPromise
) -> None:
    long_text = ("Rückruf wegen der Lieferung; Termin, Preis und Zusage — " * 4).strip()
    add_promise("margo@example.com", long_text, "2026-12-01T15:00")
    second = add_promise("jim@example.com", "Call back, then email", "+1d", "--owner", "alex")
    third = add_promise("jim@example.com", "snoozed one", "+2d")
    ok(run("promise", "snooze", str(third), "--until", "+5d", env=at(NOW)))
    done = add_promise("margo@example.com", "finished", "+1d")
    ok(run("promise", "done", str(done), env=at(NOW)))

    one = ok(run("promise", "export", "--ics", env=at(NOW)))
    two = ok(run("promise", "export", "--ics", env=at(NOW + timedelta(hours=3))))
    calendar, *todos = parse_ics(one.stdout_bytes)
    assert calendar["VERSION"] == "2.0" and calendar.get("PRODID")
    assert len(todos) == 3  # one per open promise, none for the done one
    uids = [t["UID"] for t in todos]
    assert len(set(uids)) == 3
    _, *again = parse_ics(two.stdout_bytes)
    assert [t["UID"] for t in again] == uids  # stable across exports
    due = {t["UID"]: t["DUE"] for t in todos}
    summaries = {t["UID"]: _ics_unescape(t["SUMMARY"]) for t in todos}
    by_text = {
        next(uid for uid, s in summaries.items() if text in s): expected
        for text, expected in (
            (long_text, local(2026, 12, 1, 15, 0)),
            ("Call back, then email", NOW + timedelta(days=1)),
            ("snoozed one", NOW + timedelta(days=5)),  # when it is due now
        )
    }  # fmt: skip
    assert {uid: due[uid] for uid in by_text} == {
        uid: moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for uid, moment in by_text.items()
    }
    for todo in todos:
        assert todo["DTSTAMP"] and todo.get("STATUS") == "NEEDS-ACTION"
    # the ids differ, so do the UIDs; a new export after one is done drops just that one
    ok(run("promise", "done", str(second), env=at(NOW + timedelta(hours=1))))
    _, *remaining = parse_ics(
        ok(run("promise", "export", "--ics", env=at(NOW + timedelta(hours=1)))).stdout_bytes
    )
    assert len(remaining) == 2
    assert {t["UID"] for t in remaining} < set(uids)
    assert not any("Call back, then email" in _ics_unescape(t["SUMMARY"]) for t in remaining)
    assert any(long_text in _ics_unescape(t["SUMMARY"]) for t in remaining)


def test_export_ics_with_no_open_promises_is_an_empty_calendar(run: Run, world: Path) -> None:
    calendar, *todos = parse_ics(ok(run("promise", "export", "--ics", env=at(NOW))).stdout_bytes)
    assert todos == [] and calendar["VERSION"] == "2.0"


def test_an_unknown_owner_filter_is_an_error_not_an_empty_list(
    run: Run, initialized: Path, assert_error: AssertError
) -> None:
    for args in (("promise", "list", "--owner", "ghost"), ("due", "--owner", "ghost")):
        line = assert_error(run(*args))
        assert "no team member 'ghost'" in line
