"""`ocx init`, where the database and config live, `ocx config`, and the global behaviour every
command shares: --version, OCX_NOW, errors and --debug."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import ocx
from ocx.store import open_store
from ocx.testing import connect

if TYPE_CHECKING:
    from conftest import AssertError, Dump, LoadJson, Rows, Run

TABLES = {"customers", "tags", "customer_sources", "timeline", "migrations", "customer_search"}
TableNames = Callable[[Path], set[str]]
Emails = Callable[[], list[str]]
SAMPLE_EMAILS = ["alecia@example.com", "jim@example.com", "judy@example.com", "margo@example.com"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def table_names(rows: Rows) -> Callable[[Path], set[str]]:
    def names(path: Path) -> set[str]:
        return {
            r["name"] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    return names


@pytest.fixture
def emails(run: Run, load_json: LoadJson) -> Callable[[], list[str]]:
    """emails(): every customer's email, as `customer list --json` orders them."""
    return lambda: [c["email"] for c in load_json(run("customer", "list", "--json"))]


def write(db: Path | str, *statements: str) -> None:
    """Change the database behind ocx's back, as another program would, and commit."""
    conn = connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        if isinstance(db, Path):
            conn.commit()  # a PostgreSQL connection from connect() commits each statement
    finally:
        conn.close()


def write_config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --- ocx init ------------------------------------------------------------------------------


def test_init_creates_the_database_and_its_folders_and_prints_the_path(
    run_bare: Run, tmp_path: Path, rows: Rows, table_names: TableNames
) -> None:
    target = tmp_path / "deep" / "er" / "team.db"
    result = run_bare("--db", str(target), "init")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{target}\n"
    assert target.is_file()
    assert table_names(target) >= TABLES
    migrations = rows(target, "SELECT name FROM migrations ORDER BY id")
    assert migrations[0] == {"name": "0001_customers"}


def test_init_twice_keeps_the_data(
    run: Run, initialized: Path, rows: Rows, dump: Dump, emails: Emails
) -> None:
    assert run("customer", "add", "jim@example.com", "--name", "Jim").exit_code == 0
    migrations = rows(initialized, "SELECT * FROM migrations")
    before = dump(initialized)
    again = run("init")
    assert again.exit_code == 0, again.output
    assert again.stdout == f"{initialized}\n"
    assert dump(initialized) == before
    assert rows(initialized, "SELECT * FROM migrations") == migrations
    assert emails() == ["jim@example.com"]


def test_init_sample_adds_the_demo_customers_once(
    run: Run, db_path: Path, dump: Dump, emails: Emails
) -> None:
    first = run("init", "--sample")
    assert first.exit_code == 0, first.output
    assert first.stdout == f"{db_path}\n"
    assert "4 sample customers added" in first.stderr
    assert sorted(emails()) == SAMPLE_EMAILS
    before = dump(db_path)
    second = run("init", "--sample")
    assert second.exit_code == 0, second.output
    assert "already there" in second.stderr
    assert dump(db_path) == before


def test_sample_customers_carry_their_preferences_and_context(
    run: Run, db_path: Path, load_json: LoadJson
) -> None:
    assert run("init", "--sample").exit_code == 0

    def profile(ref: str) -> dict:
        return load_json(run("customer", "show", ref, "--json"))

    jim, margo, alecia = (profile(f"{n}@example.com") for n in ("jim", "margo", "alecia"))
    judy = profile("judy@example.com")
    assert jim["pace"] == "slow" and "step by step" in jim["context"]
    assert margo["pace"] == "fast" and "hurry" in margo["context"]
    assert "vet" in alecia["context"]
    assert "squeaky-wheel" in judy["tags"]
    assert any(e["kind"] == "contact" for e in judy["timeline"])
    assert [c["email"] for c in load_json(run("customer", "search", "vet", "--json"))] == [
        "alecia@example.com"
    ]


def test_init_adds_sample_data_to_an_existing_database(
    run: Run, initialized: Path, emails: Emails
) -> None:
    assert run("customer", "add", "mine@example.com").exit_code == 0
    assert run("init", "--sample").exit_code == 0
    assert sorted(emails()) == sorted([*SAMPLE_EMAILS, "mine@example.com"])


@pytest.mark.sqlite_only
def test_the_database_uses_wal_and_declares_its_foreign_keys(initialized: Path) -> None:
    conn = sqlite3.connect(initialized)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for table in ("tags", "customer_sources", "timeline"):
            targets = {row[2] for row in conn.execute(f"PRAGMA foreign_key_list({table})")}
            assert targets == {"customers"}, table
    finally:
        conn.close()


def test_the_database_declares_its_foreign_keys_on_either_engine(initialized: Path) -> None:
    store = open_store(initialized)
    try:
        for table in ("tags", "customer_sources", "timeline"):
            targets = {target for target, _ in store.engine.references(store.conn, table)}
            assert targets == {"customers"}, table
    finally:
        store.close()


def test_init_writes_a_private_starter_config(run: Run, db_path: Path, env: Path) -> None:
    assert run("init").exit_code == 0
    config = env / "ocx.toml"
    assert mode(config) == 0o600
    assert tomllib.loads(config.read_text()) == {"user": "tester", "timezone": "UTC"}


def test_init_starter_config_takes_the_system_time_zone(
    run: Run, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    assert run("init").exit_code == 0
    assert tomllib.loads((env / "ocx.toml").read_text())["timezone"] == "Europe/Paris"


def test_init_leaves_an_existing_config_alone(run: Run, env: Path) -> None:
    write_config(env / "ocx.toml", 'user = "alex"\n# mine\n')
    assert run("init").exit_code == 0
    assert (env / "ocx.toml").read_text() == 'user = "alex"\n# mine\n'


# --- where things live ---------------------------------------------------------------------


def test_db_option_beats_ocx_db(
    run_bare: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCX_DB", str(tmp_path / "from-env.db"))
    result = run_bare("--db", str(tmp_path / "from-option.db"), "init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-option.db").is_file()
    assert not (tmp_path / "from-env.db").exists()


def test_ocx_db_beats_ocx_home(
    run_bare: Run, tmp_path: Path, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCX_DB", str(tmp_path / "from-env.db"))
    result = run_bare("init")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'from-env.db'}\n"
    assert not (env / "ocx.db").exists()
    assert (env / "ocx.toml").is_file()  # OCX_HOME still says where the config is


def test_ocx_home_holds_the_database_and_config(run_bare: Run, env: Path, rows: Rows) -> None:
    result = run_bare("init")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{env / 'ocx.db'}\n"
    assert (env / "ocx.db").is_file() and (env / "ocx.toml").is_file()
    assert run_bare("customer", "add", "a@example.com").exit_code == 0
    assert rows(env / "ocx.db", "SELECT email FROM customers") == [{"email": "a@example.com"}]


def test_without_ocx_home_the_config_sits_beside_the_database(
    run_bare: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCX_HOME")
    db = tmp_path / "team" / "ocx-team.db"
    assert run_bare("--db", str(db), "init").exit_code == 0
    assert (tmp_path / "team" / "ocx.toml").is_file()
    assert run_bare("--db", str(db), "config", "set", "user", "alex").exit_code == 0
    assert tomllib.loads((tmp_path / "team" / "ocx.toml").read_text())["user"] == "alex"
    shown = run_bare("--db", str(db), "config", "show")
    assert shown.stdout.splitlines()[0] == f"# {tmp_path / 'team' / 'ocx.toml'}"


def test_without_any_setting_the_database_is_in_the_user_data_dir(
    run_bare: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OCX_HOME")
    result = run_bare("init")
    assert result.exit_code == 0, result.output
    expected = tmp_path / "data" / "ocx" / "ocx.db"  # XDG_DATA_HOME from the env fixture
    assert result.stdout == f"{expected}\n"
    assert expected.is_file()
    assert (expected.parent / "ocx.toml").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "list"],
        ["customer", "show", "1"],
        ["customer", "add", "a@example.com"],
        ["customer", "edit", "1", "--name", "x"],
        ["customer", "tag", "1", "vip"],
        ["customer", "note", "1", "hello"],
        ["customer", "contact", "1", "hello"],
        ["customer", "timeline", "1"],
        ["customer", "search", "x"],
        ["customer", "merge", "1", "2"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_command_without_a_database_fails_and_creates_nothing(
    run_bare: Run, tmp_path: Path, args: list[str], assert_error: AssertError
) -> None:
    missing = tmp_path / "nowhere" / "ocx.db"
    line = assert_error(run_bare("--db", str(missing), *args))
    assert line == f"Error: no ocx database at {missing}; run 'ocx init' or pass --db"
    assert not missing.parent.exists()


def test_the_missing_database_message_names_the_resolved_path(
    run_bare: Run, env: Path, assert_error: AssertError
) -> None:
    line = assert_error(run_bare("customer", "list"))
    assert line == f"Error: no ocx database at {env / 'ocx.db'}; run 'ocx init' or pass --db"
    assert not (env / "ocx.db").exists()


def test_config_and_plugins_work_without_a_database(run_bare: Run, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ocx.db"
    for args in (["config", "show"], ["plugins"]):
        result = run_bare("--db", str(missing), *args)
        assert result.exit_code == 0, result.output
    assert not missing.exists()


# --- databases ocx must not touch ----------------------------------------------------------


@pytest.mark.parametrize("command", [["customer", "list"], ["init"]])
def test_a_database_from_a_newer_ocx_is_refused_and_not_changed(
    run: Run, initialized: Path, command: list[str], dump: Dump, assert_error: AssertError
) -> None:
    assert run("customer", "add", "jim@example.com").exit_code == 0
    write(initialized, "INSERT INTO migrations (name, applied_at) "
          "VALUES ('9999_from_the_future', '2030-01-01T00:00:00Z')")  # fmt: skip
    before = dump(initialized)
    line = assert_error(run(*command))
    assert "9999_from_the_future" in line and "newer ocx" in line
    assert dump(initialized) == before


@pytest.mark.parametrize("command", [["customer", "list"], ["customer", "show", "1"], ["init"]])
def test_another_programs_database_is_refused_and_not_changed(
    run: Run, db_path: Path, command: list[str], dump: Dump, assert_error: AssertError
) -> None:
    write(db_path, "CREATE TABLE recipes (name TEXT)", "INSERT INTO recipes VALUES ('pancakes')")
    before = dump(db_path)
    line = assert_error(run(*command))
    assert "not an ocx database" in line
    assert dump(db_path) == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("command", [["customer", "list"], ["customer", "show", "1"], ["init"]])
def test_another_programs_sqlite_file_is_refused_and_not_changed(
    run: Run, db_path: Path, command: list[str], assert_error: AssertError
) -> None:
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.execute("INSERT INTO recipes VALUES ('pancakes')")
    conn.close()
    before = db_path.read_bytes()
    line = assert_error(run(*command))
    assert "not an ocx database" in line
    assert db_path.read_bytes() == before  # not even its journal mode changes


@pytest.mark.sqlite_only
@pytest.mark.parametrize("command", [["customer", "list"], ["init"]])
def test_a_file_that_is_not_sqlite_is_refused_and_not_changed(
    run: Run, db_path: Path, command: list[str], assert_error: AssertError
) -> None:
    db_path.write_text("shopping list: eggs, flour, milk\n" * 20)
    line = assert_error(run(*command))
    assert str(db_path) in line and "not a database" in line
    assert db_path.read_text() == "shopping list: eggs, flour, milk\n" * 20


# --- ocx config ----------------------------------------------------------------------------


def test_config_show_prints_the_effective_config(
    run: Run, initialized: Path, env: Path, load_json: LoadJson
) -> None:
    result = run("config", "show")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"# {env / 'ocx.toml'}"
    # The defaults the issues name: escalate_after 4h, max_attempts 5, squeaky 3 in 7 days,
    # templates 2 s and 65536 bytes a message, replies within 1h/4h/1d by pace, owned by the
    # configured user.
    expected = {"user": "tester", "timezone": "UTC", "escalate_after": "4h", "max_attempts": 5,
                "confirm_after": "1d",
                "squeaky_contacts": 3, "squeaky_days": 7, "busy_timeout": 30,
                "template_timeout": 2, "template_max_bytes": 65536,
                "reply_within": {"fast": "1h", "normal": "4h", "slow": "1d"},
                "inbox_owner": "tester"}  # fmt: skip
    assert tomllib.loads(result.stdout) == expected
    assert load_json(run("config", "show", "--json")) == expected


def test_config_show_without_a_file_shows_the_effective_user(
    run: Run, env: Path, monkeypatch: pytest.MonkeyPatch, load_json: LoadJson
) -> None:
    monkeypatch.setenv("USER", "sam")
    assert load_json(run("config", "show", "--json"))["user"] == "sam"
    assert not (env / "ocx.toml").exists()


SECRET_CONFIG = """\
user = "alex"
password = "hunter2"
api_token = "tok-123456"

[channels.email]
type = "email"
host = "smtp.example.com"
smtp_password_env = "SMTP_PW"
smtp_password = "also-hunter2"
"""


def test_config_show_never_prints_a_secret(
    run: Run, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(env / "ocx.toml", SECRET_CONFIG)
    monkeypatch.setenv("SMTP_PW", "the-real-smtp-secret")
    text = run("config", "show")
    raw = run("config", "show", "--json")
    for result in (text, raw):
        assert result.exit_code == 0, result.output
        for secret in ("hunter2", "tok-123456", "the-real-smtp-secret"):
            assert secret not in result.output
        assert "SMTP_PW" in result.stdout
    shown = json.loads(raw.stdout)
    assert shown["password"] == shown["api_token"] == "********"
    assert shown["channels"]["email"] == {
        "type": "email", "host": "smtp.example.com", "smtp_password_env": "SMTP_PW",
        "smtp_password": "********",
    }  # fmt: skip
    assert tomllib.loads(text.stdout)["channels"]["email"]["smtp_password_env"] == "SMTP_PW"


def test_config_set_writes_keys_and_keeps_the_file_private(
    run: Run, env: Path, load_json: LoadJson
) -> None:
    for key, value in [
        ("user", "alex"), ("timezone", "Europe/Paris"),
        ("channels.email.host", "smtp.example.com"), ("channels.email.port", "587"),
        ("channels.email.smtp_password_env", "SMTP_PW"),
    ]:  # fmt: skip
        result = run("config", "set", key, value)
        assert result.exit_code == 0, result.output
    config = env / "ocx.toml"
    assert mode(config) == 0o600
    assert tomllib.loads(config.read_text()) == {
        "user": "alex", "timezone": "Europe/Paris",
        "channels": {"email": {"host": "smtp.example.com", "port": 587,
                               "smtp_password_env": "SMTP_PW"}},
    }  # fmt: skip
    assert load_json(run("config", "show", "--json"))["channels"]["email"]["port"] == 587


def test_config_set_on_a_loose_file_makes_it_private(run: Run, env: Path) -> None:
    write_config(env / "ocx.toml", 'user = "alex"\n')
    (env / "ocx.toml").chmod(0o644)
    assert run("config", "set", "timezone", "UTC").exit_code == 0
    assert mode(env / "ocx.toml") == 0o600


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("timezone", "Mars/Olympus_Mons", "unknown time zone"),
        ("user", "  ", "user cannot be empty"),
        ("password", "hunter2", "secrets are not stored"),
        ("channels.email.api_token", "tok", "secrets are not stored"),
        ("channels.email.smtp_password_env", "hunter2!", "names an environment variable"),
        ("user.name", "alex", "holds a value"),
        ("channels", "x", "is a table"),
        ("bad key", "x", "not valid"),
    ],
)
def test_config_set_refuses_bad_values_and_leaves_the_file(
    run: Run,
    initialized: Path,
    env: Path,
    key: str,
    value: str,
    message: str,
    assert_error: AssertError,
) -> None:
    assert run("config", "set", "channels.email.host", "smtp.example.com").exit_code == 0
    before = (env / "ocx.toml").read_bytes()
    line = assert_error(run("config", "set", key, value))
    assert message in line
    assert (env / "ocx.toml").read_bytes() == before


def test_config_rejects_a_broken_toml_file_with_a_clear_error(
    run: Run, initialized: Path, env: Path, assert_error: AssertError
) -> None:
    write_config(env / "ocx.toml", "user = \n")
    line = assert_error(run("config", "show"))
    assert str(env / "ocx.toml") in line and "not valid TOML" in line


def test_times_are_shown_in_the_configured_time_zone(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    assert run("customer", "add", "jim@example.com", env={"OCX_NOW": "2026-07-01T12:00:00Z"}
               ).exit_code == 0  # fmt: skip
    assert "2026-07-01 12:00" in run("customer", "timeline", "jim@example.com").stdout
    assert run("config", "set", "timezone", "America/Chicago").exit_code == 0
    out = run("customer", "timeline", "jim@example.com").stdout
    assert "2026-07-01 07:00" in out and "12:00" not in out
    # JSON stays UTC whatever the zone
    [entry] = load_json(run("customer", "timeline", "jim@example.com", "--json"))
    assert entry["at"] == "2026-07-01T12:00:00Z"


# --- global behaviour ----------------------------------------------------------------------


def test_version(run_bare: Run) -> None:
    result = run_bare("--version")
    assert result.exit_code == 0
    assert result.stdout == f"ocx, version {ocx.__version__}\n"


@pytest.mark.parametrize(
    ("pinned", "stored"),
    [
        ("2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z"),
        ("2026-11-25T11:00:00+01:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00", "2026-11-25T10:00:00Z"),
        ("2026-11-25T10:00:00.999Z", "2026-11-25T10:00:00Z"),
    ],
)
def test_ocx_now_pins_the_clock(
    run: Run, initialized: Path, pinned: str, stored: str, rows: Rows
) -> None:
    assert run("customer", "add", "a@example.com", env={"OCX_NOW": pinned}).exit_code == 0
    assert rows(initialized, "SELECT created_at FROM customers") == [{"created_at": stored}]
    [entry] = rows(initialized, "SELECT at FROM timeline")
    assert entry["at"] == stored


@pytest.mark.parametrize("pinned", ["yesterday", "2026-13-01T00:00:00Z", "soon"])
def test_a_bad_ocx_now_is_an_error_and_writes_nothing(
    run: Run, initialized: Path, pinned: str, dump: Dump, assert_error: AssertError
) -> None:
    before = dump(initialized)
    line = assert_error(run("customer", "add", "a@example.com", env={"OCX_NOW": pinned}))
    assert f"OCX_NOW={pinned!r}" in line and "ISO 8601" in line
    assert dump(initialized) == before


def _ocx(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real program in its own process: what a user's terminal shows on an error."""
    full_env = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "ocx", "--db", str(db), *args],
        capture_output=True, text=True, env=full_env, timeout=60, check=False,
    )  # fmt: skip


def test_errors_have_no_traceback_by_default(initialized: Path) -> None:
    for env in ({}, {"OCX_DEBUG": "0"}):
        result = _ocx(initialized, "customer", "show", "nobody@example.com", **env)
        assert result.returncode == 1
        assert result.stderr == "Error: no customer matches 'nobody@example.com'\n"
        assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--debug"], {}), ([], {"OCX_DEBUG": "1"})],
    ids=["--debug", "OCX_DEBUG=1"],
)
def test_debug_shows_the_traceback(initialized: Path, args: list[str], env: dict) -> None:
    result = _ocx(initialized, *args, "customer", "show", "nobody@example.com", **env)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "NotFound: no customer matches 'nobody@example.com'" in result.stderr


def test_an_unexpected_failure_is_one_line_too(
    run: Run, initialized: Path, dump: Dump, assert_error: AssertError
) -> None:
    """Even a failure ocx did not foresee (here: a trigger refusing writes) is one line."""
    if isinstance(initialized, Path):
        write(initialized, "CREATE TRIGGER no_notes BEFORE INSERT ON timeline "
              "BEGIN SELECT RAISE(ABORT, 'timeline is read-only'); END")  # fmt: skip
    else:
        write(initialized, "CREATE FUNCTION no_notes() RETURNS trigger LANGUAGE plpgsql AS $$ "
              "BEGIN RAISE EXCEPTION 'timeline is read-only'; END $$",
              "CREATE TRIGGER no_notes BEFORE INSERT ON timeline FOR EACH ROW "
              "EXECUTE FUNCTION no_notes()")  # fmt: skip
    before = dump(initialized)
    line = assert_error(run("customer", "add", "a@example.com"))
    assert "timeline is read-only" in line
    assert dump(initialized) == before


def test_config_show_hides_credentials_and_query_strings_in_urls(
    run: Run, initialized: Path, env: Path, load_json: LoadJson
) -> None:
    (env / "ocx.toml").write_text(
        'user = "tester"\n[channels.hook]\ntype = "webhook"\n'
        'url = "https://bob:s3cret@hooks.example/x?token=zzz"\n',
        encoding="utf-8",
    )
    for args in (("config", "show"), ("config", "show", "--json")):
        result = run(*args)
        assert "s3cret" not in result.output and "zzz" not in result.output
        assert "bob" not in result.output and "hooks.example/x" in result.output


@pytest.mark.sqlite_only
def test_a_new_database_is_readable_by_its_owner_only(run: Run, db_path: Path) -> None:
    assert run("init").exit_code == 0
    assert db_path.stat().st_mode & 0o777 == 0o600
    assert run("customer", "add", "jim@example.com").exit_code == 0  # the WAL file follows it
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_mode & 0o077 == 0
