"""render.table: in a terminal, a long table is laid out by ocx, not rich, and prints
exactly what rich would have drawn (widths, "…" shortening, padding, box, header styles),
narrow or wide, in colour, without colour and with an ASCII-only encoding; the fast layout
is really used. In a pipe, plain tab-separated rows.

Each case draws the same random table twice: through the fast path, and through rich
alone (render._DIGEST_ROWS_MAX raised past the row count)."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from ocx import render

WORDS = [
    "a", "be", "sea", "promise", "overdue", "escalation", "margo@example.com", "Call", "back",
    "with", "the", "fix", "ETA", "x" * 30, "y" * 90, "2026-12-01 08:00 UTC", "1h 5m late",
    "", " ", "  two  spaces ", "Chloé", "Müller", "Ó'Brien", "東京都", "😀", "e\u0301",
    "tab\there", "line\nbreak", "bell\x07", "cr\r", "a-b-c-d-e-f-g-h-i-j-k-l-m",
    "(daily*5,weekly*4,monthly)", "[bold]not markup[/]", ":smile:", "nbsp\xa0here",
]  # fmt: skip
NICE_WORDS = [word for word in WORDS if len(word) < 20 and word.isprintable() and word.strip()
              and max(word) < "\u0300"] + ["a  double  space ", " leading"]  # fmt: skip
HEADERS = ["What", "Customer", "Owner", "Due", "Late", "Text", "", "A long header name"]


class _Ascii(io.StringIO):
    """A stdout whose encoding cannot show box lines: rich draws its ASCII stand-in."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "ascii"


class _Terminal(io.StringIO):
    """A stdout that says it is a terminal: render.table draws a table there."""

    def isatty(self) -> bool:
        return True


class _AsciiTerminal(_Ascii):
    def isatty(self) -> bool:
        return True


def _cell(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.05:
        return None
    if roll < 0.1:
        return rng.randint(-5, 10**6)
    return " ".join(rng.choice(WORDS) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8])))


def _table(seed: int) -> tuple[list[str], list[list[Any]], str | None]:
    rng = random.Random(seed)
    width = rng.randint(1, 7)
    columns = [rng.choice(HEADERS) for _ in range(width)]
    rows = [[_cell(rng) for _ in range(width)] for _ in range(rng.randint(9, 40))]
    title = rng.choice([None, None, "Due", "A title long enough to wrap above a narrow table"])
    return columns, rows, title


def _drawn(monkeypatch: pytest.MonkeyPatch, stdout: io.StringIO, *args: Any,
           fast: bool) -> str:  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr("sys.stdout", stdout)
        if not fast:
            patch.setattr(render, "_DIGEST_ROWS_MAX", 10**9)
        render.table(*args)
    return stdout.getvalue()


ENVIRONMENTS = {
    "terminal, 80 columns": ({}, _Terminal),
    "terminal, 36 columns": ({"COLUMNS": "36"}, _Terminal),
    "terminal, 200 columns": ({"COLUMNS": "200"}, _Terminal),
    "colour terminal": ({"FORCE_COLOR": "1", "NO_COLOR": None, "TERM": "xterm-256color"},
                        _Terminal),
    "terminal, NO_COLOR": ({"FORCE_COLOR": "1", "TERM": "xterm-256color"}, _Terminal),
    "ascii only": ({}, _AsciiTerminal),
}  # fmt: skip


@pytest.mark.parametrize("where", ENVIRONMENTS)
def test_a_long_table_prints_what_rich_draws(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    variables, stream = ENVIRONMENTS[where]
    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    for seed in range(25):
        table = _table(seed)
        fast = _drawn(monkeypatch, stream(), *table, fast=True)
        assert fast == _drawn(monkeypatch, stream(), *table, fast=False), (seed, table)


def test_a_long_table_of_due_items_is_laid_out_without_rich_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast layout is taken (not a silent fall-back to rich) for the shape `ocx due`
    prints, accents included."""
    rng = random.Random(7)
    rows = [
        (f"promise {rng.randint(1, 99_999)} {rng.choice(['overdue', 'escalation'])}",
         rng.choice(["Margo Hollis", "Chloé Müller", "Søren Ó'Brien"]), "agent01",
         f"2026-12-01 08:{rng.randint(0, 59):02d} UTC", f"{rng.randint(1, 23)}h late",
         rng.choice(["Call back with the fix ETA", "Send the corrected March invoice"]))
        for _ in range(300)
    ]  # fmt: skip
    columns = ["What", "Customer", "Owner", "Due", "Late", "Text"]
    taken: list[bool] = []
    fast_path = render._print_long_table
    monkeypatch.setattr(render, "_print_long_table",
                        lambda *args: taken.append(fast_path(*args)) or taken[-1])  # fmt: skip
    fast = _drawn(monkeypatch, _Terminal(), columns, rows, fast=True)
    assert taken == [True]
    assert fast == _drawn(monkeypatch, _Terminal(), columns, rows, fast=False)
    assert fast.count("\n") == 302  # header, rule, one line a row
    monkeypatch.setenv("COLUMNS", "60")
    taken.clear()
    narrow = _drawn(monkeypatch, _Terminal(), columns, rows, fast=True)
    assert taken == [True] and "…" in narrow
    assert narrow == _drawn(monkeypatch, _Terminal(), columns, rows, fast=False)
    assert narrow.count("\n") == 302 and max(map(len, narrow.splitlines()[1:])) <= 60
    assert "What" in narrow and "Customer" in narrow  # headers whole while they fit


def test_in_a_pipe_a_table_is_plain_tab_separated_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "20")
    rows = [(1, "Margo Hollis", "margo.hollis@a-long-company-name.example.com", None),
            (2, "tab\there", "line\nbreak", "back\\slash")]  # fmt: skip
    drawn = _drawn(monkeypatch, io.StringIO(), ["Id", "Name", "Email", "Note"], rows, fast=True)
    assert drawn == (
        "Id\tName\tEmail\tNote\n"
        "1\tMargo Hollis\tmargo.hollis@a-long-company-name.example.com\t\n"
        "2\ttab\\there\tline\\nbreak\tback\\\\slash\n"
    )
    with monkeypatch.context() as patch:
        stdout = io.StringIO()
        patch.setattr("sys.stdout", stdout)
        render.table(["Id"], [(1,)], title="Promises", header=False)
        render.table(["Id"], [], title="Incidents")
    assert stdout.getvalue() == "# Promises\n1\n"


def test_a_short_table_is_drawn_by_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[Any] = []
    monkeypatch.setattr(render, "_print_long_table", lambda *args: called.append(args))
    _drawn(monkeypatch, _Terminal(), ["Id", "Name"],
           [(i, f"name {i}") for i in range(render._DIGEST_ROWS_MAX)], fast=True)  # fmt: skip
    assert called == []


# --- the profile card: plain text where rich would print no styles ----------------------


def _customer(seed: int) -> Any:
    from zoneinfo import ZoneInfo

    from ocx.customers import Customer, TimelineEntry

    rng = random.Random(seed)
    vocabulary = WORDS if rng.random() < 0.3 else NICE_WORDS  # most cards need no folding

    def text(words: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, words)))

    timeline = [
        TimelineEntry(i, 1, "2026-11-25T10:00:00Z", rng.choice(["note", "contact", "created"]),
                      rng.choice([None, "sam", "Søren"]), text(12),
                      direction=rng.choice([None, "inbound"]), channel=rng.choice([None, "email"]))
        for i in range(rng.randint(0, 4))
    ]  # fmt: skip
    customer = Customer(
        1, "margo@example.com", text(3) or None, text(4) or None, None, "Europe/Paris",
        "email", rng.choice([None, "fast"]), text(6) or None, "en", None, text(30) or None,
        "2026-11-25T10:00:00Z", "2026-11-26T10:00:00Z", tags=text(3).split(),
        sources=[{"source": "zendesk", "external_id": "42"}] if rng.random() < 0.3 else [],
        timeline=timeline,
    )  # fmt: skip
    extra = {"Open promises": [text(10) for _ in range(rng.randint(0, 3))]}
    return customer, ZoneInfo(rng.choice(["UTC", "Europe/Paris"])), extra


class _Utf8(io.StringIO):
    """A pipe as ocx writes to it: UTF-8, not a terminal."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


@pytest.mark.parametrize("columns", [None, "20", "47", "80", "200"])
def test_a_profile_prints_what_rich_draws(columns: str | None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    plain = 0
    for seed in range(60):
        card = _customer(seed)
        outputs = []
        for fast in (True, False):
            with monkeypatch.context() as patch:
                stdout = _Utf8()
                patch.setattr("sys.stdout", stdout)
                if not fast:
                    patch.setattr(render, "plain_width", lambda: None)
                render.profile(*card)
            outputs.append(stdout.getvalue())
        assert outputs[0] == outputs[1], seed
        with monkeypatch.context() as patch:
            patch.setattr("sys.stdout", _Utf8())
            width = render.plain_width()
            plain += width is not None and render._plain_text(
                render._profile_lines(*card), width) is not None  # fmt: skip
    assert plain > 10  # the plain path is really taken, not always handed to rich


def test_a_profile_in_a_terminal_or_forced_colour_is_left_to_rich(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdout", _Utf8())
    assert render.plain_width() is not None
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert render.plain_width() is None
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setattr("sys.stdout", _Ascii())
    assert render.plain_width() is None
