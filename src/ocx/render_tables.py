"""Tables in a terminal: column widths that fit the console, and long tables laid out here
as rich would draw them, at a fraction of rich's cost. Loaded only when a table is drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ocx.cellwidth import measure
from ocx.tsv import write_lines

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def drawing(out: Console, columns: Sequence[str], cells: list[list[Any]], title: str | None, *,
            header: bool) -> Callable[[Sequence[Sequence[Any]]], Table]:  # fmt: skip
    """The function that draws rows as the table: bold headers, no outer edge, each column
    capped (see _caps) to fit the console and shortened with "…"."""
    from rich.table import Table
    from rich.text import Text

    caps = _caps(out.width, columns, cells)

    def grid(body: Sequence[Sequence[Any]]) -> Table:
        drawn = Table(title=title, show_edge=False, header_style="bold", pad_edge=False,
                      show_header=header)  # fmt: skip
        for column, cap in zip(columns, caps, strict=True):
            drawn.add_column(column, overflow="ellipsis", no_wrap=True, max_width=cap)
        for row in body:
            drawn.add_row(*(Text(cell) if isinstance(cell, str) else _marked(cell) for cell in row))
        return drawn

    return grid


def shown(text: str) -> str:
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


def _shorten(text: str, width: int, left: str = "", right: str = "") -> list[str]:
    """Text `measure` reads on one line as rich lays out a table cell with no_wrap and
    overflow="ellipsis": cut to width - 1 and "…" when longer, padded to the width, then
    given the cell's padding (left, right)."""
    if len(text) > width:
        text = text[: width - 1] + "…" if width > 0 else ""
    return [f"{left}{text.ljust(width)}{right}"]


# Rich measures and lays out every cell of a table through several layers of objects:
# about a millisecond a row, 2 s for `ocx due` listing 4,000 items in a terminal. Its column
# widths depend only on each column's widest cell (and the caps _caps sets), so rich lays
# out a digest of the table (the rows holding those cells) and draws its header; the rows
# are then laid out here, plain text padded and shortened with "…" as rich shortens it, and
# the digest's rows must come out exactly as rich drew them, or rich draws the whole table
# after all. (Not in a pipe: plain rows need no rich at all.)
def print_long_table(
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
    out.file.write("\n".join(drawn[:body_at]) + "\n")
    write_lines(out.file, (divider.join(parts) for row in laid_out
                           for parts in zip(*row, strict=True)))  # type: ignore[misc]  # fmt: skip
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
            size = measure(text)
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
        if measure(text) is not None:
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
