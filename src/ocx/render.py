"""Output: rich tables for people, JSON for scripts. The only module that imports rich."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ocx import clock

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
    plain_rows). A cell is text, a number, None (blank) or a search match (`parts`: marked
    pieces bold in a terminal, `[…]` in plain rows). No rows: nothing at all."""
    if not _isatty():
        plain_rows(columns, rows, title, header=header)
        return
    cells = [["" if cell is None else cell if hasattr(cell, "parts") else _shown(str(cell))
              for cell in row] for row in rows]  # fmt: skip
    if not cells:
        return
    from rich.table import Table
    from rich.text import Text

    out = console()
    caps = _caps(out.width, columns, cells)

    def grid(body: Sequence[Sequence[Any]]) -> Table:
        drawn = Table(title=title, show_edge=False, header_style="bold", pad_edge=False,
                      show_header=header)  # fmt: skip
        for column, cap in zip(columns, caps, strict=True):
            drawn.add_column(column, overflow="ellipsis", no_wrap=True, max_width=cap)
        for row in body:
            drawn.add_row(*(Text(cell) if isinstance(cell, str) else _marked(cell) for cell in row))
        return drawn

    if len(cells) > _DIGEST_ROWS_MAX and _print_long_table(out, grid, len(columns), cells):
        return
    out.print(grid(cells))


def _shown(text: str) -> str:
    """A value as a terminal table shows it: a tab or carriage return as a space (a newline
    starts a line of the cell)."""
    return text.replace("\t", " ").replace("\r", " ") if "\t" in text or "\r" in text else text


def _marked(match: Any) -> Any:
    """A search match's pieces as rich Text, each marked piece bold."""
    from rich.text import Text

    return Text.assemble(*((text, "bold" if marked else "") for text, marked in match.parts))


def _cell_width(cell: Any) -> int:
    """The cells a value takes on one line (its longest line)."""
    if not isinstance(cell, str):
        cell = "".join(text for text, _ in cell.parts)
    if cell.isascii() and cell.isprintable():
        return len(cell)
    from rich.cells import cell_len

    return max(cell_len(line) for line in cell.split("\n"))


def _caps(width: int, columns: Sequence[str], cells: list[list[Any]]) -> list[int | None]:
    """Each column's widest value (None: as wide as it is) so the table fits the width: the
    widest columns give up cells first, down to a common cap but never shorter than their
    header (when the headers fit), and the cells left over go back to them one each. The
    columns' dividers and padding take 3 cells between two."""
    natural = [max(1, _cell_width(column)) for column in columns]
    floors = list(natural)
    for row in cells:
        for index, cell in enumerate(row[: len(natural)]):
            size = _cell_width(cell) if cell else 0
            if size > natural[index]:
                natural[index] = size
    room = width - 3 * (len(natural) - 1)
    if sum(natural) <= room:
        return [None] * len(natural)
    if sum(floors) > room:
        floors = [1] * len(natural)

    def capped(cap: int) -> list[int]:
        return [max(floor, min(size, cap)) for floor, size in zip(floors, natural, strict=True)]

    low, high = 1, max(natural)  # the largest cap that fits
    while low < high:
        middle = (low + high + 1) // 2
        if sum(capped(middle)) <= room:
            low = middle
        else:
            high = middle - 1
    caps = capped(low)
    spare = room - sum(caps)
    for index in sorted(range(len(caps)), key=lambda i: -natural[i]):
        if spare <= 0:
            break
        if natural[index] > caps[index]:
            caps[index] += 1
            spare -= 1
    return list(caps)


# Plain rows: a value's tab, newline and carriage return written as \t, \n, \r, and a
# backslash doubled, as `mysql --batch` writes them, so each row stays one line of fields.
_PLAIN_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PLAIN_SPECIAL = re.compile(r"[\\\t\n\r]")


def _plain(cell: Any) -> str:
    if cell is None:
        return ""
    text = cell.snippet if hasattr(cell, "parts") else str(cell)
    return text.translate(_PLAIN_ESCAPES) if _PLAIN_SPECIAL.search(text) else text


def plain_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
               *, header: bool = True) -> None:  # fmt: skip
    """A table as plain lines (stdout not a terminal): `# title` when it has one, the header
    (unless header=False), then one line a row, fields tab-separated, full values, no
    styles; nothing at all when there are no rows."""
    stream = sys.stdout
    lines: list[str] = []
    started = False
    for row in rows:
        if not started:
            started = True
            lines += [f"# {title}"] if title else []
            lines += ["\t".join(map(_plain, columns))] if header else []
        lines.append("\t".join(map(_plain, row)))
        if len(lines) >= 1000:  # in pieces: a pipe reader sees rows early
            stream.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        stream.write("\n".join(lines) + "\n")
    stream.flush()


# Rich measures and lays out every cell of a table through several layers of objects:
# about a millisecond a row, 2 s for `ocx due` listing 4,000 items in a terminal. Its column
# widths depend only on each column's widest cell (and the caps _caps sets), so rich lays
# out a digest of the table (the rows holding those cells) and draws its header; the rows
# are then laid out here, plain text padded and shortened with "…" as rich shortens it, and
# the digest's rows must come out exactly as rich drew them, or rich draws the whole table
# after all. (Not in a pipe: plain rows need no rich at all.)
_DIGEST_ROWS_MAX = 8  # a table this short is simply drawn by rich
_WORD = re.compile(r"\s*\S+\s*")  # a word and the spaces around it, as rich._wrap reads them


def _measure(text: str) -> tuple[int, int] | None:
    """Rich's (minimum, maximum) width of a Text of printable characters one cell wide each
    (ASCII, Latin accents): its longest word and its length. None for anything else (wide
    or combining characters, tabs, control codes)."""
    if not (text.isprintable() and (text.isascii() or max(text) <= "\u02ff")):
        return None
    words = text.split()
    return (max(map(len, words)) if words else len(text)), len(text)


def _breaks(text: str, width: int) -> list[int] | None:
    """Where rich breaks a line of text _measure reads (one cell a character) to fit the
    width (rich._wrap.divide_line when no word is too long); None when a word (with the
    spaces before it, for the first) is longer than the width, and must be folded."""
    offsets, offset = [], 0
    if text[:1] != " " and text[-1:] != " " and "  " not in text:  # words one space apart
        start = 0
        for word in text.split(" "):
            size = len(word)
            if size > width:
                return None
            if size <= width - offset:
                offset += size + 1
            elif offset and start:
                offsets.append(start)
                offset = size + 1
            start += size + 1
        return offsets
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        size = len(word.rstrip())
        if size > width:
            return None
        if size <= width - offset:
            offset += len(word)
        elif offset and start:
            offsets.append(start)
            offset = len(word)
    return offsets


def _lines(text: str, offsets: list[int], width: int) -> list[str]:
    """The text cut at the offsets, each line cropped to the width as rich crops it (the
    spaces past the width go first), not padded."""
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(text)], strict=True):
        line = text[start:end]
        if len(line) > width:  # Text.rstrip_end, then Text.truncate
            line = line[: len(line) - min(len(line) - len(line.rstrip()), len(line) - width)]
        lines.append(line[:width])
    return lines


def _shorten(text: str, width: int, left: str = "", right: str = "") -> list[str]:
    """Text _measure reads on one line as rich lays out a table cell with no_wrap and
    overflow="ellipsis": cut to width - 1 and "…" when longer, padded to the width, then
    given the cell's padding (left, right)."""
    if len(text) > width:
        text = text[: width - 1] + "…" if width > 0 else ""
    return [f"{left}{text.ljust(width)}{right}"]


def _print_long_table(
    out: Console, grid: Callable[[Sequence[Sequence[str]]], Any], width: int,
    cells: list[list[str]],
) -> bool:  # fmt: skip
    """Print the table grid(cells) would draw, laying out the rows here; False (nothing
    printed) when this cannot promise rich's output, and rich must draw it."""
    if out.legacy_windows or any(
        len(row) != width or not all(isinstance(cell, str) for cell in row) for row in cells
    ):
        return False  # a search match (bold in places) is rich's to draw
    picked = sorted(_widest_rows(out, width, cells))
    digest = grid([cells[index] for index in picked])
    try:
        widths: list[int] = digest._calculate_column_widths(
            out, out.options.update_width(out.options.max_width - digest._extra_width)
        )
    except (AttributeError, TypeError):  # another rich: let it draw everything
        return False
    if len(widths) != width or min(widths) < 2 or sum(widths) + width - 1 > out.width:
        return False  # columns too narrow to pad, or a table wider than the console
    with out.capture() as capture:
        out.print(digest)
    drawn = capture.get().split("\n")
    if drawn.pop() != "":
        return False
    layout = _RowLayout(out, widths)
    laid_out = [layout.cells(row) for row in cells]
    if any(row is None for row in laid_out):
        return False
    body_at = len(drawn) - sum(len(laid_out[index][0]) for index in picked)  # type: ignore[index]
    if body_at < 1:
        return False
    # The column divider as rich drew it: a box line, or its ASCII stand-in.
    divider = drawn[body_at][widths[0] : widths[0] + 1] if width > 1 else ""
    if drawn[body_at:] != [
        divider.join(parts)
        for index in picked
        for parts in zip(*laid_out[index], strict=True)  # type: ignore[misc]
    ]:
        return False  # not what rich draws: let it draw everything
    stream = out.file
    stream.write("\n".join(drawn[:body_at]) + "\n")
    lines: list[str] = []
    for row in laid_out:
        lines += map(divider.join, zip(*row, strict=True))  # type: ignore[misc]
        if len(lines) >= 1000:  # in pieces: a pipe reader sees rows early
            stream.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        stream.write("\n".join(lines) + "\n")
    stream.flush()
    return True


def _widest_rows(out: Console, width: int, cells: list[list[str]]) -> set[int]:
    """The rows holding each column's longest word and longest line: rich sizes the columns
    by those two measures alone, so these rows alone give the table's column widths."""
    from rich.measure import Measurement
    from rich.text import Text

    picked = set()
    for column in range(width):
        first: dict[str, int] = {}  # each text of the column, measured once
        for index, row in enumerate(cells):
            first.setdefault(row[column], index)
        sizes: dict[int, tuple[int, int]] = {}
        for text, index in first.items():
            size = _measure(text)
            if size is None:
                found = Measurement.get(out, out.options, Text(text))
                size = (found.minimum, found.maximum)
            sizes[index] = size
        picked.add(max(sizes, key=lambda index: sizes[index][0]))
        picked.add(max(sizes, key=lambda index: sizes[index][1]))
    return picked


class _RowLayout:
    """Cells laid out as rich lays out a Text cell of a table with these column widths
    (padding included, left-justified, folded), each text of a column once."""

    def __init__(self, out: Console, widths: list[int]) -> None:
        last = len(widths) - 1
        self.out = out
        self.widths = widths
        self.pads = [(0 if c == 0 else 1, 0 if c == last else 1) for c in range(len(widths))]
        self.blanks = [" " * w for w in widths]
        self.seen: list[dict[str, list[str] | None]] = [{} for _ in widths]

    def cells(self, row: Sequence[str]) -> list[list[str]] | None:
        """Each cell's lines, every cell as high as the row (rich aligns them to the top);
        None when a cell is beyond this layout."""
        columns = []
        for column, text in enumerate(row):
            known = self.seen[column]
            lines = (
                known[text] if text in known else known.setdefault(text, self._lines(text, column))
            )
            if lines is None:
                return None
            columns.append(lines)
        height = max(map(len, columns))
        if height > 1:
            columns = [lines + [self.blanks[column]] * (height - len(lines))
                       for column, lines in enumerate(columns)]  # fmt: skip
        return columns

    def _lines(self, text: str, column: int) -> list[str] | None:
        left, right = self.pads[column]
        if not isinstance(text, str):  # a search match, bold in places: rich draws it
            return None
        if _measure(text) is not None:
            return _shorten(text, self.widths[column] - left - right, " " * left, " " * right)
        from rich.padding import Padding
        from rich.text import Text

        options = self.out.options.update(
            width=self.widths[column], justify="left", no_wrap=True, overflow="ellipsis",
            height=None, highlight=False,
        )  # fmt: skip
        rendered = self.out.render_lines(Padding(Text(text), (0, right, 0, left)), options)
        if any(segment.style or segment.control for line in rendered for segment in line):
            return None
        return ["".join(segment.text for segment in line) for line in rendered]


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
        if not text or (len(text) <= width and _measure(text) is not None):
            out.append(text)
            continue
        offsets = _breaks(text, width) if _measure(text) is not None else None
        if offsets is None:
            return None
        out += _lines(text, offsets, width)
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
