"""The statements behind `ocx report` and `ocx report customers --at-risk` read the indexes
made for them, never a whole big table: EXPLAIN QUERY PLAN of the store's own SQL, recorded
as the store runs it, on a database made by `ocx init` (with a little of everything in it).

SQLite without ANALYZE plans from the schema alone, so a small database plans as a big one
does; a change that made any of these statements walk every promise, case or timeline row
fails here instead of making the reports slow at a million."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx.store import promises as promise_sql
from ocx.store import reports as sql

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import Run

NOW = "2026-11-25T10:00:00Z"
WEEK_AGO = "2026-11-18T10:00:00Z"
# What may be scanned: the incidents (one row each, a few a month), the recursive list of
# owners, the candidates and ranking inside cadence_targets, subqueries.
SMALL = ("incidents", "i", "owners", "candidates", "r")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


class Recorder:
    """A connection stand-in that keeps every statement (and its parameters) run through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Any]] = []

    def execute(self, statement: str, params: Any = ()) -> sqlite3.Cursor:
        self.statements.append((statement, params))
        return self.conn.execute(statement, params)


@pytest.fixture
def conn(run: Run, initialized: Path) -> Iterator[sqlite3.Connection]:
    at = {"OCX_NOW": "2026-11-20T09:00:00Z"}
    ok(run("team", "add", "alex", env=at))
    ok(run("customer", "add", "margo@example.com", "--tag", "vip", env=at))
    ok(run("customer", "add", "jim@example.com", env=at))
    ok(run("promise", "add", "margo@example.com", "Call back", "--due", "2026-11-21T09:00:00Z",
           "--owner", "alex", env=at))  # fmt: skip
    ok(run("promise", "add", "jim@example.com", "Send the invoice", "--due",
           "2026-11-22T09:00:00Z", "--owner", "alex", env=at))  # fmt: skip
    ok(run("promise", "done", "2", env={"OCX_NOW": "2026-11-21T09:00:00Z"}))
    ok(run("customer", "contact", "jim@example.com", "They called", "--inbound", env=at))
    ok(run("cadence", "set", "--tag", "vip", "weekly", "--owner", "alex", env=at))
    ok(run("incident", "new", "Sync down", env=at))
    ok(run("incident", "fanout", "1", "--all", env=at))
    connection = sqlite3.connect(initialized, isolation_level=None)
    connection.row_factory = sqlite3.Row  # as the store has it
    try:
        yield connection
    finally:
        connection.close()


def plans(conn: sqlite3.Connection, call: Callable[[Any], Any]) -> list[str]:
    """The query plan of each statement `call` runs, one text per statement."""
    recorder = Recorder(conn)
    call(recorder)
    assert recorder.statements, "the function ran no statement"
    return [
        "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {text}", params))
        for text, params in recorder.statements
    ]


def assert_no_big_scan(plan: str) -> None:
    """No table (by name or alias) is read from end to end, but the small ones."""
    for line in plan.splitlines():
        words = line.split()
        if words[:1] == ["SCAN"] and words[1] not in SMALL and not words[1].startswith("("):
            pytest.fail(f"a scan of {words[1]}:\n{plan}")


def assert_uses(plan: str, *indexes: str) -> None:
    assert_no_big_scan(plan)
    for index in indexes:
        assert f"INDEX {index}" in plan, f"{index} is not used:\n{plan}"


@pytest.mark.parametrize("since", [None, WEEK_AGO])
@pytest.mark.parametrize("owner", [None, "alex"])
def test_promise_outcomes_read_an_owners_ranges_of_the_report_index(
    conn: sqlite3.Connection, since: str | None, owner: str | None
) -> None:
    found = plans(conn, lambda c: sql.promise_outcomes(c, since=since, owner=owner, now=NOW))
    *owners, counts = found
    for plan in owners:  # the owners, one seek each
        assert_uses(plan, "promises_owner")
    assert len(owners) == (0 if owner else 1)
    range_ = "(owner=? AND state=? AND created_at>?)" if since else "(owner=? AND state=?)"
    assert_uses(counts, "promises_report")
    assert counts.count(f"COVERING INDEX promises_report {range_}") == 3, counts  # each state
    assert "TEMP B-TREE" not in counts


def test_overdue_promises_come_from_the_open_promises_index(conn: sqlite3.Connection) -> None:
    (plan,) = plans(conn, lambda c: sql.overdue_by_customer(c, NOW))
    assert_uses(plan, "promises_open_due")


def test_uncontacted_cases_come_incident_by_incident_from_the_queue_index(
    conn: sqlite3.Connection,
) -> None:
    (plan,) = plans(conn, sql.uncontacted_cases)
    assert_uses(plan, "cases_queue")


def test_inbound_contacts_read_the_recent_end_of_two_indexes(conn: sqlite3.Connection) -> None:
    (plan,) = plans(conn, lambda c: sql.inbound_contacts(c, WEEK_AGO, NOW, 3))
    assert_uses(plan, "timeline_inbound", "conversations_created")
    assert "COVERING INDEX timeline_inbound (at>? AND at<?)" in plan


def test_cadence_membership_is_looked_up_for_the_few_asked(conn: sqlite3.Connection) -> None:
    (plan,) = plans(conn, lambda c: sql.on_a_cadence(c, [1, 2]))
    assert_uses(plan, "cadences_customer", "cadences_tag")


def test_customer_names_are_primary_key_lookups(conn: sqlite3.Connection) -> None:
    (plan,) = plans(conn, lambda c: sql.customer_names(c, [1, 2]))
    assert_no_big_scan(plan)
    assert "INTEGER PRIMARY KEY" in plan


@pytest.mark.parametrize("since", [None, WEEK_AGO])
def test_incident_figures_read_the_first_contact_index(
    conn: sqlite3.Connection, since: str | None
) -> None:
    (counts,) = plans(conn, lambda c: sql.incident_cases(c, since))
    assert_uses(counts, "cases_first_contact")
    (waits,) = plans(conn, lambda c: sql.first_contact_waits(c, 1))
    assert_uses(waits, "cases_first_contact")
    assert "COVERING INDEX cases_first_contact (incident_id=? AND contacted_at>?)" in waits


def test_cadence_contacts_read_the_outbound_contacts_index(conn: sqlite3.Connection) -> None:
    """The report's cadence figures count each customer's outbound contacts."""
    (plan,) = plans(conn, promise_sql.cadence_targets)
    assert_no_big_scan(plan)
    assert plan.count("COVERING INDEX timeline_outbound (customer_id=? AND at>?)") == 2, plan


def test_the_at_risk_list_scans_no_big_table_end_to_end(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything `report customers --at-risk` runs, through the domain function."""
    from ocx import reports
    from ocx.store import Store

    recorder = Recorder(conn)
    monkeypatch.setenv("OCX_NOW", NOW)
    found = reports.at_risk(Store(recorder, Path("unused")), {})  # type: ignore[arg-type]
    # margo's promise is overdue; both are in the open incident, not contacted
    assert {f.customer for f in found} == {"margo@example.com", "jim@example.com"}
    statements = [(t, p) for t, p in recorder.statements if t not in ("BEGIN", "COMMIT")]
    assert len(statements) == 4  # nobody wrote in three times: no cadence lookup
    for text, params in statements:
        assert_no_big_scan(
            "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {text}", params))
        )
