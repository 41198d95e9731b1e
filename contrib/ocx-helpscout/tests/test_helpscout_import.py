"""`ocx import helpscout` through the real CLI, with the installed package found through the
`ocx` entry-point group, on a real SQLite file. Expected numbers are derived here from the
sample export with plain json, not copied from its README."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

TAG = re.compile(r"<[a-zA-Z/][^>]*>")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def copy(samples: Path, tmp_path: Path) -> Path:
    """A writable copy of the sample export, to change."""
    return Path(shutil.copytree(samples, tmp_path / "helpscout"))


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = load(path)
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


# --- the sample export -----------------------------------------------------------------------


def test_customers_fill_the_profile_and_missing_keys_are_fine(
    ocx, summary, rows, samples, export
) -> None:
    summary(ocx("import", "helpscout", samples, "--json"))
    stored = {
        r["email"]: r for r in rows("SELECT email, name, company, phone, context FROM customers")
    }
    missing = [c for c in export.customers if "lastName" not in c or "organization" not in c]
    assert missing, "the samples should hold a customer with keys left out"
    for customer in export.customers:
        embedded = customer["_embedded"]
        row = stored[embedded["emails"][0]["value"].lower()]
        name = " ".join(filter(None, (customer.get("firstName"), customer.get("lastName"))))
        assert row["name"] == name
        assert row["company"] == customer.get("organization")
        assert row["context"] == customer.get("background")
        phones = [p["value"] for p in embedded.get("phones", [])]
        assert row["phone"] == (phones[0] if phones else None)


def test_threads_are_messages_oldest_first_with_direction_and_visibility(
    ocx, summary, rows, samples, export
) -> None:
    summary(ocx("import", "helpscout", samples, "--json"))
    stored = rows(
        "SELECT m.external_id, m.direction, m.public, m.author, m.body, m.created_at, "
        "c.external_id AS conversation FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
    )
    by_id = {r["external_id"]: r for r in stored}
    for conversation in export.conversations:
        threads = conversation["_embedded"]["threads"]
        # stored (and so yielded) oldest first: the reverse of the API's newest-first list
        order = [r["external_id"] for r in stored if r["conversation"] == str(conversation["id"])]
        assert order == [str(t["id"]) for t in reversed(threads)]
        for thread in threads:
            row = by_id[str(thread["id"])]
            direction = {"customer": "inbound", "message": "outbound", "note": "outbound"}
            assert row["direction"] == direction[thread["type"]]
            assert row["public"] == (0 if thread["type"] == "note" else 1)
            author = thread["createdBy"]
            assert row["author"] == " ".join(filter(None, (author["first"], author.get("last"))))
            assert row["created_at"] == thread["createdAt"]
            assert not TAG.search(row["body"]) and row["body"].strip()
            assert "&#x27;" not in row["body"]


def test_a_note_thread_is_internal(ocx, summary, rows, copy: Path) -> None:
    def add_note(data: dict[str, Any]) -> None:
        threads = data["_embedded"]["conversations"][0]["_embedded"]["threads"]
        threads.insert(0, {
            "id": 1, "type": "note", "state": "published", "createdAt": "2025-05-07T09:00:00Z",
            "body": "<p>Call her <b>tomorrow</b> &amp; go slowly.</p>",
            "createdBy": {"id": 4401, "type": "user", "first": "Sam", "last": "Rivera"},
        })  # fmt: skip
        threads.insert(0, {"id": 2, "type": "lineitem", "action": {"text": "Assigned to Sam"}})
        threads.insert(0, {"id": 3, "type": "message", "state": "draft", "body": "<p>draft</p>"})

    edit(copy / "conversations.json", add_note)
    summary(ocx("import", "helpscout", copy, "--json"))
    notes = rows("SELECT external_id, body, public, direction FROM messages WHERE public = 0")
    assert notes == [
        {"external_id": "1", "body": "Call her tomorrow & go slowly.", "public": 0,
         "direction": "outbound"}
    ]  # fmt: skip
    assert rows("SELECT count(*) AS n FROM messages WHERE external_id IN ('2', '3')")[0]["n"] == 0


def test_statuses_subjects_and_times(ocx, summary, rows, samples, export) -> None:
    summary(ocx("import", "helpscout", samples, "--json"))
    stored = {
        r["external_id"]: r
        for r in rows(
            "SELECT external_id, subject, status, created_at, updated_at FROM conversations"
        )
    }
    for conversation in export.conversations:
        row = stored[str(conversation["id"])]
        assert row["subject"] == conversation["subject"]
        assert row["status"] == conversation["status"]
        assert row["created_at"] == conversation["createdAt"]
        assert row["updated_at"] == conversation.get("userUpdatedAt")


def test_page_files_are_read_in_name_order(ocx, summary, samples, tmp_path, export) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    data = load(samples / "conversations.json")
    everything = data["_embedded"]["conversations"]
    for number, start in enumerate(range(0, len(everything), 4), start=1):
        page = {**data, "_embedded": {"conversations": everything[start : start + 4]}}
        (pages / f"conversations-{number}.json").write_text(json.dumps(page), encoding="utf-8")
    shutil.copy(samples / "customers.json", pages / "customers.json")
    assert summary(ocx("import", "helpscout", pages, "--json"))["created"] == export.counts()


# --- records the export cannot place ---------------------------------------------------------


def test_a_primary_customer_with_an_email_nobody_knows_becomes_a_customer(
    ocx, summary, rows, copy, export
) -> None:
    def stranger(data: dict[str, Any]) -> None:
        data["_embedded"]["conversations"][1]["primaryCustomer"] = {
            "id": 42, "type": "customer", "first": "Xavier", "last": "Young", "email": "x@y.org"}  # fmt: skip

    edit(copy / "conversations.json", stranger)
    result = summary(ocx("import", "helpscout", copy, "--json"))
    assert result["skipped"] == []
    assert result["created"]["customers"] == export.counts()["customers"] + 1
    found = rows(
        "SELECT c.email, c.name, s.external_id FROM conversations v "
        "JOIN customers c ON c.id = v.customer_id "
        "JOIN customer_sources s ON s.customer_id = c.id AND s.source = 'helpscout' "
        "WHERE v.external_id = ?",
        (str(export.conversations[1]["id"]),),
    )
    assert found == [{"email": "x@y.org", "name": "Xavier Young", "external_id": "42"}]


def test_a_customer_without_an_email_is_skipped_and_their_conversations_find_them_by_email(
    ocx, summary, error, rows, copy, export
) -> None:
    """A phone or chat customer is a real Help Scout customer, not a broken record: listed
    under skipped; a conversation whose primaryCustomer carries their email still makes them."""
    first = export.customers[0]
    edit(
        copy / "customers.json", lambda d: d["_embedded"]["customers"][0]["_embedded"].pop("emails")
    )
    result = summary(ocx("import", "helpscout", copy, "--json"))
    assert result["skipped"] == [
        {"file": str(copy / "customers.json"), "record": f"customer {first['id']}",
         "reason": f"customer {first['id']} has no email address"}
    ]  # fmt: skip
    assert result["created"] == export.counts()  # made from primaryCustomer instead
    name = " ".join(filter(None, (first.get("firstName"), first.get("lastName"))))
    email = first["_embedded"]["emails"][0]["value"].lower()
    assert rows("SELECT name FROM customers WHERE email = ?", (email,)) == [{"name": name}]
    assert "has no email address" in error(ocx("import", "helpscout", copy, "--strict"))


@pytest.mark.parametrize(
    ("file", "change", "record", "reason"),
    [
        ("customers.json", lambda d: d["_embedded"]["customers"][1].pop("id"),
         "customer #2", "customer has no id"),
        ("conversations.json", lambda d: d["_embedded"]["conversations"][2].pop("id"),
         "conversation #3", "conversation has no id"),
        ("conversations.json",
         lambda d: d["_embedded"]["conversations"][0]["_embedded"]["threads"][0].pop("id"),
         "thread #1", "thread has no id"),
    ],
)  # fmt: skip
def test_a_record_without_an_id_is_bad_and_can_be_skipped(
    ocx, summary, dump, error, copy, file, change, record, reason
) -> None:
    edit(copy / file, change)
    before = dump()
    line = error(ocx("import", "helpscout", copy))
    assert f"{file}: " in line and record in line and reason in line, line
    assert dump() == before
    result = summary(ocx("import", "helpscout", copy, "--skip-bad", "--json"))
    assert record in result["skipped"][0]["record"] and reason in result["skipped"][0]["reason"]
