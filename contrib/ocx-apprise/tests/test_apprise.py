"""ocx-apprise delivers through real Apprise to a real HTTP server on 127.0.0.1 (Apprise's
`json://` URLs POST JSON), and the installed package is found through the `ocx` group."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import ocx_apprise
import pytest
from click.testing import CliRunner

from ocx.plugin_api import OcxError, OutboundMessage
from ocx.testing import Plugins, check_channel, cli

CHANNEL = {"type": "apprise", "urls_env": "OCX_TEST_APPRISE_URLS"}


def message(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "key": "promise:3:2026-12-01T15:00:00+00:00:reminder",
        "kind": "reminder",
        "channel": "team-chat",
        "recipient": "dana",
        "subject": "Call Jürgen back by 15:00",
        "body": "Promise #3 to Jürgen Müller is due at 15:00. ✓",
    }
    fields.update(changes)
    return OutboundMessage(**fields)


def test_delivers_to_a_json_url(http_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = http_server()
    monkeypatch.setenv("OCX_TEST_APPRISE_URLS", f"json://127.0.0.1:{server.port}/ocx/hook")
    assert ocx_apprise.send(message(), CHANNEL) == "notified 1 Apprise URL"
    (got,) = server.requests
    assert got.path == "/ocx/hook"
    body = got.json()
    assert body["title"] == "Call Jürgen back by 15:00"
    assert body["message"] == "Promise #3 to Jürgen Müller is due at 15:00. ✓"
    assert body["type"] == "info"


def test_overdue_and_escalation_look_urgent(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server()
    monkeypatch.setenv("OCX_TEST_APPRISE_URLS", f"json://127.0.0.1:{server.port}/")
    ocx_apprise.send(message(kind="overdue"), CHANNEL)
    ocx_apprise.send(message(kind="escalation"), CHANNEL)
    assert [r.json()["type"] for r in server.requests] == ["warning", "failure"]


@pytest.mark.parametrize("separator", [" ", ", ", "\n"])
def test_every_url_in_the_variable_is_notified(
    http_server: Any, monkeypatch: pytest.MonkeyPatch, separator: str
) -> None:
    first, second = http_server(), http_server()
    urls = separator.join(f"json://127.0.0.1:{s.port}/a" for s in (first, second))
    monkeypatch.setenv("OCX_TEST_APPRISE_URLS", urls)
    assert ocx_apprise.send(message(), CHANNEL) == "notified 2 Apprise URLs"
    assert len(first.requests) == len(second.requests) == 1


def test_a_failing_service_is_an_error_that_hides_the_token(
    http_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http_server(statuses=(500,))
    token = "tok3n-s3cret-value"
    monkeypatch.setenv(
        "OCX_TEST_APPRISE_URLS", f"json://bot:{token}@127.0.0.1:{server.port}/{token}"
    )
    with pytest.raises(OcxError) as info:
        ocx_apprise.send(message(), CHANNEL)
    assert str(info.value).startswith("Apprise could not deliver: ")
    assert "500" in str(info.value)
    assert token not in str(info.value)
    assert len(server.requests) == 1


def test_an_unset_variable_is_named_and_nothing_is_sent(http_server: Any) -> None:
    server = http_server()
    with pytest.raises(OcxError, match=r"OCX_TEST_APPRISE_URLS .*is not set"):
        ocx_apprise.send(message(), CHANNEL)
    assert server.requests == []
    assert check_channel("chat", CHANNEL, Plugins().notifiers()) == [
        "channel chat: environment variable OCX_TEST_APPRISE_URLS (named by urls_env) is not set"
    ]


def test_a_url_apprise_cannot_read_is_an_error_without_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OCX_TEST_APPRISE_URLS", "nosuchscheme://s3cr3t-hook-id")
    with pytest.raises(OcxError) as info:
        ocx_apprise.send(message(), CHANNEL)
    assert "does not read as a URL" in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_without_urls_env_the_channel_is_refused() -> None:
    with pytest.raises(OcxError, match="needs urls_env"):
        ocx_apprise.send(message(), {"type": "apprise"})
    assert check_channel("chat", {"type": "apprise"}, Plugins().notifiers()) == [
        "channel chat is missing the key urls_env (type apprise)"
    ]


def test_installed_package_is_found_through_the_entry_point_group() -> None:
    try:
        version = importlib.metadata.version("ocx-apprise")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            "ocx-apprise is not installed: run `python -m pip install ./contrib/ocx-apprise`"
        )
    result = CliRunner().invoke(cli, ["plugins", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (info,) = [p for p in json.loads(result.stdout) if p["name"] == "apprise"]
    assert info == {
        "name": "apprise", "version": version, "builtin": False,
        "hooks": ["ocx_register_notifiers"], "status": "ok", "error": None,
    }  # fmt: skip
    notifier = Plugins().notifiers()["apprise"]
    assert notifier.send is ocx_apprise.send
    assert notifier.config_keys == ("urls_env",)


def test_ocx_notify_test_delivers_through_an_apprise_channel(
    http_server: Any, monkeypatch: pytest.MonkeyPatch, env: Path
) -> None:
    server = http_server()
    env.mkdir(parents=True, exist_ok=True)
    (env / "ocx.toml").write_text(
        '[channels.team-chat]\ntype = "apprise"\nurls_env = "OCX_TEST_APPRISE_URLS"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("OCX_TEST_APPRISE_URLS", f"json://127.0.0.1:{server.port}/chat")
    result = CliRunner().invoke(cli, ["notify", "test", "team-chat"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (got,) = server.requests
    assert got.json()["title"] == "ocx test message"
    assert "notified 1 Apprise URL" in result.output
