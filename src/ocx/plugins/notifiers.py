"""Built-in notifiers: `console`, `email`, `webhook` and `command`, and the channel checks.

A channel is a `[channels.NAME]` table in ocx.toml whose `type` names a notifier. Each
notifier's `send(message, channel)` delivers one `OutboundMessage` and returns a short note,
or raises `OcxError` with a one-line reason that never holds a secret. Secrets reach a
channel only through `*_env` keys naming environment variables (`channel_secret`).

`check_channel(name, channel, notifiers)` lists what is wrong with one channel table
(for `ocx config show` and before delivering); `deliver(...)` checks a channel and sends
through it, turning whatever a notifier raises into an `OcxError`.

This module is imported whenever plugins load, so smtplib, urllib, hmac and subprocess are
imported only by the notifier that needs them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ocx import clock
from ocx.errors import OcxError
from ocx.hookspecs import hookimpl
from ocx.plugin_api import Notifier, OutboundMessage, channel_secret

DEFAULT_TIMEOUT = 10.0  # seconds, email and webhook
DEFAULT_COMMAND_TIMEOUT = 30.0
# Keys that would hold a secret if written into ocx.toml by hand (use KEY_env instead).
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)s?$", re.IGNORECASE)


# --- small helpers -----------------------------------------------------------------------


def _timeout(channel: Mapping[str, Any], default: float) -> float:
    value = channel.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise OcxError("timeout must be a positive number of seconds")
    return float(value)


def _flag(channel: Mapping[str, Any], key: str, default: bool) -> bool:
    value = channel.get(key, default)
    if not isinstance(value, bool):
        raise OcxError(f"{key} must be true or false")
    return value


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- console -----------------------------------------------------------------------------


def send_console(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """Print the message on stdout: `To:`, `Subject:`, a blank line, the body."""
    lines = []
    if message.recipient:
        lines.append(f"To: {message.recipient}")
    lines += [f"Subject: {message.subject}", "", message.body.rstrip("\n"), ""]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    return "printed to stdout"


# --- email -------------------------------------------------------------------------------


def message_id(key: str) -> str:
    """`<KEY@ocx>` with every character a Message-ID may not hold written as `=XX` (so two
    keys never share an id): `promise:12:reminder` -> `<promise=3A12=3Areminder@ocx>`."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_+") else
        "".join(f"={byte:02X}" for byte in ch.encode("utf-8"))
        for ch in key
    )  # fmt: skip
    return f"<{safe}@ocx>"


def _login(smtp: Any, username: str, password: str) -> None:
    """smtplib.login, which sends only ASCII credentials; AUTH PLAIN carries UTF-8 ones
    (RFC 4616), so non-ASCII credentials go that way by hand."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    import base64
    import smtplib

    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise OcxError("the SMTP server does not offer AUTH PLAIN, needed for a non-ASCII "
                       "username or password")  # fmt: skip
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def send_email(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """Send one mail through SMTP: STARTTLS by default, SMTP over TLS with `ssl = true`."""
    if not message.recipient:
        raise OcxError("no email address for recipient")
    host = str(channel.get("host") or "")
    sender = str(channel.get("from") or "")
    if not host or not sender:
        raise OcxError("an email channel needs host and from")
    use_ssl = _flag(channel, "ssl", False)
    starttls = _flag(channel, "starttls", not use_ssl)
    port = channel.get("port", 465 if use_ssl else 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise OcxError("port must be a number from 1 to 65535")
    timeout = _timeout(channel, DEFAULT_TIMEOUT)
    username = channel.get("username")
    password = channel_secret(channel, "password")
    if username and password is None:
        raise OcxError("username is set but password_env is not")

    import smtplib
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate

    mail = EmailMessage()
    try:
        mail["From"] = sender
        mail["To"] = message.recipient
        mail["Subject"] = " ".join(message.subject.split())
        mail["Date"] = formatdate(clock.now().timestamp(), localtime=False)  # honours OCX_NOW
        mail["Message-ID"] = message_id(message.key)
        mail["X-Ocx-Key"] = message.key
        mail["X-Ocx-Kind"] = message.kind
    except (ValueError, TypeError) as exc:  # a header with a line break, a bad address
        raise OcxError(f"cannot build the mail: {_one_line(str(exc))}") from None
    mail.set_content(message.body, charset="utf-8")

    where = f"{host}:{port}"
    try:
        context = ssl.create_default_context()
        if use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if starttls and not use_ssl:
                smtp.starttls(context=context)
            if username and password is not None:
                _login(smtp, str(username), password)
            smtp.send_message(mail)
    except smtplib.SMTPNotSupportedError as exc:
        if "STARTTLS" in str(exc):
            raise OcxError(f"SMTP server {where} does not offer STARTTLS "
                           "(set starttls = false to send without TLS)") from None  # fmt: skip
        raise OcxError(f"SMTP server {where} does not accept the international address "
                       f"{message.recipient} (no SMTPUTF8)") from None  # fmt: skip
    except smtplib.SMTPAuthenticationError:
        raise OcxError(f"SMTP server {where} refused the login of {username}") from None
    except smtplib.SMTPRecipientsRefused:
        raise OcxError(f"SMTP server {where} refused the recipient {message.recipient}") from None
    except smtplib.SMTPSenderRefused:
        raise OcxError(f"SMTP server {where} refused the sender {sender}") from None
    except smtplib.SMTPResponseException as exc:
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)  # fmt: skip
        raise OcxError(
            f"SMTP server {where} answered {exc.smtp_code} {_one_line(reason)}"
        ) from None
    except smtplib.SMTPException as exc:
        raise OcxError(f"SMTP server {where} failed: {_one_line(str(exc))}") from None
    except TimeoutError:
        raise OcxError(f"SMTP server {where} did not answer within {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise OcxError(f"TLS with SMTP server {where} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise OcxError(
            f"cannot reach SMTP server {where}: {exc.strerror or type(exc).__name__}"
        ) from None
    return f"sent to {message.recipient} via {where}"


# --- webhook -----------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """The URL for messages: no user:password@, no query string or fragment."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


def signature(secret: str, body: bytes) -> str:
    """The X-Ocx-Signature value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _webhook_url(channel: Mapping[str, Any]) -> str:
    from urllib.parse import urlsplit

    url = channel.get("url")
    if not isinstance(url, str) or not url:
        raise OcxError("a webhook channel needs url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise OcxError("url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OcxError("url must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise OcxError("url must not hold user:password@ (name secrets with *_env keys)")
    return url


def send_webhook(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """POST the message as JSON; any 2xx answer is a delivery, redirects are not followed."""
    url = _webhook_url(channel)
    timeout = _timeout(channel, DEFAULT_TIMEOUT)
    secret = channel_secret(channel, "secret")
    body = json.dumps(message.to_json()).encode("utf-8")

    import http.client
    import urllib.error
    import urllib.request

    from ocx import __version__

    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ocx/{__version__}",
        "Idempotency-Key": message.key,
    }
    if secret is not None:
        headers["X-Ocx-Signature"] = signature(secret, body)
    shown = shown_url(url)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener().open(request, timeout=timeout) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise OcxError(f"webhook {shown} answered {exc.code}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise OcxError(f"webhook {shown} did not answer within {timeout:g} s") from None
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        raise OcxError(f"cannot reach webhook {shown}: {_one_line(str(reason))}") from None
    except TimeoutError:
        raise OcxError(f"webhook {shown} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise OcxError(f"webhook {shown} failed: {_one_line(reason)}") from None
    except ValueError as exc:  # a header value http.client refuses (a line break in the key)
        raise OcxError(f"cannot post to webhook {shown}: {_one_line(str(exc))}") from None
    return f"posted to {shown}: {status}"


def _opener() -> Any:
    """urllib's opener without redirects: a redirected POST would arrive as a GET without its
    body, so a 3xx answer is a failure like any other non-2xx."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


# --- command -----------------------------------------------------------------------------


def _argv(channel: Mapping[str, Any]) -> list[str]:
    argv = channel.get("argv")
    if (
        not isinstance(argv, list | tuple)
        or not argv
        or not all(isinstance(arg, str) for arg in argv)
        or not argv[0]
    ):
        raise OcxError('argv must be a list of strings, e.g. argv = ["notify-send", "ocx"]')
    return list(argv)


def send_command(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """Run `argv` (no shell) with the message JSON on stdin; exit 0 is a delivery."""
    argv = _argv(channel)
    timeout = _timeout(channel, DEFAULT_COMMAND_TIMEOUT)
    body = json.dumps(message.to_json()).encode("utf-8")
    program = argv[0]

    import subprocess

    try:
        done = subprocess.run(argv, input=body, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise OcxError(f"command {program} not found") from None
    except PermissionError:
        raise OcxError(f"command {program} is not executable") from None
    except subprocess.TimeoutExpired:
        raise OcxError(f"command {program} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise OcxError(f"cannot run command {program}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        how = (f"was killed by signal {-done.returncode}" if done.returncode < 0
               else f"exited with {done.returncode}")  # fmt: skip
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f": {_one_line(lines[-1])}" if lines else ""
        raise OcxError(f"command {program} {how}{tail}")
    out = done.stdout.decode("utf-8", "replace").strip().splitlines()
    return f"command {program} exited 0" + (f": {_one_line(out[-1])}" if out else "")


# --- channel checks ----------------------------------------------------------------------


def _check_email(channel: Mapping[str, Any]) -> list[str]:
    problems = []
    port = channel.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 < port < 65536):  # fmt: skip
        problems.append("port must be a number from 1 to 65535")
    for key in ("starttls", "ssl"):
        if key in channel and not isinstance(channel[key], bool):
            problems.append(f"{key} must be true or false")
    if channel.get("username") and not channel.get("password_env"):
        problems.append("username is set but password_env is not")
    return problems


def _check_webhook(channel: Mapping[str, Any]) -> list[str]:
    if "url" not in channel:
        return []  # reported as a missing key
    try:
        _webhook_url(channel)
    except OcxError as exc:
        return [str(exc)]
    return []


def _check_command(channel: Mapping[str, Any]) -> list[str]:
    if "argv" not in channel:
        return []
    try:
        _argv(channel)
    except OcxError as exc:
        return [str(exc)]
    return []


def _check_timeout(channel: Mapping[str, Any]) -> list[str]:
    if "timeout" not in channel:
        return []
    try:
        _timeout(channel, DEFAULT_TIMEOUT)
    except OcxError as exc:
        return [str(exc)]
    return []


def check_channel(
    name: str,
    channel: Any,
    notifiers: Mapping[str, Notifier],
    *,
    channels: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with the channel table `[channels.NAME]`, one short sentence each
    (naming the channel and the key or variable, never a value); empty when it is usable.

    Checks: a table with a known `type`; the notifier's required `config_keys`; every
    `*_env` key names an environment variable that is set; no secret written in as a value;
    for the built-in types, the shape of their keys; with `channels` (the whole
    `[channels]` table), that `fallback` names another configured channel.
    """
    if not isinstance(channel, Mapping):
        return [f"channel {name} is not a table"]
    problems: list[str] = []
    known = ", ".join(sorted(notifiers)) or "none registered"
    kind = channel.get("type")
    notifier = notifiers.get(kind) if isinstance(kind, str) else None
    if kind is None:
        problems.append(f"channel {name} has no type (one of: {known})")
    elif notifier is None:
        problems.append(f"channel {name} has an unknown type {kind!r} (known: {known})")
    else:
        for key in notifier.config_keys:
            if channel.get(key) in (None, "", [], {}):
                problems.append(f"channel {name} is missing the key {key} (type {kind})")
        if notifier is BUILTIN_NOTIFIERS.get(str(kind)):
            check = _CHECKS.get(str(kind))
            extra = (check(channel) if check else []) + _check_timeout(channel)
            problems += [f"channel {name}: {problem}" for problem in extra]
    for key, value in channel.items():
        if key.endswith("_env"):
            if not isinstance(value, str) or not value.isidentifier():
                problems.append(f"channel {name}: {key} must name an environment variable")
            elif not os.environ.get(value):
                problems.append(
                    f"channel {name}: environment variable {value} (named by {key}) is not set"
                )
        elif _SECRET_KEY.search(key):
            problems.append(
                f"channel {name}: {key} must not be written in ocx.toml; "
                f"set {key}_env to the name of an environment variable holding it"
            )
    fallback = channel.get("fallback")
    if fallback is not None:
        if not isinstance(fallback, str) or not fallback:
            problems.append(f"channel {name}: fallback must name a channel")
        elif fallback == name:
            problems.append(f"channel {name}: fallback names the channel itself")
        elif channels is not None and fallback not in channels:
            problems.append(f"channel {name}: fallback {fallback} is not a configured channel")
    return problems


def deliver(
    message: OutboundMessage,
    name: str,
    channel: Any,
    notifiers: Mapping[str, Notifier],
) -> str:
    """Check channel NAME and send MESSAGE through it: the notifier's note, or an OcxError
    `channel NAME: reason` (also for an unexpected exception inside a plugin's send)."""
    problems = check_channel(name, channel, notifiers)
    if problems:
        raise OcxError("; ".join(problems))
    notifier = notifiers[channel["type"]]
    try:
        return notifier.send(message, channel)
    except OcxError as exc:
        raise OcxError(f"channel {name}: {exc}") from None
    except Exception as exc:  # a plugin's bug must not stop the other deliveries
        detail = _one_line(str(exc))
        raise OcxError(
            f"channel {name}: notifier {notifier.name} failed: {type(exc).__name__}"
            + (f": {detail}" if detail else "")
        ) from None


# --- registration ------------------------------------------------------------------------

_CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "email": _check_email,
    "webhook": _check_webhook,
    "command": _check_command,
}

BUILTIN_NOTIFIERS: dict[str, Notifier] = {
    n.name: n
    for n in (
        Notifier("console", "Print each message on standard output", send_console),
        Notifier("email", "Send mail through an SMTP server (smtplib)", send_email,
                 ("host", "from")),
        Notifier("webhook", "POST each message as JSON, HMAC-signed, to a URL", send_webhook,
                 ("url",)),
        Notifier("command", "Run a program with the message JSON on standard input",
                 send_command, ("argv",)),
    )
}  # fmt: skip


@hookimpl
def ocx_register_notifiers(register):  # type: ignore[no-untyped-def]
    for notifier in BUILTIN_NOTIFIERS.values():
        register(notifier)
