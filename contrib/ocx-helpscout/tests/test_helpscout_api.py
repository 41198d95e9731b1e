"""`ocx import helpscout` on Mailbox API 2.0 responses shaped like Help Scout's published
examples (tests/data-api, see its README): pages with and without embed=threads, several
pages, people in other files or in no file, a primaryCustomer without an id, ratings, tags and
custom fields. Through the real CLI with the installed package, on a real SQLite file;
expected values are read from the data files with plain json."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ocx_helpscout.reader import read_all

from ocx.plugin_api import ConversationRecord, CustomerRecord

DATA = Path(__file__).resolve().parent / "data-api"
THREADS, PREVIEWS, LATER = DATA / "threads", DATA / "previews", DATA / "people-later"
NO_THREADS = "{} conversations had no threads (export with embed=threads)"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def records(folder: Path, kind: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob(f"{kind}*.json")):
        out += load(path).get("_embedded", {}).get(kind, [])
    return out


def email_of(customer: dict[str, Any]) -> str | None:
    emails = customer["_embedded"]["emails"]
    return emails[0]["value"] if emails else None


def messages(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    threads = conversation.get("_embedded", {}).get("threads", [])
    return [t for t in threads if t["type"] != "lineitem" and t.get("state") != "draft"]


def zero() -> dict[str, int]:
    return {"customers": 0, "conversations": 0, "messages": 0}


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = load(path)
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data-api."""
    return Path(shutil.copytree(DATA, tmp_path / "data-api", ignore=shutil.ignore_patterns("*.py")))


def timeline(ocx: Any, who: str) -> list[dict[str, Any]]:
    result = ocx("customer", "timeline", who, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def conversation_data(ocx: Any, who: str) -> dict[str, dict[str, Any]]:
    """Each conversation's `data` on the customer's timeline, by Help Scout id."""
    entries = [e for e in timeline(ocx, who) if e["kind"] == "conversation"]
    return {e["data"]["external_id"]: e["data"] for e in entries}


# --- a page with embed=threads, several pages, people first -----------------------------------


def test_pages_with_threads_import_with_exit_0_whatever_order_the_paths_come_in(
    ocx, summary, rows
) -> None:
    customers, conversations = records(THREADS, "customers"), records(THREADS, "conversations")
    with_email = {c["id"] for c in customers if email_of(c)}
    no_email = {c["id"] for c in customers if not email_of(c)}
    # A primaryCustomer with an email that no customers page holds makes a customer too.
    extra = {c["primaryCustomer"]["email"] for c in conversations
             if c["primaryCustomer"].get("id") not in with_email | no_email}  # fmt: skip
    kept = [c for c in conversations if c["primaryCustomer"].get("id") not in no_email]
    pages = sorted(THREADS.glob("conversations*.json"), reverse=True)
    people = sorted(THREADS.glob("customers*.json"), reverse=True)
    result = summary(ocx("import", "helpscout", *pages, *people, "--json"))  # tickets first
    assert result["created"] == {
        "customers": len(with_email) + len(extra),
        "conversations": len(kept),
        "messages": sum(len(messages(c)) for c in kept),
    }
    assert result["warnings"] == []
    assert [(s["record"], s["reason"]) for s in result["skipped"]] == [
        ("customer 555", "customer 555 has no email address"),
        ("conversation 26",
         "conversation 26: customer 555 has no email address; ocx knows customers by email"),
    ]  # fmt: skip
    stored = rows("SELECT external_id FROM conversations ORDER BY CAST(external_id AS INTEGER)")
    assert [r["external_id"] for r in stored] == sorted(str(c["id"]) for c in kept)
    again = summary(ocx("import", "helpscout", THREADS, "--json"))
    assert (again["created"], again["updated"]) == (zero(), zero())


def test_the_folder_imports_the_same_as_its_files(ocx, summary) -> None:
    files = sorted(THREADS.glob("*.json"))  # conversations-1, -2, customers-1, -2
    by_files = summary(ocx("import", "helpscout", *files, "--json"))
    by_folder = summary(ocx("import", "helpscout", THREADS, "--json"))
    assert (by_folder["created"], by_folder["updated"]) == (zero(), zero())
    assert by_folder["unchanged"] == by_files["created"]
    assert by_folder["skipped"] == by_files["skipped"]


def test_a_conversations_page_alone_brings_the_customers_pages_beside_it(
    ocx, summary, rows
) -> None:
    result = summary(ocx("import", "helpscout", THREADS / "conversations-1.json", "--json"))
    assert [s["record"] for s in result["skipped"]] == ["customer 555"]
    assert result["created"]["conversations"] == 3
    assert rows("SELECT company FROM customers WHERE email = 'vbear@mywork.com'") == [
        {"company": "Acme, Inc"}  # from customers-1.json, not the conversation
    ]


def test_pages_are_read_in_page_number_order(copy: Path) -> None:
    folder = copy / "threads"
    (folder / "conversations-2.json").rename(folder / "conversations-10.json")
    shutil.copy(folder / "conversations-1.json", folder / "conversations-2.json")
    edit(folder / "conversations-1.json", lambda d: d["_embedded"].update(conversations=[]))
    found = [r.external_id for r in read_all([folder]) if isinstance(r, ConversationRecord)]
    assert found == ["23", "24", "27", "25", "26"]  # page 1 (empty), 2, 10: not name order


def test_customers_come_first_whatever_the_path_order(copy: Path) -> None:
    folder = copy / "threads"
    paths = [folder / "conversations-2.json", folder / "customers-2.json",
             folder / "conversations-1.json", folder / "customers-1.json"]  # fmt: skip
    out = list(read_all(paths))
    first = next(i for i, r in enumerate(out) if isinstance(r, ConversationRecord))
    from_pages = [i for i, r in enumerate(out) if isinstance(r, CustomerRecord)
                  and r.origin is not None and "customers-" in r.origin.file]  # fmt: skip
    assert len(from_pages) == 3 and max(from_pages) < first
    people = [r for r in out if isinstance(r, CustomerRecord)]
    assert [p.external_id for p in people] == ["29418", "100", "101", "morgan.lee@example.org"]


# --- who wrote each thread ------------------------------------------------------------------


def test_thread_authors_are_names_else_agent_id(ocx, summary, rows) -> None:
    summary(ocx("import", "helpscout", THREADS, "--json"))
    authors = {
        r["external_id"]: (r["author"], r["direction"], r["public"])
        for r in rows("SELECT external_id, author, direction, public FROM messages")
    }
    assert authors == {
        "2300": ("John Doe", "inbound", 1),  # createdBy first + last
        "2301": ("Support Agent", "outbound", 1),  # an agent's reply, rated
        "2303": ("John Doe", "inbound", 1),
        "2401": ("Jane Smith", "inbound", 1),  # createdBy has only id and email: the customers page
        "2402": ("agent 7", "outbound", 0),  # a note by a user the export does not name
        "1234": ("Vernon Bear", "inbound", 1),  # chat threads: whoever wrote them
        "1235": ("Support Agent", "outbound", 1),
        "2501": ("Morgan Lee", "inbound", 1),  # a customer known only by email
    }


def test_without_the_customers_pages_a_customer_thread_is_named_by_the_primary_customer(
    ocx, summary, rows, tmp_path
) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(THREADS / "conversations-1.json", alone)
    result = summary(ocx("import", "helpscout", alone, "--json"))
    assert result["skipped"] == [] and result["created"]["customers"] == 3
    assert rows("SELECT author FROM messages WHERE external_id = '2401'") == [
        {"author": "Jane Smith"}  # createdBy has only id and email; primaryCustomer a name
    ]


def test_an_agent_without_a_name_is_named_by_email_before_id(ocx, summary, rows, copy) -> None:
    def email_only(data: dict[str, Any]) -> None:
        note = data["_embedded"]["conversations"][1]["_embedded"]["threads"][0]
        note["createdBy"] = {"id": 7, "type": "user", "email": "sam@helpscout.example"}

    edit(copy / "threads" / "conversations-1.json", email_only)
    summary(ocx("import", "helpscout", copy / "threads", "--json"))
    assert rows("SELECT author FROM messages WHERE external_id = '2402'") == [
        {"author": "sam@helpscout.example"}
    ]


# --- what a support engineer sees on the conversation ---------------------------------------


def test_status_channel_tags_rating_and_custom_fields_are_kept(ocx, summary, rows) -> None:
    summary(ocx("import", "helpscout", THREADS, "--json"))
    john = conversation_data(ocx, "john@testcompany.com")["23"]
    assert {k: john.get(k) for k in ("status", "channel", "tags", "satisfaction", "custom_fields")} == {
        "status": "closed",
        "channel": "email",
        "tags": ["vip"],
        "satisfaction": {"score": "great", "comment": "Great job!"},
        # `text` (what a person sees) over `value` (a dropdown option's id); null left out
        "custom_fields": [{"label": "Account Type", "value": "Enterprise"}],
    }  # fmt: skip
    jane = conversation_data(ocx, "jane@testcompany.com")["24"]
    assert (jane["status"], jane["tags"], jane["custom_fields"]) == (
        "active", ["follow-up", "billing"], [{"label": "Order number", "value": "A-1001"}])  # fmt: skip
    assert "satisfaction" not in jane
    vernon = conversation_data(ocx, "vbear@mywork.com")["27"]
    assert (vernon["channel"], vernon["satisfaction"]) == ("chat", {"score": "okay"})
    # Conversation tags describe the conversation, never the customer.
    assert rows("SELECT count(*) AS n FROM tags")[0]["n"] == 0


def test_the_extras_are_shown_and_searchable(ocx, summary) -> None:
    summary(ocx("import", "helpscout", THREADS, "--json"))
    shown = ocx("customer", "timeline", "john@testcompany.com")
    assert shown.exit_code == 0
    for text in ("closed", "vip", "great", "Great job!", "Account Type", "Enterprise"):
        assert text in shown.stdout, text
    found = json.loads(ocx("customer", "search", "Enterprise", "--json").stdout)
    assert [c["email"] for c in found] == ["john@testcompany.com"]


def test_a_custom_field_without_text_keeps_its_value_and_one_without_a_name_its_id(
    ocx, summary, copy
) -> None:
    def fields(data: dict[str, Any]) -> None:
        data["_embedded"]["conversations"][0]["customFields"] = [
            {"id": 6688, "name": "Account Type", "value": "33077"},  # the PHP SDK's payload
            {"id": 6691, "value": "7", "text": ""},
            {"id": 6692, "name": "Seats", "value": 12},
            {"id": 6693, "name": "Notes", "value": None, "text": None},
        ]

    edit(copy / "threads" / "conversations-1.json", fields)
    summary(ocx("import", "helpscout", copy / "threads", "--json"))
    assert conversation_data(ocx, "john@testcompany.com")["23"]["custom_fields"] == [
        {"label": "Account Type", "value": "33077"},
        {"label": "6691", "value": "7"},
        {"label": "Seats", "value": 12},
    ]


# --- primaryCustomer: creates or matches the customer ----------------------------------------


def test_a_primary_customer_without_an_id_makes_the_customer_keyed_by_email(
    ocx, summary, rows
) -> None:
    summary(ocx("import", "helpscout", THREADS, "--json"))
    morgan = rows(
        "SELECT c.name, s.external_id FROM customers c "
        "JOIN customer_sources s ON s.customer_id = c.id WHERE c.email = 'morgan.lee@example.org'"
    )
    assert morgan == [{"name": "Morgan Lee", "external_id": "morgan.lee@example.org"}]
    found = rows(
        "SELECT c.email FROM conversations v JOIN customers c ON c.id = v.customer_id "
        "WHERE v.external_id = '25'"
    )
    assert found == [{"email": "morgan.lee@example.org"}]


def test_a_primary_customer_fills_an_empty_name_and_never_overwrites_one(
    ocx, summary, rows
) -> None:
    assert ocx("customer", "add", "morgan.lee@example.org").exit_code == 0
    assert ocx("customer", "add", "john@testcompany.com", "--name", "Johnny D").exit_code == 0
    result = summary(ocx("import", "helpscout", PREVIEWS, "--json"))
    assert result["created"]["customers"] == 0 and result["updated"]["customers"] == 2
    names = {r["email"]: r["name"] for r in rows("SELECT email, name FROM customers")}
    assert names == {"morgan.lee@example.org": "Morgan Lee", "john@testcompany.com": "Johnny D"}


def test_a_name_alone_never_matches_a_customer(ocx, summary, rows, copy) -> None:
    def name_only(data: dict[str, Any]) -> None:
        data["_embedded"]["conversations"][2]["primaryCustomer"] = {
            "type": "customer", "first": "Morgan", "last": "Lee"}  # fmt: skip

    edit(copy / "previews" / "conversations.json", name_only)
    ocx("customer", "add", "someone@example.org", "--name", "Morgan Lee")
    result = summary(ocx("import", "helpscout", copy / "previews", "--json"))
    assert [s["reason"] for s in result["skipped"]][-1] == (
        "conversation 3: customer Morgan Lee has no id or email address; "
        "a name alone matches no customer"
    )
    assert rows("SELECT count(*) AS n FROM conversations WHERE external_id = '3'")[0]["n"] == 0


# --- a page without threads ------------------------------------------------------------------


def test_a_page_without_threads_imports_each_preview_as_one_message_and_warns_once(
    ocx, summary, rows
) -> None:
    listed = records(PREVIEWS, "conversations")
    assert not any("_embedded" in c for c in listed)
    result = ocx("import", "helpscout", PREVIEWS, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["warnings"] == [NO_THREADS.format(len(listed))]
    assert data["created"] == {"customers": 2, "conversations": 2, "messages": 2}
    stored = rows("SELECT external_id, body, preview, direction, author FROM messages ORDER BY 1")
    assert stored == [
        {"external_id": "2-preview", "body": "Hi John,\nthe invoice is attached.\nSupport",
         "preview": 1, "direction": "outbound", "author": None},  # CRLF made LF
        {"external_id": "3-preview", "body": "Is the school discount still on?", "preview": 1,
         "direction": "inbound", "author": None},
    ]  # fmt: skip
    human = ocx("import", "helpscout", PREVIEWS)
    assert human.output.count(NO_THREADS.format(len(listed))) == 1
    assert "(preview)" in ocx("customer", "timeline", "john@testcompany.com").stdout


def test_only_the_conversations_without_threads_are_counted(ocx, summary, copy) -> None:
    edit(copy / "threads" / "conversations-1.json",
         lambda d: d["_embedded"]["conversations"][1].pop("_embedded"))  # fmt: skip
    result = summary(ocx("import", "helpscout", copy / "threads", "--json"))
    assert result["warnings"] == [NO_THREADS.format(1)]


def test_a_preview_gives_way_when_the_threads_come(ocx, summary, rows, copy) -> None:
    """Exported once without threads, then with them: the preview stand-in goes, the
    conversation's real messages stay."""
    page = copy / "threads" / "conversations-1.json"
    full = json.loads(page.read_text(encoding="utf-8"))
    edit(page, lambda d: d["_embedded"]["conversations"][1].pop("_embedded"))
    first = summary(ocx("import", "helpscout", copy / "threads", "--json"))
    assert first["warnings"] == [NO_THREADS.format(1)]
    assert rows("SELECT count(*) AS n FROM messages WHERE preview = 1")[0]["n"] == 1
    page.write_text(json.dumps(full), encoding="utf-8")
    summary(ocx("import", "helpscout", copy / "threads", "--json"))
    assert rows("SELECT count(*) AS n FROM messages WHERE preview = 1")[0]["n"] == 0
    conversation = str(full["_embedded"]["conversations"][1]["id"])
    threads = full["_embedded"]["conversations"][1]["_embedded"]["threads"]
    stored = rows("SELECT count(*) AS n FROM messages m JOIN conversations c "
                  "ON c.id = m.conversation_id WHERE c.external_id = ?", (conversation,))  # fmt: skip
    assert 0 < stored[0]["n"] <= len(threads)


# --- customers later: skipped conversations come in, nothing twice ---------------------------


def test_a_conversation_whose_customer_is_missing_is_skipped_with_the_reason(
    ocx, summary, rows
) -> None:
    result = summary(ocx("import", "helpscout", PREVIEWS, "--json"))
    assert result["skipped"] == [{
        "file": str(PREVIEWS / "conversations.json"), "record": "conversation 1",
        "reason": "conversation 1: customer 238604 is not in this export; import the customers too",
    }]  # fmt: skip
    assert rows("SELECT count(*) AS n FROM messages WHERE external_id = '1-preview'")[0]["n"] == 0


def test_importing_the_customers_later_brings_the_skipped_conversation_in_once(
    ocx, summary, rows
) -> None:
    summary(ocx("import", "helpscout", PREVIEWS, "--json"))
    later = summary(ocx("import", "helpscout", PREVIEWS, LATER, "--json"))
    assert later["skipped"] == []
    assert later["created"] == {"customers": 1, "conversations": 1, "messages": 1}
    assert later["unchanged"]["conversations"] == 2
    again = summary(ocx("import", "helpscout", LATER, PREVIEWS, "--json"))
    assert (again["created"], again["updated"]) == (zero(), zero())
    counts = rows(
        "SELECT (SELECT count(*) FROM customers) AS customers, "
        "(SELECT count(*) FROM conversations) AS conversations, "
        "(SELECT count(*) FROM messages) AS messages"
    )
    assert counts == [{"customers": 3, "conversations": 3, "messages": 3}]
    bird = rows(
        "SELECT c.email, c.name, c.company FROM conversations v "
        "JOIN customers c ON c.id = v.customer_id WHERE v.external_id = '1'"
    )
    assert bird == [{"email": "bigbird@sesamestreet.com", "name": "Big Bird",
                     "company": "Sesame Street"}]  # fmt: skip


def test_the_customers_in_the_same_run_bring_it_in_whatever_the_order(ocx, summary) -> None:
    result = summary(ocx("import", "helpscout", PREVIEWS / "conversations.json", LATER, "--json"))
    assert result["skipped"] == [] and result["created"]["conversations"] == 3


# --- --strict ---------------------------------------------------------------------------------


def test_strict_imports_what_has_all_its_people(ocx, summary) -> None:
    result = summary(ocx("import", "helpscout", PREVIEWS, LATER, "--strict", "--json"))
    assert result["created"]["conversations"] == 3 and result["skipped"] == []
