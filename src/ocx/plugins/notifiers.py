"""Built-in notifiers: `console` and `command` here, `email` (ocx.plugins.notify_email) and
`webhook` (ocx.plugins.notify_webhook), all registered by this module's hook.

A channel is a `[channels.NAME]` table in ocx.toml whose `type` names a notifier. Each
notifier's `send(message, channel)` delivers one `OutboundMessage` and returns a short note,
or raises `OcxError` with a one-line reason that never holds a secret: `ChannelDown` when the
channel could not be reached or did not answer in time (the outbox then holds its other
messages for the next run), a plain `OcxError` for anything else. Secrets reach a channel
only through `*_env` keys naming environment variables (`channel_secret`).

They reach ocx only as a plugin does, through `Notifier`: `check` for the shape of their
keys, `address` for whom they send to, and import nothing but `ocx.plugin_api`. Checking a
channel and delivering through one is the core's (`ocx.channels`); a plugin's tests reach
`check_channel` through `ocx.testing`.

This module is imported whenever plugins load, so smtplib, http.client, ssl, threading,
urllib.request, hmac and subprocess are imported only by the code that needs them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from ocx.plugin_api import (
    ChannelDown,
    Notifier,
    OcxError,
    OutboundMessage,
    addressed_as,
    hookimpl,
    one_line,
)

from .notify_base import DEFAULT_COMMAND_TIMEOUT, channel_timeout
from .notify_email import check_email, email_address, send_email
from .notify_webhook import check_webhook, send_webhook

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
    timeout = channel_timeout(channel, DEFAULT_COMMAND_TIMEOUT)
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
        tail = f": {one_line(lines[-1])}" if lines else ""
        raise OcxError(f"command {program} {how}{tail}")
    out = done.stdout.decode("utf-8", "replace").strip().splitlines()
    return f"command {program} exited 0" + (f": {one_line(out[-1])}" if out else "")


def check_command(channel: Mapping[str, Any]) -> list[str]:
    if "argv" not in channel:
        return []
    try:
        _argv(channel)
    except OcxError as exc:
        return [str(exc)]
    return []


# --- registration ------------------------------------------------------------------------

# console, webhook and command name people (a team member by handle, a customer by email);
# email reaches a mailbox, so it addresses the email.
BUILTIN_NOTIFIERS: dict[str, Notifier] = {
    n.name: n
    for n in (
        Notifier("console", "Print each message on standard output", send_console,
                 address=addressed_as),
        Notifier("email", "Send mail through an SMTP server (smtplib)", send_email,
                 ("host", "from"), check=check_email, address=email_address),
        Notifier("webhook", "POST each message as JSON, HMAC-signed, to a URL", send_webhook,
                 ("url",), check=check_webhook, address=addressed_as),
        Notifier("command", "Run a program with the message JSON on standard input",
                 send_command, ("argv",), check=check_command, address=addressed_as),
    )
}  # fmt: skip


@hookimpl
def ocx_register_notifiers(register):  # type: ignore[no-untyped-def]
    for notifier in BUILTIN_NOTIFIERS.values():
        register(notifier)
