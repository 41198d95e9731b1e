"""Figures people read in postmortems, reports and listings: percentiles of waits and spans
of time.

Their own module, light to import: `ocx report` needs them without loading the postmortem
and incident machinery.
"""

from __future__ import annotations


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default; statistics' 'inclusive')."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def span_text(seconds: float | None) -> str:
    """A span for a postmortem or report: '1d 2h 5m', '45s' under a minute, 'n/a' unknown."""
    if seconds is None:
        return "n/a"
    whole = round(seconds)
    return _units(whole, minutes_beside_days=True) or f"{whole % 60}s"


def late_text(seconds: int) -> str:
    """'2h 5m late', 'due in 40m': a listing's column, so a day or more drops the minutes."""
    text = _units(abs(seconds), minutes_beside_days=False) or "<1m"
    return f"{text} late" if seconds >= 0 else f"due in {text}"


def _units(seconds: float, *, minutes_beside_days: bool) -> str:
    """The one way ocx writes a span: days, hours and minutes, each only when not zero
    ('' under a minute, for the caller to say how it reads that)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and (minutes_beside_days or not days) else []
    return " ".join(parts)
