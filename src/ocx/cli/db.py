"""`ocx db ...`: copy a whole database between SQLite and PostgreSQL, and check one."""

from __future__ import annotations

from pathlib import Path

import click

from ocx import config as cfg
from ocx import render
from ocx.cli.app import App
from ocx.cli.options import json_option


def _database(value: str, what: str) -> Path | str:
    """A file path or a postgresql:// URL, as --db reads it."""
    if not value.strip():
        raise click.BadParameter("give a file path or a postgresql:// URL", param_hint=what)
    found = cfg.explicit_db(value)
    assert found is not None
    return found


@click.group("db")
def db_group() -> None:
    """The database itself: copy it between SQLite and PostgreSQL, check it.

    Example: ocx db copy ocx.db postgresql://ocx@db.internal/ocx
    """


@db_group.command("copy")
@click.argument("source")
@click.argument("target")
@click.option("--replace", is_flag=True,
              help="Overwrite a TARGET that already holds an ocx database.")  # fmt: skip
@json_option
@click.pass_obj
def copy(app: App, source: str, target: str, replace: bool, as_json: bool) -> None:
    """Copy the whole ocx database SOURCE into TARGET (a file or a postgresql:// URL).

    One transaction on the target: the schema, every table with its ids, the search index
    rebuilt; then every table's row count and checksum are compared with the source's. A
    TARGET file that does not exist is created; a PostgreSQL TARGET must exist (empty).

    Example: ocx db copy ~/.local/share/ocx/ocx.db postgresql://ocx@db.internal/ocx
    """
    from ocx import dbcopy

    done = dbcopy.copy(
        _database(source, "SOURCE"), _database(target, "TARGET"),
        replace=replace, busy_timeout=cfg.busy_timeout(app.config),
    )  # fmt: skip
    if as_json:
        render.emit_json(done.to_json())
        return
    render.table(["Table", "Rows"], [(t.table, t.rows) for t in done.tables])
    render.message(
        f"copied {done.source} ({done.source_engine}) to {done.target} ({done.target_engine}"
        f"{', replaced' if done.replaced else ''}): {done.rows} rows in {len(done.tables)} "
        "tables; row counts and checksums match"
    )


@db_group.command("check")
@click.option("--against", metavar="DB",
              help="Also compare rows and checksums with this database (a file or a URL).")  # fmt: skip
@json_option
@click.pass_obj
def check(app: App, against: str | None, as_json: bool) -> None:
    """Check the database (--db, OCX_DB or ocx.toml's db): schema version, integrity, and
    each table's row count and checksum. Exit 1 when a problem is found. Changes nothing.

    Example: ocx db check --against backup.db || echo "look at the database"
    """
    from ocx import dbcopy

    report = dbcopy.check(
        app.db_path, against=_database(against, "--against") if against is not None else None,
        busy_timeout=cfg.busy_timeout(app.config),
    )  # fmt: skip
    if as_json:
        render.emit_json(report.to_json())
    else:
        _show(report)
    if not report.ok:
        raise click.exceptions.Exit(1)


def _show(report: object) -> None:
    from ocx.dbcopy import Report

    assert isinstance(report, Report)
    schema = report.schema
    render.message(f"database   {report.database} ({report.engine})")
    render.message(f"schema     {schema.state}: {schema.applied} of {schema.known} migrations")
    checks = ", ".join(f"{c.name} {'ok' if c.ok else 'FAILED'}" for c in report.checks)
    render.message(f"integrity  {checks}")
    if report.against is not None:
        verdict = "same rows and checksums" if report.against["same"] else "DIFFERENT"
        render.message(f"against    {report.against['database']} "
                       f"({report.against['engine']}): {verdict}")  # fmt: skip
    render.table(["Table", "Rows", "SHA-256"],
                 [(t.table, t.rows, t.sha256[:16]) for t in report.tables])  # fmt: skip
    for problem in report.problems:
        render.warn(f"problem: {problem}")
    render.message("ok" if report.ok else f"{len(report.problems)} problem(s) found")
