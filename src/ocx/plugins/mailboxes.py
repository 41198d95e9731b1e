"""Built-in mailbox sources for `ocx inbox ingest`: one message on stdin (`-`, for a mail
server's pipe or `.forward`), Maildir folders, `.eml` files and mbox files.

Each reads bytes and nothing more: parsing, matching the sender and taking each message
once is the core's (ocx.inbox). A message larger than the limit is handed over as a size
without its bytes, and read no further than the limit (stdin) or not at all (files).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from ocx.plugin_api import InboxReading, InboxSource, OcxError, RawMessage, hookimpl

# --- stdin ---------------------------------------------------------------------------------


def _is_stdin(source: str) -> bool:
    return source == "-"


def read_stdin(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise OcxError("stdin cannot be read as bytes")
    data = stream.read(reading.limit + 1)
    if len(data) > reading.limit:
        size = len(data)
        while chunk := stream.read(1 << 16):  # drain it, so the mail server sees it taken
            size += len(chunk)
        yield RawMessage("stdin", None, size)
        return
    yield RawMessage("stdin", data, len(data))


# --- files ---------------------------------------------------------------------------------


def _read_file(path: Path, label: str, limit: int) -> RawMessage:
    try:
        size = path.stat().st_size
        if size > limit:
            return RawMessage(label, None, size)
        data = path.read_bytes()
    except OSError as exc:
        raise OcxError(f"cannot read {label}: {exc.strerror or exc}") from None
    return RawMessage(label, data, len(data))


def _is_maildir(source: str) -> bool:
    path = Path(source)
    return source != "-" and (path / "cur").is_dir() and (path / "new").is_dir()


def read_maildir(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    """new/ then cur/, each in name order (Maildir names start with the delivery time).
    Files are only read: flags and folders stay as the mail client left them."""
    root = Path(source)
    for sub in ("new", "cur"):
        try:
            names = sorted(os.listdir(root / sub))
        except OSError as exc:
            raise OcxError(f"cannot read Maildir {source}: {exc.strerror or exc}") from None
        for name in names:
            path = root / sub / name
            if name.startswith(".") or not path.is_file():
                continue
            try:
                yield _read_file(path, str(path), reading.limit)
            except OcxError:
                if path.exists():
                    raise
                # taken away meanwhile (a mail client moved it from new/ to cur/): it is
                # read there, or on the next run


def _is_eml(source: str) -> bool:
    return source.lower().endswith(".eml") and Path(source).is_file()


def read_eml(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    yield _read_file(Path(source), source, reading.limit)


def _is_mbox(source: str) -> bool:
    path = Path(source)
    if source == "-" or not path.is_file():
        return False
    try:
        with path.open("rb") as file:
            head = file.read(5)
    except OSError:
        return False
    return head == b"From " or (head == b"" and path.suffix.lower() in (".mbox", ".mbx"))


def read_mbox(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    """Messages between `From ` lines, as Python's mailbox module separates them, streamed:
    memory holds one message at a time, and at most the limit of a larger one."""
    try:
        file = open(source, "rb")  # noqa: SIM115 (closed below, after the last message)
    except OSError as exc:
        raise OcxError(f"cannot read mbox {source}: {exc.strerror or exc}") from None
    with file:
        number = 0
        parts: list[bytes] | None = None  # None: before the first From line
        size = 0
        blank_last = False

        def finish() -> RawMessage:
            label = f"{source}: message {number}"
            if size > reading.limit:
                return RawMessage(label, None, size)
            data = b"".join(parts or [])
            if blank_last:  # the blank line before the next From line is the separator
                data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
            return RawMessage(label, data, len(data))

        for line in file:
            if line.startswith(b"From "):
                if parts is not None:
                    yield finish()
                number += 1
                parts, size, blank_last = [], 0, False
                continue
            if parts is None:  # text before the first From line: not a message
                continue
            size += len(line)
            if size <= reading.limit:
                parts.append(line)
            blank_last = line in (b"\n", b"\r\n")
        if parts is not None:
            blank_last = False  # the last message keeps its trailing blank line
            yield finish()


@hookimpl
def ocx_register_inbox_sources(register):  # type: ignore[no-untyped-def]
    register(InboxSource("stdin", "One message on stdin (-), from a mail server's pipe",
                         _is_stdin, read_stdin))  # fmt: skip
    register(InboxSource("maildir", "A Maildir folder (its cur/ and new/)", _is_maildir,
                         read_maildir))  # fmt: skip
    register(InboxSource("eml", "One message in a .eml file", _is_eml, read_eml))
    register(InboxSource("mbox", "An mbox file", _is_mbox, read_mbox))
