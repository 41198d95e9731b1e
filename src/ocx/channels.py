"""Channels: `[channels.NAME]` tables in ocx.toml, each with a `type` naming a notifier.

The one place the core decides anything about a channel: which table a name (or a
customer's preferred channel) means, whom a message on it is addressed to, what is wrong
with a table, and sending one message through it. Notifiers are reached only through the
plugin registry (`Plugins.notifiers()`), and what is particular to a type comes from the
notifier's own `check` and `address`, so a plugin's channel type is treated as a built-in.

Imported by the incident and due paths, so it loads nothing heavy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocx.errors import ChannelDown, OcxError

if TYPE_CHECKING:
    from ocx.plugin_types import Notifier, OutboundMessage

Notifiers = Mapping[str, "Notifier"]

# A third of the outbox's 15-minute claim lease (ocx.outbox.CLAIM_LEASE): one attempt never
# outlives the claim, so no later run takes the message over while it is still being sent.
MAX_TIMEOUT = 300
# Keys that would hold a secret if written into ocx.toml by hand (use KEY_env instead).
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)s?$", re.IGNORECASE)


def timeout_problem(value: Any) -> str | None:
    """Why VALUE cannot be a channel's `timeout`, or None when it can: seconds, more than 0
    and at most MAX_TIMEOUT. Shared by the channel checks, sending and `ocx config set`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return "timeout must be a positive number of seconds"
    if value > MAX_TIMEOUT:
        return (f"timeout must be at most {MAX_TIMEOUT} seconds "
                "(a third of the 15-minute claim lease)")  # fmt: skip
    return None


def one_line(text: str, limit: int = 200) -> str:
    """TEXT on one line, cut to LIMIT characters: for error messages and delivery notes."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- finding a channel's table -----------------------------------------------------------


def _tables(config: Mapping[str, Any]) -> dict[str, Any]:
    channels = config.get("channels") or {}
    return channels if isinstance(channels, dict) else {}


def channel_type(config: Mapping[str, Any], name: str) -> Any:
    """The notifier type channel NAME uses: its table's `type`, else the name itself (a
    notifier that needs no keys, like `console`, works as a channel name)."""
    table = _tables(config).get(name)
    return table.get("type", name) if isinstance(table, dict) else name


def _notifier(config: Mapping[str, Any], name: str, notifiers: Notifiers) -> Notifier | None:
    kind = channel_type(config, name)
    return notifiers.get(kind) if isinstance(kind, str) else None


def channel_config(config: Mapping[str, Any], name: str, notifiers: Notifiers) -> dict[str, Any]:
    """The [channels.NAME] table; a notifier type that needs no keys (console) works as a
    channel name without one."""
    table = _tables(config).get(name)
    if isinstance(table, dict):
        return {"type": table.get("type", name), **table}
    notifier = notifiers.get(name)
    if notifier is not None and not notifier.config_keys:
        return {"type": name}
    raise OcxError(f"channel {name!r} is not configured; add [channels.{name}] to ocx.toml")


def customer_channel(config: Mapping[str, Any], channel: str | None) -> str | None:
    """The configured channel that reaches a customer: the channel of that name, else the
    first channel of that type. No preferred channel means the `email` channel (the first
    of type email if none is named so). None: nothing configured can reach them (`phone`,
    `in-person`), so a person must."""
    channels = _tables(config)
    wanted = channel or "email"
    if isinstance(channels.get(wanted), dict):
        return wanted
    for name, table in channels.items():
        if isinstance(table, dict) and table.get("type", name) == wanted:
            return name
    if wanted == "email":
        return "email"  # not configured: the delivery fails and says so, as for the team
    return None


def check_fallback(config: Mapping[str, Any], fallback: str) -> None:
    """--fallback must name a configured channel."""
    if not isinstance(_tables(config).get(fallback), dict):
        raise OcxError(f"--fallback {fallback}: no such channel; add [channels.{fallback}] to "
                       "ocx.toml or pick one from 'ocx config show'")  # fmt: skip


def known(config: Mapping[str, Any], name: str, notifiers: Notifiers) -> bool:
    """Whether NAME is a channel in ocx.toml or a notifier type (usable as a channel name)."""
    return name in (config.get("channels") or {}) or name in notifiers


# --- whom a message is addressed to ------------------------------------------------------


@dataclass(frozen=True)
class Addressee:
    """Whom a queued message is for, from the addresses it carries: what a fallback channel's
    notifier is asked to address, as it is asked about a team member or a customer."""

    email: str | None
    phone: str | None = None
    handle: str | None = None
    recipient: str | None = None  # what the message is addressed to on its own channel


def addressed_as(person: Any) -> str | None:
    """The address rule of a notifier that names people rather than reaching a mailbox
    (console, webhook, command): what the message is addressed to already (a fallback),
    else a team member's handle, else the email."""
    return (getattr(person, "recipient", None) or getattr(person, "handle", None)
            or person.email)  # fmt: skip


def _email(person: Any) -> str | None:
    return person.email


def _rule(notifier: Notifier | None) -> Callable[[Any], str | None]:
    # An unknown type fails at delivery, saying so; until then its messages are addressed
    # as on any channel that names people.
    if notifier is None:
        return addressed_as
    return notifier.address or _email


def member_route(
    member: Any, config: Mapping[str, Any], notifiers: Notifiers
) -> tuple[str, str | None]:
    """The channel name and recipient for a team member: their channel, else config
    `default_channel`, else the console; addressed as its notifier asks (an email channel
    addresses their email, never a bare handle)."""
    name = member.channel or str(config.get("default_channel") or "console")
    return name, _rule(_notifier(config, name, notifiers))(member)


def customer_addresses(
    config: Mapping[str, Any], notifiers: Notifiers | None = None
) -> Callable[[str, Any], str | None]:
    """`address(channel, customer)`: a customer's address on a channel. `address = "phone"`
    (or `"email"`) in the channel's table wins, for a channel that texts or calls; else the
    channel's notifier chooses (the email by default). Each channel's rule is worked out
    once, for an update to 100,000 customers; NOTIFIERS None: the installed ones, loaded
    only if a table does not say."""
    rules: dict[str, Callable[[Any], str | None]] = {}
    registry: list[Notifiers] = [notifiers] if notifiers is not None else []

    def rule(channel: str) -> Callable[[Any], str | None]:
        table = _tables(config).get(channel)
        wanted = table.get("address") if isinstance(table, dict) else None
        if wanted == "phone":
            return _phone
        if wanted == "email":
            return _email
        if not registry:
            registry.append(installed())
        return _rule(_notifier(config, channel, registry[0]))

    def address(channel: str, customer: Any) -> str | None:
        if channel not in rules:
            rules[channel] = rule(channel)
        return rules[channel](customer)

    return address


def _phone(person: Any) -> str | None:
    return person.phone


def fallback_recipient(
    config: Mapping[str, Any], target: str, addresses: Mapping[str, Any], recipient: str | None,
    notifiers: Notifiers,
) -> str | None:  # fmt: skip
    """The recipient of a message sent again through the fallback channel TARGET: as its
    notifier addresses the person the message is for, else the message's own recipient."""
    person = Addressee(addresses.get("email"), addresses.get("phone"), addresses.get("handle"),
                       recipient)  # fmt: skip
    return _rule(_notifier(config, target, notifiers))(person) or recipient


def installed() -> dict[str, Notifier]:
    """The notifiers of the installed plugins, for code that is handed none."""
    from ocx.pluginhost import Plugins

    return Plugins().notifiers()


# --- checking and sending ----------------------------------------------------------------


def _type_problems(notifier: Notifier, channel: Mapping[str, Any]) -> list[str]:
    if notifier.check is None:
        return []
    try:
        return [str(problem) for problem in notifier.check(channel)]
    except Exception as exc:  # a plugin's bug must not hide the other problems
        detail = one_line(str(exc))
        return [f"notifier {notifier.name} could not check it: {type(exc).__name__}"
                + (f": {detail}" if detail else "")]  # fmt: skip


def check_channel(
    name: str,
    channel: Any,
    notifiers: Notifiers,
    *,
    channels: Mapping[str, Any] | None = None,
) -> list[str]:
    """What is wrong with the channel table `[channels.NAME]`, one short sentence each
    (naming the channel and the key or variable, never a value); empty when it is usable.

    Checks: a table with a known `type`; the notifier's required `config_keys`; every
    `*_env` key names an environment variable that is set; no secret written in as a value;
    the notifier's own `check` of its keys; for every type, a `timeout` from 0 to
    MAX_TIMEOUT seconds; with `channels` (the whole `[channels]` table), that `fallback`
    names another configured channel.
    """
    if not isinstance(channel, Mapping):
        return [f"channel {name} is not a table"]
    problems: list[str] = []
    extra: list[str] = []
    known_types = ", ".join(sorted(notifiers)) or "none registered"
    kind = channel.get("type")
    notifier = notifiers.get(kind) if isinstance(kind, str) else None
    if kind is None:
        problems.append(f"channel {name} has no type (one of: {known_types})")
    elif notifier is None:
        problems.append(f"channel {name} has an unknown type {kind!r} (known: {known_types})")
    else:
        for key in notifier.config_keys:
            if channel.get(key) in (None, "", [], {}):
                problems.append(f"channel {name} is missing the key {key} (type {kind})")
        extra = _type_problems(notifier, channel)
    # Any notifier's: an external one is expected to honour `timeout` too (docs/notifiers.md).
    timeout = timeout_problem(channel["timeout"]) if "timeout" in channel else None
    extra += [timeout] if timeout else []
    problems += [f"channel {name}: {problem}" for problem in extra]
    for key, value in channel.items():
        if key.endswith("_env"):
            if not isinstance(value, str) or not value.isidentifier():
                problems.append(f"channel {name}: {key} must name an environment variable")
            elif not os.environ.get(value):
                problems.append(
                    f"channel {name}: environment variable {value} (named by {key}) is not set"
                )
        elif _SECRET_KEY.search(key):
            problems.append(
                f"channel {name}: {key} must not be written in ocx.toml; "
                f"set {key}_env to the name of an environment variable holding it"
            )
    fallback = channel.get("fallback")
    if fallback is not None:
        if not isinstance(fallback, str) or not fallback:
            problems.append(f"channel {name}: fallback must name a channel")
        elif fallback == name:
            problems.append(f"channel {name}: fallback names the channel itself")
        elif channels is not None and fallback not in channels:
            problems.append(f"channel {name}: fallback {fallback} is not a configured channel")
    return problems


def deliver(message: OutboundMessage, name: str, channel: Any, notifiers: Notifiers) -> str:
    """Check channel NAME and send MESSAGE through it: the notifier's note, or an OcxError
    `channel NAME: reason` (also for an unexpected exception inside a plugin's send); a
    ChannelDown stays a ChannelDown, so the outbox holds the channel's other messages."""
    problems = check_channel(name, channel, notifiers)
    if problems:
        raise OcxError("; ".join(problems))
    notifier = notifiers[channel["type"]]
    try:
        return notifier.send(message, channel)
    except ChannelDown as exc:
        raise ChannelDown(f"channel {name}: {exc}") from None
    except OcxError as exc:
        raise OcxError(f"channel {name}: {exc}") from None
    except Exception as exc:  # a plugin's bug must not stop the other deliveries
        detail = one_line(str(exc))
        raise OcxError(
            f"channel {name}: notifier {notifier.name} failed: {type(exc).__name__}"
            + (f": {detail}" if detail else "")
        ) from None


def send(message: OutboundMessage, config: Mapping[str, Any], notifiers: Notifiers) -> str:
    """Send one message through the channel it names, checked first: an unknown type, a
    missing key or an unset secret variable is an error naming the channel."""
    channel = channel_config(config, message.channel, notifiers)
    return deliver(message, message.channel, channel, notifiers)
