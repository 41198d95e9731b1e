"""`ocx import freshdesk` through the real CLI, with the installed package found through the
`ocx` entry-point group, on a real SQLite file. Expected numbers are derived here from the
sample export with plain json, not copied from its README."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ocx.plugin_api import iana_zone
from ocx.testing import RAILS_TO_IANA, clock

# Freshdesk's names for its numbers (developers.freshdesk.com/api, "Ticket properties").
STATUS = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
# Freshdesk's Rails zone names in the samples, as IANA names (Beirut is not in Rails' table:
# it is found by city).
ZONES = {
    "London": "Europe/London", "Kolkata": "Asia/Kolkata", "Berlin": "Europe/Berlin",
    "Beijing": "Asia/Shanghai", "Sydney": "Australia/Sydney", "Madrid": "Europe/Madrid",
    "Nairobi": "Africa/Nairobi", "Copenhagen": "Europe/Copenhagen", "Beirut": "Asia/Beirut",
    "Ljubljana": "Europe/Ljubljana",
}  # fmt: skip
TAG = re.compile(r"<[a-zA-Z/][^>]*>")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def copy(samples: Path, tmp_path: Path) -> Path:
    """A writable copy of the sample export, to change."""
    return Path(shutil.copytree(samples, tmp_path / "freshdesk"))


# --- the sample export -----------------------------------------------------------------------


def test_private_entries_are_internal_notes(ocx, summary, rows, samples, export) -> None:
    summary(ocx("import", "freshdesk", samples, "--json"))
    private = {str(e["id"]) for e in export.all_entries if e.get("private")}
    assert private, "the samples should hold at least one private note"
    stored = rows("SELECT external_id FROM messages WHERE source = 'freshdesk' AND public = 0")
    assert {r["external_id"] for r in stored} == private


def test_html_becomes_text_and_plain_text_is_preferred(ocx, summary, rows, samples, export) -> None:
    summary(ocx("import", "freshdesk", samples, "--json"))
    bodies = rows("SELECT external_id, body FROM messages WHERE source = 'freshdesk'")
    assert all(not TAG.search(r["body"]) for r in bodies), [
        r for r in bodies if TAG.search(r["body"])
    ]
    by_id = {r["external_id"]: r["body"] for r in bodies}
    for ticket in export.tickets:
        assert by_id[f"{ticket['id']}-description"] == ticket["description_text"].strip()
    for entry in export.all_entries:
        assert by_id[str(entry["id"])] == entry["body_text"].strip()
    html_tickets = [t for t in export.tickets if "<table" in (t.get("description") or "")]
    assert html_tickets, "the samples should hold an HTML table description"


def test_html_only_bodies_are_turned_into_text(ocx, summary, rows, copy: Path) -> None:
    tickets = load(copy / "tickets.json")
    for ticket in tickets:
        del ticket["description_text"]
    (copy / "tickets.json").write_text(json.dumps(tickets), encoding="utf-8")
    for path in (copy / "conversations").glob("*.json"):
        entries = load(path)
        for entry in entries:
            del entry["body_text"]
        path.write_text(json.dumps(entries), encoding="utf-8")
    summary(ocx("import", "freshdesk", copy, "--json"))
    bodies = [r["body"] for r in rows("SELECT body FROM messages")]
    assert bodies and all(body.strip() for body in bodies)
    assert all(not TAG.search(body) for body in bodies)
    assert any("I've removed the 6 duplicated transactions" in body for body in bodies)  # &#x27;


def test_contacts_fill_the_profile(ocx, summary, rows, samples, export) -> None:
    summary(ocx("import", "freshdesk", samples, "--json"))
    stored = {
        r["email"]: r
        for r in rows(
            "SELECT email, name, phone, time_zone, language, pace, context FROM customers"
        )
    }
    for contact in export.contacts:
        row = stored[contact["email"].lower()]
        assert row["name"] == contact["name"]
        assert row["phone"] == (contact["phone"] or contact["mobile"])
        assert row["time_zone"] == ZONES[contact["time_zone"]]
        assert row["language"] == contact["language"]
        assert row["context"] == contact["description"]
        assert row["pace"] == contact["custom_fields"].get("preferred_pace")
    kwame = [c for c in export.contacts if c["phone"] is None and c["mobile"]]
    assert kwame, "the samples should hold a contact with only a mobile number"
    tags = rows(
        "SELECT c.email, t.tag FROM tags t JOIN customers c ON c.id = t.customer_id ORDER BY t.tag"
    )
    for contact in export.contacts:
        assert [t["tag"] for t in tags if t["email"] == contact["email"].lower()] == sorted(
            contact.get("tags", [])
        )


def test_every_rails_zone_name_maps_to_a_zone_ocx_accepts() -> None:
    for name, zone in RAILS_TO_IANA.items():
        assert clock.check_zone(iana_zone(name)) == zone
    assert iana_zone("Central Time (US & Canada)") == "America/Chicago"
    assert iana_zone("Europe/Oslo") == "Europe/Oslo"
    assert iana_zone("Atlantis") is None  # ocx drops what it does not know


def test_statuses_directions_and_authors(ocx, summary, rows, samples, export) -> None:
    summary(ocx("import", "freshdesk", samples, "--json"))
    statuses = {
        r["external_id"]: r["status"]
        for r in rows("SELECT external_id, status FROM conversations WHERE source = 'freshdesk'")
    }
    assert statuses == {str(t["id"]): STATUS[t["status"]] for t in export.tickets}
    names = {c["id"]: c["name"] for c in export.contacts}
    messages = {
        r["external_id"]: r
        for r in rows("SELECT external_id, author, direction, created_at FROM messages")
    }
    for ticket in export.tickets:
        first = messages[f"{ticket['id']}-description"]
        assert (first["author"], first["direction"]) == (names[ticket["requester_id"]], "inbound")
        assert first["created_at"] == ticket["created_at"]
    for entry in export.all_entries:
        row = messages[str(entry["id"])]
        if entry["incoming"]:
            assert (row["direction"], row["author"]) == ("inbound", names[entry["user_id"]])
        else:  # no agents.json in the samples: named by id, never a bare number
            assert (row["direction"], row["author"]) == ("outbound", f"agent {entry['user_id']}")
        assert row["created_at"] == entry["created_at"]


def test_a_ticket_without_a_conversations_file_has_its_description_only(
    ocx, summary, rows, samples, export
) -> None:
    summary(ocx("import", "freshdesk", samples, "--json"))
    lonely = [t for t in export.tickets if t["id"] not in export.entries]
    assert lonely, "the samples should hold a ticket with no conversations file"
    for ticket in lonely:
        found = rows(
            "SELECT m.external_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.source = 'freshdesk' AND c.external_id = ?",
            (str(ticket["id"]),),
        )
        assert [r["external_id"] for r in found] == [f"{ticket['id']}-description"]


# --- requesters and records the export cannot place ----------------------------------------


def test_tickets_alone_between_two_contacts_imports_undo_nothing_a_person_did(
    ocx, summary, rows, samples: Path, export: Any, tmp_path: Path
) -> None:
    """The requester a ticket embeds says less than the contact (no tags, no time zone): a
    tickets-only import in between must not make a later contacts import bring back a tag
    someone removed in ocx."""
    marcus = export.contacts[0]
    assert "vip" in marcus["tags"]
    summary(ocx("import", "freshdesk", samples / "contacts.json", "--json"))
    edited = ocx("customer", "edit", marcus["email"], "--untag", "vip")
    assert edited.exit_code == 0, edited.output
    alone = tmp_path / "nightly"
    alone.mkdir()
    shutil.copy(samples / "tickets.json", alone / "tickets.json")
    nightly = summary(ocx("import", "freshdesk", alone, "--json"))
    assert nightly["created"]["customers"] == 0 and nightly["skipped"] == []
    summary(ocx("import", "freshdesk", samples / "contacts.json", "--json"))
    tags = rows(
        "SELECT t.tag FROM tags t JOIN customers c ON c.id = t.customer_id WHERE c.email = ?",
        (marcus["email"].lower(),),
    )
    assert sorted(t["tag"] for t in tags) == sorted(set(marcus["tags"]) - {"vip"})


def test_a_record_without_an_id_is_bad_and_can_be_skipped(
    ocx, summary, dump, error, rows, copy, export
) -> None:
    contacts = load(copy / "contacts.json")
    del contacts[2]["id"]
    (copy / "contacts.json").write_text(json.dumps(contacts), encoding="utf-8")
    before = dump()
    line = error(ocx("import", "freshdesk", copy))
    assert "contacts.json: contact #3: contact has no id" in line
    assert dump() == before
    result = summary(ocx("import", "freshdesk", copy, "--skip-bad", "--json"))
    skipped = [(s["record"], s["reason"]) for s in result["skipped"]]
    assert skipped == [("contact #3", "contact has no id")]
    # The person still comes in, as the requester their ticket embeds (include=requester),
    # with the name, email and phone it gives.
    nameless = contacts[2]
    asked = [t for t in export.tickets if t["requester_id"] == export.contacts[2]["id"]]
    assert asked, "the samples should hold a ticket from the third contact"
    assert result["created"]["customers"] == export.counts()["customers"]
    found = rows("SELECT name, phone FROM customers WHERE email = ?", (nameless["email"].lower(),))
    requester = asked[0]["requester"]
    assert found == [{"name": requester["name"],
                      "phone": requester["phone"] or requester["mobile"]}]  # fmt: skip


# --- conversations of unknown tickets ---------------------------------------------------------


def test_conversations_of_a_ticket_that_is_not_in_the_export(
    ocx, summary, dump, error, copy: Path, export: Any
) -> None:
    assert 7777 not in {t["id"] for t in export.tickets}
    orphan = copy / "conversations" / "7777.json"
    shutil.copy(copy / "conversations" / "2001.json", orphan)
    before = dump()
    line = error(ocx("import", "freshdesk", copy))
    assert f"{orphan}: " in line and "ticket 7777" in line and "not in the export" in line, line
    assert "--skip-bad" in line
    assert dump() == before
    # the one tickets.json of the folder is the whole export as well
    line = error(ocx("import", "freshdesk", copy / "tickets.json"))
    assert f"{orphan}: " in line and "not in the export" in line, line
    assert dump() == before

    result = summary(ocx("import", "freshdesk", copy, "--skip-bad", "--json"))
    assert result["created"] == export.counts()
    [skipped] = result["skipped"]
    assert skipped["file"] == str(orphan)
    assert "7777" in skipped["record"] and "not in the export" in skipped["reason"]
