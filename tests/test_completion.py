"""Shell completion knows the data: the real `ocx` run as bash, zsh and fish run it on TAB
(`_OCX_COMPLETE=..._complete`), against a real database.

Customers are offered as emails, found by email or by the beginning of any word of the
name and described by the name; incidents as INC-N; promises, team handles, channels and
importers by name. A broken or missing database offers nothing, prints nothing, exits 0,
and a completion never writes to the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ocx.testing import settled

if TYPE_CHECKING:
    from conftest import Run

OCX = str(Path(sys.executable).with_name("ocx"))


@pytest.fixture
def data(run: Run, db_path: Path, env: Path) -> Path:
    """Customers, a team, incidents, promises and channels in db_path; OCX_HOME's ocx.toml."""
    for args in (
        ["init"],
        ["customer", "add", "margo@example.com", "--name", "Margo Lane"],
        ["customer", "add", "p.raman@acme.example", "--name", "Priya Raman"],
        ["customer", "add", "zm@shop.example", "--name", "Zoë Martin"],
        ["customer", "add", "nameless@example.org"],
        ["team", "add", "alex", "--name", "Alex Kim"],
        ["team", "add", "sam", "--name", "Sam Rivera", "--lead"],
        ["incident", "new", "Bank sync failing", "--lead", "sam"],
        ["incident", "new", "Login slow", "--lead", "alex"],
        ["promise", "add", "margo@example.com", "Call back", "--due", "+2h", "--owner", "alex"],
        ["promise", "add", "zm@shop.example", "Send the fix", "--due", "+1d", "--owner", "sam"],
        ["promise", "done", "2"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    with (env / "ocx.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            '\n[channels.ops-mail]\ntype = "email"\n\n[channels.ops-hook]\ntype = "webhook"\n'
        )
    return db_path


def complete(shell: str, line: str, *, db: Path | None = None,
             extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """What the shell's completion script asks `ocx` for `line` (TAB at its end)."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    env = {**os.environ, "_OCX_COMPLETE": f"{shell}_complete", **(extra or {})}
    if db is not None:
        env["OCX_DB"] = str(db)
    env["COMP_WORDS"] = line
    env["COMP_CWORD"] = words[-1] if shell == "fish" else str(len(words) - 1)
    return subprocess.run([OCX], env=env, capture_output=True, text=True, timeout=60)


def offered(line: str, db: Path | None, **kw: dict[str, str]) -> list[str]:
    """The values bash is offered (click's bash format: `type,value` per line)."""
    done = complete("bash", line, db=db, **kw)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [row.split(",", 1)[1] for row in done.stdout.splitlines() if row]


def described(shell: str, line: str, db: Path) -> dict[str, str]:
    """value -> description, as zsh (type, value, help lines) or fish (value TAB help) get them."""
    done = complete(shell, line, db=db)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    if shell == "zsh":
        # click writes `_` for an item without a description
        return {lines[i + 1]: lines[i + 2].removeprefix("_") for i in range(0, len(lines), 3)}
    pairs = (row.split(",", 1)[1].partition("\t") for row in lines)
    return {value: help_ for value, _, help_ in pairs}


# --- customers ---------------------------------------------------------------------------


def test_customer_refs_complete_to_emails_by_email_prefix(data: Path) -> None:
    assert offered("ocx customer show p.r", data) == ["p.raman@acme.example"]
    assert offered("ocx customer show Margo@", data) == ["margo@example.com"]


def test_customer_refs_complete_by_the_beginning_of_any_word_of_the_name(data: Path) -> None:
    assert offered("ocx customer show lan", data) == ["margo@example.com"]
    assert offered("ocx customer show RAM", data) == ["p.raman@acme.example"]
    # Zoë by zoe, and Martin by mar beside margo's address: by email
    assert offered("ocx customer show zoe", data) == ["zm@shop.example"]
    assert offered("ocx customer show mar", data) == ["margo@example.com", "zm@shop.example"]


def test_an_empty_customer_ref_offers_customers_by_email(data: Path) -> None:
    assert offered("ocx customer show ", data) == [
        "margo@example.com", "nameless@example.org", "p.raman@acme.example", "zm@shop.example",
    ]  # fmt: skip


def test_nothing_matches_offers_nothing(data: Path) -> None:
    assert offered("ocx customer show qqq", data) == []
    assert offered("ocx customer show @", data) == []


@pytest.mark.parametrize(
    "line",
    [
        "ocx customer note lan",
        "ocx customer timeline lan",
        "ocx customer merge lan",
        "ocx customer merge x lan",
        "ocx customer forget lan",
        "ocx customer export lan",
        "ocx promise add lan",
        "ocx promise list --customer lan",
        "ocx cadence set lan",
        "ocx incident contact INC-1 lan",
        "ocx incident resolve INC-1 --customer lan",
    ],
)
def test_every_customer_ref_completes(data: Path, line: str) -> None:
    assert offered(line, data) == ["margo@example.com"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_customers_are_described_by_their_name_in_zsh_and_fish(data: Path, shell: str) -> None:
    assert described(shell, "ocx customer show mar", data) == {
        "margo@example.com": "Margo Lane", "zm@shop.example": "Zoë Martin",
    }  # fmt: skip
    assert described(shell, "ocx customer show name", data) == {"nameless@example.org": ""}


def test_a_typed_db_option_is_the_database_completed_from(data: Path, tmp_path: Path) -> None:
    elsewhere = {"OCX_DB": str(tmp_path / "nothing-here.db")}
    assert offered(f"ocx --db {data} customer show lan", None, extra=elsewhere) == [
        "margo@example.com"
    ]


# --- incidents, promises, handles, channels, importers ------------------------------------


def test_incidents_complete_as_inc_n_newest_first(data: Path) -> None:
    assert offered("ocx incident next ", data) == ["INC-2", "INC-1"]
    assert offered("ocx incident show inc-", data) == ["INC-2", "INC-1"]
    assert offered("ocx incident cases INC-1", data) == ["INC-1"]
    assert offered("ocx incident update 2", data) == ["INC-2"]
    assert offered("ocx postmortem new I", data) == ["INC-2", "INC-1"]
    assert offered("ocx incident show 3", data) == []


def test_incidents_are_described_by_their_title(data: Path) -> None:
    assert described("zsh", "ocx incident show ", data) == {
        "INC-2": "Login slow", "INC-1": "Bank sync failing",
    }  # fmt: skip


def test_promise_ids_complete_open_ones_for_done_and_any_for_show(data: Path) -> None:
    assert offered("ocx promise done ", data) == ["1"]
    assert offered("ocx promise snooze 1", data) == ["1"]
    assert offered("ocx promise cancel 2", data) == []
    assert offered("ocx promise show ", data) == ["2", "1"]
    assert described("fish", "ocx promise show ", data) == {
        "2": "sam: Send the fix (done)", "1": "alex: Call back",
    }  # fmt: skip


@pytest.mark.parametrize(
    "line",
    [
        "ocx due --owner ",
        "ocx promise add x y --owner ",
        "ocx promise list --owner ",
        "ocx report promises --owner ",
        "ocx incident new T --lead ",
        "ocx incident next INC-1 --concierge ",
        "ocx incident fanout INC-1 --concierge ",
        "ocx postmortem new INC-1 --reviewer ",
        "ocx postmortem action 1 T --owner ",
        "ocx team edit ",
    ],
)
def test_team_handles_complete(data: Path, line: str) -> None:
    assert offered(line, data) == ["alex", "sam"]
    assert offered(line + "S", data) == ["sam"]


def test_handles_are_described_by_the_members_name(data: Path) -> None:
    assert described("zsh", "ocx due --owner ", data) == {"alex": "Alex Kim", "sam": "Sam Rivera"}


@pytest.mark.parametrize(
    "line",
    ["ocx notify test ", "ocx team add kim --channel ", "ocx customer edit x --channel "],
)
def test_channels_complete_from_ocx_toml(data: Path, line: str) -> None:
    assert offered(line, data) == ["ops-hook", "ops-mail"]
    assert offered(line + "ops-m", data) == ["ops-mail"]
    assert described("fish", line, data) == {"ops-hook": "webhook", "ops-mail": "email"}


def test_importer_names_complete_and_are_cached(data: Path, tmp_path: Path) -> None:
    names = offered("ocx import ", data)
    assert {"csv", "zendesk"} <= set(names)
    assert offered("ocx import zen", data) == ["zendesk"]
    cache = tmp_path / "cache" / "ocx" / "plugin-importers.json"
    assert set(json.loads(cache.read_text(encoding="utf-8"))["importers"]) == set(names)
    assert offered("ocx import ", data) == names  # from the cache this time


# --- cheap, quiet, read-only ----------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("content", [None, b"", b"this is not a database" * 100])
def test_a_missing_or_broken_database_offers_nothing_quietly(
    tmp_path: Path, shell: str, content: bytes | None
) -> None:
    path = tmp_path / "broken.db"
    if content is not None:
        path.write_bytes(content)
    for line in ("ocx customer show m", "ocx incident next ", "ocx promise done ",
                 "ocx due --owner "):  # fmt: skip
        done = complete(shell, line, db=path)
        assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", ""), line


def test_a_database_of_another_program_offers_nothing_quietly(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (x)")
    done = complete("bash", "ocx customer show m", db=path)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "", "")


def test_completion_never_writes_to_the_database(data: Path) -> None:
    before = settled(data)  # the file's bytes; on PostgreSQL, every row
    for line in ("ocx customer show m", "ocx incident next ", "ocx promise show ",
                 "ocx due --owner "):  # fmt: skip
        assert offered(line, data)
    assert settled(data) == before


def test_completing_a_customer_loads_neither_rich_nor_plugins(data: Path) -> None:
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.stderr.write(json.dumps(sorted(sys.modules))))\n"
        "from ocx.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "_OCX_COMPLETE": "bash_complete", "OCX_DB": str(data),
           "COMP_WORDS": "ocx customer show lan", "COMP_CWORD": "3"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.stdout.splitlines() == ["plain,margo@example.com"]
    loaded = set(json.loads(done.stderr))
    assert not {"rich", "pluggy", "ocx.pluginhost"} & loaded
