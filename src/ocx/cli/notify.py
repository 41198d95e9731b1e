"""`ocx notify test`: prove a channel works before cron depends on it."""

from __future__ import annotations

import uuid

import click

import ocx.cli.complete as complete
from ocx import clock, render
from ocx.cli.app import App


@click.group("notify")
def notify_group() -> None:
    """Channels and notifiers.

    Example: ocx notify test ops-mail --to alex@acme.example
    """


@notify_group.command("test")
@click.argument("channel", shell_complete=complete.channels)
@click.option("--to", "address", metavar="ADDRESS", help="Recipient (an email for email channels).")
@click.pass_obj
def test(app: App, channel: str, address: str | None) -> None:
    """Send a test message through CHANNEL right now (not through the outbox).

    Example: ocx notify test ops-hook
    """
    from ocx.outbox import send
    from ocx.plugin_types import OutboundMessage

    stamp = clock.to_iso(clock.now())
    message = OutboundMessage(
        key=f"test:{uuid.uuid4().hex}", kind="test", channel=channel, recipient=address,
        subject="ocx test message", body=f"This is a test from ocx ({app.user}) at {stamp}.",
        payload={"test": True}, created_at=stamp,
    )  # fmt: skip
    note = send(message, app.config, app.plugins)
    render.warn(f"sent through {channel}: {note}")
