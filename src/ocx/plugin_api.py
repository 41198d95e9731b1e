"""What plugins hand to ocx: importers and notifiers, validated when they register."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocx.errors import OcxError

_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise OcxError(f"{kind} name {name!r} is not valid: use lower-case letters, digits, - or _")


@dataclass(frozen=True)
class Importer:
    """Brings records in from another system's export.

    detect(path) -> bool: is this file or folder one this importer reads?
    read(path) -> iterable of normalised records (see docs/plugins.md).
    """

    name: str
    description: str
    detect: Callable[[Path], bool]
    read: Callable[[Path], Iterable[Any]]

    def __post_init__(self) -> None:
        _check_name("importer", self.name)
        if not callable(self.detect) or not callable(self.read):
            raise OcxError(f"importer {self.name!r} needs callable detect and read")


@dataclass(frozen=True)
class Notifier:
    """Delivers one message through a channel type (email, webhook, ...).

    send(message, channel_config) -> str: a short delivery note (e.g. the remote id);
    raise OcxError with a clear reason when it cannot deliver.
    """

    name: str
    description: str
    send: Callable[[Any, Mapping[str, Any]], str]
    config_keys: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_name("notifier", self.name)
        if not callable(self.send):
            raise OcxError(f"notifier {self.name!r} needs a callable send")
