"""`ocx postmortem ...`: blameless postmortems with tracked action items."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import click

import ocx.cli.complete as complete
from ocx import clock, render
from ocx.cli.app import App
from ocx.cli.options import WHEN, handle_option, json_option, no_header_option
from ocx.errors import OcxError


def _pm():  # type: ignore[no-untyped-def]
    from ocx import postmortems

    return postmortems


@click.group("postmortem")
def postmortem_group() -> None:
    """Blameless postmortems, prefilled from the incident, reviewed independently.

    Example: ocx postmortem new INC-7 --author alex --reviewer kim
    """


@postmortem_group.command("new")
@click.argument("incident", shell_complete=complete.incidents)
@handle_option("--author", help="Who writes it (default: config user).")
@handle_option("--reviewer", help="Independent reviewer (not the incident lead).")
@click.pass_obj
def new(app: App, incident: str, author: str | None, reviewer: str | None) -> None:
    """Create a postmortem prefilled from the incident's record; prints its id.

    Example: ocx postmortem new 7 --reviewer kim
    """
    found = _pm().new(app.store, incident, author=author or app.user, reviewer=reviewer, tz=app.tz)
    render.message(str(found.id))


@postmortem_group.command("show")
@click.argument("postmortem_id", metavar="ID")
@json_option
@click.pass_obj
def show(app: App, postmortem_id: str, as_json: bool) -> None:
    """Show the postmortem, its figures and its action items with their states.

    Example: ocx postmortem show 1 --json
    """
    found = _pm().get(app.store, postmortem_id)
    if as_json:
        render.emit_json(found.to_json())
        return
    render.message(f"Postmortem {found.id} for {found.incident} ({found.status}); author "
                   f"{found.author}, reviewer {found.reviewer or 'not set'}\n")  # fmt: skip
    render.message(_pm().export_markdown(found, app.tz).rstrip())


@postmortem_group.command("list")
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, as_json: bool, no_header: bool) -> None:
    """List postmortems, newest first.

    Example: ocx postmortem list --json
    """
    found = _pm().listing(app.store)
    if as_json:
        render.emit_json([
            {k: v for k, v in p.to_json().items() if k not in ("body", "events", "updates")}
            for p in found
        ])  # fmt: skip
    elif found:
        render.table(
            ["Id", "Incident", "Status", "Author", "Reviewer", "Actions open", "Updated"],
            [(p.id, p.incident, p.status, p.author, p.reviewer or "",
              sum(1 for a in p.actions if a.state == "open"),
              clock.local_text(p.updated_at, app.tz)) for p in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no postmortems")


@postmortem_group.command("edit")
@click.argument("postmortem_id", metavar="ID")
@click.pass_obj
def edit(app: App, postmortem_id: str) -> None:
    """Open the Markdown in $EDITOR; what you save is stored.

    Example: EDITOR=vim ocx postmortem edit 1
    """
    found = _pm().get(app.store, postmortem_id)
    if found.status == "published":  # refuse before the editor opens, not after the work
        raise OcxError(f"postmortem {found.id} is published and final")
    # $EDITOR first, as documented (click alone would prefer $VISUAL)
    edited = click.edit(
        found.body, editor=os.environ.get("EDITOR") or None, extension=".md", require_save=True
    )
    if edited is None:
        render.warn("nothing changed")
        return
    _pm().edit(app.store, found.id, edited)
    render.warn(f"postmortem {found.id} saved")


@postmortem_group.command("review")
@click.argument("postmortem_id", metavar="ID")
@click.argument("reviewer", metavar="HANDLE", shell_complete=complete.handles)
@click.pass_obj
def review(app: App, postmortem_id: str, reviewer: str) -> None:
    """Set the independent reviewer (not the incident lead).

    Example: ocx postmortem review 1 kim
    """
    found = _pm().set_reviewer(app.store, postmortem_id, reviewer)
    render.warn(f"postmortem {found.id} reviewer: {found.reviewer}")


@postmortem_group.command("export")
@click.argument("postmortem_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.pass_obj
def export(app: App, postmortem_id: str, fmt: str) -> None:
    """Export as Markdown (with live action item states) or JSON.

    Example: ocx postmortem export 1 --format md > INC-7-postmortem.md
    """
    found = _pm().get(app.store, postmortem_id)
    if fmt == "json":
        render.emit_json(found.to_json())
    else:
        sys.stdout.write(_pm().export_markdown(found, app.tz))


@postmortem_group.command("action")
@click.argument("postmortem_id", metavar="ID")
@click.argument("text")
@handle_option("--owner", required=True, help="Who carries it out.")
@click.option(
    "--due", "when", type=WHEN, required=True, metavar="WHEN", help="By when, e.g. 'in 2 weeks'."
)
@click.pass_obj
def action(app: App, postmortem_id: str, text: str, owner: str, when: datetime) -> None:
    """Add an action item; it is a promise (in `ocx due`, kept or broken like any other).

    Example: ocx postmortem action 1 "Alert on token expiry" --owner sam --due "+14d"
    """
    promise = _pm().action(app.store, postmortem_id, text, owner=owner, due=when, author=app.user)
    render.message(
        f"{promise.id}  due {clock.local_text(promise.due_at, app.tz)}  owner {promise.owner}"
    )


@postmortem_group.command("check")
@click.argument("postmortem_id", metavar="ID")
@json_option
@click.pass_obj
def check(app: App, postmortem_id: str, as_json: bool) -> None:
    """Flag blaming language line by line, with a suggestion each; exit 1 if any.

    Example: ocx postmortem check 1 || echo "needs rewording"
    """
    flags = _pm().check(app.store, postmortem_id, app.config)
    if as_json:
        render.emit_json([f.to_json() for f in flags])
    else:
        for f in flags:
            render.message(f"line {f.line}: {f.match!r}: {f.suggestion}\n    {f.text}")
        if not flags:
            render.warn("no blaming language found")
    if flags:
        raise click.exceptions.Exit(1)


@postmortem_group.command("publish")
@click.argument("postmortem_id", metavar="ID")
@click.pass_obj
def publish(app: App, postmortem_id: str) -> None:
    """Mark it final: needs a reviewer and a clean `check`.

    Example: ocx postmortem publish 1
    """
    found = _pm().publish(app.store, postmortem_id, app.config)
    render.warn(f"postmortem {found.id} published")
