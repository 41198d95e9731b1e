"""Cadences: parsing schedules (property tests), and `ocx cadence ...` under OCX_NOW: the
clock restarts from each real outbound contact, tag cadences, a customer's own one winning.

The rule (issue 6): until the first outbound contact made at or after the cadence was set, a
contact is due one step-1 interval after it was set; after the nth, the next is due the nth
interval of the expanded schedule after it (daily*2,weekly: +1 day, +1 day, then +1 week)."""

from __future__ import annotations

import calendar
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ocx.cadences import Step, add_months, interval_index, parse_schedule
from ocx.cli import cli
from ocx.errors import OcxError

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, AssertUsageError, Dump, LoadJson, Run

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)
NAMED = {"daily": DAY, "weekly": WEEK, "fortnightly": 2 * WEEK, "biweekly": 2 * WEEK}
UNITS = {"m": 60, "min": 60, "h": 3600, "hours": 3600, "d": 86400, "days": 86400, "w": 604800}


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def month_later(moment: datetime) -> datetime:
    """The same day and time next month, clamped to that month's last day."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    last = calendar.monthrange(year, month)[1]
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def interval_of(every: str, moment: datetime) -> datetime:
    """When a step's interval after `moment` ends, computed here, not by ocx."""
    if every == "monthly":
        return month_later(moment)
    if every in NAMED:
        return moment + NAMED[every]
    match = re.fullmatch(r"(\d+)([a-z]+)", every)
    assert match, every
    return moment + timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def expected_next(
    steps: list[tuple[str, int | None]], set_at: datetime, contacts: list[datetime]
) -> tuple[datetime | None, int | None]:
    """(next due, 1-based step position) by the issue's rule, from the expanded schedule."""
    expanded: list[tuple[str, int]] = []
    for position, (every, times) in enumerate(steps, start=1):
        expanded += [(every, position)] * (times if times is not None else 1)
    infinite = steps[-1][1] is None
    index = max(len(contacts) - 1, 0)
    if index >= len(expanded):
        if not infinite:
            return None, None
        index = len(expanded) - 1
    every, position = expanded[index]
    return interval_of(every, contacts[-1] if contacts else set_at), position


# --- parse_schedule: properties ------------------------------------------------------------

durations = st.builds(
    lambda n, unit: f"{n}{unit}", st.integers(1, 400), st.sampled_from(sorted(UNITS))
)
everies = st.one_of(st.sampled_from([*NAMED, "monthly"]), durations)


@st.composite
def schedules(draw: Any) -> tuple[str, list[tuple[str, int | None]]]:
    """A schedule as someone might type it (any case, stray spaces) and its steps."""
    count = draw(st.integers(1, 5))
    steps: list[tuple[str, int | None]] = [
        (draw(everies), draw(st.integers(1, 30))) for _ in range(count - 1)
    ]
    steps.append((draw(everies), draw(st.one_of(st.none(), st.integers(1, 30)))))
    space = st.sampled_from(["", " ", "  "])
    parts = []
    for every, times in steps:
        shown = "".join(c.upper() if draw(st.booleans()) else c for c in every)
        part = draw(space) + shown + draw(space)
        if times is not None:
            part += "*" + draw(space) + str(times) + draw(space)
        parts.append(part)
    return ",".join(parts), steps


@given(schedules())
def test_parse_schedule_reads_every_step_and_its_count(
    case: tuple[str, list[tuple[str, int | None]]],
) -> None:
    text, steps = case
    parsed = parse_schedule(text)
    assert [(s.every, s.times) for s in parsed] == steps
    canonical = ",".join(str(s) for s in parsed)
    assert " " not in canonical and canonical == canonical.lower()
    assert parse_schedule(canonical) == parsed  # the canonical form reads back the same


@given(schedules(), st.integers(0, 200))
def test_interval_index_follows_the_expanded_schedule(
    case: tuple[str, list[tuple[str, int | None]]], contacts: int
) -> None:
    text, steps = case
    parsed = parse_schedule(text)
    fake_contacts = [T0] * contacts
    want_due, want_position = expected_next(steps, T0, fake_contacts)
    found = interval_index(parsed, contacts)
    if want_position is None:
        assert found is None
    else:
        assert found is not None
        step, position = found
        assert position == want_position
        assert step == parsed[position - 1]
        assert step.after(T0) == want_due


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_monthly_is_the_same_day_next_month_clamped_to_its_end(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    later = Step("monthly", None).after(moment)
    assert later == month_later(moment)
    assert (later.year * 12 + later.month) - (moment.year * 12 + moment.month) == 1
    assert later.time() == moment.time()
    assert later.day == min(moment.day, calendar.monthrange(later.year, later.month)[1])
    assert add_months(moment, 12) == moment.replace(
        year=moment.year + 1, day=min(moment.day, calendar.monthrange(moment.year + 1,
                                                                      moment.month)[1])
    )  # fmt: skip


@given(st.text(max_size=40))
def test_parse_schedule_reads_or_refuses_any_text_cleanly(text: str) -> None:
    try:
        steps = parse_schedule(text)
    except OcxError as exc:
        assert str(exc)
        return
    assert steps
    assert all(s.times is not None for s in steps[:-1])
    for step in steps:  # whatever was accepted can be used to compute a due time
        step.after(T0)


@given(schedules())
def test_a_step_for_good_that_is_not_last_is_refused(
    case: tuple[str, list[tuple[str, int | None]]],
) -> None:
    _, steps = case
    assume(len(steps) >= 2)
    text = ",".join(f"{e}*{t}" if t and i != 0 else e for i, (e, t) in enumerate(steps))
    with pytest.raises(OcxError, match="for good"):
        parse_schedule(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", ",", "daily,", ",daily", "daily*0", "daily,weekly", "daily*", "*3", "daily*x",
     "daily*-1", "sometimes", "daily**2", "yearly", "0d", "daily;weekly", "daily*2*3",
     "99999999d"],
)  # fmt: skip
def test_parse_schedule_errors(text: str) -> None:
    with pytest.raises(OcxError):
        parse_schedule(text)


def test_schedule_errors_show_an_example() -> None:
    with pytest.raises(OcxError, match=r"daily\*5,weekly\*4,monthly"):
        parse_schedule("sometimes")


# --- ocx cadence set / list ----------------------------------------------------------------


@pytest.fixture
def world(run: Run, initialized: Path, env: Path) -> Path:
    """Customers judy, jim and margo; a team of tester (the config user) and alex."""
    (env / "ocx.toml").write_text('user = "tester"\ntimezone = "UTC"\n', encoding="utf-8")
    before = at(T0 - 30 * DAY)
    for email in ("judy@example.com", "jim@example.com", "margo@example.com"):
        ok(run("customer", "add", email, env=before))
    for handle in ("tester", "alex"):
        ok(run("team", "add", handle, env=before))
    return initialized


def contact(run: Run, ref: str, when: datetime, direction: str = "--outbound") -> None:
    ok(run("customer", "contact", ref, "Called", direction, env=at(when)))


def cadences(run: Run, load_json: LoadJson, now: datetime) -> dict[str, dict[str, Any]]:
    """`cadence list --json` at `now`, by customer email."""
    found = load_json(run("cadence", "list", "--json", env=at(now)))
    emails = [c["customer"] for c in found]
    assert len(emails) == len(set(emails)), "one cadence in force per customer"
    return {c["customer"]: c for c in found}


def state(run: Run, load_json: LoadJson, ref: str, now: datetime) -> dict[str, Any]:
    return cadences(run, load_json, now)[ref]


def test_set_over_a_cadence_in_force_says_what_it_replaced(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    first = ok(run("cadence", "set", "judy@example.com", "daily*2,weekly", env=at(T0)))
    assert first.stderr == ""  # nothing was replaced
    again = ok(run("cadence", "set", "judy@example.com", "weekly", "--owner", "alex",
                   env=at(T0 + DAY)))  # fmt: skip
    assert again.stdout.strip().isdigit() and again.stdout.strip() != first.stdout.strip()
    assert again.stderr == "replaced cadence daily*2,weekly (owner tester)\n"
    ok(run("cadence", "set", "--tag", "vip", "monthly", env=at(T0)))
    by_tag = ok(run("cadence", "set", "--tag", "vip", "weekly*2,monthly", env=at(T0)))
    assert by_tag.stderr == "replaced cadence monthly (owner tester)\n"


def test_set_prints_an_id_and_the_first_contact_is_due_one_step_after(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    result = ok(run("cadence", "set", "judy@example.com", "daily*2,weekly", env=at(T0)))
    assert result.stdout.strip().isdigit()
    judy = state(run, load_json, "judy@example.com", T0)
    assert judy["next_due_at"] == z(T0 + DAY)
    assert judy["step"] == 1
    assert judy["behind_seconds"] == 0
    assert judy["owner"] == "tester"  # the config user
    assert judy["schedule"] == "daily*2,weekly"


def test_outbound_contacts_restart_the_clock_daily_daily_then_weekly(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    judy = "judy@example.com"
    contact(run, judy, T0 - timedelta(hours=1))  # before the cadence: does not count
    ok(run("cadence", "set", judy, "daily*2,weekly", "--owner", "alex", env=at(T0)))
    assert state(run, load_json, judy, T0)["next_due_at"] == z(T0 + DAY)

    three_hours_late = T0 + DAY + timedelta(hours=3)
    behind = state(run, load_json, judy, three_hours_late)
    assert behind["behind_seconds"] == 3 * 3600
    assert behind["next_due_at"] == z(T0 + DAY)

    first = three_hours_late
    contact(run, judy, first)
    assert (s := state(run, load_json, judy, first))["next_due_at"] == z(first + DAY)
    assert s["step"] == 1 and s["behind_seconds"] == 0

    contact(run, judy, first + timedelta(hours=1), "--inbound")  # they called us: no count
    assert state(run, load_json, judy, first + timedelta(hours=1))["next_due_at"] == z(first + DAY)

    second = first + timedelta(hours=20)  # early is fine: the clock restarts from it
    contact(run, judy, second)
    assert (s := state(run, load_json, judy, second))["next_due_at"] == z(second + DAY)
    assert s["step"] == 1

    third = second + 2 * DAY  # a day late
    assert state(run, load_json, judy, third)["behind_seconds"] == 86400
    contact(run, judy, third)
    assert (s := state(run, load_json, judy, third))["next_due_at"] == z(third + WEEK)
    assert s["step"] == 2 and s["behind_seconds"] == 0

    fourth = third + 3 * DAY
    contact(run, judy, fourth)
    assert state(run, load_json, judy, fourth)["next_due_at"] == z(fourth + WEEK)  # for good
    fifth = fourth + 10 * WEEK
    contact(run, judy, fifth)
    assert state(run, load_json, judy, fifth)["next_due_at"] == z(fifth + WEEK)


def test_a_contact_at_the_moment_the_cadence_is_set_counts(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    judy = "judy@example.com"
    ok(run("cadence", "set", judy, "daily*1,weekly", env=at(T0)))
    contact(run, judy, T0)  # the 1st contact: +1 day
    assert state(run, load_json, judy, T0)["next_due_at"] == z(T0 + DAY)
    contact(run, judy, T0 + timedelta(hours=1))  # the 2nd: +1 week (+1 day if the 1st was lost)
    assert state(run, load_json, judy, T0 + timedelta(hours=1))["next_due_at"] == z(
        T0 + timedelta(hours=1) + WEEK
    )


def test_contacts_with_other_customers_do_not_count(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    ok(run("cadence", "set", "judy@example.com", "daily*1,weekly", env=at(T0)))
    contact(run, "jim@example.com", T0 + timedelta(hours=1))
    contact(run, "jim@example.com", T0 + timedelta(hours=2))
    assert state(run, load_json, "judy@example.com", T0 + 2 * DAY)["next_due_at"] == z(T0 + DAY)


def test_setting_a_cadence_again_replaces_it_and_restarts_its_count(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    judy = "judy@example.com"
    ok(run("cadence", "set", judy, "daily*1,weekly", env=at(T0)))
    contact(run, judy, T0 + timedelta(hours=1))
    contact(run, judy, T0 + timedelta(hours=2))  # now on weekly
    reset = T0 + timedelta(hours=3)
    ok(run("cadence", "set", judy, "2d*1,weekly", env=at(reset)))
    (found,) = load_json(run("cadence", "list", "--json", env=at(reset)))
    assert found["schedule"] == "2d*1,weekly"
    assert found["next_due_at"] == z(reset + 2 * DAY)  # earlier contacts no longer count


def test_monthly_steps_keep_the_day_clamped_to_the_months_end(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    judy = "judy@example.com"
    set_at = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    ok(run("cadence", "set", judy, "monthly", env=at(set_at)))
    assert state(run, load_json, judy, set_at)["next_due_at"] == "2027-02-28T10:00:00Z"
    called = datetime(2027, 3, 31, 8, 0, tzinfo=UTC)
    contact(run, judy, called)
    assert state(run, load_json, judy, called)["next_due_at"] == "2027-04-30T08:00:00Z"


def test_a_finite_schedule_ends_after_its_last_interval(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    judy = "judy@example.com"
    ok(run("cadence", "set", judy, "daily*2", env=at(T0)))
    for hours in (1, 2):
        contact(run, judy, T0 + timedelta(hours=hours))
    assert state(run, load_json, judy, T0 + 3 * DAY)["next_due_at"] == z(
        T0 + timedelta(hours=2) + DAY
    )
    contact(run, judy, T0 + 3 * DAY)  # the 3rd: no 3rd interval in daily*2
    done = state(run, load_json, judy, T0 + 30 * DAY)
    assert done["next_due_at"] is None and done["behind_seconds"] == 0


def test_cadence_list_table_names_customer_schedule_and_due(run: Run, world: Path) -> None:
    ok(run("cadence", "set", "judy@example.com", "daily*5,weekly*4,monthly", env=at(T0)))
    result = ok(run("cadence", "list", env={**at(T0 + 2 * DAY), "COLUMNS": "200"}))
    for text in ("judy@example.com", "daily*5,weekly*4,monthly", "2026-11-03 09:00", "1d"):
        assert text in result.stdout


def test_cadence_list_is_empty_without_cadences(run: Run, world: Path, load_json: LoadJson) -> None:
    assert ok(run("cadence", "list", env=at(T0))).stdout == ""
    assert load_json(run("cadence", "list", "--json", env=at(T0))) == []


# --- tags ----------------------------------------------------------------------------------


def test_a_tag_cadence_covers_every_tagged_customer_and_those_tagged_later(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    for ref in ("judy@example.com", "jim@example.com"):
        ok(run("customer", "tag", ref, "squeaky-wheel", env=at(T0 - DAY)))
    result = ok(run("cadence", "set", "--tag", "squeaky-wheel", "daily*2,weekly", "--owner",
                    "alex", env=at(T0)))  # fmt: skip
    assert result.stdout.strip().isdigit()
    found = cadences(run, load_json, T0)
    assert set(found) == {"judy@example.com", "jim@example.com"}
    for entry in found.values():
        assert entry["next_due_at"] == z(T0 + DAY)
        assert entry["owner"] == "alex" and entry["tag"] == "squeaky-wheel"

    tagged_later = T0 + timedelta(hours=5)
    ok(run("customer", "tag", "margo@example.com", "squeaky-wheel", env=at(tagged_later)))
    found = cadences(run, load_json, tagged_later)
    assert set(found) == {"judy@example.com", "jim@example.com", "margo@example.com"}
    assert found["margo@example.com"]["schedule"] == "daily*2,weekly"
    # documented: the cadence starts for her when she is tagged, so she is not late at once
    assert found["margo@example.com"]["next_due_at"] == z(tagged_later + DAY)
    called = tagged_later + timedelta(hours=1)
    contact(run, "margo@example.com", called)
    assert state(run, load_json, "margo@example.com", called)["next_due_at"] == z(called + DAY)
    # each customer's clock is their own
    assert state(run, load_json, "jim@example.com", called)["next_due_at"] == z(T0 + DAY)


def test_a_customers_own_cadence_wins_over_the_tags(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    for ref in ("judy@example.com", "jim@example.com"):
        ok(run("customer", "tag", ref, "vip", env=at(T0 - DAY)))
    ok(run("cadence", "set", "judy@example.com", "weekly", env=at(T0)))
    ok(run("cadence", "set", "--tag", "vip", "daily", env=at(T0 + timedelta(hours=1))))
    found = cadences(run, load_json, T0 + timedelta(hours=1))
    assert found["judy@example.com"]["schedule"] == "weekly"
    assert found["judy@example.com"]["tag"] is None
    assert found["judy@example.com"]["next_due_at"] == z(T0 + WEEK)
    assert found["jim@example.com"]["schedule"] == "daily"


def test_untagging_takes_a_customer_off_and_stopping_their_own_falls_back_to_the_tags(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    for ref in ("judy@example.com", "jim@example.com"):
        ok(run("customer", "tag", ref, "vip", env=at(T0 - DAY)))
    ok(run("cadence", "set", "--tag", "vip", "daily", env=at(T0)))
    ok(run("cadence", "set", "judy@example.com", "weekly", env=at(T0)))
    ok(run("customer", "edit", "jim@example.com", "--untag", "vip", env=at(T0 + HOUR)))
    assert set(cadences(run, load_json, T0 + HOUR)) == {"judy@example.com"}
    ok(run("cadence", "stop", "judy@example.com", env=at(T0 + HOUR)))
    judy = state(run, load_json, "judy@example.com", T0 + HOUR)
    assert judy["schedule"] == "daily" and judy["tag"] == "vip"


def test_stop_a_customers_cadence_and_a_tags(
    run: Run, world: Path, load_json: LoadJson, assert_error: AssertError
) -> None:
    ok(run("customer", "tag", "jim@example.com", "vip", env=at(T0 - DAY)))
    ok(run("cadence", "set", "judy@example.com", "weekly", env=at(T0)))
    ok(run("cadence", "set", "--tag", "vip", "daily", env=at(T0)))
    ok(run("cadence", "stop", "judy@example.com", env=at(T0 + DAY)))
    assert set(cadences(run, load_json, T0 + DAY)) == {"jim@example.com"}
    ok(run("cadence", "stop", "--tag", "vip", env=at(T0 + DAY)))
    assert cadences(run, load_json, T0 + DAY) == {}
    assert_error(run("cadence", "stop", "judy@example.com", env=at(T0 + DAY)))  # already stopped
    assert_error(run("cadence", "stop", "--tag", "vip", env=at(T0 + DAY)))


def test_set_and_stop_are_in_the_customers_timeline(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    ok(run("cadence", "set", "judy@example.com", "daily*2,weekly", env=at(T0)))
    ok(run("cadence", "stop", "judy@example.com", env=at(T0 + DAY)))
    entries = load_json(run("customer", "timeline", "judy@example.com", "--json"))
    cadence_entries = [e for e in entries if e["kind"] == "cadence"]
    assert [e["at"] for e in sorted(cadence_entries, key=lambda e: e["id"])] == [
        z(T0), z(T0 + DAY),
    ]  # fmt: skip
    assert any("daily*2,weekly" in e["text"] for e in cadence_entries)


def test_after_a_merge_one_cadence_is_in_force_and_stop_stops_it(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    ok(run("cadence", "set", "judy@example.com", "weekly", env=at(T0)))
    ok(run("cadence", "set", "jim@example.com", "daily", env=at(T0 + timedelta(hours=1))))
    contact(run, "jim@example.com", T0 + timedelta(hours=2))
    ok(run("customer", "merge", "judy@example.com", "jim@example.com", env=at(T0 + DAY)))
    found = cadences(run, load_json, T0 + DAY)  # asserts one per customer
    assert set(found) == {"judy@example.com"}
    assert found["judy@example.com"]["contacts"] >= 1  # Jim's contact moved with him
    ok(run("cadence", "stop", "judy@example.com", env=at(T0 + DAY)))
    assert cadences(run, load_json, T0 + DAY) == {}
    ok(run("cadence", "set", "judy@example.com", "monthly", env=at(T0 + 2 * DAY)))
    assert [c["schedule"] for c in cadences(run, load_json, T0 + 2 * DAY).values()] == ["monthly"]
    ok(run("cadence", "stop", "judy@example.com", env=at(T0 + 2 * DAY)))
    assert cadences(run, load_json, T0 + 2 * DAY) == {}


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nobody@example.com", "daily"), "nobody@example.com"),
        (("judy@example.com", "sometimes"), "daily*5,weekly*4,monthly"),
        (("judy@example.com", "daily,weekly"), "daily"),
        (("judy@example.com", "daily", "--owner", "ghost"), "ghost"),
        (("judy@example.com", "daily", "--tag", "vip"), "--tag"),
        (("daily",), "--tag"),  # neither a customer nor a tag
    ],
)
def test_cadence_set_errors_change_nothing(
    run: Run, world: Path, assert_error: AssertError, dump: Dump, args: tuple[str, ...],
    needle: str,
) -> None:  # fmt: skip
    before = dump(world)
    assert needle in assert_error(run("cadence", "set", *args, env=at(T0)))
    assert dump(world) == before


def test_cadence_set_without_a_schedule_is_a_usage_error(
    run: Run, world: Path, assert_usage_error: AssertUsageError
) -> None:
    assert_usage_error(run("cadence", "set", env=at(T0)))
    assert_usage_error(run("cadence", "set", "--tag", "vip", env=at(T0)))


def test_cadence_stop_errors(run: Run, world: Path, assert_error: AssertError) -> None:
    assert "judy@example.com" in assert_error(run("cadence", "stop", "judy@example.com"))
    assert "nobody@example.com" in assert_error(run("cadence", "stop", "nobody@example.com"))
    assert "vip" in assert_error(run("cadence", "stop", "--tag", "vip"))


# --- the rule, end to end, for random schedules and contact times ---------------------------


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    schedules(),
    st.lists(st.integers(0, 40 * 24 * 60), max_size=6),  # minutes between contacts
    st.integers(0, 90 * 24 * 60),  # minutes after the last contact we look
)
def test_next_due_follows_the_rule_for_any_schedule_and_contacts(
    env: Path, case: tuple[str, list[tuple[str, int | None]]], gaps: list[int], look: int
) -> None:
    text, steps = case
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text('user = "tester"\ntimezone = "UTC"\n', encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "ocx.db")

        def invoke(*args: str, now: datetime) -> Result:
            return ok(CliRunner().invoke(cli, ["--db", db, *args], env=at(now)))

        invoke("init", now=T0 - DAY)
        invoke("customer", "add", "judy@example.com", now=T0 - DAY)
        invoke("team", "add", "tester", now=T0 - DAY)
        invoke("cadence", "set", "judy@example.com", text, now=T0)
        contacts, moment = [], T0
        for gap in gaps:
            moment += timedelta(minutes=gap)
            invoke("customer", "contact", "judy@example.com", "Called", "--outbound", now=moment)
            contacts.append(moment)
        looked = moment + timedelta(minutes=look)
        (found,) = json.loads(invoke("cadence", "list", "--json", now=looked).stdout)
    want_due, want_step = expected_next(steps, T0, contacts)
    assert found["next_due_at"] == (z(want_due) if want_due else None)
    assert found["step"] == want_step
    behind = max(0, int((looked - want_due).total_seconds())) if want_due else 0
    assert found["behind_seconds"] == behind
