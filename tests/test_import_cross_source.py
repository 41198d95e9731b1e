"""All four sample exports (csv, zendesk, and the contrib freshdesk and helpscout plugins,
found through the installed entry points) imported into one database through the CLI.

Every expected number is derived here from the fixture files with plain json and csv, and
checked against the fixtures README's own table: people who are in several helpdesks
(Marcus Webb, Priya Raman, Zoë Ångström, José Núñez) are one customer each, with every
source kept and every ticket on their one timeline."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocx.cli import cli
from ocx.testing import query

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # made by tests/fixtures/build.py
SOURCES = ("zendesk", "freshdesk", "helpscout", "csv")
KINDS = ("customers", "conversations", "messages")


def norm(email: str) -> str:
    return email.strip().lower()


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Expected:
    """What the four sample exports hold, read without ocx: per source the customers'
    emails, each conversation's customer email, and the number of messages."""

    def __init__(self, root: Path) -> None:
        self.emails: dict[str, set[str]] = {}
        self.conversations: dict[str, dict[str, str]] = {}  # source -> {external_id: email}
        self.messages: dict[str, int] = {}

        # Zendesk: end-users only (agents are not customers); comments, else the description
        zendesk = load(root / "zendesk" / "tickets.json")
        users = {u["id"]: u for u in zendesk["users"]}
        self.emails["zendesk"] = {
            norm(u["email"]) for u in users.values() if u["role"] == "end-user"
        }
        self.conversations["zendesk"] = {
            str(t["id"]): norm(users[t["requester_id"]]["email"]) for t in zendesk["tickets"]
        }
        comments = root / "zendesk" / "comments"
        self.messages["zendesk"] = sum(
            len(load(comments / f"{t['id']}.json")["comments"])
            if (comments / f"{t['id']}.json").is_file()
            else 1
            for t in zendesk["tickets"]
        )

        # Freshdesk: contacts; each ticket's description plus its conversation entries
        contacts = {c["id"]: c for c in load(root / "freshdesk" / "contacts.json")}
        tickets = load(root / "freshdesk" / "tickets.json")
        self.emails["freshdesk"] = {norm(c["email"]) for c in contacts.values()}
        self.conversations["freshdesk"] = {
            str(t["id"]): norm(contacts[t["requester_id"]]["email"]) for t in tickets
        }
        entries = root / "freshdesk" / "conversations"
        self.messages["freshdesk"] = len(tickets) + sum(
            len(load(entries / f"{t['id']}.json"))
            for t in tickets
            if (entries / f"{t['id']}.json").is_file()
        )

        # Help Scout: customers' first email; threads that are messages
        customers = load(root / "helpscout" / "customers.json")["_embedded"]["customers"]
        conversations = load(root / "helpscout" / "conversations.json")["_embedded"][
            "conversations"
        ]
        self.emails["helpscout"] = {norm(c["_embedded"]["emails"][0]["value"]) for c in customers}
        self.conversations["helpscout"] = {
            str(c["id"]): norm(c["primaryCustomer"]["email"]) for c in conversations
        }
        self.messages["helpscout"] = sum(
            1
            for c in conversations
            for t in c["_embedded"]["threads"]
            if t["type"] != "lineitem" and t.get("state") != "draft"
        )

        # CSV: one row per customer; one message per ticket
        with (root / "csv" / "customers.csv").open(encoding="utf-8", newline="") as handle:
            self.emails["csv"] = {norm(r["email"]) for r in csv.DictReader(handle)}
        with (root / "csv" / "tickets.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.conversations["csv"] = {r["external_id"]: norm(r["customer_email"]) for r in rows}
        self.messages["csv"] = len(rows)

    @property
    def people(self) -> set[str]:
        return set().union(*self.emails.values())

    def sources_of(self, email: str) -> set[str]:
        return {source for source, emails in self.emails.items() if email in emails}

    def tickets_of(self, email: str) -> set[tuple[str, str]]:
        return {
            (source, external_id)
            for source, conversations in self.conversations.items()
            for external_id, owner in conversations.items()
            if owner == email
        }


@pytest.fixture(scope="module")
def expected() -> Expected:
    assert FIXTURES.is_dir(), (
        f"the sample exports are missing: {FIXTURES} (run tests/fixtures/build.py)"
    )
    return Expected(FIXTURES)


@pytest.fixture
def ocx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """ocx(*args): the real CLI on a fresh database, with entry-point plugins ON."""
    monkeypatch.setenv("OCX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("OCX_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("OCX_DB", raising=False)
    db = tmp_path / "ocx.db"

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", str(db), *map(str, args)])

    result = invoke("init")
    assert result.exit_code == 0, result.output
    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def import_all(ocx, order: tuple[str, ...]) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    """Import every source in `order`; the created/updated/unchanged totals."""
    totals = {part: dict.fromkeys(KINDS, 0) for part in ("created", "updated", "unchanged")}
    for source in order:
        result = ocx("import", source, FIXTURES / source, "--json")
        assert result.exit_code == 0, f"{source}: {result.output}"
        summary = json.loads(result.stdout)
        assert summary["skipped"] == [], summary["skipped"]
        for part, counts in totals.items():
            for kind in KINDS:
                counts[kind] += summary[part][kind]
    return totals


def readme_totals() -> tuple[int, int, int]:
    """The fixtures README's 'all four together' row: records, distinct customers, tickets."""
    text = (FIXTURES / "README.md").read_text(encoding="utf-8")
    row = re.search(r"\|\s*\*\*all four together\*\*\s*\|([^\n]*)", text)
    assert row, "the fixtures README has no 'all four together' row"
    numbers = [int(n) for n in re.findall(r"\d+", row.group(1))]
    return numbers[0], numbers[1], numbers[2]


def test_the_derived_counts_are_the_readmes(expected: Expected) -> None:
    records = sum(len(emails) for emails in expected.emails.values())
    tickets = sum(len(c) for c in expected.conversations.values())
    assert (records, len(expected.people), tickets) == readme_totals()


@pytest.mark.parametrize(
    "order",
    [SOURCES, tuple(reversed(SOURCES))],
    ids=["zendesk-first", "csv-first"],
)
def test_four_sources_make_one_customer_per_person(ocx, expected: Expected, order) -> None:  # type: ignore[no-untyped-def]
    totals = import_all(ocx, order)
    db = ocx.db
    conversations = sum(len(c) for c in expected.conversations.values())
    messages = sum(expected.messages.values())
    assert totals["created"] == {
        "customers": len(expected.people), "conversations": conversations, "messages": messages,
    }  # fmt: skip
    customers = query(db, "SELECT id, email FROM customers")
    assert {c["email"] for c in customers} == expected.people
    assert len(customers) == len(expected.people)
    assert query(db, "SELECT count(*) AS n FROM conversations")[0]["n"] == conversations
    assert query(db, "SELECT count(*) AS n FROM messages")[0]["n"] == messages

    # every person carries every source they are in, and only those
    sources: dict[str, set[str]] = defaultdict(set)
    for row in query(
        db,
        "SELECT c.email, s.source FROM customer_sources s JOIN customers c ON c.id = s.customer_id",
    ):
        sources[row["email"]].add(row["source"])
    assert {email: sources[email] for email in expected.people} == {
        email: expected.sources_of(email) for email in expected.people
    }
    # every conversation is on the timeline of the person it belongs to
    owners = {
        (r["source"], r["external_id"]): r["email"]
        for r in query(
            db,
            "SELECT v.source, v.external_id, c.email FROM conversations v "
            "JOIN customers c ON c.id = v.customer_id",
        )
    }
    assert owners == {
        (source, external_id): email
        for source, items in expected.conversations.items()
        for external_id, email in items.items()
    }


def test_the_people_in_several_helpdesks(ocx, expected: Expected) -> None:  # type: ignore[no-untyped-def]
    import_all(ocx, SOURCES)
    several = {email for email in expected.people if len(expected.sources_of(email)) > 1}
    records = sum(len(e) for e in expected.emails.values())
    assert sum(len(expected.sources_of(e)) - 1 for e in several) == records - len(expected.people)

    marcus = next(e for e in several if e.startswith("marcus.webb@"))
    assert expected.sources_of(marcus) == {"zendesk", "freshdesk", "csv"}
    zoe = next(e for e in several if e.startswith("zoe.angstrom@"))
    assert expected.sources_of(zoe) == {"zendesk", "helpscout"}

    for email in several:
        result = ocx("customer", "show", email, "--json")
        assert result.exit_code == 0, result.output
        profile = json.loads(result.stdout)
        assert {s["source"] for s in profile["sources"]} == expected.sources_of(email)

    # Priya: her Zendesk and Freshdesk tickets on one timeline
    priya = next(e for e in several if e.startswith("priya.raman@"))
    tickets = expected.tickets_of(priya)
    per_source = {s: sum(1 for t in tickets if t[0] == s) for s in ("zendesk", "freshdesk")}
    assert per_source == {"zendesk": 5, "freshdesk": 3}  # as the README tells
    result = ocx("customer", "timeline", priya, "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert len({e["customer_id"] for e in entries}) == 1
    shown = {
        (e["data"]["source"], e["data"]["external_id"])
        for e in entries
        if e["kind"] == "conversation"
    }
    assert shown == tickets


def test_importing_everything_again_changes_nothing(ocx, expected: Expected) -> None:  # type: ignore[no-untyped-def]
    first = import_all(ocx, SOURCES)
    records = {
        "customers": sum(len(e) for e in expected.emails.values()),
        "conversations": sum(len(c) for c in expected.conversations.values()),
        "messages": sum(expected.messages.values()),
    }
    # a person already known from another source is linked (updated), not created
    assert first["updated"] == {
        **dict.fromkeys(KINDS, 0),
        "customers": records["customers"] - len(expected.people),
    }
    again = import_all(ocx, SOURCES)
    assert again["created"] == again["updated"] == dict.fromkeys(KINDS, 0)
    assert again["unchanged"] == records
