"""Output: rich tables for people, JSON for scripts. The only module that imports rich."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ocx import clock

if TYPE_CHECKING:
    from rich.console import Console

    from ocx.customers import Customer, TimelineEntry
    from ocx.importing import ImportSummary


def emit_json(data: Any) -> None:
    """JSON on stdout; no rich, so scripts pay nothing for it."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def console(stderr: bool = False) -> Console:
    """The one console factory: NO_COLOR and pipes are honoured by rich itself; customer
    text is never read as markup."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, highlight=False, emoji=False, soft_wrap=False)


def message(text: str) -> None:
    """A line for people on stdout (what was done)."""
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=title, show_edge=False, header_style="bold", pad_edge=False)
    for column in columns:
        grid.add_column(column, overflow="fold")  # never hide part of an email behind "…"
    for row in rows:
        grid.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console().print(grid)


def _entry_line(entry: TimelineEntry) -> str:
    bits = [entry.kind]
    if entry.data and entry.data.get("public") is False:
        bits = ["internal note"]
    elif entry.direction:
        bits.append(entry.direction)
    if entry.data and entry.data.get("preview") is True:
        bits.append("(preview)")
    if entry.channel:
        bits.append(f"via {entry.channel}")
    return " ".join(bits)


def _ticket_details(data: dict[str, Any]) -> str:
    """An imported ticket's status, priority, type, channel, tags, rating and custom fields
    on one line under its subject."""
    bits = [str(data[k]) for k in ("status", "priority", "type") if data.get(k)]
    if data.get("channel"):
        bits.append(f"by {data['channel']}")
    if data.get("tags"):
        bits.append("tags " + ", ".join(map(str, data["tags"])))
    rating = data.get("satisfaction") or {}
    if rating:
        said = f": {rating['comment']}" if rating.get("comment") else ""
        bits.append(f"rated {rating.get('score') or '-'}{said}")
    for item in data.get("custom_fields") or []:
        value = item.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        bits.append(f"{item.get('label')}: {shown}")
    return " · ".join(bits)


def _entry_text(entry: TimelineEntry) -> str:
    if entry.kind == "conversation" and entry.data:
        details = _ticket_details(entry.data)
        if details:
            return f"{entry.text}\n{details}" if entry.text else details
    return entry.text


def timeline(entries: Sequence[TimelineEntry], tz: tzinfo, title: str | None = None) -> None:
    table(
        ["When", "What", "Who", "Text"],
        [(clock.local_text(e.at, tz), _entry_line(e), e.author or "", _entry_text(e))
         for e in entries],
        title=title,
    )  # fmt: skip


def profile(customer: Customer, tz: tzinfo, extra: dict[str, Sequence[Any]] | None = None) -> None:
    """A customer's profile as a card, then open promises and the latest timeline.

    Drawn with rich Text only (no Table): `customer show` runs often and rich.table
    alone costs more start-up than the rest of the command."""
    from rich.text import Text

    out = console()
    fields = [
        ("Id", str(customer.id)),
        ("Email", customer.email),
        ("Name", customer.name),
        ("Company", customer.company),
        ("Phone", customer.phone),
        ("Time zone", customer.time_zone),
        ("Channel", customer.channel),
        ("Pace", customer.pace),
        ("Tone", customer.tone),
        ("Language", customer.language),
        ("Quiet hours", customer.quiet_hours),
        ("Tags", ", ".join(customer.tags)),
        ("Context", customer.context),
        ("Sources", ", ".join(f"{s['source']}:{s['external_id']}" for s in customer.sources)),
        ("Created", clock.local_text(customer.created_at, tz)),
        ("Updated", clock.local_text(customer.updated_at, tz)),
    ]
    out.print(Text(customer.display_name, style="bold"))
    for label, value in fields:
        if value:
            line = Text(f"{label:<12} ", style="bold")
            line.append(value)
            out.print(line)
    for title, rows in (extra or {}).items():
        out.print()
        out.print(Text(title, style="bold"))
        for row in rows:
            out.print(Text(f"  {row}"))
    if customer.timeline:
        out.print()
        out.print(Text("Latest timeline", style="bold"))
        for entry in customer.timeline:
            line = Text(f"  {clock.local_text(entry.at, tz)}  ", style="dim")
            line.append(f"{_entry_line(entry)}", style="bold")
            if entry.author:
                line.append(f"  {entry.author}")
            line.append(f"  {entry.text}")
            out.print(line)


@contextmanager
def counter(label: str) -> Iterator[Callable[[int], None]]:
    """A live count of records on a terminal (stderr); yields the function to update it."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(), console=console(stderr=True), transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(label, total=None)
        yield lambda done: progress.update(task, completed=done)


def import_summary(summary: ImportSummary) -> None:
    """Created / updated / unchanged per kind, then each skipped record."""
    title = f"Import from {summary.source}" + (
        " (dry run: nothing written)" if summary.dry_run else ""
    )
    kinds = list(summary.created)
    table(
        ["", *kinds],
        [
            (label, *(counts[k] for k in kinds))
            for label, counts in (
                ("created", summary.created),
                ("updated", summary.updated),
                ("unchanged", summary.unchanged),
            )
        ],
        title=title,
    )
    from ocx.importing import said

    for item in summary.skipped:
        message(f"skipped {said(item, item['reason'])}")
    for text in summary.warnings:
        message(f"warning: {text}")
    message(f"{len(summary.skipped)} skipped, {summary.seconds:.2f} s")
