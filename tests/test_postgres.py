"""ocx on PostgreSQL: naming the database (--db, OCX_DB, the `db` key), a database without
ocx's schema, `ocx init`, migrations when several hosts start at once, the driver as an
extra, and passwords kept out of output. A real server (ocx.testing.postgres) serves these
tests in both runs of the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest

from ocx.store.migrations import MIGRATIONS
from ocx.testing import postgres, query

# Runs against the session's PostgreSQL server in the SQLite run too: not again on PostgreSQL.
pytestmark = pytest.mark.postgres_itself

if TYPE_CHECKING:
    from conftest import AssertError, LoadJson, Run


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new empty PostgreSQL database on the session's server (started on first use)."""
    try:
        server = postgres.server()
    except RuntimeError as exc:  # no PostgreSQL binaries on this machine: said, not hidden
        pytest.skip(str(exc))
    url = server.create_database()
    yield url
    server.drop_database(url)


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname or ''}"))


def ocx_process(*args: str, env: dict[str, str] | None = None, code: str | None = None
                ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The installed ocx in a process of its own (as cron or a second host runs it)."""
    program = code or "from ocx.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


# --- a database without ocx's schema ---------------------------------------------------------


def test_a_database_without_ocx_schema_is_named_and_init_is_advised(
    run_bare: Run, pg_url: str, assert_error: AssertError
) -> None:
    line = assert_error(run_bare("--db", pg_url, "customer", "list"))
    assert line == f"Error: no ocx database at {pg_url}; run 'ocx init'"
    assert query(pg_url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'") == [
        {"n": 0}
    ]


def test_init_creates_the_schema_once_and_is_harmless_to_repeat(
    run_bare: Run, pg_url: str, load_json: LoadJson
) -> None:
    first = run_bare("--db", pg_url, "init")
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == pg_url
    names = [r["name"] for r in query(pg_url, "SELECT name FROM migrations ORDER BY id")]
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
    assert run_bare("--db", pg_url, "customer", "add", "a@example.com").exit_code == 0
    again = run_bare("--db", pg_url, "init")
    assert again.exit_code == 0, again.output
    assert len(query(pg_url, "SELECT name FROM migrations")) == len(MIGRATIONS)
    listed = load_json(run_bare("--db", pg_url, "customer", "list", "--json"))
    assert [c["email"] for c in listed] == ["a@example.com"]


def test_init_refuses_a_database_that_holds_another_programs_tables(
    run_bare: Run, pg_url: str, assert_error: AssertError
) -> None:
    conn = postgres.server()._connect(urlsplit(pg_url).path.lstrip("/"), postgres.ROLE)
    conn.execute("CREATE TABLE invoices (id int)")
    conn.close()
    line = assert_error(run_bare("--db", pg_url, "init"))
    assert "is not an ocx database" in line and pg_url in line
    assert query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [
        {"tablename": "invoices"}
    ]


def test_several_hosts_starting_at_once_migrate_once(pg_url: str) -> None:
    """Six processes open a new database at the same moment: the advisory write lock lets
    one create the schema; the others wait and find it made."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from ocx.cli import main; main()", "--db", pg_url, "init"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in results] == [0] * 6, results
    names = [r["name"] for r in query(pg_url, "SELECT name FROM migrations")]
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)


def test_a_server_that_cannot_be_reached_is_one_line(
    run_bare: Run, tmp_path: Path, assert_error: AssertError
) -> None:
    url = f"postgresql://nobody:hunter2@/ocx?host={tmp_path}"
    line = assert_error(run_bare("--db", url, "customer", "list"))
    assert line.startswith("Error: cannot open database postgresql://nobody:********@/ocx")
    assert "hunter2" not in line


# --- where the database is named -----------------------------------------------------------


def test_the_db_key_names_the_database_after_db_and_ocx_db(
    run_bare: Run, pg_url: str, env: Path, tmp_path: Path, load_json: LoadJson
) -> None:
    (env).mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(f'db = "{pg_url}"\n', encoding="utf-8")
    assert run_bare("init").exit_code == 0
    assert run_bare("customer", "add", "team@example.com").exit_code == 0
    assert [r["email"] for r in query(pg_url, "SELECT email FROM customers")] == [
        "team@example.com"
    ]
    assert not (env / "ocx.db").exists()  # the key wins over $OCX_HOME/ocx.db
    own = tmp_path / "own.db"
    assert run_bare("init", env={"OCX_DB": str(own)}).exit_code == 0
    assert load_json(run_bare("customer", "list", "--json", env={"OCX_DB": str(own)})) == []
    flag = tmp_path / "flag.db"
    assert run_bare("--db", str(flag), "init", env={"OCX_DB": str(own)}).exit_code == 0
    assert run_bare("--db", str(flag), "customer", "add", "f@example.com").exit_code == 0
    assert load_json(run_bare("customer", "list", "--json", env={"OCX_DB": str(own)})) == []
    listed = load_json(run_bare("customer", "list", "--json"))
    assert [c["email"] for c in listed] == ["team@example.com"]


def test_ocx_db_accepts_postgres_scheme_too(run_bare: Run, pg_url: str) -> None:
    url = "postgres://" + pg_url.split("://", 1)[1]
    assert run_bare("init", env={"OCX_DB": url}).exit_code == 0
    assert run_bare("customer", "add", "p@example.com", env={"OCX_DB": url}).exit_code == 0
    assert query(pg_url, "SELECT email FROM customers") == [{"email": "p@example.com"}]


def test_config_set_db_refuses_a_password_without_echoing_it(
    run_bare: Run, pg_url: str, env: Path, assert_error: AssertError
) -> None:
    line = assert_error(run_bare("config", "set", "db", with_password(pg_url, "s3cret-pw")))
    assert "s3cret-pw" not in line and "password" in line
    assert "PGPASSWORD" in line and "pgpass" in line  # where libpq finds it instead
    assert not (env / "ocx.toml").exists() or "s3cret" not in (env / "ocx.toml").read_text()
    assert run_bare("config", "set", "db", pg_url).exit_code == 0
    assert run_bare("init").exit_code == 0


def test_config_show_masks_a_password_written_in_by_hand(run_bare: Run, env: Path) -> None:
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(
        'db = "postgresql://ocx:s3cret-pw@db.example.com:5432/support"\n', encoding="utf-8"
    )
    shown = run_bare("config", "show", "--json")
    assert shown.exit_code == 0, shown.output
    assert "s3cret-pw" not in shown.output
    assert json.loads(shown.stdout)["db"].startswith("postgresql://********@db.example.com:5432")


# --- the driver is an extra ----------------------------------------------------------------


def test_without_the_driver_a_url_says_which_extra_to_install(pg_url: str) -> None:
    done = ocx_process(
        "--db", pg_url, "customer", "list",
        code="import sys; sys.modules['psycopg'] = None; from ocx.cli import main; main()",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        'Error: the PostgreSQL driver is not installed; run: pip install "ocx[postgresql]"'
    ]


def test_ocx_on_a_file_never_imports_the_driver(tmp_path: Path) -> None:
    db = tmp_path / "ocx.db"
    assert ocx_process("--db", str(db), "init").returncode == 0
    code = (
        "import atexit, sys; atexit.register(lambda: print('psycopg' in sys.modules, "
        "file=sys.stderr)); from ocx.cli import main; main()"
    )
    for args in (("due",), ("customer", "list"), ("--help",)):
        done = ocx_process("--db", str(db), *args, code=code)
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "False", args
