"""`ocx due`: what needs action now, and `--notify`: a message per item and stage, delivered
once through the owner's channel, retried with backoff, given up on, sent to a fallback,
folded into digests; two runs at once still deliver each message once.

Channels are real: a `command` channel runs a small Python script that appends the message
JSON it gets on stdin to a JSONL file (or fails while a flag file exists); one test each
uses the SMTP and HTTP servers from conftest. The clock is moved with OCX_NOW."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, LoadJson, Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday; 11:00 in Paris
DUE = NOW + timedelta(hours=2)  # the promise most tests make: 12:00 UTC, 13:00 Paris
PARIS = ZoneInfo("Europe/Paris")
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

SINK = """\
import os, sys
out, down = sys.argv[1], sys.argv[2]
data = sys.stdin.read()
if os.path.exists(down):
    sys.stderr.write("the channel is down\\n")
    sys.exit(1)
with open(out, "a", encoding="utf-8") as handle:
    handle.write(data.replace("\\n", " ") + "\\n")
"""


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def toml(value: Any) -> str:
    """A TOML value: JSON strings and arrays of strings are valid TOML."""
    return json.dumps(value)


@dataclass
class Sink:
    """A `command` channel: every message it gets is one line of JSON in `path`; while
    `down()` is in force it exits 1 and writes nothing."""

    script: Path
    path: Path
    flag: Path

    def table(self, name: str, extra: str = "") -> str:
        argv = [sys.executable, str(self.script), str(self.path), str(self.flag)]
        return f'\n[channels.{name}]\ntype = "command"\nargv = {toml(argv)}\n{extra}\n'

    def messages(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines()]

    def down(self) -> None:
        self.flag.touch()

    def up(self) -> None:
        self.flag.unlink(missing_ok=True)


@dataclass
class World:
    db: Path
    home: Path
    log: Sink
    make_sink: Callable[[str], Sink]

    def configure(self, top: str = "", tables: str = "", *, log_extra: str = "") -> None:
        """ocx.toml: user tester, zone Europe/Paris, `top` keys, [channels.log] (with
        `log_extra` keys) and `tables`."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "ocx.toml").write_text(
            f'user = "tester"\ntimezone = "Europe/Paris"\n{top}\n'
            + self.log.table("log", log_extra)
            + tables,
            encoding="utf-8",
        )


@pytest.fixture
def world(run: Run, initialized: Path, env: Path, tmp_path: Path) -> World:
    """Customers Margo Lane and Jim Hollis; team: tester (config user, no channel), alex
    (channel log) and sam (the lead, channel log); times shown in Europe/Paris."""
    script = tmp_path / "sink.py"
    script.write_text(SINK, encoding="utf-8")

    def make_sink(name: str) -> Sink:
        return Sink(script, tmp_path / f"{name}.jsonl", tmp_path / f"{name}.down")

    w = World(initialized, env, make_sink("log"), make_sink)
    w.configure()
    early = at(NOW - 30 * DAY)
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane", env=early))
    ok(run("customer", "add", "jim@example.com", "--name", "Jim Hollis", env=early))
    ok(run("team", "add", "tester", env=early))
    ok(run("team", "add", "alex", "--email", "alex@acme.example", "--channel", "log", env=early))
    ok(run("team", "add", "sam", "--email", "sam@acme.example", "--channel", "log", "--lead",
           env=early))  # fmt: skip
    return w


def promise(run: Run, ref: str, text: str, due: datetime, owner: str = "alex",
            now: datetime = NOW) -> int:  # fmt: skip
    result = ok(run("promise", "add", ref, text, "--due", z(due), "--owner", owner, env=at(now)))
    return int(result.stdout.split()[0])


def notify(run: Run, now: datetime, *options: str) -> Result:
    return run("due", "--notify", *options, env=at(now))


def outbox(run: Run, load_json: LoadJson, *options: str) -> list[dict[str, Any]]:
    return load_json(run("outbox", "list", *options, "--json"))


# --- ocx due: the listing ------------------------------------------------------------------


@pytest.fixture
def mixed(run: Run, world: World) -> dict[str, int]:
    """Seen at NOW: overdue (Jim, 09:00 UTC, alex), soon (Margo, 10:45, tester), edge (Margo,
    10:59, alex) and later (Jim, 11:01), done (09:30, kept), snoozed (09:30 until 14:00), and a
    daily cadence for Jim (owner alex) set two days ago: its first contact a day overdue."""
    before = NOW - DAY
    ids = {
        "overdue": promise(run, "jim@example.com", "overdue", NOW - HOUR, now=before),
        "soon": promise(run, "margo@example.com", "soon", NOW + 45 * MINUTE, "tester", now=before),
        "edge": promise(run, "margo@example.com", "edge", NOW + 59 * MINUTE, now=before),
        "later": promise(run, "jim@example.com", "later", NOW + 61 * MINUTE, now=before),
        "done": promise(run, "jim@example.com", "done", NOW - 30 * MINUTE, now=before),
        "snoozed": promise(run, "margo@example.com", "snoozed", NOW - 30 * MINUTE, now=before),
    }
    ok(run("promise", "done", str(ids["done"]), env=at(NOW - HOUR)))
    ok(run("promise", "snooze", str(ids["snoozed"]), "--until", z(NOW + 4 * HOUR),
           env=at(NOW - 2 * HOUR)))  # fmt: skip
    ok(run("cadence", "set", "jim@example.com", "daily", "--owner", "alex",
           env=at(NOW - 2 * DAY)))  # fmt: skip
    return ids


def test_due_lists_overdue_soon_and_cadence_items_soonest_first(
    run: Run, mixed: dict[str, int], load_json: LoadJson
) -> None:
    items = load_json(run("due", "--json", env=at(NOW)))
    assert [(i["kind"], i.get("promise_id")) for i in items] == [
        ("cadence", None), ("promise", mixed["overdue"]), ("promise", mixed["soon"]),
        ("promise", mixed["edge"]),
    ]  # fmt: skip
    cadence, overdue, soon, edge = items
    assert cadence == {**cadence, "customer": "jim@example.com", "owner": "alex",
                       "due_at": z(NOW - DAY), "late_seconds": 86400}  # fmt: skip
    assert overdue == {**overdue, "customer": "jim@example.com", "owner": "alex",
                       "due_at": z(NOW - HOUR), "late_seconds": 3600, "stage": "overdue"}  # fmt: skip
    assert soon == {**soon, "customer": "margo@example.com", "owner": "tester",
                    "due_at": z(NOW + 45 * MINUTE), "late_seconds": -45 * 60,
                    "stage": "reminder"}  # fmt: skip
    assert edge["due_at"] == z(NOW + 59 * MINUTE)


def test_due_within_widens_the_window(
    run: Run, mixed: dict[str, int], load_json: LoadJson, assert_error: AssertError
) -> None:
    def promise_ids(*options: str) -> set[int]:
        found = load_json(run("due", *options, "--json", env=at(NOW)))
        return {i["promise_id"] for i in found if i["kind"] == "promise"}

    assert promise_ids("--within", "2h") == {mixed[k] for k in ("overdue", "soon", "edge",
                                                                 "later")}  # fmt: skip
    assert promise_ids("--within", "10m") == {mixed["overdue"]}
    # the snoozed one is due when the snooze ends, not at its original time
    assert mixed["snoozed"] in promise_ids("--within", "5h")
    assert "cannot read duration" in assert_error(run("due", "--within", "soon", env=at(NOW)))


def test_due_owner_filter(run: Run, mixed: dict[str, int], load_json: LoadJson) -> None:
    mine = load_json(run("due", "--owner", "alex", "--json", env=at(NOW)))
    assert {(i["kind"], i["owner"]) for i in mine} == {("cadence", "alex"), ("promise", "alex")}
    assert {i["promise_id"] for i in mine} - {None} == {mixed["overdue"], mixed["edge"]}
    theirs = load_json(run("due", "--owner", "tester", "--json", env=at(NOW)))
    assert [i["promise_id"] for i in theirs] == [mixed["soon"]]
    assert ok(run("due", "--owner", "sam", env=at(NOW))).stdout == ""


def test_due_table_shows_customer_owner_local_due_and_lateness(
    run: Run, mixed: dict[str, int]
) -> None:
    result = ok(run("due", env={**at(NOW), "COLUMNS": "250"}))
    out = result.stdout
    for text in ("Jim Hollis", "Margo Lane", "alex", "tester",
                 "2026-11-25 10:00",  # 09:00 UTC overdue, shown in Paris
                 "2026-11-25 11:45",  # 10:45 UTC
                 "1h late", "due in 45m", "1d late"):  # fmt: skip
        assert text in out, (text, out)
    assert "later" not in out


def test_due_is_silent_when_nothing_is_due(run: Run, world: World) -> None:
    for now in (NOW, NOW + DAY):
        for options in ((), ("--notify",)):
            result = ok(run("due", *options, env=at(now)))
            assert result.stdout == "" and result.stderr == ""
    promise(run, "margo@example.com", "far", NOW + 3 * HOUR)
    ok(run("cadence", "set", "jim@example.com", "weekly", "--owner", "alex", env=at(NOW)))
    for options in ((), ("--notify",)):
        result = ok(run("due", *options, env=at(NOW + HOUR)))
        assert result.stdout == "" and result.stderr == ""
    assert world.log.messages() == []


# --- --notify: stages, once each ------------------------------------------------------------


def test_reminder_then_overdue_then_escalation_each_sent_once(
    run: Run, world: World, load_json: LoadJson
) -> None:
    pid = promise(run, "margo@example.com", "Send the fix ETA", DUE)
    assert ok(notify(run, NOW)).stdout == ""
    assert world.log.messages() == []

    result = ok(notify(run, DUE - 30 * MINUTE))
    assert "sent" in result.stdout
    (reminder,) = world.log.messages()
    assert reminder["kind"] == "reminder" and reminder["recipient"] == "alex"
    assert "Margo Lane" in reminder["subject"] and "13:00" in reminder["subject"]  # Paris
    assert "Send the fix ETA" in reminder["body"]
    assert reminder["payload"]["promise_id"] == pid

    for moment in (DUE - 30 * MINUTE, DUE - 10 * MINUTE, DUE - MINUTE):
        again = ok(notify(run, moment))
        assert again.stdout == "" and again.stderr == ""  # nothing new: cron mails nothing
    assert len(world.log.messages()) == 1

    ok(notify(run, DUE))
    messages = world.log.messages()
    assert [m["kind"] for m in messages] == ["reminder", "overdue"]
    assert messages[1]["recipient"] == "alex"

    for moment in (DUE, DUE + HOUR, DUE + 4 * HOUR - MINUTE):
        ok(notify(run, moment))
    assert len(world.log.messages()) == 2

    ok(notify(run, DUE + 4 * HOUR))  # escalate_after defaults to 4h
    messages = world.log.messages()
    assert [m["kind"] for m in messages] == ["reminder", "overdue", "escalation"]
    escalation = messages[2]
    assert escalation["recipient"] == "sam"  # the lead
    assert "alex" in escalation["subject"] + escalation["body"]

    for moment in (DUE + 4 * HOUR, DUE + 5 * HOUR, DUE + 3 * DAY):
        ok(notify(run, moment))
    messages = world.log.messages()
    assert len(messages) == 3
    assert len({m["key"] for m in messages}) == 3
    assert {m["state"] for m in outbox(run, load_json)} == {"sent"}


def test_escalate_after_is_read_from_the_config(run: Run, world: World) -> None:
    world.configure('escalate_after = "2h"')
    promise(run, "margo@example.com", "Call back", DUE)
    ok(notify(run, DUE + MINUTE))
    ok(notify(run, DUE + 2 * HOUR - MINUTE))
    assert [m["kind"] for m in world.log.messages()] == ["overdue"]
    ok(notify(run, DUE + 2 * HOUR))
    assert [(m["kind"], m["recipient"]) for m in world.log.messages()] == [
        ("overdue", "alex"), ("escalation", "sam"),
    ]  # fmt: skip


def test_a_first_run_long_after_the_due_time_sends_overdue_and_escalation_only(
    run: Run, world: World
) -> None:
    promise(run, "margo@example.com", "Call back", DUE)
    ok(notify(run, DUE + 5 * HOUR))
    assert sorted((m["kind"], m["recipient"]) for m in world.log.messages()) == [
        ("escalation", "sam"), ("overdue", "alex"),
    ]  # fmt: skip


def test_an_escalation_without_a_lead_is_reported_every_run_until_there_is_one(
    run: Run, world: World
) -> None:
    ok(run("team", "edit", "sam", "--no-lead"))
    pid = promise(run, "margo@example.com", "Call back", DUE)
    for minutes in (0, 5):
        result = notify(run, DUE + 5 * HOUR + minutes * MINUTE)
        assert result.exit_code == 3, result.output
        problems = [line for line in result.stderr.splitlines() if f"promise {pid}" in line]
        assert len(problems) == 1 and "team lead" in problems[0], result.stderr
        assert "Traceback" not in result.output
    assert [m["kind"] for m in world.log.messages()] == ["overdue"]
    ok(run("team", "edit", "sam", "--lead"))
    ok(notify(run, DUE + 5 * HOUR + 10 * MINUTE))
    assert [m["kind"] for m in world.log.messages()] == ["overdue", "escalation"]


def test_a_reminder_for_a_member_without_the_address_their_channel_needs_is_reported(
    run: Run, world: World, load_json: LoadJson
) -> None:
    world.configure(tables='\n[channels.ops-mail]\ntype = "email"\nhost = "127.0.0.1"\n'
                    'from = "ocx@acme.example"\n')  # fmt: skip
    ok(run("team", "add", "kim", "--channel", "ops-mail"))
    pid = promise(run, "margo@example.com", "Call back", DUE, owner="kim")
    result = notify(run, DUE - 30 * MINUTE)
    assert result.exit_code == 3
    line = next(x for x in result.stderr.splitlines() if f"promise {pid}" in x)
    assert "kim" in line and "--email" in line
    assert outbox(run, load_json) == []  # nothing queued to a bare handle
    assert notify(run, DUE - 25 * MINUTE).exit_code == 3  # every run, until it is fixed
    ok(run("promise", "done", str(pid), env=at(DUE - 20 * MINUTE)))
    assert notify(run, DUE - 15 * MINUTE).exit_code == 0


def test_a_digest_for_a_member_without_an_address_is_reported_in_json_too(
    run: Run, world: World
) -> None:
    world.configure(tables='\n[channels.ops-mail]\ntype = "email"\nhost = "127.0.0.1"\n'
                    'from = "ocx@acme.example"\n')  # fmt: skip
    ok(run("team", "add", "lee", "--digest", "--channel", "ops-mail"))
    first = promise(run, "margo@example.com", "Call back", DUE, owner="lee")
    second = promise(run, "jim@example.com", "Send the fix", DUE, owner="lee")
    result = notify(run, DUE - 30 * MINUTE, "--json")
    assert result.exit_code == 3
    problems = json.loads(result.stdout)["undeliverable"]
    assert [p.split(":")[0] for p in problems] == [f"promise {first}", f"promise {second}"]
    assert all("lee" in p for p in problems)


def test_a_snooze_after_a_reminder_brings_a_new_reminder_for_the_new_time(
    run: Run, world: World
) -> None:
    pid = promise(run, "margo@example.com", "Call back", DUE)
    ok(notify(run, DUE - 30 * MINUTE))
    new_due = DUE + 3 * HOUR
    ok(run("promise", "snooze", str(pid), "--until", z(new_due), env=at(DUE - 20 * MINUTE)))
    ok(notify(run, DUE + MINUTE))  # the original time passes: not overdue, it was snoozed
    assert [m["kind"] for m in world.log.messages()] == ["reminder"]
    ok(notify(run, new_due - 30 * MINUTE))
    messages = world.log.messages()
    assert [m["kind"] for m in messages] == ["reminder", "reminder"]
    assert messages[0]["key"] != messages[1]["key"]
    assert z(new_due) in json.dumps(messages[1]["payload"])


def test_the_owners_other_promises_and_customers_each_get_their_own_message(
    run: Run, world: World
) -> None:
    promise(run, "margo@example.com", "One", DUE)
    promise(run, "margo@example.com", "Two", DUE)
    promise(run, "jim@example.com", "Three", DUE + 10 * MINUTE)
    ok(notify(run, DUE - 30 * MINUTE))
    messages = world.log.messages()
    assert sorted(m["body"].split(": ", 1)[1].split("\n")[0] for m in messages) == [
        "One", "Three", "Two",
    ]  # fmt: skip
    assert len({m["key"] for m in messages}) == 3


def test_a_member_without_a_channel_is_told_on_the_console(run: Run, world: World) -> None:
    promise(run, "margo@example.com", "Call back", DUE, owner="tester")
    result = ok(notify(run, DUE - 30 * MINUTE))
    assert "Subject: Reminder" in result.stdout and "Call back" in result.stdout
    assert world.log.messages() == []
    assert ok(notify(run, DUE - 20 * MINUTE)).stdout == ""  # not printed twice


def test_with_json_a_console_delivery_prints_on_stderr_and_stdout_stays_json(
    run: Run, world: World
) -> None:
    promise(run, "margo@example.com", "Call back", DUE, owner="tester")
    result = ok(notify(run, DUE - 30 * MINUTE, "--json"))
    report = json.loads(result.stdout)
    assert [d["recipient"] for d in report["delivered"]] == ["tester"]
    assert "Subject: Reminder" in result.stderr


# --- obsolete reminders ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "handle",
    [
        ("done",),
        ("cancel", "--reason", "Customer called first"),
        ("snooze", "--until", z(DUE + 6 * HOUR)),
    ],
)
def test_a_waiting_reminder_for_a_handled_promise_is_never_sent(
    run: Run, world: World, load_json: LoadJson, handle: tuple[str, ...]
) -> None:
    pid = promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    failed = notify(run, DUE - 30 * MINUTE)
    assert failed.exit_code == 3, failed.output
    (waiting,) = outbox(run, load_json, "--failed")
    assert waiting["kind"] == "reminder" and waiting["state"] == "pending"

    ok(run("promise", handle[0], str(pid), *handle[1:], env=at(DUE - 25 * MINUTE)))
    world.log.up()
    for moment in (DUE - 20 * MINUTE, DUE - 5 * MINUTE):  # past the 1-minute backoff
        ok(notify(run, moment))
    assert world.log.messages() == []
    (message,) = [m for m in outbox(run, load_json) if m["id"] == waiting["id"]]
    assert message["state"] == "obsolete"
    assert outbox(run, load_json, "--failed") == []
    if handle[0] != "snooze":  # nothing more about it, ever
        for moment in (DUE, DUE + 5 * HOUR):
            ok(notify(run, moment))
        assert world.log.messages() == []


def test_outbox_retry_does_not_send_an_obsolete_reminder(
    run: Run, world: World, load_json: LoadJson
) -> None:
    pid = promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    assert notify(run, DUE - 30 * MINUTE).exit_code == 3
    (waiting,) = outbox(run, load_json, "--failed")
    ok(run("promise", "done", str(pid), env=at(DUE - 29 * MINUTE)))
    world.log.up()
    ok(run("outbox", "retry", str(waiting["id"]), env=at(DUE - 29 * MINUTE)))
    ok(run("outbox", "retry", env=at(DUE - 29 * MINUTE)))
    ok(notify(run, DUE))
    assert world.log.messages() == []


# --- failed deliveries: exit 3, backoff, giving up, fallback, retry --------------------------


def _next_attempt(run: Run, load_json: LoadJson) -> tuple[int, str]:
    (message,) = outbox(run, load_json, "--failed")
    return message["attempts"], message["next_attempt_at"]


def test_a_failed_delivery_exits_3_says_so_and_is_retried_with_backoff(
    run: Run, world: World, load_json: LoadJson
) -> None:
    promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    start = DUE - 40 * MINUTE
    result = notify(run, start)
    assert result.exit_code == 3, result.output
    assert "fail" in result.stderr and "the channel is down" in result.stderr
    assert _next_attempt(run, load_json) == (1, z(start + MINUTE))

    early = notify(run, start + 59 * timedelta(seconds=1))  # not before a minute
    assert early.exit_code == 0 and early.stderr == ""
    assert _next_attempt(run, load_json) == (1, z(start + MINUTE))

    moment = start + MINUTE
    assert notify(run, moment).exit_code == 3
    assert _next_attempt(run, load_json) == (2, z(moment + 2 * MINUTE))
    assert notify(run, moment + 2 * MINUTE - timedelta(seconds=1)).exit_code == 0
    moment += 2 * MINUTE
    assert notify(run, moment).exit_code == 3
    assert _next_attempt(run, load_json) == (3, z(moment + 4 * MINUTE))

    world.log.up()
    moment += 4 * MINUTE
    result = ok(notify(run, moment))
    assert "sent" in result.stdout
    (message,) = world.log.messages()
    assert message["kind"] == "reminder"
    assert outbox(run, load_json, "--failed") == []
    (stored,) = outbox(run, load_json)
    assert stored["state"] == "sent" and stored["attempts"] == 4
    for later in (moment, moment + 10 * MINUTE):
        ok(notify(run, later))
    assert len(world.log.messages()) == 1


def test_backoff_doubles_up_to_an_hour(run: Run, world: World, load_json: LoadJson) -> None:
    world.configure("max_attempts = 12")
    promise(run, "margo@example.com", "Call back", NOW + 2 * DAY)
    world.log.down()
    moment = NOW
    waits = []
    for attempt in range(1, 10):
        assert notify(run, moment, "--within", "3d").exit_code == 3
        attempts, next_at = _next_attempt(run, load_json)
        assert attempts == attempt
        following = datetime.fromisoformat(next_at.replace("Z", "+00:00"))
        waits.append(int((following - moment).total_seconds() // 60))
        moment = following
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_max_attempts_then_the_fallback_channel_gets_it_once(
    run: Run, world: World, load_json: LoadJson
) -> None:
    backup = world.make_sink("backup")
    world.configure("max_attempts = 2", backup.table("backup"), log_extra='fallback = "backup"')
    promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    start = DUE - 40 * MINUTE
    assert notify(run, start).exit_code == 3
    assert backup.messages() == []
    gave_up = notify(run, start + MINUTE)
    assert gave_up.exit_code == 3
    assert "gave up" in gave_up.stderr or "give up" in gave_up.stderr
    for moment in (start + MINUTE, start + 2 * MINUTE, start + 30 * MINUTE):  # before DUE
        notify(run, moment)
    (fallen_back,) = backup.messages()
    assert fallen_back["kind"] == "reminder"
    assert "Call back" in fallen_back["body"]
    assert world.log.messages() == []
    dead = [m for m in outbox(run, load_json, "--failed") if m["channel"] == "log"]
    assert [(m["state"], m["attempts"]) for m in dead] == [("dead", 2)]
    world.log.up()  # the given-up reminder stays given up: no late duplicate on `log`
    for moment in (start + 2 * DAY, start + 3 * DAY):
        ok(notify(run, moment))
    assert sorted(m["kind"] for m in world.log.messages()) == ["escalation", "overdue"]
    assert len(backup.messages()) == 1


def test_without_a_fallback_a_message_is_given_up_after_max_attempts(
    run: Run, world: World, load_json: LoadJson
) -> None:
    world.configure("max_attempts = 2")
    promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    start = DUE - 40 * MINUTE
    assert notify(run, start).exit_code == 3
    assert notify(run, start + MINUTE).exit_code == 3
    quiet = notify(run, start + 10 * MINUTE)  # nothing left to try
    assert quiet.exit_code == 0 and quiet.stderr == ""
    (dead,) = outbox(run, load_json, "--failed")
    assert dead["state"] == "dead" and dead["attempts"] == 2


def test_outbox_retry_delivers_a_failed_message_now_and_only_once(
    run: Run, world: World, load_json: LoadJson, assert_error: AssertError
) -> None:
    promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    start = DUE - 40 * MINUTE
    assert notify(run, start).exit_code == 3
    (failed,) = outbox(run, load_json, "--failed")
    world.log.up()
    ok(run("outbox", "retry", str(failed["id"]), env=at(start + timedelta(seconds=5))))
    assert len(world.log.messages()) == 1  # delivered before its backoff ran out
    for moment in (start + 2 * MINUTE, start + 10 * MINUTE):
        ok(notify(run, moment))
    assert len(world.log.messages()) == 1
    assert "not failed" in assert_error(run("outbox", "retry", str(failed["id"]),
                                            env=at(start + 11 * MINUTE)))  # fmt: skip
    assert "999" in assert_error(run("outbox", "retry", "999"))


def test_outbox_retry_without_an_id_retries_every_failed_message(
    run: Run, world: World, load_json: LoadJson
) -> None:
    world.configure("max_attempts = 1")
    promise(run, "margo@example.com", "One", DUE)
    promise(run, "jim@example.com", "Two", DUE)
    world.log.down()
    assert notify(run, DUE - 40 * MINUTE).exit_code == 3
    assert {m["state"] for m in outbox(run, load_json, "--failed")} == {"dead"}  # gave up
    world.log.up()
    ok(run("outbox", "retry", env=at(DUE - 39 * MINUTE)))
    assert len(world.log.messages()) == 2
    assert outbox(run, load_json, "--failed") == []


def test_a_retry_that_fails_again_exits_3(run: Run, world: World, load_json: LoadJson) -> None:
    promise(run, "margo@example.com", "Call back", DUE)
    world.log.down()
    assert notify(run, DUE - 40 * MINUTE).exit_code == 3
    (failed,) = outbox(run, load_json, "--failed")
    result = run("outbox", "retry", str(failed["id"]), env=at(DUE - 39 * MINUTE))
    assert result.exit_code == 3 and "fail" in result.stderr


def test_an_unconfigured_channel_is_reported_naming_it_and_nothing_is_queued(
    run: Run, world: World, load_json: LoadJson
) -> None:
    ok(run("team", "edit", "alex", "--channel", "pager"))
    pid = promise(run, "margo@example.com", "Call back", DUE)
    result = notify(run, DUE - 30 * MINUTE)
    assert result.exit_code == 3
    assert f"promise {pid}" in result.stderr and "[channels.pager]" in result.stderr
    assert "Traceback" not in result.output
    assert outbox(run, load_json) == []
    world.configure(tables=world.log.table("pager"))
    ok(notify(run, DUE - 25 * MINUTE))
    assert [m["kind"] for m in world.log.messages()] == ["reminder"]


# --- digests ---------------------------------------------------------------------------------


def test_a_digest_member_gets_one_message_per_run_listing_all_items(
    run: Run, world: World, load_json: LoadJson
) -> None:
    ok(run("team", "edit", "alex", "--digest"))
    texts = ["Send the invoice", "Call back", "Ship the export"]
    for index, text in enumerate(texts):
        promise(run, "margo@example.com" if index else "jim@example.com", text,
                DUE + index * 5 * MINUTE)  # fmt: skip
    ok(run("cadence", "set", "jim@example.com", "daily", "--owner", "alex", env=at(NOW)))
    ok(notify(run, DUE - 20 * MINUTE))  # three reminders, the cadence not due yet
    (digest,) = world.log.messages()
    assert digest["recipient"] == "alex" and digest["kind"] == "digest"
    for text in texts:
        assert text in digest["body"]
    ok(notify(run, DUE - 10 * MINUTE))
    assert len(world.log.messages()) == 1

    ok(notify(run, NOW + DAY))  # three overdue and the cadence contact due: one message more
    messages = world.log.messages()
    alex = [m for m in messages if m["recipient"] == "alex"]
    assert len(alex) == 2 and alex[1]["kind"] == "digest"
    for text in [*texts, "Jim Hollis"]:
        assert text in alex[1]["subject"] + alex[1]["body"]
    # escalations go to the lead, who has no digest: one message each
    escalations = [m for m in messages if m["recipient"] == "sam"]
    assert len(escalations) == 3 and {m["kind"] for m in escalations} == {"escalation"}
    ok(notify(run, NOW + DAY + HOUR))
    assert len(world.log.messages()) == len(messages)


# --- cadences --------------------------------------------------------------------------------


def test_a_due_cadence_contact_is_notified_once_per_due_time(run: Run, world: World) -> None:
    ok(run("cadence", "set", "jim@example.com", "daily*1,weekly", "--owner", "alex",
           env=at(NOW)))  # fmt: skip
    ok(notify(run, NOW + DAY - MINUTE))
    assert world.log.messages() == []
    ok(notify(run, NOW + DAY))
    (first,) = world.log.messages()
    assert first["kind"] == "cadence" and first["recipient"] == "alex"
    assert "Jim Hollis" in first["subject"] + first["body"]
    ok(notify(run, NOW + 2 * DAY))  # still behind: not told again
    assert len(world.log.messages()) == 1
    called = NOW + 2 * DAY + HOUR
    ok(run("customer", "contact", "jim@example.com", "Called", "--outbound", env=at(called)))
    ok(notify(run, called + DAY - MINUTE))
    assert len(world.log.messages()) == 1
    ok(notify(run, called + DAY))
    assert [m["kind"] for m in world.log.messages()] == ["cadence", "cadence"]
    assert len({m["key"] for m in world.log.messages()}) == 2


# --- two runs at once ------------------------------------------------------------------------


def test_two_notify_runs_started_together_deliver_each_message_exactly_once(
    run: Run, world: World
) -> None:
    for index in range(30):
        promise(run, "margo@example.com" if index % 2 else "jim@example.com", f"Promise {index}",
                DUE + index * timedelta(seconds=30))  # fmt: skip

    def both(moment: datetime) -> None:
        command = [sys.executable, "-m", "ocx", "--db", str(world.db), "due", "--notify"]
        environment = {**os.environ, **at(moment)}
        processes = [
            subprocess.Popen(
                command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        for process in processes:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, (out, err)
            assert b"Traceback" not in err

    both(DUE - 30 * MINUTE)
    messages = world.log.messages()
    assert len(messages) == 30
    assert len({m["key"] for m in messages}) == 30
    assert {m["kind"] for m in messages} == {"reminder"}
    both(DUE + 5 * HOUR)  # overdue to alex and escalation to sam, for all thirty
    messages = world.log.messages()
    assert len(messages) == 90
    assert len({m["key"] for m in messages}) == 90
    both(DUE + 5 * HOUR)
    assert len(world.log.messages()) == 90


# --- real servers: an email channel and a webhook that fails once ----------------------------


def test_an_email_channel_mails_the_members_address(
    run: Run, world: World, smtp_server: Any
) -> None:
    world.configure(
        "",
        f'\n[channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        'from = "ocx@acme.example"\nstarttls = false\n',
    )
    ok(run("team", "edit", "alex", "--channel", "mail"))
    promise(run, "margo@example.com", "Call back", DUE)
    ok(notify(run, DUE - 30 * MINUTE))
    ok(notify(run, DUE - 20 * MINUTE))
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["alex@acme.example"]
    assert "Margo Lane" in str(mail.message["Subject"])
    assert "reminder" in str(mail.message["Message-ID"])


def test_an_email_channel_never_mails_a_member_without_an_address(
    run: Run, world: World, smtp_server: Any, load_json: LoadJson
) -> None:
    world.configure(
        "",
        f'\n[channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        'from = "ocx@acme.example"\nstarttls = false\n',
    )
    ok(run("team", "edit", "alex", "--channel", "mail", "--email", ""))
    promise(run, "margo@example.com", "Call back", DUE)
    result = notify(run, DUE - 30 * MINUTE)
    assert result.exit_code == 3 and "alex has no email" in result.stderr
    assert smtp_server.messages == []
    assert outbox(run, load_json) == []


def test_a_webhook_answering_500_then_200_is_retried_and_delivered_once(
    run: Run, world: World, http_server: Any, load_json: LoadJson
) -> None:
    server = http_server(statuses=(500, 200))
    world.configure("", f'\n[channels.hook]\ntype = "webhook"\nurl = "{server.url}"\n')
    ok(run("team", "edit", "alex", "--channel", "hook"))
    promise(run, "margo@example.com", "Call back", DUE)
    start = DUE - 40 * MINUTE
    assert notify(run, start).exit_code == 3
    ok(notify(run, start + 30 * timedelta(seconds=1)))  # backoff: not yet
    assert len(server.requests) == 1
    ok(notify(run, start + MINUTE))
    ok(notify(run, start + 5 * MINUTE))
    assert [r.status for r in server.requests] == [500, 200]
    keys = {r.headers["Idempotency-Key"] for r in server.requests}
    assert len(keys) == 1 and "reminder" in keys.pop()
    assert outbox(run, load_json, "--failed") == []


def test_a_waiting_digest_never_carries_a_reminder_for_a_handled_promise(
    run: Run, world: World, load_json: LoadJson
) -> None:
    ok(run("team", "edit", "alex", "--digest"))
    handled = promise(run, "margo@example.com", "Already handled", DUE)
    promise(run, "jim@example.com", "Still open", DUE)
    world.log.down()
    assert notify(run, DUE - 30 * MINUTE).exit_code == 3
    ok(run("promise", "done", str(handled), env=at(DUE - 25 * MINUTE)))
    world.log.up()
    ok(notify(run, DUE - 20 * MINUTE))
    for message in world.log.messages():
        assert "Already handled" not in message["subject"] + message["body"]


# --- a delivery is always recorded -----------------------------------------------------------

LOCKING_SINK = """
import json, subprocess, sys, time
from pathlib import Path
out, db, held, seconds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
data = sys.stdin.read()
with open(out, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(json.loads(data)) + "\\n")
# Another ocx takes its write lock: BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL.
holder = (
    "import sys, time, pathlib\\n"
    "from ocx.config import explicit_db\\n"
    "from ocx.store import open_store\\n"
    "store = open_store(explicit_db(sys.argv[1]))\\n"
    "with store.write():\\n"
    "    pathlib.Path(sys.argv[2]).touch()\\n"
    "    time.sleep(float(sys.argv[3]))\\n"
)
subprocess.Popen([sys.executable, "-c", holder, db, str(held), seconds], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 20
while not held.exists():
    if time.monotonic() > deadline:
        sys.exit("the holder never took the write lock")
    time.sleep(0.01)
"""


def test_a_sent_message_is_recorded_while_another_process_holds_the_write_lock(
    run: Run, world: World, tmp_path: Path, load_json: LoadJson
) -> None:
    """The channel sends, then a second process takes the write lock for 3 s: longer than
    busy_timeout. The delivery must still be recorded, so the next run sends nothing."""
    script = tmp_path / "locking_sink.py"
    script.write_text(LOCKING_SINK, encoding="utf-8")
    out, held = tmp_path / "locked.jsonl", tmp_path / "held"
    argv = [sys.executable, str(script), str(out), str(world.db), str(held), "3"]
    world.configure("busy_timeout = 1",
                    f'\n[channels.slow]\ntype = "command"\nargv = {toml(argv)}\n')  # fmt: skip
    ok(run("team", "edit", "alex", "--channel", "slow"))
    promise(run, "margo@example.com", "Call back", DUE)
    began = time.monotonic()
    ok(notify(run, DUE - 30 * MINUTE))
    assert held.exists() and time.monotonic() - began >= 2.5  # it really waited
    assert [m["state"] for m in outbox(run, load_json)] == ["sent"]
    held.unlink()
    ok(notify(run, DUE - 29 * MINUTE + 20 * MINUTE))  # past the claim lease too: nothing more
    assert len(out.read_text("utf-8").splitlines()) == 1
