"""The importer conformance suite: what every importer must do with hostile input, the same
checks for ocx's contrib importers and yours.

Subclass `ImporterConformance` in a test module of your package and describe your importer
with an `ImporterCase`; pytest then runs every check below against it, through the real
`ocx import` of the installed package (your tests/conftest.py imports ocx.testing's
fixtures)::

    from ocx.testing.conformance import ImporterCase, ImporterConformance

    class TestConformance(ImporterConformance):
        case = ImporterCase(name="acme", read=acme.read, files=("customers.json", ...), ...)

What each check asserts:
- brackets nested by the thousand in any of the export's files are refused with one
  `Error: FILE:1: JSON nested more than 64 levels deep` line, in a process limited to
  512 MB, and the database file is left byte for byte as it was;
- arbitrary bytes in any of its files import or are refused with one clean `Error:` line;
- arbitrary bytes given to `read()` are read, or refused with an OcxError naming the file;
- with `records` (a `RecordCase`, see ocx.testing.records): JSON nested 64 levels is read and
  65 refused at the line where it opens; NUL characters are removed and the rest is found;
  a field that is not text is a bad record at its line (`--skip-bad` to import the rest);
  with `--skip-bad` the rest imports and the bad record is listed; any JSON in the
  importer's files imports or is refused with one clean `Error:` line.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx.plugin_api import OcxError
from ocx.testing import import_or_refuse, settled
from ocx.testing.imports import ImportCase, ImportChecks, Unplaced
from ocx.testing.records import FUZZ, TOO_DEEP, RecordCase, RecordConformance

__all__ = [
    "FUZZ",
    "TOO_DEEP",
    "ImportCase",
    "ImporterCase",
    "ImporterConformance",
    "RecordCase",
    "Unplaced",
    "bare",
]

# Bytes for a file of the export: anything, or JSON's own punctuation in any order.
EXPORT_BYTES = st.one_of(
    st.binary(max_size=200),
    st.text(alphabet='[]{}",:\\ \n0a\x00', max_size=200).map(str.encode),
)


def bare(brackets: str) -> str:
    """A file that is the nested brackets and nothing else."""
    return brackets


@dataclass(frozen=True)
class ImporterCase:
    """One importer and the sample data the suite feeds it.

    `deep`: file name in an export folder -> how that file wraps a run of nested brackets
    (`bare`, or e.g. `lambda b: '{"_embedded": {"customers": ' + b + '}}'`), each file refused.
    `byte_files`: the file names arbitrary bytes are written to; `beside(name)` the files an
    export needs next to that one (a conversations/1.json needs its tickets.json).
    `read_bytes`: the bytes `read()` gets (file name, strategy).
    `records`: the importer's record shapes, for the record-level checks (ocx.testing.records).
    `imports`: its sample export, for the sample-export checks (ocx.testing.imports).
    """

    name: str
    read: Callable[[Path], Iterable[Any]]
    deep: Mapping[str, Callable[[str], str]]
    byte_files: tuple[str, ...]
    read_file: str
    read_bytes: st.SearchStrategy[bytes]
    beside: Callable[[str], dict[str, bytes]] = field(default=lambda name: {})
    records: RecordCase | None = None
    imports: ImportCase | None = None


class ImporterConformance(RecordConformance, ImportChecks):
    """The checks, run once per `case` of a subclass (see the module docstring)."""

    case: ClassVar[ImporterCase]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "deep_file" in metafunc.fixturenames:
            metafunc.parametrize("deep_file", sorted(self.case.deep))
        records = self.case.records
        if "text_field" in metafunc.fixturenames:
            metafunc.parametrize("text_field", records.text_fields if records else ())
        if "other_field" in metafunc.fixturenames:
            fields = records.other_fields if records else ()
            metafunc.parametrize("other_field", fields, ids=["-".join(f) for f in fields])
        self.parametrize_imports(metafunc)

    @pytest.fixture(autouse=True)
    def _needs_records(self, request: pytest.FixtureRequest) -> None:
        """A case without `records` (or `imports`) runs only the file-level checks."""
        # by name: hypothesis' wrapper of a @given check has a qualname of its own
        name = request.function.__name__
        if self.case.records is None and name in vars(RecordConformance):
            pytest.skip("the case gives no records (RecordCase)")
        if self.case.imports is None and name in vars(ImportChecks):
            pytest.skip("the case gives no sample export (ImportCase)")

    @pytest.mark.parametrize("depth", [30_000, 100_000])
    def test_brackets_nested_by_the_thousand_are_refused_in_bounded_memory(
        self, db: Path, tmp_path: Path, dump: Callable[[], list[str]], depth: int, deep_file: str
    ) -> None:
        """In a process limited to 512 MB of address space: ijson once took gigabytes for
        these, which would end in a MemoryError here, not in the nesting error."""
        case = self.case
        path = tmp_path / case.name / deep_file
        path.parent.mkdir(parents=True)
        path.write_text(case.deep[deep_file]("[" * depth + "]" * depth), encoding="utf-8")
        before, rows_before = settled(db), dump()
        limit = 512 * 1024 * 1024
        done = subprocess.run(
            [sys.executable, "-m", "ocx", "--db", str(db), "import", case.name, str(path.parent)],
            capture_output=True, text=True, timeout=600, env={**os.environ},
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
        )  # fmt: skip
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert done.stderr.strip().startswith(f"Error: {path}:1: {TOO_DEEP}"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert settled(db) == before and dump() == rows_before

    @FUZZ
    @given(data=EXPORT_BYTES, pick=st.data())
    def test_arbitrary_bytes_import_or_fail_cleanly(
        self, db: Path, data: bytes, pick: st.DataObject
    ) -> None:
        name = pick.draw(st.sampled_from(self.case.byte_files), label="name")
        files = {name: data, **self.case.beside(name)}
        import_or_refuse(db, self.case.name, files, skip_bad=False)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.differing_executors])  # fmt: skip
    @given(pick=st.data())
    def test_arbitrary_bytes_are_refused_clearly_or_read(
        self, tmp_path_factory: pytest.TempPathFactory, pick: st.DataObject
    ) -> None:
        data = pick.draw(self.case.read_bytes, label="data")
        with tempfile.TemporaryDirectory(dir=tmp_path_factory.getbasetemp()) as name:
            path = Path(name) / self.case.read_file
            path.write_bytes(data)
            try:
                list(self.case.read(path))
            except OcxError as exc:
                assert str(path) in str(exc)
