"""Generated Help Scout exports (odd unicode, keys left out as Help Scout does, wrong types,
huge bodies, conversations with and without threads, tags, custom fields and ratings) written to
files and fed through the importer into a real database: each imports, or fails with an
OcxError naming what is wrong; never another exception. Whatever order the PATHs come in, the
records are the same."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocx_helpscout import IMPORTER
from ocx_helpscout.reader import read, read_all

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
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "陽翔", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "<p>unclosed <div", "null", "\\", '"',
]  # fmt: skip
TIMES = [
    "2025-05-05T07:50:00Z", "2025-06-02T09:15:00+05:30", "2025-05-05", "last week",
    "2025-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00", "",
]  # fmt: skip
THREAD_TYPES = ["customer", "message", "note", "lineitem", "chat", "phone", "forwardchild", "?"]

text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))
maybe_text = st.one_of(
    st.none(), text, st.integers(-5, 5), st.booleans(), st.lists(st.integers(0, 3))
)
huge = st.integers(10_000, 300_000).map(lambda n: "<p>" + "ø<br>" * (n // 5) + "</p>")
emails = st.one_of(
    st.sampled_from(["a@example.com", "A@EXAMPLE.COM", "zoë@nordlys.se", "用户@例子.广告"]),
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.(com|se|jp)", fullmatch=True),
)
odd_emails = st.one_of(emails, emails, emails, emails, text, st.none())
times = st.one_of(st.sampled_from(TIMES), st.none())
values = st.lists(
    st.fixed_dictionaries({}, optional={"id": st.integers(), "value": odd_emails}), max_size=2
)
BAD_IDS = [None, "", 1.5, True, {"id": 1}, 2**80]


def person(ids: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            "id": ids, "type": st.sampled_from(["customer", "user", "team"]),
            "first": maybe_text, "last": maybe_text, "email": odd_emails,
        },
    )  # fmt: skip


@st.composite
def exports(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customers page and a conversations page: mostly well-formed, odd text, keys left out;
    now and then a record without an id or not an object."""
    customer_ids = draw(st.lists(st.integers(1, 10**10), unique=True, min_size=1, max_size=5))
    customers: list[Any] = [
        draw(st.fixed_dictionaries(
            {"id": st.just(customer_id),
             "_embedded": st.fixed_dictionaries(
                 {"emails": st.lists(st.fixed_dictionaries({"value": emails}), min_size=1, max_size=2)},
                 optional={"phones": st.one_of(values, maybe_text)})},
            optional={
                "firstName": maybe_text, "lastName": maybe_text, "organization": maybe_text,
                "background": st.one_of(maybe_text, huge), "createdAt": times,
            },
        ))
        for customer_id in customer_ids
    ]  # fmt: skip
    people = st.sampled_from(customer_ids)
    conversation_ids = draw(st.lists(st.integers(1, 10**10), unique=True, min_size=1, max_size=4))
    conversations: list[Any] = []
    for conversation_id in conversation_ids:
        threads = draw(st.lists(st.fixed_dictionaries(
            {"id": st.integers(1, 10**12), "type": st.sampled_from(THREAD_TYPES)},
            optional={
                "body": st.one_of(text, huge, maybe_text), "createdAt": times,
                "state": st.sampled_from(["published", "draft", "hidden"]),
                "createdBy": person(people), "customer": person(people),
                "rating": st.one_of(maybe_text, st.fixed_dictionaries({}, optional={
                    "customerId": people, "rating": maybe_text, "comments": maybe_text})),
            },
        ), max_size=4))  # fmt: skip
        conversations.append(draw(st.fixed_dictionaries(
            {"id": st.just(conversation_id),
             "_embedded": st.one_of(
                 st.just({"threads": threads}), st.just({"threads": threads}), st.just({}),
                 maybe_text),
             "primaryCustomer": st.one_of(
                    st.fixed_dictionaries({"id": people}, optional={"email": odd_emails}),
                    st.fixed_dictionaries({"id": people}, optional={"email": odd_emails}),
                    person(people), maybe_text,
                )},
            optional={
                "subject": maybe_text, "status": maybe_text, "createdAt": times,
                "userUpdatedAt": times, "updatedAt": times, "preview": maybe_text,
                "type": maybe_text, "source": st.fixed_dictionaries({}, optional={"type": maybe_text}),
                "tags": st.one_of(maybe_text, st.lists(st.one_of(
                    maybe_text, st.fixed_dictionaries({}, optional={"id": st.integers(),
                                                                    "tag": maybe_text})),
                    max_size=3)),
                "customFields": st.one_of(maybe_text, st.lists(st.fixed_dictionaries({}, optional={
                    "id": st.one_of(st.integers(), maybe_text), "name": maybe_text,
                    "value": maybe_text, "text": maybe_text}), max_size=3)),
            },
        )))  # fmt: skip
    for records in (customers, conversations):
        if draw(st.integers(0, 9)) == 9:
            at = draw(st.integers(0, len(records) - 1))
            records[at] = draw(st.one_of(
                st.sampled_from([None, 1, "record", []]),
                st.sampled_from(BAD_IDS).map(lambda bad, r=records[at]: {**r, "id": bad}),
                st.just({k: v for k, v in records[at].items() if k != "id"}),
                st.one_of(values, maybe_text).map(  # no usable email
                    lambda bad, r=records[at]: {**r, "_embedded": {"emails": bad}}
                ),
            ))  # fmt: skip
    page = {"size": 50, "totalElements": 1, "totalPages": 1, "number": 1}
    return (
        {"_embedded": {"customers": customers}, "page": page},
        {"_embedded": {"conversations": conversations}, "page": page},
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(export=exports(), ascii_only=st.booleans(), skip_bad=st.booleans())
def test_generated_exports_import_or_fail_with_a_clear_error(
    workdir: Path, export: tuple[dict[str, Any], dict[str, Any]], ascii_only: bool,
    skip_bad: bool,
) -> None:  # fmt: skip
    customers, conversations = export
    with tempfile.TemporaryDirectory(dir=workdir) as name:
        folder = Path(name)
        root = folder / "helpscout"
        root.mkdir()
        write_export(root / "customers.json", customers, ascii_only)
        write_export(root / "conversations.json", conversations, ascii_only)
        import_twice(IMPORTER, folder, root, skip_bad)
        path = root / "conversations.json"  # on its own too: recognised by content
        kinds = (BadRecord, SkippedRecord, ImportWarning, CustomerRecord, ConversationRecord,
                 MessageRecord)  # fmt: skip
        try:
            by_folder = list(read(root))
            assert all(isinstance(item, kinds) for item in by_folder)
        except OcxError as exc:  # a file-level error names its file
            assert str(path) in str(exc) or str(root / "customers.json") in str(exc)
            return
        # Tickets first on the command line: the customers still come first.
        assert list(read_all([path, root / "customers.json"])) == by_folder
        assert list(read(path)) == by_folder  # its customers page beside it
