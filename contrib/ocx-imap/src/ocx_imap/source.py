"""Reading one IMAP mailbox for `ocx inbox ingest imap:NAME`.

The account is an `[imap.NAME]` table in ocx.toml; its password comes from the environment
variable the table names (`password_env`), never from ocx.toml, a URL or the database. The
connection is TLS from the start (`tls = "imaps"`) or after STARTTLS (`tls = "starttls"`);
ocx never logs in over plain text. The mailbox is opened read-only (EXAMINE): nothing is
flagged, moved or deleted, and bodies are fetched with BODY.PEEK, which leaves \\Seen alone.

Mail ocx already holds is not downloaded again: for each slice of the mailbox a first fetch
asks only for UIDs, sizes and Message-ID headers, ocx says which of those ids it has taken
(InboxReading.taken), and only the others are fetched whole, those larger than the limit
not at all. Every network step is bounded by the table's `timeout`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ocx.plugin_api import InboxReading, OcxError, RawMessage, channel_secret

DEFAULT_TIMEOUT = 30  # seconds, for connecting and for each answer
HEADERS_PER_FETCH = 500  # messages whose Message-ID one header fetch asks for
BODIES_PER_FETCH = 50  # messages one body fetch asks for (and at most the limit in bytes)
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_START = re.compile(rb"^\d+ \(")  # an untagged FETCH response, as imaplib hands it over
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_IDS = re.compile(r"<([^<>\s]+)>")  # a Message-ID as ocx keys it (ocx.inbox.normalise_id)
_MAX_ID = 500  # ocx keys a longer Message-ID by a hash: such a message is fetched whole


@dataclass(frozen=True)
class Account:
    """An `[imap.NAME]` table, checked."""

    name: str
    host: str
    port: int
    tls: str  # "imaps" or "starttls"
    username: str
    password: str
    mailbox: str
    timeout: float
    ca_file: str | None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def account(source: str, config: Mapping[str, Any]) -> Account:
    """The account SOURCE (`imap:NAME`) names, from ocx.toml; OcxError saying what is wrong."""
    usage = "give imap:NAME, naming an [imap.NAME] table in ocx.toml"
    if "://" in source:
        raise OcxError(f"{source!r}: {usage} (a URL cannot say which environment variable "
                       "holds the password)")  # fmt: skip
    scheme, _, name = source.partition(":")
    if scheme.lower() != "imap" or not _NAME.fullmatch(name):
        raise OcxError(f"{source!r}: {usage}")
    tables = config.get("imap")
    table = tables.get(name) if isinstance(tables, dict) else None
    if not isinstance(table, dict):
        raise OcxError(f"{source}: ocx.toml has no [imap.{name}] table")
    at = f"[imap.{name}]"

    def text(key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise OcxError(f"{at}: {key} is not set" if value is None else
                           f"{at}: {key} must be text")  # fmt: skip
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise OcxError(f"{at}: {key} holds a control character")
        return value.strip() if key != "mailbox" else value

    host = text("host")
    username = text("username")
    mailbox = text("mailbox", "INBOX")
    tls = table.get("tls", "imaps")
    if tls not in ("imaps", "starttls"):
        raise OcxError(f'{at}: tls must be "imaps" or "starttls" '
                       "(ocx never logs in without TLS)")  # fmt: skip
    port = table.get("port", 993 if tls == "imaps" else 143)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise OcxError(f"{at}: port must be a number from 1 to 65535")
    timeout = table.get("timeout", DEFAULT_TIMEOUT)
    from ocx.plugin_api import timeout_problem

    problem = timeout_problem(timeout)
    if problem:
        raise OcxError(f"{at}: {problem}")
    ca_file = text("ca_file") if "ca_file" in table else None
    if not table.get("password_env"):
        raise OcxError(f"{at}: password_env is not set (the name of the environment "
                       "variable that holds the password)")  # fmt: skip
    try:
        password = channel_secret(table, "password")
    except OcxError as exc:
        raise OcxError(f"{at}: {exc}") from None
    assert password is not None  # password_env is set, and channel_secret raised if unset
    return Account(name, host, port, tls, username, password, mailbox, float(timeout), ca_file)


# --- talking to the server -----------------------------------------------------------------


def _mailbox_argument(name: str) -> str:
    """NAME as an IMAP mailbox argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    import base64

    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    quoted = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"'


def _answer(data: Any) -> str:
    """The text of a server's answer (imaplib hands over bytes, lists of them, or str)."""
    from ocx.plugin_api import one_line

    if isinstance(data, list | tuple):
        data = b" ".join(d if isinstance(d, bytes) else str(d).encode() for d in data if d)
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return one_line(str(data))


class Session:
    """One logged-in connection, the mailbox open read-only. Every failure becomes an
    OcxError of one line, which never holds the password."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.imap: Any = None
        self.doing = "connecting"

    def failure(self, exc: BaseException) -> OcxError:
        import imaplib
        import ssl

        acc = self.account
        where = f"IMAP server {acc.where}"
        if isinstance(exc, TimeoutError):
            line = f"{where} did not answer within {acc.timeout:g} s ({self.doing})"
        elif isinstance(exc, ssl.SSLCertVerificationError):
            line = (f"TLS with {where} failed: {exc.verify_message or exc.reason} "
                    "(ca_file names a CA to trust)")  # fmt: skip
        elif isinstance(exc, ssl.SSLError):
            line = f"TLS with {where} failed: {exc.reason or exc}"
        elif isinstance(exc, OSError):
            reason = exc.strerror or str(exc) or type(exc).__name__
            if self.doing == "connecting":
                line = f"cannot reach {where}: {reason}"
            else:
                line = f"{where} dropped the connection ({self.doing}): {reason}"
        elif isinstance(exc, imaplib.IMAP4.abort):
            line = f"{where} dropped the connection ({self.doing}): {_answer(exc.args)}"
        elif self.doing == "logging in":
            line = f"{where} refused the login of {acc.username}: {_answer(exc.args)}"
        else:
            line = f"{where} failed ({self.doing}): {_answer(exc.args)}"
        return OcxError(line.replace(acc.password, "********") if acc.password else line)

    def run(self, step: str, call: Any, *args: Any) -> Any:
        import imaplib

        self.doing = step
        try:
            return call(*args)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self.failure(exc) from None

    def open(self) -> None:
        """Connect, TLS, log in and EXAMINE the mailbox."""
        import imaplib
        import ssl

        acc = self.account
        try:
            context = ssl.create_default_context()
            if acc.ca_file:
                context.load_verify_locations(cafile=acc.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise OcxError(
                f"[imap.{acc.name}]: cannot read ca_file {acc.ca_file}: {reason}"
            ) from None
        if acc.tls == "imaps":
            self.imap = self.run("connecting", lambda: imaplib.IMAP4_SSL(
                acc.host, acc.port, ssl_context=context, timeout=acc.timeout))  # fmt: skip
        else:
            self.imap = self.run("connecting", lambda: imaplib.IMAP4(
                acc.host, acc.port, timeout=acc.timeout))  # fmt: skip
            if "STARTTLS" not in self.imap.capabilities:
                raise OcxError(f'IMAP server {acc.where} does not offer STARTTLS '
                               '(tls = "imaps" connects with TLS from the start)')  # fmt: skip
            self.run("starting TLS", self.imap.starttls, context)
        if (acc.username + acc.password).isascii():
            self.run("logging in", self.imap.login, acc.username, acc.password)
        else:  # LOGIN is ASCII only; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616)
            token = f"\0{acc.username}\0{acc.password}".encode()
            self.run("logging in", self.imap.authenticate, "PLAIN", lambda _: token)
        status, data = self.run(
            "opening the mailbox", self.imap.select, _mailbox_argument(acc.mailbox), True
        )
        if status != "OK":
            raise OcxError(f"IMAP server {acc.where} cannot open mailbox {acc.mailbox!r} of "
                           f"{acc.username}: {_answer(data)}")  # fmt: skip
        self.exists = int(data[0]) if data and data[0] else 0

    def fetch(self, command: str, what: str, items: str) -> list[tuple[bytes, bytes | None]]:
        """FETCH (or UID FETCH) WHAT ITEMS: per message, its response line(s) without the
        literal, and the literal (None when it came without one)."""
        if command == "UID":
            status, data = self.run("fetching", self.imap.uid, "FETCH", what, items)
        else:
            status, data = self.run("fetching", self.imap.fetch, what, items)
        if status != "OK":
            raise OcxError(f"IMAP server {self.account.where} failed to fetch: {_answer(data)}")
        found: list[tuple[bytes, bytes | None]] = []
        for item in data or []:
            if isinstance(item, tuple) and len(item) >= 2:
                found.append((bytes(item[0]), bytes(item[1])))
            elif isinstance(item, bytes) and _START.match(item):
                found.append((item, None))
            elif isinstance(item, bytes) and found:  # what follows a literal: ` UID 7)`
                head, literal = found[-1]
                found[-1] = (head + item, literal)
        return found

    def close(self) -> None:
        import contextlib

        if self.imap is None:
            return
        with contextlib.suppress(Exception):
            self.imap.logout()
        with contextlib.suppress(Exception):
            self.imap.shutdown()
        self.imap = None


def _message_id(header: bytes | None) -> str | None:
    """The Message-ID as ocx keys it, from a `Message-ID: ...` header block; None when there
    is none ocx keys by (it then keys the message by a hash, so it must be fetched)."""
    if not header:
        return None
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", header).decode("utf-8", "replace")
    for line in unfolded.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "message-id":
            found = _IDS.search(value)
            key = found.group(1) if found else value.strip().strip("<>").strip()
            if key and len(key) <= _MAX_ID and not any(c.isspace() for c in key):
                return key
            return None
    return None


def read(source: str, reading: InboxReading) -> Iterator[RawMessage]:
    """Every message of the mailbox ocx has not taken, oldest first; a larger one than the
    limit as its size alone."""
    acc = account(source, reading.config)
    session = Session(acc)
    try:
        session.open()
        for first in range(1, session.exists + 1, HEADERS_PER_FETCH):
            last = min(first + HEADERS_PER_FETCH - 1, session.exists)
            listed = []
            for head, literal in session.fetch(
                "", f"{first}:{last}", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
            ):
                uid, size = _UID.search(head), _SIZE.search(head)
                if uid and size:
                    listed.append((int(uid.group(1)), int(size.group(1)), _message_id(literal)))
            known = reading.taken([key for _, _, key in listed if key]) if listed else set()
            wanted = [(uid, size) for uid, size, key in listed if key is None or key not in known]
            yield from _bodies(session, source, wanted, reading.limit)
        session.close()
    finally:
        session.close()


def _bodies(
    session: Session, source: str, wanted: list[tuple[int, int]], limit: int
) -> Iterator[RawMessage]:
    """The messages WANTED (uid, size) in mailbox order, fetched a few at a time (at most
    the limit in bytes per fetch); one larger than the limit by its size alone."""
    group: list[tuple[int, int]] = []
    total = 0
    for uid, size in wanted:
        small = size <= limit
        if (small and total + size > limit) or len(group) >= BODIES_PER_FETCH:
            yield from _fetch_group(session, source, group, limit)
            group, total = [], 0
        group.append((uid, size))
        total += size if small else 0
    if group:
        yield from _fetch_group(session, source, group, limit)


def _fetch_group(
    session: Session, source: str, group: list[tuple[int, int]], limit: int
) -> Iterator[RawMessage]:
    small = [uid for uid, size in group if size <= limit]
    bodies: dict[int, bytes] = {}
    if small:
        for head, literal in session.fetch("UID", ",".join(map(str, small)), "(BODY.PEEK[])"):
            uid = _UID.search(head)
            if uid and literal is not None:
                bodies[int(uid.group(1))] = literal
    for uid, size in group:
        label = f"{source}: message UID {uid}"
        if size > limit:
            yield RawMessage(label, None, size)
            continue
        data = bodies.get(uid)
        if data is None:  # expunged by another client since the listing: nothing to take
            continue
        yield RawMessage(label, data if len(data) <= limit else None, len(data))
