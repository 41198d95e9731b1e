"""A channel's `timeout` bounds the whole attempt, on real sockets: receivers on 127.0.0.1
that answer one byte every 1.5 s (never tripping a per-read socket timeout) must fail the
attempt within `timeout` + 1 s, as a `ChannelDown`; a receiver that answers no is a plain
`OcxError`; a `timeout` over 300 s is refused by `config set`, `config show` and sending."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ocx.channels import MAX_TIMEOUT, check_channel, deliver
from ocx.errors import ChannelDown, OcxError
from ocx.plugin_api import Notifier, OutboundMessage
from ocx.pluginhost import Plugins
from ocx.plugins.notifiers import BUILTIN_NOTIFIERS

DRIP = 1.5  # seconds between two bytes of a slow answer
LIMIT = "timeout must be at most 300 seconds (a third of the 15-minute claim lease)"


def make_message() -> OutboundMessage:
    return OutboundMessage(
        key="promise:7:overdue", kind="overdue", channel="hook", recipient="dana@example.com",
        subject="Overdue: call Margo back", body="Promise #7 to Margo Lane is overdue.\n",
    )  # fmt: skip


def send(kind: str, channel: dict[str, Any]) -> str:
    return BUILTIN_NOTIFIERS[kind].send(make_message(), {"type": kind, **channel})


def timed(kind: str, channel: dict[str, Any]) -> tuple[BaseException, float]:
    """Send, expecting a failure: the exception and the wall time it took."""
    began = time.monotonic()
    with pytest.raises(OcxError) as info:
        send(kind, channel)
    return info.value, time.monotonic() - began


def closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "ALL_PROXY", "no_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --- a plain TCP server whose handlers can answer slowly -----------------------------------


class TcpServer:
    """A TCP server on 127.0.0.1: `serve(conn, server)` runs in a thread per connection.
    `drip(conn, data)` sends one byte every DRIP seconds (the first at once) and counts
    them in `.dripped`; `stop()` ends every drip and closes every socket."""

    def __init__(self, serve: Callable[[socket.socket, TcpServer], None]) -> None:
        self.serve = serve
        self.dripped = 0
        self.received = b""  # what `read_http` read, for the HTTP handlers
        self.stopping = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)  # so the accept loop sees `stopping`
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the client hung up: what these tests expect
            self.serve(conn, self)

    def drip(self, conn: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            if index and self.stopping.wait(DRIP):
                return
            conn.sendall(data[index : index + 1])
            with self._lock:
                self.dripped += 1

    def read_http(self, conn: socket.socket) -> None:
        """Read one HTTP request (headers, then Content-Length bytes of body)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        self.received = head + b"\r\n\r\n" + body

    def stop(self) -> None:
        self.stopping.set()
        self._sock.close()
        with self._lock:
            for conn in self._conns:
                conn.close()


StartTcpServer = Callable[[Callable[[socket.socket, TcpServer], None]], TcpServer]


@pytest.fixture
def tcp_server() -> Iterator[StartTcpServer]:
    """tcp_server(serve) -> a started TcpServer; stopped after the test."""
    started: list[TcpServer] = []

    def start(serve: Callable[[socket.socket, TcpServer], None]) -> TcpServer:
        server = TcpServer(serve)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
BODY = b'{"ok": true}    '
# A TLS record header announcing a 64-byte ServerHello: the client's handshake waits for it.
TLS_START = b"\x16\x03\x03\x00\x40" + b"\x02" * 64


def drip_http_answer(conn: socket.socket, server: TcpServer) -> None:
    server.read_http(conn)
    server.drip(conn, HEAD + BODY)


def drip_http_body(conn: socket.socket, server: TcpServer) -> None:
    server.read_http(conn)
    conn.sendall(HEAD)
    server.drip(conn, BODY)


def drip_tls_handshake(conn: socket.socket, server: TcpServer) -> None:
    conn.recv(65536)  # the ClientHello
    server.drip(conn, TLS_START)


def fake_smtp(mode: str) -> Callable[[socket.socket, TcpServer], None]:
    """An SMTP server that answers at once, except: `banner` drips its greeting, `data`
    drips its answer to the mail, `starttls` drips the TLS handshake after STARTTLS, and
    `refuse` answers 550 to RCPT."""

    def serve(conn: socket.socket, server: TcpServer) -> None:
        if mode == "banner":
            server.drip(conn, b"220 slow.example ESMTP ready\r\n")
            return
        reader = conn.makefile("rb")
        conn.sendall(b"220 fake.example ESMTP\r\n")
        for line in reader:
            verb = line.split()[0].upper() if line.split() else b""
            if verb == b"EHLO":
                conn.sendall(b"250-fake.example\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                conn.sendall(b"220 go ahead\r\n")
                conn.recv(65536)  # the ClientHello
                server.drip(conn, TLS_START)
                return
            elif verb == b"RCPT" and mode == "refuse":
                conn.sendall(b"550 5.1.1 no such mailbox\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                conn.sendall(b"250 ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 end with a dot\r\n")
                for data_line in reader:
                    if data_line == b".\r\n":
                        break
                server.drip(conn, b"250 2.0.0 queued as 1\r\n")
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 not implemented\r\n")

    return serve


def email_channel(port: int, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "from": "ocx@example.com", "starttls": False,
            **extra}  # fmt: skip


# --- (a) webhook: a slow drip fails the attempt by the deadline -------------------------------


def test_a_webhook_that_drips_its_answer_is_down_within_the_timeout(
    tcp_server: StartTcpServer,
) -> None:
    server = tcp_server(drip_http_answer)
    url = f"http://127.0.0.1:{server.port}/hook"
    error, elapsed = timed("webhook", {"url": url, "timeout": 3})
    print(f"webhook slow drip failed after {elapsed:.2f} s")
    assert isinstance(error, ChannelDown)
    assert str(error) == f"webhook {url} did not answer within 3 s"
    assert 2.9 <= elapsed < 4, elapsed  # the contract: within timeout + 1 s
    assert server.dripped >= 2  # it kept answering: no single read ever waited 3 s
    assert server.received.startswith(b"POST /hook HTTP/1.1\r\n")
    assert b"Idempotency-Key: promise:7:overdue" in server.received


def test_a_2xx_whose_body_drips_is_delivered_by_the_deadline(tcp_server: StartTcpServer) -> None:
    """The status is the answer: once it says 200 the message is delivered (sending it again
    would repeat it), and the body, read only to close cleanly, is dropped at the deadline."""
    server = tcp_server(drip_http_body)
    url = f"http://127.0.0.1:{server.port}/hook"
    began = time.monotonic()
    assert send("webhook", {"url": url, "timeout": 3}) == f"posted to {url}: 200"
    assert time.monotonic() - began < 4
    assert server.dripped >= 2


def test_an_https_webhook_whose_handshake_drips_is_down_within_the_timeout(
    tcp_server: StartTcpServer,
) -> None:
    server = tcp_server(drip_tls_handshake)
    url = f"https://127.0.0.1:{server.port}/hook"
    error, elapsed = timed("webhook", {"url": url, "timeout": 2})
    assert isinstance(error, ChannelDown)
    assert str(error) == f"webhook {url} did not answer within 2 s"
    assert 1.9 <= elapsed < 3, elapsed


# --- (b) email: a slow drip fails the attempt by the deadline -------------------------------


@pytest.mark.parametrize("mode", ["banner", "data"])
def test_an_smtp_server_that_drips_is_down_within_the_timeout(
    tcp_server: StartTcpServer, mode: str
) -> None:
    server = tcp_server(fake_smtp(mode))
    error, elapsed = timed("email", email_channel(server.port, timeout=3))
    print(f"email slow drip ({mode}) failed after {elapsed:.2f} s")
    assert isinstance(error, ChannelDown)
    assert str(error) == f"SMTP server 127.0.0.1:{server.port} did not answer within 3 s"
    assert 2.9 <= elapsed < 4, elapsed
    assert server.dripped >= 2


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_an_smtp_tls_handshake_that_drips_is_down_within_the_timeout(
    tcp_server: StartTcpServer, tls: str
) -> None:
    server = tcp_server(drip_tls_handshake if tls == "ssl" else fake_smtp("starttls"))
    channel = email_channel(server.port, timeout=2, **{tls: True})
    error, elapsed = timed("email", channel)
    assert isinstance(error, ChannelDown)
    assert str(error) == f"SMTP server 127.0.0.1:{server.port} did not answer within 2 s"
    assert 1.9 <= elapsed < 3, elapsed


# --- (c) a receiver that answers no is not down ---------------------------------------------


def test_a_webhook_answering_500_is_a_plain_error_naming_the_status(http_server: Any) -> None:
    server = http_server(statuses=(500,))
    error, elapsed = timed("webhook", {"url": server.url, "timeout": 3})
    assert type(error) is OcxError
    assert str(error) == f"webhook {server.url} answered 500"
    assert elapsed < 1
    notifiers = Plugins(load_entry_points=False).notifiers()
    with pytest.raises(OcxError) as info:
        deliver(make_message(), "hook", {"type": "webhook", "url": server.url}, notifiers)
    assert type(info.value) is OcxError
    assert str(info.value) == f"channel hook: webhook {server.url} answered 500"


def test_an_smtp_server_refusing_the_recipient_is_a_plain_error(
    tcp_server: StartTcpServer,
) -> None:
    server = tcp_server(fake_smtp("refuse"))
    error, _ = timed("email", email_channel(server.port, timeout=3))
    assert type(error) is OcxError
    assert str(error) == (
        f"SMTP server 127.0.0.1:{server.port} refused the recipient dana@example.com"
    )


def test_a_fast_smtp_server_delivers_under_the_watchdog(smtp_server: Any) -> None:
    note = send("email", email_channel(smtp_server.port, timeout=3))
    assert note == f"sent to dana@example.com via 127.0.0.1:{smtp_server.port}"
    assert len(smtp_server.messages) == 1


# --- (d) an unreachable channel is down -------------------------------------------------------


def test_a_refused_connection_is_down_for_webhook_and_email_and_deliver_keeps_it() -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}/hook"
    error, _ = timed("webhook", {"url": url, "timeout": 2})
    assert isinstance(error, ChannelDown)
    assert str(error) == f"cannot reach webhook {url}: Connection refused"
    error, _ = timed("email", email_channel(port, timeout=2))
    assert isinstance(error, ChannelDown)
    assert str(error) == f"cannot reach SMTP server 127.0.0.1:{port}: Connection refused"

    notifiers = Plugins(load_entry_points=False).notifiers()
    with pytest.raises(ChannelDown) as info:
        deliver(make_message(), "hook", {"type": "webhook", "url": url}, notifiers)
    assert str(info.value) == f"channel hook: cannot reach webhook {url}: Connection refused"


def test_a_command_that_runs_past_its_timeout_is_down() -> None:
    error, elapsed = timed(
        "command", {"argv": [sys.executable, "-c", "import time; time.sleep(10)"], "timeout": 0.5}
    )
    assert isinstance(error, ChannelDown)
    assert str(error) == f"command {sys.executable} did not finish within 0.5 s"
    assert elapsed < 3


def test_a_plugin_can_raise_channel_down_from_the_plugin_api() -> None:
    from ocx import plugin_api

    assert plugin_api.ChannelDown is ChannelDown

    def send_down(message: OutboundMessage, channel: Any) -> str:
        raise plugin_api.ChannelDown("pager.example did not answer within 5 s")

    notifiers = {"pager": Notifier("pager", "a pager", send_down)}
    with pytest.raises(ChannelDown, match=r"^channel p: pager.example did not answer"):
        deliver(make_message(), "p", {"type": "pager"}, notifiers)


# --- the 300 s cap ----------------------------------------------------------------------------


def test_the_cap_is_a_third_of_the_outbox_claim_lease() -> None:
    from ocx.outbox import CLAIM_LEASE

    assert CLAIM_LEASE.total_seconds() == MAX_TIMEOUT * 3


def test_sending_refuses_a_timeout_over_300_and_sends_nothing(http_server: Any) -> None:
    server = http_server()
    for kind, channel in (("webhook", {"url": server.url}), ("email", email_channel(1)),
                          ("command", {"argv": [sys.executable, "-c", "pass"]})):  # fmt: skip
        error, _ = timed(kind, {**channel, "timeout": 301})
        assert type(error) is OcxError and str(error) == LIMIT
    assert send("webhook", {"url": server.url, "timeout": 300}).endswith(": 200")
    assert len(server.requests) == 1


def test_check_channel_reports_the_cap_for_any_notifier() -> None:
    def never(message: OutboundMessage, channel: Any) -> str:
        raise AssertionError("a refused channel must not be used")

    notifiers = {**Plugins(load_entry_points=False).notifiers(),
                 "pager": Notifier("pager", "a pager", never)}  # fmt: skip
    assert check_channel("p", {"type": "pager", "timeout": 900}, notifiers) == [
        f"channel p: {LIMIT}"
    ]
    assert check_channel("p", {"type": "pager", "timeout": "10"}, notifiers) == [
        "channel p: timeout must be a positive number of seconds"
    ]
    assert check_channel("p", {"type": "pager", "timeout": 300}, notifiers) == []
    assert check_channel("h", {"type": "webhook", "url": "http://x", "timeout": 300.5},
                         notifiers) == [f"channel h: {LIMIT}"]  # fmt: skip
    with pytest.raises(OcxError) as info:
        deliver(make_message(), "p", {"type": "pager", "timeout": 900}, notifiers)
    assert str(info.value) == f"channel p: {LIMIT}"


# --- (e) and (f): ocx config --------------------------------------------------------------------

CONFIG = 'user = "tester"\n\n[channels.hooks]\ntype = "webhook"\nurl = "https://hooks.example/ocx"\ntimeout = 10\n'


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("301", LIMIT),
        ("900", LIMIT),
        ("inf", LIMIT),
        ("0", "timeout must be a positive number of seconds"),
        ("-5", "timeout must be a positive number of seconds"),
        ("abc", "timeout must be a positive number of seconds"),
        ("true", "timeout must be a positive number of seconds"),
    ],
)
def test_config_set_refuses_a_channel_timeout_out_of_range(
    run: Any, env: Path, assert_error: Any, value: str, problem: str
) -> None:
    env.mkdir(parents=True, exist_ok=True)
    path = env / "ocx.toml"
    path.write_text(CONFIG, encoding="utf-8")
    line = assert_error(run("config", "set", "--", "channels.hooks.timeout", value))
    assert line == f"Error: channel hooks: {problem}"
    assert path.read_text(encoding="utf-8") == CONFIG


@pytest.mark.parametrize(("value", "stored"), [("300", 300), ("2.5", 2.5), ("1", 1)])
def test_config_set_takes_a_channel_timeout_up_to_300(
    run: Any, env: Path, load_json: Any, value: str, stored: float
) -> None:
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(CONFIG, encoding="utf-8")
    result = run("config", "set", "channels.hooks.timeout", value)
    assert result.exit_code == 0, result.output
    shown = load_json(run("config", "show", "--json"))
    assert shown["channels"]["hooks"]["timeout"] == stored


def test_config_set_leaves_other_channel_checks_to_config_show(run: Any, env: Path) -> None:
    result = run("config", "set", "channels.hooks.secret_env", "OCX_TEST_UNSET_SECRET")
    assert result.exit_code == 0, result.output


def test_config_show_warns_about_a_hand_written_timeout_over_300(run: Any, env: Path) -> None:
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(CONFIG.replace("timeout = 10", "timeout = 900"), "utf-8")
    result = run("config", "show")
    assert result.exit_code == 0, result.output
    assert f"warning: channel hooks: {LIMIT}" in result.stderr.splitlines()


# --- (g) end to end: ocx due --notify against a dripping webhook ---------------------------------

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_due_notify_gives_up_on_a_dripping_webhook_by_its_timeout_and_retries_later(
    run: Any, initialized: Path, env: Path, tcp_server: StartTcpServer, load_json: Any
) -> None:
    server = tcp_server(drip_http_answer)
    url = f"http://127.0.0.1:{server.port}/hook"
    (env / "ocx.toml").write_text(
        f'user = "tester"\ntimezone = "UTC"\n\n[channels.hook]\ntype = "webhook"\n'
        f'url = "{url}"\ntimeout = 2\n', encoding="utf-8",
    )  # fmt: skip
    early = {"OCX_NOW": z(NOW - timedelta(days=1))}
    for args in (("team", "add", "alex", "--channel", "hook"),
                 ("customer", "add", "margo@example.com", "--name", "Margo Lane"),
                 ("promise", "add", "margo@example.com", "Send the fix ETA", "--due",
                  z(NOW - timedelta(minutes=30)), "--owner", "alex")):  # fmt: skip
        result = run(*args, env=early)
        assert result.exit_code == 0, result.output

    began = time.monotonic()
    result = run("due", "--notify", env={"OCX_NOW": z(NOW)})
    elapsed = time.monotonic() - began
    print(f"ocx due --notify against a slow drip returned after {elapsed:.2f} s")
    assert result.exit_code == 3, result.output
    assert elapsed < 3.5, elapsed  # one 2 s attempt, not a drip of a minute
    assert f"webhook {url} did not answer within 2 s" in result.stderr
    assert b"POST /hook" in server.received

    messages = load_json(run("outbox", "list", "--json"))
    assert messages, "the overdue message is in the outbox"
    tried = [m for m in messages if m["attempts"] == 1]
    assert len(tried) == 1 and tried[0]["kind"] == "overdue"
    assert all(m["state"] == "pending" for m in messages)  # back to pending for a retry
    assert "did not answer within 2 s" in tried[0]["last_error"]
    assert tried[0]["next_attempt_at"] == z(NOW + timedelta(minutes=1))


# --- the webhook's proxy support, now done by hand ---------------------------------------------


def test_a_webhook_goes_through_the_http_proxy_with_basic_auth(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = http_server()
    monkeypatch.setenv("http_proxy", f"http://ocx:p%40ss@127.0.0.1:{proxy.port}")
    url = "http://hooks.example.invalid/ocx?team=support"
    assert send("webhook", {"url": url}) == "posted to http://hooks.example.invalid/ocx?…: 200"
    (request,) = proxy.requests
    assert (request.method, request.path) == ("POST", url)
    assert request.headers["Host"] == "hooks.example.invalid"
    assert request.headers["Proxy-Authorization"] == "Basic " + base64.b64encode(
        b"ocx:p@ss").decode()  # fmt: skip
    assert request.headers["Idempotency-Key"] == "promise:7:overdue"


def test_no_proxy_hosts_are_reached_directly(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server()
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    assert send("webhook", {"url": server.url}).endswith(": 200")  # 127.0.0.1 is in NO_PROXY
    assert server.requests[0].path == "/hook"


def test_an_https_webhook_tunnels_through_the_proxy(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = http_server()  # answers CONNECT with 501: the tunnel cannot be made
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
    error, _ = timed("webhook", {"url": "https://hooks.example.invalid/ocx", "timeout": 3})
    assert isinstance(error, ChannelDown)
    assert str(error).startswith(
        "cannot reach webhook https://hooks.example.invalid/ocx: Tunnel connection failed: 501"
    )


def test_one_hung_channel_holds_the_others_up_no_longer_than_its_timeout(
    run: Any, initialized: Path, env: Path, tcp_server: StartTcpServer, load_json: Any
) -> None:
    """Three messages for a dripping webhook, one for the console: one attempt on the hung
    channel (2 s), its other two wait for the next run untried, the console one goes out."""
    server = tcp_server(drip_http_answer)
    (env / "ocx.toml").write_text(
        f'user = "tester"\ntimezone = "UTC"\n\n[channels.hook]\ntype = "webhook"\n'
        f'url = "http://127.0.0.1:{server.port}/hook"\ntimeout = 2\n', encoding="utf-8",
    )  # fmt: skip
    early = {"OCX_NOW": z(NOW - timedelta(days=1))}
    setup = [("team", "add", "alex", "--channel", "hook"), ("team", "add", "sam"),
             ("customer", "add", "margo@example.com")]  # fmt: skip
    setup += [("promise", "add", "margo@example.com", f"Task {n}", "--due",
               z(NOW - timedelta(minutes=30)), "--owner", "alex") for n in range(3)]  # fmt: skip
    setup += [("promise", "add", "margo@example.com", "Sam's task", "--due",
               z(NOW - timedelta(minutes=30)), "--owner", "sam")]  # fmt: skip
    for args in setup:
        result = run(*args, env=early)
        assert result.exit_code == 0, result.output

    began = time.monotonic()
    result = run("due", "--notify", "--json", env={"OCX_NOW": z(NOW)})
    elapsed = time.monotonic() - began
    assert result.exit_code == 3, result.output
    assert elapsed < 3.5, elapsed  # not three timeouts in a row
    report = json.loads(result.stdout)
    assert [d["channel"] for d in report["delivered"]] == ["console"]
    assert len(report["failed"]) == 1 and report["deferred"] == 2
    waiting = [m for m in load_json(run("outbox", "list", "--json")) if m["channel"] == "hook"]
    assert sorted(m["attempts"] for m in waiting) == [0, 0, 1]
    assert {m["state"] for m in waiting} == {"pending"}
    assert {m["next_attempt_at"] for m in waiting} == {z(NOW + timedelta(minutes=1))}
