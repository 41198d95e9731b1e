"""`ocx inbox ...`: take customers' mail in, and file what matched nobody."""

from __future__ import annotations

import click

from ocx import clock, render
from ocx.cli.app import App
from ocx.cli.options import Bounded, json_option, no_header_option

_DEFAULT_MAX_BYTES = 25 * 1024 * 1024  # ocx.inbox.DEFAULT_MAX_BYTES, without importing it


@click.group("inbox")
def inbox_group() -> None:
    """Mail from customers: ingest it into their timelines, file what matched nobody.

    Example: ocx inbox ingest ~/Maildir/support
    """


@inbox_group.command("ingest")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option(
    "--max-bytes",
    type=Bounded(1, 1 << 30),
    default=_DEFAULT_MAX_BYTES,
    show_default=True,
    help="A larger message is named on stderr and skipped.",
)
@json_option
@click.pass_obj
def ingest(app: App, sources: tuple[str, ...], max_bytes: int, as_json: bool) -> None:
    """Take in mail from a Maildir folder, an mbox file, .eml files, or one message on
    stdin (-): each message once, however often the mailbox is read; mail from a customer
    goes into their timeline, mail from anyone else waits in `ocx inbox unmatched`.

    A malformed message (no header block, no From address) is named on stderr and skipped;
    the exit status is then 1. Quiet when there is nothing new, for cron.

    Example: ocx inbox ingest ~/Maildir/support --json
    """
    from ocx import inbox

    chosen = inbox.choose_sources(app.plugins.inbox_sources(), sources)
    store = app.store
    report = inbox.ingest(
        store, chosen, config=app.config, limit=max_bytes, warn=render.warn, user=app.user
    )
    if as_json:
        render.emit_json(report.to_json())
    elif report.ingested or report.unmatched:
        line = f"{report.ingested} ingested, {report.duplicates} already taken"
        if report.unmatched:
            line += f", {report.unmatched} unmatched (see: ocx inbox unmatched)"
        click.echo(line)
    else:
        render.empty(f"nothing new ({report.duplicates} already taken)")
    if report.problems:
        raise click.exceptions.Exit(1)


@inbox_group.command("unmatched")
@json_option
@no_header_option
@click.pass_obj
def unmatched(app: App, as_json: bool, no_header: bool) -> None:
    """List mail whose sender is no customer's address, oldest first.

    Example: ocx inbox unmatched --json
    """
    from ocx import inbox

    found = inbox.unmatched(app.store)
    if as_json:
        render.emit_json([m.to_json() for m in found])
    elif found:
        render.table(
            ["Message-ID", "From", "Subject", "Received"],
            [(m.message_id, m.from_address, m.subject, clock.local_text(m.received_at, app.tz))
             for m in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no unmatched mail")


@inbox_group.command("assign")
@click.argument("message_id")
@click.argument("ref")
@click.option("--add-email", is_flag=True, help="Add the sender's address to the customer too.")
@click.pass_obj
def assign(app: App, message_id: str, ref: str, add_email: bool) -> None:
    """File an unmatched message (MESSAGE_ID as `ocx inbox unmatched` shows it, with or
    without angle brackets) under the customer REF, in their timeline.

    Example: ocx inbox assign 'CAK2x9@mail.example.com' margo@example.com --add-email
    """
    from ocx import inbox

    filed = inbox.assign(
        app.store, message_id, ref, add_email=add_email, author=app.user, config=app.config
    )
    line = f"filed {filed.message_id} under {filed.customer}"
    if filed.email_added:
        line += f"; {filed.email_added} is now one of their addresses"
    render.warn(line)
