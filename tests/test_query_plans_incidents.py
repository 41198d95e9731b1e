"""The statements of the incident path read the indexes made for them, never every case, message
or promise: EXPLAIN QUERY PLAN of the store's own SQL, recorded as the store runs it, on a
database made by `ocx init` with an incident in it. SQLite without ANALYZE plans from the
schema alone, so a small database plans as one with 100,000 cases does; a change that made
`incident update` supersede held messages by reading the whole outbox, or `incident next`
sort every open case, fails here instead of at a customer's outage.

And `incident next`'s index probes choose the case the one sorted query chose (the query it
replaced, kept here), on seeded random cases with ties, claims fresh and stale, and cases
without a concierge."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx import testing
from ocx.store import customers as customer_sql
from ocx.store import incidents as sql
from ocx.store import outbox as outbox_sql
from ocx.testing import Recorder

# About SQLite's query planner (EXPLAIN QUERY PLAN): left out on PostgreSQL.
pytestmark = pytest.mark.sqlite_only

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import Run

AT = {"OCX_NOW": "2026-11-25T10:00:00Z"}
NOW = "2026-11-25T10:00:00Z"
STALE = "2026-11-25T09:30:00Z"  # claims before this are older than the lease
# What may be read whole: the incidents (a few a month), a fanout's own staged batch and
# the list of ids a query is given (json_each, `j`).
SMALL = ("incidents", "i", "fanout_batch", "s", "j")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def conn(run: Run, initialized: Path) -> Iterator[sqlite3.Connection]:
    ok(run("team", "add", "alex", env=AT))
    ok(run("team", "add", "sam", "--lead", env=AT))
    for email, extra in (("margo@example.com", ("--tag", "hdfc", "--company", "Acme")),
                         ("jim@example.com", ("--tag", "hdfc", "--quiet-hours", "00:00-23:59")),
                         ("judy@example.com", ("--channel", "phone"))):  # fmt: skip
        ok(run("customer", "add", email, *extra, env=AT))
    ok(run("incident", "new", "Sync down", "--lead", "sam", "--severity", "2", env=AT))
    ok(run("incident", "fanout", "1", "--all", "--concierge", "alex", env=AT))
    ok(run("incident", "update", "1", "--message", "Hi", env=AT))
    connection = sqlite3.connect(initialized, isolation_level=None)
    connection.row_factory = sqlite3.Row  # as the store has it
    try:
        yield connection
    finally:
        connection.close()


def plans(conn: sqlite3.Connection, call: Callable[[Any], Any]) -> list[str]:
    """The query plan of each statement `call` runs, one text per statement (in a transaction
    rolled back after, as some of them write)."""
    recorder = Recorder(conn)
    conn.execute("BEGIN")
    try:
        call(recorder)
        assert recorder.statements, "the function ran no statement"
        return [
            "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {text}", params))
            for text, params in recorder.statements
            if params is not None and text.lstrip().upper().startswith(("SELECT", "UPDATE",
                                                                        "DELETE", "INSERT"))
        ]  # fmt: skip
    finally:
        conn.execute("ROLLBACK")


def assert_no_big_scan(plan: str) -> None:
    testing.assert_no_big_scan(plan, SMALL)


def assert_uses(plan: str, *indexes: str) -> None:
    testing.assert_uses(plan, *indexes, small=SMALL)


# --- update -------------------------------------------------------------------------------


def test_superseding_held_updates_finds_each_customers_messages_by_the_customer_index(
    conn: sqlite3.Connection,
) -> None:
    (plan,) = plans(conn, lambda c: outbox_sql.supersede(c, "incident:1:update:", [1, 2, 3], NOW))
    assert_uses(plan, "outbox_customer")


def test_superseding_replaces_only_held_messages_of_that_incident_for_those_customers(
    conn: sqlite3.Connection,
) -> None:
    held = conn.execute(
        "SELECT customer_id FROM outbox WHERE state = 'pending' AND next_attempt_at > ?", (NOW,)
    ).fetchall()
    assert [row[0] for row in held] == [2]  # jim, in his quiet hours
    conn.execute("BEGIN")
    try:
        assert outbox_sql.supersede(conn, "incident:2:update:", [1, 2, 3], NOW) == set()
        assert outbox_sql.supersede(conn, "incident:1:update:", [1, 3], NOW) == set()
        assert outbox_sql.supersede(conn, "incident:1:update:", [1, 2, 3], NOW) == {2}
    finally:
        conn.execute("ROLLBACK")


def test_an_incidents_messages_are_a_range_of_the_key_index(conn: sqlite3.Connection) -> None:
    (plan,) = plans(conn, lambda c: outbox_sql.by_update(c, "incident:1:update:"))
    assert_uses(plan, "sqlite_autoindex_outbox_1")
    assert "(key>? AND key<?)" in plan


def test_the_calls_an_update_replaces_are_found_by_the_promise_subject_index(
    conn: sqlite3.Connection,
) -> None:
    (plan,) = plans(conn, lambda c: sql.open_calls(c, [1, 2, 3]))
    assert_uses(plan, "promises_subject")
    assert sql.open_calls(conn, [1, 2, 3]) == {3: [1]}  # judy's call: she prefers the phone


def test_open_cases_and_their_customers_are_read_by_index(conn: sqlite3.Connection) -> None:
    for call in (lambda c: sql.cases(c, 1, open_only=True), lambda c: sql.open_case_ids(c, 1),
                 lambda c: customer_sql.profiles(c, [1, 2, 3]),
                 lambda c: customer_sql.tags_for(c, [1, 2, 3])):  # fmt: skip
        for plan in plans(conn, call):
            assert_no_big_scan(plan)


# --- next ---------------------------------------------------------------------------------


def test_next_is_a_dozen_index_probes_never_a_sort_of_every_open_case(
    conn: sqlite3.Connection,
) -> None:
    claimed, *probes, fetch = plans(conn, lambda c: sql.next_case(c, 1, "alex", STALE))
    assert_uses(claimed, "cases_claimed")
    assert len(probes) == 12
    for plan in probes[:8]:  # their own cases and unassigned ones, state by state
        assert_uses(plan, "cases_concierge_queue")
        assert "TEMP B-TREE" not in plan, plan
    for plan in probes[8:]:  # anyone's, state by state
        assert_uses(plan, "cases_queue")
        assert "TEMP B-TREE" not in plan, plan
    assert "SEARCH k USING INTEGER PRIMARY KEY" in fetch


# The query `incident next` ran before it took its case from index probes.
_SORTED = """
    SELECT k.id FROM cases k
     WHERE k.incident_id = :incident AND k.state <> 'resolved'
       AND (k.claimed_by IS NULL OR k.claimed_by = :me OR k.claimed_at < :stale)
     ORDER BY (k.claimed_by = :me AND k.claimed_at >= :stale) DESC,
              (k.concierge = :me OR k.concierge IS NULL) DESC,
              (k.state = 'new') DESC, k.last_activity_at, k.id
     LIMIT 1
"""


@pytest.mark.parametrize("seed", range(40))
def test_next_chooses_the_case_the_one_sorted_query_chose(
    conn: sqlite3.Connection, seed: int
) -> None:
    rng = random.Random(seed)
    people = ["alex", "sam", "kim"]
    times = [f"2026-11-25T0{h}:{m}:00Z" for h in range(6, 10) for m in ("00", "30")]
    size = rng.choice([1, 3, 8, 30])
    conn.execute("BEGIN")
    try:
        conn.execute("DELETE FROM cases")
        conn.executemany(  # customers 4 to 30, beside margo, jim and judy
            "INSERT INTO customers (id, email, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [(i, f"c{i}@example.com", NOW, NOW) for i in range(4, 31)],
        )
        ids = rng.sample(range(1, 1000), size)  # ties on last_activity_at: the id decides
        for customer_id, case_id in enumerate(ids, 1):  # (no foreign keys on this connection)
            claimed_by = rng.choice([None, None, *people])
            claimed_at = None if claimed_by is None else rng.choice(times)
            conn.execute(
                "INSERT INTO cases (id, incident_id, customer_id, concierge, state, added_at, "
                "last_activity_at, claimed_by, claimed_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
                (case_id, customer_id, rng.choice([None, *people]),
                 rng.choice(["new", "contacted", "acknowledged", "agreed", "resolved"]),
                 times[0], rng.choice(times[:3]), claimed_by, claimed_at),
            )  # fmt: skip
        for me in [*people, "lee"]:
            params = {"incident": 1, "me": me, "stale": STALE}
            expected = conn.execute(_SORTED, params).fetchone()
            chosen = sql.next_case(conn, 1, me, STALE)
            assert (chosen and chosen["id"]) == (expected and expected["id"]), (me, seed)
    finally:
        conn.execute("ROLLBACK")


# --- fanout -------------------------------------------------------------------------------


def test_fanout_finds_a_tag_or_a_company_by_its_index(conn: sqlite3.Connection) -> None:
    (by_tag,) = plans(conn, lambda c: sql.customers_by(c, tag="hdfc"))
    assert_uses(by_tag, "tags_tag")
    (by_company,) = plans(conn, lambda c: sql.customers_by(c, company="acme"))
    assert_uses(by_company, "customers_company")
    assert sql.customers_by(conn, tag="hdfc") == [1, 2]
    assert sql.customers_by(conn, company="acme") == [1]


def test_fanout_reads_open_incidents_cases_by_index_and_writes_from_its_batch(
    conn: sqlite3.Connection,
) -> None:
    for call in (lambda c: sql.case_customer_ids(c, 1),
                 lambda c: sql.concierges_in_open_incidents(c, 2),
                 lambda c: sql.open_load(c, ["alex"])):  # fmt: skip
        for plan in plans(conn, call):
            assert_no_big_scan(plan)

    def batch(c: Any) -> None:
        sql.stage_fanout(c, [(1, 1, "alex"), (2, 2, None), (3, 999, None)])
        assert sql.fanout_leave_out(c, 1) == {1, 2, 999}  # in already; no such customer

    (leave_out,) = [plan for plan in plans(conn, batch) if "SUBQUERY" in plan]
    assert_uses(leave_out, "sqlite_autoindex_cases_1")
    assert "INTEGER PRIMARY KEY" in leave_out
