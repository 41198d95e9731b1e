"""The built-in notifiers against real parts: an aiosmtpd SMTP server, a local HTTP server and
real child processes; and the channel checks that `ocx config show` and delivery use."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ocx.channels import check_channel, deliver
from ocx.errors import OcxError
from ocx.message_ids import message_id
from ocx.plugin_api import Notifier, OutboundMessage
from ocx.pluginhost import Plugins
from ocx.plugins.notifiers import BUILTIN_NOTIFIERS

KEY = "promise:12:2026-12-01T15:00:00+00:00:reminder"
SECRET = "s3cret-hmac-key-\u00e9"


def make_message(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "key": KEY,
        "kind": "reminder",
        "channel": "ops",
        "recipient": "dana@example.com",
        "subject": "Reminder: call Jürgen back by 15:00 ☎",
        "body": "Promise #12 to Jürgen Müller (café Ünïcode) is due at 15:00.\nCall him. ✓\n",
        "payload": {"promise": 12, "customer": "jurgen@example.com"},
        "created_at": "2026-12-01T14:00:00+00:00",
    }
    fields.update(changes)
    return OutboundMessage(**fields)


def send(kind: str, channel: dict[str, Any], message: OutboundMessage | None = None) -> str:
    return BUILTIN_NOTIFIERS[kind].send(message or make_message(), {"type": kind, **channel})


def test_the_four_builtins_register_through_the_hook() -> None:
    notifiers = Plugins(load_entry_points=False).notifiers()
    assert {"console", "email", "webhook", "command"} <= set(notifiers)
    assert notifiers["email"].config_keys == ("host", "from")
    assert notifiers["webhook"].config_keys == ("url",)
    assert notifiers["command"].config_keys == ("argv",)
    assert notifiers["console"].config_keys == ()


def test_loading_the_plugins_imports_no_transport() -> None:
    import subprocess

    code = (
        "import sys; from ocx.pluginhost import Plugins; Plugins(load_entry_points=False)"
        ".notifiers(); print(sorted(m for m in ('smtplib', 'urllib.request', 'hmac', "
        "'email.message') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- console -------------------------------------------------------------------------------


def test_console_prints_recipient_subject_and_body(capsys: pytest.CaptureFixture[str]) -> None:
    note = send("console", {})
    out = capsys.readouterr().out
    assert out.startswith(
        "To: dana@example.com\nSubject: Reminder: call Jürgen back by 15:00 ☎\n\n"
    )
    assert "Promise #12 to Jürgen Müller (café Ünïcode) is due at 15:00.\nCall him. ✓\n" in out
    assert note == "printed to stdout"


# --- email ---------------------------------------------------------------------------------


def test_email_reaches_a_real_smtp_server_with_the_key_and_utf8_intact(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx <ocx@example.com>",
               "starttls": False}  # fmt: skip
    note = send("email", channel)
    assert note == f"sent to dana@example.com via 127.0.0.1:{smtp_server.port}"
    (got,) = smtp_server.messages
    assert got.rcpt_tos == ["dana@example.com"]
    assert got.mail_from == "ocx@example.com"
    mail = got.message
    assert mail["To"] == "dana@example.com"
    assert mail["Subject"] == "Reminder: call Jürgen back by 15:00 ☎"
    assert mail.get_content().replace("\r\n", "\n") == make_message().body
    assert mail["X-Ocx-Key"] == KEY
    assert mail["Message-ID"] == message_id(KEY)
    assert "promise=3A12=3A2026-12-01T15=3A00=3A00+00=3A00=3Areminder" in mail["Message-ID"]
    assert got.login is None


def test_a_plain_key_appears_verbatim_in_the_message_id(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "starttls": False}  # fmt: skip
    send("email", channel, make_message(key="promise-7-overdue"))
    assert smtp_server.messages[0].message["Message-ID"] == "<promise-7-overdue@ocx>"


def test_message_ids_of_different_keys_differ() -> None:
    keys = ["a:b", "a-b", "a=3Ab", "a b", "a.b", "a/b", "é", "=C3=A9"]
    ids = [message_id(key) for key in keys]
    assert len(set(ids)) == len(keys)
    for mid in ids:
        assert mid.startswith("<") and mid.endswith("@ocx>") and mid.isascii()


@pytest.mark.parametrize("password", ["pa55-word", "pa55-wörd"])  # smtplib; AUTH PLAIN by hand
def test_email_logs_in_with_the_password_from_the_environment(
    smtp_server: Any, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    smtp_server.accept_login("ocx-bot", password)
    monkeypatch.setenv("OCX_TEST_SMTP_PASSWORD", password)
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "starttls": False, "username": "ocx-bot",
               "password_env": "OCX_TEST_SMTP_PASSWORD"}  # fmt: skip
    send("email", channel)
    assert smtp_server.messages[0].login == "ocx-bot"


def test_a_refused_login_is_an_error_without_the_password(
    smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.accept_login("ocx-bot", "right")
    monkeypatch.setenv("OCX_TEST_SMTP_PASSWORD", "wrong-password-value")
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "starttls": False, "username": "ocx-bot",
               "password_env": "OCX_TEST_SMTP_PASSWORD"}  # fmt: skip
    with pytest.raises(OcxError, match="refused the login of ocx-bot") as info:
        send("email", channel)
    assert "wrong-password-value" not in str(info.value)
    assert smtp_server.messages == []


def test_starttls_against_a_server_without_it_is_a_clear_error(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com"}
    with pytest.raises(OcxError, match=r"does not offer STARTTLS \(set starttls = false"):
        send("email", channel)
    assert smtp_server.messages == []


def test_ssl_against_a_plain_server_is_a_clear_error(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "ssl": True, "timeout": 3}  # fmt: skip
    with pytest.raises(
        OcxError, match=rf"^TLS with SMTP server 127.0.0.1:{smtp_server.port} failed"
    ):
        send("email", channel)
    assert smtp_server.messages == []


def test_email_needs_a_recipient(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "starttls": False}  # fmt: skip
    with pytest.raises(OcxError, match=r"^no email address for recipient$"):
        send("email", channel, make_message(recipient=None))


def test_an_unset_password_variable_is_named_and_nothing_is_sent(smtp_server: Any) -> None:
    channel = {"host": "127.0.0.1", "port": smtp_server.port, "from": "ocx@example.com",
               "starttls": False, "username": "ocx-bot",
               "password_env": "OCX_TEST_UNSET_PASSWORD"}  # fmt: skip
    with pytest.raises(OcxError, match=r"OCX_TEST_UNSET_PASSWORD .*is not set"):
        send("email", channel)
    assert smtp_server.messages == []


def test_an_smtp_server_that_is_not_there_is_an_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = {"host": "127.0.0.1", "port": port, "from": "ocx@example.com", "starttls": False,
               "timeout": 2}  # fmt: skip
    with pytest.raises(OcxError, match=f"cannot reach SMTP server 127.0.0.1:{port}"):
        send("email", channel)


# --- webhook -------------------------------------------------------------------------------


def test_webhook_posts_the_message_signed_with_the_secret(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server()
    monkeypatch.setenv("OCX_TEST_HOOK_SECRET", SECRET)
    note = send("webhook", {"url": server.url, "secret_env": "OCX_TEST_HOOK_SECRET"})
    assert note == f"posted to {server.url}: 200"
    (request,) = server.requests
    assert (request.method, request.path, request.status) == ("POST", "/hook", 200)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == KEY
    assert request.json() == make_message().to_json()
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Ocx-Signature"] == f"sha256={expected}"
    forged = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Ocx-Signature"] != f"sha256={forged}"


def test_webhook_without_a_secret_sends_no_signature(http_server: Any) -> None:
    server = http_server()
    send("webhook", {"url": server.url})
    (request,) = server.requests
    assert request.headers["X-Ocx-Signature"] is None
    assert request.headers["Idempotency-Key"] == KEY


def test_webhook_answering_500_is_an_error_then_200_delivers(http_server: Any) -> None:
    server = http_server(statuses=(500, 200))
    with pytest.raises(OcxError, match=rf"^webhook {server.url} answered 500$"):
        send("webhook", {"url": server.url})
    assert send("webhook", {"url": server.url}).endswith(": 200")
    assert [r.status for r in server.requests] == [500, 200]
    assert [r.headers["Idempotency-Key"] for r in server.requests] == [KEY, KEY]


def test_webhook_redirect_is_a_failure_not_a_silent_get(http_server: Any) -> None:
    server = http_server(statuses=(302,))
    with pytest.raises(OcxError, match="answered 302"):
        send("webhook", {"url": server.url})
    assert [r.method for r in server.requests] == ["POST"]


def test_webhook_timeout_is_an_error(http_server: Any) -> None:
    server = http_server(delay=5)
    with pytest.raises(OcxError, match=rf"^webhook {server.url} did not answer within 0.3 s$"):
        send("webhook", {"url": server.url, "timeout": 0.3})
    assert len(server.requests) == 1


def test_webhook_unreachable_is_an_error() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OcxError, match=f"cannot reach webhook http://127.0.0.1:{port}/"):
        send("webhook", {"url": f"http://127.0.0.1:{port}/", "timeout": 2})


def test_webhook_unset_secret_variable_names_it_and_sends_nothing(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server()
    monkeypatch.delenv("OCX_TEST_HOOK_SECRET", raising=False)
    with pytest.raises(OcxError) as info:
        send("webhook", {"url": server.url, "secret_env": "OCX_TEST_HOOK_SECRET"})
    assert str(info.value) == (
        "environment variable OCX_TEST_HOOK_SECRET (named by secret_env) is not set"
    )
    assert server.requests == []


def test_webhook_errors_hide_credentials_and_query(http_server: Any) -> None:
    server = http_server(statuses=(403,))
    with pytest.raises(OcxError) as info:
        send("webhook", {"url": server.url + "?token=abc123#frag"})
    assert str(info.value) == f"webhook {server.url}?… answered 403"
    assert server.requests[0].path == "/hook?token=abc123"


def test_webhook_refuses_credentials_in_the_url(http_server: Any) -> None:
    server = http_server()
    url = server.url.replace("http://", "http://user:hunter2@")
    with pytest.raises(OcxError) as info:
        send("webhook", {"url": url})
    assert "hunter2" not in str(info.value) and "user:password@" in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "example.com/hook", "http://", ""]
)
def test_webhook_takes_only_http_and_https_urls(url: str) -> None:
    with pytest.raises(OcxError, match="url"):
        send("webhook", {"url": url})


# --- command -------------------------------------------------------------------------------

WRITE_STDIN = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


def test_command_gets_the_message_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    note = send("command", {"argv": [sys.executable, "-c", WRITE_STDIN, str(out)]})
    assert json.loads(out.read_bytes()) == make_message().to_json()
    assert note == f"command {sys.executable} exited 0"


def test_command_no_shell_is_involved(tmp_path: Path) -> None:
    out = tmp_path / "args.json"
    code = (
        "import sys, json, pathlib; pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))"
    )
    send("command", {"argv": [sys.executable, "-c", code, str(out), "$HOME", "a;b", "*"]})
    assert json.loads(out.read_text()) == ["$HOME", "a;b", "*"]


def test_command_nonzero_exit_is_an_error_with_the_last_stderr_line() -> None:
    code = "import sys; sys.stdin.read(); print('first', file=sys.stderr); print('quota exceeded', file=sys.stderr); sys.exit(3)"
    with pytest.raises(OcxError) as info:
        send("command", {"argv": [sys.executable, "-c", code]})
    assert str(info.value) == f"command {sys.executable} exited with 3: quota exceeded"


def test_command_timeout_is_an_error() -> None:
    code = "import time; time.sleep(10)"
    with pytest.raises(OcxError, match=r"did not finish within 0.5 s"):
        send("command", {"argv": [sys.executable, "-c", code], "timeout": 0.5})


def test_command_not_found_is_an_error() -> None:
    with pytest.raises(OcxError, match=r"^command ocx-no-such-program-here not found$"):
        send("command", {"argv": ["ocx-no-such-program-here"]})


@pytest.mark.parametrize("argv", ["notify-send hi", [], [""], ["ok", 3]])
def test_command_argv_must_be_a_list_of_strings(argv: Any) -> None:
    with pytest.raises(OcxError, match="argv must be a list of strings"):
        send("command", {"argv": argv})


# --- check_channel and deliver -------------------------------------------------------------


@pytest.fixture
def notifiers() -> dict[str, Notifier]:
    return Plugins(load_entry_points=False).notifiers()


def test_a_good_channel_has_no_problems(
    notifiers: dict[str, Notifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCX_TEST_SMTP_PASSWORD", "x")
    channel = {"type": "email", "host": "smtp.example.com", "from": "ocx@example.com",
               "username": "ocx", "password_env": "OCX_TEST_SMTP_PASSWORD", "port": 587,
               "starttls": True, "fallback": "console"}  # fmt: skip
    assert check_channel("ops-mail", channel, notifiers) == []
    assert check_channel("console", {"type": "console"}, notifiers) == []


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ({}, "channel ops has no type (one of: command, console, email, webhook)"),
        ({"type": "pager"}, "channel ops has an unknown type 'pager' (known: command, console, email, webhook)"),
        ({"type": "email", "from": "a@b.c"}, "channel ops is missing the key host (type email)"),
        ({"type": "webhook"}, "channel ops is missing the key url (type webhook)"),
        ({"type": "command"}, "channel ops is missing the key argv (type command)"),
        ({"type": "webhook", "url": "ftp://x"}, "channel ops: url must be an http:// or https:// URL"),
        ({"type": "command", "argv": "mail -s hi"}, 'channel ops: argv must be a list of strings, e.g. argv = ["notify-send", "ocx"]'),
        ({"type": "email", "host": "h", "from": "f", "starttls": "no"}, "channel ops: starttls must be true or false"),
        ({"type": "email", "host": "h", "from": "f", "port": "25"}, "channel ops: port must be a number from 1 to 65535"),
        ({"type": "email", "host": "h", "from": "f", "username": "u"}, "channel ops: username is set but password_env is not"),
        ({"type": "webhook", "url": "http://x", "timeout": 0}, "channel ops: timeout must be a positive number of seconds"),
        ({"type": "webhook", "url": "http://x", "secret_env": "OCX_TEST_UNSET_SECRET"},
         "channel ops: environment variable OCX_TEST_UNSET_SECRET (named by secret_env) is not set"),
        ({"type": "webhook", "url": "http://x", "secret_env": "not a name"}, "channel ops: secret_env must name an environment variable"),
        ({"type": "console", "fallback": "ops"}, "channel ops: fallback names the channel itself"),
        ("console", "channel ops is not a table"),
    ],
)  # fmt: skip
def test_check_channel_names_each_problem(
    notifiers: dict[str, Notifier], channel: Any, problem: str
) -> None:
    assert check_channel("ops", channel, notifiers) == [problem]


def test_check_channel_never_shows_a_secret_written_in(notifiers: dict[str, Notifier]) -> None:
    channel = {"type": "webhook", "url": "http://x", "secret": "hunter2", "password": "pw"}
    problems = check_channel("hook", channel, notifiers)
    assert problems == [
        "channel hook: secret must not be written in ocx.toml; set secret_env to the name "
        "of an environment variable holding it",
        "channel hook: password must not be written in ocx.toml; set password_env to the "
        "name of an environment variable holding it",
    ]
    assert not any("hunter2" in p or "pw" in p.split() for p in problems)


def test_check_channel_lists_every_problem(notifiers: dict[str, Notifier]) -> None:
    channel = {"type": "email", "password_env": "OCX_TEST_UNSET_PASSWORD"}
    assert check_channel("m", channel, notifiers) == [
        "channel m is missing the key host (type email)",
        "channel m is missing the key from (type email)",
        "channel m: environment variable OCX_TEST_UNSET_PASSWORD (named by password_env) is not set",
    ]


def test_check_channel_checks_the_fallback_against_the_configured_channels(
    notifiers: dict[str, Notifier],
) -> None:
    channels = {"chat": {"type": "console", "fallback": "mail"}, "other": {"type": "console"}}
    assert check_channel("chat", channels["chat"], notifiers, channels=channels) == [
        "channel chat: fallback mail is not a configured channel"
    ]
    channels["mail"] = {"type": "console"}
    assert check_channel("chat", channels["chat"], notifiers, channels=channels) == []


def test_deliver_prefixes_the_channel_and_wraps_a_plugins_bug(
    notifiers: dict[str, Notifier], tmp_path: Path
) -> None:
    out = tmp_path / "m.json"
    channel = {"type": "command", "argv": [sys.executable, "-c", WRITE_STDIN, str(out)]}
    assert deliver(make_message(), "script", channel, notifiers).endswith("exited 0")
    assert out.exists()
    with pytest.raises(OcxError, match=r"^channel script: command .* exited with 1"):
        deliver(make_message(), "script", {**channel, "argv": [sys.executable, "-c", "1/0"]},
                notifiers)  # fmt: skip
    with pytest.raises(OcxError, match=r"^channel x has an unknown type 'pager'"):
        deliver(make_message(), "x", {"type": "pager"}, notifiers)

    def broken(message: OutboundMessage, channel: Any) -> str:
        raise KeyError("boom")

    buggy = {**notifiers, "buggy": Notifier("buggy", "a bug", broken)}
    with pytest.raises(OcxError, match=r"^channel b: notifier buggy failed: KeyError: 'boom'$"):
        deliver(make_message(), "b", {"type": "buggy"}, buggy)
