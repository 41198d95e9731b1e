"""The record-level half of the importer conformance suite: nesting at exactly 64 and 65
levels, NUL characters, fields that are not text, `--skip-bad`, and arbitrary JSON in files
of the importer's own shape. `RecordCase` describes the importer's records; the checks
run as part of `ocx.testing.conformance.ImporterConformance`.

A builder returns an export as {path in the folder: JSON value}; the suite writes it with
`save_json` (pretty, so each record starts on a line of its own) and finds a record's line
with `record_line`, so the error must name that line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx.testing import import_or_refuse, record_line, refusal, save_json

TOO_DEEP = "JSON nested more than 64 levels deep"
# As many examples as ocx's own hostile tests run; OCX_FUZZ_EXAMPLES raises it for a long run.
# differing_executors: each importer's subclass runs the same method, on purpose (the case it
# reads is a class attribute, so no state is shared between them).
FUZZ = settings(max_examples=int(os.environ.get("OCX_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.differing_executors])  # fmt: skip
SKIP_HINT = " (use --skip-bad to import the rest)"
# What a field that is not text holds, as the error calls it.
NOT_TEXT = [(5, "a number"), ({"a": 1}, "an object"), (["x"], "an array"),
            (False, "true or false")]  # fmt: skip
Export = Mapping[str, Any]

# Building blocks for `RecordCase.json_exports`: odd text, any JSON, and sometimes JSON
# nested around the 64-level limit.
odd = st.one_of(st.text(max_size=8), st.sampled_from(["\x00", "a\x00", "ana@example.com", "[["]))
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.floats(allow_nan=False),
              odd),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """Any JSON; one time in eight wrapped in 58 to 70 arrays or objects."""
    value = draw(anything)
    if draw(st.integers(0, 7)) == 0:
        for _ in range(draw(st.integers(58, 70))):
            value = [value] if draw(st.booleans()) else {"k": value}
    return value


ids = st.one_of(st.sampled_from([1, 2, "1"]), anything)
field = st.one_of(odd, odd, deep())


def encoded(value: Any) -> bytes:
    """A generated value as a file's bytes (lone surrogates kept, as a broken export has)."""
    return json.dumps(value, indent=1).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class RecordCase:
    """The importer's record shapes, for the record-level checks.

    `levels(n)`: (file name, text) of a file whose deepest value is n levels down, its
    levels past 63 opening on line 3; `levels_args`: more `ocx import` arguments;
    `read_at_64`: what the refusal of the 64-level file (which is read) says instead.
    `nul_export`: Ana Lund (ana@example.com, context "VIP") with a conversation "Refund
    pending", NUL characters in all of them; `nul_bodies`, sorted: its messages' bodies;
    `nul_words`: words of the conversation search finds Ana by.
    `bad_field(field, value)` -> (export, file, record noun): the record 123 of three (122,
    123, 124) has `value` in `field`, for each of `text_fields`.
    `bad_other(where, field)` -> (export, file, what, id, called): another record (contact,
    thread...) with a field that is not text, for each of `other_fields`; the error is
    `FILE:LINE: WHAT is CALLED, expected text`, LINE that of the record with `id`.
    `skip_bad()` -> (export, file, id, reason): conversations 1, 2 and 3, 2 bad; with
    --skip-bad 1 and 3 import, with `skip_bad_messages`, and 2 is listed with `reason`.
    `json_exports`: exports of any JSON in the importer's file names (see `field`, `deep`).
    """

    levels: Callable[[int], tuple[str, str]]
    read_at_64: str
    nul_export: Callable[[], Export]
    nul_bodies: list[str]
    nul_words: tuple[str, ...]
    text_fields: tuple[str, ...]
    bad_field: Callable[[str, Any], tuple[Export, str, str]]
    other_fields: tuple[tuple[str, str], ...]
    bad_other: Callable[[str, str], tuple[Export, str, str, int, str]]
    skip_bad: Callable[[], tuple[Export, str, int, str]]
    skip_bad_messages: list[str]
    json_exports: st.SearchStrategy[dict[str, bytes]]
    levels_args: tuple[str, ...] = ()


def _save(folder: Path, export: Export) -> None:
    for name, value in export.items():
        save_json(folder / name, value)


class RecordConformance:
    """The record-level checks; mixed into ImporterConformance, which parametrises them."""

    case: ClassVar[Any]  # an ImporterCase whose `records` is set

    @property
    def name(self) -> str:
        return str(self.case.name)

    @property
    def records(self) -> RecordCase:
        return self.case.records  # type: ignore[no-any-return]

    @pytest.fixture
    def refused(
        self, db: Path, dump: Callable[[], list[str]], error: Callable[[Result], str]
    ) -> Callable[..., str]:
        """refused(*args): see ocx.testing.refusal."""
        return refusal(db, dump, error)

    @pytest.mark.parametrize(("levels", "too_deep"), [(64, False), (65, True)])
    def test_64_levels_are_read_and_65_refused_at_the_line_where_it_opens(
        self, tmp_path: Path, refused: Callable[..., str], levels: int, too_deep: bool
    ) -> None:
        name, text = self.records.levels(levels)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        line = refused(self.name, str(path), *self.records.levels_args)
        if too_deep:
            assert line.startswith(f"Error: {path}:3: {TOO_DEEP}"), line
        else:
            assert "nested" not in line and self.records.read_at_64 in line, line

    def test_nul_characters_are_removed_and_the_rest_is_found(
        self, tmp_path: Path, ocx: Any, summary: Any, rows: Any
    ) -> None:
        folder = tmp_path / self.name
        _save(folder, self.records.nul_export())
        assert summary(ocx("import", self.name, str(folder), "--json"))["skipped"] == []
        assert rows("SELECT name, context FROM customers") == [
            {"name": "Ana Lund", "context": "VIP"}
        ]
        assert rows("SELECT subject FROM conversations") == [{"subject": "Refund pending"}]
        bodies = sorted(r["body"] for r in rows("SELECT body FROM messages"))
        assert bodies == self.records.nul_bodies
        for word in self.records.nul_words:
            found = json.loads(ocx("customer", "search", word, "--json").stdout)
            assert [c["email"] for c in found] == ["ana@example.com"], word

    @pytest.mark.parametrize(("value", "called"), NOT_TEXT, ids=[c for _, c in NOT_TEXT])
    def test_a_conversation_field_that_is_not_text_is_a_bad_record_at_its_line(
        self, tmp_path: Path, refused: Callable[..., str], text_field: str, value: Any,
        called: str,
    ) -> None:  # fmt: skip
        folder = tmp_path / self.name
        export, file, noun = self.records.bad_field(text_field, value)
        _save(folder, export)
        path = folder / file
        line = record_line(path.read_text(encoding="utf-8"), 123)
        assert refused(self.name, str(folder)) == (
            f"Error: {path}:{line}: {noun} 123: {text_field} is {called}, expected text{SKIP_HINT}"
        )

    def test_another_record_field_that_is_not_text_is_a_bad_record(
        self, tmp_path: Path, refused: Callable[..., str], other_field: tuple[str, str]
    ) -> None:
        folder = tmp_path / self.name
        export, file, what, record, called = self.records.bad_other(*other_field)
        _save(folder, export)
        path = folder / file
        line = record_line(path.read_text(encoding="utf-8"), record)
        assert refused(self.name, str(folder)) == (
            f"Error: {path}:{line}: {what} is {called}, expected text{SKIP_HINT}"
        )

    def test_with_skip_bad_the_rest_imports_and_the_bad_conversation_is_listed(
        self, tmp_path: Path, ocx: Any, summary: Any, rows: Any
    ) -> None:
        folder = tmp_path / self.name
        export, file, record, reason = self.records.skip_bad()
        _save(folder, export)
        path = folder / file
        result = summary(ocx("import", self.name, str(folder), "--skip-bad", "--json"))
        line = record_line(path.read_text(encoding="utf-8"), record)
        # its messages (a Freshdesk conversations file) go with it, not as orphans
        assert result["skipped"] == [{"file": str(path), "line": line, "reason": reason}]
        external = rows("SELECT external_id FROM conversations ORDER BY 1")
        assert [r["external_id"] for r in external] == ["1", "3"]
        messages = rows("SELECT external_id FROM messages ORDER BY 1")
        assert [r["external_id"] for r in messages] == self.records.skip_bad_messages

    @FUZZ
    @given(pick=st.data(), skip_bad=st.booleans())
    def test_arbitrary_json_imports_or_fails_cleanly(
        self, db: Path, pick: st.DataObject, skip_bad: bool
    ) -> None:
        files = pick.draw(self.records.json_exports, label="files")
        import_or_refuse(db, self.name, files, skip_bad)
