"""ocx-apprise: a notifier that delivers ocx messages through Apprise URLs.

    [channels.team-chat]
    type = "apprise"
    urls_env = "OCX_APPRISE_URLS"   # the variable holds one or more Apprise URLs

Apprise URLs carry tokens, so they are a secret: they live only in the environment
variable `urls_env` names, and no error message repeats them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ocx.plugin_api import (
    Notifier,
    OcxError,
    OutboundMessage,
    channel_secret,
    hookimpl,
)

# How urgent each kind of ocx message looks in the chat tool (Apprise's notify types).
_NOTIFY_TYPES = {"overdue": "warning", "escalation": "failure"}


def _secret_parts(urls: str) -> set[str]:
    """Every piece of the URLs that may be a token: user, password, path segments and
    query values (the scheme and the host stay readable in messages)."""
    parts: set[str] = set()
    for url in re.split(r"[\s,;]+", urls):
        if "://" not in url:
            parts.add(url)
            continue
        try:
            split = urlsplit(url)
            pieces: Iterable[str | None] = (
                split.username, split.password, *split.path.split("/"),
                *(value for _, value in parse_qsl(split.query)),
            )  # fmt: skip
        except ValueError:
            parts.add(url)
            continue
        for piece in pieces:
            if piece and len(piece) >= 4:
                parts.update({piece, unquote(piece)})
    return parts


def _scrub(text: str, urls: str) -> str:
    for part in sorted(_secret_parts(urls), key=len, reverse=True):
        text = text.replace(part, "…")
    return " ".join(text.split())[:200]


def send(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
    """Notify every Apprise URL in the variable `urls_env` names: the subject as the title,
    the body as plain text. Any URL that fails makes the delivery fail."""
    urls = channel_secret(channel, "urls")
    if urls is None:
        raise OcxError(
            "an apprise channel needs urls_env, the name of an environment variable holding "
            'Apprise URLs (e.g. urls_env = "OCX_APPRISE_URLS")'
        )

    import apprise  # lazily: ocx loads this plugin for every command that lists notifiers

    variable = channel["urls_env"]
    notifier = apprise.Apprise()
    if not notifier.add(urls) or len(notifier) == 0:
        raise OcxError(
            f"environment variable {variable} holds something Apprise does not read as a URL "
            "(see https://github.com/caronc/apprise/wiki)"
        )
    notify_type = apprise.NotifyType(_NOTIFY_TYPES.get(message.kind, "info"))
    with apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s") as log:
        ok = notifier.notify(
            title=message.subject,
            body=message.body,
            body_format=apprise.NotifyFormat.TEXT,
            notify_type=notify_type,
        )
        lines = [line for line in log.getvalue().splitlines() if line.strip()]
    count = len(notifier)
    if not ok:
        where = f" to every one of its {count} URLs" if count > 1 else ""
        reason = f": {_scrub(lines[-1], urls)}" if lines else ""
        raise OcxError(f"Apprise could not deliver{where}{reason}")
    return f"notified {count} Apprise URL{'' if count == 1 else 's'}"


@hookimpl
def ocx_register_notifiers(register):  # type: ignore[no-untyped-def]
    register(
        Notifier(
            name="apprise",
            description="Deliver through Apprise URLs (ntfy, Slack, Matrix, Telegram, ...)",
            send=send,
            config_keys=("urls_env",),
        )
    )
