"""The built-in `webhook` notifier: POST each message as JSON (HMAC-signed with
`secret_env`) to a URL, through the environment's proxy, bounded by the channel's `timeout`.

http.client, ssl, urllib.request and hmac are imported only when a message is posted."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from ocx.plugin_api import OCX_VERSION, ChannelDown, OcxError, OutboundMessage, channel_secret

from .notify_base import DEFAULT_TIMEOUT, Deadline, channel_timeout, one_line


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
    timeout = channel_timeout(channel, DEFAULT_TIMEOUT)
    secret = channel_secret(channel, "secret")
    body = json.dumps(message.to_json()).encode("utf-8")

    import http.client
    import ssl
    from urllib.parse import urlsplit

    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ocx/{OCX_VERSION}",
        "Idempotency-Key": message.key,
    }
    if secret is not None:
        headers["X-Ocx-Signature"] = signature(secret, body)
    shown = shown_url(url)
    parts = urlsplit(url)
    deadline = Deadline(timeout)
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
        raise OcxError(f"cannot post to webhook {shown}: {one_line(str(exc))}") from None
    except (OSError, http.client.HTTPException) as exc:
        if deadline.passed or isinstance(exc, TimeoutError):
            raise ChannelDown(f"webhook {shown} did not answer within {timeout:g} s") from None
        reason = one_line(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
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


def check_webhook(channel: Mapping[str, Any]) -> list[str]:
    if "url" not in channel:
        return []  # reported as a missing key
    try:
        _webhook_url(channel)
    except OcxError as exc:
        return [str(exc)]
    return []
