"""`ocx team ...`: the people who own promises and cases."""

from __future__ import annotations

from collections.abc import Callable

import click

import ocx.cli.complete as complete
from ocx import render, team
from ocx.cli.app import App
from ocx.cli.options import F, json_option, no_header_option


@click.group("team")
def team_group() -> None:
    """Team members: promise owners, concierges, and the lead escalations go to.

    Example: ocx team add alex --name "Alex Kim" --email alex@acme.example --channel ops-mail
    """


def _print(members: list[team.Member], as_json: bool, *, header: bool = True) -> None:
    if as_json:
        render.emit_json([m.to_json() for m in members])
    elif members:
        render.table(
            ["Handle", "Name", "Email", "Channel", "Lead", "Digest"],
            [(m.handle, m.name, m.email, m.channel, "yes" if m.lead else "",
              "yes" if m.digest else "") for m in members],
            header=header,
        )  # fmt: skip
    else:
        render.empty("no team members")


def _warn_unknown_channel(app: App, channel: str | None) -> None:
    """A channel that is neither in ocx.toml nor a notifier type fails at delivery: say so now."""
    from ocx import channels

    if not channel or channels.known(app.config, channel, app.plugins.notifiers()):
        return
    render.warn(f"warning: channel {channel!r} is not in ocx.toml yet; add [channels.{channel}] "
                "before messages are due")  # fmt: skip


def _member_options(name: str, email: str, channel: str) -> Callable[[F], F]:
    """`--name`, `--email` and `--channel`, as `team add` and `team edit` take them."""

    def decorate(func: F) -> F:
        func = click.option("--channel", metavar="NAME", shell_complete=complete.channels,
                            help=channel)(func)  # fmt: skip
        func = click.option("--email", help=email)(func)
        return click.option("--name", help=name)(func)

    return decorate


@team_group.command("add")
@click.argument("handle")
@_member_options(
    "Full name.", "Email address (an email channel sends here).",
    "Channel in ocx.toml that reaches them.",
)  # fmt: skip
@click.option("--lead", is_flag=True, help="The team lead: escalations go to them.")
@click.option("--digest", is_flag=True, help="One message per run listing all their items.")
@click.pass_obj
def add(app: App, handle: str, name: str | None, email: str | None, channel: str | None,
        lead: bool, digest: bool) -> None:  # fmt: skip
    """Add a team member.

    Example: ocx team add sam --name "Sam Rivera" --email sam@acme.example --lead
    """
    _warn_unknown_channel(app, channel)
    member = team.add(app.store, handle, name=name, email=email, channel=channel, lead=lead,
                      digest=digest)  # fmt: skip
    render.message(member.handle)


@team_group.command("edit")
@click.argument("handle", shell_complete=complete.handles)
@_member_options("Full name ('' clears).", "Email address ('' clears).",
                 "Channel in ocx.toml ('' clears).")  # fmt: skip
@click.option("--lead/--no-lead", default=None, help="Mark or unmark as team lead.")
@click.option("--digest/--no-digest", default=None, help="One message per run, or one per item.")
@click.pass_obj
def edit(app: App, handle: str, name: str | None, email: str | None, channel: str | None,
         lead: bool | None, digest: bool | None) -> None:  # fmt: skip
    """Change a team member.

    Example: ocx team edit alex --channel ops-chat --digest
    """
    _warn_unknown_channel(app, channel)
    team.edit(app.store, handle, name=name, email=email, channel=channel, lead=lead,
              digest=digest)  # fmt: skip
    render.warn(f"{handle} updated")


@team_group.command("list")
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, as_json: bool, no_header: bool) -> None:
    """List the team, the lead first.

    Example: ocx team list --json
    """
    _print(team.listing(app.store), as_json, header=not no_header)
