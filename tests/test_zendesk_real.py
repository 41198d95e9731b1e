"""`ocx import zendesk` on pages shaped like what Zendesk's API really returns: a live
account's ticket list requested by its admin, the documented incremental example without
users, sideloaded users and organizations, a Japanese page with CRLF bodies, a paged export
with its users in separate files. Data: tests/fixtures/zendesk-api/ (see its README.md).

Expected values are read from the JSON files with json, or written out here; never from ocx.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import tempfile
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx.cli import cli
from ocx.plugins.zendesk import read_all
from ocx.testing import new_database, query

if TYPE_CHECKING:
    from conftest import AssertError, Dump, LoadJson, Rows, Run

DATA = Path(__file__).resolve().parent / "fixtures" / "zendesk-api"
LIST_PAGE = DATA / "list-page"
DOCUMENTED = DATA / "documented" / "tickets.json"
DOCUMENTED_PEOPLE = DATA / "documented-users"
SIDELOADS = DATA / "sideloads"
JAPANESE = DATA / "japanese"
PAGED = DATA / "paged"
PAGED_USERS = DATA / "paged-users"
KINDS = ("customers", "conversations", "messages")
ZERO = dict.fromkeys(KINDS, 0)
NO_USERS = (
    "no users in this export: a ticket imports only if its requester was imported before "
    "(export with include=users, or add users.json)"
)
# The Rails (ActiveSupport) zone names these pages use, as ActiveSupport maps them.
RAILS = {"Bangkok": "Asia/Bangkok", "Eastern Time (US & Canada)": "America/New_York",
         "London": "Europe/London", "Tokyo": "Asia/Tokyo", "Osaka": "Asia/Tokyo"}  # fmt: skip


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def imported(run: Run, load_json: LoadJson, *paths: Path | str, options: tuple[str, ...] = ()
             ) -> dict[str, Any]:  # fmt: skip
    """`ocx import zendesk PATH... --json` exits 0 with nothing on stderr; its summary."""
    result = run("import", "zendesk", *(str(p) for p in paths), *options, "--json")
    summary = load_json(result)
    assert result.stderr == "", result.stderr
    return summary


def unknown(ticket: Any, requester: Any) -> str:
    return f"ticket {ticket}: requester {requester} is not in this export; import the users too"


def conversation_data(run: Run, load_json: LoadJson, customer: str) -> dict[str, dict]:
    """The `data` of each conversation on a customer's timeline, by ticket id."""
    entries = load_json(run("customer", "timeline", customer, "--json"))
    return {e["data"]["external_id"]: e["data"] for e in entries if e["kind"] == "conversation"}


def count(rows: Rows, db: Path, table: str) -> int:
    return rows(db, f"SELECT count(*) AS n FROM {table}")[0]["n"]


# --- the live account's list page: every ticket requested by its admin ----------------------


def test_a_real_list_page_requested_by_its_admin_is_skipped_whole_with_exit_0(
    run: Run, initialized: Path, load_json: LoadJson, rows: Rows
) -> None:
    page = load(LIST_PAGE / "tickets.json")
    [admin] = page["users"]
    assert admin["role"] == "admin"
    assert {t["requester_id"] for t in page["tickets"]} == {admin["id"]}
    summary = imported(run, load_json, LIST_PAGE)
    assert summary["created"] == ZERO
    assert summary["warnings"] == []
    assert summary["skipped"] == [
        {"file": str(LIST_PAGE / "tickets.json"), "record": f"ticket {t['id']}",
         "reason": f"ticket {t['id']}: requested by agent {admin['name']}"}
        for t in page["tickets"]
    ]  # fmt: skip
    assert count(rows, initialized, "customers") == 0  # the admin is no customer
    human = run("import", "zendesk", str(LIST_PAGE))
    assert human.exit_code == 0, human.output
    assert f"requested by agent {admin['name']}" in human.stdout


def test_strict_makes_a_skipped_ticket_an_error_and_changes_nothing(
    run: Run, initialized: Path, dump: Dump, assert_error: AssertError
) -> None:
    first = load(LIST_PAGE / "tickets.json")["tickets"][0]
    before = dump(initialized)
    line = assert_error(run("import", "zendesk", str(LIST_PAGE), "--strict"))
    assert f"ticket {first['id']}: requested by agent Elizabeth" in line
    assert dump(initialized) == before


# --- the documented incremental example: no users -------------------------------------------


def test_the_documented_example_without_users_imports_with_a_true_reason(
    run: Run, initialized: Path, load_json: LoadJson, rows: Rows
) -> None:
    [ticket] = load(DOCUMENTED)["tickets"]
    summary = imported(run, load_json, DOCUMENTED)
    assert summary["created"] == ZERO
    assert summary["skipped"] == [
        {"file": str(DOCUMENTED), "record": f"ticket {ticket['id']}",
         "reason": unknown(35436, 20978392)}
    ]  # fmt: skip
    assert summary["warnings"] == [NO_USERS]
    assert count(rows, initialized, "conversations") == 0


@pytest.mark.parametrize(
    "order", [("tickets", "people"), ("people", "tickets")], ids=["people-last", "people-first"]
)
def test_users_in_the_same_run_bring_the_ticket_in_whatever_the_path_order(
    run: Run, initialized: Path, load_json: LoadJson, order: tuple[str, str]
) -> None:
    given = {"tickets": DOCUMENTED, "people": DOCUMENTED_PEOPLE}
    summary = imported(run, load_json, *(given[k] for k in order))
    assert summary["created"] == {"customers": 1, "conversations": 1, "messages": 1}
    assert summary["skipped"] == []
    assert summary["warnings"] == []


def test_users_in_a_later_run_bring_skipped_tickets_in_without_duplicates(
    run: Run, initialized: Path, load_json: LoadJson, rows: Rows
) -> None:
    imported(run, load_json, DOCUMENTED)
    later = imported(run, load_json, DOCUMENTED, DOCUMENTED_PEOPLE)
    assert later["created"] == {"customers": 1, "conversations": 1, "messages": 1}
    again = imported(run, load_json, DOCUMENTED_PEOPLE, DOCUMENTED)
    assert again["created"] == ZERO and again["updated"] == ZERO
    assert again["unchanged"] == {"customers": 1, "conversations": 1, "messages": 1}
    assert [count(rows, initialized, t) for t in ("customers", "conversations", "messages")] == [
        1, 1, 1]  # fmt: skip


def test_tickets_alone_import_once_their_requester_came_in_an_earlier_run(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    people = imported(run, load_json, DOCUMENTED_PEOPLE)
    assert people["created"] == {"customers": 1, "conversations": 0, "messages": 0}
    tickets = imported(run, load_json, DOCUMENTED)
    assert tickets["created"] == {"customers": 0, "conversations": 1, "messages": 1}
    assert tickets["skipped"] == []


def test_a_page_file_brings_the_users_json_beside_it(
    run: Run, initialized: Path, load_json: LoadJson, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    page = shutil.copy(DOCUMENTED, export / "tickets.json")
    shutil.copy(DOCUMENTED_PEOPLE / "users.json", export / "users.json")
    summary = imported(run, load_json, page)
    assert summary["created"] == {"customers": 1, "conversations": 1, "messages": 1}
    assert summary["skipped"] == [] and summary["warnings"] == []


def test_the_documented_ticket_keeps_what_a_support_engineer_wants(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    [ticket] = load(DOCUMENTED)["tickets"]
    [requester] = [u for u in load(DOCUMENTED_PEOPLE / "users.json")["users"]
                   if u["id"] == ticket["requester_id"]]  # fmt: skip
    [org] = load(DOCUMENTED_PEOPLE / "organizations.json")["organizations"]
    assert "iana_time_zone" not in requester and requester["organization_id"] == org["id"]
    imported(run, load_json, DOCUMENTED, DOCUMENTED_PEOPLE)
    customer = f"zendesk:{requester['id']}"
    profile = load_json(run("customer", "show", customer, "--json"))
    assert profile["company"] == org["name"]
    assert profile["time_zone"] == RAILS[requester["time_zone"]]
    assert sorted(profile["tags"]) == sorted(requester["tags"])  # never the ticket's tags
    data = conversation_data(run, load_json, customer)[str(ticket["id"])]
    rating = ticket["satisfaction_rating"]
    assert {k: data[k] for k in ("status", "priority", "type", "tags", "channel")} == {
        "status": ticket["status"], "priority": ticket["priority"], "type": ticket["type"],
        "tags": ticket["tags"], "channel": ticket["via"]["channel"],
    }  # fmt: skip
    assert data["satisfaction"] == {"score": rating["score"], "comment": rating["comment"]}
    # no ticket_fields.json: the field id is the label
    assert data["custom_fields"] == [
        {"label": str(f["id"]), "value": f["value"]} for f in ticket["custom_fields"]
    ]


# --- sideloaded users and organizations, ticket fields, comments ------------------------------


@pytest.fixture
def sideloaded(run: Run, initialized: Path, load_json: LoadJson) -> dict[str, Any]:
    return imported(run, load_json, SIDELOADS)


def test_a_page_with_sideloads_imports_end_users_and_lists_what_it_leaves_out(
    sideloaded: dict[str, Any], rows: Rows, initialized: Path
) -> None:
    page = load(SIDELOADS / "tickets.json")
    users = {u["id"]: u for u in page["users"]}
    customers = [u for u in page["users"] if u["role"] == "end-user" and u["email"]]
    skipped_user = next(u for u in page["users"] if u["role"] == "end-user" and not u["email"])
    by_agent = [t for t in page["tickets"] if users[t["requester_id"]]["role"] != "end-user"]
    no_email = [t for t in page["tickets"] if t["requester_id"] == skipped_user["id"]]
    assert by_agent and no_email
    taken = [t for t in page["tickets"] if t not in by_agent + no_email]
    comments = {t["id"]: load(SIDELOADS / "comments" / f"{t['id']}.json")["comments"]
                for t in taken if (SIDELOADS / "comments" / f"{t['id']}.json").exists()}  # fmt: skip
    messages = sum(len(comments[t["id"]]) if t["id"] in comments else 1 for t in taken)
    assert sideloaded["created"] == {
        "customers": len(customers), "conversations": len(taken), "messages": messages}  # fmt: skip
    file = str(SIDELOADS / "tickets.json")
    expected = [
        {"file": file, "record": f"user {skipped_user['id']}",
         "reason": f"user {skipped_user['id']}: end-user has no email; ocx keeps customers by email"},
        *({"file": file, "record": f"ticket {t['id']}", "reason": f"ticket {t['id']}: "
           f"requested by agent {users[t['requester_id']]['name']}"} for t in by_agent),
        *({"file": file, "record": f"ticket {t['id']}",
           "reason": f"ticket {t['id']}: requester {t['requester_id']} has no email"}
          for t in no_email),
    ]  # fmt: skip
    assert sorted(sideloaded["skipped"], key=str) == sorted(expected, key=str)
    # the agent's ticket took its comments with it: none stored, and no orphan listed
    stored = {r["external_id"] for r in rows(initialized, "SELECT external_id FROM messages")}
    for ticket in by_agent:
        for c in load(SIDELOADS / "comments" / f"{ticket['id']}.json")["comments"]:
            assert str(c["id"]) not in stored


def test_sideloaded_organizations_fill_company_and_rails_zones_map_to_iana(
    sideloaded: dict[str, Any], run: Run, load_json: LoadJson
) -> None:
    page = load(SIDELOADS / "tickets.json")
    orgs = {o["id"]: o["name"] for o in page["organizations"]}
    for user in page["users"]:
        if user["role"] != "end-user" or not user["email"]:
            continue
        profile = load_json(run("customer", "show", f"zendesk:{user['id']}", "--json"))
        assert profile["company"] == orgs[user["organization_id"]]
        zone = user.get("iana_time_zone") or RAILS[user["time_zone"]]
        assert profile["time_zone"] == zone
        assert sorted(profile["tags"]) == sorted(user["tags"])  # ticket tags stay on tickets


def test_ticket_extras_are_kept_with_field_titles_from_ticket_fields_json(
    sideloaded: dict[str, Any], run: Run, load_json: LoadJson
) -> None:
    page = load(SIDELOADS / "tickets.json")
    titles = {f["id"]: f["title"] for f in load(SIDELOADS / "ticket_fields.json")["ticket_fields"]}
    users = {u["id"]: u for u in page["users"]}
    seen = 0
    for ticket in page["tickets"]:
        requester = users[ticket["requester_id"]]
        if requester["role"] != "end-user" or not requester["email"]:
            continue
        data = conversation_data(run, load_json, f"zendesk:{requester['id']}")[str(ticket["id"])]
        seen += 1
        assert data["priority"] == ticket["priority"] and data["type"] == ticket["type"]
        assert data["channel"] == ticket["via"]["channel"]
        assert data.get("tags", []) == ticket["tags"]
        rating = ticket["satisfaction_rating"]
        if rating["score"] == "unoffered":  # no survey went out: nothing to keep
            assert "satisfaction" not in data
        else:
            assert data["satisfaction"] == {
                k: rating[k] for k in ("score", "comment") if k in rating
            }
        values = [(titles[f["id"]], f["value"]) for f in ticket["custom_fields"]
                  if f["value"] not in (None, "")]  # fmt: skip
        assert [(f["label"], f["value"]) for f in data.get("custom_fields", [])] == values
    assert seen == 3


def test_ticket_fields_json_beside_a_page_or_as_a_path_names_the_fields(
    run: Run, initialized: Path, load_json: LoadJson, tmp_path: Path
) -> None:
    """A page file brings the people files beside it; alone, a field's id is its label."""
    page = load(SIDELOADS / "tickets.json")
    ticket = page["tickets"][0]
    customer = f"zendesk:{ticket['requester_id']}"
    titles = {str(f["id"]): f["title"]
              for f in load(SIDELOADS / "ticket_fields.json")["ticket_fields"]}  # fmt: skip
    ids = [str(f["id"]) for f in ticket["custom_fields"] if f["value"] is not None]

    def labels() -> list[str]:
        data = conversation_data(run, load_json, customer)[str(ticket["id"])]
        return [f["label"] for f in data["custom_fields"]]

    (tmp_path / "alone").mkdir()
    alone = shutil.copy(SIDELOADS / "tickets.json", tmp_path / "alone" / "tickets.json")
    imported(run, load_json, alone)
    assert labels() == ids
    imported(run, load_json, alone, SIDELOADS / "ticket_fields.json")
    assert labels() == [titles[i] for i in ids]
    imported(run, load_json, alone)
    imported(run, load_json, SIDELOADS / "tickets.json")  # ticket_fields.json is beside it
    assert labels() == [titles[i] for i in ids]


def test_agents_author_by_name_and_an_author_no_file_names_is_agent_id(
    sideloaded: dict[str, Any], rows: Rows, initialized: Path
) -> None:
    users = {u["id"]: u for u in load(SIDELOADS / "tickets.json")["users"]}
    stored = {r["external_id"]: r for r in rows(initialized, "SELECT * FROM messages")}
    checked = set()
    for name in ("5001.json", "5002.json"):
        response = load(SIDELOADS / "comments" / name)
        local = {u["id"]: u for u in response.get("users", [])}
        for comment in response["comments"]:
            got = stored[str(comment["id"])]
            author = users.get(comment["author_id"]) or local.get(comment["author_id"])
            if author is None:
                assert (got["author"], got["direction"]) == (
                    f"agent {comment['author_id']}", "outbound")  # fmt: skip
                checked.add("unknown")
            elif author["role"] == "end-user":
                assert (got["author"], got["direction"]) == (author["name"], "inbound")
            else:
                assert (got["author"], got["direction"]) == (author["name"], "outbound")
                checked.add("local" if author["id"] in local else "page")
    assert checked == {"unknown", "local", "page"}


# --- a Japanese page with CRLF bodies ---------------------------------------------------------


def test_crlf_is_gone_from_bodies_subjects_ratings_and_search(
    run: Run, initialized: Path, load_json: LoadJson, rows: Rows
) -> None:
    page = load(JAPANESE / "tickets.json")
    comments = load(JAPANESE / "comments" / "7001.json")["comments"]
    assert any("\r\n" in t["description"] for t in page["tickets"])
    assert all("\r\n" in c["plain_body"] for c in comments)
    summary = imported(run, load_json, JAPANESE)
    assert summary["skipped"] == [] and summary["created"]["conversations"] == len(page["tickets"])
    bodies = {r["external_id"]: r["body"] for r in rows(initialized, "SELECT * FROM messages")}
    for c in comments:
        assert bodies[str(c["id"])] == c["plain_body"].replace("\r\n", "\n").strip()
    for ticket in page["tickets"]:
        if not (JAPANESE / "comments" / f"{ticket['id']}.json").exists():
            expected = ticket["description"].replace("\r\n", "\n").strip()
            assert bodies[f"{ticket['id']}-description"] == expected
    texts = [r["body"] for r in rows(initialized, "SELECT body FROM messages")]
    texts += [r["subject"] for r in rows(initialized, "SELECT subject FROM conversations")]
    texts += [r["data"] or "" for r in rows(initialized, "SELECT data FROM conversations")]
    texts += [r["notes"] or "" for r in rows(initialized, "SELECT notes FROM customer_search")]
    assert texts and not [t for t in texts if "\r" in t]
    [sato] = [u for u in page["users"] if u["id"] == page["tickets"][0]["requester_id"]]
    data = conversation_data(run, load_json, f"zendesk:{sato['id']}")
    rating = page["tickets"][0]["satisfaction_rating"]["comment"]
    assert data[str(page["tickets"][0]["id"])]["satisfaction"]["comment"] == rating.replace(
        "\r\n", "\n")  # fmt: skip
    # a word written just before a CRLF is found, and only its customer
    found = load_json(run("customer", "search", "TRK-5521", "--json"))
    assert [c["email"] for c in found] == [sato["email"]]


def test_users_with_only_rails_time_zones_get_iana_zones(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    users = [u for u in load(JAPANESE / "tickets.json")["users"] if u["role"] == "end-user"]
    assert users and not [u for u in users if "iana_time_zone" in u]
    imported(run, load_json, JAPANESE)
    for user in users:
        profile = load_json(run("customer", "show", f"zendesk:{user['id']}", "--json"))
        assert profile["time_zone"] == RAILS[user["time_zone"]]


# --- a paged export, its users in separate pages ---------------------------------------------


def paged_facts() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    tickets = [t for p in sorted(PAGED.glob("tickets-*.json")) for t in load(p)["tickets"]]
    users = [u for p in sorted(PAGED_USERS.glob("users-*.json")) for u in load(p)["users"]]
    return tickets, users


def test_a_paged_export_without_users_skips_every_ticket_and_says_why(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    tickets, _ = paged_facts()
    pages = sorted(PAGED.glob("tickets-*.json"))
    assert len(pages) == 3 and [load(p)["end_of_stream"] for p in pages] == [False, False, True]
    summary = imported(run, load_json, PAGED)
    assert summary["created"] == ZERO
    assert [s["reason"] for s in summary["skipped"]] == [
        unknown(t["id"], t["requester_id"]) for t in tickets]  # fmt: skip
    assert summary["warnings"] == [NO_USERS]


def test_a_paged_export_with_its_user_pages_imports_whole_then_nothing_changes(
    run: Run, initialized: Path, load_json: LoadJson, rows: Rows
) -> None:
    tickets, users = paged_facts()
    end_users = [u for u in users if u["role"] == "end-user"]
    imported(run, load_json, PAGED)  # first without the people: all skipped, none kept
    summary = imported(run, load_json, PAGED, PAGED_USERS)
    n = len(tickets)
    assert summary["created"] == {"customers": len(end_users), "conversations": n, "messages": n}
    assert summary["skipped"] == [] and summary["warnings"] == []
    again = imported(
        run, load_json, *sorted(PAGED_USERS.glob("*.json")), *sorted(PAGED.glob("*.json"))
    )
    assert again["created"] == ZERO and again["updated"] == ZERO
    assert again["unchanged"] == summary["created"]
    assert count(rows, initialized, "conversations") == n
    for user in end_users:
        profile = load_json(run("customer", "show", f"zendesk:{user['id']}", "--json"))
        assert profile["time_zone"] == (user.get("iana_time_zone") or RAILS[user["time_zone"]])


def test_a_name_alone_never_matches_a_customer(
    run: Run, initialized: Path, load_json: LoadJson, tmp_path: Path
) -> None:
    """A customer already in ocx with the requester's name (but another email) does not
    take the ticket: it is skipped, and the customer is left as it was."""
    [ticket] = load(DOCUMENTED)["tickets"]
    [requester] = [u for u in load(DOCUMENTED_PEOPLE / "users.json")["users"]
                   if u["id"] == ticket["requester_id"]]  # fmt: skip
    added = run("customer", "add", "someone.else@example.com", "--name", requester["name"])
    assert added.exit_code == 0, added.output
    summary = imported(run, load_json, DOCUMENTED)
    assert [s["reason"] for s in summary["skipped"]] == [unknown(ticket["id"], requester["id"])]
    timeline = load_json(run("customer", "timeline", "someone.else@example.com", "--json"))
    assert [e for e in timeline if e["kind"] == "conversation"] == []


def test_a_page_whose_keys_are_spelt_with_escapes_is_read_all_the_same(
    run: Run, initialized: Path, load_json: LoadJson, tmp_path: Path
) -> None:
    """JSON may escape any character of a key; "\\u0074ickets" is "tickets"."""
    page = tmp_path / "tickets.json"
    page.write_text(
        '{"\\u0074ickets": [{"id": 1, "requester_id": 2, "subject": "Hi"}],'
        ' "users": [{"id": 2, "role": "end-user", "email": "ana@example.com"}]}',
        encoding="utf-8",
    )
    assert '"tickets"' not in page.read_text(encoding="utf-8")
    summary = imported(run, load_json, page)
    assert summary["created"] == {"customers": 1, "conversations": 1, "messages": 1}


# --- streaming: a big page keeps memory flat --------------------------------------------------


def test_a_big_page_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    """json.load of this page would hold every ticket at once (tens of MB of objects); the
    importer holds about one ticket, and the people it has met."""
    tickets = [
        {"id": n, "requester_id": 1 + n % 50, "subject": f"Order {n} " + "x" * 300,
         "description": "Line one\r\nline two " * 20, "status": "open", "priority": "normal",
         "tags": ["a", "b"], "via": {"channel": "email"},
         "custom_fields": [{"id": 7, "value": "v"}], "created_at": "2025-01-01T00:00:00Z"}
        for n in range(1, 12_001)
    ]  # fmt: skip
    users = [{"id": k, "role": "end-user", "email": f"p{k}@example.com", "name": f"P {k}"}
             for k in range(1, 51)]  # fmt: skip
    page = tmp_path / "tickets.json"
    page.write_text(json.dumps({"tickets": tickets, "users": users}), encoding="utf-8")
    size = page.stat().st_size
    assert size > 8_000_000
    del tickets
    tracemalloc.start()
    try:
        records = sum(1 for _ in read_all([page]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == 50 + 2 * 12_000  # customers, then a conversation and a message each
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte page"


# --- hypothesis: any ticket extras and requesters, imported as Zendesk means them -------------

FUZZ = settings(
    max_examples=int(os.environ.get("OCX_FUZZ_EXAMPLES", "25")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
# Text as people type it (CRLF too) for ratings and custom fields; one line for the rest.
_CHARS = st.characters(codec="utf-8", exclude_characters="\x00\r")
text = st.one_of(st.none(), st.text(_CHARS, max_size=12),
                 st.sampled_from(["", " ", "a\r\nb", " two\r\nlines\r\n", "高"]))  # fmt: skip
word = st.one_of(st.none(), st.text(_CHARS.filter(lambda c: c != "\n"), max_size=12))
value = st.one_of(text, st.booleans(), st.integers(-5, 5), st.lists(text, max_size=3))
roles = st.sampled_from(["end-user", "agent", "admin", None])


@st.composite
def exports(draw: st.DrawFn) -> dict[str, Any]:
    users = [{"id": k, "role": draw(roles), "email": f"u{k}@example.com",
              "name": draw(st.sampled_from(["Ana", "Bo", None]))}
             for k in range(1, draw(st.integers(1, 4)) + 1)]  # fmt: skip
    tickets = []
    for n in range(1, draw(st.integers(1, 5)) + 1):
        ticket: dict[str, Any] = {
            "id": n, "requester_id": draw(st.integers(1, 5)), "subject": f"T{n}",
            "priority": draw(word), "type": draw(word), "tags": draw(st.lists(word, max_size=3)),
            "via": {"channel": draw(word)},
            "satisfaction_rating": draw(st.one_of(st.none(), st.fixed_dictionaries(
                {"score": st.sampled_from(["good", "bad", "offered", "unoffered"]),
                 "comment": text}))),
            "custom_fields": [{"id": 100 + k, "value": draw(value)}
                              for k in range(draw(st.integers(0, 3)))],
        }  # fmt: skip
        tickets.append(ticket)
    return {"users": users, "tickets": tickets}


def expected_data(ticket: dict[str, Any]) -> dict[str, Any]:
    """What the conversation's data must say, worked out here from Zendesk's meaning: empty
    and null values left out, a rating only if a survey went out, CRLF as plain newlines."""

    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return v.strip().replace("\r\n", "\n") or None
        if isinstance(v, list):
            return [c for c in (clean(x) for x in v) if c is not None] or None
        return v

    out = {key: clean(ticket[key]) for key in ("priority", "type")}
    out["channel"] = clean(ticket["via"]["channel"])
    out["tags"] = [t for t in (clean(t) for t in ticket["tags"]) if t] or None
    rating = ticket["satisfaction_rating"] or {}
    out["satisfaction"] = {
        k: v for k in ("score", "comment")
        if (v := clean(rating.get(k))) is not None and v != "unoffered"
    } or None  # fmt: skip
    out["custom_fields"] = [
        {"label": str(f["id"]), "value": clean(f["value"])}
        for f in ticket["custom_fields"] if clean(f["value"]) is not None
    ] or None  # fmt: skip
    return {k: v for k, v in out.items() if v is not None}


@FUZZ
@given(export=exports())
def test_generated_pages_import_with_exit_0_and_keep_each_ticket_as_zendesk_means_it(
    export: dict[str, Any],
) -> None:
    # A new database per example: a file, or a PostgreSQL database when the suite runs there.
    with tempfile.TemporaryDirectory() as tmp, new_database(Path(tmp)) as db:
        folder = Path(tmp) / "zendesk"
        folder.mkdir()
        (folder / "tickets.json").write_text(json.dumps(export), encoding="utf-8")
        assert CliRunner().invoke(cli, ["--db", str(db), "init"]).exit_code == 0
        result = CliRunner().invoke(cli, ["--db", str(db), "import", "zendesk", str(folder),
                                          "--json"])  # fmt: skip
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        users = {u["id"]: u for u in export["users"]}
        reasons = {}
        for t in export["tickets"]:
            user = users.get(t["requester_id"])
            if user is None:
                reasons[t["id"]] = unknown(t["id"], t["requester_id"])
            elif (user["role"] or "end-user") != "end-user":
                reasons[t["id"]] = (
                    f"ticket {t['id']}: requested by agent {user['name'] or user['id']}"
                )
        assert sorted(s["reason"] for s in summary["skipped"]) == sorted(reasons.values())
        stored = {row["external_id"]: row["data"]
                  for row in query(db, "SELECT external_id, data FROM conversations")}  # fmt: skip
        taken = [t for t in export["tickets"] if t["id"] not in reasons]
        assert sorted(stored) == sorted(str(t["id"]) for t in taken)
        for t in taken:
            assert json.loads(stored[str(t["id"])] or "{}") == expected_data(t)


def test_the_builder_writes_exactly_the_committed_files(tmp_path: Path) -> None:
    """build.py is the source of these pages: running it again changes nothing."""
    copy = tmp_path / "zendesk-api"
    shutil.copytree(DATA, copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    runpy.run_path(str(copy / "build.py"), run_name="__main__")
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before
