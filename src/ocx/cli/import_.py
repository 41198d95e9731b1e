"""`ocx import SOURCE PATH...`: bring customers and their history in from a helpdesk export."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import ocx.cli.complete as complete
from ocx import render
from ocx.cli.app import App
from ocx.cli.options import json_option
from ocx.errors import OcxError

# An import shows its progress (on a terminal) once it has run this long. The environment
# variable OCX_IMPORT_PROGRESS_SECONDS overrides it, for tests only
# (tests/test_import_progress.py); it is not a user setting.
PROGRESS_AFTER = 1.0


def _list_importers(app: App, as_json: bool) -> None:
    importers = app.plugins.importers()
    if as_json:
        render.emit_json(
            [{"name": i.name, "description": i.description} for i in importers.values()]
        )
        return
    render.table(["Importer", "Reads"], [(i.name, i.description) for i in importers.values()])


@click.command("import")
@click.argument("source", required=False, shell_complete=complete.importers)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--list", "list_only", is_flag=True, help="List installed importers and exit.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--skip-bad", is_flag=True, help="Import the good records; list each bad one.")
@click.option(
    "--strict",
    is_flag=True,
    help="A ticket left out (its customer not in the export, or opened by an agent) is an "
    "error too, instead of listed under skipped.",
)
@click.option(
    "--atomic",
    is_flag=True,
    help="One transaction for the whole import: all or nothing. Other commands that write "
    "wait for it (up to busy_timeout) instead of getting in between batches.",
)
@json_option
@click.pass_obj
def import_(
    app: App, source: str | None, paths: tuple[Path, ...], list_only: bool, dry_run: bool,
    skip_bad: bool, strict: bool, atomic: bool, as_json: bool,
) -> None:  # fmt: skip
    """Import customers, conversations and messages from a helpdesk export; run it again
    tomorrow and only what changed is updated.

    SOURCE is an importer (see --list); PATH an export folder or a single file. The import
    commits about once a second, between tickets, so other commands can write meanwhile; if
    it stops, every ticket is whole or absent, and running it again completes it.

    Example: ocx import zendesk ./exports/zendesk --dry-run
    """
    if list_only:
        _list_importers(app, as_json)
        return
    if not source:
        raise click.UsageError("give SOURCE and PATH, or --list to see the importers")
    importers = app.plugins.importers()
    importer = importers.get(source)
    if importer is None:
        names = ", ".join(sorted(importers)) or "none"
        raise OcxError(f"no importer named {source!r}; installed: {names}")
    if not paths:
        raise click.UsageError("give at least one PATH to import")
    from ocx import importing

    importing.check_paths(importer, paths)
    store = app.store
    if sys.stderr.isatty() and not as_json:
        label = f"Importing from {source}"
        after = importing.env_seconds("OCX_IMPORT_PROGRESS_SECONDS", PROGRESS_AFTER)
        with (
            importing.reading(paths) as export,
            render.import_progress(label, export, after=after) as progress,
        ):
            summary = importing.run(
                store, importer, paths, author=app.user, dry_run=dry_run, skip_bad=skip_bad,
                atomic=atomic, strict=strict, progress=progress,
            )  # fmt: skip
    else:
        summary = importing.run(
            store, importer, paths, author=app.user, dry_run=dry_run, skip_bad=skip_bad,
            atomic=atomic, strict=strict,
        )  # fmt: skip
    if as_json:
        render.emit_json(summary.to_json())
    else:
        render.import_summary(summary)
