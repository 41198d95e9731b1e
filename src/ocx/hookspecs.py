"""The plugin contract: every hook ocx calls, each docstring the plugin author's reference.

A plugin is a module (or object) with functions decorated by ``ocx.plugin_api.hookimpl``
and named after these hooks. Built-in plugins in ``ocx.plugins`` use exactly the same hooks;
external ones are found through the ``ocx`` entry-point group::

    [project.entry-points.ocx]
    hello = "ocx_hello"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # click stays off the start-up path of a plugin that adds no command
    import click

    from ocx.plugin_types import Importer, InboxSource, Notifier

hookspec = pluggy.HookspecMarker("ocx")
hookimpl = pluggy.HookimplMarker("ocx")


@hookspec
def ocx_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to ocx.

    ``cli`` is a click group whose commands become top-level ``ocx`` commands; call
    ``cli.add_command(command)`` (or use ``@cli.command()``). A command whose name is already
    taken by ocx itself is ignored (built-in commands win). A hook that raises marks its
    plugin broken in ``ocx plugins``; other commands still work. Commands reach the database
    and config through ``click.pass_obj``, which gives the ``App`` object (``app.store``,
    ``app.config``, ``app.user``).

    Example::

        @hookimpl
        def ocx_register_commands(cli):
            @cli.command()
            def hello():
                "Say hello. Example: ocx hello"
                click.echo("Hello from a plugin")
    """


@hookspec
def ocx_register_importers(register: Callable[[Importer], None]) -> None:
    """Add importers that bring customers and their history in from another system.

    Call ``register(ocx.plugin_api.Importer(name=..., description=..., detect=..., read=...))``
    once per importer. ``name`` is what users type after ``ocx import``; ``detect(path)``
    says whether a file or folder is one this importer understands; ``read(path)`` yields
    normalised records. A second importer with a name already registered is refused.
    """


@hookspec
def ocx_register_inbox_sources(register: Callable[[InboxSource], None]) -> None:
    """Add mailbox sources: places ``ocx inbox ingest SOURCE`` reads customers' mail from.

    Call ``register(ocx.plugin_api.InboxSource(name=..., description=..., detect=...,
    read=...))`` once per source. ``detect(source)`` says whether a SOURCE argument (a path,
    ``-``, a URL) is one this source reads; the first source that says yes reads it.
    ``read(source, reading)`` yields one ``ocx.plugin_api.RawMessage`` per message: a label
    for error messages and the RFC 5322 bytes, or ``data=None`` for a message larger than
    ``reading.limit`` bytes. ocx parses, matches and stores each message exactly once by its
    Message-ID, so a source may hand over the same message on every run. A second source
    with a name already registered is refused.
    """


@hookspec
def ocx_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Add notifiers: ways to deliver a message (email, a webhook, a chat tool...).

    Call ``register(ocx.plugin_api.Notifier(name=..., description=..., config_keys=...,
    send=...))`` once per notifier. ``name`` is the channel type used in
    ``[channels.NAME] type = "..."``; ``config_keys`` are the keys the channel table needs;
    ``send(message, channel_config)`` delivers one message (it carries an idempotency key
    to pass on) and returns a short delivery note, or raises ``ocx.plugin_api.OcxError`` with a
    clear reason.
    """
