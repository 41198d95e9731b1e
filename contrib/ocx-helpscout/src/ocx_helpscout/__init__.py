"""ocx-helpscout: `ocx import helpscout PATH` for Help Scout Mailbox API 2.0 exports.

Registered through the `ocx` entry-point group; the reading is in `ocx_helpscout.reader`.
"""

from __future__ import annotations

from collections.abc import Callable

from ocx.plugin_api import (
    Importer,
    hookimpl,
)
from ocx_helpscout.reader import detect, read, read_all

__version__ = "0.1.0"

IMPORTER = Importer(
    name="helpscout",
    description="Help Scout Mailbox API 2.0: customers.json and conversations.json (embed=threads)",
    detect=detect,
    read=read,
    read_all=read_all,
)


@hookimpl
def ocx_register_importers(register: Callable[[Importer], None]) -> None:
    register(IMPORTER)
