"""`ocx customer search` says where each hit matched: the field and a short snippet with
the match in brackets, in the table and in JSON (`"match": {"field", "snippet"}`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

FIELDS = {"name", "email", "company", "tags", "context", "note", "contact", "message", "subject"}
ZENDESK_TICKETS = Path(__file__).resolve().parent / "fixtures" / "zendesk" / "tickets.json"

Run = Callable[..., Result]
LoadJson = Callable[[Result], Any]
Matches = Callable[[str], dict[str, dict[str, str] | None]]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def matches(run: Run, load_json: LoadJson) -> Matches:
    """matches(query): email -> the "match" object `customer search QUERY --json` gives."""

    def found(query: str) -> dict[str, dict[str, str] | None]:
        hits = load_json(run("customer", "search", "--json", "--", query))
        return {hit["email"]: hit["match"] for hit in hits}

    return found


@pytest.fixture
def people(run: Run, initialized: Path) -> None:
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane",
           "--company", "Lane Logistics", "--tag", "founding", "--tag", "enterprise",
           "--context", "Always in a hurry: answer first"))  # fmt: skip
    ok(run("customer", "add", "jim@hollis.example", "--name", "Jim Hollis",
           "--company", "Hollis Hardware", "--context", "Likes things explained step by step"))  # fmt: skip
    ok(run("customer", "add", "zoe@example.com", "--name", "Zoë Ångström"))
    ok(run("customer", "note", "zoe@example.com", "Her cat Pepper is at the vet this week"))
    ok(run("customer", "contact", "jim@hollis.example", "Called about the duplicate invoice",
           "--inbound", "--channel", "phone"))  # fmt: skip


@pytest.mark.parametrize(
    ("query", "email", "field", "snippet"),
    [
        ("margo", "margo@example.com", "name", "[Margo] Lane"),
        ("jim@hollis.example", "jim@hollis.example", "email", "[jim@hollis.example]"),
        ("hardware", "jim@hollis.example", "company", "Hollis [Hardware]"),
        ("enterprise", "margo@example.com", "tags", "[enterprise] founding"),
        ("hurry", "margo@example.com", "context", "Always in a [hurry]: answer first"),
        ("pepper", "zoe@example.com", "note", "Her cat [Pepper] is at the vet this week"),
        ("invoice", "jim@hollis.example", "contact", "Called about the duplicate [invoice]"),
    ],
)
def test_each_hit_names_the_field_it_matched_and_marks_the_match(
    people: None, matches: Matches, query: str, email: str, field: str, snippet: str
) -> None:
    assert matches(query) == {email: {"field": field, "snippet": snippet}}


def test_a_prefix_marks_the_whole_word_it_matched(people: None, matches: Matches) -> None:
    assert matches("marg*") == {"margo@example.com": {"field": "name", "snippet": "[Margo] Lane"}}


def test_accents_are_matched_and_shown_as_written(people: None, matches: Matches) -> None:
    assert matches("angstrom") == {
        "zoe@example.com": {"field": "name", "snippet": "Zoë [Ångström]"}
    }


def test_the_text_holding_most_words_wins_over_an_earlier_field(
    run: Run, people: None, matches: Matches
) -> None:
    """`cat vet`: the name of Cat Vetter holds one word each; the note holds both."""
    ok(run("customer", "add", "cat@example.com", "--name", "Cat Stevens"))
    ok(run("customer", "note", "cat@example.com", "Took the cat to the vet twice"))
    found = matches("cat vet")
    assert found["cat@example.com"] == {
        "field": "note", "snippet": "Took the [cat] to the [vet] twice",
    }  # fmt: skip
    assert found["zoe@example.com"] == {
        "field": "note", "snippet": "Her [cat] Pepper is at the [vet] this week",
    }  # fmt: skip


def test_between_equal_matches_the_profile_comes_first(
    run: Run, people: None, matches: Matches
) -> None:
    """`lane` is in Margo's name and her company: the name, the first of the fields, wins;
    and a note saying Lane does not push the name aside."""
    ok(run("customer", "note", "margo@example.com", "Lane is her maiden name"))
    assert matches("lane") == {"margo@example.com": {"field": "name", "snippet": "Margo [Lane]"}}


def test_words_in_different_fields_show_the_earliest_field(people: None, matches: Matches) -> None:
    assert matches("margo founding") == {
        "margo@example.com": {"field": "name", "snippet": "[Margo] Lane"}
    }


def test_a_note_and_a_contact_are_told_apart(run: Run, people: None, matches: Matches) -> None:
    ok(run("customer", "note", "margo@example.com", "Prefers the sandwich place downstairs"))
    ok(run("customer", "contact", "jim@hollis.example", "Brought up the sandwich shop"))
    assert matches("sandwich") == {
        "margo@example.com": {"field": "note",
                              "snippet": "Prefers the [sandwich] place downstairs"},
        "jim@hollis.example": {"field": "contact", "snippet": "Brought up the [sandwich] shop"},
    }  # fmt: skip


def test_a_long_text_gives_a_short_snippet_on_one_line(
    run: Run, people: None, matches: Matches
) -> None:
    words = " ".join(f"filler{i}" for i in range(40))
    ok(run("customer", "note", "jim@hollis.example", f"{words}\n\tthe\tmarmalade\n{words}"))
    match = matches("marmalade")["jim@hollis.example"]
    assert match is not None and match["field"] == "note"
    snippet = match["snippet"]
    assert "[marmalade]" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "\n" not in snippet and "\t" not in snippet and "  " not in snippet
    assert len(snippet.split()) <= 12, snippet


def test_imported_subjects_messages_and_ticket_details(
    run: Run, initialized: Path, matches: Matches
) -> None:
    ok(run("import", "zendesk", str(ZENDESK_TICKETS), "--json"))
    priya = "priya.raman@ledgerleaf.in"
    assert matches("sync failed")[priya] == {
        "field": "subject", "snippet": "Bank [sync] [failed] again",
    }  # fmt: skip
    assert matches("expired 401")[priya] == {
        "field": "message",
        "snippet": "…The error says 'Connection [expired] (code [401])'. Can you check?",
    }
    # the ticket's custom field value: its details count as the ticket's subject
    assert matches("bank-feeds")[priya] == {"field": "subject", "snippet": "[bank-feeds]"}


def test_every_hit_has_a_match_from_the_documented_fields(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    ok(run("import", "zendesk", str(ZENDESK_TICKETS), "--json"))
    for query in ("a*", "the", "s*", "com"):
        hits = load_json(run("customer", "search", query, "--json"))
        assert hits, query
        for hit in hits:
            assert set(hit["match"]) == {"field", "snippet"}, hit
            assert hit["match"]["field"] in FIELDS
            assert "[" in hit["match"]["snippet"], hit


def test_the_table_shows_the_field_and_the_marked_snippet(run: Run, people: None) -> None:
    result = ok(run("customer", "search", "pepper", env={"COLUMNS": "400"}))
    header, row = result.stdout.splitlines()[0], result.stdout.splitlines()[-1]
    assert "Match" in header and "Snippet" in header
    assert "zoe@example.com" in row
    assert "note" in row and "Her cat [Pepper] is at the vet this week" in row


def test_search_json_keeps_the_customer_keys(run: Run, people: None, load_json: LoadJson) -> None:
    (hit,) = load_json(run("customer", "search", "margo", "--json"))
    listed = load_json(run("customer", "list", "--json"))[0]
    assert set(hit) == {*listed, "match"}


def test_a_phrase_spanning_two_notes_finds_the_customer_with_no_match(
    run: Run, people: None, matches: Matches
) -> None:
    """The index runs a customer's notes together; no single note holds `foo.bar`."""
    ok(run("customer", "note", "jim@hollis.example", "we talked about foo"))
    ok(run("customer", "note", "jim@hollis.example", "bar was fine"))
    assert matches("foo.bar") == {"jim@hollis.example": None}


def test_a_nul_in_the_query_separates_words(run: Run, people: None, matches: Matches) -> None:
    """FTS5 reads its query as a C string: a NUL must not cut it short (or make it fail)."""
    assert matches("margo\x00lane") == {
        "margo@example.com": {"field": "name", "snippet": "[Margo] [Lane]"}
    }
