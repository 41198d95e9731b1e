"""`ocx incident`: one outage turned into one case per affected customer, each with a
concierge; personal updates rendered in Jinja2's sandbox and delivered for real (aiosmtpd and
a local HTTP server) by `ocx due --notify`, with quiet hours; next-update promises; one case
at a time, claimed so that two engineers (two processes) never get the same customer.

Everything goes through the CLI; the clock is moved with OCX_NOW. Expected values (dates in
each customer's zone, concierge distributions, bodies) are worked out by hand in the tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, AssertUsageError, Dump, LoadJson, Rows, Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday: 11:00 Paris, 05:00 New York
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
SECRET = "s3cret-hook-key"


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@dataclass
class World:
    db: Path
    home: Path
    run: Run
    rows: Rows

    def configure(self, tables: str = "") -> None:
        """ocx.toml: user tester, times shown in UTC, and `tables`."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "ocx.toml").write_text(
            f'user = "tester"\ntimezone = "UTC"\n{tables}\n', encoding="utf-8"
        )

    def ocx(self, *args: str, when: datetime = NOW) -> Result:
        return ok(self.run(*args, env=at(when)))

    def new(self, title: str = "Bank sync failing", *options: str, when: datetime = NOW) -> str:
        return self.ocx("incident", "new", title, *options, when=when).stdout.strip()

    def fanout(self, incident: str, *options: str, when: datetime = NOW) -> dict[str, Any]:
        result = self.ocx("incident", "fanout", incident, *options, "--json", when=when)
        return json.loads(result.stdout)

    def show(self, incident: str, when: datetime = NOW) -> dict[str, Any]:
        return json.loads(self.ocx("incident", "show", incident, "--json", when=when).stdout)

    def cases(self, incident_id: int = 1) -> dict[str, dict[str, Any]]:
        """Each case of an incident by the customer's email."""
        found = self.rows(
            self.db,
            "SELECT k.*, c.email FROM cases k JOIN customers c ON c.id = k.customer_id "
            "WHERE k.incident_id = ? ORDER BY k.id",
            (incident_id,),
        )
        return {row["email"]: row for row in found}

    def outbox(self) -> list[dict[str, Any]]:
        return self.rows(self.db, "SELECT * FROM outbox ORDER BY id")

    def timeline(self, ref: str, when: datetime = NOW) -> list[dict[str, Any]]:
        return json.loads(self.ocx("customer", "timeline", ref, "--json", when=when).stdout)

    def customer_id(self, email: str) -> int:
        return self.rows(self.db, "SELECT id FROM customers WHERE email = ?", (email,))[0]["id"]


@pytest.fixture
def world(run: Run, initialized: Path, env: Path, rows: Rows) -> World:
    """Team: tester (config user), sam (the lead), alex, kim, lee. Customers (added a month
    ago): Margo Lane (Paris, slow, warm, fr, tag hdfc, Acme), Jim Hollis (New York, fast,
    quiet 22:00-07:00, tag hdfc, Globex), Judy Park (Tokyo, Acme), Alecia Stone (no zone,
    Initech, context mentions payroll)."""
    w = World(initialized, env, run, rows)
    w.configure()
    early = NOW - 30 * DAY
    w.ocx("team", "add", "tester", when=early)
    w.ocx("team", "add", "sam", "--name", "Sam Rivera", "--email", "sam@acme.example", "--lead",
          when=early)  # fmt: skip
    w.ocx("team", "add", "alex", "--name", "Alex Kim", "--email", "alex@acme.example", when=early)
    w.ocx("team", "add", "kim", "--name", "Kim Ode", when=early)
    w.ocx("team", "add", "lee", when=early)
    w.ocx("customer", "add", "margo@example.com", "--name", "Margo Lane", "--tz", "Europe/Paris",
          "--pace", "slow", "--tone", "warm", "--language", "fr", "--tag", "hdfc",
          "--company", "Acme", "--context", "Runs a bakery; likes step by step", when=early)  # fmt: skip
    w.ocx("customer", "add", "jim@example.com", "--name", "Jim Hollis", "--tz", "America/New_York",
          "--pace", "fast", "--tone", "terse", "--language", "en", "--tag", "hdfc",
          "--company", "Globex", "--quiet-hours", "22:00-07:00", when=early)  # fmt: skip
    w.ocx("customer", "add", "judy@example.com", "--name", "Judy Park", "--tz", "Asia/Tokyo",
          "--company", "Acme", when=early)  # fmt: skip
    w.ocx("customer", "add", "alecia@example.com", "--name", "Alecia Stone", "--company", "Initech",
          "--context", "Payroll export every Friday", when=early)  # fmt: skip
    return w


# --- new, list, show -------------------------------------------------------------------------


def test_new_prints_the_id_and_show_reports_status_lead_times_and_case_counts(
    world: World,
) -> None:
    assert world.new("Bank sync failing", "--severity", "2", "--lead", "sam", "--started", "-2h",
                     "--summary", "HDFC tokens expired") == "INC-1"  # fmt: skip
    assert world.new("Exports slow", when=NOW + MINUTE) == "INC-2"
    shown = world.show("INC-1")
    assert shown == world.show("1") == world.show("inc-1")
    assert shown["ref"] == "INC-1"
    assert shown["title"] == "Bank sync failing"
    assert shown["status"] == "open"
    assert shown["severity"] == 2
    assert shown["lead"] == "sam"
    assert shown["summary"] == "HDFC tokens expired"
    assert shown["started_at"] == "2026-11-25T08:00:00Z"
    assert shown["detected_at"] == "2026-11-25T10:00:00Z"
    assert shown["resolved_at"] is None
    assert shown["rescue_plan"] is None and shown["rollback_plan"] is None
    assert shown["cases"] == {"new": 0, "contacted": 0, "acknowledged": 0, "agreed": 0,
                              "resolved": 0, "confirmed": 0}  # fmt: skip
    assert shown["updates_sent"] == 0
    assert shown["next_update_due"] is None
    other = world.show("2")
    assert other["severity"] == 3 and other["lead"] is None
    assert other["started_at"] == other["detected_at"] == "2026-11-25T10:01:00Z"

    text = world.ocx("incident", "show", "INC-1").stdout
    assert "INC-1 Bank sync failing" in text
    assert "sam" in text and "2026-11-25 08:00" in text
    assert "new 0" in text and "resolved 0" in text


@pytest.mark.parametrize("severity", ["0", "5", "-1", "high"])
def test_a_severity_outside_1_to_4_is_a_usage_error(
    world: World, dump: Dump, assert_usage_error: AssertUsageError, severity: str
) -> None:
    before = dump(world.db)
    result = world.run("incident", "new", "Outage", "--severity", severity, env=at(NOW))
    assert_usage_error(result)
    assert "--severity" in result.stderr
    assert dump(world.db) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lead", "nobody"], "no team member 'nobody'"),
        (["--started", "+2h"], "--started 2026-11-25T12:00:00Z is in the future"),
        (["--started", "2026-11-26T00:00"], "is in the future"),
        (["--started", "last blue moon"], "cannot read time 'last blue moon'"),
    ],
)
def test_new_refuses_an_unknown_lead_and_a_start_in_the_future(
    world: World, dump: Dump, assert_error: AssertError, options: list[str], message: str
) -> None:
    before = dump(world.db)
    line = assert_error(world.run("incident", "new", "Outage", *options, env=at(NOW)))
    assert message in line
    assert dump(world.db) == before


def test_new_refuses_an_empty_title(world: World, dump: Dump, assert_error: AssertError) -> None:
    before = dump(world.db)
    assert "title" in assert_error(world.run("incident", "new", "   ", env=at(NOW)))
    assert dump(world.db) == before


def test_list_shows_open_incidents_by_default_and_all_with_all(
    world: World, load_json: LoadJson
) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.new("Exports slow", when=NOW + MINUTE)
    world.new("Login loop", when=NOW + 2 * MINUTE)
    world.ocx("incident", "resolve", "INC-2", when=NOW + HOUR)

    def refs(*options: str) -> list[str]:
        found = load_json(world.run("incident", "list", *options, "--json", env=at(NOW + HOUR)))
        return [i["ref"] for i in found]

    assert refs() == refs("--open") == ["INC-3", "INC-1"]
    assert refs("--all") == ["INC-3", "INC-2", "INC-1"]
    everything = load_json(world.run("incident", "list", "--all", "--json"))
    assert {i["ref"]: i["status"] for i in everything} == {
        "INC-3": "open", "INC-2": "resolved", "INC-1": "open"
    }  # fmt: skip
    assert everything[1]["resolved_at"] == z(NOW + HOUR)
    table = world.ocx("incident", "list", "--all").stdout
    assert "INC-2" in table and "Exports" in table and "resolved" in table
    assert "INC-2" not in world.ocx("incident", "list").stdout


# --- fanout ----------------------------------------------------------------------------------


def test_fanout_by_tag_company_query_file_and_all_adds_each_customer_once(
    world: World, tmp_path: Path
) -> None:
    world.new()
    first = world.fanout("INC-1", "--tag", "hdfc")
    assert first == {"added": 2, "already_present": 0, "unknown": []}
    assert list(world.cases()) == ["margo@example.com", "jim@example.com"]
    # margo (tag, and Acme), jim (tag) are in; only judy (Acme) is new
    again = world.fanout("1", "--tag", "HDFC", "--company", "acme")
    assert again == {"added": 1, "already_present": 2, "unknown": []}
    assert world.fanout("inc-1", "--query", "payroll") == {
        "added": 1, "already_present": 0, "unknown": []
    }  # fmt: skip
    assert set(world.cases()) == {"margo@example.com", "jim@example.com", "judy@example.com",
                                  "alecia@example.com"}  # fmt: skip
    assert world.fanout("INC-1", "--all") == {"added": 0, "already_present": 4, "unknown": []}
    # a customer added later is the only one a new run adds
    world.ocx("customer", "add", "wes@example.com", "--tag", "hdfc", when=NOW + HOUR)
    assert world.fanout("INC-1", "--tag", "hdfc", when=NOW + HOUR) == {
        "added": 1, "already_present": 2, "unknown": []
    }  # fmt: skip
    cases = world.cases()
    assert len(cases) == 5
    assert cases["wes@example.com"]["added_at"] == z(NOW + HOUR)
    assert cases["margo@example.com"]["added_at"] == z(NOW)
    assert {c["state"] for c in cases.values()} == {"new"}

    world.new("Exports slow")
    file = tmp_path / "affected.txt"
    judy = world.customer_id("judy@example.com")
    file.write_text(
        "# affected by the export bug\nmargo@example.com\n\n  ghost@example.com  \n"
        f"{judy}\nzendesk:99999\nMargo@Example.com\n",
        encoding="utf-8",
    )
    assert world.fanout("INC-2", "--customers", str(file)) == {
        "added": 2, "already_present": 0, "unknown": ["ghost@example.com", "zendesk:99999"]
    }  # fmt: skip
    assert set(world.cases(2)) == {"margo@example.com", "judy@example.com"}
    # combinations: a file and a tag together
    combined = world.fanout("INC-2", "--customers", str(file), "--tag", "hdfc")
    assert combined["added"] == 2  # jim and wes
    assert combined["already_present"] == 2
    assert set(world.cases(2)) == {"margo@example.com", "judy@example.com", "jim@example.com",
                                   "wes@example.com"}  # fmt: skip


def test_fanout_text_output_and_unknown_refs_are_reported(world: World, tmp_path: Path) -> None:
    world.new()
    file = tmp_path / "refs.txt"
    file.write_text("jim@example.com\nnobody@example.com\n", encoding="utf-8")
    result = world.ocx("incident", "fanout", "INC-1", "--customers", str(file),
                       "--concierge", "alex")  # fmt: skip
    assert result.stdout.splitlines() == [
        "1 cases added, 0 already present, 1 unknown",
        "  alex: 1 new cases",
    ]
    assert "nobody@example.com" in result.stderr
    assert list(world.cases()) == ["jim@example.com"]


def test_fanout_dry_run_reports_but_adds_nothing(world: World, dump: Dump) -> None:
    world.new()
    world.fanout("INC-1", "--tag", "hdfc")
    before = dump(world.db)
    would = world.fanout("INC-1", "--all", "--concierge", "alex", "--dry-run")
    assert would == {"added": 2, "already_present": 2, "unknown": []}
    text = world.ocx("incident", "fanout", "INC-1", "--all", "--dry-run").stdout
    assert "2 cases would be added, 2 already present, 0 unknown" in text
    assert dump(world.db) == before


def test_concierges_are_given_round_robin_least_loaded_first(world: World) -> None:
    early = NOW - DAY
    for n in range(3):
        world.ocx("customer", "add", f"first{n}@example.com", "--tag", "first", when=early)
    for n in range(7):
        world.ocx("customer", "add", f"wave{n}@example.com", "--tag", "wave", when=early)
    world.new("Earlier outage")
    world.fanout("INC-1", "--tag", "first", "--concierge", "alex")
    # one of alex's three cases is resolved: alex carries two open cases
    world.ocx("incident", "resolve", "1", "--customer", "first0@example.com")
    world.new("Bank sync failing")
    world.fanout("INC-2", "--tag", "wave", "--concierge", "alex", "--concierge", "kim",
                 "--concierge", "lee")  # fmt: skip
    # loads alex 2, kim 0, lee 0; ties go to the one named first:
    # kim(0) lee(0) kim(1) lee(1) -> all at 2 -> alex, kim, lee
    assert [c["concierge"] for c in world.cases(2).values()] == [
        "kim", "lee", "kim", "lee", "alex", "kim", "lee"
    ]  # fmt: skip
    # the next fanout counts those: alex 3 (2 in INC-1, 1 here), kim 3, lee 3: all tied, so
    # the order named decides: lee, then kim
    world.ocx("customer", "add", "late0@example.com", "--tag", "wave")
    world.ocx("customer", "add", "late1@example.com", "--tag", "wave")
    result = world.ocx("incident", "fanout", "INC-2", "--tag", "wave", "--concierge", "lee",
                       "--concierge", "kim", "--concierge", "alex")  # fmt: skip
    assert "2 cases added, 7 already present" in result.stdout
    assert "  kim: 1 new cases" in result.stdout and "  lee: 1 new cases" in result.stdout
    cases = world.cases(2)
    assert cases["late0@example.com"]["concierge"] == "lee"
    assert cases["late1@example.com"]["concierge"] == "kim"


def test_cases_lists_each_case_with_its_concierge_and_state(
    world: World, load_json: LoadJson
) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "hdfc", "--concierge", "alex", "--concierge", "kim")
    world.ocx("incident", "contact", "1", "jim@example.com", when=NOW + HOUR)
    stored = world.cases(1)  # what the database holds, read with plain sqlite3
    listed = load_json(world.ocx("incident", "cases", "INC-1", "--json"))
    assert {c["customer_email"]: (c["concierge"], c["state"]) for c in listed} == {
        email: (row["concierge"], row["state"]) for email, row in stored.items()
    }  # fmt: skip
    contacted = load_json(world.ocx("incident", "cases", "1", "--state", "contacted", "--json"))
    assert [(c["customer_email"], c["contacted_at"]) for c in contacted] == [
        ("jim@example.com", z(NOW + HOUR))
    ]  # fmt: skip


def test_a_customer_with_a_concierge_in_another_open_incident_keeps_that_person(
    world: World,
) -> None:
    world.new("Earlier outage")
    world.fanout("INC-1", "--customers", _file(world, "margo@example.com"), "--concierge", "alex")
    world.new("Bank sync failing")
    world.fanout("INC-2", "--tag", "hdfc", "--concierge", "kim")
    cases = world.cases(2)
    assert cases["margo@example.com"]["concierge"] == "alex"
    assert cases["jim@example.com"]["concierge"] == "kim"
    # once the other incident is resolved, a new one starts afresh
    world.ocx("incident", "resolve", "INC-1")
    world.ocx("incident", "resolve", "INC-2")
    world.new("Third outage")
    world.fanout("INC-3", "--tag", "hdfc", "--concierge", "lee")
    assert {c["concierge"] for c in world.cases(3).values()} == {"lee"}


def _file(world: World, *refs: str) -> str:
    path = world.home.parent / f"refs-{len(list(world.home.parent.glob('refs-*')))}.txt"
    path.write_text("\n".join(refs) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["INC-1"], "say who is affected"),
        (["INC-9", "--all"], "no incident 'INC-9'"),
        (["INC-1", "--all", "--concierge", "alex", "--concierge", "zed"], "no team member 'zed'"),
        (["INC-1", "--customers", "no-such-file.txt"], "no such file"),
        (["INC-2", "--all"], "INC-2 is resolved"),
    ],
)
def test_fanout_errors_change_nothing(
    world: World, dump: Dump, assert_error: AssertError, args: list[str], message: str
) -> None:
    world.new()
    world.new("Old one")
    world.ocx("incident", "resolve", "INC-2")
    before = dump(world.db)
    assert message in assert_error(world.run("incident", "fanout", *args, env=at(NOW)))
    assert dump(world.db) == before


# --- plan, agree, contact, ack, resolve ------------------------------------------------------


def test_each_step_is_timestamped_and_lands_in_the_customers_timeline(
    world: World, dump: Dump, assert_error: AssertError
) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc", "--concierge", "alex")
    before = dump(world.db)
    line = assert_error(world.run("incident", "agree", "INC-1", "margo@example.com"))
    assert "no rescue plan" in line
    assert dump(world.db) == before

    t = [NOW + n * 10 * MINUTE for n in range(1, 6)]
    world.ocx("incident", "plan", "1", "--rescue", "Re-issue the bank tokens",
              "--rollback", "Restore the old tokens", when=t[0])  # fmt: skip
    world.ocx("incident", "contact", "1", "margo@example.com", "--note", "Called her", when=t[1])
    world.ocx("incident", "ack", "INC-1", "margo@example.com", when=t[2])
    world.ocx("incident", "agree", "inc-1", "margo@example.com", when=t[3])
    world.ocx("incident", "resolve", "1", "--customer", "margo@example.com", "--note",
              "Tokens re-issued", when=t[4])  # fmt: skip

    shown = world.show("INC-1", t[4])
    assert shown["rescue_plan"] == "Re-issue the bank tokens"
    assert shown["rollback_plan"] == "Restore the old tokens"
    assert shown["planned_at"] == z(t[0])
    assert shown["cases"] == {"new": 1, "contacted": 0, "acknowledged": 0, "agreed": 0,
                              "resolved": 1, "confirmed": 0}  # fmt: skip
    assert shown["status"] == "open"
    margo = world.cases()["margo@example.com"]
    assert margo["state"] == "resolved"
    assert [margo[k] for k in ("contacted_at", "acknowledged_at", "agreed_at", "resolved_at")] == [
        z(t[1]), z(t[2]), z(t[3]), z(t[4])
    ]  # fmt: skip
    assert margo["last_activity_at"] == z(t[4])

    entries = [e for e in world.timeline("margo@example.com", t[4]) if e["kind"] == "incident"]
    assert [(e["at"], e["text"]) for e in reversed(entries)] == [
        (z(NOW), "Affected by INC-1: Bank sync failing (concierge alex)"),
        (z(t[1]), "Contacted about INC-1: Bank sync failing (Called her)"),
        (z(t[2]), "Acknowledged INC-1: Bank sync failing"),
        (z(t[3]), "Agreed to the rescue plan for INC-1: Bank sync failing"),
        (z(t[4]), "Resolved for them: INC-1: Bank sync failing (Tokens re-issued)"),
    ]
    assert all(e["author"] == "tester" and e["subject_id"] == 1 for e in entries)
    # jim was not touched
    jim = world.cases()["jim@example.com"]
    assert jim["state"] == "new" and jim["contacted_at"] is None


def test_steps_only_move_a_case_forward(world: World) -> None:
    world.new()
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "plan", "1", "--rescue", "Fix", "--rollback", "Undo")
    world.ocx("incident", "agree", "1", "jim@example.com", when=NOW + MINUTE)
    world.ocx("incident", "contact", "1", "jim@example.com", when=NOW + 2 * MINUTE)
    jim = world.cases()["jim@example.com"]
    assert jim["state"] == "agreed"
    assert jim["agreed_at"] == z(NOW + MINUTE) and jim["contacted_at"] == z(NOW + 2 * MINUTE)
    assert jim["last_activity_at"] == z(NOW + 2 * MINUTE)
    # contact gives an unassigned case to whoever made it
    assert jim["concierge"] == "tester"


def test_resolving_the_incident_resolves_every_case_still_open(
    world: World, dump: Dump, assert_error: AssertError, load_json: LoadJson
) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc", "--company", "Acme")
    world.ocx("incident", "resolve", "1", "--customer", "margo@example.com", when=NOW + HOUR)
    world.ocx("incident", "contact", "1", "jim@example.com", when=NOW + HOUR)
    world.ocx("incident", "update", "1", "--message", "Working on it", "--next-update", "2h",
              when=NOW + HOUR)  # fmt: skip
    done_at = NOW + 3 * HOUR
    result = world.ocx("incident", "resolve", "INC-1", "--note", "All synced", when=done_at)
    assert "2 cases resolved" in result.stderr
    cases = world.cases()
    assert {c["state"] for c in cases.values()} == {"resolved"}
    assert cases["margo@example.com"]["resolved_at"] == z(NOW + HOUR)
    assert cases["jim@example.com"]["resolved_at"] == z(done_at)
    assert cases["judy@example.com"]["resolved_at"] == z(done_at)
    shown = world.show("INC-1", done_at)
    assert shown["status"] == "resolved" and shown["resolved_at"] == z(done_at)
    assert shown["cases"]["resolved"] == 3
    assert shown["next_update_due"] is None
    made = load_json(world.run("promise", "list", "--all", "--json", env=at(done_at)))
    (promise,) = [p for p in made if p["customer_id"] is None]  # the next update's
    assert promise["state"] == "done"
    checks = sorted(p["text"] for p in made if p["customer_id"] is not None)
    assert checks == [f"Check with {name} that it is fixed"
                      for name in ("Jim Hollis", "Judy Park", "Margo Lane")]  # fmt: skip
    judy = world.timeline("judy@example.com", done_at)
    assert judy[1]["text"] == "Resolved for them: INC-1: Bank sync failing (All synced)"
    assert judy[1]["at"] == z(done_at)
    assert judy[0]["text"] == ("Promised: Check with Judy Park that it is fixed "
                               "(due 2026-11-26T13:00:00Z, owner sam)")  # fmt: skip
    assert world.ocx("incident", "list", "--json", when=done_at).stdout.strip() == "[]"

    before = dump(world.db)
    for args, message in [
        (["resolve", "INC-1"], "INC-1 is already resolved"),
        (["resolve", "INC-1", "--customer", "jim@example.com"], "already resolved"),
        (["contact", "INC-1", "jim@example.com"], "already resolved"),
        (["ack", "INC-1", "judy@example.com"], "already resolved"),
        (["update", "INC-1", "--message", "Hi"], "INC-1 is resolved"),
    ]:
        line = assert_error(world.run("incident", *args, env=at(done_at + HOUR)))
        assert message in line, args
    assert dump(world.db) == before


COMMANDS_ON_A_CUSTOMER = [
    ["contact", "{id}", "{ref}"],
    ["contact", "{id}", "{ref}", "--note", "hello"],
    ["ack", "{id}", "{ref}"],
    ["agree", "{id}", "{ref}"],
    ["resolve", "{id}", "--customer", "{ref}"],
]


@pytest.mark.parametrize("command", COMMANDS_ON_A_CUSTOMER)
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("judy@example.com", "customer 'judy@example.com' is not in INC-1"),
        ("ghost@example.com", "no customer matches 'ghost@example.com'"),
    ],
)
def test_a_customer_not_in_the_incident_is_a_clear_error(
    world: World, dump: Dump, assert_error: AssertError, command: list[str], ref: str,
    message: str,
) -> None:  # fmt: skip
    world.new()
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "plan", "1", "--rescue", "Fix", "--rollback", "Undo")
    before = dump(world.db)
    args = [a.format(id="INC-1", ref=ref) for a in command]
    assert message in assert_error(world.run("incident", *args, env=at(NOW)))
    assert dump(world.db) == before


@pytest.mark.parametrize(
    "command",
    [
        ["show", "{id}"],
        ["show", "{id}", "--json"],
        ["fanout", "{id}", "--all"],
        ["plan", "{id}", "--rescue", "Fix", "--rollback", "Undo"],
        ["agree", "{id}", "margo@example.com"],
        ["contact", "{id}", "margo@example.com"],
        ["ack", "{id}", "margo@example.com"],
        ["resolve", "{id}"],
        ["resolve", "{id}", "--customer", "margo@example.com"],
        ["next", "{id}", "--concierge", "alex"],
        ["update", "{id}", "--message", "Hi"],
        ["update", "{id}", "--message", "Hi", "--dry-run"],
    ],
)
@pytest.mark.parametrize("incident", ["INC-7", "7", "INC-x", "0"])
def test_an_unknown_incident_is_an_error_for_every_command(
    world: World, dump: Dump, assert_error: AssertError, command: list[str], incident: str
) -> None:
    world.new()
    world.fanout("INC-1", "--all")
    before = dump(world.db)
    args = [a.format(id=incident) for a in command]
    line = assert_error(world.run("incident", *args, env=at(NOW)))
    assert f"no incident {incident!r}" in line
    assert dump(world.db) == before


@pytest.mark.parametrize("form", ["1", "INC-1", "inc-1"])
def test_every_command_takes_7_or_inc_7(world: World, form: str, load_json: LoadJson) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    for args in [
        ["fanout", form, "--tag", "hdfc"],
        ["plan", form, "--rescue", "Fix", "--rollback", "Undo"],
        ["contact", form, "margo@example.com"],
        ["ack", form, "margo@example.com"],
        ["agree", form, "margo@example.com"],
        ["update", form, "--message", "Hi", "--dry-run"],
        ["update", form, "--message", "Hi"],
        ["next", form, "--concierge", "alex"],
        ["resolve", form, "--customer", "margo@example.com"],
        ["show", form],
        ["resolve", form],
    ]:
        world.ocx("incident", *args)
    shown = load_json(world.run("incident", "show", form, "--json"))
    assert shown["status"] == "resolved" and shown["updates_sent"] == 1


def test_plan_needs_both_rescue_and_rollback(
    world: World, dump: Dump, assert_error: AssertError, assert_usage_error: AssertUsageError
) -> None:
    world.new()
    before = dump(world.db)
    assert_usage_error(world.run("incident", "plan", "1", "--rescue", "Fix"))
    assert "rollback" in assert_error(
        world.run("incident", "plan", "1", "--rescue", "Fix", "--rollback", "  ")
    )
    assert dump(world.db) == before


# --- update ----------------------------------------------------------------------------------

TEMPLATE = """\
Hello {{ customer.first_name }},
{% if customer.pace == 'slow' %}
Here is what happened, step by step: {{ incident.title }} ({{ incident.id }}).
Your concierge, {{ concierge.name }}, will call you.
{% else %}
{{ incident.id }}: {{ incident.title }}. Fix under way.
{% endif %}
Next update: {{ next_update }}.
[{{ customer.name }}|{{ customer.pace }}|{{ customer.tone }}|{{ customer.language }}|{{ case.state }}]
"""


def _expected(first: str, slow: bool, concierge: str, next_update: str, tags: str) -> str:
    middle = (
        "Here is what happened, step by step: Bank sync failing (INC-1).\n"
        f"Your concierge, {concierge}, will call you.\n"
        if slow
        else "INC-1: Bank sync failing. Fix under way.\n"
    )
    return f"Hello {first},\n\n{middle}\nNext update: {next_update}.\n{tags}"


def test_update_renders_one_message_per_customer_and_queues_it(
    world: World, tmp_path: Path, load_json: LoadJson
) -> None:
    world.configure('[channels.email]\ntype = "email"\nhost = "127.0.0.1"\nport = 2525\n'
                    'from = "support@acme.example"\nstarttls = false\n')  # fmt: skip
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--all", "--concierge", "alex")
    world.ocx("incident", "contact", "1", "judy@example.com")
    template = tmp_path / "update.j2"
    template.write_text(TEMPLATE, encoding="utf-8")
    # at 10:00 UTC jim is in his quiet hours (05:00 in New York): his message waits
    result = world.ocx("incident", "update", "INC-1", "--template", str(template),
                       "--next-update", "2h")  # fmt: skip
    assert "4 updates queued, 1 held for quiet hours" in result.stderr
    assert "next update due 2026-11-25 12:00 UTC" in result.stderr
    # next_update is 12:00 UTC in each customer's own zone; no zone means UTC
    expected = {
        "margo@example.com": _expected("Margo", True, "Alex Kim", "2026-11-25 13:00 CET",
                                       "[Margo Lane|slow|warm|fr|new]"),
        "jim@example.com": _expected("Jim", False, "Alex Kim", "2026-11-25 07:00 EST",
                                     "[Jim Hollis|fast|terse|en|new]"),
        "judy@example.com": _expected("Judy", False, "Alex Kim", "2026-11-25 21:00 JST",
                                      "[Judy Park|normal|None|None|contacted]"),
        "alecia@example.com": _expected("Alecia", False, "Alex Kim", "2026-11-25 12:00 UTC",
                                        "[Alecia Stone|normal|None|None|new]"),
    }  # fmt: skip
    queued = world.outbox()
    assert {m["recipient"]: m["body"] for m in queued} == expected
    for message in queued:
        assert message["kind"] == "incident-update"
        assert message["channel"] == "email"
        assert message["subject"] == "[INC-1] Bank sync failing"
        assert message["state"] == "pending"
        held = message["recipient"] == "jim@example.com"
        assert message["next_attempt_at"] == z(NOW + 2 * HOUR if held else NOW)
    # each customer's timeline shows what they were told
    for email, body in expected.items():
        told = [e for e in world.timeline(email) if e["kind"] == "incident-update"]
        assert [(e["text"], e["direction"], e["at"]) for e in told] == [(body, "outbound", z(NOW))]
    shown = world.show("INC-1")
    # queued, none delivered yet: sent counts only what reached a customer
    assert shown["updates_sent"] == 1 and shown["messages_sent"] == 0
    assert shown["messages_waiting"] == 4
    assert shown["next_update_due"] == z(NOW + 2 * HOUR)
    assert all(c["last_update_at"] == z(NOW) for c in world.cases().values())


def test_message_is_a_template_too_and_only_open_cases_are_told(world: World) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "resolve", "1", "--customer", "jim@example.com")
    world.ocx("incident", "update", "1", "--message",
              "Hi {{ customer.first_name }}, {{ incident.id }} is {{ incident.status }}."
              "{% if concierge %} {{ concierge.handle }}{% endif %}")  # fmt: skip
    assert [(m["recipient"], m["body"]) for m in world.outbox()] == [
        ("margo@example.com", "Hi Margo, INC-1 is open.")
    ]
    # no email channel configured: the email channel is still the fallback name
    assert world.outbox()[0]["channel"] == "email"


def test_dry_run_prints_three_samples_and_queues_nothing(world: World, dump: Dump) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--all")
    before = dump(world.db)
    result = world.ocx("incident", "update", "1", "--message",
                       "Dear {{ customer.name }} ({{ customer.pace }})", "--next-update", "1h",
                       "--dry-run")  # fmt: skip
    assert result.stdout == (
        "--- to margo@example.com\nDear Margo Lane (slow)\n\n"
        "--- to jim@example.com\nDear Jim Hollis (fast)\n\n"
        "--- to judy@example.com\nDear Judy Park (normal)\n\n"
    )
    assert dump(world.db) == before
    assert world.outbox() == []


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__ }}",
    "{{ customer.__class__ }}",
    "{{ customer|attr('__class__') }}",
    "{{ '{0.__class__}'.format(customer) }}",
    "{{ '%s'|format(customer.__class__) }}",
    "{{ incident.title.__len__() }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ customer.update(name='x') }}",
    "{{ customer.tags.append('owned') }}",
]


@pytest.mark.parametrize("escape", SANDBOX_ESCAPES)
def test_a_sandbox_escape_stops_the_update_before_anything_is_queued(
    world: World, tmp_path: Path, dump: Dump, assert_error: AssertError, escape: str
) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--all")
    template = tmp_path / "evil.j2"
    template.write_text(f"Hello {{{{ customer.name }}}},\n\n{escape}\nBye\n", encoding="utf-8")
    before = dump(world.db)
    line = assert_error(world.run("incident", "update", "1", "--template", str(template),
                                  "--next-update", "2h", env=at(NOW)))  # fmt: skip
    assert line.startswith("Error: template line 3: ")
    assert "not allowed in a template" in line and "unsafe" in line
    assert dump(world.db) == before
    assert world.outbox() == []
    # the same escape in --message and --dry-run is refused too
    line = assert_error(world.run("incident", "update", "1", "--message", escape, "--dry-run"))
    assert line.startswith("Error: template line 1: ")
    assert dump(world.db) == before


@pytest.mark.parametrize(
    ("source", "line", "fragment"),
    [
        ("Hello\n{{ customer.name }\nBye\n", 2, "unexpected '}'"),
        ("Hello\n\n{% if customer.pace == 'slow' %}\n{% endfor %}\n", 4, "endfor"),
        ("Hello\nthere\n{{ customr.name }}\n", 3, "'customr' is undefined"),
        ("Hello\n{{ customer.nickname }}\n", 2, "has no attribute 'nickname'"),
        # fails only for the last customer: Alecia has no time zone
        ("Hi\n{{ customer.time_zone.upper() }}\n", 2, "'None' has no attribute 'upper'"),
        ("{% include 'other.j2' %}", 1, "no loader"),
        ("a\n{{ range(10**9)|length }}", 2, "MAX_RANGE"),
        ("a\nb\nc\n{{ 1 / 0 }}", 4, "ZeroDivisionError"),
    ],
)
def test_a_template_error_names_its_line_and_queues_nothing(
    world: World, tmp_path: Path, dump: Dump, assert_error: AssertError, source: str, line: int,
    fragment: str,
) -> None:  # fmt: skip
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--all")
    template = tmp_path / "update.j2"
    template.write_text(source, encoding="utf-8")
    before = dump(world.db)
    error = assert_error(world.run("incident", "update", "1", "--template", str(template),
                                   env=at(NOW)))  # fmt: skip
    assert error.startswith(f"Error: template line {line}: ")
    assert fragment in error
    assert dump(world.db) == before
    assert world.outbox() == []


@pytest.mark.parametrize(
    ("args", "usage", "message"),
    [
        (["1"], True, "exactly one of --message"),
        (["1", "--message", "x", "--template", "t.j2"], True, "exactly one of --message"),
        (["1", "--template", "missing.j2"], False, "cannot read template missing.j2"),
        (["1", "--message", "  "], False, "the update is empty"),
        (["1", "--message", "x", "--next-update", "soon"], False, "cannot read duration 'soon'"),
        (["2", "--message", "x"], False, "INC-2 has no open cases"),
    ],
)
def test_update_errors_change_nothing(
    world: World, dump: Dump, assert_error: AssertError, assert_usage_error: AssertUsageError,
    args: list[str], usage: bool, message: str,
) -> None:  # fmt: skip
    world.new()
    world.fanout("INC-1", "--all")
    world.new("Nobody affected yet")
    before = dump(world.db)
    result = world.run("incident", "update", *args, env=at(NOW))
    if usage:
        assert_usage_error(result)
        assert message in result.stderr
    else:
        assert message in assert_error(result)
    assert dump(world.db) == before


def test_the_next_update_promise_shows_in_due_and_is_kept_by_the_next_update(
    world: World, load_json: LoadJson
) -> None:
    world.new("Bank sync failing", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "update", "1", "--message", "First", "--next-update", "2h")

    def due(when: datetime) -> list[dict[str, Any]]:
        return load_json(world.run("due", "--json", env=at(when)))

    def promise_list(when: datetime) -> list[dict[str, Any]]:
        return load_json(world.run("promise", "list", "--all", "--json", env=at(when)))

    (first,) = promise_list(NOW)
    assert first["owner"] == "sam"
    assert first["customer"] == "INC-1"
    assert first["due_at"] == z(NOW + 2 * HOUR)
    assert first["state"] == "open"
    assert due(NOW) == []  # due in 2h, more than the default 1h ahead
    (item,) = due(NOW + 90 * MINUTE)
    assert (item["kind"], item["stage"], item["owner"], item["promise_id"]) == (
        "promise", "reminder", "sam", first["id"]
    )  # fmt: skip
    assert item["customer"] == "INC-1" and "INC-1" in item["text"]
    (late,) = [i for i in due(NOW + 2 * HOUR + MINUTE) if i["stage"] == "overdue"]
    assert late["promise_id"] == first["id"]

    second_at = NOW + 100 * MINUTE
    world.ocx("incident", "update", "1", "--message", "Second", "--next-update", "3h",
              when=second_at)  # fmt: skip
    kept, second = promise_list(second_at)
    assert kept["id"] == first["id"] and kept["state"] == "done" and kept["outcome"] == "kept"
    assert kept["done_at"] == z(second_at)
    assert second["state"] == "open" and second["due_at"] == z(second_at + 3 * HOUR)
    assert [i["promise_id"] for i in due(second_at + 5 * MINUTE)] == []
    shown = world.show("1", second_at)
    assert shown["updates_sent"] == 2 and shown["next_update_due"] == z(second_at + 3 * HOUR)
    assert shown["next_update_promise_id"] == second["id"]

    # an update sent late still keeps the promise (late); without --next-update none is open
    third_at = second_at + 4 * HOUR
    world.ocx("incident", "update", "1", "--message", "Third", when=third_at)
    states = {p["id"]: (p["state"], p["outcome"]) for p in promise_list(third_at)}
    assert states == {first["id"]: ("done", "kept"), second["id"]: ("done", "kept_late")}
    assert world.show("1", third_at)["next_update_due"] is None
    assert due(third_at) == []
    told = [e["text"] for e in world.timeline("margo@example.com", third_at)
            if e["kind"] == "incident-update"]  # fmt: skip
    assert told == ["Third", "Second", "First"]


def test_without_a_lead_the_next_update_promise_belongs_to_whoever_sent_it(
    world: World, load_json: LoadJson
) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "update", "1", "--message", "Hi", "--next-update", "30m")
    (promise,) = load_json(world.run("promise", "list", "--json", env=at(NOW)))
    assert promise["owner"] == "tester"
    (item,) = load_json(world.run("due", "--json", env=at(NOW)))
    assert item["owner"] == "tester"


# --- delivery for real -----------------------------------------------------------------------


def _channels(smtp_port: int, hook_url: str | None = None) -> str:
    tables = (
        f'[channels.email]\ntype = "email"\nhost = "127.0.0.1"\nport = {smtp_port}\n'
        'from = "support@acme.example"\nstarttls = false\n'
    )
    if hook_url:
        tables += (
            f'\n[channels.hook]\ntype = "webhook"\nurl = "{hook_url}"\nsecret_env = "HOOK_SECRET"\n'
        )
    return tables


def notify(world: World, when: datetime) -> Result:
    return world.ocx("due", "--notify", when=when)


def test_due_notify_delivers_each_customers_update_by_email_once(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.new("Bank sync failing", "--severity", "2")
    world.fanout("INC-1", "--company", "Acme", "--company", "Initech")
    world.ocx("incident", "update", "1", "--message",
              "Dear {{ customer.first_name }},\nyour bank sync is being fixed.")  # fmt: skip
    assert smtp_server.messages == []  # nothing leaves before `ocx due --notify`
    result = notify(world, NOW)
    assert result.stdout.count("sent incident-update to") == 3
    mails = {tuple(m.rcpt_tos): m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 3
    assert set(mails) == {("margo@example.com",), ("judy@example.com",), ("alecia@example.com",)}
    for (address,), mail in mails.items():
        first = {"margo": "Margo", "judy": "Judy", "alecia": "Alecia"}[address.split("@")[0]]
        assert mail.mail_from == "support@acme.example"
        assert mail.message["To"] == address
        assert mail.message["From"] == "support@acme.example"
        assert mail.message["Subject"] == "[INC-1] Bank sync failing"
        assert mail.message["X-Ocx-Kind"] == "incident-update"
        body = mail.message.get_content().replace("\r\n", "\n").strip()
        assert body == f"Dear {first},\nyour bank sync is being fixed."
    assert {m["state"] for m in world.outbox()} == {"sent"}
    ok_again = notify(world, NOW + MINUTE)
    assert "incident-update" not in ok_again.stdout
    assert len(smtp_server.messages) == 3
    # `show` counts what reached customers (the server saw 3), not what was queued
    shown = world.show("INC-1")
    assert (shown["messages_sent"], shown["messages_waiting"]) == (len(smtp_server.messages), 0)


def test_a_customer_whose_channel_is_a_webhook_gets_a_signed_post(
    world: World, smtp_server: Any, http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    server = http_server()
    world.configure(_channels(smtp_server.port, server.url))
    world.ocx("customer", "add", "wes@example.com", "--name", "Wes Ng", "--channel", "hook",
              "--tag", "hdfc", when=NOW - DAY)  # fmt: skip
    world.ocx("customer", "edit", "jim@example.com", "--quiet-hours", "", when=NOW - DAY)
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "update", "1", "--message", "Hi {{ customer.first_name }}, fixing it.")
    keys = {m["recipient"]: m["key"] for m in world.outbox()}
    assert {m["recipient"]: m["channel"] for m in world.outbox()} == {
        "margo@example.com": "email", "jim@example.com": "email", "wes@example.com": "hook"
    }  # fmt: skip
    notify(world, NOW)

    (request,) = server.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["Idempotency-Key"] == keys["wes@example.com"]
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Ocx-Signature"], expected)
    wrong = "sha256=" + hmac.new(b"other", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Ocx-Signature"] != wrong
    posted = request.json()
    assert posted["kind"] == "incident-update"
    assert posted["recipient"] == "wes@example.com"
    assert posted["subject"] == "[INC-1] Bank sync failing"
    assert posted["body"] == "Hi Wes, fixing it."
    assert posted["payload"]["incident"] == "INC-1"
    assert sorted(tuple(m.rcpt_tos) for m in smtp_server.messages) == [
        ("jim@example.com",), ("margo@example.com",)
    ]  # fmt: skip
    notify(world, NOW + MINUTE)
    notify(world, NOW + HOUR)
    assert len(server.requests) == 1
    assert len(smtp_server.messages) == 2


def test_each_customer_gets_their_own_channel_else_the_email_channel_or_a_call(
    world: World,
) -> None:
    # the team's mail channel comes first in the file: customers still get the `email` one
    world.configure(
        '[channels.ops-mail]\ntype = "email"\nhost = "127.0.0.1"\nfrom = "ops@acme.example"\n'
        '\n[channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
        '\n[channels.email]\ntype = "email"\nhost = "127.0.0.1"\nfrom = "support@acme.example"\n'
    )
    early = NOW - DAY
    world.ocx("customer", "edit", "jim@example.com", "--channel", "webhook", when=early)
    world.ocx("customer", "edit", "judy@example.com", "--channel", "phone", when=early)
    world.ocx("customer", "edit", "alecia@example.com", "--channel", "ops-mail", when=early)
    world.ocx("customer", "add", "wes@example.com", "--channel", "hook", when=early)
    world.new()
    world.fanout("INC-1", "--all")
    world.ocx("incident", "update", "1", "--message", "Hi")
    assert {m["recipient"]: m["channel"] for m in world.outbox()} == {
        "margo@example.com": "email",  # no channel
        "jim@example.com": "hook",  # the first channel of type webhook
        "alecia@example.com": "ops-mail",  # a configured channel by name
        "wes@example.com": "hook",
    }  # judy: no channel of that name or type, so never mail by surprise: a call
    calls = world.rows(
        world.db, "SELECT * FROM promises WHERE subject_type = 'case' AND kind IS NULL"
    )
    assert [c["text"] for c in calls] == ["Call Judy Park (phone): Hi"]


def test_a_customer_in_quiet_hours_gets_the_update_when_they_end(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    # margo: 08:00-12:00 Paris (11:00 there now) -> until 11:00 UTC;
    # jim: 22:00-07:00 New York (05:00 there now) -> until 12:00 UTC; judy: none
    world.ocx("customer", "edit", "margo@example.com", "--quiet-hours", "08:00-12:00",
              when=NOW - DAY)  # fmt: skip
    world.new("Bank sync failing", "--severity", "2")
    world.fanout("INC-1", "--tag", "hdfc", "--customers", _file(world, "judy@example.com"))
    result = world.ocx("incident", "update", "1", "--message", "Hi {{ customer.first_name }}")
    assert "3 updates queued, 2 held for quiet hours" in result.stderr

    def told() -> list[str]:
        return [m.rcpt_tos[0] for m in smtp_server.messages]

    notify(world, NOW)
    assert told() == ["judy@example.com"]
    notify(world, NOW + HOUR - MINUTE)
    assert told() == ["judy@example.com"]
    notify(world, NOW + HOUR)
    assert told() == ["judy@example.com", "margo@example.com"]
    notify(world, NOW + 2 * HOUR - MINUTE)
    assert len(told()) == 2
    notify(world, NOW + 2 * HOUR)
    assert told() == ["judy@example.com", "margo@example.com", "jim@example.com"]
    assert smtp_server.messages[2].message.get_content().strip() == "Hi Jim"
    notify(world, NOW + 3 * HOUR)
    assert len(told()) == 3


def test_quiet_hours_wrapping_midnight_hold_until_the_next_morning(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # 18:30 in New York, 00:30 in Paris
    world.ocx("customer", "edit", "margo@example.com", "--quiet-hours", "22:00-07:00",
              when=NOW - DAY)  # fmt: skip
    world.new("Bank sync failing", when=late)
    world.fanout("INC-1", "--tag", "hdfc", when=late)
    world.ocx("incident", "update", "1", "--message", "Hi", when=late)
    notify(world, late)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["jim@example.com"]]
    morning = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    notify(world, morning - MINUTE)
    assert len(smtp_server.messages) == 1
    notify(world, morning)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["jim@example.com"],
                                                          ["margo@example.com"]]  # fmt: skip


def test_a_newer_update_replaces_one_still_held_by_quiet_hours(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    # jim: 22:00-07:00 New York (05:00 there at NOW) -> held until 12:00 UTC
    world.new("Bank sync failing", "--severity", "2")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("incident", "update", "1", "--message", "first news for {{ customer.first_name }}")
    world.ocx("incident", "update", "1", "--message", "second news for {{ customer.first_name }}",
              when=NOW + MINUTE)  # fmt: skip
    notify(world, NOW + 2 * HOUR)
    to_jim = [m.message.get_content().strip() for m in smtp_server.messages
              if m.rcpt_tos == ["jim@example.com"]]  # fmt: skip
    assert to_jim == ["second news for Jim"]


def test_a_severity_1_update_ignores_quiet_hours(world: World, smtp_server: Any) -> None:
    world.configure(_channels(smtp_server.port))
    world.new("Payments down", "--severity", "1")
    world.fanout("INC-1", "--tag", "hdfc")
    result = world.ocx("incident", "update", "1", "--message", "Hi {{ customer.first_name }}")
    assert "2 updates queued" in result.stderr and "quiet hours" not in result.stderr
    notify(world, NOW)
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "jim@example.com", "margo@example.com"
    ]  # fmt: skip


# --- one case at a time ----------------------------------------------------------------------


def _next(world: World, concierge: str, when: datetime, incident: str = "1") -> Any:
    result = world.ocx("incident", "next", incident, "--concierge", concierge, "--json", when=when)
    return json.loads(result.stdout)


def test_next_gives_not_yet_contacted_first_then_the_longest_waiting(world: World) -> None:
    world.new("Bank sync failing")
    t0 = NOW
    world.fanout("INC-1", "--customers", _file(world, "judy@example.com"), when=t0)
    world.fanout("INC-1", "--tag", "hdfc", when=t0 + MINUTE)  # margo, jim
    world.fanout("INC-1", "--company", "Initech", when=t0 + 2 * MINUTE)  # alecia
    # judy and alecia are contacted (alecia first: she has waited longer since)
    world.ocx("incident", "contact", "1", "alecia@example.com", when=t0 + 5 * MINUTE)
    world.ocx("incident", "contact", "1", "judy@example.com", when=t0 + 6 * MINUTE)
    when = t0 + 10 * MINUTE
    order = []
    for step in range(4):
        view = _next(world, "tester", when + step * MINUTE)
        order.append((view["customer"]["email"], view["case"]["state"]))
        world.ocx("incident", "ack", "1", view["customer"]["email"], when=when + step * MINUTE)
    # margo and jim were added together (same waiting time): the earlier case first
    assert order == [
        ("margo@example.com", "new"),
        ("jim@example.com", "new"),
        ("alecia@example.com", "contacted"),
        ("judy@example.com", "contacted"),
    ]
    # acked just now: margo has waited longest
    assert _next(world, "tester", when + 10 * MINUTE)["customer"]["email"] == "margo@example.com"


def test_next_returns_the_profile_context_and_latest_timeline_and_claims_the_case(
    world: World,
) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "hdfc")
    world.ocx("customer", "note", "margo@example.com", "Prefers a phone call",
              when=NOW + MINUTE)  # fmt: skip
    view = _next(world, "alex", NOW + 2 * MINUTE)
    assert view["incident"] == "INC-1"
    customer = view["customer"]
    assert customer["email"] == "margo@example.com"
    assert customer["name"] == "Margo Lane" and customer["pace"] == "slow"
    assert customer["tone"] == "warm" and customer["language"] == "fr"
    assert customer["time_zone"] == "Europe/Paris"
    assert customer["context"] == "Runs a bakery; likes step by step"
    texts = [e["text"] for e in customer["timeline"]]
    assert texts[:2] == ["Prefers a phone call", "Affected by INC-1: Bank sync failing"]
    assert len(customer["timeline"]) == 3  # and "Customer margo@example.com added"
    case = view["case"]
    assert case["state"] == "new"
    assert case["claimed_by"] == "alex" and case["claimed_at"] == z(NOW + 2 * MINUTE)
    assert case["concierge"] == "alex"  # an unassigned case goes to whoever takes it
    assert world.cases()["margo@example.com"]["claimed_by"] == "alex"

    # asking again: the same case until it progresses; meanwhile kim gets another customer
    assert _next(world, "alex", NOW + 5 * MINUTE)["case"]["id"] == case["id"]
    assert _next(world, "kim", NOW + 5 * MINUTE)["customer"]["email"] == "jim@example.com"
    assert _next(world, "alex", NOW + 6 * MINUTE)["case"]["id"] == case["id"]
    world.ocx("incident", "contact", "1", "margo@example.com", when=NOW + 7 * MINUTE)
    assert world.cases()["margo@example.com"]["claimed_by"] is None
    # kim still holds jim; margo is alex's again (contacted), nobody else is waiting
    after = _next(world, "alex", NOW + 8 * MINUTE)
    assert after["customer"]["email"] == "margo@example.com"
    assert after["case"]["state"] == "contacted"

    text = world.ocx("incident", "next", "1", "--concierge", "kim", when=NOW + 9 * MINUTE).stdout
    assert "INC-1 case" in text and "concierge kim" in text and "Jim Hollis" in text


def test_after_a_contact_next_moves_on_to_a_customer_not_yet_contacted(world: World) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--all")
    seen = []
    for step in range(4):
        when = NOW + step * 10 * MINUTE
        view = _next(world, "alex", when)
        seen.append(view["customer"]["email"])
        assert view["case"]["state"] == "new"
        world.ocx("incident", "contact", "1", seen[-1], when=when + MINUTE)
    assert seen == ["margo@example.com", "jim@example.com", "judy@example.com",
                    "alecia@example.com"]  # fmt: skip
    # everyone contacted: the longest waiting again
    assert _next(world, "alex", NOW + HOUR)["customer"]["email"] == "margo@example.com"


def test_a_claim_left_alone_for_half_an_hour_can_be_taken(world: World) -> None:
    world.new("Bank sync failing")
    world.fanout("INC-1", "--customers", _file(world, "jim@example.com"))
    assert _next(world, "alex", NOW)["customer"]["email"] == "jim@example.com"
    assert _next(world, "kim", NOW + 29 * MINUTE) is None
    assert world.ocx("incident", "next", "1", "--concierge", "kim",
                     when=NOW + 29 * MINUTE).stderr.strip() == "no open case waiting"  # fmt: skip
    assert _next(world, "kim", NOW + 31 * MINUTE)["case"]["claimed_by"] == "kim"


def test_next_with_an_unknown_concierge_or_nothing_left(
    world: World, dump: Dump, assert_error: AssertError
) -> None:
    world.new()
    world.fanout("INC-1", "--tag", "hdfc")
    before = dump(world.db)
    line = assert_error(world.run("incident", "next", "1", "--concierge", "zed", env=at(NOW)))
    assert "no team member 'zed'" in line
    assert dump(world.db) == before
    # the default concierge is config `user`
    assert _next(world, "tester", NOW)["case"]["claimed_by"] == "tester"
    world.ocx("incident", "resolve", "1")
    assert world.ocx("incident", "next", "1", "--json").stdout.strip() == "null"


def test_two_processes_asking_at_once_never_get_the_same_case(world: World) -> None:
    early = NOW - DAY
    for n in range(14):
        world.ocx("customer", "add", f"c{n:02d}@example.com", "--tag", "wave", when=early)
    world.new("Bank sync failing")
    world.fanout("INC-1", "--tag", "wave")

    def both(when: datetime) -> list[dict[str, Any]]:
        environment = {**os.environ, **at(when)}
        command = [sys.executable, "-m", "ocx", "--db", str(world.db), "incident", "next", "1"]
        processes = [
            subprocess.Popen(
                [*command, "--concierge", concierge, "--json"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for concierge in ("alex", "kim")
        ]
        views = []
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert "Traceback" not in err
            views.append(json.loads(out))
        return views

    handed: list[int] = []
    for round_ in range(6):
        when = NOW + round_ * 10 * MINUTE
        alex, kim = both(when)
        assert alex is not None and kim is not None
        assert alex["case"]["id"] != kim["case"]["id"]
        assert alex["case"]["claimed_by"] == "alex" and kim["case"]["claimed_by"] == "kim"
        # asked again together: each gets their own case back
        again = both(when + MINUTE)
        assert [v["case"]["id"] for v in again] == [alex["case"]["id"], kim["case"]["id"]]
        handed += [alex["case"]["id"], kim["case"]["id"]]
        for view in (alex, kim):
            world.ocx("incident", "contact", "1", view["customer"]["email"], when=when + 2 * MINUTE)
    assert len(handed) == len(set(handed)) == 12
    claims = world.rows(world.db, "SELECT concierge, count(*) AS n FROM cases "
                        "WHERE concierge IS NOT NULL GROUP BY concierge ORDER BY concierge")  # fmt: skip
    assert claims == [{"concierge": "alex", "n": 6}, {"concierge": "kim", "n": 6}]


# --- nothing stale: resolving stops what has not gone out --------------------------------------


def _outbox_json(world: World, when: datetime = NOW) -> list[dict[str, Any]]:
    return json.loads(world.ocx("outbox", "list", "--json", when=when).stdout)


def _promises(world: World, *options: str, when: datetime = NOW) -> list[dict[str, Any]]:
    return json.loads(world.ocx("promise", "list", *options, "--json", when=when).stdout)


def test_resolving_the_incident_makes_held_and_retrying_updates_obsolete(
    world: World, smtp_server: Any, http_server: Any
) -> None:
    hook = http_server(statuses=(500,))
    world.configure(_channels(smtp_server.port, hook.url))
    os.environ["HOOK_SECRET"] = SECRET
    world.ocx("customer", "edit", "judy@example.com", "--channel", "hook", when=NOW - DAY)
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    # jim is in quiet hours (held), judy's webhook answers 500 (waiting for a retry)
    world.fanout("INC-1", "--tag", "hdfc", "--customers", _file(world, "judy@example.com"))
    world.ocx("incident", "update", "1", "--message", "Still failing; next update by {{ next_update }}",
              "--next-update", "2h")  # fmt: skip
    assert world.run("due", "--notify", env=at(NOW)).exit_code == 3  # judy's hook failed
    states = {m["recipient"]: m["state"] for m in _outbox_json(world)}
    assert states == {"margo@example.com": "sent", "jim@example.com": "pending",
                      "judy@example.com": "pending"}  # fmt: skip
    world.ocx("incident", "resolve", "INC-1", when=NOW + 10 * MINUTE)
    states = {m["recipient"]: m["state"] for m in _outbox_json(world, NOW + 10 * MINUTE)}
    assert states == {"margo@example.com": "sent", "jim@example.com": "obsolete",
                      "judy@example.com": "obsolete"}  # fmt: skip
    hook_calls = len(hook.requests)
    notify(world, NOW + 3 * HOUR)  # jim's quiet hours are over; judy's retry is due
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["margo@example.com"]
    assert len(hook.requests) == hook_calls
    next_update = [p for p in _promises(world, "--all", when=NOW + 3 * HOUR)
                   if p["text"].startswith("Post the next update")]  # fmt: skip
    assert [p["state"] for p in next_update] == ["done"]


def test_resolving_one_case_stops_only_that_customers_update_and_the_last_closes_the_promise(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.ocx("customer", "edit", "margo@example.com", "--quiet-hours", "08:00-12:00",
              when=NOW - DAY)  # fmt: skip
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc")  # margo and jim: both held
    world.ocx("incident", "update", "1", "--message", "Hi", "--next-update", "4h")
    world.ocx("incident", "resolve", "1", "--customer", "jim@example.com")
    states = {m["recipient"]: m["state"] for m in _outbox_json(world)}
    assert states == {"margo@example.com": "pending", "jim@example.com": "obsolete"}
    assert world.show("INC-1")["next_update_due"] is not None  # margo still waits for news
    world.ocx("incident", "resolve", "1", "--customer", "margo@example.com")
    assert {m["state"] for m in _outbox_json(world)} == {"obsolete"}
    shown = world.show("INC-1")
    assert shown["status"] == "open" and shown["next_update_due"] is None
    assert (shown["messages_stopped"], shown["messages_replaced"]) == (2, 0)
    notify(world, NOW + 5 * HOUR)
    assert smtp_server.messages == []


def test_resolve_with_a_message_tells_each_customer_resolved_here(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc", "--customers", _file(world, "judy@example.com"))
    world.ocx("incident", "resolve", "1", "--customer", "judy@example.com", "--message",
              "Fixed for you, {{ customer.first_name }}.")  # fmt: skip
    result = world.run("incident", "resolve", "1", "--json", "--message",
                       "{{ customer.first_name }}: {{ incident.id }} is fixed.",
                       env=at(NOW + MINUTE))  # fmt: skip
    assert result.exit_code == 0, result.output
    # margo is told now, jim (quiet hours in New York) when his night ends; judy not twice
    assert json.loads(result.stdout) == {"resolved": 2, "queued": 2, "held": 1, "calls": 0,
                                         "checks": 2}  # fmt: skip
    notify(world, NOW + MINUTE)
    notify(world, NOW + 2 * HOUR)
    bodies = {m.rcpt_tos[0]: m.message.get_content().strip() for m in smtp_server.messages}
    assert bodies == {"judy@example.com": "Fixed for you, Judy.",
                      "margo@example.com": "Margo: INC-1 is fixed.",
                      "jim@example.com": "Jim: INC-1 is fixed."}  # fmt: skip
    assert any(e["kind"] == "incident-resolved" and e["text"] == "Jim: INC-1 is fixed."
               for e in world.timeline("jim@example.com", NOW + 2 * HOUR))  # fmt: skip


def test_resolve_without_a_message_sends_nothing_and_a_bad_template_changes_nothing(
    world: World, smtp_server: Any, dump: Dump
) -> None:
    world.configure(_channels(smtp_server.port))
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc")
    before = dump(world.db)
    bad = world.run("incident", "resolve", "1", "--message", "{{ customer.name",
                    env=at(NOW))  # fmt: skip
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert dump(world.db) == before
    both = world.run("incident", "resolve", "1", "--message", "x", "--template", "f.j2")
    assert both.exit_code == 2
    world.ocx("incident", "resolve", "1")
    assert _outbox_json(world) == []


# --- a channel nobody can send to becomes a person's task ------------------------------------


def test_a_phone_customer_becomes_a_call_for_their_concierge_kept_by_contact(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.ocx("customer", "edit", "jim@example.com", "--channel", "phone", when=NOW - DAY)
    world.ocx("customer", "edit", "margo@example.com", "--channel", "in-person", when=NOW - DAY)
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc", "--concierge", "alex",
                 "--customers", _file(world, "judy@example.com"))  # fmt: skip
    result = world.run("incident", "update", "1", "--json", "--message",
                       "Hi {{ customer.first_name }}, still on it.", env=at(NOW))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"queued": 1, "held": 0, "calls": 2}
    assert [m["recipient"] for m in _outbox_json(world)] == ["judy@example.com"]
    calls = _promises(world, "--customer", "jim@example.com")
    assert [(c["text"], c["owner"]) for c in calls] == [
        ("Call Jim Hollis (phone): Hi Jim, still on it.", "alex")
    ]
    # jim is in quiet hours until 07:00 New York (12:00 UTC): the call is due then
    assert calls[0]["due_at"] == "2026-11-25T12:00:00Z"
    margo = _promises(world, "--customer", "margo@example.com")
    assert margo[0]["text"] == "Call Margo Lane (in-person): Hi Margo, still on it."
    assert margo[0]["due_at"] == z(NOW)
    due = json.loads(world.ocx("due", "--json", "--owner", "alex", when=NOW).stdout)
    assert [i["promise_id"] for i in due] == [margo[0]["id"]]
    world.ocx("incident", "contact", "1", "margo@example.com", "--note", "Visited her shop")
    assert _promises(world, "--customer", "margo@example.com") == []
    kept = [p for p in _promises(world, "--all") if p["id"] == margo[0]["id"]]
    assert kept[0]["state"] == "done"
    notify(world, NOW)
    assert [m.rcpt_tos[0] for m in smtp_server.messages] == ["judy@example.com"]  # no surprise mail


def test_a_call_without_a_concierge_goes_to_the_lead_and_resolve_closes_it(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.ocx("customer", "edit", "judy@example.com", "--channel", "phone", when=NOW - DAY)
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--customers", _file(world, "judy@example.com"))
    world.ocx("incident", "update", "1", "--message", "First news")
    world.ocx("incident", "update", "1", "--message", "Second news", when=NOW + MINUTE)
    calls = _promises(world, "--customer", "judy@example.com", when=NOW + MINUTE)
    assert [(c["text"], c["owner"]) for c in calls] == [
        ("Call Judy Park (phone): Second news", "sam")
    ]  # one call, with the latest news
    world.ocx("incident", "resolve", "1", "--message", "It is fixed", when=NOW + 2 * MINUTE)
    calls = _promises(world, "--customer", "judy@example.com", when=NOW + 2 * MINUTE)
    assert [c["text"] for c in calls] == [
        "Call Judy Park (phone): It is fixed",
        "Check with Judy Park that it is fixed",
    ]  # the old one closed; the check that it is fixed is not a call
    world.ocx("incident", "contact", "1", "judy@example.com", when=NOW + 3 * MINUTE)
    left = _promises(world, "--customer", "judy@example.com", when=NOW + 3 * MINUTE)
    assert [c["text"] for c in left] == ["Check with Judy Park that it is fixed"]
    again = world.run("incident", "contact", "1", "judy@example.com", env=at(NOW + 4 * MINUTE))
    assert again.exit_code == 1 and "already resolved" in again.stderr


def test_an_update_sent_through_the_fallback_replaces_an_open_call(
    world: World, smtp_server: Any
) -> None:
    world.configure(_channels(smtp_server.port))
    world.ocx("customer", "edit", "judy@example.com", "--channel", "phone", when=NOW - DAY)
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--customers", _file(world, "judy@example.com"))
    world.ocx("incident", "update", "1", "--message", "First news")
    world.ocx("incident", "update", "1", "--message", "Second news", "--fallback", "email",
              when=NOW + MINUTE)  # fmt: skip
    assert _promises(world, "--customer", "judy@example.com", when=NOW + MINUTE) == []
    assert [m["body"] for m in world.outbox()] == ["Second news"]


def test_fallback_sends_through_the_channel_when_the_customer_has_its_address(
    world: World, smtp_server: Any, tmp_path: Path
) -> None:
    sms_log = tmp_path / "sms.jsonl"
    sink = [sys.executable, "-c",
            f"import sys; open({str(sms_log)!r}, 'a').write(sys.stdin.read() + '\\n')"]  # fmt: skip
    world.configure(_channels(smtp_server.port)
                    + f'\n[channels.sms]\ntype = "command"\naddress = "phone"\nargv = {json.dumps(sink)}\n')  # fmt: skip
    world.ocx("customer", "edit", "jim@example.com", "--channel", "phone", "--phone",
              "+1 555 0100", when=NOW - DAY)  # fmt: skip
    world.ocx("customer", "edit", "judy@example.com", "--channel", "phone", when=NOW - DAY)
    world.new("Bank sync failing", "--severity", "1", "--lead", "sam")
    world.fanout("INC-1", "--tag", "hdfc", "--customers", _file(world, "judy@example.com"))
    result = world.run("incident", "update", "1", "--fallback", "sms", "--json",
                       "--message", "Hi {{ customer.first_name }}", env=at(NOW))  # fmt: skip
    assert json.loads(result.stdout) == {"queued": 2, "held": 0, "calls": 1}
    by_customer = {m["recipient"]: m["channel"] for m in _outbox_json(world)}
    assert by_customer == {"margo@example.com": "email", "+1 555 0100": "sms"}
    assert [c["text"] for c in _promises(world, "--customer", "judy@example.com")] == [
        "Call Judy Park (phone): Hi Judy"
    ]  # no phone number: a call instead
    notify(world, NOW)
    assert json.loads(sms_log.read_text().splitlines()[0])["body"] == "Hi Jim"
    unknown = world.run("incident", "update", "1", "--fallback", "pager", "--message", "x")
    assert unknown.exit_code == 1 and "[channels.pager]" in unknown.stderr


def test_an_update_renders_before_it_takes_the_write_lock(world: World) -> None:
    """A slow template (about 0.6 s a customer) must not lock out a short writer: rendering
    happens before the write lock is taken. template_timeout is raised well above that, so a
    slow machine does not stop the update."""
    world.configure()
    (world.home / "ocx.toml").write_text(
        (world.home / "ocx.toml").read_text("utf-8").replace('user = "tester"',
            'user = "tester"\nbusy_timeout = 0.5\ntemplate_timeout = 30'),
        encoding="utf-8",
    )  # fmt: skip
    world.new("Bank sync failing", "--severity", "2", "--lead", "sam")
    world.fanout("INC-1", "--all")
    slow = "{% for i in range(100000) %}{% for j in range(20) %}{% endfor %}{% endfor %}Hi"
    env = {**os.environ, "OCX_HOME": str(world.home), "OCX_NOW": z(NOW)}
    update = subprocess.Popen(
        [sys.executable, "-m", "ocx", "--db", str(world.db), "incident", "update", "1",
         "--message", slow], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(0.8)  # the update is rendering now
        note = world.run("customer", "note", "margo@example.com", "Called her", env=at(NOW))
        assert note.exit_code == 0, note.output
        assert update.poll() is None, "the update finished too soon to show anything"
    finally:
        _, err = update.communicate(timeout=60)
    assert update.returncode == 0, err
    assert len(world.outbox()) == 4
