"""`ocx due`: what needs action now; with --notify, the messages that say so. For cron."""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta

import click

import ocx.cli.complete as complete
from ocx import clock, render
from ocx.cli.app import App
from ocx.cli.options import DURATION, json_option, no_header_option

EXIT_DELIVERY_FAILED = 3


@click.command("due")
@click.option(
    "--within",
    type=DURATION,
    default="1h",
    show_default=True,
    metavar="DURATION",
    help="Also list promises due this soon (1s or more).",
)
@click.option(
    "--notify", is_flag=True, help="Message each item's owner (once) and deliver the outbox."
)
@click.option(
    "--owner", metavar="H", shell_complete=complete.handles, help="Only this owner's items."
)
@json_option
@no_header_option
@click.pass_obj
def due(app: App, within: timedelta, notify: bool, owner: str | None, as_json: bool,
        no_header: bool) -> None:  # fmt: skip
    """List overdue promises, promises due soon and cadence contacts due. Silent when
    nothing is due; exit 3 when a delivery failed or a message has nobody to go to.

    Example: */5 * * * * ocx due --notify
    """
    from ocx import due as due_items

    escalate = clock.parse_duration(
        str(app.config.get("escalate_after", due_items.DEFAULT_ESCALATE_AFTER))
    )
    store = app.store
    if owner:
        from ocx import team

        owner = team.get(store, owner).handle  # a typo is an error, not a quiet "nothing due"
    found = due_items.items(store, within=within, owner=owner, escalate_after=escalate)
    if not notify:
        if as_json:
            render.emit_json([i.to_json() for i in found])
        elif found:
            render.due_table(found, app.tz, header=not no_header)
        else:
            render.empty("nothing due" + (f" for {owner}" if owner else ""))  # as ocx.cli.fast
        return
    # With --json, stdout is for the JSON alone: a console channel prints to stderr instead.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        report = due_items.notify(store, found, config=app.config, plugins=app.plugins, tz=app.tz)
    if as_json:
        render.emit_json({
            "items": [i.to_json() for i in found],
            "delivered": [d.to_json() for d in report.delivered],
            "failed": [d.to_json() for d in report.failed],
            "obsolete": report.obsolete,
            "deferred": report.deferred,
            "undeliverable": report.undeliverable,
        })  # fmt: skip
    else:
        for d in report.delivered:
            render.message(f"sent {d.kind} to {d.recipient} via {d.channel} ({d.note})")
    for d in report.failed:
        retry = f"; retry at {clock.local_text(d.retry_at, app.tz)}" if d.retry_at else "; gave up"
        render.warn(
            f"delivery failed: message {d.id} ({d.kind} to {d.recipient} via {d.channel}): {d.note}{retry}"
        )
    if report.deferred:
        render.warn(f"{report.deferred} more message{'s' if report.deferred != 1 else ''} "
                    "wait for the next run: their channel did not answer")  # fmt: skip
    for problem in report.undeliverable:
        render.warn(f"not sent: {problem}")
    if report.failed or report.undeliverable:
        raise click.exceptions.Exit(EXIT_DELIVERY_FAILED)
