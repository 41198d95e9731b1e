"""Start-up paths stay light and say exactly what the full command says.

- `ocx due` with nothing due and `ocx customer show REF` are answered by ocx.cli.fast
  without click: same output, same exit status and same errors as the click command,
  whatever the command line;
- ocx.duecheck.nothing_due never says "nothing" when ocx.due.items would find something;
- `ocx --help` reads the plugin-command cache where platformdirs puts it, without loading
  platformdirs; `ocx customer show` in a pipe does not load rich.

Which modules a command loads is checked in a child process (`sys.modules` at exit); how
long anything takes is for bench/, never for tests."""

from __future__ import annotations

import ast
import io
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from ocx import due as due_items
from ocx import duecheck
from ocx.cli import cli, fast, main

if TYPE_CHECKING:
    from conftest import Run

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def team(run: Run, initialized: Path) -> Path:
    """Margo and Jim; tester and alex on the team; no promise, no cadence yet."""
    early = {"OCX_NOW": z(NOW - timedelta(days=30))}
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane", env=early))
    ok(run("customer", "add", "jim@example.com", env=early))
    ok(run("team", "add", "tester", env=early))
    ok(run("team", "add", "alex", env=early))
    return initialized


def through_main(argv: list[str], capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str, bool]:  # fmt: skip
    """(exit status, stdout, stderr, whether ocx.cli.fast answered) of the console script."""
    answered: list[bool] = []
    real = fast.answered
    monkeypatch.setattr(fast, "answered", lambda args: answered.append(real(args)) or answered[-1])
    monkeypatch.setattr(sys, "argv", ["ocx", *argv])
    capsys.readouterr()
    try:
        main()
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return status, out, err, answered == [True]


def same_as_click(run: Run, db: Path, argv: list[str], capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch, now: datetime = NOW) -> bool:  # fmt: skip
    """Run `ocx --db DB *argv` through main() and through the click group; assert they
    print and exit alike; return whether ocx.cli.fast answered."""
    monkeypatch.setenv("OCX_NOW", z(now))
    status, out, err, answered = through_main(["--db", str(db), *argv], capsys, monkeypatch)
    clicked = CliRunner().invoke(cli, ["--db", str(db), *argv], env={"OCX_NOW": z(now)},
                                 prog_name="ocx")  # fmt: skip
    assert (status, out) == (clicked.exit_code, clicked.stdout), argv
    assert err == clicked.stderr, argv
    return answered


# --- reading the command line ----------------------------------------------------------


DUE, SHOW = ("due",), ("customer", "show")


@pytest.mark.parametrize(
    ("argv", "read"),
    [
        (["due"], (DUE, {}, [])),
        (["--db", "x.db", "due", "--json"], (DUE, {"--db": "x.db", "--json": True}, [])),
        (["--db=x.db", "--debug", "due", "--within", "2h", "--owner=alex"],
         (DUE, {"--db": "x.db", "--debug": True, "--within": "2h", "--owner": "alex"}, [])),
        (["--db", "due", "due"], (DUE, {"--db": "due"}, [])),
        (["customer", "show", "m@x.com"], (SHOW, {}, ["m@x.com"])),
        (["--db", "x", "customer", "show", "--json", "7"], (SHOW, {"--db": "x", "--json": True},
                                                           ["7"])),
        (["due", "--notify"], None),
        (["due", "--help"], None),
        (["--help"], None),
        (["-h"], None),
        (["due", "--json", "--json"], None),
        (["due", "--within"], None),
        (["due", "--within", "-1h"], None),
        (["due", "--within="], None),
        (["due", "--json=1"], None),
        (["due", "--debug"], None),
        (["due", "extra"], None),
        (["due", "due"], None),
        (["--db", "x.db"], None),
        (["--json", "due"], None),
        (["customer", "show"], None),
        (["customer", "show", "a", "b"], None),
        (["customer", "show", "-x"], None),
        (["customer", "show", "--", "a"], None),
        (["customer", "--json", "show", "a"], None),
        (["customer", "show", "a", "--db", "x"], None),
        (["customer", "list"], None),
        (["promise", "list"], None),
        ([], None),
    ],
)  # fmt: skip
def test_only_plain_command_lines_are_read_without_click(argv: list[str], read: Any) -> None:
    assert fast.read(argv) == read


# --- the fast path says what click says -------------------------------------------------


def test_due_with_nothing_due_is_answered_without_click_and_prints_the_same(
    run: Run, team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("promise", "add", "margo@example.com", "Call back", "--due", z(NOW + timedelta(days=2)),
           "--owner", "alex", env={"OCX_NOW": z(NOW)}))  # fmt: skip
    ok(run("cadence", "set", "jim@example.com", "daily*3,weekly", "--owner", "tester",
           env={"OCX_NOW": z(NOW - timedelta(hours=3))}))  # fmt: skip
    for argv in (["due"], ["due", "--json"], ["due", "--owner", "ALEX"], ["--debug", "due"],
                 ["due", "--within", "1d"]):  # fmt: skip
        assert same_as_click(run, team, argv, capsys, monkeypatch), argv


def test_due_with_something_due_is_listed_as_click_lists_it(
    run: Run, team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("promise", "add", "margo@example.com", "Call back", "--due", z(NOW + timedelta(days=2)),
           "--owner", "alex", env={"OCX_NOW": z(NOW)}))  # fmt: skip
    ok(run("cadence", "set", "jim@example.com", "daily*3,weekly", "--owner", "tester",
           env={"OCX_NOW": z(NOW - timedelta(days=3))}))  # fmt: skip
    for argv in (["due"], ["due", "--json"], ["due", "--within", "3d"],
                 ["due", "--within", "3d", "--owner", "alex", "--json"]):  # fmt: skip
        assert same_as_click(run, team, argv, capsys, monkeypatch), argv
    for index in range(12):  # a long listing: ocx lays out the table (render.table)
        ok(run("promise", "add", "jim@example.com", f"Promise {index} " * (index + 1), "--due",
               z(NOW - timedelta(minutes=index)), "--owner", "alex",
               env={"OCX_NOW": z(NOW - timedelta(days=1))}))  # fmt: skip
    for argv in (["due"], ["due", "--owner", "alex"]):
        assert same_as_click(run, team, argv, capsys, monkeypatch), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["due", "--owner", "nobody"],
        ["due", "--within", "0s"],
        ["due", "--within", "soon"],
        ["due", "--within", "999999999d"],
        ["due", "--notify"],
        ["due", "--bogus"],
    ],
)
def test_due_errors_are_clicks_own(
    argv: list[str], run: Run, team: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert not same_as_click(run, team, argv, capsys, monkeypatch)


def test_customer_show_is_answered_without_click_and_prints_the_same(
    run: Run, team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("promise", "add", "margo@example.com", "Call back", "--due", z(NOW + timedelta(days=2)),
           "--owner", "alex", env={"OCX_NOW": z(NOW)}))  # fmt: skip
    ok(run("customer", "note", "margo@example.com", "Prefers mornings " * 12,
           env={"OCX_NOW": z(NOW)}))  # fmt: skip
    for argv in (["customer", "show", "margo@example.com"], ["customer", "show", "1", "--json"],
                 ["--debug", "customer", "show", "jim@example.com"]):  # fmt: skip
        assert same_as_click(run, team, argv, capsys, monkeypatch), argv
    monkeypatch.setenv("COLUMNS", "33")
    assert same_as_click(run, team, ["customer", "show", "margo@example.com"], capsys, monkeypatch)


def test_customer_show_errors_and_colour_are_clicks(
    run: Run, team: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for argv in (["customer", "show", "nobody@example.com"], ["customer", "show", "99"],
                 ["customer", "show", "Zed Nobody"]):  # fmt: skip
        assert not same_as_click(run, team, argv, capsys, monkeypatch), argv
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws the card: click runs the command
    status, out, _, answered = through_main(
        ["--db", str(team), "customer", "show", "margo@example.com"], capsys, monkeypatch
    )
    assert (status, answered) == (0, False) and "\x1b[1m" in out


class _TerminalStderr(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("owner", [[], ["--owner", "ALEX"]])
def test_nothing_due_is_said_on_a_terminal_as_click_says_it(
    owner: list[str], team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocx.cli import root

    monkeypatch.setenv("OCX_NOW", z(NOW))
    said = []
    for answer in (fast.answered, lambda argv: root.cli.main(argv, prog_name="ocx",
                                                             standalone_mode=False)):  # fmt: skip
        stderr, stdout = _TerminalStderr(), io.StringIO()
        monkeypatch.setattr(sys, "stderr", stderr)
        monkeypatch.setattr(sys, "stdout", stdout)
        answer(["--db", str(team), "due", *owner])
        said.append((stdout.getvalue(), stderr.getvalue()))
    assert said[0] == said[1] == ("", "nothing due" + (" for alex" if owner else "") + "\n")


def test_a_bad_clock_a_bad_config_or_no_database_is_clicks_error(
    run: Run, team: Path, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("OCX_NOW", "not a time")
    status, _, err, answered = through_main(["--db", str(team), "due"], capsys, monkeypatch)
    assert (status, answered) == (1, False) and err.startswith("Error:")
    (env / "ocx.toml").write_text('escalate_after = "soon"\n', encoding="utf-8")
    assert not same_as_click(run, team, ["due"], capsys, monkeypatch)
    (env / "ocx.toml").unlink()
    monkeypatch.setenv("OCX_NOW", z(NOW))
    status, _, err, answered = through_main(["--db", str(tmp_path / "none.db"), "due"], capsys,
                                            monkeypatch)  # fmt: skip
    assert (status, answered) == (1, False) and "no ocx database" in err


# --- the cheap check never hides an item -------------------------------------------------


def test_every_named_cadence_step_waits_at_least_its_shortest_step() -> None:
    from ocx import cadences

    starts = [datetime(2026, month, day, 9, tzinfo=UTC) for month in (1, 2, 12) for day in (1, 28, 31)
              if (month, day) != (2, 31)]  # fmt: skip
    for name, shortest in duecheck.SHORTEST_STEP.items():
        step = cadences.parse_schedule(name)[0]
        assert all(step.after(start) - start >= shortest for start in starts), name


def test_nothing_due_is_never_said_when_something_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ocx.store import open_store

    rng = random.Random(16)
    schedules = ["daily*5,weekly*4,monthly", "weekly", "monthly", "3h*2,daily",
                 "fortnightly*2,monthly"]  # fmt: skip
    said = {True: 0, False: 0}
    for scenario in range(16):
        db = tmp_path / f"{scenario}.db"

        def ocx(*args: str, at: datetime, db: Path = db) -> None:
            ok(CliRunner().invoke(cli, ["--db", str(db), *args], env={"OCX_NOW": z(at)}))

        ocx("init", at=NOW - timedelta(days=60))
        for ref in ("margo@example.com", "jim@example.com"):
            ocx("customer", "add", ref, at=NOW - timedelta(days=60))
        for handle in ("tester", "alex"):
            ocx("team", "add", handle, at=NOW - timedelta(days=60))
        for ref in rng.sample(["margo@example.com", "jim@example.com"], rng.randint(0, 2)):
            ocx("cadence", "set", ref, rng.choice(schedules), "--owner", "tester",
                at=NOW - timedelta(hours=rng.randint(1, 24 * 40)))  # fmt: skip
        for _ in range(rng.randint(0, 2)):
            due = NOW + timedelta(minutes=rng.randint(-600, 3000))
            ocx("promise", "add", "jim@example.com", "Call", "--due", z(due), "--owner",
                rng.choice(["alex", "tester"]), at=NOW - timedelta(days=3))  # fmt: skip
        monkeypatch.setenv("OCX_NOW", z(NOW))
        store = open_store(db)
        try:
            for within in (timedelta(hours=1), timedelta(days=1)):
                for owner in (None, "alex"):
                    nothing = duecheck.nothing_due(store, within=within, owner=owner)
                    found = due_items.items(store, within=within, owner=owner)
                    assert not (nothing and found), (scenario, within, owner, found)
                    said[nothing] += 1
        finally:
            store.close()
    assert said[True] > 5 and said[False] > 5


# --- what each start-up loads --------------------------------------------------------------


def _loaded(argv: list[str], extra_env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """stdout of the console script's main() with argv, in a child process, and the
    modules (and packages) it had loaded by the end."""
    code = (
        "import sys\n"
        "from ocx.cli import main\n"
        f"sys.argv = ['ocx', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(repr(sorted({*sys.modules, *(m.split('.')[0] for m in sys.modules)})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **(extra_env or {})}, check=True)  # fmt: skip
    return done.stdout, set(ast.literal_eval(done.stderr.strip().splitlines()[-1]))


def _driver_modules(db: Path | str) -> set[str]:
    """What the database driver loads by itself: nothing for a file (sqlite3 is small);
    psycopg's own imports (json, dataclasses, ...) for PostgreSQL, which ocx cannot avoid."""
    if isinstance(db, Path):
        return set()
    code = (
        "import sys, psycopg\n"
        "sys.stderr.write(repr(sorted({*sys.modules, *(m.split('.')[0] for m in sys.modules)})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(ast.literal_eval(done.stderr.strip().splitlines()[-1]))


def test_due_with_nothing_due_loads_neither_click_nor_rich(team: Path) -> None:
    out, loaded = _loaded(["--db", str(team), "due"], {"OCX_NOW": z(NOW)})
    assert out == ""
    unwanted = {"click", "rich", "platformdirs", "ocx.due", "dataclasses", "json"}
    assert not loaded & (unwanted - _driver_modules(team))


def test_due_listing_does_not_load_click(run: Run, team: Path) -> None:
    ok(run("promise", "add", "margo@example.com", "Call back", "--due", z(NOW), "--owner",
           "alex", env={"OCX_NOW": z(NOW - timedelta(days=1))}))  # fmt: skip
    out, loaded = _loaded(["--db", str(team), "due"], {"OCX_NOW": z(NOW)})
    assert "Call back" in out
    assert "click" not in loaded


def test_customer_show_in_a_pipe_loads_neither_click_nor_rich(team: Path) -> None:
    out, loaded = _loaded(["--db", str(team), "customer", "show", "margo@example.com"])
    assert "Margo Lane" in out
    assert not loaded & {"click", "rich"}


def test_help_loads_neither_platformdirs_nor_shutil(team: Path) -> None:
    _loaded(["--help"])  # fills the plugin-command cache
    out, loaded = _loaded(["--help"])
    assert "Commands:" in out
    assert not loaded & {"platformdirs", "shutil"}


@pytest.mark.parametrize("columns", [None, "30", "60", "79", "80", "81", "200", "x", "0"])
def test_help_is_as_wide_as_clicks_own(columns: str | None, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    import click

    from ocx.cli import root

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    helps = []
    for context in (root.OcxContext, click.Context):
        monkeypatch.setattr(root.OcxGroup, "context_class", context)
        with pytest.raises(SystemExit):
            root.cli.main(["--help"], prog_name="ocx")
        helps.append(capsys.readouterr().out)
    assert helps[0] == helps[1]


@pytest.mark.parametrize(
    "variables",
    [
        {"XDG_CACHE_HOME": "/tmp/ocx-cache-test"},
        {"XDG_CACHE_HOME": "/tmp/ocx-cache-test/"},
        {"XDG_CACHE_HOME": None, "HOME": "/home/someone"},
        {"XDG_CACHE_HOME": "", "HOME": "/home/someone/"},
        {"XDG_CACHE_HOME": "relative/cache", "HOME": "/home/someone"},
        {"XDG_CACHE_HOME": None, "HOME": "relative"},
    ],
)
def test_the_plugin_command_cache_is_where_platformdirs_puts_it(
    variables: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    from ocx.cli import root

    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    expected = Path(platformdirs.user_cache_dir("ocx", appauthor=False)) / "plugin-commands.json"
    assert Path(root._plugin_cache_path()) == expected
