"""Options shared by many commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import click

from ocx import clock
from ocx.cli.app import App

F = Callable[..., Any]


class Bounded(click.IntRange):
    """An integer with both ends set. Out of range is a usage error naming the option and the
    range, even for a number too long for int() to read (it refuses past 4,300 digits)."""

    def __init__(self, min: int, max: int) -> None:
        super().__init__(min, max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:  # fmt: skip
        if isinstance(value, str) and len(value.strip()) > 30:
            digits = value.strip().lstrip("+-").replace("_", "")
            if digits.isdigit() and len(digits.lstrip("0")) > 30:
                shown = value.strip()[:20] + "..."
                self.fail(f"{shown} is not in the range {self._describe_range()}.", param, ctx)
        return super().convert(value, param, ctx)


# Every numeric option has a range, so no number too big for SQLite's 64-bit integers (or
# for a screen) gets past the option that reads it; click names the option and the range.
MAX_LIMIT = 1_000_000
LIMIT = Bounded(1, MAX_LIMIT)
SEVERITY = Bounded(1, 4)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def no_header_option(func: F) -> F:
    return click.option(
        "--no-header", "no_header", is_flag=True,
        help="In a pipe, leave out the header line of the tab-separated rows.",
    )(func)  # fmt: skip


def handle_option(*decls: str, help: str, **extra: Any) -> Callable[[F], F]:
    """An option naming a team member by handle, completed from the team."""
    from ocx.cli import complete

    return click.option(*decls, metavar="HANDLE", shell_complete=complete.handles, help=help,
                        **extra)  # fmt: skip


def limit_option(default: int | None = None) -> Callable[[F], F]:
    return click.option(
        "--limit", "-n", type=LIMIT, default=default, show_default=default is not None,
        help="Show at most N rows.",
    )  # fmt: skip


def _tz(ctx: click.Context | None) -> tzinfo:
    """The time zone WHEN text is read in: the App's (config `timezone`), else the system's."""
    app = ctx.find_object(App) if ctx is not None else None
    return app.tz if app is not None else clock.zone(None)


class When(click.ParamType):
    """WHEN text ('tomorrow 9am', '+3d', ISO 8601) read into a UTC datetime as the option is
    read. Past 9999-12-31 (or before year 1) is a usage error naming the option; text that is
    no time at all stays the one-line error (exit 1) it always was."""

    name = "when"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> datetime:  # fmt: skip
        if isinstance(value, datetime):
            return value
        try:
            return clock.parse_when(str(value), tz=_tz(ctx))
        except clock.OutOfRange as exc:
            self.fail(str(exc), param, ctx)


class Duration(click.ParamType):
    """DURATION text ('30m', '2h', '1d') read into a timedelta as the option is read: at
    least a second, and now plus it must land by 9999-12-31, or it is a usage error naming
    the option (a window that long would overflow wherever ocx adds it to now)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> timedelta:  # fmt: skip
        if isinstance(value, timedelta):
            return value
        try:
            span = clock.parse_duration(str(value))
            clock.shift(clock.now(), span, str(value))
        except clock.OutOfRange as exc:
            self.fail(str(exc), param, ctx)
        return span


WHEN = When()
DURATION = Duration()
