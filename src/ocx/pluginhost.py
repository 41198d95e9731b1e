"""The plugin manager: built-in plugins and the `ocx` entry-point group, broken ones reported.

The core never imports `ocx.plugins.*`: the built-in plugins are named here as strings and
imported by name, exactly as an entry point would be, so they see only `ocx.plugin_api` and
could move out of the package unchanged. They are not entry points themselves: built-ins load
even under OCX_DISABLE_PLUGINS, and importing three known modules costs less than scanning
every installed distribution's metadata on start-up.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from ocx import hookspecs
from ocx.errors import OcxError
from ocx.plugin_types import Importer, InboxSource, Notifier

if TYPE_CHECKING:
    import click

ENTRY_POINT_GROUP = "ocx"
# Built-in plugin modules under ocx.plugins, loaded in this order (`ocx plugins` lists each
# as `ocx.plugins.NAME`).
BUILTIN_PACKAGE = "ocx.plugins"
BUILTIN: tuple[str, ...] = ("csv_importer", "zendesk", "notifiers", "mailboxes")

_Item = TypeVar("_Item", Importer, Notifier, InboxSource)


@dataclass
class PluginInfo:
    name: str
    version: str | None
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        return "broken" if self.error else "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "builtin": self.builtin,
            "hooks": self.hooks, "status": self.status, "error": self.error,
        }  # fmt: skip


def entry_points_enabled() -> bool:
    """OCX_DISABLE_PLUGINS=1 turns entry-point loading off (tests see only what they ask for)."""
    return os.environ.get("OCX_DISABLE_PLUGINS", "") in ("", "0")


class Plugins:
    """Every plugin ocx knows about, and what they registered."""

    def __init__(self, load_entry_points: bool | None = None) -> None:
        self.pm = pluggy.PluginManager("ocx")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._importers: dict[str, Importer] | None = None
        self._notifiers: dict[str, Notifier] | None = None
        self._inbox_sources: dict[str, InboxSource] | None = None
        for module_name in BUILTIN:
            name = f"{BUILTIN_PACKAGE}.{module_name}"
            self.add(importlib.import_module(name), name, builtin=True)
        if entry_points_enabled() if load_entry_points is None else load_entry_points:
            self._load_entry_points()

    def add(
        self, plugin: Any, name: str, *, builtin: bool = False, version: str | None = None
    ) -> None:
        """Register a plugin object (a module, usually) under a name."""
        if builtin:
            from ocx import __version__ as version
        self.pm.register(plugin, name=name)
        self.infos[name] = PluginInfo(name, version, builtin)
        # the new plugin may register some
        self._importers = self._notifiers = self._inbox_sources = None

    def remove(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.infos.pop(name, None)
        self._importers = self._notifiers = self._inbox_sources = None

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.infos:
                continue
            version = ep.dist.version if ep.dist is not None else None
            try:
                self.add(ep.load(), ep.name, version=version)
            except Exception as exc:  # a broken plugin must not take the CLI down
                self.infos[ep.name] = PluginInfo(
                    ep.name, version, False, error=f"{type(exc).__name__}: {exc}"
                )

    def describe(self) -> list[PluginInfo]:
        """Every plugin with the hooks it implements, built-in ones first."""
        for name, info in self.infos.items():
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                callers = self.pm.get_hookcallers(plugin) or []
                info.hooks = sorted(caller.name for caller in callers)
        return sorted(self.infos.values(), key=lambda i: (not i.builtin, i.name))

    @property
    def broken(self) -> list[PluginInfo]:
        return [info for info in self.infos.values() if info.error]

    def _each(self, hook_name: str, **kwargs: Any) -> None:
        """Call every plugin's implementation through pluggy, one plugin at a time: one whose
        hook raises is reported as broken (`ocx plugins`) and the others still work (a single
        pluggy call stops at the first exception, so one plugin could take `ocx --help` or
        every `ocx import` down)."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        plugins = [impl.plugin for impl in impls]
        # reversed: the order pluggy itself calls implementations in (last registered first)
        for impl in reversed(impls):
            others = [plugin for plugin in plugins if plugin is not impl.plugin]
            try:
                self.pm.subset_hook_caller(hook_name, others)(**kwargs)
            except Exception as exc:  # a broken plugin must not take the CLI down
                name = impl.plugin_name
                info = self.infos.setdefault(name, PluginInfo(name, None, False))
                info.error = f"{type(exc).__name__}: {exc}"

    def register_commands(self, cli: click.Group) -> None:
        self._each("ocx_register_commands", cli=cli)

    def _collect(self, hook_name: str, kind: type[_Item]) -> dict[str, _Item]:
        found: dict[str, _Item] = {}

        def register(item: _Item) -> None:
            if not isinstance(item, kind):
                raise OcxError(
                    f"a plugin registered {item!r}, which is not an ocx.plugin_api.{kind.__name__}"
                )
            if item.name in found:
                noun = {"InboxSource": "inbox source"}.get(kind.__name__, kind.__name__.lower())
                raise OcxError(f"two plugins register the {noun} {item.name!r}")
            found[item.name] = item

        self._each(hook_name, register=register)
        return found

    def importers(self) -> dict[str, Importer]:
        if self._importers is None:
            self._importers = self._collect("ocx_register_importers", Importer)
        return self._importers

    def notifiers(self) -> dict[str, Notifier]:
        if self._notifiers is None:
            self._notifiers = self._collect("ocx_register_notifiers", Notifier)
        return self._notifiers

    def inbox_sources(self) -> dict[str, InboxSource]:
        """Every mailbox source, in the order they are asked whether they read a SOURCE
        (plugins registered later first, as pluggy calls them; the built-in ones last)."""
        if self._inbox_sources is None:
            self._inbox_sources = self._collect("ocx_register_inbox_sources", InboxSource)
        return self._inbox_sources
