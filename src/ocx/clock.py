"""The clock (which honours OCX_NOW) and the parsing of WHEN and DURATION text."""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ocx.errors import OcxError

# The calendar Python (and so ocx) can hold: a time past LAST_DAY or before FIRST_DAY cannot be
# stored, shown or added to, so it is refused where it is read.
LAST_DAY = "9999-12-31"
FIRST_DAY = "0001-01-01"


class OutOfRange(OcxError):
    """Readable text whose value ocx cannot use: a duration under a second, or a time (or now
    plus a duration) past LAST_DAY or before FIRST_DAY. The CLI reports it as a usage error
    naming the option; elsewhere it is an ordinary OcxError."""


def _quoted(text: str) -> str:
    """The text as typed, cut short: an error about 5,000 nines is one line, not a page."""
    raw = text.strip()
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")


def _after(text: str) -> OutOfRange:
    return OutOfRange(
        f"{_quoted(text)} lands after {LAST_DAY}; use an earlier time or a shorter duration"
    )


def _before(text: str) -> OutOfRange:
    return OutOfRange(
        f"{_quoted(text)} lands before {FIRST_DAY}; use a later time or a shorter duration"
    )


def when_example() -> str:
    """Accepted forms, the ISO one a week ahead so the example itself is never in the past."""
    ahead = now()
    with contextlib.suppress(OverflowError):  # a clock pinned (OCX_NOW) in the last week
        ahead += timedelta(days=7)
    return f"'{ahead:%Y-%m-%dT15:00}', 'in 2 hours', '+3d', 'tomorrow 9am', 'friday 15:00'"


DURATION_EXAMPLE = "'30m', '2h', '1d', '1w', '1h30m', '2 hours'"

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")
# More digits than this in one number is past any calendar: refused before float() reads it.
_LONGEST_NUMBER = 30


def now() -> datetime:
    """The current time in UTC; OCX_NOW pins it so tests and replays are repeatable."""
    pinned = os.environ.get("OCX_NOW")
    if pinned:
        try:
            moment = datetime.fromisoformat(pinned.strip().replace("Z", "+00:00"))
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            raise OcxError(
                f"OCX_NOW={pinned!r} is not an ISO 8601 time; use e.g. 2026-12-01T15:00:00Z"
            ) from None
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """The one text form of a time in the database and in JSON: UTC, seconds, ending in Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """Read a time stored by to_iso (or any ISO 8601 text with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso_json(text: str | None) -> str | None:
    """Normalise a stored time for JSON output (already UTC text; None stays None)."""
    return None if text is None else to_iso(from_iso(text))


def zone(name: str | None) -> tzinfo:
    """A time zone by IANA name; None means the system's own."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return _named_zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise OcxError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or UTC"
        ) from None


@functools.lru_cache(maxsize=1024)
def _named_zone(name: str) -> ZoneInfo:
    """ZoneInfo keeps only the last 8 zones it made alive: an update to customers in a dozen
    zones read their zone files from disk again for most customers. Kept here, each file is
    read once per process (a name that is not a zone raises, and is not kept)."""
    return ZoneInfo(name)


def check_zone(name: str) -> str:
    """Validate an IANA time zone name and return it unchanged."""
    zone(name)
    return name


def local_text(stored: str | None, tz: tzinfo) -> str:
    """A stored UTC time as people read it, in their own time zone."""
    if not stored:
        return ""
    moment = from_iso(stored)
    try:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z").strip()
    except OverflowError:  # 9999-12-31 late in UTC is year 10000 east of it: show it in UTC
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def parse_iso(text: str, tz: tzinfo) -> datetime:
    """ISO 8601 date or date-time; without an offset it is read in `tz`."""
    raw = text.strip()
    if re.match(r"\+?0*[1-9]\d{4,}-\d{2}-\d{2}", raw):  # year 10000 or later
        raise _after(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            parsed = datetime.combine(date.fromisoformat(raw), time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31 late in a zone behind UTC, or year 1 ahead of it
        raise (_after(text) if parsed.year == 9999 else _before(text)) from None


def parse_duration(text: str) -> timedelta:
    """'2h', '30m', '1h30m', '2 hours', '1d' -> timedelta of at least a second.

    Under a second (0d, 0.1s) is OutOfRange; so is a duration no calendar holds (it lands
    after 9999-12-31 from any start). Whether it fits from a given start is `shift`'s job."""
    seconds = _duration_seconds(text)
    if seconds < 1:
        raise OutOfRange(f"{_quoted(text)} is shorter than a second; use 1s or more")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # more days than timedelta holds
        raise _after(text) from None


def _duration_seconds(text: str) -> float:
    """The seconds a duration's text adds up to; OcxError when it is not a duration."""
    raw = text.strip().lower()
    pos, total, too_long = 0, 0.0, False
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if not match or match.group(2) not in _UNITS:
            raise OcxError(f"cannot read duration {text!r}; use e.g. {DURATION_EXAMPLE}")
        number = match.group(1)
        if len(number.split(".")[0].lstrip("0")) > _LONGEST_NUMBER:
            too_long = True  # read on: text that is not a duration at all says so first
        else:
            total += float(number) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw:
        raise OcxError(f"cannot read duration {text!r}; use e.g. {DURATION_EXAMPLE}")
    if too_long:
        raise _after(text)
    return total


def shift(start: datetime, span: timedelta, text: str) -> datetime:
    """start + span (span may be negative); OutOfRange naming `text` when that leaves the
    calendar, so a caller never meets OverflowError later."""
    try:
        return start + span
    except OverflowError:
        raise (_after(text) if span > timedelta(0) else _before(text)) from None


def _clock_time(text: str) -> time | None:
    """'9am', '3:30pm', '15:00', 'noon' -> time; None when it is not a clock time."""
    raw = text.strip().lower().replace(" ", "")
    if raw in ("noon", "midday"):
        return time(12)
    if raw == "midnight":
        return time(0)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", raw)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare number is not a time of day
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_when(text: str, *, tz: tzinfo, reference: datetime | None = None) -> datetime:
    """Read a point in time people type: ISO 8601, a date, or human forms.

    Human forms are read in the user's time zone: 'in 2 hours', '+3d', '-2h', '3 days ago',
    'now', 'today', 'yesterday', 'tomorrow 9am', 'friday 15:00', 'next monday'.
    """
    ref = (reference or now()).astimezone(tz)
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}")
    if re.match(r"\+?\d{4,}-\d{2}-\d{2}", raw):  # a year past 9999 is refused, not misread
        return parse_iso(text, tz)
    if raw == "now":
        return ref.astimezone(UTC)
    for pattern, sign in ((r"in (.+)", 1), (r"\+(.+)", 1), (r"-(.+)", -1), (r"(.+) ago", -1)):
        match = re.fullmatch(pattern, raw)
        if match:
            try:
                seconds = _duration_seconds(match.group(1))
            except OutOfRange:
                seconds = math.inf
            except OcxError:
                seconds = 0.0
            if seconds <= 0:  # not a duration, or 'in 0s'
                raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}")
            try:
                span = sign * timedelta(seconds=seconds)
            except OverflowError:
                raise (_after(text) if sign > 0 else _before(text)) from None
            # in UTC: wall-clock arithmetic in `tz` would make 'in 2 hours' one or
            # three real hours across a DST change
            return shift(ref.astimezone(UTC), span, text)
    try:
        return _parse_day_and_time(text, raw, ref, tz)
    except OverflowError:  # 'tomorrow' or 'next friday' seen from the calendar's last days
        raise (_before(text) if ref.year == 1 else _after(text)) from None


def _parse_day_and_time(text: str, raw: str, ref: datetime, tz: tzinfo) -> datetime:
    """'today', 'tomorrow 9am', 'friday 15:00', 'next monday', '15:00' as seen at `ref`."""
    words = raw.split(" ", 2)
    day: date | None = None
    weekday_today = False
    rest: list[str] = words[1:]
    if words[0] in ("today", "tonight"):
        day = ref.date()
    elif words[0] == "tomorrow":
        day = ref.date() + timedelta(days=1)
    elif words[0] == "yesterday":
        day = ref.date() - timedelta(days=1)
    else:
        nxt = words[0] == "next" and len(words) > 1
        name = words[1] if nxt else words[0]
        rest = words[2:] if nxt else words[1:]
        matches = [i for i, w in enumerate(_WEEKDAYS) if len(name) >= 3 and w.startswith(name)]
        if matches:
            ahead = (matches[0] - ref.weekday()) % 7
            if ahead == 0 and nxt:
                ahead = 7
            weekday_today = ahead == 0
            day = ref.date() + timedelta(days=ahead)
    if day is None:
        only_time = _clock_time(raw)
        if only_time is None:
            raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}")
        candidate = datetime.combine(ref.date(), only_time, tzinfo=tz)
        if candidate <= ref:
            candidate += timedelta(days=1)
        return candidate.astimezone(UTC)
    if rest:
        at = _clock_time(" ".join(rest).removeprefix("at "))
    else:  # a bare past day means its start; a bare future day, the start of work
        at = time(0) if words[0] in ("today", "tonight", "yesterday") else time(9)
    if at is None:
        raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}")
    if weekday_today and datetime.combine(day, at, tzinfo=tz) <= ref:
        day += timedelta(days=7)  # 'friday 15:00' said on a Friday after 15:00: next week
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
