"""ocx-freshdesk: `ocx import freshdesk PATH...` for Freshdesk API v2 exports.

Registered through the `ocx` entry-point group; the reading is in `ocx_freshdesk.reader`.
"""

from __future__ import annotations

from collections.abc import Callable

from ocx.plugin_api import (
    Importer,
    hookimpl,
)
from ocx_freshdesk.reader import detect, read, read_all

__version__ = "0.1.0"

IMPORTER = Importer(
    name="freshdesk",
    description="Freshdesk API v2: tickets.json (include=requester,description), contacts.json, "
    "agents.json, companies.json, satisfaction_ratings.json, conversations/{ticket_id}.json",
    detect=detect,
    read=read,
    read_all=read_all,
)


@hookimpl
def ocx_register_importers(register: Callable[[Importer], None]) -> None:
    register(IMPORTER)
