"""`ocx outbox ...`: what was sent, what failed, and forcing a retry."""

from __future__ import annotations

import click

from ocx import clock, outbox, render
from ocx.cli.app import App
from ocx.cli.options import json_option, limit_option, no_header_option


@click.group("outbox")
def outbox_group() -> None:
    """The outbox: every message ocx sends, its state and attempts.

    Example: ocx outbox list --failed
    """


@outbox_group.command("list")
@click.option("--failed", is_flag=True, help="Only messages whose last attempt failed.")
@limit_option(50)
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, failed: bool, limit: int, as_json: bool, no_header: bool) -> None:
    """List outbox messages, newest first.

    Example: ocx outbox list --failed --json
    """
    found = outbox.listing(app.store, failed_only=failed, limit=limit)
    if as_json:
        render.emit_json([m.to_json() for m in found])
    elif found:
        render.table(
            ["Id", "Kind", "To", "Channel", "State", "Tries", "Next / sent", "Last error"],
            [(m.id, m.kind, m.recipient, m.channel, m.state, m.attempts,
              clock.local_text(m.sent_at or m.next_attempt_at, app.tz), m.last_error or "")
             for m in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no failed messages in the outbox" if failed else "the outbox is empty")


@outbox_group.command("retry")
@click.argument("message_id", metavar="[ID]", required=False)
@click.pass_obj
def retry(app: App, message_id: str | None) -> None:
    """Make failed messages (or one) due now and deliver them.

    Example: ocx outbox retry 42
    """
    count = outbox.retry(app.store, message_id)
    report = outbox.deliver(app.store, config=app.config, plugins=app.plugins)
    render.warn(f"{count} retried: {len(report.delivered)} delivered, {len(report.failed)} failed")
    for d in report.failed:
        render.warn(f"delivery failed: message {d.id} via {d.channel}: {d.note}")
    if report.failed:
        raise click.exceptions.Exit(3)
