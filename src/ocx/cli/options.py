"""Options shared by many commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def limit_option(default: int | None = None) -> Callable[[F], F]:
    return click.option(
        "--limit", "-n", type=click.IntRange(min=1), default=default, show_default=default is not None,
        help="Show at most N rows.",
    )  # fmt: skip


class _Clearable(click.Choice):  # type: ignore[type-arg]
    """A choice that also takes '' (clear the field), as every other profile option does."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        return "" if value == "" else super().convert(value, param, ctx)


def profile_options(func: F) -> F:
    """The profile fields `customer add` and `customer edit` share."""
    options = [
        click.option("--name", help="Full name, e.g. 'Margo Lane'."),
        click.option("--company", help="Company or organisation."),
        click.option("--phone", help="Phone number."),
        click.option("--tz", "time_zone", metavar="IANA", help="Time zone, e.g. Europe/Paris."),
        click.option(
            "--channel",
            metavar="NAME",
            help="Preferred channel: a configured channel, a notifier type or a word like phone.",
        ),
        click.option(
            "--pace",
            type=_Clearable(["slow", "normal", "fast"]),
            help="How they like to be served: slow (step by step) to fast (just the answer).",
        ),
        click.option("--tone", help="Tone that suits them, e.g. 'warm, no jargon'."),
        click.option("--language", help="Language to write in, e.g. en, fr."),
        click.option(
            "--quiet-hours",
            metavar="HH:MM-HH:MM",
            help="Do not contact them then (their time zone).",
        ),
        click.option("--tag", "tags", multiple=True, metavar="T", help="Tag (repeatable)."),
        click.option("--context", help="Personal context worth remembering."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
