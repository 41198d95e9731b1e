"""ocx's importer conformance suite (ocx.testing.conformance) run against ocx-helpscout, with
Help Scout's page files and sample bytes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ocx_helpscout.reader import read

from ocx.testing.conformance import (
    ImportCase,
    ImporterCase,
    ImporterConformance,
    RecordCase,
    Unplaced,
)
from ocx.testing.records import deep, encoded, field, ids

DATA = Path(__file__).resolve().parent / "data-api"
ANA = {
    "id": 1,
    "firstName": "Ana",
    "lastName": "Lund",
    "_embedded": {"emails": [{"id": 1, "value": "ana@example.com", "type": "work"}]},
}
# customers' and threads' fields that must be text (bad_other)
OTHER_FIELDS = (("customer", "firstName"), ("customer", "background"), ("email", "value"),
                ("thread", "body"), ("thread", "type"))  # fmt: skip

# the odd text test_helpscout_generated.py feeds the importer, as bytes here
ODD = [
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "陽翔", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "<p>unclosed <div", "null", "\\", '"',
]  # fmt: skip
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))


def embedded(kind: str) -> Callable[[str], str]:
    """A Help Scout page whose `_embedded` array is the nested brackets."""
    return lambda brackets: f'{{"_embedded": {{"{kind}": ' + brackets + "}}"


def conversation(number: int, *threads: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": number, "subject": f"Conversation {number}", "status": "active",
            "primaryCustomer": {"id": 1}, "createdAt": "2025-06-02T09:15:00Z", **fields,
            "_embedded": {"threads": list(threads)}}  # fmt: skip


def thread(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": number, "type": "customer", "body": f"<p>Thread {number}</p>",
            "createdAt": "2025-06-02T09:15:00Z", **fields}  # fmt: skip


def customers(*people: Any) -> dict[str, Any]:
    return {"_embedded": {"customers": list(people)}, "page": {"number": 1, "totalPages": 1}}


def conversations(*items: Any) -> dict[str, Any]:
    return {"_embedded": {"conversations": list(items)}, "page": {"number": 1, "totalPages": 1}}


def levels(levels: int) -> tuple[str, str]:
    """The page is level 1, _embedded 2, the conversations array 3, a conversation 4; levels
    5 to 63 open on line 2, the rest on line 3."""
    head = '{"_embedded": {"conversations": [{"id": 1, "primaryCustomer": {"id": 1}, "x":\n'
    text = (head + "[" * 59 + "\n" + "[" * (levels - 63) + "0" + "]" * (levels - 4)
            + "}]}, \"page\": {}}")  # fmt: skip
    return "conversations.json", text


def nul_export() -> dict[str, Any]:
    return {
        "customers.json": customers({**ANA, "firstName": "An\u0000a", "background": "VIP\u0000"}),
        "conversations.json": conversations(
            conversation(7, thread(70, body="<p>Still\u0000 waiting</p>"),
                         subject="Refund\u0000 pending")),
    }  # fmt: skip


def bad_field(name: str, value: Any) -> tuple[dict[str, Any], str, str]:
    talks = conversations(conversation(122), conversation(123, **{name: value}),
                          conversation(124))  # fmt: skip
    return ({"customers.json": customers(ANA), "conversations.json": talks},
            "conversations.json", "conversation")  # fmt: skip


def bad_other(where: str, name: str) -> tuple[dict[str, Any], str, str, int, str]:
    """A thread is told at the line of its conversation, the record it came in."""
    bo: dict[str, Any] = {"id": 2, "firstName": "Bo",
                          "_embedded": {"emails": [{"value": "bo@example.com"}]}}  # fmt: skip
    threads = [thread(70), thread(71)]
    if where == "customer":
        bo[name] = 7
    elif where == "email":
        bo["_embedded"]["emails"][0]["value"] = 7
    else:
        threads[1][name] = 7
    export = {"customers.json": customers(ANA, bo),
              "conversations.json": conversations(conversation(5, *threads))}  # fmt: skip
    if where == "thread":
        return export, "conversations.json", f"conversation 5 thread 71: {name}", 5, "a number"
    label = "_embedded.emails value" if where == "email" else name
    return export, "customers.json", f"customer 2: {label}", 2, "a number"


def skip_bad() -> tuple[dict[str, Any], str, int, str]:
    talks = conversations(conversation(1, thread(10)),
                          conversation(2, thread(20), subject=["x"]),
                          conversation(3, thread(30)))  # fmt: skip
    export = {"customers.json": customers(ANA), "conversations.json": talks}
    return export, "conversations.json", 2, "conversation 2: subject is an array, expected text"


people = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "firstName", "lastName", "organization", "background", "email", "_embedded")})  # fmt: skip
threads = st.fixed_dictionaries({"id": ids}, optional={k: field for k in (
    "type", "state", "body", "createdAt", "createdBy", "customer")})  # fmt: skip
talks = st.fixed_dictionaries({"id": ids}, optional={
    **{k: field for k in ("subject", "status", "createdAt", "updatedAt", "primaryCustomer")},
    "_embedded": st.fixed_dictionaries({"threads": st.lists(threads, max_size=3)}) | deep()})  # fmt: skip


@st.composite
def json_exports(draw: st.DrawFn) -> dict[str, bytes]:
    """Records of any shape, in pages of the right shape (or not: `wrap` False)."""
    folks = draw(st.lists(people | deep(), max_size=3), label="folks")
    items = draw(st.lists(talks | deep(), max_size=3), label="items")
    wrap = draw(st.booleans(), label="wrap")
    return {
        "customers.json": encoded(customers(*folks) if wrap else folks),
        "conversations.json": encoded(conversations(*items) if wrap else items),
    }


# --- damaged copies of the sample export, and files that are not a Help Scout export -------


def truncated_conversations(folder: Path) -> Path:
    path = folder / "conversations.json"
    path.write_bytes(path.read_bytes()[:5000])
    return folder


def empty_customers(folder: Path) -> Path:
    (folder / "customers.json").write_bytes(b"")
    return folder


def conversations_as_customers(folder: Path) -> Path:
    shutil.copy(folder / "conversations.json", folder / "customers.json")
    return folder


def array_as_conversations(folder: Path) -> Path:
    (folder / "conversations.json").write_text("[]", encoding="utf-8")
    return folder


def latin1_customers(folder: Path) -> Path:
    (folder / "customers.json").write_bytes(
        '{"_embedded": {"customers": [{"id": 1, "firstName": "Inès"}]}}'.encode("latin-1")
    )
    return folder


def not_a_list(folder: Path, kind: str, value: Any) -> tuple[Path, tuple[str, ...]]:
    """A page whose _embedded list is not an array."""
    path = folder / f"{kind}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["_embedded"][kind] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path, (f"{path}: not a Help Scout export", f"_embedded.{kind}")


def edit(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def found_by_email(folder: Path, export: Any) -> tuple[str, str]:
    """The first conversation's primaryCustomer gets an id no customers page holds."""

    def rename(data: dict[str, Any]) -> None:
        data["_embedded"]["conversations"][0]["primaryCustomer"]["id"] = 42

    edit(folder / "conversations.json", rename)
    first = export.conversations[0]
    return str(first["id"]), first["primaryCustomer"]["email"].lower()


def unplaced(folder: Path, export: Any) -> Unplaced:
    """primaryCustomer only an id, no customers page with it."""

    def stranger(data: dict[str, Any]) -> None:
        data["_embedded"]["conversations"][1]["primaryCustomer"] = {"id": 42}

    edit(folder / "conversations.json", stranger)
    second, counts = export.conversations[1], export.counts()
    lost = [t for t in second["_embedded"]["threads"] if t in export.messages]
    reason = (
        f"conversation {second['id']}: customer 42 is not in this export; import the customers too"
    )
    created = {**counts, "conversations": counts["conversations"] - 1,
               "messages": counts["messages"] - len(lost)}  # fmt: skip
    return Unplaced("conversations.json", f"conversation {second['id']}", reason, created,
                    str(second["id"]), tuple(str(t["id"]) for t in lost))  # fmt: skip


IMPORTS = ImportCase(
    dist="ocx-helpscout",
    title="Help Scout",
    damages=(
        (truncated_conversations, "conversations.json:", "invalid or truncated JSON at column"),
        (empty_customers, "customers.json", "file is empty"),
        (conversations_as_customers, "customers.json",
         "not a Help Scout export (expected an object with _embedded.customers"),
        (array_as_conversations, "conversations.json",
         "not a Help Scout export (expected an object with _embedded.conversations"),
        (latin1_customers, "customers.json", "not UTF-8"),
    ),
    not_exports=(
        ("bad/empty.json", "empty.json: file is empty"),
        ("bad/zendesk_truncated.json", "zendesk_truncated.json:50: invalid or truncated JSON"),
        ("bad/zendesk_wrong_shape_freshdesk_tickets.json", "not a Help Scout export (expected"),
        ("zendesk/tickets.json", "tickets.json: not a Help Scout export (expected"),
        ("freshdesk/contacts.json", "contacts.json: not a Help Scout export (expected"),
    ),
    truncated="customers.json",
    non_utf8=(("customers.json", b'"firstName": "', 2), ("conversations.json", b'"body": "', 2)),
    # tests/data-api: a customer not in the export, a customer without an email address
    not_a_list=not_a_list,
    found_by_email=found_by_email,
    unplaced=unplaced,
    single_files=("customers.json", "conversations.json"),
    not_a_list_in=("customers", "conversations"),
    strict=((DATA / "previews",
             "conversation 1: customer 238604 is not in this export; import the customers too"),
            (DATA / "threads", "customer 555 has no email address")),
)  # fmt: skip


class TestHelpScoutConformance(ImporterConformance):
    case = ImporterCase(
        name="helpscout",
        read=read,
        deep={"customers.json": embedded("customers"),
              "conversations.json": embedded("conversations")},
        byte_files=("customers.json", "conversations.json"),
        read_file="customers.json",
        read_bytes=st.one_of(
            st.binary(max_size=200),
            text.map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.recursive(
                st.none() | st.booleans() | st.integers() | text,
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                    st.sampled_from(["_embedded", "customers", "conversations", "page", "id"]),
                    inner, max_size=3),
                max_leaves=8,
            ).map(lambda v: json.dumps(v).encode("utf-8")),
        ),
        records=RecordCase(
            levels=levels,
            levels_args=("--strict",),
            # read: the customer is not in the export, which --strict refuses
            read_at_64="customer 1 is not in this export",
            nul_export=nul_export,
            nul_bodies=["Still waiting"],
            nul_words=("pending", "waiting"),
            text_fields=("subject", "status", "createdAt"),
            bad_field=bad_field,
            other_fields=OTHER_FIELDS,
            bad_other=bad_other,
            skip_bad=skip_bad,
            skip_bad_messages=["10", "30"],
            json_exports=json_exports(),
        ),
        imports=IMPORTS,
    )  # fmt: skip
