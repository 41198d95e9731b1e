"""`ocx customer promises REF`: every promise made to a customer, judged against its original
due time, with their follow-through. Everything is made through the commands under OCX_NOW."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, LoadJson, Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=2)
SECOND, MINUTE, HOUR, DAY = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1),
                             timedelta(days=1))  # fmt: skip


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


Promise = Callable[..., int]


@pytest.fixture
def world(run: Run, initialized: Path, env: Path) -> Path:
    (env / "ocx.toml").write_text('user = "alex"\ntimezone = "UTC"\n', encoding="utf-8")
    start = NOW - timedelta(days=200)
    for email, name in (("margo@example.com", "Margo Lane"), ("jim@example.com", "Jim Hollis"),
                        ("judy@example.com", "Judy Park")):  # fmt: skip
        ok(run("customer", "add", email, "--name", name, env=at(start)))
    for handle in ("alex", "sam"):
        ok(run("team", "add", handle, env=at(start)))
    return initialized


@pytest.fixture
def promise(run: Run, world: Path) -> Promise:
    """promise(ref, made, due, done=None, cancelled=None) -> id: made at `made`, due at `due`,
    then done or cancelled at that time (each through the command, under OCX_NOW)."""

    def make(ref: str, made: datetime, due: datetime, *, done: datetime | None = None,
             cancelled: datetime | None = None, text: str = "Call back") -> int:  # fmt: skip
        out = ok(run("promise", "add", ref, text, "--due", z(due), env=at(made))).stdout
        promise_id = int(out.split()[0])
        if done is not None:
            ok(run("promise", "done", str(promise_id), env=at(done)))
        if cancelled is not None:
            ok(run("promise", "cancel", str(promise_id), "--reason", "x", env=at(cancelled)))
        return promise_id

    return make


def listed(run: Run, load_json: LoadJson, ref: str, when: datetime = NOW) -> dict[str, Any]:
    return load_json(run("customer", "promises", ref, "--json", env=at(when)))  # type: ignore[no-any-return]


def outcomes(data: dict[str, Any]) -> dict[int, str]:
    return {p["id"]: p["outcome"] for p in data["promises"]}


def test_each_outcome_at_its_boundary_against_the_original_due_time(
    run: Run, promise: Promise, load_json: LoadJson
) -> None:
    due = T0 + HOUR
    on_time = promise("margo", T0, due, done=due)
    a_second_late = promise("margo", T0, due, done=due + SECOND)
    called_off = promise("margo", T0, due, cancelled=due - SECOND)
    cancelled_at_due = promise("margo", T0, due, cancelled=due)
    cancelled_after = promise("margo", T0, due, cancelled=due + HOUR)
    open_past_due = promise("margo", T0, due)
    not_yet_due = promise("margo", T0, NOW + DAY)
    due_right_now = promise("margo", T0, NOW)
    # snoozed past now: still judged by the original due time, so broken
    snoozed = promise("margo", T0, due)
    ok(run("promise", "snooze", str(snoozed), "--until", z(NOW + DAY), env=at(due - MINUTE)))
    promise("jim", T0, due, cancelled=due + HOUR)  # someone else's: not listed

    data = listed(run, load_json, "margo@example.com")
    assert outcomes(data) == {
        on_time: "kept", a_second_late: "kept_late", called_off: "cancelled",
        cancelled_at_due: "broken", cancelled_after: "broken", open_past_due: "broken",
        not_yet_due: "open", due_right_now: "open", snoozed: "broken",
    }  # fmt: skip
    # came due: 1 kept on time of 6 (+ late, broken at due, after due, open past due, snoozed)
    assert data["follow_through"] == pytest.approx(1 / 6)
    first = data["promises"][0]
    assert first["due_at"] == z(due) and first["kind"] == "promise"
    assert [p["due_at"] for p in data["promises"]] == sorted(p["due_at"] for p in data["promises"])
    # a second later, the promise due right now has come due, open: broken
    later = listed(run, load_json, "margo", NOW + SECOND)
    assert outcomes(later)[due_right_now] == "broken"
    assert later["follow_through"] == pytest.approx(1 / 7)


def test_follow_through_counts_the_last_90_days_and_is_null_when_nothing_came_due(
    run: Run, promise: Promise, load_json: LoadJson
) -> None:
    assert listed(run, load_json, "judy") == {"promises": [], "follow_through": None}
    old = promise("margo", NOW - 100 * DAY, NOW - 91 * DAY, cancelled=NOW - 91 * DAY)
    ahead = promise("margo", NOW - DAY, NOW + DAY, done=NOW - HOUR)  # kept early, not yet due
    data = listed(run, load_json, "margo")
    assert outcomes(data) == {old: "broken", ahead: "kept"}
    assert data["follow_through"] is None  # the broken one is older than 90 days
    edge = promise("margo", NOW - 95 * DAY, NOW - 90 * DAY, done=NOW - 91 * DAY)
    inside = promise("margo", NOW - 95 * DAY, NOW - 89 * DAY, done=NOW - 88 * DAY)
    data = listed(run, load_json, "margo")
    assert outcomes(data)[edge] == "kept" and outcomes(data)[inside] == "kept_late"
    assert data["follow_through"] == 0.5  # exactly 90 days ago is in the window
    # a second later the one due exactly 90 days before has left the window
    assert listed(run, load_json, "margo", NOW + SECOND)["follow_through"] == 0.0
    # and once the one kept early has come due, it counts
    assert listed(run, load_json, "margo", NOW + DAY - SECOND)["follow_through"] == 0.0
    assert listed(run, load_json, "margo", NOW + DAY)["follow_through"] == 0.5


def test_next_update_promises_cover_the_cases_open_from_when_made_until_due(
    run: Run, world: Path, tmp_path: Path, load_json: LoadJson
) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("margo@example.com\njim@example.com\n", encoding="utf-8")
    ok(run("incident", "new", "Bank sync failing", "--lead", "sam", env=at(T0)))
    ok(run("incident", "fanout", "INC-1", "--customers", str(refs), env=at(T0)))
    ok(run("incident", "update", "1", "--message", "Working on it", "--next-update", "2h",
           env=at(T0 + MINUTE)))  # fmt: skip
    # judy joins after the promise was made; jim's case is resolved before it comes due
    refs.write_text("judy@example.com\n", encoding="utf-8")
    ok(run("incident", "fanout", "INC-1", "--customers", str(refs), env=at(T0 + HOUR)))
    ok(run("incident", "resolve", "1", "--customer", "jim", env=at(T0 + HOUR)))

    def next_updates(ref: str, when: datetime) -> list[dict[str, Any]]:
        return [p for p in listed(run, load_json, ref, when)["promises"]
                if p["kind"] == "next_update"]  # fmt: skip

    (margo,) = next_updates("margo", NOW)
    assert margo["outcome"] == "broken" and margo["customer"] == "INC-1"
    assert margo["due_at"] == z(T0 + MINUTE + 2 * HOUR)
    assert next_updates("jim", NOW) == [] and next_updates("judy", NOW) == []

    # the next update, sent late, keeps it late and makes a new one covering judy too
    ok(run("incident", "update", "1", "--message", "Still on it", "--next-update", "1h",
           env=at(T0 + 3 * HOUR)))  # fmt: skip
    first, second = next_updates("margo", T0 + 3 * HOUR)
    assert (first["id"], first["outcome"]) == (margo["id"], "kept_late")
    assert second["outcome"] == "open"
    assert [p["id"] for p in next_updates("judy", T0 + 3 * HOUR)] == [second["id"]]
    # resolving the incident in time keeps it on time for everyone still in it
    ok(run("incident", "resolve", "1", env=at(T0 + 3 * HOUR + 30 * MINUTE)))
    (judys,) = next_updates("judy", NOW)
    assert judys["outcome"] == "kept"


def test_text_output_is_a_table_in_a_pipe_with_the_follow_through_line(
    run: Run, promise: Promise, assert_error: AssertError
) -> None:
    kept = promise("margo", T0, T0 + HOUR, done=T0 + HOUR, text="Send the\tinvoice")
    late = promise("margo", T0, T0 + HOUR, done=T0 + 2 * HOUR)
    lines = ok(run("customer", "promises", "margo", env=at(NOW))).stdout.splitlines()
    assert lines[0].split("\t") == [
        "Id", "Promise", "Kind", "Owner", "Due", "Done or cancelled", "Outcome"
    ]  # fmt: skip
    assert lines[1].split("\t") == [
        str(kept), "Send the\\tinvoice", "promise", "alex", "2026-11-23 11:00 UTC",
        "2026-11-23 11:00 UTC", "kept",
    ]  # fmt: skip
    assert lines[2].split("\t")[0] == str(late) and lines[2].endswith("\tkept late")
    assert lines[3:] == ["Follow-through (last 90 days): 50%"]
    empty = ok(run("customer", "promises", "judy", env=at(NOW))).stdout
    assert empty == "Follow-through (last 90 days): n/a, nothing came due\n"
    line = assert_error(run("customer", "promises", "nobody@example.com", env=at(NOW)))
    assert "nobody@example.com" in line


# --- report customers --at-risk: follow-through ---------------------------------------------


def at_risk(run: Run, load_json: LoadJson, when: datetime) -> dict[str, list[dict[str, Any]]]:
    found = load_json(run("report", "customers", "--at-risk", "--json", env=at(when)))
    return {item["customer"]: item["reasons"] for item in found}


def follow_through(kept: int, judged: int) -> dict[str, Any]:
    return {"kind": "follow_through", "count": judged - kept,
            "text": f"kept {kept} of their last {judged} promises on time"}  # fmt: skip


@pytest.fixture
def history(promise: Promise) -> Callable[[str, str, datetime], datetime]:
    """history(ref, fates, first): one promise a day from `first`, due an hour after it was
    made: k kept on time, l kept late, b broken (cancelled after it was due), c called off
    (cancelled before it was due), o left open; returns the next day."""

    def make(ref: str, fates: str, first: datetime) -> datetime:
        day = first
        for fate in fates:
            due = day + HOUR
            done = {"k": due, "l": due + MINUTE}.get(fate)
            cancelled = {"b": due + MINUTE, "c": due - MINUTE}.get(fate)
            promise(ref, day, due, done=done, cancelled=cancelled)
            day += DAY
        return day

    return make


def test_fewer_than_3_of_the_last_5_kept_on_time_puts_a_customer_at_risk(
    run: Run, load_json: LoadJson, history: Callable[[str, str, datetime], datetime]
) -> None:
    start = NOW - 30 * DAY
    history("margo", "lklkl", start)  # 2 of 5 kept on time: at risk
    history("jim", "lklkk", start)  # 3 of 5: not
    # judy: kept late and broken (cancelled after the due time) are both misses; the one
    # called off before it was due is not counted: her last 5 are l b k k l, 2 kept
    history("judy", "lbkckl", start)
    found = at_risk(run, load_json, NOW)
    assert set(found) == {"margo@example.com", "judy@example.com"}
    assert found["margo@example.com"] == [follow_through(2, 5)]
    assert found["judy@example.com"] == [follow_through(2, 5)]
    item = next(i for i in load_json(run("report", "customers", "--at-risk", "--json",
                                         env=at(NOW))) if i["customer"] == "margo@example.com")  # fmt: skip
    assert item["score"] == 30 and item["suggestion"] is None


def test_only_the_5_most_recently_due_count(
    run: Run, load_json: LoadJson, history: Callable[[str, str, datetime], datetime],
    promise: Promise,
) -> None:  # fmt: skip
    # margo missed 6 long ago, then kept 5: a candidate by her misses, judged by the last 5
    next_day = history("margo", "llllllkkkkk", NOW - 30 * DAY)
    assert "margo@example.com" not in at_risk(run, load_json, NOW)
    # two more late ones: l l k k k among the last 5 -> still 3 kept, not at risk
    next_day = history("margo", "ll", next_day)
    assert "margo@example.com" not in at_risk(run, load_json, NOW)
    # a third: l l l k k -> at risk
    next_day = history("margo", "l", next_day)
    assert at_risk(run, load_json, NOW)["margo@example.com"] == [follow_through(2, 5)]
    # a promise not yet due, and one kept early but not yet due, change nothing
    promise("margo", next_day, NOW + DAY)
    promise("margo", next_day, NOW + DAY, done=next_day + HOUR)
    assert at_risk(run, load_json, NOW)["margo@example.com"] == [follow_through(2, 5)]
    # once they have come due, the one kept early counts as kept and the open one as a
    # miss (and overdue): k o l l l (on the same due time, the later made first) -> 1 kept
    later = at_risk(run, load_json, NOW + DAY + SECOND)["margo@example.com"]
    assert [r["kind"] for r in later] == ["overdue_promises", "follow_through"]
    assert later[1] == follow_through(1, 5)


def test_with_fewer_than_5_come_due_it_takes_3_misses(
    run: Run, load_json: LoadJson, history: Callable[[str, str, datetime], datetime]
) -> None:
    start = NOW - 30 * DAY
    history("margo", "lll", start)  # 3 came due, all late: at risk
    history("jim", "lb", start)  # 2 missed: not yet a pattern
    history("judy", "lclkb", start)  # 4 came due (one called off), 3 missed: at risk
    found = at_risk(run, load_json, NOW)
    assert found == {"margo@example.com": [follow_through(0, 3)],
                     "judy@example.com": [follow_through(1, 4)]}  # fmt: skip


def test_a_snooze_does_not_help_follow_through(
    run: Run, load_json: LoadJson, history: Callable[[str, str, datetime], datetime],
    promise: Promise,
) -> None:  # fmt: skip
    next_day = history("margo", "ll", NOW - 30 * DAY)
    snoozed = promise("margo", next_day, next_day + HOUR)
    ok(run("promise", "snooze", str(snoozed), "--until", z(NOW + DAY), env=at(next_day)))
    found = at_risk(run, load_json, NOW)
    # not overdue (snoozed ahead), but open past its original due time: the third miss
    assert found["margo@example.com"] == [follow_through(0, 3)]


def test_broken_next_updates_count_against_the_customer_they_covered(
    run: Run, world: Path, tmp_path: Path, load_json: LoadJson
) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("margo@example.com\n", encoding="utf-8")
    for i, hour in enumerate((0, 5, 10), 1):
        made = T0 + hour * HOUR
        ok(run("incident", "new", f"Outage {i}", "--lead", "sam", env=at(made)))
        ok(run("incident", "fanout", f"INC-{i}", "--customers", str(refs), env=at(made)))
        ok(run("incident", "update", str(i), "--message", "On it", "--next-update", "1h",
               env=at(made)))  # fmt: skip
        # the call the update asks for (margo has no channel) is made at once: kept on time
        for p in load_json(run("promise", "list", "--customer", "margo", "--json",
                               env=at(made))):  # fmt: skip
            ok(run("promise", "done", str(p["id"]), env=at(made)))
    # the three next updates, due an hour after each, were never sent: broken
    kinds = [(p["kind"], p["outcome"]) for p in listed(run, load_json, "margo")["promises"]]
    assert kinds.count(("next_update", "broken")) == 3
    # her last 5 that came due, the latest first (ties: the later made first)
    came_due = sorted(((p["due_at"], p["id"], p["outcome"])
                       for p in listed(run, load_json, "margo")["promises"]), reverse=True)[:5]  # fmt: skip
    kept = sum(outcome == "kept" for _, _, outcome in came_due)
    assert (kept, len(came_due)) == (0, 3)
    reasons = at_risk(run, load_json, NOW)["margo@example.com"]
    assert follow_through(0, 3) in reasons
