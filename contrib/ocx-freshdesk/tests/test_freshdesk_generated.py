"""Generated Freshdesk exports (odd unicode, missing and null optional fields, wrong types,
huge bodies) written to files and fed through the importer's read() into a real database:
each imports, or fails with an OcxError naming what is wrong; never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocx_freshdesk import IMPORTER
from ocx_freshdesk.reader import read

from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    ImportWarning,
    MessageRecord,
    OcxError,
    SkippedRecord,
)
from ocx.testing import import_twice, write_export

ODD = [
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "佐藤 美咲", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "null", "NaN", "-1", "\\", '"',
]  # fmt: skip
TIMES = [
    "2025-04-02T09:14:00Z", "2025-06-02T09:15:00-06:00", "2025-04-02", "yesterday",
    "2025-13-45T99:00:00Z", "0001-01-01T00:00:00+01:00", "", "9999-12-31T23:59:59-01:00",
]  # fmt: skip
ZONES = ["London", "Eastern Time (US & Canada)", "Europe/Oslo", "Beirut", "Atlantis", ""]

text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))
maybe_text = st.one_of(
    st.none(), text, st.integers(-5, 5), st.booleans(), st.lists(st.integers(0, 3))
)
huge = st.integers(10_000, 300_000).map(lambda n: "<p>" + "é<br>" * (n // 5) + "</p>")
body = st.one_of(text, huge, st.none())
emails = st.one_of(
    st.sampled_from(["a@example.com", "A@EXAMPLE.COM", "zoë@nordlys.se", "用户@例子.广告"]),
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(com|de|jp)", fullmatch=True),
)
odd_emails = st.one_of(emails, emails, emails, emails, text, st.none())
times = st.one_of(st.sampled_from(TIMES), st.none())
AGENT_IDS = [5, 6]
COMPANY_IDS = [8, 9]
# a ticket's {name: value} custom fields, and the description list examples carry instead
custom_fields = st.one_of(
    st.dictionaries(text, st.one_of(maybe_text, huge, st.floats()), max_size=3), maybe_text
)
structured = st.one_of(
    st.fixed_dictionaries({"description_contents": st.lists(
        st.fixed_dictionaries({"type": st.sampled_from(["text", "image"]),
                               "data": st.fixed_dictionaries({"content": maybe_text})}),
        max_size=2)}),
    maybe_text,
)  # fmt: skip
# what a record's id may be instead of a good one: missing, null, empty, wrong type, huge
BAD_IDS = [None, "", 1.5, True, {"id": 1}, 2**80]


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[Any], list[Any], dict[int, list[Any]]]:
    """A Freshdesk export: mostly well-formed records with odd text and missing optional
    fields; now and then a record without an id, not an object, or naming no one known."""
    # an agent (5, 6) may be a requester too
    some_id = st.one_of(st.integers(1, 10**12), st.sampled_from(AGENT_IDS))
    contact_ids = draw(st.lists(some_id, unique=True, min_size=1, max_size=5))
    contacts: list[Any] = []
    for contact_id in contact_ids:
        contact = draw(
            st.fixed_dictionaries(
                {"id": st.just(contact_id), "email": odd_emails},
                optional={
                    "name": maybe_text,
                    "phone": maybe_text,
                    "mobile": maybe_text,
                    "time_zone": st.one_of(st.sampled_from(ZONES), maybe_text),
                    "language": maybe_text,
                    "description": st.one_of(maybe_text, huge),
                    "tags": st.one_of(st.lists(maybe_text, max_size=4), maybe_text),
                    "other_emails": st.one_of(st.lists(odd_emails, max_size=2), maybe_text),
                    "custom_fields": st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "preferred_pace": st.one_of(
                                    st.sampled_from(["fast", "SLOW", "normal"]), maybe_text
                                )
                            },
                        ),
                        maybe_text,
                    ),
                },
            )
        )
        contacts.append(contact)
    people = st.sampled_from(contact_ids) if contact_ids else st.integers(1, 9)
    ticket_ids = draw(st.lists(st.integers(1, 10**6), unique=True, min_size=1, max_size=5))
    tickets: list[Any] = []
    conversations: dict[int, list[Any]] = {}
    for ticket_id in ticket_ids:
        requester = draw(people)
        tickets.append(
            draw(
                st.fixed_dictionaries(
                    {
                        "id": st.just(ticket_id),
                        "requester_id": st.one_of(st.just(requester), people),
                    },
                    optional={
                        "requester": st.fixed_dictionaries(
                            {"id": st.just(requester)},
                            optional={
                                "name": maybe_text,
                                "email": odd_emails,
                                "phone": maybe_text,
                                "mobile": maybe_text,
                            },
                        ),
                        "priority": st.one_of(st.integers(0, 9), maybe_text),
                        "type": maybe_text,
                        "tags": st.one_of(st.lists(maybe_text, max_size=3), maybe_text),
                        "custom_fields": custom_fields,
                        "company_id": st.one_of(st.sampled_from(COMPANY_IDS), maybe_text),
                        "structured_description": structured,
                        "subject": maybe_text,
                        "status": st.one_of(st.integers(0, 9), maybe_text),
                        "description": body,
                        "description_text": st.one_of(text, maybe_text),
                        "created_at": times,
                        "updated_at": times,
                        "source": st.one_of(st.sampled_from([1, 2, 7, 10, None]), maybe_text),
                        "responder_id": st.one_of(st.sampled_from(AGENT_IDS), maybe_text),
                    },
                )
            )
        )
        if draw(st.integers(0, 3)) != 3:
            conversations[ticket_id] = draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "id": st.integers(1, 10**9),
                            "body_text": st.one_of(text, huge, maybe_text),
                        },
                        optional={
                            "body": body,
                            "incoming": st.one_of(st.booleans(), maybe_text),
                            "private": st.one_of(st.booleans(), maybe_text),
                            "user_id": st.one_of(people, maybe_text),
                            "from_email": odd_emails,
                            "created_at": times,
                            "ticket_id": st.just(ticket_id),
                        },
                    ),
                    max_size=3,
                )
            )
    # damage, now and then
    for records in (contacts, tickets, *conversations.values()):
        if records and draw(st.integers(0, 9)) == 9:
            at = draw(st.integers(0, len(records) - 1))
            records[at] = draw(
                st.one_of(
                    st.sampled_from([None, 1, "record", []]),
                    st.sampled_from(BAD_IDS).map(lambda bad, r=records[at]: {**r, "id": bad}),
                    st.just({k: v for k, v in records[at].items() if k != "id"}),
                )
            )
    return contacts, tickets, conversations


# GET /api/v2/agents and /api/v2/companies beside the tickets, read for names only
agents = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.sampled_from(AGENT_IDS), st.integers(1, 9), st.sampled_from(BAD_IDS)),
         "ticket_scope": st.just(1)},
        optional={"contact": st.one_of(
            st.fixed_dictionaries({}, optional={"name": maybe_text, "email": odd_emails}),
            maybe_text)},
    ),
    max_size=3,
)  # fmt: skip
companies = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.sampled_from(COMPANY_IDS), st.sampled_from(BAD_IDS)),
         "domains": st.lists(text, max_size=2)},
        optional={"name": maybe_text},
    ),
    max_size=2,
)  # fmt: skip


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(export=exports(), ascii_only=st.booleans(), skip_bad=st.booleans(),
       names=st.none() | st.tuples(agents, companies))  # fmt: skip
def test_generated_exports_import_or_fail_with_a_clear_error(
    workdir: Path, export: tuple[list[Any], list[Any], dict[int, list[Any]]],
    ascii_only: bool, skip_bad: bool, names: tuple[list[Any], list[Any]] | None,
) -> None:  # fmt: skip
    contacts, tickets, conversations = export
    with tempfile.TemporaryDirectory(dir=workdir) as name:
        folder = Path(name)
        root = folder / "freshdesk"
        (root / "conversations").mkdir(parents=True)
        write_export(root / "contacts.json", contacts, ascii_only)
        write_export(root / "tickets.json", tickets, ascii_only)
        if names is not None:
            write_export(root / "agents.json", names[0], ascii_only)
            write_export(root / "companies.json", names[1], ascii_only)
        for ticket_id, items in conversations.items():
            write_export(root / "conversations" / f"{ticket_id}.json", items, ascii_only)
        import_twice(IMPORTER, folder, root, skip_bad)
        # each file on its own too: recognised by content, or refused clearly, naming the
        # file at fault (a tickets file brings the contacts beside it, so it may be those)
        kinds = (BadRecord | CustomerRecord | ConversationRecord | MessageRecord | SkippedRecord
                 | ImportWarning)  # fmt: skip
        for path in [root / "tickets.json", *sorted((root / "conversations").iterdir())]:
            try:
                for item in read(path):
                    assert isinstance(item, kinds)
            except OcxError as exc:
                assert str(path) in str(exc) or str(root) in str(exc)
