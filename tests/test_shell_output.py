"""Listings at home in the shell (issue 17): plain rows in a pipe, fitted tables in a
terminal, and an empty result said on a terminal's stderr only.

Real processes: `python -m ocx` with stdout a pipe, or stdout and stderr on a
pseudo-terminal (`pty.openpty`) of a given width. The database holds the CSV fixture
export and a customer whose email is longer than any terminal column would show."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ocx import testing

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
LONG_EMAIL = "priya.raman@a-very-long-company-name-for-a-long-email.example.com"
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def ocx(
    db: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ocx --db DB ARGS` with stdout and stderr pipes."""
    return subprocess.run(
        [sys.executable, "-m", "ocx", "--db", str(db), *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip


def on_terminal(db: Path, *args: str, columns: int = 60, stdout_too: bool = True,
                env: dict[str, str] | None = None) -> tuple[str, str, int]:  # fmt: skip
    """`ocx --db DB ARGS` with stderr (and stdout, unless stdout_too is False: then a pipe)
    on a pseudo-terminal `columns` wide: (what the terminal received, stdout when piped,
    exit code)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "ocx", "--db", str(db), *args],
        stdin=subprocess.DEVNULL, stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower, env={**os.environ, "TERM": "xterm", "COLUMNS": str(columns),
                              **(env or {})},
    )  # fmt: skip
    os.close(follower)
    received = testing.read_terminal(leader, process)
    piped = "" if stdout_too else process.stdout.read().decode()  # type: ignore[union-attr]
    code = process.wait(timeout=60)
    return received.decode("utf-8", "replace").replace("\r\n", "\n"), piped, code


@pytest.fixture
def db(initialized: Path) -> Path:
    """The CSV fixture imported, Priya (a long email) added, a promise to her due soon."""
    done = ocx(initialized, "import", "csv", str(FIXTURES))
    assert done.returncode == 0, done.stderr
    done = ocx(initialized, "customer", "add", LONG_EMAIL, "--name", "Priya Raman",
               "--company", "A company with a rather long name", "--tag", "vip")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ocx(initialized, "team", "add", "tester").returncode == 0
    done = ocx(initialized, "promise", "add", LONG_EMAIL, "Send the corrected March invoice",
               "--due", "+10m", "--owner", "tester")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return initialized


def _fixture_emails() -> list[str]:
    lines = (FIXTURES / "customers.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split(",", 1)[0].lower() for line in lines if line]


# --- a pipe -------------------------------------------------------------------------------


def test_a_listing_in_a_pipe_is_a_header_then_one_tab_separated_line_a_row(db: Path) -> None:
    done = ocx(db, "customer", "list")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "Id\tName\tEmail\tCompany\tPace\tChannel\tTags"
    assert all(line.count("\t") == 6 for line in lines)
    assert "\x1b" not in done.stdout and "…" not in done.stdout and "│" not in done.stdout
    # `ocx customer list | grep -c EMAIL`: every email whole, on its one line
    assert sum(LONG_EMAIL in line for line in lines) == 1
    emails = [line.split("\t")[2] for line in lines[1:]]
    assert sorted(emails) == sorted([*_fixture_emails(), LONG_EMAIL])
    priya = next(line for line in lines if LONG_EMAIL in line).split("\t")
    assert priya[1:4] == ["Priya Raman", LONG_EMAIL, "A company with a rather long name"]


def test_no_header_drops_the_header_line(db: Path) -> None:
    with_header = ocx(db, "customer", "list").stdout.splitlines()
    without = ocx(db, "customer", "list", "--no-header").stdout.splitlines()
    assert without == with_header[1:]
    due = ocx(db, "due")  # answered by ocx.cli.fast
    assert due.returncode == 0
    lines = due.stdout.splitlines()
    assert lines[0] == "What\tCustomer\tOwner\tDue\tLate\tText"
    assert lines[1].endswith("\tSend the corrected March invoice")
    assert ocx(db, "due", "--no-header").stdout.splitlines() == lines[1:]
    assert ocx(db, "due", "--owner", "tester", "--no-header").stdout.splitlines() == lines[1:]


@pytest.mark.parametrize(
    "args",
    [
        ("customer", "list"), ("promise", "list"), ("team", "list"), ("cadence", "list"),
        ("incident", "list"), ("outbox", "list"), ("postmortem", "list"), ("report",),
        ("report", "customers", "--at-risk"), ("customer", "timeline", LONG_EMAIL),
        ("customer", "search", "invoice"), ("customer", "forgotten"), ("due",),
    ],
)  # fmt: skip
def test_every_listing_takes_no_header(db: Path, args: tuple[str, ...]) -> None:
    done = ocx(db, *args, "--no-header")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "…" not in done.stdout


def test_an_empty_listing_in_a_pipe_prints_nothing_at_all(db: Path) -> None:
    for args in [("customer", "search", "xyzzy"), ("customer", "list", "--tag", "nope"),
                 ("promise", "list", "--kept"), ("customer", "forgotten"),
                 ("incident", "list"), ("due", "--owner", "nobody-owes")]:  # fmt: skip
        if args[0] == "due":
            ocx(db, "team", "add", "nobody-owes")
        done = ocx(db, *args)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), args
    assert json.loads(ocx(db, "customer", "search", "xyzzy", "--json").stdout) == []


def test_values_with_tabs_and_newlines_stay_on_their_line(db: Path) -> None:
    ocx(db, "customer", "note", LONG_EMAIL, "first line\nsecond\tcolumn \\ done")
    lines = ocx(db, "customer", "timeline", LONG_EMAIL).stdout.splitlines()
    assert lines[0] == "When\tWhat\tWho\tText"
    note = next(line for line in lines if "\tnote\t" in line)
    assert note.split("\t")[3] == "first line\\nsecond\\tcolumn \\\\ done"


def test_search_in_a_pipe_marks_the_match_in_brackets(db: Path) -> None:
    lines = ocx(db, "customer", "search", "priya").stdout.splitlines()
    assert lines[0].endswith("\tMatch\tSnippet")
    row = lines[1].split("\t")
    assert row[2] == LONG_EMAIL and row[-2] == "name" and row[-1] == "[Priya] Raman"
    hit = json.loads(ocx(db, "customer", "search", "priya", "--json").stdout)[0]
    assert hit["match"] == {"field": "name", "snippet": "[Priya] Raman"}


def test_a_report_in_a_pipe_titles_each_table(db: Path) -> None:
    lines = ocx(db, "report").stdout.splitlines()
    assert lines[0] == "# Promises"
    assert lines[1] == "Owner\tMade\tOn time\tLate\tBroken\tOpen overdue\tOn-time rate"
    assert lines[-2].startswith("all\t1\t")
    assert lines[-1].startswith("Cadences: ")
    plain = ocx(db, "report", "--no-header").stdout.splitlines()
    assert plain == [lines[0], *lines[2:]]


# --- a terminal ---------------------------------------------------------------------------


def test_in_a_terminal_a_table_fits_the_width_shortening_values_never_breaking_words(
    db: Path,
) -> None:
    shown, _, code = on_terminal(db, "customer", "list", columns=60)
    assert code == 0
    lines = ESCAPE.sub("", shown).splitlines()
    assert lines and all(len(line) <= 60 for line in lines), lines
    assert "…" in shown
    body = [line for line in lines[2:] if line.strip()]
    assert len(body) == len(_fixture_emails()) + 1  # one line a customer: nothing wrapped
    assert all(line.split("│")[0].strip().isdigit() for line in body), body
    for line in body:  # each cell a whole value, or its beginning and "…"
        for cell in (part.strip() for part in line.split("│")[1:]):
            assert "…" not in cell[:-1]
    assert LONG_EMAIL not in shown


def test_in_a_wide_terminal_values_are_whole(db: Path) -> None:
    shown, _, code = on_terminal(db, "customer", "list", columns=200)
    assert code == 0 and LONG_EMAIL in shown and "…" not in shown


def test_in_a_terminal_search_shows_the_match_bold(db: Path) -> None:
    shown, _, code = on_terminal(db, "customer", "search", "priya", columns=200)
    assert code == 0
    assert "Priya Raman" in ESCAPE.sub("", shown) and "[Priya]" not in shown
    assert "\x1b[1mPriya\x1b[0m Raman" in shown  # bold (NO_COLOR leaves bold be)


def test_empty_is_said_on_a_terminals_stderr_and_nowhere_else(db: Path) -> None:
    said, stdout, code = on_terminal(db, "customer", "search", "xyzzy", stdout_too=False)
    assert (code, stdout, said) == (0, "", "no customers match 'xyzzy'\n")
    said, stdout, code = on_terminal(db, "report", "customers", "--at-risk", stdout_too=False)
    assert code == 0 and stdout == "" and said.startswith("no customers at risk")
    ocx(db, "team", "add", "idle")
    said, stdout, code = on_terminal(db, "due", "--owner", "idle", stdout_too=False)
    assert (code, stdout, said) == (0, "", "nothing due for idle\n")  # ocx.cli.fast's
    piped = ocx(db, "customer", "search", "xyzzy")
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "", "")
