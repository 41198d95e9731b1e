"""Everything a plugin needs from ocx, under one stable name: `from ocx.plugin_api import ...`.

- the hook marker: `hookimpl` (the hooks and their arguments are documented in
  ocx.hookspecs);
- what plugins hand to ocx, validated when they register: Importer, Notifier, InboxSource
  (with RawMessage, what a source yields, and InboxReading, what its read is given);
- the records an importer yields (CustomerRecord, ConversationRecord, MessageRecord...) and
  the helpers importers read exports with (json_items, load_json, record_id, clean_text,
  as_dict, export_pages...);
- errors: OcxError, ChannelDown, ImportFileError, NoDatabase;
- for notifiers: channel_secret, one_line, timeout_problem, addressed_as (the address rule of
  a channel that names people), now() (honours OCX_NOW), OCX_VERSION, and message_id() /
  key_of() (ocx's Message-ID for a message's key, and back);
- for command plugins: App (what `click.pass_obj` gives a command) and customer_listing().

Cheap to import, since it is on ocx's start-up path: the import helpers and App are loaded
on first use (module __getattr__), not when a plugin imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The ocx version a plugin names (the webhook's User-Agent: ocx/VERSION).
from ocx import __version__ as OCX_VERSION

# ChannelDown is re-exported: a notifier raises it when its channel cannot be reached or does
# not answer in time, so the outbox holds the channel's other messages for the next run.
from ocx.errors import ChannelDown as ChannelDown
from ocx.errors import NoDatabase as NoDatabase
from ocx.errors import OcxError as OcxError

# the types plugins hand over and importers yield (defined below the core, in ocx.plugin_types)
from ocx.plugin_types import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    Importer,
    ImportFileError,
    ImportWarning,
    InboxReading,
    InboxSource,
    MessageRecord,
    Notifier,
    Origin,
    OutboundMessage,
    RawMessage,
    Record,
    Satisfaction,
    SkippedRecord,
    channel_secret,
    html_to_text,
    iana_zone,
)

if TYPE_CHECKING:
    from datetime import datetime

    from ocx.channels import addressed_as, one_line, timeout_problem
    from ocx.cli.app import App
    from ocx.customers import Customer
    from ocx.hookspecs import hookimpl
    from ocx.importkit import (
        check_not_empty,
        clean_text,
        counted,
        json_events,
        json_first_event,
        json_item_line,
        json_items,
        json_top_level_values,
        json_type,
        load_json,
        not_text,
        record_id,
        value_type,
        with_ids,
    )  # fmt: skip
    from ocx.importshared import as_dict, as_list, export_pages, field_value, plural

__all__ = [
    "OCX_VERSION", "App", "BadRecord", "ChannelDown", "ConversationRecord", "CustomerRecord",
    "ImportFileError", "ImportWarning", "Importer", "InboxReading", "InboxSource",
    "MessageRecord", "NoDatabase", "Notifier",
    "OcxError", "Origin", "OutboundMessage", "RawMessage", "Record", "Satisfaction", "SkippedRecord",
    "addressed_as", "as_dict", "as_list", "channel_secret", "check_not_empty", "clean_text",
    "counted", "customer_listing", "export_pages", "field_value", "hookimpl", "html_to_text",
    "iana_zone", "json_events", "json_first_event", "json_item_line", "json_items",
    "json_top_level_values", "json_type", "load_json", "not_text", "now", "one_line", "plural",
    "record_id", "timeout_problem", "value_type", "with_ids",
]  # fmt: skip


def now() -> datetime:
    """The current time in UTC as ocx sees it: OCX_NOW pins it, so a plugin's output (a mail's
    Date) is as repeatable in tests and replays as ocx's own."""
    from ocx import clock

    return clock.now()


def customer_listing(app: App) -> list[Customer]:
    """Every customer ocx holds, ordered by name (what `ocx customer list` shows): each has
    `.name`, `.email`, `.company`, `.tags`. Raises NoDatabase before `ocx init`."""
    from ocx import customers

    return customers.listing(app.store)


# Names loaded on first use, not on import: module -> the names it provides here.
_LAZY: dict[str, tuple[str, ...]] = {
    "ocx.importkit": (
        "check_not_empty", "clean_text", "counted", "json_events", "json_first_event",
        "json_item_line", "json_items", "json_top_level_values", "json_type", "load_json",
        "not_text", "record_id", "value_type", "with_ids",
    ),
    "ocx.importshared": ("as_dict", "as_list", "export_pages", "field_value", "plural"),
    "ocx.cli.app": ("App",),
    # the core's channel rules, so a plugin's channel type is checked and addressed as a
    # built-in one is
    "ocx.channels": ("addressed_as", "one_line", "timeout_problem"),
    # the Message-ID a message's key becomes, which the inbox reads back from replies
    "ocx.message_ids": ("message_id", "key_of"),
    # pluggy loads with the plugin manager, before any plugin module uses the marker
    "ocx.hookspecs": ("hookimpl",),
}  # fmt: skip
_LAZY_FROM = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY_FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_FROM})
