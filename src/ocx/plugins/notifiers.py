"""Built-in notifiers: `console`, `email`, `webhook` and `command`, and the channel checks.

A channel is a `[channels.NAME]` table in ocx.toml whose `type` names a notifier. Each
notifier's `send(message, channel)` delivers one `OutboundMessage` and returns a short note,
or raises `OcxError` with a one-line reason that never holds a secret: `ChannelDown` when the
channel could not be reached or did not answer in time (the outbox then holds its other
messages for the next run), a plain `OcxError` for anything else. Secrets reach a channel
only through `*_env` keys naming environment variables (`channel_secret`).

A channel's `timeout` (at most `MAX_TIMEOUT`) bounds a whole attempt, not each socket
operation: email and webhook run against a `_Deadline`, whose watchdog shuts the socket down
when the time is up; `command` bounds the whole run with the subprocess timeout.

`check_channel(name, channel, notifiers)` lists what is wrong with one channel table
(for `ocx config show` and before delivering); `deliver(...)` checks a channel and sends
through it, turning whatever a notifier raises into an `OcxError` (a `ChannelDown` stays one).

This module is imported whenever plugins load, so smtplib, http.client, ssl, threading,
urllib.request, hmac and subprocess are imported only by the code that needs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from ocx import clock
from ocx.errors import ChannelDown, OcxError
from ocx.hookspecs import hookimpl
from ocx.plugin_api import Notifier, OutboundMessage, channel_secret

DEFAULT_TIMEOUT = 10.0  # seconds, email and webhook
DEFAULT_COMMAND_TIMEOUT = 30.0
# A third of the outbox's 15-minute claim lease (ocx.outbox.CLAIM_LEASE): one attempt never
# outlives the claim, so no later run takes the message over while it is still being sent.
MAX_TIMEOUT = 300
# Keys that would hold a secret if written into ocx.toml by hand (use KEY_env instead).
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)s?$", re.IGNORECASE)


# --- small helpers -----------------------------------------------------------------------


def timeout_problem(value: Any) -> str | None:
    """Why VALUE cannot be a channel's `timeout`, or None when it can: seconds, more than 0
    and at most MAX_TIMEOUT. Shared by the channel checks, sending and `ocx config set`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return "timeout must be a positive number of seconds"
    if value > MAX_TIMEOUT:
        return (f"timeout must be at most {MAX_TIMEOUT} seconds "
                "(a third of the 15-minute claim lease)")  # fmt: skip
    return None


def _timeout(channel: Mapping[str, Any], default: float) -> float:
    value = channel.get("timeout", default)
    problem = timeout_problem(value)
    if problem:
        raise OcxError(problem)
    return float(value)


def _flag(channel: Mapping[str, Any], key: str, default: bool) -> bool:
    value = channel.get(key, default)
    if not isinstance(value, bool):
        raise OcxError(f"{key} must be true or false")
    return value


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Deadline:
    """The end of one delivery attempt, `timeout` seconds after it starts.

    A socket timeout bounds each call, not the attempt: a receiver that answers one byte a
    second never trips it. So `watch(live_socket)` starts a watchdog that, at the deadline,
    shuts down the socket `live_socket()` returns then (STARTTLS replaces it), which ends a
    blocked read or write at once; the failure that follows is reported as a timeout because
    `passed`. Phases the watchdog cannot reach get the time left as their socket timeout:
    connecting, and a TLS handshake (which CPython bounds as a whole)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.end = time.monotonic() + timeout
        self.fired = False
        self._timer: Any = None

    def remaining(self) -> float:
        """Seconds left, for a socket timeout; TimeoutError once there are none."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline has passed")
        return left

    @property
    def passed(self) -> bool:
        return self.fired or time.monotonic() >= self.end

    def watch(self, live_socket: Callable[[], Any]) -> None:
        import socket
        import threading

        def fire() -> None:
            self.fired = True
            sock = live_socket()
            if sock is None:
                return
            # socket.socket's own shutdown: SSLSocket's also drops its TLS state. OSError: not
            # connected yet, or already closed.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

        self._timer = threading.Timer(max(self.end - time.monotonic(), 0.0), fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        """Stop the watchdog, waiting if it is firing, so it never touches a later socket."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()


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


def _smtp_failure(exc: OSError, where: str, deadline: _Deadline, recipient: str | None,
                  sender: str, username: Any) -> OcxError:  # fmt: skip
    """The one-line error for a failed SMTP attempt: a ChannelDown when the server could not
    be reached or did not answer by the deadline, a plain OcxError when it answered no."""
    import smtplib
    import ssl

    if deadline.passed or isinstance(exc, TimeoutError):
        return ChannelDown(f"SMTP server {where} did not answer within {deadline.timeout:g} s")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc):
            return OcxError(f"SMTP server {where} does not offer STARTTLS "
                            "(set starttls = false to send without TLS)")  # fmt: skip
        return OcxError(f"SMTP server {where} does not accept the international address "
                        f"{recipient} (no SMTPUTF8)")  # fmt: skip
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return OcxError(f"SMTP server {where} refused the login of {username}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return OcxError(f"SMTP server {where} refused the recipient {recipient}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return OcxError(f"SMTP server {where} refused the sender {sender}")
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)  # fmt: skip
        return OcxError(f"SMTP server {where} answered {exc.smtp_code} {_one_line(reason)}")
    if isinstance(exc, smtplib.SMTPException):
        return OcxError(f"SMTP server {where} failed: {_one_line(str(exc))}")
    if isinstance(exc, ssl.SSLError):
        return OcxError(f"TLS with SMTP server {where} failed: {exc.reason or exc}")
    reason = exc.strerror or type(exc).__name__
    return ChannelDown(f"cannot reach SMTP server {where}: {reason}")


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
    import socket
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
    deadline = _Deadline(timeout)
    # Not connected yet: the banner may drip too, so the watchdog starts before connecting.
    smtp = smtplib.SMTP(timeout=timeout)
    smtp._host = host  # what connect() would set: TLS checks the certificate against it
    deadline.watch(lambda: smtp.sock)
    try:
        context = ssl.create_default_context()
        sock = socket.create_connection((host, port), timeout=deadline.remaining())
        if use_ssl:
            sock.settimeout(deadline.remaining())  # bounds the whole handshake
            sock = context.wrap_socket(sock, server_hostname=host)
        smtp.sock = sock
        code, answer = smtp.getreply()
        if code != 220:
            raise smtplib.SMTPConnectError(code, answer)
        if starttls and not use_ssl:
            sock.settimeout(deadline.remaining())
            smtp.starttls(context=context)
        if username and password is not None:
            _login(smtp, str(username), password)
        smtp.send_message(mail)
        with contextlib.suppress(OSError):  # the mail is accepted: a lost QUIT cannot undo it
            smtp.quit()
    except OSError as exc:  # smtplib's and ssl's errors, timeouts, refused connections
        raise _smtp_failure(exc, where, deadline, message.recipient, sender, username) from None
    finally:
        deadline.cancel()
        smtp.close()
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
    """POST the message as JSON; any 2xx answer is a delivery, redirects are not followed
    (a redirected POST would arrive as a GET without its body), so a 3xx is a failure."""
    url = _webhook_url(channel)
    timeout = _timeout(channel, DEFAULT_TIMEOUT)
    secret = channel_secret(channel, "secret")
    body = json.dumps(message.to_json()).encode("utf-8")

    import http.client
    import ssl
    from urllib.parse import urlsplit

    from ocx import __version__

    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ocx/{__version__}",
        "Idempotency-Key": message.key,
    }
    if secret is not None:
        headers["X-Ocx-Signature"] = signature(secret, body)
    shown = shown_url(url)
    parts = urlsplit(url)
    deadline = _Deadline(timeout)
    conn: http.client.HTTPConnection | None = None
    sent = False
    try:
        context = ssl.create_default_context() if parts.scheme == "https" else None
        conn, target, proxy_headers = _connection(parts, context, deadline.remaining())
        deadline.watch(lambda: conn.sock if conn is not None else None)
        if context is not None:
            # TCP (and CONNECT through a proxy) first, then TLS with the time left, which
            # CPython bounds as a whole: the watchdog cannot reach a socket in its handshake.
            http.client.HTTPConnection.connect(conn)
            conn.sock.settimeout(deadline.remaining())
            conn.sock = context.wrap_socket(conn.sock, server_hostname=parts.hostname)
        else:
            conn.connect()
        conn.request("POST", target, body=body, headers={**headers, **proxy_headers})
        sent = True
        response = conn.getresponse()
        status = response.status
        # The status is the answer; the body is read only to close cleanly, until the deadline.
        with contextlib.suppress(OSError, http.client.HTTPException):
            response.read(65536)
    except ValueError as exc:  # a header value http.client refuses (a line break in the key)
        raise OcxError(f"cannot post to webhook {shown}: {_one_line(str(exc))}") from None
    except (OSError, http.client.HTTPException) as exc:
        if deadline.passed or isinstance(exc, TimeoutError):
            raise ChannelDown(f"webhook {shown} did not answer within {timeout:g} s") from None
        reason = _one_line(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        if isinstance(exc, OSError) and not sent:
            raise ChannelDown(f"cannot reach webhook {shown}: {reason}") from None
        raise OcxError(f"webhook {shown} failed: {reason}") from None
    finally:
        deadline.cancel()
        if conn is not None:
            conn.close()
    if not 200 <= status < 300:
        raise OcxError(f"webhook {shown} answered {status}")
    return f"posted to {shown}: {status}"


def _connection(parts: Any, context: Any, timeout: float) -> tuple[Any, str, dict[str, str]]:
    """An unopened connection for the webhook URL, the request target and extra headers,
    through the proxy the environment names (http_proxy, https_proxy, no_proxy; Basic
    proxy auth from user:password@) as urllib would: plain HTTP goes to the proxy with the
    whole URL as target, HTTPS through a CONNECT tunnel."""
    import http.client
    import urllib.request
    from urllib.parse import unquote, urlsplit

    https = parts.scheme == "https"
    host, port = parts.hostname, parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.netloc):
        proxy = None
    auth: dict[str, str] = {}
    if proxy:
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if via.username is not None:
            import base64

            pair = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
            auth["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        host, port = via.hostname or "", via.port or 80
    if not https:
        if proxy:
            target = f"{parts.scheme}://{parts.netloc}{target}"
        return http.client.HTTPConnection(host, port, timeout=timeout), target, auth
    conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    if proxy:
        conn.set_tunnel(parts.hostname, parts.port or 443, headers=auth)
    return conn, target, {}


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
    except subprocess.TimeoutExpired:  # run() killed it: the timeout bounds the whole run
        raise ChannelDown(f"command {program} did not finish within {timeout:g} s") from None
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
    problem = timeout_problem(channel["timeout"]) if "timeout" in channel else None
    return [problem] if problem else []


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
    for the built-in types, the shape of their keys; for every type, a `timeout` from 0 to
    MAX_TIMEOUT seconds; with `channels` (the whole `[channels]` table), that `fallback`
    names another configured channel.
    """
    if not isinstance(channel, Mapping):
        return [f"channel {name} is not a table"]
    problems: list[str] = []
    extra: list[str] = []
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
            extra = check(channel) if check else []
    # Any notifier's: an external one is expected to honour `timeout` too (docs/notifiers.md).
    extra += _check_timeout(channel)
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
    `channel NAME: reason` (also for an unexpected exception inside a plugin's send); a
    ChannelDown stays a ChannelDown, so the outbox holds the channel's other messages."""
    problems = check_channel(name, channel, notifiers)
    if problems:
        raise OcxError("; ".join(problems))
    notifier = notifiers[channel["type"]]
    try:
        return notifier.send(message, channel)
    except ChannelDown as exc:
        raise ChannelDown(f"channel {name}: {exc}") from None
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
