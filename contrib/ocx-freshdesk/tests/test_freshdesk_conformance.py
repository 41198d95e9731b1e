"""ocx's importer conformance suite (ocx.testing.conformance) run against ocx-freshdesk, with
Freshdesk's file names and sample bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ocx_freshdesk.reader import read

from ocx.testing.conformance import (
    ImportCase,
    ImporterCase,
    ImporterConformance,
    RecordCase,
    Unplaced,
    bare,
)
from ocx.testing.records import deep, encoded, field, ids

DATA = Path(__file__).resolve().parent / "data-api"
ANA = {"id": 1, "name": "Ana Lund", "email": "ana@example.com"}

# the odd text test_freshdesk_generated.py feeds the importer, as bytes here
ODD = [
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "佐藤 美咲", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "null", "NaN", "-1", "\\", '"',
]  # fmt: skip
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))


def beside(name: str) -> dict[str, bytes]:
    """A conversations file comes with the tickets.json it belongs to."""
    if not name.startswith("conversations"):
        return {}
    return {"tickets.json": json.dumps([{"id": 1, "requester_id": 1}], indent=1).encode()}


# contacts' and conversation entries' fields that must be text (bad_other)
OTHER_FIELDS = (("contact", "email"), ("contact", "name"), ("entry", "body_text"),
                ("entry", "from_email"))  # fmt: skip


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "requester_id": 1, "subject": f"Ticket {number}", "status": 2,
            "description_text": f"Body {number}", "created_at": "2025-06-02T09:15:00Z",
            **fields}  # fmt: skip


def levels(levels: int) -> tuple[str, str]:
    """The tickets array is level 1; levels 2 to 63 open on line 2, the rest on line 3."""
    text = "[\n" + "[" * 62 + "\n" + "[" * (levels - 63) + "0" + "]" * (levels - 1) + "\n]"
    return "tickets.json", text


def nul_export() -> dict[str, Any]:
    return {
        "contacts.json": [{**ANA, "name": "Ana\u0000 Lund", "description": "VIP\u0000"}],
        "tickets.json": [ticket(7, subject="Refund\u0000 pending",
                                description_text="Invoice\u0000 overdue")],
        "conversations/7.json": [{"id": 70, "body_text": "Still\u0000 waiting",
                                  "incoming": True}],
    }  # fmt: skip


def bad_field(name: str, value: Any) -> tuple[dict[str, Any], str, str]:
    tickets = [ticket(122), ticket(123, **{name: value}), ticket(124)]
    return {"contacts.json": [ANA], "tickets.json": tickets}, "tickets.json", "ticket"


def bad_other(kind: str, name: str) -> tuple[dict[str, Any], str, str, int, str]:
    contacts = [ANA, {"id": 2, "name": "Bo", "email": "bo@example.com"}]
    entries = [{"id": 70, "body_text": "hi"}, {"id": 71, "body_text": "there"}]
    (contacts if kind == "contact" else entries)[1][name] = ["x"]
    export = {"contacts.json": contacts, "tickets.json": [ticket(7)],
              "conversations/7.json": entries}  # fmt: skip
    if kind == "contact":
        return export, "contacts.json", f"contact 2: {name}", 2, "an array"
    return export, "conversations/7.json", f"conversation entry 71: {name}", 71, "an array"


def skip_bad() -> tuple[dict[str, Any], str, int, str]:
    export = {"contacts.json": [ANA],
              "tickets.json": [ticket(1), ticket(2, subject=42), ticket(3)],
              "conversations/2.json": [{"id": 20, "body_text": "hi"}]}  # fmt: skip
    return export, "tickets.json", 2, "ticket 2: subject is a number, expected text"


contacts = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "name", "email", "phone", "time_zone", "description", "custom_fields", "other_emails")})  # fmt: skip
tickets = st.fixed_dictionaries({"id": ids, "requester_id": ids}, optional={k: field for k in (
    "subject", "status", "description", "description_text", "created_at", "requester")})  # fmt: skip
entries = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "body_text", "body", "from_email", "incoming", "private", "created_at")})  # fmt: skip


@st.composite
def json_exports(draw: st.DrawFn) -> dict[str, bytes]:
    people = draw(st.lists(contacts | deep(), max_size=3), label="people")
    cases = draw(st.lists(tickets | deep(), max_size=3), label="cases")
    notes = draw(st.dictionaries(st.sampled_from(["1", "2"]),
                                 st.lists(entries, max_size=2) | deep(), max_size=2),
                 label="notes")  # fmt: skip
    files = {"contacts.json": encoded(people), "tickets.json": encoded(cases)}
    files.update({f"conversations/{k}.json": encoded(v) for k, v in notes.items()})
    return files


# --- damaged copies of the sample export, and files that are not a Freshdesk export --------


def truncated_tickets(folder: Path) -> Path:
    path = folder / "tickets.json"
    path.write_bytes(path.read_bytes()[:1500])
    return folder


def bad_conversation(folder: Path) -> Path:
    path = sorted((folder / "conversations").glob("*.json"))[0]
    path.write_text('[{"id": 1, "body_text": "cut', encoding="utf-8")
    return folder


def empty_contacts(folder: Path) -> Path:
    (folder / "contacts.json").write_bytes(b"")
    return folder


def empty_conversation(folder: Path) -> Path:
    sorted((folder / "conversations").glob("*.json"))[0].write_bytes(b"")
    return folder


def tickets_as_contacts(folder: Path) -> Path:
    shutil.copy(folder / "tickets.json", folder / "contacts.json")
    return folder


def object_as_tickets(folder: Path) -> Path:
    (folder / "tickets.json").write_text('{"tickets": []}', encoding="utf-8")
    return folder


def latin1_contacts(folder: Path) -> Path:
    (folder / "contacts.json").write_bytes('[{"id": 1, "name": "Inès"}]'.encode("latin-1"))
    return folder


def not_a_list(folder: Path, name: str, value: Any) -> tuple[Path, tuple[str, ...]]:
    """A file whose top level is not an array."""
    path = folder / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return path, (f"{path}: not a Freshdesk export (expected a JSON array",)


def add_ticket(folder: Path, ticket: dict[str, Any]) -> None:
    path = folder / "tickets.json"
    tickets = json.loads(path.read_text(encoding="utf-8"))
    tickets.append(
        {"subject": "Extra", "status": 2, "description_text": "Hello", **ticket,
         "created_at": "2025-06-01T10:00:00Z", "updated_at": "2025-06-01T10:00:00Z"}
    )  # fmt: skip
    path.write_text(json.dumps(tickets), encoding="utf-8")


def found_by_email(folder: Path, export: Any) -> tuple[str, str]:
    """A requester missing from the contacts, whose email (in capitals) a contact has."""
    someone = export.contacts[3]
    add_ticket(
        folder,
        {"id": 9001, "requester_id": 77,
         "requester": {"id": 77, "name": someone["name"], "email": someone["email"].upper()}},
    )  # fmt: skip
    return "9001", someone["email"].lower()


def unplaced(folder: Path, export: Any) -> Unplaced:
    add_ticket(folder, {"id": 9002, "requester_id": 78})
    reason = "ticket 9002: requester 78 is not in this export; import the contacts too"
    return Unplaced("tickets.json", "ticket 9002", reason, export.counts(), "9002",
                    ("9002-description",))  # fmt: skip


def one_more(samples: Path) -> tuple[Path, int]:
    """A conversations file alone, after contacts.json and tickets.json."""
    one = sorted((samples / "conversations").glob("*.json"))[0]
    return one, len(json.loads(one.read_text(encoding="utf-8")))


IMPORTS = ImportCase(
    dist="ocx-freshdesk",
    title="Freshdesk",
    damages=(
        (truncated_tickets, "tickets.json:", "invalid or truncated JSON at column"),
        (bad_conversation, ".json:1: ", "invalid or truncated JSON at column"),
        (empty_contacts, "contacts.json", "file is empty"),
        (empty_conversation, ".json", "file is empty"),
        (tickets_as_contacts, "contacts.json",
         "not a Freshdesk export (expected a JSON array of contacts"),
        (object_as_tickets, "tickets.json",
         "not a Freshdesk export (expected a JSON array of tickets"),
        (latin1_contacts, "contacts.json", "not UTF-8"),
    ),
    not_exports=(
        ("bad/empty.json", "empty.json: file is empty"),
        ("bad/zendesk_truncated.json", "zendesk_truncated.json: not a Freshdesk export (expected"),
        ("zendesk/tickets.json", "tickets.json: not a Freshdesk export (expected"),
        ("helpscout/customers.json", "customers.json: not a Freshdesk export (expected"),
    ),
    truncated="tickets.json",
    non_utf8=(("contacts.json", b'"name": "', 2), ("tickets.json", b'"subject": "', 3),
              ("conversations/2001.json", b'"body_text": "', 1)),
    # tests/data-api/export/tickets-2.json: an agent's own ticket, skipped
    not_a_list=not_a_list,
    found_by_email=found_by_email,
    unplaced=unplaced,
    single_files=("contacts.json", "tickets.json"),
    one_more=one_more,
    not_a_list_in=("contacts.json", "tickets.json", "conversations/2001.json"),
    strict=((DATA / "export", "ticket 26: requested by agent Test Agent 1"),),
)  # fmt: skip


class TestFreshdeskConformance(ImporterConformance):
    case = ImporterCase(
        name="freshdesk",
        read=read,
        deep={"contacts.json": bare, "tickets.json": bare},
        byte_files=("contacts.json", "tickets.json", "conversations/1.json"),
        beside=beside,
        read_file="tickets.json",
        read_bytes=st.one_of(
            st.binary(max_size=200), text.map(lambda t: t.encode("utf-8", "surrogatepass"))
        ),
        records=RecordCase(
            levels=levels,
            read_at_64="not a Freshdesk export",  # an array of arrays is no Freshdesk export
            nul_export=nul_export,
            nul_bodies=["Invoice overdue", "Still waiting"],
            nul_words=("pending", "overdue", "waiting"),
            text_fields=("subject", "description_text", "created_at"),
            bad_field=bad_field,
            other_fields=OTHER_FIELDS,
            bad_other=bad_other,
            skip_bad=skip_bad,
            skip_bad_messages=["1-description", "3-description"],
            json_exports=json_exports(),
        ),
        imports=IMPORTS,
    )
