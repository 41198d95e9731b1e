"""The statements behind `ocx report` and `ocx report customers --at-risk` read the indexes
made for them, never a whole big table: EXPLAIN QUERY PLAN of the store's own SQL, recorded
as the store runs it, on a database made by `ocx init` (with a little of everything in it).

SQLite without ANALYZE plans from the schema alone, so a small database plans as a big one
does; a change that made any of these statements walk every promise, case or timeline row
fails here instead of making the reports slow at a million. And what they count is what the
plain full scans count, on seeded random data with ties on every boundary."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx import testing
from ocx.store import cadences as cadence_sql
from ocx.store import reports as sql
from ocx.testing import Recorder

# About SQLite's query planner (EXPLAIN QUERY PLAN): left out on PostgreSQL.
pytestmark = pytest.mark.sqlite_only

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import Run

NOW = "2026-11-25T10:00:00Z"
WEEK_AGO = "2026-11-18T10:00:00Z"
# What may be scanned: the incidents (one row each, a few a month), the recursive list of
# owners, the candidates and ranking inside cadence_targets, subqueries (`contacts` is the
# union inbound_contacts reads, named because PostgreSQL 15 wants a name on it), and in
# follow_through: `unkept` (the promises to no one customer not kept on time, a range of
# promises_missed, materialized), `own` and `last` (one customer's last 5 promises).
SMALL = ("incidents", "i", "owners", "candidates", "r", "contacts", "unkept", "own", "last")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


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
    testing.assert_no_big_scan(plan, SMALL)


def assert_uses(plan: str, *indexes: str) -> None:
    testing.assert_uses(plan, *indexes, small=SMALL)


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


def test_follow_through_reads_candidates_from_the_missed_index_and_5_promises_each(
    conn: sqlite3.Connection,
) -> None:
    """The candidates (3 promises not kept on time) are counted in the order of the partial
    index promises_missed, without a sort or a table row; each one's own last 5 are read
    backwards from `now` through promises_customer_due, in its order (no sort: LIMIT 5 stops
    the read); those to no one customer through promises_to_no_one, case by case."""
    (plan,) = plans(conn, lambda c: sql.follow_through(c, NOW, last=5, missed=3))
    assert_no_big_scan(plan)
    lines = plan.splitlines()
    candidates = lines[lines.index("MATERIALIZE candidates") :][:4]
    assert "SEARCH p USING COVERING INDEX promises_missed (customer_id>?)" in candidates
    own = [i for i, line in enumerate(lines) if line == "CO-ROUTINE own"]
    assert len(own) == 2  # with promises to no one customer, and without
    for i in own:
        assert lines[i + 1] == (
            "SEARCH p USING COVERING INDEX promises_customer_due (customer_id=? AND due_at<?)"
        )
        assert lines[i + 2] == "SCAN own"  # no TEMP B-TREE: the first 5 in index order
    assert plan.count("INDEX promises_to_no_one (subject_type=? AND subject_id=?") == 6, plan
    assert "SEARCH k USING COVERING INDEX cases_customer (customer_id=?)" in plan
    assert "SEARCH m USING COVERING INDEX inbox_customer (customer_id=?)" in plan


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
    (plan,) = plans(conn, cadence_sql.cadence_targets)
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
    # nobody wrote in three times: no cadence lookup; and the follow-through statement
    assert len(statements) == 5
    for text, params in statements:
        assert_no_big_scan(
            "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {text}", params))
        )


# --- the indexed statements count what a full scan counts ----------------------------------

STATES = ("open", "done", "cancelled")


def stamp(minutes: int) -> str:
    """A time `minutes` after 2026-11-01T00:00:00Z, as ocx writes it."""
    return (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=minutes)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.fixture
def crowd(initialized: Path) -> Iterator[sqlite3.Connection]:
    """Seeded random promises, cases and contacts, with ties on every boundary: done or
    cancelled at the due minute, made at the --since minute, snoozes past and ahead."""
    rng = random.Random(16)
    conn = sqlite3.connect(initialized, isolation_level=None)
    conn.row_factory = sqlite3.Row
    with conn:
        conn.executemany(
            "INSERT INTO customers (id, email, created_at, updated_at) VALUES (?, ?, ?, ?)",
            [(i, f"c{i}@example.com", stamp(0), stamp(0)) for i in range(1, 41)],
        )
        rows = []
        for _ in range(600):
            made = rng.randint(0, 40 * 24 * 60)
            due = made + rng.choice([1, 60, 600, 3000])
            state = rng.choice(STATES)
            closed = due + rng.choice([-60, -1, 0, 0, 1, 60])
            snoozed = due + rng.choice([-30, 30, 9000]) if rng.random() < 0.2 else None
            rows.append((
                rng.choice([None, *range(1, 41)]), "Call back", rng.choice(["al", "bo", "cy"]),
                stamp(due), stamp(snoozed) if snoozed is not None else None, state,
                stamp(closed) if state == "done" else None,
                stamp(closed) if state == "cancelled" else None, stamp(made),
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO promises (customer_id, text, owner, due_at, snoozed_until, state, "
            "done_at, cancelled_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for incident in range(1, 6):
            conn.execute(
                "INSERT INTO incidents (id, title, status, started_at, detected_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (incident, f"Outage {incident}", "open" if incident % 2 else "resolved",
                 stamp(incident * 1000), stamp(incident * 1000)),
            )  # fmt: skip
            for customer in rng.sample(range(1, 41), rng.randint(1, 30)):
                added = incident * 1000 + rng.randint(0, 30)
                contacted = added + rng.randint(0, 500) if rng.random() < 0.7 else None
                conn.execute(
                    "INSERT INTO cases (incident_id, customer_id, state, added_at, "
                    "contacted_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (incident, customer, "new" if contacted is None else "contacted",
                     stamp(added), stamp(contacted) if contacted else None, stamp(added)),
                )  # fmt: skip
    try:
        yield conn
    finally:
        conn.close()


def outcomes_by_scan(conn: sqlite3.Connection, since: str | None, owner: str | None,
                     now: str) -> list[dict[str, Any]]:  # fmt: skip
    """The contract's outcomes, one GROUP BY over every promise (the statement before 16)."""
    where = " AND ".join(
        ["1 = 1"] + ["created_at >= :since"] * bool(since) + ["owner = :owner"] * bool(owner)
    )
    return [
        dict(row)
        for row in conn.execute(
            f"""
            SELECT owner, count(*) AS made,
                   count(*) FILTER (WHERE state = 'done' AND done_at <= due_at) AS kept_on_time,
                   count(*) FILTER (WHERE state = 'done' AND done_at > due_at) AS kept_late,
                   count(*) FILTER (WHERE state = 'cancelled' AND cancelled_at >= due_at)
                       AS broken,
                   count(*) FILTER (WHERE state = 'open' AND due_at < :now) AS open_overdue
              FROM promises NOT INDEXED WHERE {where} GROUP BY owner ORDER BY owner
            """,
            {"since": since, "owner": owner, "now": now},
        )
    ]


@pytest.mark.parametrize("now_minutes", [0, 20 * 24 * 60, 60 * 24 * 60])
def test_indexed_outcomes_count_what_a_full_scan_counts(
    crowd: sqlite3.Connection, now_minutes: int
) -> None:
    now = stamp(now_minutes)
    made = [row[0] for row in crowd.execute("SELECT created_at FROM promises ORDER BY id")]
    for since in (None, made[0], made[300], stamp(0)):
        for owner in (None, "al", "bo", "nobody"):
            found = sql.promise_outcomes(crowd, since=since, owner=owner, now=now)
            assert found == outcomes_by_scan(crowd, since, owner, now), (since, owner)


def test_indexed_at_risk_statements_find_what_a_full_scan_finds(
    crowd: sqlite3.Connection,
) -> None:
    now = stamp(20 * 24 * 60)
    scan = crowd.execute(
        "SELECT customer_id, count(*) AS n, min(coalesce(snoozed_until, due_at)) AS oldest "
        "FROM promises NOT INDEXED WHERE state = 'open' AND coalesce(snoozed_until, due_at) < ? "
        "AND customer_id IS NOT NULL GROUP BY customer_id",
        (now,),
    )
    expected = {row["customer_id"]: (row["n"], row["oldest"]) for row in scan}
    found = {row["customer_id"]: (row["n"], row["oldest"])
             for row in sql.overdue_by_customer(crowd, now)}  # fmt: skip
    assert found == expected and expected

    cases = crowd.execute(
        "SELECT k.customer_id, k.incident_id, k.added_at FROM cases k NOT INDEXED "
        "JOIN incidents i ON i.id = k.incident_id WHERE i.status = 'open' AND k.state = 'new' "
        "ORDER BY k.id"
    ).fetchall()
    expected_cases: dict[int, dict[str, Any]] = {}
    for customer, incident, added in cases:
        entry = expected_cases.setdefault(customer, {"n": 0, "oldest": added, "incidents": []})
        entry["n"] += 1
        entry["oldest"] = min(entry["oldest"], added)
        entry["incidents"].append(f"INC-{incident}")
    found_cases = {row["customer_id"]: {**row, "incidents": row["incidents"].split(", ")}
                   for row in sql.uncontacted_cases(crowd)}  # fmt: skip
    assert {k: {**v, "customer_id": k} for k, v in expected_cases.items()} == found_cases
    assert found_cases


@pytest.mark.parametrize("now_minutes", [0, 20 * 24 * 60, 60 * 24 * 60])
def test_follow_through_finds_what_judging_every_customer_finds(
    crowd: sqlite3.Connection, now_minutes: int
) -> None:
    """sql.follow_through (candidates, then 5 promises each) equals the rule applied to
    every promise of every customer as `ocx customer promises` lists them (their own, and
    to no one customer about their case or covering it), judged by ocx.promises."""
    from ocx import promises
    from ocx.store import promises as promise_sql

    rng = random.Random(20)
    cases = [tuple(row) for row in crowd.execute("SELECT id, incident_id FROM cases")]
    with crowd:  # a third of the promises to no one: about a case, or next updates
        for (promise_id,) in crowd.execute(
            "SELECT id FROM promises WHERE customer_id IS NULL"
        ).fetchall():
            case_id, incident_id = rng.choice(cases)
            subject = rng.choice([("case", case_id), ("incident", incident_id), (None, None)])
            crowd.execute("UPDATE promises SET subject_type = ?, subject_id = ? WHERE id = ?",
                          (*subject, promise_id))  # fmt: skip
    now = stamp(now_minutes)
    expected, linked = {}, 0
    for customer_id in range(1, 41):
        items = [promises.Promise.from_row(row)
                 for row in promise_sql.promises_to_customer(crowd, customer_id)]  # fmt: skip
        due = sorted((p for p in items if promises.came_due(p, now)),
                     key=lambda p: (p.due_at, p.id), reverse=True)[:5]  # fmt: skip
        kept = sum(promises.judged(p, now) == "kept" for p in due)
        if len(due) - kept >= 3:
            expected[customer_id] = (len(due), kept, due[-1].due_at)
            linked += any(p.customer_id is None for p in due)
    found = {customer_id: rest
             for customer_id, *rest in sql.follow_through(crowd, now, last=5, missed=3)}  # fmt: skip
    assert {k: tuple(v) for k, v in found.items()} == expected
    if now_minutes:  # at risk with 5 come due, and with promises to no one among them
        assert any(n == 5 for n, _, _ in expected.values()) and linked, (expected, linked)


def test_incident_figures_match_the_cases_read_one_by_one(crowd: sqlite3.Connection) -> None:
    from ocx import clock

    for since in (None, stamp(3000)):
        counts = {row["incident_id"]: (row["cases"], row["contacted"])
                  for row in sql.incident_cases(crowd, since)}  # fmt: skip
        expected: dict[int, list[Any]] = {}
        for row in crowd.execute(
            "SELECT k.incident_id, k.added_at, k.contacted_at FROM cases k "
            "JOIN incidents i ON i.id = k.incident_id WHERE i.detected_at >= ? ORDER BY k.id",
            (since or "",),
        ):
            entry = expected.setdefault(row["incident_id"], [0, []])
            entry[0] += 1
            if row["contacted_at"]:
                wait = clock.from_iso(row["contacted_at"]) - clock.from_iso(row["added_at"])
                entry[1].append(wait.total_seconds())
        assert counts == {k: (n, len(waits)) for k, (n, waits) in expected.items()}
        for incident, (_, waits) in expected.items():
            assert sql.first_contact_waits(crowd, incident) == sorted(waits)
