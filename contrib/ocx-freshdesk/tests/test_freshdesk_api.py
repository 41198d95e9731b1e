"""`ocx import freshdesk` on the responses the Freshdesk API v2 really sends (tests/data-api/,
built from airbyte's recordings of a live account and developers.freshdesk.com's examples):
tickets with include=requester and no contacts file, pages, agents and companies beside the
tickets, tickets without requesters whose contacts come later. Expected values are derived
here from the files with plain json and Freshdesk's documented tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ocx_freshdesk.reader import _pages

DATA = Path(__file__).resolve().parent / "data-api"
EXPORT, PLAIN, PEOPLE = DATA / "export", DATA / "plain", DATA / "people"
# developers.freshdesk.com/api, "Ticket properties" (sources 4-6, 8, 11-13: as the recorded
# account's GET /api/v2/ticket_fields names them; none are in the data).
STATUS = {2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"}
PRIORITY = {1: "Low", 2: "Medium", 3: "High", 4: "Urgent"}
SOURCE = {1: "Email", 2: "Portal", 3: "Phone", 7: "Chat", 9: "Feedback Widget",
          10: "Outbound Email"}  # fmt: skip
# "New Survey Ratings" (developers.freshdesk.com/api, Satisfaction Ratings)
RATING = {103: "Extremely Happy", 102: "Very Happy", 101: "Happy", 100: "Neutral",
          -101: "Unhappy", -102: "Very Unhappy", -103: "Extremely Unhappy"}  # fmt: skip
NO_AGENT_NAMES = (
    "1 agent had no name, their messages say 'agent ID' "
    "(save GET /api/v2/agents as agents.json beside the tickets)"
)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def tickets(folder: Path) -> list[dict[str, Any]]:
    return [t for page in _sorted_pages(folder) for t in load(page)]


def _sorted_pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("tickets*.json"))


def entries(folder: Path) -> dict[int, list[dict[str, Any]]]:
    return {int(p.stem): load(p) for p in (folder / "conversations").glob("*.json")}


AGENTS = {a["id"]: a["contact"]["name"] for a in load(EXPORT / "agents.json")}
COMPANIES = {c["id"]: c["name"] for c in load(EXPORT / "companies.json")}


def satisfaction(folder: Path) -> dict[int, dict[str, str]]:
    """Each ticket's latest survey answer, as ocx keeps it: score by name, comment."""
    latest: dict[int, dict[str, Any]] = {}
    for answer in load(folder / "satisfaction_ratings.json"):
        before = latest.get(answer["ticket_id"])
        if before is None or before["updated_at"] <= answer["updated_at"]:
            latest[answer["ticket_id"]] = answer
    return {
        ticket_id: {"score": RATING[a["ratings"]["default_question"]],
                    **({"comment": a["feedback"].replace("\r\n", "\n")} if a["feedback"] else {})}
        for ticket_id, a in latest.items()
    }  # fmt: skip


def customer_tickets(folder: Path) -> list[dict[str, Any]]:
    """The tickets a customer asked: not an agent's own, and with a requester ocx can know."""
    return [
        t for t in tickets(folder)
        if t["requester_id"] not in AGENTS and (t.get("requester") or {}).get("email")
    ]  # fmt: skip


def by_id(rows: list[dict[str, Any]], key: str = "external_id") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A writable copy of tests/data-api."""
    return Path(shutil.copytree(DATA, tmp_path / "data-api"))


# --- tickets with include=requester and no contacts.json ----------------------------------------


def test_tickets_with_their_requesters_import_without_any_contacts_file(ocx, summary, rows) -> None:
    assert not list(EXPORT.glob("contacts*.json"))
    wanted = customer_tickets(EXPORT)
    result = summary(ocx("import", "freshdesk", EXPORT, "--json"))
    people = {t["requester"]["email"].lower() for t in wanted}
    notes = entries(EXPORT)
    messages = len(wanted) + sum(len(notes.get(t["id"], [])) for t in wanted)
    assert result["created"] == {
        "customers": len(people), "conversations": len(wanted), "messages": messages,
    }  # fmt: skip
    assert result["warnings"] == []
    stored = rows("SELECT external_id FROM conversations WHERE source = 'freshdesk'")
    assert {r["external_id"] for r in stored} == {str(t["id"]) for t in wanted}
    # every customer is linked to its Freshdesk id, freshdesk:ID
    linked = rows(
        "SELECT c.email, s.external_id FROM customer_sources s "
        "JOIN customers c ON c.id = s.customer_id WHERE s.source = 'freshdesk'"
    )
    assert {(r["email"], r["external_id"]) for r in linked} == {
        (t["requester"]["email"].lower(), str(t["requester_id"])) for t in wanted
    }


def test_a_requester_gives_name_phone_else_mobile_and_company(ocx, summary, rows) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    stored = by_id(rows("SELECT email, name, phone, company FROM customers"), "email")
    for ticket in customer_tickets(EXPORT):
        requester = ticket["requester"]
        row = stored[requester["email"].lower()]
        assert row["name"] == requester["name"]
        assert row["phone"] == (requester["phone"] or requester["mobile"])
        company = COMPANIES.get(ticket["company_id"])
        if company:
            assert row["company"] == company
    iryna = stored["iryna.grankova@airbyte.io"]
    assert (iryna["phone"], iryna["company"]) == ("+380636306253", "Airbyte")  # mobile only


def test_a_name_alone_never_makes_two_people_one_customer(ocx, summary, rows) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    reyes = [t for t in tickets(EXPORT) if t["requester"]["name"] == "Jessica Reyes"]
    assert len({t["requester"]["email"] for t in reyes}) == 2
    found = rows(
        "SELECT v.external_id, c.email FROM conversations v "
        "JOIN customers c ON c.id = v.customer_id WHERE c.name = 'Jessica Reyes'"
    )
    assert {(r["external_id"], r["email"]) for r in found} == {
        (str(t["id"]), t["requester"]["email"]) for t in reyes
    }


def test_agent_and_caller_tickets_are_skipped_with_a_true_reason(ocx, summary, rows) -> None:
    page = EXPORT / "tickets-2.json"
    result = summary(ocx("import", "freshdesk", EXPORT, "--json"))
    assert result["skipped"] == [
        {"file": str(page), "record": "ticket 26",
         "reason": "ticket 26: requested by agent Test Agent 1"},
        {"file": str(page), "record": "ticket 27",
         "reason": "ticket 27: requester 67038833140 has no email address; "
                   "ocx knows customers by email"},
    ]  # fmt: skip
    # their messages go with them; the agent's ticket's conversations file is no orphan
    dropped = "SELECT * FROM messages WHERE external_id IN ('26-description', '67105000261')"
    assert rows(dropped) == []
    assert rows("SELECT * FROM customers WHERE email = 'test_agent_1@test.com'") == []


# --- pages -----------------------------------------------------------------------------------


def test_every_page_is_read_and_the_empty_last_page_is_fine(ocx, summary) -> None:
    assert load(EXPORT / "tickets-3.json") == []
    whole = summary(ocx("import", "freshdesk", EXPORT, "--json"))
    assert whole["created"]["conversations"] == len(customer_tickets(EXPORT))
    assert {t["id"] for t in load(EXPORT / "tickets-2.json")} & {
        int(s["record"].split()[1]) for s in whole["skipped"]
    }, "the second page should be read"


def test_pages_given_as_paths_in_any_order_import_as_the_folder_does(ocx, summary, rows) -> None:
    pages = [EXPORT / "tickets-3.json", EXPORT / "tickets-2.json", EXPORT / "tickets.json"]
    result = summary(ocx("import", "freshdesk", *pages, "--json"))
    wanted = customer_tickets(EXPORT)
    assert result["created"]["conversations"] == len(wanted)
    # the agents and companies beside the pages are read with them
    assert rows("SELECT company FROM customers WHERE email = 'iryna.grankova@airbyte.io'") == [
        {"company": "Airbyte"}
    ]
    again = summary(ocx("import", "freshdesk", EXPORT, "--json"))
    assert again["created"] == {"customers": 0, "conversations": 0, "messages": 0}


def test_pages_are_in_number_order_with_or_without_leading_zeros(tmp_path: Path) -> None:
    names = ["tickets-10.json", "tickets.json", "tickets-2.json", "tickets-0003.json"]
    for name in names:
        (tmp_path / name).write_text("[]", encoding="utf-8")
    assert [p.name for p in _pages(tmp_path, "tickets")] == [
        "tickets.json", "tickets-2.json", "tickets-0003.json", "tickets-10.json"
    ]  # fmt: skip


# --- authors ----------------------------------------------------------------------------------


def test_agents_are_authors_by_name_and_customers_by_the_requesters_name(
    ocx, summary, rows
) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    stored = by_id(rows("SELECT external_id, author, direction, public FROM messages"))
    by_ticket = {t["id"]: t for t in tickets(EXPORT)}
    for ticket in customer_tickets(EXPORT):
        first = stored[f"{ticket['id']}-description"]
        if ticket["source"] == 10:  # outbound email: the agent wrote it
            assert (first["direction"], first["author"]) == (
                "outbound", AGENTS[ticket["responder_id"]])  # fmt: skip
        else:
            assert (first["direction"], first["author"]) == ("inbound", ticket["requester"]["name"])
    for ticket_id, items in entries(EXPORT).items():
        if ticket_id == 26:
            continue  # skipped with its ticket
        for item in items:
            row = stored[str(item["id"])]
            if item["incoming"]:
                assert row["author"] == by_ticket[ticket_id]["requester"]["name"]
            else:
                assert row["author"] == AGENTS[item["user_id"]]
            assert row["public"] == (0 if item["private"] else 1)
    assert not [r for r in stored.values() if (r["author"] or "x").isdigit()]


def test_without_agents_json_an_agent_is_agent_id_and_the_summary_says_so(
    ocx, summary, rows, copy: Path
) -> None:
    (copy / "export" / "agents.json").unlink()
    result = summary(ocx("import", "freshdesk", copy / "export", "--json"))
    assert result["warnings"] == [NO_AGENT_NAMES]
    authors = {
        r["author"] for r in rows("SELECT author FROM messages WHERE direction = 'outbound'")
    }
    assert authors == {"agent 67013469919"}


# --- what a support engineer wants to see ---------------------------------------------------


def test_status_priority_channel_type_tags_and_custom_fields_are_freshdesks_names(
    ocx, summary, rows
) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    stored = by_id(rows("SELECT external_id, status, data FROM conversations"))
    rated = satisfaction(EXPORT)
    for ticket in customer_tickets(EXPORT):
        row = stored[str(ticket["id"])]
        assert row["status"] == STATUS.get(ticket["status"], str(ticket["status"]))
        data = json.loads(row["data"])
        expected: dict[str, Any] = {
            "priority": PRIORITY[ticket["priority"]], "channel": SOURCE[ticket["source"]],
        }  # fmt: skip
        if ticket["type"]:
            expected["type"] = ticket["type"]
        if ticket["tags"]:
            expected["tags"] = ticket["tags"]
        fields = [
            {"label": k, "value": v} for k, v in ticket["custom_fields"].items() if v is not None
        ]
        if fields:
            expected["custom_fields"] = fields
        if ticket["id"] in rated:
            expected["satisfaction"] = rated[ticket["id"]]
        assert data == expected, ticket["id"]
    assert stored["24"]["status"] == "6"  # a custom status: as given


def test_the_timeline_shows_the_ticket_and_search_finds_its_fields(ocx, summary) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    timeline = json.loads(ocx("customer", "timeline", "sarah.james@freshdesk.com", "--json").stdout)
    [conversation] = [e for e in timeline if e["kind"] == "conversation"]
    data = conversation["data"]
    assert (data["status"], data["priority"], data["type"], data["channel"]) == (
        "Open", "High", "Refund", "Email")  # fmt: skip
    assert data["tags"] == ["refund", "damaged in transit"]
    assert data["custom_fields"] == [
        {"label": "cf_order_number", "value": "FD07062010"},
        {"label": "cf_refund_approved", "value": True},
    ]
    human = ocx("customer", "timeline", "sarah.james@freshdesk.com").stdout
    assert "High" in human and "Refund" in human
    found = json.loads(ocx("customer", "search", "FD07062010", "--json").stdout)
    assert [c["email"] for c in found] == ["sarah.james@freshdesk.com"]


def test_a_tickets_latest_satisfaction_rating_is_kept_with_its_comment(ocx, summary, rows) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    stored = by_id(rows("SELECT external_id, data FROM conversations"))
    kept = {int(k): json.loads(r["data"])["satisfaction"] for k, r in stored.items()
            if "satisfaction" in json.loads(r["data"])}  # fmt: skip
    assert kept == satisfaction(EXPORT)
    assert kept[19] == {"score": "Very Happy", "comment": "Quick replacement,\nthank you"}
    assert kept[23] == {"score": "Extremely Happy", "comment": "test"}


def test_ticket_tags_do_not_become_the_customers_tags(ocx, summary, rows) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    assert any(t["tags"] for t in customer_tickets(EXPORT))
    assert rows("SELECT * FROM tags") == []


def test_windows_line_endings_become_newlines(ocx, summary, rows) -> None:
    summary(ocx("import", "freshdesk", EXPORT, "--json"))
    sarah = next(t for t in tickets(EXPORT) if t["id"] == 19)
    assert "\r\n" in sarah["description_text"]
    stored = by_id(rows("SELECT external_id, body FROM messages"))
    assert stored["19-description"]["body"] == sarah["description_text"].replace("\r\n", "\n")
    assert stored["67105000192"]["body"] == "Thank you!\nSarah"
    assert not [r for r in stored.values() if "\r" in r["body"]]


def test_a_customer_ocx_knows_by_email_is_linked_not_doubled(ocx, summary, rows) -> None:
    added = ocx("customer", "add", "Iryna.Grankova@airbyte.io", "--name", "Iryna G.")
    assert added.exit_code == 0, added.output
    result = summary(ocx("import", "freshdesk", EXPORT, "--json"))
    assert result["updated"]["customers"] == 1
    [row] = rows("SELECT id, name, company, phone FROM customers WHERE email LIKE 'iryna%'")
    # what was there stays; what was empty is filled
    assert (row["name"], row["company"], row["phone"]) == ("Iryna G.", "Airbyte", "+380636306253")
    assert rows("SELECT source, external_id FROM customer_sources WHERE customer_id = ?",
                (row["id"],)) == [{"source": "freshdesk", "external_id": "67042965499"}]  # fmt: skip
    iryna = {str(t["id"]) for t in customer_tickets(EXPORT) if t["requester_id"] == 67042965499}
    found = rows("SELECT external_id FROM conversations WHERE customer_id = ?", (row["id"],))
    assert {r["external_id"] for r in found} == iryna


# --- tickets without requesters: the contacts come later -----------------------------------------


def plain_reasons() -> list[dict[str, Any]]:
    return [
        {"file": str(PLAIN / "tickets.json"), "record": f"ticket {t['id']}",
         "reason": f"ticket {t['id']}: requester {t['requester_id']} is not in this export; "
                   "import the contacts too"}
        for t in load(PLAIN / "tickets.json")
    ]  # fmt: skip


def test_tickets_whose_requesters_are_unknown_are_skipped_and_come_in_with_the_contacts(
    ocx, summary, rows, dump, error
) -> None:
    plain = load(PLAIN / "tickets.json")
    assert not [t for t in plain if "requester" in t]
    first = summary(ocx("import", "freshdesk", PLAIN, "--json"))
    assert first["created"] == {"customers": 0, "conversations": 0, "messages": 0}
    assert first["skipped"] == plain_reasons()
    assert rows("SELECT * FROM messages") == []

    before = dump()
    line = error(ocx("import", "freshdesk", PLAIN, "--strict"))
    assert plain_reasons()[0]["reason"] in line, line
    assert dump() == before

    # later, with the contacts (two pages, in another folder)
    later = summary(ocx("import", "freshdesk", PLAIN / "tickets.json", PEOPLE, "--json"))
    contacts = load(PEOPLE / "contacts.json") + load(PEOPLE / "contacts-2.json")
    notes = entries(PLAIN)
    assert later["created"] == {
        "customers": len(contacts), "conversations": len(plain),
        "messages": len(plain) + sum(len(v) for v in notes.values()),
    }  # fmt: skip
    assert later["skipped"] == []
    owners = rows(
        "SELECT v.external_id, s.external_id AS requester FROM conversations v "
        "JOIN customer_sources s ON s.customer_id = v.customer_id AND s.source = 'freshdesk'"
    )
    assert {(r["external_id"], r["requester"]) for r in owners} == {
        (str(t["id"]), str(t["requester_id"])) for t in plain
    }
    # and once more: nothing new, nothing doubled
    again = summary(ocx("import", "freshdesk", PEOPLE, PLAIN, "--json"))
    assert again["created"] == {"customers": 0, "conversations": 0, "messages": 0}
    assert len(rows("SELECT * FROM conversations")) == len(plain)


@pytest.mark.parametrize(
    "order",
    [
        [PEOPLE / "contacts-2.json", PLAIN, PEOPLE / "contacts.json"],
        [PLAIN / "tickets.json", PEOPLE / "contacts-2.json", PEOPLE / "contacts.json"],
        [PLAIN, PEOPLE],
    ],
    ids=["page-2-first", "tickets-first", "folders"],
)
def test_people_are_read_first_whatever_the_order_of_the_paths(
    ocx, summary, rows, order: list[Path]
) -> None:
    result = summary(ocx("import", "freshdesk", *order, "--json"))
    assert result["skipped"] == []
    assert result["created"]["conversations"] == len(load(PLAIN / "tickets.json"))
    assert result["warnings"] == [NO_AGENT_NAMES]  # plain/ has no agents.json
    zones = {r["time_zone"] for r in rows("SELECT time_zone FROM customers")}
    assert zones == {"Asia/Kolkata"}  # Freshdesk's Rails name "Chennai"


def test_the_structured_description_is_the_first_message_when_the_html_is_missing(
    ocx, summary, rows, copy: Path
) -> None:
    path = copy / "plain" / "tickets.json"
    plain = load(path)
    for ticket in plain:
        del ticket["description"], ticket["description_text"]
    del plain[1]["structured_description"]  # nothing at all: no first message, and a warning
    path.write_text(json.dumps(plain), encoding="utf-8")
    result = summary(ocx("import", "freshdesk", path, copy / "people", "--json"))
    assert "1 ticket had no description (export with include=description)" in result["warnings"]
    stored = by_id(rows("SELECT external_id, body FROM messages"))
    assert stored[f"{plain[0]['id']}-description"]["body"] == "Please help with this issue"
    assert f"{plain[1]['id']}-description" not in stored
