"""`ocx promise ...`: commitments to customers, with an owner and a due time."""

from __future__ import annotations

import sys
from datetime import datetime

import click

import ocx.cli.complete as complete
from ocx import clock, promises, render
from ocx.cli.app import App
from ocx.cli.options import WHEN, json_option, no_header_option


@click.group("promise")
def promise_group() -> None:
    """Promises: every commitment to a customer has an owner and a due time.

    Example: ocx promise add margo@example.com "Call back with the fix ETA" --due "in 2 hours"
    """


def _show(app: App, p: promises.Promise) -> None:
    render.message(f"{p.id}  due {clock.local_text(p.effective_due, app.tz)}  owner {p.owner}")


@promise_group.command("add")
@click.argument("ref", shell_complete=complete.customers)
@click.argument("text")
@click.option(
    "--due",
    "when",
    type=WHEN,
    required=True,
    metavar="WHEN",
    help="ISO 8601, a date, or 'in 2 hours', '+3d', 'tomorrow 9am', 'friday 15:00'.",
)
@click.option(
    "--owner",
    metavar="HANDLE",
    shell_complete=complete.handles,
    help="Team member who owns it (default: config user).",
)
@click.pass_obj
def add(app: App, ref: str, text: str, when: datetime, owner: str | None) -> None:
    """Record a promise; prints its id and due time in your time zone.

    Example: ocx promise add jim@example.com "Walk him through the export" --due "tomorrow 9am"
    """
    p = promises.add(app.store, ref, text, due=when, owner=owner or app.user, author=app.user)
    _show(app, p)


@promise_group.command("list")
@click.option("--open", "which", flag_value="open", default=True, help="Open promises (default).")
@click.option("--overdue", "which", flag_value="overdue", help="Open and past due.")
@click.option("--kept", "which", flag_value="kept", help="Done.")
@click.option(
    "--broken", "which", flag_value="broken", help="Cancelled at or after the original due time."
)
@click.option("--all", "which", flag_value="all", help="Every promise.")
@click.option("--owner", metavar="H", shell_complete=complete.handles, help="Only this owner's.")
@click.option(
    "--customer", metavar="REF", shell_complete=complete.customers, help="Only this customer's."
)
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, which: str, owner: str | None, customer: str | None, as_json: bool,
          no_header: bool) -> None:  # fmt: skip
    """List promises, soonest first.

    Example: ocx promise list --overdue --owner alex
    """
    found = promises.listing(app.store, which=which, owner=owner, customer=customer)
    if as_json:
        render.emit_json([p.to_json() for p in found])
    elif found:
        render.table(
            ["Id", "Customer", "Promise", "Owner", "Due", "State"],
            [(p.id, p.customer_name or p.customer, p.text, p.owner,
              clock.local_text(p.effective_due, app.tz)
              + (f" (was {clock.local_text(p.due_at, app.tz)})" if p.snoozed_until else ""),
              p.outcome.replace("_", " ")) for p in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty(f"no {'' if which == 'all' else which + ' '}promises"
                     + (f" owned by {owner}" if owner else "")
                     + (f" to {customer}" if customer else ""))  # fmt: skip


@promise_group.command("show")
@click.argument("promise_id", metavar="ID", shell_complete=complete.promises)
@json_option
@click.pass_obj
def show(app: App, promise_id: str, as_json: bool) -> None:
    """Show one promise.

    Example: ocx promise show 12 --json
    """
    p = promises.get(app.store, promise_id)
    if as_json:
        render.emit_json(p.to_json())
        return
    for label, value in p.to_json().items():
        if value not in (None, ""):
            render.message(f"{label:<16} {value}")


@promise_group.command("done")
@click.argument("promise_id", metavar="ID", shell_complete=complete.open_promises)
@click.option("--note", help="What was done.")
@click.pass_obj
def done(app: App, promise_id: str, note: str | None) -> None:
    """Mark a promise kept (on time only if done by its original due time).

    Example: ocx promise done 12 --note "Called, fix confirmed"
    """
    p = promises.done(app.store, promise_id, note=note, author=app.user)
    render.warn(f"promise {p.id} {p.outcome.replace('_', ' ')}")


@promise_group.command("cancel")
@click.argument("promise_id", metavar="ID", shell_complete=complete.open_promises)
@click.option("--reason", required=True, help="Why it will not be kept.")
@click.pass_obj
def cancel(app: App, promise_id: str, reason: str) -> None:
    """Cancel a promise (at or after its due time this counts as broken).

    Example: ocx promise cancel 12 --reason "Customer closed the account"
    """
    p = promises.cancel(app.store, promise_id, reason=reason, author=app.user)
    render.warn(f"promise {p.id} {p.outcome}")


@promise_group.command("snooze")
@click.argument("promise_id", metavar="ID", shell_complete=complete.open_promises)
@click.option(
    "--until", "when", type=WHEN, required=True, metavar="WHEN", help="New time it is due."
)
@click.option("--reason", help="Why (shown in the customer's timeline).")
@click.pass_obj
def snooze(app: App, promise_id: str, when: datetime, reason: str | None) -> None:
    """Move when a promise is due; the original due time is kept for the record.

    Example: ocx promise snooze 12 --until "friday 15:00" --reason "Waiting on the vendor"
    """
    p = promises.snooze(app.store, promise_id, until=when, reason=reason, author=app.user)
    _show(app, p)


@promise_group.command("export")
@click.option("--ics", is_flag=True, required=True, help="iCalendar (VTODO per open promise).")
@click.option("--owner", metavar="H", shell_complete=complete.handles, help="Only this owner's.")
@click.pass_obj
def export(app: App, ics: bool, owner: str | None) -> None:
    """Export open promises for a calendar app.

    Example: ocx promise export --ics > promises.ics
    """
    found = promises.listing(app.store, which="open", owner=owner)
    sys.stdout.write(promises.to_ics(found, stamp=clock.now()))
