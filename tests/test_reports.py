"""`ocx report` and `ocx report customers --at-risk` on a known set of promises, incidents,
cadences and contacts, all made through the commands under a moving OCX_NOW.

Each promise's outcome is classified here from the times the test chose, by the contract's
definitions (against the ORIGINAL due time), and the figures summed here; the at-risk scores
come from the contract's weights (overdue promise 100, uncontacted open case 10, inbound
contact 1)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, AssertUsageError, LoadJson, Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # when every report is asked for
T0 = NOW - timedelta(days=10)  # when most promises are made
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # made by tests/fixtures/build.py
ZENDESK = FIXTURES / "zendesk"
CADENCE_SUGGESTION = "daily*5,weekly*4,monthly"


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def write_config(home: Path, text: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "ocx.toml").write_text(f'user = "alex"\ntimezone = "UTC"\n{text}', encoding="utf-8")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (rank q/100 * (n - 1), 0-based)."""
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


# --- a known set of promises --------------------------------------------------------------------


@dataclass
class Spec:
    """One promise: who owns it, when it was made and due, and what happened to it."""

    name: str
    owner: str
    customer: str
    made: datetime
    due: datetime
    steps: list[tuple[datetime, str, datetime | None]] = field(default_factory=list)
    # (when, "done" | "cancel" | "snooze", snooze-until)

    def outcome(self, now: datetime) -> str:
        """The contract's classification, against the ORIGINAL due time."""
        final = [s for s in self.steps if s[1] in ("done", "cancel")]
        if final:
            when, what, _ = final[-1]
            if what == "done":
                return "kept_on_time" if when <= self.due else "kept_late"
            return "broken" if when >= self.due else "cancelled_in_time"
        return "open_overdue" if self.due < now else "open"


SPECS = [
    # alex
    Spec("done before due", "alex", "margo@example.com", T0, T0 + DAY, [(T0 + 12 * HOUR, "done", None)]),
    Spec("done at the due minute", "alex", "jim@example.com", T0, T0 + DAY, [(T0 + DAY, "done", None)]),
    Spec("done after due", "alex", "judy@example.com", T0, T0 + DAY, [(T0 + 2 * DAY, "done", None)]),
    Spec("snoozed then done after the original due", "alex", "margo@example.com", T0, T0 + DAY,
         [(T0 + 12 * HOUR, "snooze", T0 + 3 * DAY), (T0 + 2 * DAY, "done", None)]),
    Spec("cancelled after due", "alex", "jim@example.com", T0, T0 + DAY, [(T0 + 2 * DAY, "cancel", None)]),
    Spec("cancelled before due", "alex", "judy@example.com", T0, T0 + 2 * DAY, [(T0 + DAY, "cancel", None)]),
    Spec("open past due", "alex", "margo@example.com", T0, T0 + DAY),
    Spec("open not yet due", "alex", "jim@example.com", T0, NOW + 2 * DAY),
    Spec("recent, open past due", "alex", "judy@example.com", NOW - 2 * DAY, NOW - DAY),
    # sam
    Spec("done before due", "sam", "margo@example.com", T0, T0 + DAY, [(T0 + 20 * HOUR, "done", None)]),
    Spec("cancelled at the due minute", "sam", "jim@example.com", T0, T0 + DAY, [(T0 + DAY, "cancel", None)]),
    Spec("snoozed past now, original due passed", "sam", "judy@example.com", T0, T0 + 2 * DAY,
         [(T0 + DAY, "snooze", NOW + 3 * DAY)]),
    Spec("open not yet due", "sam", "margo@example.com", T0, NOW + DAY),
    Spec("recent, done before due", "sam", "jim@example.com", NOW - DAY, NOW - HOUR,
         [(NOW - 2 * HOUR, "done", None)]),
    Spec("snoozed then done before the original due", "sam", "judy@example.com", T0, T0 + 2 * DAY,
         [(T0 + DAY, "snooze", T0 + 4 * DAY), (T0 + DAY + HOUR, "done", None)]),
]  # fmt: skip
KEYS = ("made", "kept_on_time", "kept_late", "broken", "open_overdue")


def figures(specs: list[Spec], now: datetime = NOW) -> dict[str, Any]:
    counts = dict.fromkeys(KEYS, 0)
    for spec in specs:
        counts["made"] += 1
        outcome = spec.outcome(now)
        if outcome in counts:
            counts[outcome] += 1
    judged = sum(counts[k] for k in KEYS[1:])
    return {**counts, "kept_on_time_rate": counts["kept_on_time"] / judged if judged else None}


def make_promises(run: Run, specs: list[Spec]) -> None:
    """Make every promise and play its steps, all in time order."""
    events: list[tuple[datetime, int, Callable[[], None]]] = []
    ids: dict[int, int] = {}
    for index, spec in enumerate(specs):

        def add(spec: Spec = spec, index: int = index) -> None:
            result = ok(run("promise", "add", spec.customer, spec.name, "--due", z(spec.due),
                            "--owner", spec.owner, env=at(spec.made)))  # fmt: skip
            ids[index] = int(result.stdout.split()[0])

        events.append((spec.made, 0, add))
        for when, what, until in spec.steps:

            def act(when: datetime = when, what: str = what, until: datetime | None = until,
                    index: int = index) -> None:  # fmt: skip
                pid = str(ids[index])
                if what == "done":
                    ok(run("promise", "done", pid, env=at(when)))
                elif what == "cancel":
                    ok(run("promise", "cancel", pid, "--reason", "not needed", env=at(when)))
                else:
                    assert until is not None
                    ok(run("promise", "snooze", pid, "--until", z(until), env=at(when)))

            events.append((when, 1, act))
    for _, _, action in sorted(events, key=lambda e: (e[0], e[1])):
        action()


@pytest.fixture
def world(run: Run, initialized: Path, env: Path) -> Path:
    write_config(env)
    before = at(T0 - 30 * DAY)
    for handle in ("alex", "sam"):
        ok(run("team", "add", handle, env=before))
    for email in ("margo@example.com", "jim@example.com", "judy@example.com"):
        ok(run("customer", "add", email, env=before))
    return initialized


@pytest.fixture
def promises(run: Run, world: Path) -> list[Spec]:
    make_promises(run, SPECS)
    return SPECS


def report(run: Run, load_json: LoadJson, *options: str, now: datetime = NOW) -> Any:
    return load_json(run("report", *options, "--json", env=at(now)))


def assert_figures(found: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in KEYS:
        assert found[key] == expected[key], key
    if expected["kept_on_time_rate"] is None:
        assert found["kept_on_time_rate"] is None
    else:
        assert found["kept_on_time_rate"] == pytest.approx(expected["kept_on_time_rate"])


def test_the_specs_cover_every_outcome() -> None:
    outcomes = [s.outcome(NOW) for s in SPECS]
    for wanted in ("kept_on_time", "kept_late", "broken", "cancelled_in_time", "open_overdue",
                   "open"):  # fmt: skip
        assert wanted in outcomes
    # by hand, as a check on the classifier itself
    assert figures([s for s in SPECS if s.owner == "alex"]) == {
        "made": 9, "kept_on_time": 2, "kept_late": 2, "broken": 1, "open_overdue": 2,
        "kept_on_time_rate": 2 / 7,
    }  # fmt: skip
    assert figures([s for s in SPECS if s.owner == "sam"]) == {
        "made": 6, "kept_on_time": 3, "kept_late": 0, "broken": 1, "open_overdue": 1,
        "kept_on_time_rate": 3 / 5,
    }  # fmt: skip


def test_report_counts_each_outcome_overall_and_by_owner(
    run: Run, promises: list[Spec], load_json: LoadJson
) -> None:
    data = report(run, load_json)
    assert_figures(data, figures(promises))
    assert data["made"] == 15 and data["kept_on_time_rate"] == pytest.approx(5 / 12)
    assert sorted(data["by_owner"]) == ["alex", "sam"]
    for owner in ("alex", "sam"):
        assert_figures(data["by_owner"][owner], figures([s for s in promises if s.owner == owner]))
    assert data["since"] is None


def test_report_figures_move_with_the_clock(
    run: Run, promises: list[Spec], load_json: LoadJson
) -> None:
    """Three days on, alex's promise due in two days is open past due too."""
    later = NOW + 3 * DAY
    data = report(run, load_json, now=later)
    assert_figures(data, figures(promises, later))
    assert data["open_overdue"] == figures(promises)["open_overdue"] + 2  # alex's and sam's


@pytest.mark.parametrize("owner", ["sam", "SAM", " sam "])
def test_report_owner_keeps_only_their_promises(
    run: Run, promises: list[Spec], load_json: LoadJson, owner: str
) -> None:
    data = report(run, load_json, "--owner", owner)
    expected = figures([s for s in promises if s.owner == "sam"])
    assert_figures(data, expected)
    assert list(data["by_owner"]) == ["sam"]
    assert_figures(data["by_owner"]["sam"], expected)


def test_report_since_keeps_promises_made_since(
    run: Run, promises: list[Spec], load_json: LoadJson
) -> None:
    since = NOW - 3 * DAY
    recent = [s for s in promises if s.made >= since]
    assert len(recent) == 2
    data = report(run, load_json, "--since", z(since))
    assert data["since"] == z(since)
    assert_figures(data, figures(recent))
    for owner in ("alex", "sam"):
        assert_figures(data["by_owner"][owner], figures([s for s in recent if s.owner == owner]))
    # a human WHEN, read against the pinned clock
    assert report(run, load_json, "--since", "3 days ago")["made"] == 2
    alex_recent = report(run, load_json, "--since", "3 days ago", "--owner", "alex")
    assert_figures(alex_recent, figures([s for s in recent if s.owner == "alex"]))


def test_report_with_no_promises_has_no_rate(run: Run, world: Path, load_json: LoadJson) -> None:
    data = report(run, load_json)
    assert all(data[k] == 0 for k in KEYS)
    assert data["kept_on_time_rate"] is None
    assert data["by_owner"] == {} and data["incidents"] == []
    assert data["cadences"] == {"on_schedule": 0, "behind": 0}
    assert "n/a" in ok(run("report", env=at(NOW))).stdout


def test_only_cancelled_in_time_promises_leave_the_rate_undefined(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    make_promises(run, [Spec("called off", "alex", "jim@example.com", T0, T0 + 2 * DAY,
                             [(T0 + DAY, "cancel", None)])])  # fmt: skip
    data = report(run, load_json)
    assert data["made"] == 1 and data["broken"] == 0
    assert data["kept_on_time_rate"] is None


def test_report_table_shows_each_owner_and_all(run: Run, promises: list[Spec]) -> None:
    out = ok(run("report", env=at(NOW))).stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    alex, sam = (figures([s for s in SPECS if s.owner == o]) for o in ("alex", "sam"))
    assert lines["alex"].split("\t")[1] == str(alex["made"])  # a pipe: tab-separated rows
    assert f"{alex['kept_on_time_rate']:.0%}" in lines["alex"]  # 29%
    assert f"{sam['kept_on_time_rate']:.0%}" in lines["sam"]  # 60%
    assert f"{figures(SPECS)['kept_on_time_rate']:.0%}" in lines["all"]  # 42%
    assert "Cadences: 0 on schedule, 0 behind" in out


def test_report_bad_since_is_an_error(run: Run, world: Path, assert_error: AssertError) -> None:
    assert "cannot read time" in assert_error(run("report", "--since", "whenever"))


# --- incident first contact --------------------------------------------------------------------


def test_report_incident_first_contact_figures(run: Run, world: Path, load_json: LoadJson) -> None:
    for address in ("ann@example.com", "ben@example.com", "cat@example.com", "dan@example.com"):
        ok(run("customer", "add", address, "--tag", "hit", env=at(T0 - DAY)))
    old_open = T0 + HOUR
    ok(run("incident", "new", "Old outage", "--lead", "sam", env=at(old_open)))
    fanned = old_open + timedelta(minutes=5)
    ok(run("incident", "fanout", "1", "--tag", "hit", env=at(fanned)))
    old_contacts = {"ann@example.com": 4, "ben@example.com": 20, "cat@example.com": 90}  # minutes
    for address, minutes in old_contacts.items():
        ok(run("incident", "contact", "1", address, env=at(fanned + timedelta(minutes=minutes))))
    ok(run("incident", "resolve", "1", env=at(fanned + 3 * HOUR)))

    new_open = NOW - DAY
    ok(run("incident", "new", "New outage", "--lead", "sam", env=at(new_open)))
    ok(run("incident", "fanout", "2", "--tag", "hit", env=at(new_open)))
    ok(run("incident", "contact", "2", "dan@example.com", env=at(new_open + timedelta(minutes=7))))

    data = report(run, load_json)
    waits = [m * 60.0 for m in old_contacts.values()]
    incidents = {i["incident"]: i for i in data["incidents"]}
    assert set(incidents) == {"INC-1", "INC-2"}
    one = incidents["INC-1"]
    assert one["title"] == "Old outage"
    assert (one["cases"], one["contacted"]) == (4, 3)  # dan never contacted: left out
    assert one["first_contact_p50_s"] == pytest.approx(median(waits))  # 20 min
    assert one["first_contact_p90_s"] == pytest.approx(percentile(waits, 90))  # 76 min
    two = incidents["INC-2"]
    assert (two["cases"], two["contacted"]) == (4, 1)
    assert two["first_contact_p50_s"] == two["first_contact_p90_s"] == 7 * 60

    # --since keeps incidents opened since then
    recent = report(run, load_json, "--since", z(NOW - 3 * DAY))
    assert [i["incident"] for i in recent["incidents"]] == ["INC-2"]
    human = ok(run("report", env=at(NOW))).stdout
    assert "INC-1" in human and "20m" in human and "1h 16m" in human


def test_an_incident_nobody_was_contacted_in_has_no_figures(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    ok(run("incident", "new", "Quiet outage", env=at(NOW - HOUR)))
    ok(run("incident", "fanout", "1", "--all", env=at(NOW - HOUR)))
    (entry,) = report(run, load_json)["incidents"]
    assert (entry["cases"], entry["contacted"]) == (3, 0)
    assert entry["first_contact_p50_s"] is None and entry["first_contact_p90_s"] is None


# --- cadences on schedule vs behind ------------------------------------------------------------


def test_report_cadences_on_schedule_and_behind(run: Run, world: Path, load_json: LoadJson) -> None:
    for address in ("tag1@example.com", "tag2@example.com"):
        ok(run("customer", "add", address, "--tag", "monthly-call", env=at(T0)))
    set_at = NOW - 3 * DAY
    # margo: daily, never called: due set_at + 1 day, two days ago -> behind
    ok(run("cadence", "set", "margo@example.com", "daily", env=at(set_at)))
    # jim: weekly, due set_at + 7 days, four days ahead -> on schedule
    ok(run("cadence", "set", "jim@example.com", "weekly", env=at(set_at)))
    # judy: daily, called 12 hours ago: due in 12 hours -> on schedule
    ok(run("cadence", "set", "judy@example.com", "daily", env=at(set_at)))
    ok(run("customer", "contact", "judy@example.com", "Checked in", env=at(NOW - 12 * HOUR)))
    # two tagged customers, monthly -> on schedule
    ok(run("cadence", "set", "--tag", "monthly-call", "monthly", env=at(set_at)))
    assert report(run, load_json)["cadences"] == {"on_schedule": 4, "behind": 1}
    # a day and a half on: judy's next call (due 12 h from NOW) is late too
    assert report(run, load_json, now=NOW + 36 * HOUR)["cadences"] == {
        "on_schedule": 3, "behind": 2,
    }  # fmt: skip
    assert "Cadences: 4 on schedule, 1 behind" in ok(run("report", env=at(NOW))).stdout


# --- customers at risk -------------------------------------------------------------------------


@dataclass
class Risk:
    overdue: int = 0
    uncontacted: int = 0
    inbound: int = 0  # counted only when squeaky and without a cadence

    @property
    def score(self) -> int:
        return 100 * self.overdue + 10 * self.uncontacted + self.inbound


PEOPLE = ["ann", "ben", "cat", "dan", "lou", "eve", "fay", "gus", "hal", "ivy", "jo", "kay",
          "mo", "pat"]  # fmt: skip


def email(name: str) -> str:
    return f"{name}@example.com"


def inbound(run: Run, name: str, *moments: datetime) -> None:
    for moment in moments:
        ok(run("customer", "contact", email(name), "They called", "--inbound", env=at(moment)))


@pytest.fixture
def at_risk_world(run: Run, initialized: Path, env: Path) -> Path:
    """Who is at risk at NOW, and why:
    ann  two overdue promises                                   -> 200
    ben  one overdue promise, one uncontacted case in INC-1     -> 110
    cat  uncontacted in INC-1 and INC-2 (both open)             -> 20
    lou  4 inbound contacts this week, no cadence               -> 4
    dan  exactly 3 inbound contacts this week, no cadence       -> 3
    not at risk: eve (5 inbound, own cadence), kay (4 inbound, tag cadence), fay (2 inbound
    this week, 1 eight days ago), gus (5 outbound), hal (contacted in INC-1), mo (case in a
    resolved incident, confirmed), ivy (promise snoozed: not due yet), jo (promise kept late), pat
    (2 inbound this week)."""
    write_config(env)
    before = at(NOW - 60 * DAY)
    ok(run("team", "add", "alex", env=before))
    for name in PEOPLE:
        tags = {"ben": ["hit"], "cat": ["hit", "hit2"], "hal": ["hit"], "mo": ["gone"],
                "kay": ["vip"]}.get(name, [])  # fmt: skip
        options = [f"--tag={tag}" for tag in tags]
        ok(run("customer", "add", email(name), "--name", name.title(), *options, env=before))

    made = NOW - 5 * DAY
    for name, due in (("ann", NOW - 3 * DAY), ("ann", NOW - DAY), ("ben", NOW - 2 * HOUR),
                      ("ivy", NOW - DAY), ("jo", NOW - 2 * DAY)):  # fmt: skip
        ok(run("promise", "add", email(name), "Call back", "--due", z(due), env=at(made)))
    ivy, jo = 4, 5
    ok(run("promise", "snooze", str(ivy), "--until", z(NOW + DAY), env=at(NOW - 2 * DAY)))
    ok(run("promise", "done", str(jo), env=at(NOW - DAY)))

    ok(run("incident", "new", "Sync down", env=at(NOW - 6 * HOUR)))  # INC-1
    ok(run("incident", "fanout", "1", "--tag", "hit", env=at(NOW - 6 * HOUR)))
    ok(run("incident", "contact", "1", email("hal"), env=at(NOW - 5 * HOUR)))
    ok(run("incident", "new", "Login slow", env=at(NOW - 4 * HOUR)))  # INC-2
    ok(run("incident", "fanout", "2", "--tag", "hit2", env=at(NOW - 4 * HOUR)))
    ok(run("incident", "new", "Old outage", env=at(NOW - 3 * DAY)))  # INC-3, resolved
    ok(run("incident", "fanout", "3", "--tag", "gone", env=at(NOW - 3 * DAY)))
    ok(run("incident", "resolve", "3", env=at(NOW - 2 * DAY)))
    # she says it is fixed: the promise to check with her is kept, not overdue
    ok(run("incident", "confirm", "3", email("mo"), env=at(NOW - 2 * DAY + HOUR)))

    days = [NOW - d * DAY for d in (6, 5, 4, 3, 2)]
    inbound(run, "lou", *days[:4])
    inbound(run, "dan", *days[2:])
    inbound(run, "eve", *days)
    ok(run("cadence", "set", email("eve"), "weekly", env=at(NOW - 5 * DAY)))
    inbound(run, "kay", *days[1:])
    ok(run("cadence", "set", "--tag", "vip", "weekly", env=at(NOW - 5 * DAY)))
    inbound(run, "fay", NOW - 8 * DAY, NOW - 2 * DAY, NOW - HOUR)
    inbound(run, "pat", NOW - 3 * DAY, NOW - HOUR)
    for moment in days:
        ok(run("customer", "contact", email("gus"), "We called", env=at(moment)))
    return initialized


def expected_at_risk(risks: dict[str, Risk]) -> list[tuple[str, int]]:
    ranked = sorted(risks.items(), key=lambda item: -item[1].score)
    return [(email(name), risk.score) for name, risk in ranked]


def at_risk(run: Run, load_json: LoadJson, now: datetime = NOW) -> list[dict[str, Any]]:
    return load_json(run("report", "customers", "--at-risk", "--json", env=at(now)))


DEFAULT_RISKS = {
    "ann": Risk(overdue=2), "ben": Risk(overdue=1, uncontacted=1), "cat": Risk(uncontacted=2),
    "lou": Risk(inbound=4), "dan": Risk(inbound=3),
}  # fmt: skip


def test_at_risk_ranks_customers_with_their_reasons(
    run: Run, at_risk_world: Path, load_json: LoadJson
) -> None:
    found = at_risk(run, load_json)
    assert [(f["customer"], f["score"]) for f in found] == expected_at_risk(DEFAULT_RISKS)
    assert [f["customer"] for f in found] == [email(n) for n in ("ann", "ben", "cat", "lou", "dan")]
    by = {f["customer"]: f for f in found}

    def kinds(name: str) -> dict[str, int]:
        return {r["kind"]: r["count"] for r in by[email(name)]["reasons"]}

    assert kinds("ann") == {"overdue_promises": 2}
    assert kinds("ben") == {"overdue_promises": 1, "incident_not_contacted": 1}
    assert kinds("cat") == {"incident_not_contacted": 2}
    assert kinds("lou") == {"squeaky_wheel": 4}
    assert kinds("dan") == {"squeaky_wheel": 3}
    cat_text = by[email("cat")]["reasons"][0]["text"]
    assert "INC-1" in cat_text and "INC-2" in cat_text and "INC-3" not in cat_text
    assert "2 overdue promises" in by[email("ann")]["reasons"][0]["text"]
    for name in ("lou", "dan"):
        assert (
            by[email(name)]["suggestion"] == f"ocx cadence set {email(name)} {CADENCE_SUGGESTION}"
        )
        assert "no cadence" in by[email(name)]["reasons"][0]["text"]
    for name in ("ann", "ben", "cat"):
        assert by[email(name)]["suggestion"] is None
    assert by[email("ann")]["name"] == "Ann"

    human = ok(run("report", "customers", "--at-risk", env=at(NOW))).stdout
    assert human.index("Ann") < human.index("Ben") < human.index("Cat") < human.index("Lou")
    assert "ocx cadence set" in human


def test_the_suggested_cadence_takes_a_squeaky_wheel_off_the_list(
    run: Run, at_risk_world: Path, load_json: LoadJson
) -> None:
    (lou,) = [f for f in at_risk(run, load_json) if f["customer"] == email("lou")]
    command = lou["suggestion"].split()
    assert command[:3] == ["ocx", "cadence", "set"]
    ok(run(*command[1:], env=at(NOW)))
    assert email("lou") not in [f["customer"] for f in at_risk(run, load_json)]
    # stopping it puts lou back
    ok(run("cadence", "stop", email("lou"), env=at(NOW + HOUR)))
    assert email("lou") in [f["customer"] for f in at_risk(run, load_json, NOW + HOUR)]


def test_at_risk_reasons_go_away_when_handled(
    run: Run, at_risk_world: Path, load_json: LoadJson
) -> None:
    ok(run("promise", "done", "1", env=at(NOW)))  # one of ann's
    ok(run("incident", "contact", "1", email("ben"), env=at(NOW)))
    ok(run("incident", "resolve", "2", env=at(NOW)))
    risks = {**DEFAULT_RISKS, "ann": Risk(overdue=1), "ben": Risk(overdue=1),
             "cat": Risk(uncontacted=1)}  # fmt: skip
    assert [(f["customer"], f["score"]) for f in at_risk(run, load_json)] == expected_at_risk(risks)


def test_squeaky_contacts_and_days_come_from_the_config(
    run: Run, at_risk_world: Path, load_json: LoadJson, env: Path
) -> None:
    # a wider window: fay's contact eight days ago counts, so she has 3
    write_config(env, "squeaky_days = 10\n")
    risks = {**DEFAULT_RISKS, "fay": Risk(inbound=3)}
    assert [(f["customer"], f["score"]) for f in at_risk(run, load_json)] == expected_at_risk(risks)
    text = next(f for f in at_risk(run, load_json) if f["customer"] == email("fay"))["reasons"]
    assert "10 days" in text[0]["text"]
    # a lower bar: two inbound contacts in the week make pat and fay squeaky wheels
    write_config(env, "squeaky_contacts = 2\n")
    risks = {**DEFAULT_RISKS, "fay": Risk(inbound=2), "pat": Risk(inbound=2)}
    found = at_risk(run, load_json)
    assert sorted((f["customer"], f["score"]) for f in found) == sorted(expected_at_risk(risks))
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    # a higher bar: nobody is a squeaky wheel
    write_config(env, "squeaky_contacts = 5\nsqueaky_days = 7\n")
    risks = {k: v for k, v in DEFAULT_RISKS.items() if not v.inbound}
    assert [(f["customer"], f["score"]) for f in at_risk(run, load_json)] == expected_at_risk(risks)


def test_squeaky_config_set_from_the_command_line(
    run: Run, at_risk_world: Path, load_json: LoadJson
) -> None:
    ok(run("config", "set", "squeaky_contacts", "4"))
    found = {f["customer"] for f in at_risk(run, load_json)}
    assert email("lou") in found and email("dan") not in found


@pytest.mark.parametrize("text", ['squeaky_days = "a week"\n', 'squeaky_contacts = "many"\n'])
def test_squeaky_config_that_is_not_a_number_is_an_error(
    run: Run, at_risk_world: Path, env: Path, assert_error: AssertError, text: str
) -> None:
    write_config(env, text)
    line = assert_error(run("report", "customers", "--at-risk", "--json", env=at(NOW)))
    assert "squeaky_contacts" in line and "squeaky_days" in line


def test_report_customers_needs_at_risk(
    run: Run, initialized: Path, assert_usage_error: AssertUsageError
) -> None:
    assert_usage_error(run("report", "customers"))


def test_nobody_at_risk_is_an_empty_list(run: Run, world: Path, load_json: LoadJson) -> None:
    assert at_risk(run, load_json) == []
    assert ok(run("report", "customers", "--at-risk", env=at(NOW))).stdout == ""


# --- imported conversations count as inbound: the Zendesk fixture ------------------------------


def zendesk_squeaky(now: datetime, days: int = 7, contacts: int = 3) -> dict[str, int]:
    """From the fixture itself: end users with >= `contacts` tickets opened in the window."""
    data = json.loads((ZENDESK / "tickets.json").read_text(encoding="utf-8"))
    users = {u["id"]: u for u in data["users"]}
    counts: dict[str, int] = {}
    for ticket in data["tickets"]:
        opened = datetime.fromisoformat(ticket["created_at"].replace("Z", "+00:00"))
        user = users[ticket["requester_id"]]
        if user["role"] == "end-user" and now - timedelta(days=days) <= opened <= now:
            counts[user["email"]] = counts.get(user["email"], 0) + 1
    return {mail: n for mail, n in counts.items() if n >= contacts}


PRIYA = "priya.raman@ledgerleaf.in"
# her five daily "bank sync failed" tickets run 3 to 7 March 2025; the last at 03:20 UTC
JUST_AFTER_PRIYA = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)


def test_imported_tickets_make_priya_a_squeaky_wheel(
    run: Run, initialized: Path, load_json: LoadJson, env: Path
) -> None:
    write_config(env)
    ok(run("import", "zendesk", str(ZENDESK), env=at(JUST_AFTER_PRIYA)))
    expected = zendesk_squeaky(JUST_AFTER_PRIYA)
    assert expected == {PRIYA: 5}
    found = at_risk(run, load_json, JUST_AFTER_PRIYA)
    assert [(f["customer"], f["score"]) for f in found] == [(PRIYA, 5)]
    (priya,) = found
    assert priya["name"] == "Priya Raman"
    assert priya["reasons"] == [{"kind": "squeaky_wheel", "count": 5,
                                 "text": "5 inbound contacts in 7 days and no cadence"}]  # fmt: skip
    assert priya["suggestion"] == f"ocx cadence set {PRIYA} daily*5,weekly*4,monthly"

    # two weeks on, her tickets are out of the window
    later = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
    assert zendesk_squeaky(later) == {}
    assert at_risk(run, load_json, later) == []
    # halfway through her week, three tickets are already enough
    midweek = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
    assert zendesk_squeaky(midweek) == {PRIYA: 3}
    assert [(f["customer"], f["score"]) for f in at_risk(run, load_json, midweek)] == [(PRIYA, 3)]


def test_priya_with_a_cadence_is_not_a_squeaky_wheel(
    run: Run, initialized: Path, load_json: LoadJson, env: Path
) -> None:
    write_config(env)
    ok(run("import", "zendesk", str(ZENDESK), env=at(JUST_AFTER_PRIYA)))
    ok(run("team", "add", "alex", env=at(JUST_AFTER_PRIYA)))
    ok(run("cadence", "set", PRIYA, CADENCE_SUGGESTION, env=at(JUST_AFTER_PRIYA)))
    assert at_risk(run, load_json, JUST_AFTER_PRIYA) == []
