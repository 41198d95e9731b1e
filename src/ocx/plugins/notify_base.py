"""What the built-in notifiers share: reading a channel's `timeout` and flags, and the
deadline that bounds one delivery attempt.

A channel's `timeout` (at most 300 seconds: `timeout_problem` says why not) bounds a whole attempt, not each
socket operation: email and webhook run against a `Deadline`, whose watchdog shuts the
socket down when the time is up; `command` bounds the whole run with the subprocess timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from ocx.plugin_api import OcxError, timeout_problem
from ocx.plugin_api import one_line as one_line

DEFAULT_TIMEOUT = 10.0  # seconds, email and webhook
DEFAULT_COMMAND_TIMEOUT = 30.0


def channel_timeout(channel: Mapping[str, Any], default: float) -> float:
    """The channel's `timeout` in seconds, DEFAULT when it has none."""
    value = channel.get("timeout", default)
    problem = timeout_problem(value)
    if problem:
        raise OcxError(problem)
    return float(value)


def flag(channel: Mapping[str, Any], key: str, default: bool) -> bool:
    """The channel's true/false KEY, DEFAULT when it has none."""
    value = channel.get(key, default)
    if not isinstance(value, bool):
        raise OcxError(f"{key} must be true or false")
    return value


class Deadline:
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
