"""The sample-export half of the importer conformance suite: the importer is found as
installed, the sample export imports with the counts it holds, a second import and a dry run
change nothing; damaged files, another helpdesk's files, truncated JSON, an empty folder,
records that are not a list and bytes that are not UTF-8 are refused with one clean `Error:`
line and nothing written, and `--strict` refuses an export with a skipped record.
`ImportCase` describes the importer's sample export; the checks run as part of
`ocx.testing.conformance.ImporterConformance`.

They use the package's own fixtures: `samples` (its sample export folder) and `export`
(that folder read with plain json): `export.counts()` is what a first import creates, and
`customer_ids()`, `conversation_ids()`, `message_ids()` the external ids it stores.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ocx.testing import Plugins, latin1_in_line

# What stands where an export's list of records belongs: any JSON but an array.
NOT_A_LIST: list[Any] = [{"id": 1}, {}, "oops", 42, None]


def zero() -> dict[str, int]:
    return {"customers": 0, "conversations": 0, "messages": 0}


@dataclass(frozen=True)
class Unplaced:
    """A conversation of the sample export whose customer nobody knows: in `file` (of the
    folder), listed as `record` with `reason`; the rest imports with `created`, and neither
    the `conversation` nor its `messages` (external ids) are stored."""

    file: str
    record: str
    reason: str
    created: dict[str, int]
    conversation: str
    messages: tuple[str, ...]


@dataclass(frozen=True)
class ImportCase:
    """The importer's sample export and what is refused in it.

    `dist`: the installed distribution (`ocx-acme`); `title`: a word of its `--list`
    description. `damages`: (damage(copy) -> folder, where, says) for a copy of the samples
    damaged one way, the error line holding `where` and `says`. `not_exports`: (path
    beside the samples folder, says) for files that are not this importer's export.
    `truncated`: the sample file cut in half. `non_utf8`: (file, pattern, occurrence) for
    `latin1_in_line`, the error naming that file and line. `strict`: (path, says) for
    exports with a record that is skipped, which `--strict` refuses with a line holding `says`.
    `not_a_list(folder, where, value)` -> (path, says): puts `value` where the records of
    `where` (each of `not_a_list_in`) belong in the copy, the folder's error holding `says`.
    `found_by_email(folder, export)` -> (conversation, email): gives a conversation of the
    copy a customer id the export does not hold, with an email ocx finds the customer by.
    `unplaced(folder, export)` -> Unplaced: gives one a customer nobody knows.
    `single_files`: (people file, conversations file) of the samples, imported one by one;
    `one_more(samples)` -> (path, messages): a file that, imported alone after them, changes
    nothing (its `messages` counted unchanged).
    """

    dist: str
    title: str
    damages: tuple[tuple[Callable[[Path], Path], str, str], ...]
    not_exports: tuple[tuple[str, str], ...]
    truncated: str
    non_utf8: tuple[tuple[str, bytes, int], ...]
    strict: tuple[tuple[Path, str], ...] = ()
    not_a_list: Callable[[Path, str, Any], tuple[Path, tuple[str, ...]]] | None = None
    not_a_list_in: tuple[str, ...] = ()
    found_by_email: Callable[[Path, Any], tuple[str, str]] | None = None
    unplaced: Callable[[Path, Any], Unplaced] | None = None
    single_files: tuple[str, str] | None = None
    one_more: Callable[[Path], tuple[Path, int]] | None = None


class ImportChecks:
    """The sample-export checks; mixed into ImporterConformance, which parametrises them."""

    case: ClassVar[Any]  # an ImporterCase whose `imports` is set

    @property
    def imports(self) -> ImportCase:
        return self.case.imports  # type: ignore[no-any-return]

    @classmethod
    def parametrize_imports(cls, metafunc: pytest.Metafunc) -> None:
        """Each check's cases from the subclass's ImportCase (none without one)."""
        imports: ImportCase | None = cls.case.imports
        names = metafunc.fixturenames
        if "damage" in names:
            damages = imports.damages if imports else ()
            metafunc.parametrize(("damage", "where", "says"), damages,
                                 ids=[d.__name__ for d, _, _ in damages])  # fmt: skip
        if "not_export" in names:
            others = imports.not_exports if imports else ()
            metafunc.parametrize(("not_export", "says"), others, ids=[n for n, _ in others])
        if "not_a_list_in" in names:
            metafunc.parametrize("not_a_list_in", imports.not_a_list_in if imports else ())
        if "latin1_file" in names:
            files = imports.non_utf8 if imports else ()
            metafunc.parametrize(("latin1_file", "pattern", "occurrence"), files,
                                 ids=[f for f, _, _ in files])  # fmt: skip

    @pytest.fixture
    def copy(self, samples: Path, tmp_path: Path) -> Path:
        """A writable copy of the sample export, to change."""
        return Path(shutil.copytree(samples, tmp_path / self.case.name))

    def test_installed_package_is_found_through_the_entry_point_group(
        self, ocx: Any, summary: Any
    ) -> None:
        name, dist = self.case.name, self.imports.dist
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{dist} is not installed: `python -m pip install ./contrib/{dist}`")
        plugins = Plugins()
        (info,) = [i for i in plugins.describe() if i.name == name]
        assert (info.version, info.builtin, info.error) == (version, False, None)
        assert info.hooks == ["ocx_register_importers"]
        assert name in plugins.importers()
        listed = {i["name"]: i["description"] for i in summary(ocx("import", "--list", "--json"))}
        assert self.imports.title in listed[name]

    def test_imports_the_sample_export_with_the_counts_it_holds(
        self, ocx: Any, summary: Any, rows: Any, samples: Path, export: Any
    ) -> None:
        name, expected = self.case.name, export.counts()
        result = summary(ocx("import", name, samples, "--json"))
        assert result["created"] == expected
        assert result["updated"] == zero()
        assert result["skipped"] == []
        assert rows("SELECT count(*) AS n FROM customers")[0]["n"] == expected["customers"]
        sources = rows("SELECT external_id FROM customer_sources WHERE source = ?", (name,))
        assert {r["external_id"] for r in sources} == export.customer_ids()
        conversations = rows("SELECT external_id FROM conversations WHERE source = ?", (name,))
        assert {r["external_id"] for r in conversations} == export.conversation_ids()
        messages = rows("SELECT external_id FROM messages WHERE source = ?", (name,))
        assert len(messages) == expected["messages"]
        assert {r["external_id"] for r in messages} == export.message_ids()

    def test_a_second_import_of_the_same_export_changes_nothing(
        self, ocx: Any, summary: Any, dump: Any, samples: Path, export: Any
    ) -> None:
        summary(ocx("import", self.case.name, samples, "--json"))
        before = dump()
        again = summary(ocx("import", self.case.name, samples, "--json"))
        assert (again["created"], again["updated"]) == (zero(), zero())
        assert again["unchanged"] == export.counts()
        assert dump() == before

    def test_dry_run_writes_nothing(
        self, ocx: Any, summary: Any, dump: Any, samples: Path, export: Any
    ) -> None:
        before = dump()
        result = summary(ocx("import", self.case.name, samples, "--dry-run", "--json"))
        assert result["created"] == export.counts()  # what would be created
        assert dump() == before

    def test_a_damaged_export_is_refused_and_nothing_is_written(
        self, ocx: Any, dump: Any, error: Any, copy: Path,
        damage: Callable[[Path], Path], where: str, says: str,
    ) -> None:  # fmt: skip
        before = dump()
        line = error(ocx("import", self.case.name, damage(copy)))
        assert where in line and says in line, line
        assert dump() == before

    def test_a_file_that_is_not_this_importers_export_is_refused(
        self, ocx: Any, dump: Any, error: Any, samples: Path, not_export: str, says: str
    ) -> None:
        before = dump()
        line = error(ocx("import", self.case.name, samples.parent / not_export))
        assert says in line, line
        assert dump() == before

    def test_truncated_json_names_the_line_and_column(
        self, ocx: Any, error: Any, tmp_path: Path, samples: Path
    ) -> None:
        cut = tmp_path / self.imports.truncated
        text = (samples / self.imports.truncated).read_text(encoding="utf-8")
        cut.write_text(text[: len(text) // 2], encoding="utf-8")
        line = error(ocx("import", self.case.name, cut))
        assert re.search(
            rf"{re.escape(str(cut))}:\d+: invalid or truncated JSON at column \d+", line
        )

    def test_a_folder_with_nothing_to_import_is_refused(
        self, ocx: Any, error: Any, tmp_path: Path
    ) -> None:
        (tmp_path / "empty").mkdir()
        assert f"nothing the {self.case.name} importer can read" in error(
            ocx("import", self.case.name, tmp_path / "empty")
        )

    def test_non_utf8_bytes_name_the_file_and_line(
        self, ocx: Any, dump: Any, error: Any, copy: Path,
        latin1_file: str, pattern: bytes, occurrence: int,
    ) -> None:  # fmt: skip
        path = copy / latin1_file
        number = latin1_in_line(path, pattern, occurrence)
        assert number > 1
        before = dump()
        line = error(ocx("import", self.case.name, copy))
        assert f"{path}:{number}: not UTF-8" in line, line
        assert dump() == before

    def test_strict_refuses_a_skipped_record_and_writes_nothing(
        self, ocx: Any, dump: Any, error: Any
    ) -> None:
        if not self.imports.strict:
            pytest.skip("the case gives no export with a skipped record (strict)")
        before = dump()
        for path, says in self.imports.strict:
            line = error(ocx("import", self.case.name, path, "--strict"))
            assert says in line and "--strict" in line, line
            assert dump() == before

    @pytest.mark.parametrize("value", NOT_A_LIST)
    def test_records_that_are_not_a_list_are_not_this_importers_export(
        self, ocx: Any, dump: Any, error: Any, copy: Path, not_a_list_in: str, value: Any
    ) -> None:
        assert self.imports.not_a_list is not None
        path, says = self.imports.not_a_list(copy, not_a_list_in, value)
        before = dump()
        line = error(ocx("import", self.case.name, copy))
        assert all(text in line for text in says), line
        assert dump() == before
        line = error(ocx("import", self.case.name, path))  # the file given alone
        assert f"{path}: not a {self.imports.title} export" in line, line
        assert dump() == before

    def test_a_conversation_with_an_unknown_customer_id_is_found_by_email(
        self, ocx: Any, summary: Any, rows: Any, copy: Path, export: Any
    ) -> None:
        if self.imports.found_by_email is None:
            pytest.skip("the case gives no found_by_email")
        conversation, email = self.imports.found_by_email(copy, export)
        summary(ocx("import", self.case.name, copy, "--json"))
        found = rows(
            "SELECT c.email FROM conversations v JOIN customers c ON c.id = v.customer_id "
            "WHERE v.external_id = ?",
            (conversation,),
        )
        assert found == [{"email": email}]

    def test_a_conversation_whose_customer_nobody_knows_is_skipped_and_the_rest_imports(
        self, ocx: Any, summary: Any, dump: Any, error: Any, rows: Any, copy: Path, export: Any
    ) -> None:
        if self.imports.unplaced is None:
            pytest.skip("the case gives no unplaced")
        bad = self.imports.unplaced(copy, export)
        path = copy / bad.file
        before = dump()
        line = error(ocx("import", self.case.name, copy, "--strict"))
        assert f"{path}: {bad.reason}" in line, line
        assert dump() == before
        result = summary(ocx("import", self.case.name, copy, "--json"))
        assert result["skipped"] == [{"file": str(path), "record": bad.record,
                                      "reason": bad.reason}]  # fmt: skip
        assert result["created"] == bad.created
        assert rows("SELECT * FROM conversations WHERE external_id = ?", (bad.conversation,)) == []
        marks = ", ".join("?" * len(bad.messages))
        assert rows(f"SELECT * FROM messages WHERE external_id IN ({marks})", bad.messages) == []

    def test_single_files_import_the_same_as_the_folder(
        self, ocx: Any, summary: Any, samples: Path, export: Any
    ) -> None:
        if self.imports.single_files is None:
            pytest.skip("the case gives no single_files")
        name, expected = self.case.name, export.counts()
        people, conversations = self.imports.single_files
        first = summary(ocx("import", name, samples / people, "--json"))
        assert first["created"] == {**zero(), "customers": expected["customers"]}
        second = summary(ocx("import", name, samples / conversations, "--json"))
        assert second["created"] == {**expected, "customers": 0}
        if self.imports.one_more is not None:
            path, messages = self.imports.one_more(samples)
            again = summary(ocx("import", name, path, "--json"))
            assert again["created"] == again["updated"] == zero()
            assert again["unchanged"]["messages"] == messages
        folder = summary(ocx("import", name, samples, "--json"))
        assert folder["created"] == folder["updated"] == zero()
