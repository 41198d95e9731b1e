"""`ocx config`: show the effective configuration (secrets redacted) or change one key."""

from __future__ import annotations

import click

from ocx import clock, render
from ocx import config as cfg
from ocx.cli.app import App
from ocx.cli.options import json_option
from ocx.errors import OcxError


@click.group()
def config() -> None:
    """Show or change ocx.toml ($OCX_HOME/ocx.toml, else beside the database).

    Example: ocx config set timezone Europe/Paris
    """


@config.command("show")
@json_option
@click.pass_obj
def show(app: App, as_json: bool) -> None:
    """Print the effective config; secrets are never shown, `*_env` keys show the variable name.

    Example: ocx config show --json
    """
    data = cfg.redacted(cfg.effective(app.config, user=app.user))
    channels = app.config.get("channels")
    if isinstance(channels, dict) and channels:
        from ocx.channels import check_channel

        notifiers = app.plugins.notifiers()
        for name, table in channels.items():
            for problem in check_channel(name, table, notifiers, channels=channels):
                render.warn(f"warning: {problem}")
    if as_json:
        render.emit_json(data)
        return
    import tomli_w

    render.message(f"# {app.config_path}")
    text = tomli_w.dumps(data)
    if text:
        render.message(text.rstrip("\n"))


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_obj
def set_(app: App, key: str, value: str) -> None:
    """Set KEY to VALUE (dotted keys reach tables: channels.email.host).

    Example: ocx config set user alex
    """
    parsed = cfg.parse_value(key, value)
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "channels" and parts[2] == "timeout":
        from ocx.channels import timeout_problem

        problem = timeout_problem(parsed)  # refused before it is written, not at the next send
        if problem:
            raise OcxError(f"channel {parts[1]}: {problem}")
    if key == "timezone":
        clock.check_zone(value)
    if key == "user" and not value.strip():
        raise click.ClickException("user cannot be empty; give your team handle")
    data = cfg.set_key(dict(app.config), key, parsed)
    cfg.save(app.config_path, data, header=cfg.STARTER_HEADER)
    render.warn(f"{key} set in {app.config_path}")
