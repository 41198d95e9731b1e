"""Shell completion from the data: the `shell_complete=` callbacks of ocx's arguments and
options (customers, incidents, promises, team handles, channels, importers).

Click calls them on TAB (`_OCX_COMPLETE=bash_complete ocx`, see docs/configuration.md).
Each opens the database read-only, asks one indexed query with a LIMIT, and offers
nothing when anything goes wrong: a completion never prints an error or writes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path  # at run time: _from_store asks isinstance(path, Path)
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from ocx.store import Store

Choices = list[tuple[str, str]]
Callback = Callable[["click.Context", "click.Parameter", str], list["CompletionItem"]]

IMPORTERS_CACHE = "plugin-importers.json"  # beside root's plugin-commands.json


def _items(choices: Choices) -> list[CompletionItem]:
    """Click's items: the value, described (zsh and fish show it) when there is something
    to say."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(value, help=help or None) for value, help in choices]


def _db_path(ctx: click.Context) -> Path | str:
    """The database a command typed so far would use: --db if typed, else OCX_DB, the `db`
    key of ocx.toml, OCX_HOME, the user data dir (the root group's callback does not run
    while completing)."""
    from ocx import config as cfg

    option = ctx.find_root().params.get("db")
    config_path = cfg.resolve_config_path(cfg.explicit_db(option))
    configured = cfg.load(config_path).get("db")
    return cfg.resolve_db_path(option, configured, base=config_path.parent)


def _from_store(ask: Callable[[Store, str], Choices]) -> Callback:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str
                 ) -> list[CompletionItem]:  # fmt: skip
        try:
            from ocx.store.complete import open_read_only

            path = _db_path(ctx)
            if isinstance(path, Path) and not path.is_file():
                return []
            store = open_read_only(path)
            try:
                return _items(ask(store, incomplete))
            finally:
                store.close()
        except Exception:  # a broken database, an old schema: the shell offers nothing
            return []

    return complete


def _customers(store: Store, typed: str) -> Choices:
    from ocx import completion

    return completion.customers(store, typed)


def _incidents(store: Store, typed: str) -> Choices:
    from ocx import completion

    return completion.incidents(store, typed)


def _open_promises(store: Store, typed: str) -> Choices:
    from ocx import completion

    return completion.promises(store, typed, open_only=True)


def _promises(store: Store, typed: str) -> Choices:
    from ocx import completion

    return completion.promises(store, typed, open_only=False)


def _handles(store: Store, typed: str) -> Choices:
    from ocx import completion

    return completion.handles(store, typed)


customers = _from_store(_customers)
"""Customer REFs: emails, found by email or by a word of the name, described by the name."""
incidents = _from_store(_incidents)
"""Incident ids as INC-N, described by the title."""
open_promises = _from_store(_open_promises)
"""Ids of open promises (done, cancel, snooze)."""
promises = _from_store(_promises)
"""Ids of any promise (show)."""
handles = _from_store(_handles)
"""Team handles, described by the member's name."""


def channels(ctx: click.Context, param: click.Parameter, incomplete: str
             ) -> list[CompletionItem]:  # fmt: skip
    """Channel names from ocx.toml's `[channels.NAME]` tables, described by their type."""
    try:
        from ocx import completion
        from ocx import config as cfg

        config = cfg.load(
            cfg.resolve_config_path(cfg.explicit_db(ctx.find_root().params.get("db")))
        )
        return _items(completion.channels(config, incomplete))
    except Exception:
        return []


def importers(ctx: click.Context, param: click.Parameter, incomplete: str
              ) -> list[CompletionItem]:  # fmt: skip
    """Importer names (built-in and plugins'), described by what they read."""
    try:
        found = _importer_names()
        return _items(sorted((n, d) for n, d in found.items() if n.startswith(incomplete)))
    except Exception:
        return []


def _importer_names() -> dict[str, str]:
    """Importer names and descriptions, from a cache kept fresh by the same environment
    fingerprint as the plugin-commands cache: loading every plugin takes far longer than
    a TAB may (the first completion after an install pays it once)."""
    from ocx.cli.root import _plugin_cache_path, fingerprinted

    def load() -> dict[str, str]:
        from ocx.pluginhost import Plugins

        return {name: imp.description for name, imp in Plugins().importers().items()}

    path = os.path.join(os.path.dirname(_plugin_cache_path()), IMPORTERS_CACHE)
    return fingerprinted(path, "importers", load)
