"""ocx.channels with a notifier built here, as an external plugin would build one: its
`check` is reported as a built-in's is, and its `address` chooses whom a team member's or a
customer's message goes to. Delivery is real: the notifier hands each message to the
built-in `command` notifier, which runs a Python script writing it to a JSONL file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ocx import channels, clock, customers, due, outbox, team
from ocx.hookspecs import hookimpl
from ocx.plugin_api import Notifier, OutboundMessage
from ocx.pluginhost import Plugins
from ocx.store import Store, open_store

SINK = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read().replace('\\n', ' ') + '\\n')"


def _relay(kind: str) -> Any:
    """A send that delivers through a real command run (the built-in `command` notifier)."""

    def send(message: OutboundMessage, channel: Mapping[str, Any]) -> str:
        command = Plugins(load_entry_points=False).notifiers()["command"]
        return f"{kind}: " + command.send(message, {**channel, "type": "command"})

    return send


def _check_sms(channel: Mapping[str, Any]) -> list[str]:
    sender = channel.get("sender")
    if not isinstance(sender, str) or not sender.startswith("+"):
        return ["sender must be a phone number starting with +"]
    return []


class _SmsPlugin:
    """An external plugin: `sms` texts a person's phone, `postbox` (no address rule) mails
    their email, as the built-in email notifier does."""

    @hookimpl
    def ocx_register_notifiers(self, register: Any) -> None:
        register(Notifier("sms", "Text a phone", _relay("sms"), ("argv",), check=_check_sms,
                          address=lambda person: getattr(person, "phone", None)))  # fmt: skip
        register(Notifier("postbox", "Mail an inbox", _relay("postbox"), ("argv",)))


@pytest.fixture
def plugins() -> Plugins:
    found = Plugins(load_entry_points=False)
    found.add(_SmsPlugin(), "ocx-sms")
    return found


@pytest.fixture
def store(initialized: Path) -> Iterator[Store]:
    opened = open_store(initialized)
    yield opened
    opened.close()


def _config(log: Path, **extra: Any) -> dict[str, Any]:
    argv = [sys.executable, "-c", SINK, str(log)]
    return {
        "channels": {
            "text": {"type": "sms", "argv": argv, "sender": "+15550100", **extra},
            "post": {"type": "postbox", "argv": argv},
        }
    }


def _sent(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


def test_a_plugins_check_is_reported_like_a_builtins(plugins: Plugins, tmp_path: Path) -> None:
    config = _config(tmp_path / "sent.jsonl", sender="0100")
    tables = config["channels"]
    problems = [
        problem
        for name, table in tables.items()
        for problem in channels.check_channel(name, table, plugins.notifiers(), channels=tables)
    ]
    assert problems == ["channel text: sender must be a phone number starting with +"]
    message = OutboundMessage("k", "test", "text", "+1 555 0100", "s", "b")
    with pytest.raises(Exception, match=r"^channel text: sender must be a phone number"):
        channels.send(message, config, plugins.notifiers())


def test_a_plugin_check_that_fails_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    def broken(channel: Mapping[str, Any]) -> list[str]:
        raise KeyError("sender")

    notifier = Notifier("sms", "Text a phone", _relay("sms"), check=broken)
    assert channels.check_channel("text", {"type": "sms"}, {"sms": notifier}) == [
        "channel text: notifier sms could not check it: KeyError: 'sender'"
    ]


def test_a_team_member_gets_the_address_the_plugin_asks_for(
    plugins: Plugins, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "sent.jsonl"
    config = _config(log)
    # postbox has no address rule: the email, never the bare handle a webhook would get
    team.add(store, "dana", email="dana@acme.example", channel="post")
    customers.add(store, "jim@example.com", author="tester")
    from ocx import promises

    promises.add(store, "jim@example.com", "Send the refund", due=clock.now() + timedelta(
        minutes=30), owner="dana", author="tester")  # fmt: skip
    found = due.items(store, within=timedelta(hours=1))
    report = due.notify(store, found, config=config, plugins=plugins, tz=UTC)
    assert report.failed == [] and report.undeliverable == []
    [message] = _sent(log)
    assert (message["channel"], message["recipient"]) == ("post", "dana@acme.example")
    assert report.delivered[0].note.startswith("postbox: command ")


def test_a_customer_gets_the_address_the_plugin_asks_for(
    plugins: Plugins, store: Store, tmp_path: Path
) -> None:
    log = tmp_path / "sent.jsonl"
    config = _config(log)
    customers.add(store, "jim@example.com", author="tester", phone="+1 555 0100", channel="sms")
    customers.add(store, "judy@example.com", author="tester", channel="sms")
    jim, judy = customers.get(store, "jim@example.com"), customers.get(store, "judy@example.com")
    address = channels.customer_addresses(config, plugins.notifiers())
    reach = channels.customer_channel(config, jim.channel)  # the first channel of type sms
    assert (reach, address("text", jim), address("text", judy)) == ("text", "+1 555 0100", None)
    assert address("post", jim) == "jim@example.com"
    # the channel's own `address` key still wins over the notifier's rule
    assert channels.customer_addresses(_config(log, address="email"), plugins.notifiers())(
        "text", jim) == "jim@example.com"  # fmt: skip
    outbox.queue(store, key="update:1", kind="incident-update", channel="text",
                 recipient=address("text", jim), subject="News", body="Fixed",
                 payload={"addresses": {"email": jim.email, "phone": jim.phone}})  # fmt: skip
    report = outbox.deliver(store, config=config, plugins=plugins)
    assert [d.recipient for d in report.delivered] == ["+1 555 0100"]
    assert [(m["recipient"], m["body"]) for m in _sent(log)] == [("+1 555 0100", "Fixed")]


def test_a_fallback_is_addressed_as_its_notifier_asks(plugins: Plugins, tmp_path: Path) -> None:
    config = _config(tmp_path / "sent.jsonl")
    config["channels"]["hook"] = {"type": "webhook", "url": "http://127.0.0.1:9/"}
    addresses = {"email": "jim@example.com", "phone": "+1 555 0100"}
    notifiers = plugins.notifiers()
    fallback = channels.fallback_recipient
    assert fallback(config, "text", addresses, "jim@example.com", notifiers) == "+1 555 0100"
    assert fallback(config, "post", addresses, "+1 555 0100", notifiers) == "jim@example.com"
    # a built-in that names people keeps what the message was addressed to
    assert fallback(config, "hook", addresses, "+1 555 0100", notifiers) == "+1 555 0100"
    member = {"email": None, "handle": "dana"}
    assert fallback(config, "post", member, "dana", notifiers) == "dana"  # no email: as it was


def test_builtin_address_rules() -> None:
    notifiers = Plugins(load_entry_points=False).notifiers()
    member = SimpleNamespace(handle="dana", email="dana@acme.example", channel=None)
    config: dict[str, Any] = {"channels": {"mail": {"type": "email"}}}
    assert channels.member_route(member, config, notifiers) == ("console", "dana")
    member.channel = "mail"
    assert channels.member_route(member, config, notifiers) == ("mail", "dana@acme.example")
    member.channel = "pager"  # not configured: addressed by handle, fails at delivery
    assert channels.member_route(member, config, notifiers) == ("pager", "dana")
