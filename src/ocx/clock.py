"""The clock (which honours OCX_NOW) and the parsing of WHEN and DURATION text."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ocx.errors import OcxError


def when_example() -> str:
    """Accepted forms, the ISO one a week ahead so the example itself is never in the past."""
    ahead = (now() + timedelta(days=7)).strftime("%Y-%m-%dT15:00")
    return f"'{ahead}', 'in 2 hours', '+3d', 'tomorrow 9am', 'friday 15:00'"


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
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise OcxError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or UTC"
        ) from None


def check_zone(name: str) -> str:
    """Validate an IANA time zone name and return it unchanged."""
    zone(name)
    return name


def local_text(stored: str | None, tz: tzinfo) -> str:
    """A stored UTC time as people read it, in their own time zone."""
    if not stored:
        return ""
    return from_iso(stored).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z").strip()


def parse_iso(text: str, tz: tzinfo) -> datetime:
    """ISO 8601 date or date-time; without an offset it is read in `tz`."""
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            parsed = datetime.combine(date.fromisoformat(raw), time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # overflow: year 1 or 9999 moved past the calendar
        raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}") from None


def parse_duration(text: str) -> timedelta:
    """'2h', '30m', '1h30m', '2 hours', '1d' -> timedelta (positive)."""
    raw = text.strip().lower()
    pos, total = 0, 0.0
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if not match or match.group(2) not in _UNITS:
            raise OcxError(f"cannot read duration {text!r}; use e.g. {DURATION_EXAMPLE}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or total <= 0:
        raise OcxError(f"cannot read duration {text!r}; use e.g. {DURATION_EXAMPLE}")
    try:
        return timedelta(seconds=total)
    except OverflowError:  # more days than timedelta holds
        raise OcxError(f"duration {text!r} is too long") from None


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
    if re.match(r"\d{4}-\d{2}-\d{2}", raw):
        return parse_iso(text, tz)
    if raw == "now":
        return ref.astimezone(UTC)
    for pattern, sign in ((r"in (.+)", 1), (r"\+(.+)", 1), (r"-(.+)", -1), (r"(.+) ago", -1)):
        match = re.fullmatch(pattern, raw)
        if match:
            try:
                # in UTC: wall-clock arithmetic in `tz` would make 'in 2 hours' one or
                # three real hours across a DST change
                return ref.astimezone(UTC) + sign * parse_duration(match.group(1))
            except (OcxError, OverflowError):  # overflow: past the year 9999 or before 1
                raise OcxError(f"cannot read time {text!r}; use e.g. {when_example()}") from None
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
