"""The App object on ctx.obj: database, config, consoles and plugins, each made on first use."""

from __future__ import annotations

import os
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocx import clock
from ocx import config as cfg

if TYPE_CHECKING:
    from ocx.pluginhost import Plugins
    from ocx.store import Store


class App:
    """What every command needs, built lazily so `ocx --help` and cron runs stay fast."""

    def __init__(self, db: str | None = None, debug: bool = False) -> None:
        self.db_option = db
        self.debug = debug
        self._store: Store | None = None
        self.plugin_commands: dict[str, Any] | None = None

    @cached_property
    def db_path(self) -> Path | str:
        """The database: a file's Path, or a postgresql:// URL as text."""
        return cfg.resolve_db_path(
            self.db_option, self.config.get("db"), base=self.config_path.parent
        )

    @cached_property
    def config_path(self) -> Path:
        return cfg.resolve_config_path(cfg.explicit_db(self.db_option))

    @cached_property
    def config(self) -> dict[str, Any]:
        return cfg.load(self.config_path)

    @property
    def user(self) -> str:
        """Who is acting: config `user`, else the login name."""
        configured = self.config.get("user")
        if configured:
            return str(configured)
        try:
            if os.environ.get("USER"):
                return os.environ["USER"]
            import getpass  # rarely needed: USER is set in most sessions

            return getpass.getuser()
        except (OSError, KeyError):
            return "unknown"

    @cached_property
    def tz(self) -> tzinfo:
        """The time zone times are shown in: config `timezone`, else the system's."""
        return clock.zone(self.config.get("timezone"))

    @property
    def store(self) -> Store:
        if self._store is None:
            from ocx.store import open_store

            self._store = open_store(self.db_path, busy_timeout=cfg.busy_timeout(self.config))
        return self._store

    def adopt_store(self, store: Store) -> None:
        """Use a store opened elsewhere (ocx init creates rather than opens)."""
        self._store = store

    @cached_property
    def plugins(self) -> Plugins:
        from ocx.pluginhost import Plugins

        return Plugins()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
