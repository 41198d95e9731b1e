"""`ocx init`: create the database and a starter config."""

from __future__ import annotations

import os

import click

from ocx import config as cfg
from ocx import render
from ocx.cli.app import App


def _system_timezone() -> str | None:
    """The system's IANA zone name when it can be read (TZ, /etc/timezone, /etc/localtime)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if (name and "/" in name) or name == "UTC":
        return name
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


@click.command()
@click.option("--sample", is_flag=True, help="Add demo customers (Jim, Margo, Alecia, Judy).")
@click.pass_obj
def init(app: App, sample: bool) -> None:
    """Create the database (and its folder) and a starter ocx.toml; harmless to repeat.

    Example: ocx init --sample
    """
    from ocx.store import create_store

    store = create_store(app.db_path, busy_timeout=cfg.busy_timeout(app.config))
    app.adopt_store(store)
    if not app.config_path.exists():
        starter = cfg.starter(os.environ.get("USER"), _system_timezone())
        cfg.save(app.config_path, starter, header=cfg.STARTER_HEADER)
    added = 0
    if sample:
        from ocx import sample as demo

        added = demo.load(store, author=app.user)
    render.message(cfg.shown_db(app.db_path))
    if sample:
        render.warn(
            f"{added} sample customers added" if added else "sample customers already there"
        )
