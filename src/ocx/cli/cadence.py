"""`ocx cadence ...`: proactive contact schedules."""

from __future__ import annotations

import click

import ocx.cli.complete as complete
from ocx import cadences, clock, render
from ocx.cli.app import App
from ocx.cli.options import json_option, no_header_option
from ocx.figures import late_text


@click.group("cadence")
def cadence_group() -> None:
    """Cadences: call the customer who keeps calling first, daily, then weekly, then monthly.

    Example: ocx cadence set judy@example.com daily*5,weekly*4,monthly
    """


@cadence_group.command("set")
@click.argument("ref", required=False, shell_complete=complete.customers)
@click.argument("schedule", required=False)
@click.option("--tag", metavar="T", help="For everyone with this tag (and those tagged later).")
@click.option(
    "--owner",
    metavar="H",
    shell_complete=complete.handles,
    help="Who makes the contacts (default: config user).",
)
@click.pass_obj
def set_(
    app: App, ref: str | None, schedule: str | None, tag: str | None, owner: str | None
) -> None:
    """Set a cadence for a customer (REF) or a tag; replaces the one in force.

    SCHEDULE is steps like daily*5,weekly*4,monthly: five daily contacts, then four weekly,
    then monthly for good. Outbound contacts (ocx customer contact --outbound) count.

    Example: ocx cadence set --tag squeaky-wheel daily*5,weekly*4,monthly --owner alex
    """
    if schedule is None:  # `--tag T SCHEDULE`: click gave the one argument to REF
        ref, schedule = None, ref
    if schedule is None:
        raise click.UsageError("Missing argument 'SCHEDULE'.")
    cadence_id, replaced = cadences.set_cadence(
        app.store, ref=ref, tag=tag, schedule=schedule, owner=owner or app.user, author=app.user
    )
    render.message(str(cadence_id))
    if replaced is not None:  # on stderr: stdout stays the new id, for scripts
        render.warn(f"replaced cadence {replaced}")


@cadence_group.command("list")
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, as_json: bool, no_header: bool) -> None:
    """Every customer with a cadence: next contact due, step, how far behind.

    Example: ocx cadence list --json
    """
    now = clock.now()
    found = cadences.states(app.store)
    if as_json:
        render.emit_json([s.to_json(now) for s in found])
    elif found:
        render.table(
            ["Customer", "Schedule", "Step", "Owner", "Next due", "Behind"],
            [(s.customer_name or s.customer, s.schedule + (f" (tag {s.via_tag})" if s.via_tag else ""),
              s.step or "done", s.owner, clock.local_text(s.next_due_at, app.tz),
              late_text(s.behind_seconds(now)) if s.behind_seconds(now) else "")
             for s in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no customers on a cadence")


@cadence_group.command("stop")
@click.argument("ref", required=False, shell_complete=complete.customers)
@click.option("--tag", metavar="T", help="Stop the cadence set for this tag.")
@click.pass_obj
def stop(app: App, ref: str | None, tag: str | None) -> None:
    """Stop a customer's cadence (or a tag's).

    Example: ocx cadence stop judy@example.com
    """
    cadences.stop(app.store, ref=ref, tag=tag, author=app.user)
    render.warn("cadence stopped")
