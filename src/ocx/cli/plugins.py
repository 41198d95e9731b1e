"""`ocx plugins`: what is installed, what each plugin hooks into, and what is broken."""

from __future__ import annotations

import click

from ocx import render
from ocx.cli.app import App
from ocx.cli.options import json_option


@click.command()
@json_option
@click.pass_obj
def plugins(app: App, as_json: bool) -> None:
    """List every plugin: name, version, built-in or not, hooks, and whether it loaded.

    Example: ocx plugins --json
    """
    # Run the commands hook as `ocx --help` would, so a plugin whose hook raises shows as broken.
    app.plugins.register_commands(click.Group())
    infos = app.plugins.describe()
    if as_json:
        render.emit_json([info.to_json() for info in infos])
        return
    if not infos:
        render.message("No plugins installed.")
        return
    render.table(
        ["Name", "Version", "Kind", "Hooks", "Status"],
        [
            (
                i.name, i.version or "", "built-in" if i.builtin else "external",
                ", ".join(i.hooks), f"broken: {i.error}" if i.error else "ok",
            )
            for i in infos
        ],
    )  # fmt: skip
