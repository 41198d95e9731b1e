"""Shared fixtures: an isolated environment, a real SQLite file in tmp_path, and a CliRunner
that invokes the real root group against it."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli
from ocx.testing import dump_database as _dump
from ocx.testing import (
    empty_db,  # noqa: F401  (a fixture: a file, or a PostgreSQL database)
    postgres,
)
from ocx.testing import query as _rows

ON_POSTGRES = postgres.wanted()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only: about the SQLite file itself (its bytes, WAL, locks, pragmas, query "
        "plans); left out when the suite runs on PostgreSQL (OCX_TEST_DATABASE=postgresql)",
    )
    config.addinivalue_line(
        "markers",
        "postgres_itself: compares the engines or tests PostgreSQL directly, against the "
        "session's own server in every run; the PostgreSQL run leaves it out, as already run",
    )


def _left_out_on_postgres(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("sqlite_only", "postgres_itself"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, tests about the SQLite file are deselected (and counted), not skipped;
    so are those that run against PostgreSQL in every session (they ran already)."""
    if not ON_POSTGRES:
        return
    kept = [item for item in items if not _left_out_on_postgres(item)]
    left_out = [item for item in items if _left_out_on_postgres(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str:
    return "ocx database: " + ("PostgreSQL (a server started by this session)"
                               if ON_POSTGRES else "SQLite files in tmp_path")  # fmt: skip


@pytest.fixture
def db_path(request: pytest.FixtureRequest) -> Path:
    """The test's database: a SQLite file in tmp_path, or (OCX_TEST_DATABASE=postgresql) the
    URL of a new empty PostgreSQL database, as text."""
    return request.getfixturevalue("empty_db")  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own OCX_HOME, caches and clock; nothing leaks in from the machine."""
    home = tmp_path / "home"
    monkeypatch.setenv("OCX_HOME", str(home))
    monkeypatch.delenv("OCX_DB", raising=False)
    monkeypatch.setenv("OCX_DISABLE_PLUGINS", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("USER", "tester")
    # `ocx init` writes the system zone into the starter config; make it the same everywhere.
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("OCX_NOW", raising=False)
    monkeypatch.delenv("OCX_DEBUG", raising=False)
    return home


Run = Callable[..., Result]


@pytest.fixture
def run(db_path: Path) -> Run:
    """run(*args, input=None, env=None): `ocx --db <db_path> *args` through CliRunner."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str | None] | None = None
               ) -> Result:  # fmt: skip
        return CliRunner().invoke(cli, ["--db", str(db_path), *args], input=input, env=env)

    return invoke


@pytest.fixture
def run_bare() -> Run:
    """Like `run` but without `--db`, to test where the database is looked for."""

    def invoke(*args: str, input: str | None = None, env: dict[str, str | None] | None = None
               ) -> Result:  # fmt: skip
        return CliRunner().invoke(cli, list(args), input=input, env=env)

    return invoke


@pytest.fixture
def initialized(run: Run, db_path: Path) -> Path:
    result = run("init")
    assert result.exit_code == 0, result.output
    return db_path


# --- helpers, handed out as fixtures (test modules cannot import conftest: importlib mode) ---

Rows = Callable[..., list[dict[str, Any]]]
Dump = Callable[[Path], list[str]]
LoadJson = Callable[[Result], Any]
AssertError = Callable[..., str]
AssertUsageError = Callable[[Result], None]


def _load_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _assert_error(result: Result, *, exit_code: int = 1) -> str:
    assert result.exit_code == exit_code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def _assert_usage_error(result: Result) -> None:
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def rows() -> Rows:
    """rows(path, sql, params=()): query the database with plain sqlite3, as datasette or
    the sqlite3 shell would; each row a dict."""
    return _rows


@pytest.fixture
def dump() -> Dump:
    """dump(path): every schema statement and row, to prove a failed command changed nothing."""
    return _dump


@pytest.fixture
def load_json() -> LoadJson:
    """load_json(result): the command succeeded; its stdout parsed as JSON."""
    return _load_json


@pytest.fixture
def assert_error() -> AssertError:
    """assert_error(result, exit_code=1): a user error: the exit code, stderr one line
    starting `Error:`, no traceback, nothing on stdout. Returns that line."""
    return _assert_error


@pytest.fixture
def assert_usage_error() -> AssertUsageError:
    """assert_usage_error(result): a click usage error: exit 2, `Error:` on stderr, no traceback."""
    return _assert_usage_error


# --- real servers on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP server ------------------
# Shared by the notifier tests and the `ocx due --notify` tests (several processes delivering
# at once): both record every message or request they get, thread-safely.


@dataclass
class SmtpMessage:
    """One mail the SMTP server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # the message as received, headers and body
    message: EmailMessage  # parsed with email.policy.default: message["Subject"] is decoded
    login: str | None  # the AUTH user the client logged in as, if any


class SmtpServer:
    """An aiosmtpd server in a thread. `.messages` holds every accepted mail in order;
    `.accept_login(user, password)` makes it accept AUTH with exactly that pair."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.messages: list[SmtpMessage] = []
        self.port = 0
        self._lock = threading.Lock()
        self._credentials: tuple[str, str] | None = None
        self._controller: Any = None

    def accept_login(self, user: str, password: str) -> None:
        self._credentials = (user, password)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> Any:  # fmt: skip
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8")
        if self._credentials != (login, auth_data.password.decode("utf-8")):
            return AuthResult(success=False, handled=False)  # answers 535
        return AuthResult(success=True, auth_data=login)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        login = session.auth_data if session.authenticated else None
        record = SmtpMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=email.message_from_bytes(data, policy=email.policy.default),  # type: ignore[arg-type]
            login=login,
        )
        with self._lock:
            self.messages.append(record)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        # aiosmtpd cannot listen on port 0 (it connects to its own port to start), so take a
        # free ephemeral port and retry in the rare case someone else grabs it first.
        for attempt in range(5):
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
            controller = Controller(
                self, hostname=self.host, port=self.port, authenticator=self._authenticate,
                auth_require_tls=False, auth_required=False, enable_SMTPUTF8=True,
            )  # fmt: skip
            try:
                controller.start()
            except (OSError, RuntimeError):
                if attempt == 4:
                    raise
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (an ephemeral `.port`, no TLS); `.messages` lists the
    mails it accepted (`SmtpMessage`: mail_from, rcpt_tos, data, message, login)."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class HttpRequest:
    """One request the HTTP server got, and the status it answered with (None: the test
    ended during the server's `delay`, before it answered)."""

    method: str
    path: str
    headers: Message  # case-insensitive: request.headers["idempotency-key"]
    body: bytes
    status: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class HttpServer:
    """A threading HTTP server on 127.0.0.1 that records every request (thread-safely, in
    arrival order) and answers with `statuses` in turn, the last one repeating; `delay`
    seconds before each answer (to make a client time out)."""

    def __init__(self, statuses: Sequence[int] = (200,), delay: float = 0.0) -> None:
        if not statuses:
            raise ValueError("statuses needs at least one status")
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[HttpRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = HttpRequest(
                    self.command, self.path, self.headers, self.rfile.read(length)
                )
                with owner._lock:
                    index = len(owner.requests)
                    owner.requests.append(request)
                    status = owner.statuses[min(index, len(owner.statuses) - 1)]
                if owner.delay and owner._stopping.wait(owner.delay):
                    return  # the test is over: do not answer
                body = json.dumps({"ok": 200 <= status < 300}).encode()
                request.status = status  # before answering: the client may look right after
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (a timeout test)
                    pass

            do_POST = do_PUT = do_GET = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # bursts from several delivering processes at once

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up early is not the test's business

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


StartHttpServer = Callable[..., HttpServer]


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartHttpServer]:
    """http_server(statuses=(200,), delay=0.0) -> a started `HttpServer`: `.url`
    (http://127.0.0.1:PORT/hook), `.requests` (method, path, headers, body, .json(), status).
    `statuses=(500, 200)` answers 500 once, then 200. Proxy variables are unset, so clients
    (and the processes a test starts) reach 127.0.0.1 directly. Stopped after the test."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    started: list[HttpServer] = []

    def start(statuses: Sequence[int] = (200,), delay: float = 0.0) -> HttpServer:
        server = HttpServer(statuses, delay)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
