"""`ocx incident fanout` adds a million customers in batches, each committed with its cases'
timeline rows: batches give the same cases, concierges and timeline as one transaction did,
and a fanout stopped between two batches leaves whole cases behind, the rest added when it
is run again. Batches of two here, so five customers take three."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx import fanout as incidents  # FANOUT_BATCH lives in ocx.fanout
from ocx.store import incidents as incident_sql
from ocx.testing import query

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import Run

AT = {"OCX_NOW": "2026-11-25T10:00:00Z"}
EMAILS = [f"c{i}@example.com" for i in range(1, 6)]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def db(run: Run, initialized: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Five customers, alex and sam on the team; c2 already has sam as concierge in INC-1
    (open), and the fanout goes into INC-2."""
    monkeypatch.setattr(incidents, "FANOUT_BATCH", 2)
    for handle in ("alex", "sam"):
        ok(run("team", "add", handle, env=AT))
    for email in EMAILS:
        ok(run("customer", "add", email, "--tag", "hdfc", env=AT))
    ok(run("incident", "new", "Exports slow", env=AT))
    ok(run("incident", "fanout", "1", "--customers", _refs(tmp_path, ["c2@example.com"]),
           "--concierge", "sam", env=AT))  # fmt: skip
    ok(run("incident", "new", "Bank sync failing", env=AT))
    return initialized


def _refs(folder: Path, emails: list[str]) -> str:
    path = folder / "refs.txt"
    path.write_text("\n".join(emails) + "\n", encoding="utf-8")
    return str(path)


def rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in query(db, sql, params)]


def cases(db: Path) -> list[tuple[str, str | None]]:
    return rows(db, "SELECT c.email, k.concierge FROM cases k JOIN customers c "
                    "ON c.id = k.customer_id WHERE k.incident_id = 2 ORDER BY k.id")  # fmt: skip


def timeline(db: Path) -> list[tuple[str, str]]:
    return rows(db, "SELECT c.email, t.text FROM timeline t JOIN customers c "
                    "ON c.id = t.customer_id WHERE t.kind = 'incident' AND t.subject_id = 2 "
                    "ORDER BY t.id")  # fmt: skip


def test_batches_give_each_customer_one_case_least_loaded_first_and_one_timeline_row(
    run: Run, db: Path
) -> None:
    result = ok(run("incident", "fanout", "2", "--tag", "hdfc", "--concierge", "alex",
                    "--concierge", "sam", "--json", env=AT))  # fmt: skip
    assert json.loads(result.stdout) == {"added": 5, "already_present": 0, "unknown": []}
    # sam carries c2 in INC-1 (load 1) and keeps c2 (2); alex, the least loaded, takes c1
    # and c3 (2), then c4 on the tie (the first named: 3), and sam c5
    assert cases(db) == [("c1@example.com", "alex"), ("c2@example.com", "sam"),
                         ("c3@example.com", "alex"), ("c4@example.com", "alex"),
                         ("c5@example.com", "sam")]  # fmt: skip
    assert timeline(db) == [
        (email, f"Affected by INC-2: Bank sync failing (concierge {who})")
        for email, who in cases(db)
    ]
    events = rows(db, "SELECT text, data FROM incident_events WHERE incident_id = 2 "
                      "AND kind = 'fanout'")  # fmt: skip
    assert events == [("5 cases added",
                       '{"added": 5, "already_present": 0, "unknown": 0}')]  # fmt: skip
    again = ok(run("incident", "fanout", "2", "--all", "--json", env=AT))
    assert json.loads(again.stdout) == {"added": 0, "already_present": 5, "unknown": []}


def test_a_dry_run_in_batches_counts_and_assigns_but_adds_nothing(run: Run, db: Path) -> None:
    result = ok(run("incident", "fanout", "2", "--all", "--concierge", "alex", "--dry-run",
                    env=AT))  # fmt: skip
    assert "5 cases would be added, 0 already present" in result.stdout
    assert "alex: 4 new cases" in result.stdout  # c2 keeps sam
    assert cases(db) == []


def test_a_fanout_stopped_between_batches_leaves_whole_cases_and_running_it_again_adds_the_rest(
    run: Run, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    record = incident_sql.record_fanout

    def stop_in_the_second_batch(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as Ctrl-C (or a kill) would, half-way
        record(*args)

    monkeypatch.setattr(incident_sql, "record_fanout", stop_in_the_second_batch)
    stopped = run("incident", "fanout", "2", "--all", "--concierge", "alex", env=AT)
    assert stopped.exit_code != 0
    assert cases(db) == [("c1@example.com", "alex"), ("c2@example.com", "sam")]
    assert [email for email, _ in timeline(db)] == ["c1@example.com", "c2@example.com"]
    monkeypatch.setattr(incident_sql, "record_fanout", record)
    result = ok(run("incident", "fanout", "2", "--all", "--concierge", "alex", "--json", env=AT))
    assert json.loads(result.stdout) == {"added": 3, "already_present": 2, "unknown": []}
    assert [email for email, _ in cases(db)] == EMAILS
    assert [email for email, _ in timeline(db)] == EMAILS


def test_a_customer_gone_between_finding_and_adding_is_left_out(
    run: Run, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    find = incident_sql.customers_by

    def and_one_gone(conn: Any, **kwargs: Any) -> list[int]:
        return [*find(conn, **kwargs), 999]

    monkeypatch.setattr(incident_sql, "customers_by", and_one_gone)
    result = ok(run("incident", "fanout", "2", "--all", "--json", env=AT))
    assert json.loads(result.stdout) == {"added": 5, "already_present": 1, "unknown": []}
    assert len(cases(db)) == 5
