"""What plugins hand to ocx and what importers yield: the types behind ocx.plugin_api.

The core imports them from here; plugins import them from ocx.plugin_api, which re-exports
them, so the plugin face sits above the core it reaches and nothing in the core imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    # Optional: read every PATH of one `ocx import` in one go, so people files (users.json,
    # contacts.json...) can be read before the tickets whatever order they were given in.
    # When set, ocx calls it once with all PATHs instead of `read` once per PATH.
    read_all: Callable[[Sequence[Path]], Iterable[Any]] | None = None

    def __post_init__(self) -> None:
        _check_name("importer", self.name)
        if not callable(self.detect) or not callable(self.read):
            raise OcxError(f"importer {self.name!r} needs callable detect and read")
        if self.read_all is not None and not callable(self.read_all):
            raise OcxError(f"importer {self.name!r}: read_all must be callable")


@dataclass(frozen=True)
class OutboundMessage:
    """One message leaving ocx, as a notifier receives it.

    `key` is the outbox's idempotency key: pass it on (email Message-ID, an
    Idempotency-Key header) so a receiver can drop a repeat. `recipient` is what the
    channel addresses (an email address for email, a team handle or customer email
    otherwise); `payload` holds the structured facts (promise, customer, due time...).
    """

    key: str
    kind: str  # reminder, overdue, escalation, cadence, digest, incident-update, test, ...
    channel: str  # the configured channel's name
    recipient: str | None
    subject: str
    body: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    created_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "channel": self.channel,
            "recipient": self.recipient,
            "subject": self.subject,
            "body": self.body,
            "payload": dict(self.payload),
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Notifier:
    """Delivers one message through a channel type (email, webhook, ...).

    send(message, channel_config) -> str: a short delivery note (e.g. the remote id);
    raise OcxError with a clear reason when it cannot deliver, ChannelDown when the channel
    could not be reached or did not answer within its `timeout`.

    Optional, so ocx treats a plugin's channel type as it treats a built-in one:
    check(channel_config) -> list of one-line problems with a channel table (`ocx config
    show` and every delivery report them; never put a value in one); address(person) -> the
    address to send to, given a team member or a customer (`.email`, `.phone`; a member also
    has `.handle`), None when they have none. Without `address`, a channel sends to the email.
    """

    name: str
    description: str
    send: Callable[[Any, Mapping[str, Any]], str]
    config_keys: tuple[str, ...] = field(default_factory=tuple)
    check: Callable[[Mapping[str, Any]], list[str]] | None = None
    address: Callable[[Any], str | None] | None = None

    def __post_init__(self) -> None:
        _check_name("notifier", self.name)
        if not callable(self.send):
            raise OcxError(f"notifier {self.name!r} needs a callable send")
        for hook in ("check", "address"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise OcxError(f"notifier {self.name!r}: {hook} must be callable")


# --- mailboxes: what `ocx inbox ingest` reads ---------------------------------------------


@dataclass(frozen=True)
class RawMessage:
    """One message as a mailbox source hands it over.

    `label` names it in error messages (`Maildir/new/1712.host`, `mail.mbox: message 17`,
    `stdin`); `data` is the RFC 5322 message (headers, blank line, body) as bytes, or None
    when it is larger than the limit it was read with (ocx then names it and skips it);
    `size` is its size in bytes.
    """

    label: str
    data: bytes | None
    size: int


@dataclass(frozen=True)
class InboxReading:
    """What ocx gives a source's `read`: `limit`, the largest message in bytes to hand over
    whole (a larger one is yielded with data None, and not read into memory when the source
    can tell its size first); `config`, ocx.toml as a dict (a source's own settings, e.g. a
    `[inbox.NAME]` table); `taken(message_ids)`, which of these Message-IDs (without angle
    brackets) ocx already holds, so a source that can list ids first (IMAP) fetches only
    the others."""

    limit: int
    config: Mapping[str, Any] = field(default_factory=dict)
    taken: Callable[[Sequence[str]], set[str]] = lambda ids: set()


@dataclass(frozen=True)
class InboxSource:
    """A kind of mailbox `ocx inbox ingest SOURCE` reads (Maildir, mbox, .eml, stdin, ...).

    detect(source) -> bool: is this SOURCE argument (a path, `-`, a URL) one this reads?
    read(source, reading) -> iterable of RawMessage, one per message, in mailbox order;
    raise OcxError when the mailbox itself cannot be read.
    """

    name: str
    description: str
    detect: Callable[[str], bool]
    read: Callable[[str, InboxReading], Iterable[RawMessage]]

    def __post_init__(self) -> None:
        _check_name("inbox source", self.name)
        if not callable(self.detect) or not callable(self.read):
            raise OcxError(f"inbox source {self.name!r} needs callable detect and read")


# --- records an importer yields ------------------------------------------------------------
# An importer yields these in dependency order: a customer before the conversations that
# name it, a conversation before its messages. Text fields are plain text (turn HTML into
# text with ocx.plugin_api.html_to_text); times are ISO 8601 (an offset, or UTC if none).


@dataclass(frozen=True)
class Origin:
    """Where a record came from, for error messages: `tickets.csv:7` or `tickets.json: ticket 1001`."""

    file: str
    line: int | None = None
    record: str | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        if self.record is not None:
            return f"{self.file}: {self.record}"
        return self.file

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.line is not None:
            out["line"] = self.line
        if self.record is not None:
            out["record"] = self.record
        return out


@dataclass(frozen=True)
class CustomerRecord:
    """A customer (never a helpdesk agent) as the other system knows them."""

    external_id: str
    email: str
    name: str | None = None
    company: str | None = None
    phone: str | None = None
    time_zone: str | None = None
    language: str | None = None
    pace: str | None = None
    context: str | None = None
    tags: tuple[str, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True)
class Satisfaction:
    """A customer's rating of a ticket: the helpdesk's own score word or number, and what
    they wrote with it."""

    score: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class ConversationRecord:
    """A ticket or conversation; names its customer by external id or by email.

    `missing_customer` is the reason to give when neither names a customer ocx knows, in the
    helpdesk's words (`ticket 35436: requester 20978392 is not in this export; import the
    users too`): the ticket is then skipped (listed, not an error; an error with --strict).
    `custom_fields` pairs a label (the field id when the export has no definitions) with its
    value; None values are left out. Ticket `tags` describe the ticket, never the customer.
    """

    external_id: str
    customer_external_id: str | None = None
    customer_email: str | None = None
    subject: str | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    origin: Origin | None = None
    priority: str | None = None
    type: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None
    satisfaction: Satisfaction | None = None
    custom_fields: tuple[tuple[str, Any], ...] = ()
    missing_customer: str | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One message in a conversation: from the customer (inbound) or the team (outbound);
    `public=False` is an internal note, never shown as customer-facing."""

    external_id: str
    conversation_external_id: str
    body: str
    created_at: str | None = None
    author: str | None = None
    direction: str = "inbound"
    public: bool = True
    origin: Origin | None = None
    preview: bool = False  # only the conversation's preview text (exported without threads)


@dataclass(frozen=True)
class BadRecord:
    """A record the importer could not read; fatal unless `--skip-bad`, then listed."""

    origin: Origin
    reason: str


class ImportFileError(OcxError):
    """A file that cannot be read at all (empty, not UTF-8, truncated, wrong shape)."""

    def __init__(self, origin: Origin | str, reason: str) -> None:
        super().__init__(f"{origin}: {reason}")
        self.origin = origin
        self.reason = reason


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out on purpose, not because it is malformed (a ticket an agent opened
    is not customer history): listed under `skipped` with the reason; an error only with
    `ocx import --strict`. The importer drops the ticket's messages itself."""

    origin: Origin
    reason: str


@dataclass(frozen=True)
class ImportWarning:
    """Something the person importing should know, said once in the summary (`warnings` in
    --json): `3 conversations had no threads (export with embed=threads)`."""

    text: str


Record = (
    CustomerRecord | ConversationRecord | MessageRecord | BadRecord | SkippedRecord | ImportWarning
)


def iana_zone(name: str | None) -> str | None:
    """A helpdesk's time zone as an IANA name: an IANA name as it is, a Rails
    (ActiveSupport) name such as "Bangkok" or "Eastern Time (US & Canada)" mapped; None for
    anything else. ocx applies it to every CustomerRecord.time_zone itself."""
    from ocx.zones import iana_zone as lookup

    return lookup(name)


def html_to_text(html: str | None) -> str:
    """Helpdesk HTML as readable plain text: block tags become line breaks, entities are
    decoded, scripts and styles dropped; no tag survives into search."""
    if not html:
        return ""
    from ocx._html import to_text

    return to_text(html)


def channel_secret(channel: Mapping[str, Any], key: str) -> str | None:
    """The secret a channel names with `KEY_env = "VARIABLE"`, read from the environment.

    None when the channel names none; an OcxError naming the variable (never a value) when
    it names one that is not set. Secrets never live in ocx.toml or the database.
    """
    import os

    variable = channel.get(f"{key}_env")
    if not variable:
        return None
    value = os.environ.get(str(variable))
    if not value:
        raise OcxError(f"environment variable {variable} (named by {key}_env) is not set")
    return value
