"""`ocx import`: the csv and zendesk importers through the CLI, on a real SQLite file.

Every expected count is derived here from the fixture files with `csv` and `json` (never from
ocx itself), so a wrong importer makes these tests fail. The fixtures and their edge cases are
described in tests/fixtures/README.md.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ocx.cli import cli

if TYPE_CHECKING:
    from conftest import AssertError, Dump, LoadJson, Rows, Run

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # made by tests/fixtures/build.py
CSV_DIR = FIXTURES / "csv"
ZENDESK_DIR = FIXTURES / "zendesk"
BAD_DIR = FIXTURES / "bad"
KINDS = ("customers", "conversations", "messages")
ZERO = dict.fromkeys(KINDS, 0)
SUMMARY_KEYS = {"created", "updated", "unchanged", "skipped", "seconds"}
MARCUS = "marcus.webb@webbfreight.co.uk"  # in csv and zendesk, email in other letter cases
MESSAGES_BY_TICKET = (
    "SELECT c.external_id AS ticket, m.* FROM messages m "
    "JOIN conversations c ON c.id = m.conversation_id"
)
HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")


# --- what the fixture files hold, read with csv and json only ------------------------------


@dataclass
class CsvFacts:
    customers: list[dict[str, str]]
    tickets: list[dict[str, str]]

    @property
    def emails(self) -> set[str]:
        return {row["email"].strip().lower() for row in self.customers}

    @property
    def created(self) -> dict[str, int]:
        return {
            "customers": len(self.emails),
            "conversations": len(self.tickets),
            "messages": len(self.tickets),  # one body per ticket
        }


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_facts(folder: Path) -> CsvFacts:
    customers = folder / "customers.csv"
    tickets = folder / "tickets.csv"
    return CsvFacts(
        read_csv(customers) if customers.is_file() else [],
        read_csv(tickets) if tickets.is_file() else [],
    )


@dataclass
class ZendeskFacts:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def end_users(self) -> dict[str, dict[str, Any]]:
        return {uid: u for uid, u in self.users.items() if u["role"] == "end-user"}

    @property
    def agents(self) -> dict[str, dict[str, Any]]:
        return {uid: u for uid, u in self.users.items() if u["role"] != "end-user"}

    @property
    def emails(self) -> set[str]:
        return {u["email"].strip().lower() for u in self.end_users.values()}

    @property
    def messages(self) -> int:
        """Comments, plus the description of each ticket that has no comments file."""
        return sum(len(self.comments[t]) if t in self.comments else 1 for t in self.tickets)

    @property
    def created(self) -> dict[str, int]:
        return {
            "customers": len(self.emails),
            "conversations": len(self.tickets),
            "messages": self.messages,
        }

    def user_by_email(self, email: str) -> dict[str, Any]:
        [user] = [u for u in self.users.values() if u["email"].lower() == email]
        return user


def zendesk_facts(folder: Path) -> ZendeskFacts:
    facts = ZendeskFacts()
    for page in sorted(folder.glob("tickets*.json")):
        data = json.loads(page.read_text(encoding="utf-8"))
        facts.users.update({str(u["id"]): u for u in data["users"]})
        facts.tickets.update({str(t["id"]): t for t in data["tickets"]})
    for ticket_id in facts.tickets:
        path = folder / "comments" / f"{ticket_id}.json"
        if path.is_file():
            facts.comments[ticket_id] = json.loads(path.read_text(encoding="utf-8"))["comments"]
    return facts


def utc_text(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- helpers ---------------------------------------------------------------------------------


ImportJson = Callable[..., dict]
Counts = Callable[[Path], dict[str, int]]
Rejected = Callable[..., str]


@pytest.fixture
def import_json(run: Run, load_json: LoadJson) -> ImportJson:
    """import_json(source, *paths, options=()): `ocx import ... --json` succeeded; its summary."""

    def imported(source: str, *paths: Path | str, options: tuple[str, ...] = ()) -> dict:
        result = run("import", source, *(str(p) for p in paths), *options, "--json")
        summary = load_json(result)
        assert result.stderr == "", result.stderr  # not a terminal: nothing but the summary
        assert set(summary) >= SUMMARY_KEYS  # exactly these: see the test below
        return summary

    return imported


def _counts(rows: Rows, db: Path) -> dict[str, int]:
    return {
        table: rows(db, f"SELECT count(*) AS n FROM {table}")[0]["n"]
        for table in ("customers", "customer_sources", "conversations", "messages")
    }


@pytest.fixture
def table_counts(rows: Rows) -> Counts:
    """table_counts(db): rows in customers, customer_sources, conversations, messages."""
    return lambda db: _counts(rows, db)


@pytest.fixture
def rejected(run: Run, dump: Dump, assert_error: AssertError) -> Rejected:
    """rejected(db, source, path, *words): `ocx import` fails with one `Error:` line holding
    every word, and the database is exactly as it was. Returns the line."""

    def check(db: Path, source: str, path: Path, *words: str) -> str:
        before = dump(db)
        message = assert_error(run("import", source, str(path)))
        for word in words:
            assert word in message, message
        assert dump(db) == before
        return message

    return check


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_csv(path: Path, table: list[list[str]], **dialect: Any) -> Path:
    """RFC 4180 as spreadsheets write it; with "\n" line ends a lone "\r" in a cell is only
    quoted under QUOTE_ALL (or with "\r\n" line ends), so callers with such cells pick one."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, **{"lineterminator": "\n", **dialect}).writerows(table)
    return path


def csv_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def assert_skipped_entries(skipped: list[dict[str, Any]]) -> None:
    for entry in skipped:
        assert set(entry) in ({"file", "line", "reason"}, {"file", "record", "reason"}), entry
        assert entry["reason"].strip()


# --- the fixture folders ---------------------------------------------------------------------


def test_csv_folder_imports_every_customer_ticket_and_message(
    initialized: Path, rows: Rows, import_json: ImportJson, table_counts: Counts
) -> None:
    facts = csv_facts(CSV_DIR)
    summary = import_json("csv", CSV_DIR)
    assert summary["created"] == facts.created
    assert summary["updated"] == ZERO
    assert summary["unchanged"] == ZERO
    assert summary["skipped"] == []
    assert table_counts(initialized) == {
        "customers": len(facts.emails),
        "customer_sources": len(facts.customers),
        "conversations": len(facts.tickets),
        "messages": len(facts.tickets),
    }
    assert {r["email"] for r in rows(initialized, "SELECT email FROM customers")} == facts.emails
    stored = rows(initialized, "SELECT external_id, source FROM conversations")
    assert {r["external_id"] for r in stored} == {t["external_id"] for t in facts.tickets}
    assert {r["source"] for r in stored} == {"csv"}


def test_zendesk_folder_imports_end_users_tickets_and_comments(
    initialized: Path, rows: Rows, import_json: ImportJson, table_counts: Counts
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    summary = import_json("zendesk", ZENDESK_DIR)
    assert summary["created"] == facts.created
    assert summary["updated"] == ZERO
    assert summary["skipped"] == []
    assert table_counts(initialized) == {
        "customers": len(facts.emails),
        "customer_sources": len(facts.end_users),
        "conversations": len(facts.tickets),
        "messages": facts.messages,
    }
    sources = rows(initialized, "SELECT source, external_id FROM customer_sources")
    assert {(s["source"], s["external_id"]) for s in sources} == {
        ("zendesk", uid) for uid in facts.end_users
    }
    stored = {r["external_id"] for r in rows(initialized, "SELECT external_id FROM messages")}
    comment_ids = {str(c["id"]) for comments in facts.comments.values() for c in comments}
    assert comment_ids <= stored


def test_json_summary_has_exactly_the_keys_of_the_issue(
    initialized: Path, import_json: ImportJson
) -> None:
    summary = import_json("csv", CSV_DIR)
    assert set(summary) == {"created", "updated", "unchanged", "skipped", "warnings", "seconds"}
    assert summary["warnings"] == []
    for key in ("created", "updated", "unchanged"):
        assert set(summary[key]) == set(KINDS)
        assert all(isinstance(n, int) for n in summary[key].values())
    assert isinstance(summary["skipped"], list)
    assert isinstance(summary["seconds"], int | float) and summary["seconds"] >= 0


def test_human_summary_shows_the_counts_per_kind(run: Run, initialized: Path) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    result = run("import", "zendesk", str(ZENDESK_DIR))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    created = next(line for line in result.stdout.splitlines() if line.startswith("created"))
    numbers = [int(n) for n in re.findall(r"\d+", created)]
    assert numbers == [facts.created[k] for k in KINDS]


# --- paths: single files, header detection, page files, empty folders ----------------------


def test_single_csv_files_customers_then_tickets(
    initialized: Path, import_json: ImportJson, table_counts: Counts
) -> None:
    facts = csv_facts(CSV_DIR)
    first = import_json("csv", CSV_DIR / "customers.csv")
    assert first["created"] == {"customers": len(facts.emails), "conversations": 0, "messages": 0}
    second = import_json("csv", CSV_DIR / "tickets.csv")
    assert second["created"] == {
        "customers": 0,
        "conversations": len(facts.tickets),
        "messages": len(facts.tickets),
    }
    assert table_counts(initialized)["conversations"] == len(facts.tickets)


def test_a_csv_file_is_recognised_by_its_header_whatever_its_name(
    initialized: Path, tmp_path: Path, import_json: ImportJson
) -> None:
    facts = csv_facts(CSV_DIR)
    people = shutil.copy(CSV_DIR / "customers.csv", tmp_path / "clients-2025-06.txt")
    tickets = shutil.copy(CSV_DIR / "tickets.csv", tmp_path / "export (1).dat")
    summary = import_json("csv", people, tickets)
    assert summary["created"] == facts.created


def test_a_single_tickets_json_without_comments_gives_one_description_message_per_ticket(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson
) -> None:
    (tmp_path / "alone").mkdir()
    alone = shutil.copy(ZENDESK_DIR / "tickets.json", tmp_path / "alone" / "tickets.json")
    facts = zendesk_facts(tmp_path / "alone")
    assert facts.comments == {}
    summary = import_json("zendesk", alone)
    assert summary["created"] == facts.created
    assert summary["created"]["messages"] == len(facts.tickets)
    messages = rows(initialized, MESSAGES_BY_TICKET)
    for ticket_id, ticket in facts.tickets.items():
        [body] = [m["body"] for m in messages if m["ticket"] == ticket_id]
        assert body == ticket["description"].strip()


def test_a_single_tickets_json_in_an_export_folder_reads_its_comments(
    initialized: Path, import_json: ImportJson
) -> None:
    summary = import_json("zendesk", ZENDESK_DIR / "tickets.json")
    assert summary["created"] == zendesk_facts(ZENDESK_DIR).created


def test_page_files_are_read_in_name_order(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson
) -> None:
    """A paged export saved as tickets_p1..p3.json; ticket X is on p1 (old) and p3 (new):
    the page read last must win, and that is p3 only if pages go in name order."""
    data = load(ZENDESK_DIR / "tickets.json")
    users = {u["id"]: u for u in data["users"]}
    tickets = data["tickets"]
    thirds = [tickets[: len(tickets) // 3], tickets[len(tickets) // 3 : 2 * len(tickets) // 3]]
    thirds.append(tickets[2 * len(tickets) // 3 :])
    moved = dict(thirds[2][-1])
    old = {**moved, "status": "open" if moved["status"] != "open" else "pending"}
    old["subject"] = "An older version of this ticket"
    thirds[0] = [*thirds[0], old]
    export = tmp_path / "paged"
    shutil.copytree(ZENDESK_DIR / "comments", export / "comments")
    agents = [u for u in data["users"] if u["role"] != "end-user"]
    for number in (3, 2, 1):  # written newest first: the folder's own order is not name order
        page = thirds[number - 1]
        requesters = {t["requester_id"] for t in page}
        save(
            export / f"tickets_p{number}.json",
            {
                **data,
                "tickets": page,
                "users": [users[r] for r in sorted(requesters)] + agents,
                "end_of_stream": number == 3,
            },
        )
    (export / "notes.json").write_text("not a page file", encoding="utf-8")  # not read
    facts = zendesk_facts(ZENDESK_DIR)
    summary = import_json("zendesk", export)
    assert summary["created"] == facts.created
    [stored] = rows(
        initialized,
        "SELECT status, subject FROM conversations WHERE external_id = ?",
        (str(moved["id"]),),
    )
    assert stored == {"status": moved["status"], "subject": moved["subject"]}


@pytest.mark.parametrize("source", ["csv", "zendesk"])
def test_a_folder_with_nothing_to_import_is_an_error(
    run: Run, initialized: Path, tmp_path: Path, source: str, dump: Dump, assert_error: AssertError
) -> None:
    empty = tmp_path / "export"
    (empty / "comments").mkdir(parents=True)
    (empty / "README.txt").write_text("nothing here", encoding="utf-8")
    before = dump(initialized)
    line = assert_error(run("import", source, str(empty)))
    assert str(empty) in line
    assert dump(initialized) == before


def test_a_missing_path_is_an_error(
    run: Run, initialized: Path, tmp_path: Path, assert_error: AssertError
) -> None:
    line = assert_error(run("import", "csv", str(tmp_path / "nope")))
    assert str(tmp_path / "nope") in line


def test_unknown_source_lists_the_installed_importers(
    run: Run, initialized: Path, load_json: LoadJson, assert_error: AssertError
) -> None:
    installed = [i["name"] for i in load_json(run("import", "--list", "--json"))]
    assert {"csv", "zendesk"} <= set(installed)
    line = assert_error(run("import", "intercom", str(CSV_DIR)))
    assert "intercom" in line
    for name in installed:
        assert name in line


def test_list_shows_each_importer_with_a_description(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    listed = load_json(run("import", "--list", "--json"))
    assert all(set(item) == {"name", "description"} for item in listed)
    by_name = {item["name"]: item["description"] for item in listed}
    assert "tickets.csv" in by_name["csv"]
    assert "Zendesk" in by_name["zendesk"]
    result = run("import", "--list")
    assert result.exit_code == 0, result.output
    for name, description in by_name.items():
        assert name in result.stdout
        assert description.split()[0] in result.stdout


def test_source_without_path_is_a_usage_error(run: Run, initialized: Path) -> None:
    result = run("import", "csv")
    assert result.exit_code == 2
    assert "PATH" in result.stderr


# --- idempotency and newer exports -----------------------------------------------------------


@pytest.mark.parametrize(("source", "folder"), [("csv", CSV_DIR), ("zendesk", ZENDESK_DIR)])
def test_importing_the_same_files_again_changes_nothing(
    initialized: Path, source: str, folder: Path, dump: Dump, import_json: ImportJson
) -> None:
    first = import_json(source, folder)
    before = dump(initialized)
    again = import_json(source, folder)
    assert again["created"] == ZERO
    assert again["updated"] == ZERO
    assert again["unchanged"] == first["created"]
    assert dump(initialized) == before


def test_a_newer_export_updates_exactly_what_changed(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson, table_counts: Counts
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    old = zendesk_facts(export)
    assert import_json("zendesk", export)["created"] == old.created

    data = load(export / "tickets.json")
    changed = data["tickets"][0]
    new_status = "closed" if changed["status"] != "closed" else "open"
    changed.update(status=new_status, updated_at="2025-12-01T09:00:00Z")
    edited_ticket = next(t for t in old.comments if t != str(changed["id"]) and old.comments[t])
    comments = load(export / "comments" / f"{edited_ticket}.json")
    edited = comments["comments"][0]
    new_body = "Edited in the helpdesk: the export now includes every invoice."
    edited.update(body=new_body, plain_body=new_body, html_body=f"<p>{new_body}</p>")
    save(export / "comments" / f"{edited_ticket}.json", comments)
    added = {
        **data["tickets"][-1],
        "id": max(int(t) for t in old.tickets) + 1,
        "subject": "Brand new ticket about quarterly reports",
        "description": "Can the quarterly report include a breakdown per region?",
    }
    assert not (export / "comments" / f"{added['id']}.json").exists()
    data["tickets"].append(added)
    save(export / "tickets.json", data)

    summary = import_json("zendesk", export)
    assert summary["created"] == {"customers": 0, "conversations": 1, "messages": 1}
    assert summary["updated"] == {"customers": 0, "conversations": 1, "messages": 1}
    assert summary["unchanged"] == {
        "customers": len(old.emails),
        "conversations": len(old.tickets) - 1,
        "messages": old.messages - 1,
    }
    [status] = rows(
        initialized, "SELECT status FROM conversations WHERE external_id = ?", (str(changed["id"]),)
    )
    assert status["status"] == new_status
    [body] = rows(
        initialized, "SELECT body FROM messages WHERE external_id = ?", (str(edited["id"]),)
    )
    assert body["body"] == new_body
    [new] = rows(
        initialized,
        "SELECT c.subject, m.body FROM conversations c JOIN messages m ON m.conversation_id = c.id "
        "WHERE c.external_id = ?",
        (str(added["id"]),),
    )
    assert new == {"subject": added["subject"], "body": added["description"]}
    assert table_counts(initialized)["conversations"] == len(old.tickets) + 1
    # ... and that newer export, imported again, is itself unchanged
    again = import_json("zendesk", export)
    assert again["created"] == ZERO and again["updated"] == ZERO


# --- profile rules ---------------------------------------------------------------------------


def test_import_fills_empty_fields_and_keeps_what_a_person_entered(
    run: Run, initialized: Path, rows: Rows, import_json: ImportJson
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    marcus = facts.user_by_email(MARCUS)
    assert marcus["phone"] and marcus["iana_time_zone"]
    added = run("customer", "add", MARCUS.upper(), "--phone", "+44 7700 900123")
    assert added.exit_code == 0, added.output
    summary = import_json("zendesk", ZENDESK_DIR)
    assert summary["created"]["customers"] == len(facts.emails) - 1
    assert summary["updated"]["customers"] == 1
    [stored] = rows(initialized, "SELECT * FROM customers WHERE email = ?", (MARCUS,))
    assert stored["phone"] == "+44 7700 900123"  # what the person typed stays
    assert stored["name"] == marcus["name"]  # empty fields are filled
    assert stored["time_zone"] == marcus["iana_time_zone"]
    assert stored["context"] == marcus["notes"]
    tags = {r["tag"] for r in rows(initialized, "SELECT tag FROM tags WHERE customer_id = ?",
                                   (stored["id"],))}  # fmt: skip
    assert set(marcus["tags"]) <= tags


def test_a_partial_record_does_not_make_ocx_forget_what_the_source_set(
    initialized: Path, tmp_path: Path, import_json: ImportJson, rows: Rows
) -> None:
    """A record with fewer fields (a ticket's embedded requester) between two full ones: the
    company the first full record set still follows the source on the next full one."""
    sheet = tmp_path / "customers.csv"

    def import_rows(text: str) -> None:
        sheet.write_text(text, encoding="utf-8")
        import_json("csv", sheet)

    import_rows("email,name,company\nana@example.com,Ana,Acme\n")
    import_rows("email,name\nana@example.com,Ana\n")
    import_rows("email,name,company\nana@example.com,Ana,Acme Group\n")
    stored = rows(initialized, "SELECT company FROM customers WHERE email = 'ana@example.com'")
    assert stored == [{"company": "Acme Group"}]


def test_reimport_keeps_a_field_edited_in_ocx_and_updates_untouched_ones(
    run: Run, initialized: Path, tmp_path: Path, load_json: LoadJson, import_json: ImportJson
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    import_json("zendesk", export)
    marcus_id = str(zendesk_facts(export).user_by_email(MARCUS)["id"])
    edit = run("customer", "edit", f"zendesk:{marcus_id}", "--phone", "+44 7700 900999")
    assert edit.exit_code == 0, edit.output

    data = load(export / "tickets.json")
    [user] = [u for u in data["users"] if str(u["id"]) == marcus_id]
    user.update(phone="+44 20 7946 0000", iana_time_zone="Europe/Dublin", name="Marcus J. Webb")
    save(export / "tickets.json", data)
    summary = import_json("zendesk", export)
    assert summary["updated"]["customers"] == 1
    profile = load_json(run("customer", "show", f"zendesk:{marcus_id}", "--json"))
    assert profile["phone"] == "+44 7700 900999"  # edited in ocx: never overwritten
    assert profile["time_zone"] == "Europe/Dublin"  # nobody edited it: follows the export
    assert profile["name"] == "Marcus J. Webb"

    again = import_json("zendesk", export)
    assert again["updated"] == ZERO
    assert load_json(run("customer", "show", MARCUS, "--json"))["phone"] == "+44 7700 900999"


def test_a_tag_removed_in_ocx_stays_removed_after_a_reimport(
    run: Run, initialized: Path, rows: Rows, import_json: ImportJson
) -> None:
    marcus = zendesk_facts(ZENDESK_DIR).user_by_email(MARCUS)
    tag = marcus["tags"][0]
    import_json("zendesk", ZENDESK_DIR)
    assert run("customer", "edit", MARCUS, "--untag", tag).exit_code == 0
    again = import_json("zendesk", ZENDESK_DIR)
    assert again["updated"] == ZERO
    tags = rows(initialized, "SELECT tag FROM tags t JOIN customers c ON c.id = t.customer_id "
                             "WHERE c.email = ?", (MARCUS,))  # fmt: skip
    assert tag not in {t["tag"] for t in tags}


# --- cross-format matching -------------------------------------------------------------------


@pytest.mark.parametrize("order", [("csv", "zendesk"), ("zendesk", "csv")])
def test_csv_and_zendesk_share_customers_by_normalised_email(
    run: Run,
    initialized: Path,
    order: tuple[str, str],
    rows: Rows,
    load_json: LoadJson,
    import_json: ImportJson,
    table_counts: Counts,
) -> None:
    cfacts, zfacts = csv_facts(CSV_DIR), zendesk_facts(ZENDESK_DIR)
    folders = {"csv": CSV_DIR, "zendesk": ZENDESK_DIR}
    emails = {"csv": cfacts.emails, "zendesk": zfacts.emails}
    first, second = order
    assert MARCUS in cfacts.emails & zfacts.emails
    import_json(first, folders[first])
    summary = import_json(second, folders[second])
    assert summary["created"]["customers"] == len(emails[second] - emails[first])
    assert summary["updated"]["customers"] == len(emails[second] & emails[first])
    assert table_counts(initialized) == {
        "customers": len(cfacts.emails | zfacts.emails),
        "customer_sources": len(cfacts.customers) + len(zfacts.end_users),
        "conversations": len(cfacts.tickets) + len(zfacts.tickets),
        "messages": len(cfacts.tickets) + zfacts.messages,
    }

    zendesk_id = str(zfacts.user_by_email(MARCUS)["id"])
    profile = load_json(run("customer", "show", f"zendesk:{zendesk_id}", "--json"))
    assert profile["email"] == MARCUS
    assert {s["source"] for s in profile["sources"]} == {"csv", "zendesk"}
    assert ("zendesk", zendesk_id) in {(s["source"], s["external_id"]) for s in profile["sources"]}

    [ticket] = [t for t in cfacts.tickets if t["external_id"] == "CSV-1002"]
    [row] = [c for c in cfacts.customers if c["email"].lower() == MARCUS]
    assert ticket["customer_email"].lower() == MARCUS != ticket["customer_email"]
    assert ticket["customer_email"] != row["email"]
    [linked] = rows(
        initialized, "SELECT customer_id FROM conversations WHERE external_id = 'CSV-1002'"
    )
    assert linked["customer_id"] == profile["id"]
    marcus_tickets = {
        t["external_id"] for t in cfacts.tickets if t["customer_email"].lower() == MARCUS
    }
    marcus_tickets |= {t for t, v in zfacts.tickets.items() if str(v["requester_id"]) == zendesk_id}
    on_timeline = {
        e["data"]["external_id"]
        for e in load_json(run("customer", "timeline", MARCUS, "--json"))
        if e["kind"] == "conversation"
    }
    assert on_timeline == marcus_tickets


# --- timeline, search and what is stored ----------------------------------------------------


@pytest.fixture
def zendesk_db(initialized: Path, import_json: ImportJson) -> Path:
    import_json("zendesk", ZENDESK_DIR)
    return initialized


@pytest.fixture
def both_db(initialized: Path, import_json: ImportJson) -> Path:
    import_json("csv", CSV_DIR)
    import_json("zendesk", ZENDESK_DIR)
    return initialized


def test_timeline_shows_each_conversation_subject_and_message_text(
    run: Run, zendesk_db: Path, load_json: LoadJson
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    for user_id, user in facts.end_users.items():
        tickets = {t: v for t, v in facts.tickets.items() if str(v["requester_id"]) == user_id}
        entries = load_json(run("customer", "timeline", f"zendesk:{user_id}", "--json"))
        subjects = sorted(e["text"] for e in entries if e["kind"] == "conversation")
        assert subjects == sorted(v["subject"] for v in tickets.values()), user["email"]
        texts = sorted(e["text"] for e in entries if e["kind"] == "message")
        expected = [c["plain_body"].strip() for t in tickets for c in facts.comments[t]]
        assert texts == sorted(expected), user["email"]


def test_search_finds_words_from_message_bodies(
    run: Run, zendesk_db: Path, load_json: LoadJson
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    [(ticket_id, _)] = [
        (t, cs) for t, cs in facts.comments.items() if any("Biscuit" in c["plain_body"] for c in cs)
    ]
    owner = facts.users[str(facts.tickets[ticket_id]["requester_id"])]["email"].lower()
    found = load_json(run("customer", "search", "Biscuit", "--json"))
    assert [c["email"] for c in found] == [owner]
    subject_word = facts.tickets[ticket_id]["subject"].split()[-1].strip("?")
    assert owner in [
        c["email"] for c in load_json(run("customer", "search", subject_word, "--json"))
    ]


def test_html_never_leaks_into_bodies_or_search(
    run: Run, both_db: Path, rows: Rows, load_json: LoadJson
) -> None:
    bodies = rows(both_db, "SELECT external_id, body FROM messages")
    assert bodies and not [b for b in bodies if HTML_TAG.search(b["body"])]
    # csv CSV-1015 is HTML: stored as its words, without tags
    [html] = [t["body"] for t in csv_facts(CSV_DIR).tickets if t["external_id"] == "CSV-1015"]
    assert HTML_TAG.search(html)
    [stored] = [m["body"] for m in rows(both_db, MESSAGES_BY_TICKET) if m["ticket"] == "CSV-1015"]
    assert stored.split() == re.sub(r"<[^>]+>", " ", html).split()
    # zendesk: the plain text of a comment whose html_body is rich HTML
    facts = zendesk_facts(ZENDESK_DIR)
    rich = [c for cs in facts.comments.values() for c in cs if "<strong>" in c.get("html_body", "")]
    assert rich
    for comment in rich:
        [got] = [b["body"] for b in bodies if b["external_id"] == str(comment["id"])]
        assert got == comment["plain_body"].strip()
    texts = " ".join(c["plain_body"] for cs in facts.comments.values() for c in cs).lower()
    assert "strong" not in texts and "zd" not in texts.split()
    assert load_json(run("customer", "search", "strong", "--json")) == []
    assert load_json(run("customer", "search", "zd", "--json")) == []


def test_internal_notes_are_stored_private_and_marked_in_the_timeline(
    run: Run, zendesk_db: Path, rows: Rows, load_json: LoadJson
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    notes = {
        str(c["id"]): ticket_id
        for ticket_id, cs in facts.comments.items()
        for c in cs
        if c["public"] is False
    }
    assert notes
    private = rows(zendesk_db, "SELECT external_id FROM messages WHERE public = 0")
    assert {r["external_id"] for r in private} == set(notes)
    for ticket_id in set(notes.values()):
        requester = str(facts.tickets[ticket_id]["requester_id"])
        entries = load_json(run("customer", "timeline", f"zendesk:{requester}", "--json"))
        public = {
            e["data"]["external_id"]: e["data"]["public"] for e in entries if e["kind"] == "message"
        }
        for comment in facts.comments[ticket_id]:
            assert public[str(comment["id"])] is (comment["public"] is not False)


def test_agents_are_not_customers_but_author_their_replies(
    run: Run, zendesk_db: Path, rows: Rows, assert_error: AssertError
) -> None:
    facts = zendesk_facts(ZENDESK_DIR)
    assert facts.agents
    emails = {r["email"] for r in rows(zendesk_db, "SELECT email FROM customers")}
    for agent in facts.agents.values():
        assert agent["email"].lower() not in emails
        assert_error(run("customer", "show", agent["email"]))
    stored = {r["external_id"]: r for r in rows(zendesk_db, "SELECT * FROM messages")}
    for comments in facts.comments.values():
        for comment in comments:
            got = stored[str(comment["id"])]
            author = facts.users[str(comment["author_id"])]
            assert got["author"] == author["name"]
            expected = "inbound" if author["role"] == "end-user" else "outbound"
            assert got["direction"] == expected


def test_csv_times_with_offsets_are_stored_as_utc(
    run: Run, initialized: Path, rows: Rows, load_json: LoadJson, import_json: ImportJson
) -> None:
    import_json("csv", CSV_DIR)
    tickets = csv_facts(CSV_DIR).tickets
    assert len({t["created_at"][19:] for t in tickets}) > 3  # many different offsets
    stored = {
        r["external_id"]: r["created_at"]
        for r in rows(initialized, "SELECT external_id, created_at FROM conversations")
    }
    for ticket in tickets:
        assert stored[ticket["external_id"]] == utc_text(ticket["created_at"])
    [csv_1001] = [t for t in tickets if t["external_id"] == "CSV-1001"]
    assert csv_1001["created_at"] == "2025-06-02T09:15:00-06:00"
    assert stored["CSV-1001"] == "2025-06-02T15:15:00Z"
    [message] = [m for m in rows(initialized, MESSAGES_BY_TICKET) if m["ticket"] == "CSV-1001"]
    assert message["created_at"] == "2025-06-02T15:15:00Z"
    entries = load_json(run("customer", "timeline", "jose.nunez@panaderialux.mx", "--json"))
    assert "2025-06-02T15:15:00Z" in {e["at"] for e in entries if e["kind"] == "conversation"}


def test_non_ascii_names_and_text_round_trip(
    run: Run, both_db: Path, rows: Rows, load_json: LoadJson
) -> None:
    cfacts, zfacts = csv_facts(CSV_DIR), zendesk_facts(ZENDESK_DIR)
    names = {r["email"]: r["name"] for r in rows(both_db, "SELECT email, name FROM customers")}
    for row in cfacts.customers:  # imported first: these names stand
        assert names[row["email"].lower()] == row["name"]
    for user in zfacts.end_users.values():
        if user["email"].lower() not in cfacts.emails:
            assert names[user["email"].lower()] == user["name"]
    assert any(not name.isascii() for name in names.values())
    for word, email in (("Волков", "dmitri.volkov@volkov-studio.ru"), ("Ångström", "zoe.angstrom@nordlys.se"),
                        ("渡辺", "kenji.watanabe@watanabe-seimitsu.jp")):  # fmt: skip
        found = [c["email"] for c in load_json(run("customer", "search", word, "--json"))]
        assert email in found, word
    # text that only looks mis-encoded is kept byte for byte
    tricky = [c for cs in zfacts.comments.values() for c in cs if "Ð" in c["plain_body"]]
    assert tricky
    for comment in tricky:
        [got] = rows(
            both_db, "SELECT body FROM messages WHERE external_id = ?", (str(comment["id"]),)
        )
        assert got["body"].encode() == comment["plain_body"].strip().encode()


# --- bad input: the fixtures' bad/ folder ---------------------------------------------------

# file -> (importer, words the message must have, line number README names or None)
BAD_EXPECTED: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "zendesk_truncated.json": ("zendesk", ("truncated", "column"), None),
    "zendesk_wrong_shape_freshdesk_tickets.json": ("zendesk", ("not a Zendesk export",), None),
    "customers_too_many_columns_line7.csv": ("csv", ("9 columns", "expected 7"), 7),
    "customers_invalid_email_line4.csv": ("csv", ("invalid email",), 4),
    "customers_latin1.csv": ("csv", ("not UTF-8",), 2),
    "empty.json": ("zendesk", ("empty",), None),
    "empty.csv": ("csv", ("empty",), None),
}


def test_every_bad_fixture_is_covered() -> None:
    assert {p.name for p in BAD_DIR.iterdir()} == set(BAD_EXPECTED)


@pytest.mark.parametrize("name", sorted(BAD_EXPECTED))
def test_bad_fixture_is_rejected_and_changes_nothing(
    run: Run, zendesk_db: Path, name: str, dump: Dump, assert_error: AssertError
) -> None:
    source, words, line = BAD_EXPECTED[name]
    path = BAD_DIR / name
    if name == "zendesk_truncated.json":  # the stdlib parser says where it is cut off
        with pytest.raises(json.JSONDecodeError) as cut:
            json.loads(path.read_text(encoding="utf-8"))
        line = cut.value.lineno
    before = dump(zendesk_db)
    message = assert_error(run("import", source, str(path)))
    assert str(path) in message
    for word in words:
        assert word in message, message
    if line is not None:
        assert f"{path}:{line}:" in message
    assert dump(zendesk_db) == before


# --- bad input: files made here -------------------------------------------------------------


@pytest.fixture
def csv_export(tmp_path: Path) -> Path:
    return copy_tree(CSV_DIR, tmp_path / "csv")


def test_wrong_column_count_in_tickets_csv_names_file_and_line(
    initialized: Path, csv_export: Path, table_counts: Counts, rejected: Rejected
) -> None:
    lines = csv_lines(csv_export / "tickets.csv")
    number = 4
    lines[number - 1] += ",one,two,three"
    (csv_export / "tickets.csv").write_text("\n".join(lines), encoding="utf-8")
    header = next(csv.reader([lines[0]]))
    assert len(next(csv.reader([lines[number - 1]]))) == len(header) + 3 == 9
    tickets = csv_export / "tickets.csv"
    rejected(initialized, "csv", csv_export, f"{tickets}:{number}: 9 columns, expected 6")
    assert table_counts(initialized)["customers"] == 0  # customers.csv went back too


def test_a_nul_byte_names_its_line(initialized: Path, csv_export: Path, rejected: Rejected) -> None:
    path = csv_export / "customers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b",\x00", 1)
    path.write_bytes(b"\n".join(lines))
    rejected(initialized, "csv", csv_export, f"{path}:3:", "NUL")


def test_an_unterminated_quote_names_its_line(
    initialized: Path, csv_export: Path, rejected: Rejected
) -> None:
    path = csv_export / "tickets.csv"
    number = len(path.read_text(encoding="utf-8").rstrip("\n").split("\n")) + 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            'CSV-9999,olivia.brown@outlook.com,"Broken subject,open,2025-06-01T00:00:00Z,hi\n'
        )
    rejected(initialized, "csv", csv_export, f"{path}:{number}:", "quote")


def test_non_utf8_tickets_csv_names_its_line(
    initialized: Path, csv_export: Path, rejected: Rejected
) -> None:
    path = csv_export / "tickets.csv"
    lines = path.read_bytes().split(b"\n")
    number = next(i for i, line in enumerate(lines, 1) if b"Wrong VAT" in line)
    lines[number - 1] = lines[number - 1].replace(b"Wrong VAT", "Mauvaise TVA é".encode("latin-1"))
    path.write_bytes(b"\n".join(lines))
    rejected(initialized, "csv", csv_export, f"{path}:{number}:", "not UTF-8")


def test_a_bare_carriage_return_outside_quotes_names_its_line(
    initialized: Path, csv_export: Path, rejected: Rejected
) -> None:
    path = csv_export / "customers.csv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b",", b",\r", 1)  # the CR of an old Mac line end, unquoted
    path.write_bytes(b"\n".join(lines))
    message = rejected(initialized, "csv", csv_export, f"{path}:5:", "line break")
    assert "universal-newline" not in message


@pytest.mark.parametrize("name", ["customers.csv", "tickets.csv"])
def test_an_empty_csv_in_a_folder_is_an_error(
    initialized: Path, csv_export: Path, name: str, rejected: Rejected
) -> None:
    (csv_export / name).write_bytes(b"")
    rejected(initialized, "csv", csv_export, str(csv_export / name), "empty")


def test_a_csv_with_an_unknown_header_is_an_error(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    path = write_csv(tmp_path / "customers.csv", [["mail", "full name"], ["a@example.com", "A"]])
    rejected(initialized, "csv", path, f"{path}:1:", "header")


def test_a_truncated_comments_file_names_file_and_line(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    path = sorted((export / "comments").glob("*.json"))[-1]
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as cut:
        json.loads(path.read_text(encoding="utf-8"))
    rejected(initialized, "zendesk", export, f"{path}:{cut.value.lineno}:", "JSON")


def test_an_empty_tickets_json_in_a_folder_is_an_error(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    (export / "tickets.json").write_bytes(b"")
    rejected(initialized, "zendesk", export, str(export / "tickets.json"), "empty")


def test_a_utf8_bom_is_accepted(
    initialized: Path, csv_export: Path, rows: Rows, import_json: ImportJson
) -> None:
    for name in ("customers.csv", "tickets.csv"):
        path = csv_export / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    summary = import_json("csv", csv_export)
    assert summary["created"] == csv_facts(CSV_DIR).created
    emails = {r["email"] for r in rows(initialized, "SELECT email FROM customers")}
    assert emails == csv_facts(CSV_DIR).emails


def test_an_impossible_date_that_looks_canonical_is_bad_input(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    data = load(export / "tickets.json")
    ticket = data["tickets"][0]
    ticket["created_at"] = "2025-02-30T10:00:00Z"
    save(export / "tickets.json", data)
    rejected(initialized, "zendesk", export, f"ticket {ticket['id']}", "2025-02-30")


def test_an_overlong_time_zone_is_dropped_not_fatal(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson
) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        [["email", "name", "time_zone"], ["ana@example.com", "Ana", "Europe/" + "x" * 300]],
    )
    assert import_json("csv", path)["created"]["customers"] == 1
    [stored] = rows(initialized, "SELECT name, time_zone FROM customers")
    assert stored == {"name": "Ana", "time_zone": None}


def test_a_body_longer_than_the_csv_modules_field_limit_imports(
    tmp_path: Path, rows: Rows, import_json: ImportJson, initialized: Path
) -> None:
    body = "Log line: sync failed, retrying… 🐈\n" * 12_000  # ~430 KB, over csv's 128 KiB
    write_csv(tmp_path / "customers.csv", [["email", "notes"], ["ana@example.com", body]])
    write_csv(
        tmp_path / "tickets.csv",
        [["external_id", "customer_email", "body"], ["T-1", "ana@example.com", body]],
    )
    summary = import_json("csv", tmp_path)
    assert summary["created"] == {"customers": 1, "conversations": 1, "messages": 1}
    [stored] = rows(initialized, "SELECT body FROM messages")
    assert stored["body"] == body.strip()


# --- a record that refers to something missing ----------------------------------------------


def test_a_ticket_whose_requester_is_not_in_the_export(
    run: Run, initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson,
    dump: Dump, assert_error: AssertError,
) -> None:  # fmt: skip
    """Skipped with a true reason (not an error), the rest imports; --strict refuses it."""
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    facts = zendesk_facts(export)
    data = load(export / "tickets.json")
    orphan = {**data["tickets"][0], "id": 990001, "requester_id": 1}
    assert "1" not in facts.users
    data["tickets"].insert(3, orphan)
    save(export / "tickets.json", data)
    reason = "ticket 990001: requester 1 is not in this export; import the users too"
    before = dump(initialized)
    message = assert_error(run("import", "zendesk", str(export), "--strict"))
    assert f"{export / 'tickets.json'}: {reason} (--strict" in message
    assert dump(initialized) == before

    summary = import_json("zendesk", export)
    assert summary["created"] == facts.created  # everything else came in
    assert_skipped_entries(summary["skipped"])
    assert summary["skipped"] == [
        {"file": str(export / "tickets.json"), "record": "ticket 990001", "reason": reason}
    ]
    assert rows(initialized, "SELECT * FROM conversations WHERE external_id = '990001'") == []


def test_a_csv_ticket_for_an_unknown_customer(
    run: Run, initialized: Path, csv_export: Path, import_json: ImportJson, dump: Dump,
    assert_error: AssertError,
) -> None:  # fmt: skip
    path = csv_export / "tickets.csv"
    number = len(path.read_text(encoding="utf-8").rstrip("\n").split("\n")) + 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write("CSV-9001,nobody@example.com,Who am I,open,2025-06-01T00:00:00Z,hello\n")
    """Not malformed: listed under skipped with a true reason and the rest imports; an
    error only with --strict."""
    before = dump(initialized)
    message = assert_error(run("import", "csv", str(csv_export), "--strict"))
    assert message.startswith(f"Error: {path}:{number}: ticket CSV-9001: customer nobody@"), message
    assert dump(initialized) == before
    summary = import_json("csv", csv_export)
    assert summary["created"] == csv_facts(CSV_DIR).created
    assert_skipped_entries(summary["skipped"])
    assert summary["skipped"] == [{"file": str(path), "line": number, "reason": (
        "ticket CSV-9001: customer nobody@example.com is not in this export; "
        "import customers.csv too")}]  # fmt: skip


# --- --skip-bad and --dry-run ---------------------------------------------------------------


def good_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        header, *data = list(csv.reader(handle))
    return [r for r in data if len(r) == len(header) and "@" in r[0] and "(at)" not in r[0]]


@pytest.mark.parametrize(
    ("name", "line"),
    [("customers_too_many_columns_line7.csv", 7), ("customers_invalid_email_line4.csv", 4)],
)
def test_skip_bad_imports_the_good_rows_and_lists_the_bad_one(
    initialized: Path, name: str, line: int, rows: Rows, import_json: ImportJson
) -> None:
    path = BAD_DIR / name
    good = good_rows(path)
    summary = import_json("csv", path, options=("--skip-bad",))
    assert summary["created"] == {"customers": len(good), "conversations": 0, "messages": 0}
    assert_skipped_entries(summary["skipped"])
    assert [(s["file"], s["line"]) for s in summary["skipped"]] == [(str(path), line)]
    emails = {r["email"] for r in rows(initialized, "SELECT email FROM customers")}
    assert emails == {r[0].lower() for r in good}


def test_skip_bad_lists_skipped_rows_in_the_human_summary(run: Run, initialized: Path) -> None:
    path = BAD_DIR / "customers_too_many_columns_line7.csv"
    result = run("import", "csv", str(path), "--skip-bad")
    assert result.exit_code == 0, result.output
    assert f"{path}:7" in " ".join(result.stdout.split())


@pytest.mark.parametrize(("source", "folder"), [("csv", CSV_DIR), ("zendesk", ZENDESK_DIR)])
def test_dry_run_reports_the_same_counts_and_writes_nothing(
    initialized: Path, source: str, folder: Path, dump: Dump, import_json: ImportJson
) -> None:
    before = dump(initialized)
    dry = import_json(source, folder, options=("--dry-run",))
    assert dump(initialized) == before
    real = import_json(source, folder)
    assert {k: v for k, v in dry.items() if k in SUMMARY_KEYS - {"seconds"}} == {
        k: v for k, v in real.items() if k in SUMMARY_KEYS - {"seconds"}
    }
    assert real["created"] == (csv_facts if source == "csv" else zendesk_facts)(folder).created


def test_dry_run_of_a_newer_export_and_with_skip_bad(
    run: Run, initialized: Path, csv_export: Path, dump: Dump, import_json: ImportJson
) -> None:
    import_json("csv", CSV_DIR)
    path = csv_export / "tickets.csv"
    number = len(path.read_text(encoding="utf-8").rstrip("\n").split("\n")) + 2
    with path.open("a", encoding="utf-8") as handle:
        handle.write("CSV-9002,olivia.brown@outlook.com,New one,open,2025-07-01T00:00:00Z,hi\n")
        handle.write("CSV-9003,ghost@example.com,Orphan,open,2025-07-01T00:00:00Z,boo\n")
    before = dump(initialized)
    dry = import_json("csv", csv_export, options=("--dry-run", "--skip-bad"))
    assert dump(initialized) == before
    assert dry["created"] == {"customers": 0, "conversations": 1, "messages": 1}
    assert {(s["file"], s["line"]) for s in dry["skipped"]} == {(str(path), number)}
    human = run("import", "csv", str(csv_export), "--dry-run", "--skip-bad")
    assert human.exit_code == 0 and "dry run" in human.stdout
    assert dump(initialized) == before


# --- hypothesis: generated exports import or fail cleanly, never a traceback ----------------

_ODD = [
    "e\u0301", "n\u0303", "a\u0308\u0301\u0323", "مرحبا بك", "שלום עולם", "\u200f", "\u202e",
    "👩\u200d👩\u200d👧", "🇸🇪", "🐈", '"', '""', ",", "\n", "\r\n", ";", "'", "\t", "  ", "Zoë",
    "佐藤 美咲", "Дмитрий", "\ufeff", "\u2028", "<", "&amp;", "Ð”Ð¼",
]  # fmt: skip
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")
odd_text = st.lists(st.one_of(st.sampled_from(_ODD), st.text(_CHARS, max_size=10)), max_size=6).map(
    "".join
)
huge_text = st.builds(lambda t, n: ((t or "x") * n)[:n], odd_text, st.integers(1_000, 300_000))
body_text = st.one_of(odd_text, odd_text, huge_text)
_EMAILS = ["ana@example.com", "Bo.Lund@Example.org", "zoë@nordlys.se", "用户@例子.广告",
           "o'brien@harbour-cafe.ie"]  # fmt: skip
_CASES = [str, str.lower, str.upper, str.title, lambda e: f"  {e} "]
_ZONES = ["", "Europe/Oslo", "Asia/Kolkata", "Central Time (US & Canada)", "Mars/Olympus"]
_OFFSETS = [UTC, timezone(timedelta(hours=-6)), timezone(timedelta(hours=5, minutes=30)),
            timezone(timedelta(hours=14)), timezone(timedelta(hours=-3, minutes=-30))]  # fmt: skip
moments = st.datetimes(datetime(1971, 1, 2), datetime(2099, 12, 30)).map(
    lambda d: d.replace(microsecond=0)
)


@st.composite
def stamps(draw: st.DrawFn) -> tuple[str, str | None]:
    """(text as an export writes it, the UTC text it must be stored as)."""
    if draw(st.integers(0, 5)) == 0:
        return "", None
    moment = draw(moments).replace(tzinfo=draw(st.sampled_from(_OFFSETS)))
    text = moment.isoformat()
    if text.endswith("+00:00") and draw(st.booleans()):
        text = text[:-6] + "Z"
    return text, moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def fresh_db(folder: Path) -> Path:
    db = folder / "ocx.db"
    assert invoke(db, "init").exit_code == 0
    return db


def clean_outcome(result: Result, assert_error: AssertError) -> bool:
    """True on success; otherwise a one-line user error, never a crash."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code == 0:
        event("imported")
        return True
    line = assert_error(result)
    event("rejected: " + re.sub(r"\S*/tmp\S*|'.*'|\d+", "…", line)[:70])
    assert "--debug" not in line and "importer failed" not in line, line
    return False


FUZZ = settings(
    max_examples=int(os.environ.get("OCX_FUZZ_EXAMPLES", "20")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
)  # fmt: skip


@st.composite
def csv_exports(draw: st.DrawFn) -> dict[str, Any]:
    optional = draw(st.lists(st.sampled_from(["name", "company", "phone", "time_zone", "tags",
                                                "notes"]), unique=True))  # fmt: skip
    columns = draw(st.permutations(["email", *optional]))
    people = []
    for _ in range(draw(st.integers(1, 6))):
        email = draw(st.sampled_from(_CASES))(draw(st.sampled_from(_EMAILS)))
        person = {
            "email": email, "name": draw(odd_text), "company": draw(odd_text),
            "phone": draw(odd_text), "time_zone": draw(st.sampled_from(_ZONES)),
            "tags": ";".join(draw(st.lists(st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True),
                                           max_size=3))),
            "notes": draw(body_text),
        }  # fmt: skip
        people.append(person)
    ticket_columns = draw(
        st.permutations(
            ["external_id", "customer_email",
             *draw(st.lists(st.sampled_from(["subject", "status", "created_at", "body"]),
                            unique=True))]
        )
    )  # fmt: skip
    tickets = []
    for number in range(draw(st.integers(0, 6))):
        person = draw(st.sampled_from(people))
        stamp, utc = draw(stamps())
        tickets.append({
            "external_id": f"T{number}-" + draw(st.text(st.characters(categories=["L", "N", "Mn", "So"]), max_size=4)),
            "customer_email": draw(st.sampled_from(_CASES))(person["email"].strip()),
            "subject": draw(odd_text), "status": draw(st.sampled_from(["open", "solved", ""])),
            "created_at": stamp, "utc": utc, "body": draw(body_text),
        })  # fmt: skip
    dialect = draw(st.sampled_from([{"lineterminator": "\r\n"}, {"quoting": csv.QUOTE_ALL}]))
    return {"columns": columns, "people": people, "ticket_columns": ticket_columns,
            "tickets": tickets, "dialect": dialect}  # fmt: skip


@FUZZ
@given(export=csv_exports())
def test_generated_csv_exports_import_with_the_right_counts(
    export: dict[str, Any], rows: Rows, assert_error: AssertError
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        columns, tcolumns = export["columns"], export["ticket_columns"]
        write_csv(folder / "customers.csv",
                  [columns, *([p[c] for c in columns] for p in export["people"])],
                  **export["dialect"])  # fmt: skip
        if export["tickets"]:
            write_csv(folder / "tickets.csv",
                      [tcolumns, *([t[c] for c in tcolumns] for t in export["tickets"])],
                      **export["dialect"])  # fmt: skip
        db = fresh_db(folder)
        result = invoke(db, "import", "csv", str(folder), "--json")
        assert clean_outcome(result, assert_error), result.output
        summary = json.loads(result.stdout)
        emails = {p["email"].strip().lower() for p in export["people"]}
        n = len(export["tickets"])
        assert summary["created"] == {"customers": len(emails), "conversations": n, "messages": n}
        assert summary["skipped"] == []
        once = [p for p in export["people"]
                if sum(q["email"].strip().lower() == p["email"].strip().lower()
                       for q in export["people"]) == 1]  # fmt: skip
        stored = {r["email"]: r for r in rows(db, "SELECT * FROM customers")}
        for person in once:
            if "name" in columns:
                assert stored[person["email"].strip().lower()]["name"] == (
                    person["name"].strip() or None
                )
        conversations = {r["external_id"]: r for r in rows(db, "SELECT * FROM conversations")}
        bodies = {r["external_id"]: r["body"] for r in rows(db, "SELECT * FROM messages")}
        for ticket in export["tickets"]:
            got = conversations[ticket["external_id"].strip()]
            if "created_at" in tcolumns:
                assert got["created_at"] == ticket["utc"]
            if "subject" in tcolumns:
                assert got["subject"] == (lf(ticket["subject"].strip()) or None)
            if "body" in tcolumns and "<" not in ticket["body"]:
                assert bodies[f"{ticket['external_id'].strip()}:body"] == lf(ticket["body"].strip())


cell = st.one_of(
    odd_text,
    st.sampled_from(["x@y", "not an email", "a b;c d", "2025-02-30T00:00:00Z", "yesterday",
                     "2025-06-02T09:15:00-06:00", "Europe/Oslo", '"', '"a', "<b>bold</b>", "slow"]),
)  # fmt: skip
email_cell = st.one_of(st.sampled_from(_EMAILS), st.sampled_from(_EMAILS).map(str.upper), cell)


@st.composite
def csv_rows(draw: st.DrawFn, width: int, email_at: int) -> list[str]:
    """Mostly the right width, an email where it belongs, now and then a NUL or an id."""
    n = width if draw(st.integers(0, 7)) else draw(st.integers(1, width + 3))
    row = [draw(cell) for _ in range(n)]
    if n > email_at:
        row[email_at] = draw(email_cell)
    if email_at == 1 and draw(st.booleans()):
        row[0] = f"T{draw(st.integers(0, 4))}"
    if draw(st.integers(0, 19)) == 0:
        row[-1] += "\x00"
    return row


@FUZZ
@given(
    people=st.lists(csv_rows(7, 0), max_size=5),
    tickets=st.lists(csv_rows(6, 1), max_size=5),
    skip_bad=st.booleans(),
)
def test_arbitrary_csv_cells_import_or_fail_cleanly(
    people: list[list[str]],
    tickets: list[list[str]],
    skip_bad: bool,
    dump: Dump,
    assert_error: AssertError,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_csv(folder / "customers.csv", [list(csv_facts_header("customers")), *people])
        write_csv(folder / "tickets.csv", [list(csv_facts_header("tickets")), *tickets])
        db = fresh_db(folder)
        before = dump(db)
        options = ["--skip-bad"] if skip_bad else []
        result = invoke(db, "import", "csv", str(folder), "--json", *options)
        if clean_outcome(result, assert_error):
            summary = json.loads(result.stdout)
            assert_skipped_entries(summary["skipped"])
            if not skip_bad:  # only tickets left out on purpose: their customer is not there
                assert all("is not in this export" in s["reason"] for s in summary["skipped"])
        else:
            assert "customers.csv" in result.stderr or "tickets.csv" in result.stderr
            assert dump(db) == before


def csv_facts_header(kind: str) -> tuple[str, ...]:
    """The header lines of the fixture CSV files, read from the fixtures."""
    with (CSV_DIR / f"{kind}.csv").open(encoding="utf-8", newline="") as handle:
        return tuple(next(csv.reader(handle)))


@st.composite
def zendesk_exports(draw: st.DrawFn) -> dict[str, Any]:
    users = []
    for index in range(draw(st.integers(1, 5))):
        user: dict[str, Any] = {
            "id": 372015960000 + index, "role": "end-user",
            "email": draw(st.sampled_from(_CASES))(draw(st.sampled_from(_EMAILS))).strip(),
        }  # fmt: skip
        for key, values in (("name", odd_text), ("phone", st.one_of(st.none(), odd_text)),
                            ("iana_time_zone", st.sampled_from(_ZONES)),
                            ("notes", body_text), ("locale", st.sampled_from(["en-US", "sv"]))):  # fmt: skip
            if draw(st.booleans()):
                user[key] = draw(values)
        users.append(user)
    agents = [{"id": 900 + i, "role": draw(st.sampled_from(["agent", "admin"])),
               "email": f"agent{i}@support.example.com", "name": draw(odd_text)}
              for i in range(draw(st.integers(0, 2)))]  # fmt: skip
    tickets, comments = [], {}
    for number in range(1, draw(st.integers(0, 6)) + 1):
        requester = draw(st.sampled_from(users))
        stamp, utc = draw(stamps())
        tickets.append({
            "id": number, "requester_id": requester["id"], "subject": draw(odd_text),
            "description": draw(body_text), "status": draw(st.sampled_from(["new", "open", "solved"])),
            "created_at": stamp or None, "updated_at": stamp or None, "utc": utc,
        })  # fmt: skip
        if draw(st.booleans()):
            authors = [requester, *agents]
            comments[number] = [
                {"id": number * 1000 + k, "author_id": draw(st.sampled_from(authors))["id"],
                 "plain_body": draw(body_text), "html_body": "<p>" + draw(odd_text) + "</p>",
                 "public": draw(st.booleans()), "created_at": stamp or None}
                for k in range(draw(st.integers(0, 4)))
            ]  # fmt: skip
    return {"users": [*users, *agents], "tickets": tickets, "comments": comments}


def lf(text: str) -> str:
    """Text as stored: trimmed, Windows and old Mac line ends as plain newlines."""
    return text.strip().replace("\r\n", "\n").replace("\r", "\n")


@FUZZ
@given(export=zendesk_exports())
def test_generated_zendesk_exports_import_with_the_right_counts(
    export: dict[str, Any], rows: Rows, assert_error: AssertError
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "zendesk"
        (folder / "comments").mkdir(parents=True)
        tickets = [{k: v for k, v in t.items() if k != "utc"} for t in export["tickets"]]
        save(folder / "tickets.json", {"tickets": tickets, "users": export["users"],
                                       "end_of_stream": True})  # fmt: skip
        for ticket_id, comments in export["comments"].items():
            save(
                folder / "comments" / f"{ticket_id}.json",
                {"comments": comments, "count": len(comments)},
            )
        facts = zendesk_facts(folder)
        db = fresh_db(Path(tmp))
        result = invoke(db, "import", "zendesk", str(folder), "--json")
        assert clean_outcome(result, assert_error), result.output
        summary = json.loads(result.stdout)
        assert summary["created"] == facts.created
        private = sum(not c["public"] for cs in facts.comments.values() for c in cs)
        assert rows(db, "SELECT count(*) AS n FROM messages WHERE public = 0")[0]["n"] == private
        stored = {r["external_id"]: r for r in rows(db, "SELECT * FROM conversations")}
        for ticket in export["tickets"]:
            assert stored[str(ticket["id"])]["created_at"] == ticket["utc"]
            assert stored[str(ticket["id"])]["subject"] == (lf(ticket["subject"]) or None)
        bodies = {r["external_id"]: r["body"] for r in rows(db, "SELECT * FROM messages")}
        for comments in facts.comments.values():
            for comment in comments:
                if comment["plain_body"].strip():
                    assert bodies[str(comment["id"])] == lf(comment["plain_body"])
                else:  # no plain text: the HTML, as text
                    assert not HTML_TAG.search(bodies[str(comment["id"])])
        emails = {r["email"] for r in rows(db, "SELECT email FROM customers")}
        assert emails == facts.emails


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False), odd_text,
    st.sampled_from(["2025-02-30T00:00:00Z", "2025-06-02T09:15:00-06:00", "end-user", "agent"]),
)  # fmt: skip
anything = st.recursive(
    json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
ids = st.one_of(st.sampled_from([1, 2, 3, "2", " 3 "]), anything)
fuzz_user = st.fixed_dictionaries(
    {}, optional={"id": ids, "role": st.one_of(st.sampled_from(["end-user", "agent"]), anything),
                  "email": st.one_of(st.sampled_from(_EMAILS), anything), "name": anything,
                  "phone": anything, "iana_time_zone": anything, "locale": anything,
                  "tags": anything, "user_fields": anything, "notes": anything},
)  # fmt: skip
fuzz_ticket = st.fixed_dictionaries(
    {}, optional={"id": ids, "requester_id": ids, "subject": anything, "raw_subject": anything,
                  "status": anything, "created_at": anything, "updated_at": anything,
                  "description": anything},
)  # fmt: skip
fuzz_comment = st.fixed_dictionaries(
    {}, optional={"id": ids, "author_id": ids, "plain_body": anything, "html_body": anything,
                  "body": anything, "public": anything, "created_at": anything},
)  # fmt: skip


@FUZZ
@given(
    document=st.one_of(
        st.fixed_dictionaries(
            {"tickets": st.one_of(st.lists(st.one_of(fuzz_ticket, anything), max_size=4), anything),
             "users": st.one_of(st.lists(st.one_of(fuzz_user, anything), max_size=4), anything)}
        ),
        anything,
    ),
    comments=st.dictionaries(
        st.sampled_from(["1", "2", "3"]),
        st.one_of(st.fixed_dictionaries({"comments": st.lists(st.one_of(fuzz_comment, anything), max_size=3)}), anything),
        max_size=3,
    ),
    skip_bad=st.booleans(),
)  # fmt: skip
def test_arbitrary_zendesk_json_imports_or_fails_cleanly(
    document: Any,
    comments: dict[str, Any],
    skip_bad: bool,
    dump: Dump,
    table_counts: Counts,
    assert_error: AssertError,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "zendesk"
        (folder / "comments").mkdir(parents=True)
        save(folder / "tickets.json", document)
        for ticket_id, content in comments.items():
            save(folder / "comments" / f"{ticket_id}.json", content)
        db = fresh_db(Path(tmp))
        before = dump(db)
        options = ["--skip-bad"] if skip_bad else []
        result = invoke(db, "import", "zendesk", str(folder), "--json", *options)
        if clean_outcome(result, assert_error):
            summary = json.loads(result.stdout)
            assert_skipped_entries(summary["skipped"])
            assert table_counts(db)["customers"] == summary["created"]["customers"]
        else:
            assert str(folder) in result.stderr
            assert "invalid or truncated JSON" not in result.stderr  # json.dumps wrote it
            assert dump(db) == before


# --- zendesk: the wrong shape, non-UTF-8 bytes, orphan comments, users across pages --------


def latin1_in_line(path: Path, pattern: bytes) -> int:
    """Put a Latin-1 byte (è) just after the first `pattern` in `path`; its 1-based line."""
    data = path.read_bytes()
    at = data.index(pattern) + len(pattern)
    path.write_bytes(data[:at] + "è".encode("latin-1") + data[at:])
    return data.count(b"\n", 0, at) + 1


WRONG_VALUES = [{"id": 1}, {}, "oops", 42, None]


@pytest.mark.parametrize("value", WRONG_VALUES, ids=lambda v: type(v).__name__ + repr(v)[:6])
@pytest.mark.parametrize("key", ["tickets", "users"])
def test_zendesk_tickets_or_users_that_are_not_arrays_are_not_an_export(
    initialized: Path, tmp_path: Path, key: str, value: Any, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    data = load(export / "tickets.json")
    data[key] = value
    save(export / "tickets.json", data)
    message = rejected(
        initialized, "zendesk", export, f"{export / 'tickets.json'}: not a Zendesk export", key
    )
    assert "not in the export" not in message  # the shape, not what follows from it


@pytest.mark.parametrize("value", WRONG_VALUES, ids=lambda v: type(v).__name__ + repr(v)[:6])
def test_zendesk_users_that_are_not_an_array_on_a_page_without_tickets(
    initialized: Path, tmp_path: Path, value: Any, rejected: Rejected
) -> None:
    """Nothing follows from the users here: without the check the import succeeds, empty."""
    (tmp_path / "zendesk").mkdir()
    page = tmp_path / "zendesk" / "tickets.json"
    save(page, {"tickets": [], "users": value, "end_of_stream": True})
    rejected(initialized, "zendesk", page.parent, f"{page}: not a Zendesk export", "users")


def test_zendesk_tickets_as_an_object_with_an_item_key_is_not_an_export(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    """ijson's 'tickets.item' also matches the key 'item' of an object."""
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    data = load(export / "tickets.json")
    data["tickets"] = {"item": data["tickets"][0]}
    save(export / "tickets.json", data)
    rejected(initialized, "zendesk", export, f"{export / 'tickets.json'}: not a Zendesk export")


def test_zendesk_page_without_users_still_imports(
    initialized: Path, tmp_path: Path, import_json: ImportJson
) -> None:
    """A page without include=users has no 'users' key: not the wrong shape."""
    (tmp_path / "users").mkdir()
    (tmp_path / "tickets").mkdir()
    data = load(ZENDESK_DIR / "tickets.json")
    save(tmp_path / "users" / "tickets.json", {**data, "tickets": []})
    save(tmp_path / "tickets" / "tickets.json", {k: v for k, v in data.items() if k != "users"})
    facts = zendesk_facts(ZENDESK_DIR)
    assert import_json("zendesk", tmp_path / "users")["created"]["customers"] == len(facts.emails)
    created = import_json("zendesk", tmp_path / "tickets")["created"]
    assert created == {"customers": 0, "conversations": len(facts.tickets),
                       "messages": len(facts.tickets)}  # fmt: skip


@pytest.mark.parametrize("precise_up_to", [None, 0], ids=["small", "streamed-only"])
def test_non_utf8_bytes_in_a_zendesk_page_name_the_line(
    initialized: Path, tmp_path: Path, precise_up_to: int | None, monkeypatch: pytest.MonkeyPatch,
    rejected: Rejected,
) -> None:  # fmt: skip
    if precise_up_to is not None:  # as for a file too big to re-read whole
        monkeypatch.setattr("ocx.importkit.PRECISE_ERRORS_UP_TO", precise_up_to)
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    path = export / "tickets.json"
    line = latin1_in_line(path, '"name": "Zoë Å'.encode())
    assert line > 1
    message = rejected(initialized, "zendesk", export, f"{path}:{line}: not UTF-8")
    assert "at byte" not in message


def test_non_utf8_bytes_in_a_comments_file_name_the_line(
    initialized: Path, tmp_path: Path, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    path = sorted((export / "comments").glob("*.json"))[2]
    line = latin1_in_line(path, b'"plain_body": "')
    assert line > 1
    rejected(initialized, "zendesk", export, f"{path}:{line}: not UTF-8")


def test_comments_for_a_ticket_that_is_not_in_the_export(
    initialized: Path, tmp_path: Path, import_json: ImportJson, rejected: Rejected
) -> None:
    export = copy_tree(ZENDESK_DIR, tmp_path / "zendesk")
    facts = zendesk_facts(export)
    assert "7777" not in facts.tickets
    orphan = export / "comments" / "7777.json"
    shutil.copy(sorted((export / "comments").glob("*.json"))[0], orphan)
    rejected(initialized, "zendesk", export, f"{orphan}: ", "ticket 7777", "not in the export",
             "--skip-bad")  # fmt: skip
    # the single tickets.json of that folder is the whole export too
    rejected(initialized, "zendesk", export / "tickets.json", f"{orphan}: ", "not in the export")

    summary = import_json("zendesk", export, options=("--skip-bad",))
    assert summary["created"] == facts.created
    assert_skipped_entries(summary["skipped"])
    [skipped] = summary["skipped"]
    assert skipped["file"] == str(orphan)
    assert "7777" in skipped["record"] and "not in the export" in skipped["reason"]


def test_users_side_loaded_on_one_page_are_known_on_the_others(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson
) -> None:
    """Page 1 has its requesters only; the agents who answer its tickets come on page 2."""
    data = load(ZENDESK_DIR / "tickets.json")
    facts = zendesk_facts(ZENDESK_DIR)
    users = {u["id"]: u for u in data["users"]}
    agents = [u for u in data["users"] if u["role"] != "end-user"]
    half = len(data["tickets"]) // 2
    pages = [data["tickets"][:half], data["tickets"][half:]]
    export = tmp_path / "paged"
    shutil.copytree(ZENDESK_DIR / "comments", export / "comments")
    for number, tickets in enumerate(pages, start=1):
        requesters = [users[r] for r in sorted({t["requester_id"] for t in tickets})]
        save(export / f"tickets_p{number}.json",
             {**data, "tickets": tickets, "users": requesters + (agents if number == 2 else []),
              "end_of_stream": number == 2})  # fmt: skip
    first_page = {str(t["id"]) for t in pages[0]}
    answered = [c for t in first_page for c in facts.comments.get(t, [])
                if str(c["author_id"]) in facts.agents]  # fmt: skip
    assert answered  # the case this test is about

    summary = import_json("zendesk", export)
    assert summary["created"] == facts.created
    stored = {r["external_id"]: r for r in rows(initialized, "SELECT * FROM messages")}
    for comments in facts.comments.values():
        for comment in comments:
            got = stored[str(comment["id"])]
            author = facts.users[str(comment["author_id"])]
            assert got["author"] == author["name"]
            assert got["direction"] == ("inbound" if author["role"] == "end-user" else "outbound")


def test_an_older_export_never_rolls_a_ticket_back(
    initialized: Path, tmp_path: Path, rows: Rows, import_json: ImportJson
) -> None:
    newer = copy_tree(ZENDESK_DIR, tmp_path / "newer")
    older = copy_tree(ZENDESK_DIR, tmp_path / "older")
    data = load(newer / "tickets.json")
    ticket = data["tickets"][0]
    ticket.update(status="closed", updated_at="2030-01-01T00:00:00Z")
    save(newer / "tickets.json", data)
    stale = load(older / "tickets.json")
    stale["tickets"][0].update(status="open")  # the fixture's updated_at: before 2030
    save(older / "tickets.json", stale)
    import_json("zendesk", newer)
    summary = import_json("zendesk", older)
    assert summary["updated"]["conversations"] == 0
    [row] = rows(
        initialized, "SELECT status, updated_at FROM conversations WHERE external_id = ?",
        (str(ticket["id"]),),
    )  # fmt: skip
    assert row == {"status": "closed", "updated_at": "2030-01-01T00:00:00Z"}


def test_a_skipped_ticket_is_listed_once_and_its_message_goes_with_it(
    initialized: Path, tmp_path: Path, import_json: ImportJson, rows: Rows
) -> None:
    sheet = tmp_path / "tickets.csv"
    sheet.write_text(
        "external_id,customer_email,subject,status,created_at,body\n"
        "T-1,nobody@example.com,Help,open,2025-06-02T09:15:00Z,Please help\n",
        encoding="utf-8",
    )
    summary = import_json("csv", sheet)  # not malformed: no --skip-bad needed
    assert [(s["line"], s["reason"]) for s in summary["skipped"]] == [
        (2, "ticket T-1: customer nobody@example.com is not in this export; "
            "import customers.csv too")
    ]  # fmt: skip
    assert rows(initialized, "SELECT count(*) AS n FROM messages") == [{"n": 0}]
