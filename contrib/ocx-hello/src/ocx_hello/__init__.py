"""ocx-hello: a plugin that adds `ocx hello`, the worked example in ocx's plugin guide."""

from __future__ import annotations

import click

from ocx.plugin_api import App, NoDatabase, customer_listing, hookimpl


@hookimpl
def ocx_register_commands(cli: click.Group) -> None:
    cli.add_command(hello)


@click.command()
@click.argument("name", required=False)
@click.pass_obj
def hello(app: App, name: str | None) -> None:
    """Greet NAME (default: you) and say how many customers ocx holds.

    Example: ocx hello Margo
    """
    click.echo(f"Hello, {name or app.user}!")
    try:
        count = len(customer_listing(app))
    except NoDatabase:
        # A greeting should work on a fresh machine too; only mention the database if there is one.
        return
    noun = "customer" if count == 1 else "customers"
    click.echo(f"ocx holds {count} {noun} in {app.db_path}.")
