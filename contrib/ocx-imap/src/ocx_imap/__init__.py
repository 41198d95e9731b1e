"""ocx-imap: `ocx inbox ingest imap:NAME` reads customers' mail from an IMAP mailbox.

Registered through the `ocx` entry-point group. This module is imported whenever ocx loads
its plugins, so it stays cheap: the reading (imaplib, ssl) is in ocx_imap.source, imported
when a mailbox is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ocx.plugin_api import InboxReading, InboxSource, RawMessage, hookimpl

__version__ = "0.1.0"


def detect(source: str) -> bool:
    """`imap:NAME`; `imap://` and `imaps://` URLs too, so they are refused with a line
    saying what to give instead."""
    return source.lower().startswith(("imap:", "imaps:"))


def read(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    from ocx_imap.source import read as read_imap

    return read_imap(source, reading)


SOURCE = InboxSource(
    name="imap",
    description="An IMAP mailbox (IMAPS or STARTTLS): imap:NAME, an [imap.NAME] table in ocx.toml",
    detect=detect,
    read=read,
)


@hookimpl
def ocx_register_inbox_sources(register: Callable[[InboxSource], None]) -> None:
    register(SOURCE)
