"""Fixtures for ocx-apprise's tests: an isolated environment with entry points ON (the
installed package is what gets tested) and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own OCX_HOME and caches, entry points on; no proxy between us and 127.0.0.1."""
    home = tmp_path / "home"
    monkeypatch.setenv("OCX_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("TZ", "UTC")
    for name in ("OCX_DISABLE_PLUGINS", "OCX_DB", "OCX_DEBUG", "OCX_NOW", "http_proxy",
                 "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@dataclass
class Received:
    method: str
    path: str
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """A threading HTTP server recording every request; answers `statuses` in turn (the
    last one repeating)."""

    def __init__(self, statuses: Sequence[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[Received] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    owner.requests.append(Received("POST", self.path, self.headers, body))
                    status = owner.statuses[min(len(owner.requests), len(owner.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def http_server() -> Iterator[Callable[..., Server]]:
    """http_server(statuses=(200,)) -> a started Server (`.port`, `.requests`)."""
    started: list[Server] = []

    def start(statuses: Sequence[int] = (200,)) -> Server:
        server = Server(statuses)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
