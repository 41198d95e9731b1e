"""Output: rich tables for people, JSON for scripts. With ocx.render_tables, the only modules
that import rich, and only when drawing: JSON, plain rows and the start-up path never load it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ocx import clock
from ocx.cellwidth import breaks, measure, wrapped

if TYPE_CHECKING:
    from rich.console import Console

    from ocx.customers import Customer, TimelineEntry
    from ocx.due import Item
    from ocx.importing import ExportRead, ImportSummary
    from ocx.promises import Promise


def emit_json(data: Any) -> None:
    """JSON on stdout; no rich, so scripts pay nothing for it."""
    sys.stdout.write(json_text(data))


def json_text(data: Any) -> str:
    """What emit_json prints."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


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


def empty(text: str) -> None:
    """Say a listing, search or report found nothing (`no customers match 'xyz'`): one line on
    stderr when stderr is a terminal; nothing in a pipe or under cron."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            sys.stderr.write(text + "\n")
    except (AttributeError, ValueError):
        pass


def _isatty() -> bool:
    """Whether stdout is a terminal: tables for people there, plain rows anywhere else."""
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None, *,
          header: bool = True) -> None:  # fmt: skip
    """A listing: in a terminal, a table drawn by rich that fits the width by shortening long
    values with "…" (never breaking a word); anywhere else (a pipe, a file), plain rows (see
    ocx.tsv.plain_rows). A cell is text, a number, None (blank) or a search match (`parts`:
    marked pieces bold in a terminal, `[…]` in plain rows). No rows: nothing at all."""
    if not _isatty():
        from ocx.tsv import plain_rows

        plain_rows(columns, rows, title, header=header)
        return
    from ocx.render_tables import drawing, shown

    cells = [["" if cell is None else cell if hasattr(cell, "parts") else shown(str(cell))
              for cell in row] for row in rows]  # fmt: skip
    if not cells:
        return
    out = console()
    grid = drawing(out, columns, cells, title, header=header)
    if len(cells) > _DIGEST_ROWS_MAX and _print_long_table(out, grid, len(columns), cells):
        return
    out.print(grid(cells))


# A longer table is laid out by ocx.render_tables without rich's per-cell machinery.
_DIGEST_ROWS_MAX = 8  # a table this short is simply drawn by rich


def _print_long_table(out: Console, grid: Callable[[Sequence[Sequence[str]]], Any], width: int,
                      cells: list[list[str]]) -> bool:  # fmt: skip
    """ocx.render_tables.print_long_table, reached through this module so that table() and
    its tests share one name for it."""
    from ocx.render_tables import print_long_table

    return print_long_table(out, grid, width, cells)


def due_table(found: Sequence[Item], tz: tzinfo, *, header: bool = True) -> None:
    """`ocx due`: the items to act on, soonest first."""
    from ocx.figures import late_text

    table(
        ["What", "Customer", "Owner", "Due", "Late", "Text"],
        [(f"{i.kind} {i.promise_id or i.cadence_id} {i.stage}", i.customer_name or i.customer,
          i.owner, clock.local_text(i.due_at, tz), late_text(i.late_seconds), i.text)
         for i in found],
        header=header,
    )  # fmt: skip


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


def timeline(entries: Sequence[TimelineEntry], tz: tzinfo, title: str | None = None, *,
             header: bool = True) -> None:  # fmt: skip
    table(
        ["When", "What", "Who", "Text"],
        [(clock.local_text(e.at, tz), _entry_line(e), e.author or "", _entry_text(e))
         for e in entries],
        title=title,
        header=header,
    )  # fmt: skip


Line = tuple[str, list[tuple[str, str | None]]] | None  # (style, [(text, style)...]); None: blank


def customer(person: Customer, open_promises: Sequence[Promise], tz: tzinfo | None, *,
             as_json: bool) -> None:  # fmt: skip
    """`customer show`: a profile with its open promises, as JSON or as a card (tz: the
    zone the card shows times in; JSON needs none)."""
    text = customer_text(person, open_promises, tz, as_json=as_json)
    if text is not None:
        sys.stdout.write(text)
    else:
        assert tz is not None
        profile(person, tz, _open_promises(open_promises, tz))


def customer_text(person: Customer, open_promises: Sequence[Promise], tz: tzinfo | None, *,
                  as_json: bool) -> str | None:  # fmt: skip
    """What customer() prints, when it is plain text: JSON, or the card where rich would
    print it without styles (see profile); None when rich must draw the card."""
    if as_json:
        return json_text({**person.to_json(), "promises": [p.to_json() for p in open_promises]})
    assert tz is not None
    width = plain_width()
    if width is None:
        return None
    return _plain_text(_profile_lines(person, tz, _open_promises(open_promises, tz)), width)


def _open_promises(open_promises: Sequence[Promise], tz: tzinfo) -> dict[str, list[str]] | None:
    lines = [
        f"#{p.id} {p.text} (due {clock.local_text(p.effective_due, tz)}, owner {p.owner})"
        for p in open_promises
    ]
    return {"Open promises": lines} if lines else None


def profile(customer: Customer, tz: tzinfo, extra: dict[str, Sequence[Any]] | None = None) -> None:
    """A customer's profile as a card, then open promises and the latest timeline.

    `customer show` runs often and importing rich is a good part of its start-up: when
    rich would print the card without styles (stdout not a terminal), as plain text that
    needs no folding, it is written here, line for line as rich writes it."""
    lines = _profile_lines(customer, tz, extra)
    width = plain_width()
    text = None if width is None else _plain_text(lines, width)
    if text is not None:
        sys.stdout.write(text)
        return
    from rich.text import Text

    out = console()
    for line in lines:
        if line is None:
            out.print()
            continue
        style, parts = line
        drawn = Text(parts[0][0], style=style or "")
        for part, part_style in parts[1:]:
            drawn.append(part, style=part_style)
        out.print(drawn)


def _profile_lines(customer: Customer, tz: tzinfo, extra: dict[str, Sequence[Any]] | None
                   ) -> list[Line]:  # fmt: skip
    from ocx.fields import FIELDS  # small, and loaded already by the customer commands

    fields = [
        ("Id", str(customer.id)),
        *((f.label, ", ".join(customer.tags) if f.multiple else getattr(customer, f.name))
          for f in FIELDS),
        ("Sources", ", ".join(f"{s['source']}:{s['external_id']}" for s in customer.sources)),
        ("Created", clock.local_text(customer.created_at, tz)),
        ("Updated", clock.local_text(customer.updated_at, tz)),
    ]  # fmt: skip
    lines: list[Line] = [("bold", [(customer.display_name, None)])]
    lines += [
        ("bold", [(f"{label:<12} ", None), (value, None)]) for label, value in fields if value
    ]
    for title, rows in (extra or {}).items():
        lines += [None, ("bold", [(title, None)])]
        lines += [(None, [(f"  {row}", None)]) for row in rows]
    if customer.timeline:
        lines += [None, ("bold", [("Latest timeline", None)])]
        for entry in customer.timeline:
            parts = [(f"  {clock.local_text(entry.at, tz)}  ", None), (_entry_line(entry), "bold")]
            if entry.author:
                parts.append((f"  {entry.author}", None))
            parts.append((f"  {entry.text}", None))
            lines.append(("dim", parts))
    return lines


def plain_width() -> int | None:
    """The width rich's console would wrap stdout at, when it would write no styles there
    (stdout not a terminal, nothing forcing one, not Jupyter, not Windows, UTF-8); None
    otherwise. As rich.console.Console reads it: COLUMNS, else the size of the first of
    stdin, stdout and stderr that is a terminal, else 80."""
    environ = os.environ
    if sys.platform == "win32" or any(
        name in environ for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    ):
        return None
    import builtins

    if hasattr(builtins, "get_ipython") or "idlelib" in sys.modules:
        return None
    stdout = sys.stdout
    try:
        if stdout is None or stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    if (getattr(stdout, "encoding", None) or "").lower().replace("-", "") != "utf8":
        return None
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns) or None
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or 80
        except (AttributeError, ValueError, OSError):
            continue
    return 80


def _plain_text(lines: list[Line], width: int) -> str | None:
    """The lines as rich prints them without styles, wrapped at the width; None when a line
    holds anything but one-cell characters, or a word longer than the width."""
    out = []
    for line in lines:
        text = "" if line is None else "".join(part for part, _ in line[1])
        if not text or (len(text) <= width and measure(text) is not None):
            out.append(text)
            continue
        offsets = breaks(text, width) if measure(text) is not None else None
        if offsets is None:
            return None
        out += wrapped(text, offsets, width)
    return "\n".join(out) + "\n"


@contextmanager
def import_progress(
    label: str, export: ExportRead, after: float = 1.0
) -> Iterator[Callable[[int], None]]:
    """An import's progress on a terminal (stderr), yielding the function the import calls
    with its count of records: `⠙ Importing from zendesk ━━━━━╺━━━━ 41% 120,000 records,
    62.3 MB of 152.6 MB, 0:00:37 left`. `export` tells the bytes read and in all; the time
    left is the bytes still to read at the rate of the last 30 s (the total can grow: a
    tickets.json given alone brings in its comments/). Nothing shows, and rich is not
    imported, until the import has run `after` seconds, records or not (an importer may read
    for a while before its first); the line is redrawn 4 times a second, its figures taken
    at most 5 times a second."""
    import threading
    import time
    from collections import deque

    started, last = time.monotonic(), 0.0
    shown: Any = None  # the rich Progress, once shown
    closed, lock = False, threading.Lock()
    samples = deque([(started, 0)])  # (when, bytes read) over the last 30 s

    def show() -> None:  # in a timer thread: the import has run `after` seconds
        nonlocal shown
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
        )

        progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[done]}"), console=console(stderr=True), transient=True,
            refresh_per_second=4, redirect_stdout=False,
        )  # fmt: skip
        progress.add_task(label, total=export.total(), done="")  # the figures: at `update`
        with lock:
            if not closed:
                progress.start()
                shown = progress

    def update(records: int) -> None:
        nonlocal last
        now = time.monotonic()
        if shown is None or now - last < 0.2:
            return
        last = now
        from rich.filesize import decimal

        read, total = export.read(), export.total()
        samples.append((now, read))
        while now - samples[0][0] > 30:
            samples.popleft()
        (then, before), left = samples[0], "-:--:--"
        if now > then and read > before:
            seconds = round((total - read) * (now - then) / (read - before))
            left = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        done = f"{records:,} records, {decimal(read)} of {decimal(total)}, {left} left"
        shown.update(shown.task_ids[0], completed=read, total=total, done=done)

    timer = threading.Timer(after, show)
    timer.daemon = True
    timer.start()
    try:
        yield update
    finally:
        timer.cancel()
        with lock:
            closed = True
            if shown is not None:
                shown.stop()


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
