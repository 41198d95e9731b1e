"""Numbers are checked where they are read.

Every numeric option has both ends, and out of range is a usage error (exit 2) naming the
option and the range. A WHEN or DURATION landing after 9999-12-31 is a usage error naming
the option. An id no row can hold is an unknown id (exit 1) or a usage error (exit 2). Never
an exception's name, never a traceback.

The tables below are checked against the real command tree: an option or argument added
later without a range, or without a row here, fails `test_..._cover_the_cli`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

import click
import pytest
from click.testing import Result

from ocx.cli import BUILTIN_COMMANDS
from ocx.cli.options import Duration, When

Run = Callable[..., Result]

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AT_NOW = {"OCX_NOW": "2026-11-25T12:00:00Z"}
LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
HUGE = "99999999999999999999"  # past SQLite's 64-bit integers
PAST_INT64 = str(2**63)
MAX_INT64 = str(2**63 - 1)
TOO_LONG_FOR_INT = "9" * 5000  # int() refuses past 4,300 digits with ValueError
UNPLANNED = ("Traceback", "OverflowError", "ValueError", "run with --debug for details")


def _commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every built-in command and group, loaded as `ocx` loads it (plugins are not scanned)."""

    def walk(path: tuple[str, ...], command: click.Command) -> Iterator[tuple[tuple[str, ...], click.Command]]:  # fmt: skip
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk((*path, name), sub)

    for name, (module, attr, _) in sorted(BUILTIN_COMMANDS.items()):
        yield from walk((name,), getattr(import_module(module), attr))


def _params() -> Iterator[tuple[str, click.Parameter]]:
    for path, command in _commands():
        for param in command.params:
            yield " ".join(path), param


def _option(param: click.Parameter) -> str:
    return max(param.opts, key=len)


def _is_numeric(kind: click.ParamType) -> bool:
    return isinstance(kind, (click.types.IntParamType, click.types.FloatParamType))


# --- the CLI's numbers, times and ids ------------------------------------------------------

# (command, option) -> (lowest, highest, arguments that put VALUE in the option)
NUMERIC: dict[tuple[str, str], tuple[int, int, list[str]]] = {
    ("customer list", "--limit"): (1, 1_000_000, ["customer", "list", "--limit", "VALUE"]),
    ("customer search", "--limit"): (1, 1_000_000, ["customer", "search", "marg*", "--limit", "VALUE"]),
    ("customer timeline", "--limit"): (1, 1_000_000, ["customer", "timeline", "jim@example.com", "--limit", "VALUE"]),
    ("outbox list", "--limit"): (1, 1_000_000, ["outbox", "list", "--limit", "VALUE"]),
    ("incident new", "--severity"): (1, 4, ["incident", "new", "Sync down", "--severity", "VALUE"]),
    ("inbox ingest", "--max-bytes"): (1, 1 << 30, ["inbox", "ingest", "EMPTY_MAILDIR", "--max-bytes", "VALUE"]),
}  # fmt: skip

# (command, option) -> arguments that put VALUE in the option (a WHEN or a DURATION)
TIMES: dict[tuple[str, str], list[str]] = {
    ("due", "--within"): ["due", "--within", "VALUE"],
    ("incident update", "--next-update"): ["incident", "update", "1", "--message", "Hi", "--next-update", "VALUE"],
    ("incident new", "--started"): ["incident", "new", "Sync down", "--started", "VALUE"],
    ("promise add", "--due"): ["promise", "add", "jim@example.com", "Call back", "--due", "VALUE"],
    ("promise snooze", "--until"): ["promise", "snooze", "1", "--until", "VALUE"],
    ("postmortem action", "--due"): ["postmortem", "action", "1", "Alert on it", "--owner", "tester", "--due", "VALUE"],
    ("customer timeline", "--since"): ["customer", "timeline", "jim@example.com", "--since", "VALUE"],
    ("report", "--since"): ["report", "--since", "VALUE"],
}  # fmt: skip

# (command, argument or option) -> arguments that put VALUE where an id or a customer REF goes
IDS: dict[tuple[str, str], list[str]] = {
    ("promise show", "promise_id"): ["promise", "show", "VALUE"],
    ("promise done", "promise_id"): ["promise", "done", "VALUE"],
    ("promise cancel", "promise_id"): ["promise", "cancel", "VALUE", "--reason", "x"],
    ("promise snooze", "promise_id"): ["promise", "snooze", "VALUE", "--until", "+1d"],
    ("promise add", "ref"): ["promise", "add", "VALUE", "Call back", "--due", "+1d"],
    ("promise list", "--customer"): ["promise", "list", "--customer", "VALUE"],
    ("outbox retry", "message_id"): ["outbox", "retry", "VALUE"],
    ("incident show", "incident"): ["incident", "show", "VALUE"],
    ("incident cases", "incident"): ["incident", "cases", "VALUE"],
    ("incident fanout", "incident"): ["incident", "fanout", "VALUE", "--all"],
    ("incident plan", "incident"): ["incident", "plan", "VALUE", "--rescue", "r", "--rollback", "b"],
    ("incident contact", "incident"): ["incident", "contact", "VALUE", "jim@example.com"],
    ("incident contact", "ref"): ["incident", "contact", "1", "VALUE"],
    ("incident ack", "incident"): ["incident", "ack", "VALUE", "jim@example.com"],
    ("incident ack", "ref"): ["incident", "ack", "1", "VALUE"],
    ("incident agree", "incident"): ["incident", "agree", "VALUE", "jim@example.com"],
    ("incident agree", "ref"): ["incident", "agree", "1", "VALUE"],
    ("incident resolve", "incident"): ["incident", "resolve", "VALUE"],
    ("incident resolve", "--customer"): ["incident", "resolve", "1", "--customer", "VALUE"],
    ("incident next", "incident"): ["incident", "next", "VALUE"],
    ("incident update", "incident"): ["incident", "update", "VALUE", "--message", "Hi"],
    ("postmortem new", "incident"): ["postmortem", "new", "VALUE"],
    ("postmortem show", "postmortem_id"): ["postmortem", "show", "VALUE"],
    ("postmortem edit", "postmortem_id"): ["postmortem", "edit", "VALUE"],
    ("postmortem review", "postmortem_id"): ["postmortem", "review", "VALUE", "kim"],
    ("postmortem export", "postmortem_id"): ["postmortem", "export", "VALUE"],
    ("postmortem action", "postmortem_id"): ["postmortem", "action", "VALUE", "x", "--owner", "tester", "--due", "+1d"],
    ("postmortem check", "postmortem_id"): ["postmortem", "check", "VALUE"],
    ("postmortem publish", "postmortem_id"): ["postmortem", "publish", "VALUE"],
    ("customer edit", "ref"): ["customer", "edit", "VALUE", "--pace", "fast"],
    ("customer tag", "ref"): ["customer", "tag", "VALUE", "vip"],
    ("customer show", "ref"): ["customer", "show", "VALUE"],
    ("customer note", "ref"): ["customer", "note", "VALUE", "x"],
    ("customer contact", "ref"): ["customer", "contact", "VALUE", "x"],
    ("customer timeline", "ref"): ["customer", "timeline", "VALUE"],
    ("customer merge", "keep"): ["customer", "merge", "VALUE", "jim@example.com"],
    ("customer merge", "other"): ["customer", "merge", "jim@example.com", "VALUE"],
    ("customer forget", "ref"): ["customer", "forget", "VALUE", "--yes"],
    ("customer export", "ref"): ["customer", "export", "VALUE"],
    ("cadence set", "ref"): ["cadence", "set", "VALUE", "daily*5,weekly"],
    ("cadence stop", "ref"): ["cadence", "stop", "VALUE"],
    ("customer promises", "ref"): ["customer", "promises", "VALUE"],
    ("incident confirm", "incident"): ["incident", "confirm", "VALUE", "jim@example.com"],
    ("incident confirm", "ref"): ["incident", "confirm", "1", "VALUE"],
    ("incident reopen", "incident"): ["incident", "reopen", "VALUE", "jim@example.com", "--note", "x"],
    ("incident reopen", "ref"): ["incident", "reopen", "1", "VALUE", "--note", "x"],
    ("inbox assign", "ref"): ["inbox", "assign", "nobody@example.com", "VALUE"],
}  # fmt: skip

# Arguments that are not ids (text, names, paths); an argument in neither table fails.
NOT_IDS = {
    ("cadence set", "schedule"), ("config set", "key"), ("config set", "value"),
    ("customer add", "email"), ("customer tag", "tags"), ("customer note", "text"),
    ("customer contact", "text"), ("customer search", "query"), ("import", "source"),
    ("import", "paths"), ("incident new", "title"), ("notify test", "channel"),
    ("postmortem review", "reviewer"), ("postmortem action", "text"), ("promise add", "text"),
    ("team add", "handle"), ("team edit", "handle"), ("db copy", "source"), ("db copy", "target"),
    ("inbox ingest", "sources"), ("inbox assign", "message_id"),
}  # fmt: skip


def _args(template: list[str], value: str) -> list[str]:
    return [value if part == "VALUE" else part for part in template]


def _no_exception(result: Result) -> None:
    for text in UNPLANNED:
        assert text not in result.output, result.output[:2000]


# --- the tables match the CLI --------------------------------------------------------------


def test_every_numeric_parameter_has_both_ends() -> None:
    """A new `type=int` (or an IntRange with one end) fails here, before anyone passes it
    20 digits."""
    open_ended = [
        f"{command} {param.name}: {param.type!r}"
        for command, param in _params()
        if _is_numeric(param.type)
        and (
            not isinstance(param.type, (click.IntRange, click.FloatRange))
            or param.type.min is None
            or param.type.max is None
        )
    ]
    assert open_ended == []


def test_the_numeric_table_covers_the_cli() -> None:
    found = {(c, _option(p)) for c, p in _params() if _is_numeric(p.type)}
    assert found == set(NUMERIC)
    for command, param in _params():
        if (command, _option(param)) in NUMERIC:
            low, high, _ = NUMERIC[command, _option(param)]
            assert (param.type.min, param.type.max) == (low, high)  # type: ignore[attr-defined]


def test_every_time_option_is_read_as_it_is_read_and_the_table_covers_them() -> None:
    """An option that says WHEN or DURATION is read by the When or Duration type (so the
    year-9999 check cannot be forgotten in a command body)."""
    for command, param in _params():
        if param.metavar == "WHEN":
            assert isinstance(param.type, When), (command, param.name)
        if param.metavar == "DURATION":
            assert isinstance(param.type, Duration), (command, param.name)
    found = {(c, _option(p)) for c, p in _params() if isinstance(p.type, (When, Duration))}
    assert found == set(TIMES)


def test_the_id_table_covers_every_argument_and_ref_option() -> None:
    found = {
        (c, p.name if isinstance(p, click.Argument) else _option(p))
        for c, p in _params()
        if isinstance(p, click.Argument) or p.metavar == "REF"
    }
    assert found == set(IDS) | NOT_IDS
    assert not set(IDS) & NOT_IDS


# --- a world to run them in ----------------------------------------------------------------


@pytest.fixture
def world(run: Run, initialized: Path, tmp_path: Path) -> Run:
    """The sample customers; tester (the config user) and kim on the team; INC-1 with a case
    for every customer; postmortem 1; promise 1; an empty Maildir (EMPTY_MAILDIR in a
    command's arguments). Every command runs at NOW."""
    maildir = tmp_path / "empty-maildir"
    for folder in ("cur", "new", "tmp"):
        (maildir / folder).mkdir(parents=True)

    def at_now(*args: str, env: dict[str, str | None] | None = None) -> Result:
        args = tuple(str(maildir) if arg == "EMPTY_MAILDIR" else arg for arg in args)
        return run(*args, env={**AT_NOW, **(env or {})})

    for args in (
        ["init", "--sample"], ["team", "add", "tester"], ["team", "add", "kim"],
        ["promise", "add", "jim@example.com", "Call back", "--due", "+2h"],
        ["incident", "new", "Sync down", "--lead", "tester", "--started", "-1h"],
        ["incident", "fanout", "1", "--all", "--concierge", "tester"],
        ["postmortem", "new", "1", "--reviewer", "kim"],
    ):  # fmt: skip
        result = at_now(*args)
        assert result.exit_code == 0, (args, result.output)
    return at_now


# --- numeric options -----------------------------------------------------------------------


@pytest.mark.parametrize(("command", "option"), sorted(NUMERIC))
def test_numeric_option_takes_both_ends(world: Run, command: str, option: str) -> None:
    low, high, template = NUMERIC[command, option]
    for value in (low, high):
        result = world(*_args(template, str(value)))
        assert result.exit_code == 0, (value, result.output)
        _no_exception(result)


@pytest.mark.parametrize(("command", "option"), sorted(NUMERIC))
@pytest.mark.parametrize(
    "value", ["LOW-1", "HIGH+1", HUGE, PAST_INT64, "-" + HUGE, TOO_LONG_FOR_INT, "1.5", "ten"]
)
def test_numeric_option_out_of_range_is_a_usage_error_naming_it_and_its_range(
    world: Run, command: str, option: str, value: str
) -> None:
    low, high, template = NUMERIC[command, option]
    value = {"LOW-1": str(low - 1), "HIGH+1": str(high + 1)}.get(value, value)
    result = world(*_args(template, value))
    assert result.exit_code == 2, result.output[:500]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: Invalid value for") and option in line
    if value not in ("1.5", "ten"):  # those are no number at all: click says so instead
        assert f"{low}<=x<={high}" in line
    assert len(line) < 200  # 5,000 nines are not echoed back
    _no_exception(result)


def test_help_shows_each_numeric_range(run: Run) -> None:
    for command, option in NUMERIC:
        low, high, _ = NUMERIC[command, option]
        result = run(*command.split(), "--help")
        assert result.exit_code == 0
        assert f"{low}<=x<={high}" in result.output, (command, option)


# --- times and durations -------------------------------------------------------------------


def _is_duration(command: str, option: str) -> bool:
    return option in ("--within", "--next-update")


PAST_THE_CALENDAR_WHEN = [
    "10000-01-01", "+10000-01-01T00:00", "99999-12-31", "9999-12-31T23:59-05:00",
    "in 99999999d", "+99999999d", "in 3000000 days", f"in {TOO_LONG_FOR_INT}d",
]  # fmt: skip
PAST_THE_CALENDAR_DURATION = [
    "99999999d", "2916000d", "1000000000d", "99999999999w", f"{TOO_LONG_FOR_INT}d",
    "100000000000000000000s",
]  # fmt: skip


@pytest.mark.parametrize(("command", "option"), sorted(TIMES))
def test_a_time_or_duration_after_9999_12_31_is_a_usage_error_naming_the_option(
    world: Run, command: str, option: str
) -> None:
    values = PAST_THE_CALENDAR_DURATION if _is_duration(command, option) else PAST_THE_CALENDAR_WHEN
    for value in values:
        result = world(*_args(TIMES[command, option], value))
        assert result.exit_code == 2, (value, result.output[:500])
        line = result.stderr.strip().splitlines()[-1]
        assert f"Invalid value for '{option}'" in line, line
        assert "lands after 9999-12-31" in line, line
        assert len(line) < 250, line
        _no_exception(result)


@pytest.mark.parametrize(("command", "option"), sorted(k for k in TIMES if not _is_duration(*k)))
def test_a_time_before_year_1_is_a_usage_error_naming_the_option(
    world: Run, command: str, option: str
) -> None:
    for value in ("-99999999d", "99999999 days ago", "0001-01-01T00:00+05:00"):
        result = world(*_args(TIMES[command, option], value))
        assert result.exit_code == 2, (value, result.output)
        assert f"Invalid value for '{option}'" in result.stderr
        assert "lands before 0001-01-01" in result.stderr
        _no_exception(result)


@pytest.mark.parametrize(("command", "option"), sorted(k for k in TIMES if _is_duration(*k)))
@pytest.mark.parametrize("value", ["0d", "0s", "0.5s", "0h0m"])
def test_a_duration_under_a_second_is_a_usage_error_naming_the_option(
    world: Run, command: str, option: str, value: str
) -> None:
    result = world(*_args(TIMES[command, option], value))
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr and "1s or more" in result.stderr
    _no_exception(result)


@pytest.mark.parametrize(("command", "option"), sorted(TIMES))
@pytest.mark.parametrize("value", ["soon", "1e400d", "-1x", "tomorrow at teatime"])
def test_text_that_is_no_time_stays_a_one_line_error(
    world: Run, command: str, option: str, value: str
) -> None:
    """Unreadable text was, and stays, the exit-1 'cannot read ...' line (other tests rely on
    it); only readable values out of range are usage errors."""
    result = world(*_args(TIMES[command, option], value))
    assert result.exit_code == 1, result.output
    assert "cannot read" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    _no_exception(result)


def test_the_longest_duration_that_lands_on_9999_12_31_is_taken_and_nothing_overflows_later(
    world: Run,
) -> None:
    """Taken at the very end, a window is added to now (and stored, for --next-update); every
    command that reads those times afterwards still works."""
    longest = f"{int((LAST - NOW).total_seconds())}s"
    assert world("due", "--within", longest).exit_code == 0
    assert world("due", "--within", f"{int((LAST - NOW).total_seconds()) + 1}s").exit_code == 2
    result = world("incident", "update", "1", "--message", "Hi", "--next-update", longest)
    assert result.exit_code == 0, result.output
    assert "9999-12-31" in result.output
    _later_commands_work(world)


def test_the_last_moment_of_9999_is_taken_as_a_time_and_nothing_overflows_later(
    world: Run,
) -> None:
    last = "9999-12-31T23:59:59Z"
    for args in (
        ["promise", "add", "jim@example.com", "At the very end", "--due", last],
        ["promise", "snooze", "1", "--until", last],
        ["postmortem", "action", "1", "Alert on it", "--owner", "tester", "--due", last],
        ["promise", "add", "margo@example.com", "Local end", "--due", "9999-12-31T23:59"],
    ):
        result = world(*args)
        assert result.exit_code == 0, (args, result.output)
    for args in (["report", "--since", last], ["customer", "timeline", "1", "--since", last]):
        result = world(*args)
        assert result.exit_code == 0, (args, result.output)
    # the option takes it; the command itself refuses an incident that starts in the future
    result = world("incident", "new", "Later", "--started", last)
    assert result.exit_code == 1 and "in the future" in result.stderr
    _later_commands_work(world)
    # and with the clock itself at the calendar's end
    late = {"OCX_NOW": "9999-12-31T23:00:00Z"}
    for args in (["promise", "list"], ["report"], ["customer", "show", "1"], ["cadence", "list"]):
        result = world(*args, env=late)
        assert result.exit_code == 0, (args, result.output)
    result = world("due", env=late)  # the default --within 1h lands after 9999-12-31
    assert result.exit_code == 2 and "Invalid value for '--within'" in result.stderr
    assert world("due", "--within", "59m", env=late).exit_code == 0


def _later_commands_work(world: Run) -> None:
    for args in (
        ["due"], ["due", "--within", "2h"], ["due", "--notify"], ["promise", "list", "--all"],
        ["promise", "list", "--json"], ["promise", "export", "--ics"], ["promise", "show", "1"],
        ["incident", "show", "1"], ["incident", "list", "--all"], ["incident", "cases", "1"],
        ["postmortem", "show", "1"], ["postmortem", "export", "1"], ["report"],
        ["report", "customers", "--at-risk"], ["customer", "show", "jim@example.com"],
        ["customer", "timeline", "jim@example.com"], ["cadence", "list"], ["outbox", "list"],
    ):  # fmt: skip
        result = world(*args)
        _no_exception(result)
        assert result.exit_code in (0, 3), (args, result.output)  # 3: a message nobody gets


# --- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "name"), sorted(IDS))
@pytest.mark.parametrize(
    "value", [HUGE, PAST_INT64, MAX_INT64, "0", "-1", TOO_LONG_FOR_INT, "#" + HUGE, "0" * 30]
)
def test_an_id_no_row_holds_is_unknown_or_a_usage_error_never_an_exception(
    world: Run, command: str, name: str, value: str
) -> None:
    result = world(*_args(IDS[command, name], value))
    _no_exception(result)
    assert result.exit_code in (1, 2), result.output[:500]
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error:"), result.stderr[:500]
    if result.exit_code == 1:
        assert len(lines) == 1 and result.stdout == ""
        assert " no " in lines[0] or "not" in lines[0], lines[0][:300]


@pytest.mark.parametrize("value", [HUGE, PAST_INT64, "0", TOO_LONG_FOR_INT])
def test_an_out_of_range_id_is_reported_as_unknown(world: Run, value: str) -> None:
    """One rule for every kind of id: what no row can hold is 'no such ...' (exit 1)."""
    for args, expected in (
        (["promise", "show", value], "no promise"),
        (["outbox", "retry", value], "no outbox message"),
        (["incident", "show", value], "no incident"),
        (["postmortem", "show", value], "no postmortem"),
        (["customer", "show", value], "no customer matches"),
    ):
        result = world(*args)
        assert result.exit_code == 1, (args, result.output[:300])
        assert result.stderr.startswith(f"Error: {expected}"), result.stderr[:300]


def test_a_customers_file_of_huge_ids_lists_them_as_unknown(world: Run, tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text(f"{HUGE}\n{PAST_INT64}\n{TOO_LONG_FOR_INT}\n0\njim@example.com\n")
    result = world("incident", "fanout", "1", "--customers", str(refs), "--json")
    _no_exception(result)
    assert result.exit_code == 0, result.output[:500]
    assert HUGE in result.stdout and PAST_INT64 in result.stdout


def test_a_cadence_count_past_its_range_is_refused_in_one_line(world: Run) -> None:
    assert world("cadence", "set", "jim@example.com", "daily*10000").exit_code == 0
    for count in ("10001", HUGE, TOO_LONG_FOR_INT):
        result = world("cadence", "set", "jim@example.com", f"daily*{count},weekly")
        _no_exception(result)
        assert result.exit_code == 1
        assert "use *1 to *10000" in result.stderr and len(result.stderr) < 200
