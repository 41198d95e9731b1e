"""`ocx due` over many promises, and `ocx promise add --due "tomorrow 9am"`, same run.

Two cached databases, built with plain sqlite3 executemany into a file made by
ocx.store.create_store (schema, partial index and all), the clock pinned at NOW:

- sparse: 1,000,000 promises (100,000 with --quick), 2 % of them open, every open one due
  more than an hour after NOW: `ocx due` has nothing to say (the cron case, every 5 minutes).
- busy: 100,000 open promises (10,000 with --quick), about 2 % overdue or due within the hour.
- person: the same number of open promises, of which one owner's 4,000 make 5,000 items
  (1,000 overdue past escalation, each listed twice; 2,500 overdue; 500 due within the hour).

End to end (against `python -c pass`, OCX_NOW=NOW in the environment): `ocx due` on both,
human and --json, and `ocx promise add REF TEXT --due "tomorrow 9am"` on a copy of a small
database; then `ocx due --owner PERSON` on the person database, its table of 5,000 items
against the same command with --json as baseline. In-process: ocx.store.promises.due_promises,
the query `ocx due` runs, through a plain sqlite3 connection, against a primary-key lookup
as baseline and a full scan for scale.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import datagen
from harness import (
    BenchError,
    Command,
    Context,
    Goal,
    Row,
    expect_json,
    log,
    percentile,
    python_baseline,
    time_commands,
)

NAME = "due"
NOW = "2026-12-01T09:00:00Z"  # a Tuesday; every generated time is relative to it
NOW_AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
WITHIN = timedelta(hours=1)  # `ocx due` default --within
GENERATOR_VERSION = 1  # bump when what is generated changes: older cached files are ignored
OPEN_SHARE = 0.02
DUE_GOAL = Goal(5, "x")  # issue 16 (8x in issue 6)
TABLE_GOAL = Goal(2, "x")  # the table of PERSON_ITEMS, against the same command with --json
ADD_GOAL = Goal(10, "x")
QUERY_GOAL = Goal(5, "ms")
PK = "SELECT * FROM promises WHERE id = ?"
OWNERS = [f"agent{i:02d}" for i in range(1, 25)]
LEAD = "lead"
PERSON = OWNERS[0]  # the owner with PERSON_ITEMS items due in the "person" database
PERSON_ITEMS = 5_000
PROMISES = [
    "Call back with the fix ETA", "Send the corrected {month} invoice",
    "Confirm the {feature} fix shipped", "Walk them through {feature}",
    "Check in after the {feature} migration", "Email the workaround for {feature}",
    "Book the renewal call", "Share the {feature} roadmap", "Refund the duplicate charge",
    "Follow up on the logs they sent",
]  # fmt: skip
FEATURES = ["export", "sync", "billing", "calendar", "reports", "login", "import", "search"]
MONTHS = ["January", "March", "May", "July", "September", "November"]


# --- data -----------------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(rng: random.Random) -> str:
    template = rng.choice(PROMISES)
    return template.format(feature=rng.choice(FEATURES), month=rng.choice(MONTHS))


def _minutes(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    """A random span between low and high, to the minute."""
    return timedelta(minutes=rng.randint(int(low.total_seconds()) // 60,
                                         int(high.total_seconds()) // 60))  # fmt: skip


def _closed(rng: random.Random, customer: int, owner: str) -> tuple[Any, ...]:
    """A promise made in the last two years and done (90 %, some late) or cancelled."""
    due = NOW_AT - _minutes(rng, timedelta(hours=2), timedelta(days=730))
    created = due - _minutes(rng, timedelta(hours=1), timedelta(days=14))
    snoozed = (
        due + _minutes(rng, timedelta(hours=2), timedelta(days=5)) if rng.random() < 0.05 else None
    )
    closed_at = min(due + _minutes(rng, -timedelta(days=3), timedelta(days=1)), NOW_AT)
    done = rng.random() < 0.9
    return (
        customer, _text(rng), owner, _stamp(due), _stamp(snoozed) if snoozed else None,
        1 if snoozed else 0, "done" if done else "cancelled",
        _stamp(closed_at) if done else None, None if done else _stamp(closed_at),
        None if done else "Customer no longer needs it", _stamp(created), owner, None, None,
    )  # fmt: skip


def _open(rng: random.Random, customer: int, owner: str, earliest: timedelta,
          latest: timedelta) -> tuple[Any, ...]:  # fmt: skip
    """An open promise effectively due between NOW+earliest and NOW+latest; 5 % of them
    snoozed (their original due time may be long past: the snooze is what counts)."""
    effective = NOW_AT + _minutes(rng, earliest, latest)
    snoozed = rng.random() < 0.05
    due = effective - _minutes(rng, timedelta(hours=1), timedelta(days=7)) if snoozed else effective
    created = min(due, NOW_AT) - _minutes(rng, timedelta(hours=1), timedelta(days=14))
    return (
        customer, _text(rng), owner, _stamp(due), _stamp(effective) if snoozed else None,
        1 if snoozed else 0, "open", None, None, None, _stamp(created), owner, None, None,
    )  # fmt: skip


def _build(path: Path, kind: str, promises: int, seed: int) -> dict[str, Any]:
    """Write customers, the team, cadences and `promises` promises with executemany."""
    from ocx.store import create_store

    started = time.perf_counter()
    rng = random.Random(f"{kind}-{promises}-{seed}")
    create_store(path).close()  # the schema, indexes and migrations ocx itself makes
    conn = sqlite3.connect(path, isolation_level=None)
    customers = max(promises // 20, 100)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO customers (id, email, name, company, time_zone, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (i, f"customer{i}@example{i % 997}.com",
                 f"{rng.choice(datagen.FIRST)} {rng.choice(datagen.LAST)}",
                 f"{rng.choice(datagen.COMPANY_HEAD)} {rng.choice(datagen.COMPANY_TAIL)}",
                 rng.choice(datagen.ZONES), "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z")
                for i in range(1, customers + 1)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO team (handle, name, email, lead, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(h, h.title(), f"{h}@acme.example", int(h == LEAD), "2024-01-01T00:00:00Z",
              "2024-01-01T00:00:00Z") for h in [LEAD, *OWNERS]],
        )  # fmt: skip
        # A hundred customers on a cadence set 12 hours ago (sparse: next contact due in 12
        # hours, nothing due) or 36 hours ago (busy: due 12 hours ago).
        # (person: none of them PERSON's, so PERSON_ITEMS is exact).
        set_at = NOW_AT - timedelta(hours=12 if kind == "sparse" else 36)
        cadence_owners = OWNERS[1:] if kind == "person" else OWNERS
        conn.executemany(
            "INSERT INTO cadences (customer_id, schedule, owner, set_at) VALUES (?, ?, ?, ?)",
            [(c, "daily*5,weekly*4,monthly", rng.choice(cadence_owners), _stamp(set_at))
             for c in rng.sample(range(1, customers + 1), 100)],
        )  # fmt: skip
        if kind == "sparse":
            chosen = set(rng.sample(range(promises), round(promises * OPEN_SHARE)))

            def make(i: int) -> tuple[Any, ...]:
                customer, owner = rng.randint(1, customers), rng.choice(OWNERS)
                if i in chosen:  # due from 2 hours to 90 days after NOW: nothing within 1h
                    return _open(rng, customer, owner, timedelta(hours=2), timedelta(days=90))
                return _closed(rng, customer, owner)
        elif kind == "person":
            # PERSON's first 4,000 promises make PERSON_ITEMS items: 1,000 overdue past the
            # 4h escalation (an overdue item and an escalation each), 2,500 overdue by less,
            # 500 due within the hour; everybody else's are due from a day ago to 49 days on.
            spans = (
                [(-timedelta(days=3), -timedelta(hours=5))] * 1000
                + [(-timedelta(hours=3, minutes=59), -timedelta(minutes=1))] * 2500
                + [(timedelta(minutes=1), timedelta(minutes=59))] * 500
            )

            def make(i: int) -> tuple[Any, ...]:
                customer = rng.randint(1, customers)
                if i < len(spans):
                    return _open(rng, customer, PERSON, *spans[i])
                return _open(rng, customer, rng.choice(OWNERS[1:]), -timedelta(days=1),
                             timedelta(days=49))  # fmt: skip
        else:

            def make(i: int) -> tuple[Any, ...]:  # due from a day before NOW to 49 days after
                customer, owner = rng.randint(1, customers), rng.choice(OWNERS)
                return _open(rng, customer, owner, -timedelta(days=1), timedelta(days=49))

        conn.executemany(
            "INSERT INTO promises (customer_id, text, owner, due_at, snoozed_until, snoozes, "
            "state, done_at, cancelled_at, note, created_at, created_by, subject_type, "
            "subject_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (make(i) for i in range(promises)),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        opened, due = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE coalesce(snoozed_until, due_at) <= ?) "
            "FROM promises WHERE state = 'open'",
            (_stamp(NOW_AT + WITHIN),),
        ).fetchone()
    finally:
        conn.close()
    return {
        "kind": kind, "promises": promises, "open": opened, "due_within_1h": due,
        "customers": customers, "seed": seed, "now": NOW, "generator": GENERATOR_VERSION,
        "seconds": round(time.perf_counter() - started, 2), "bytes": path.stat().st_size,
    }  # fmt: skip


def ensure(kind: str, promises: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached database of this kind, size and seed, built first if there is none."""
    return datagen.cached(f"promises-{kind}-n{promises}-seed{seed}", GENERATOR_VERSION,
                          lambda tmp: _build(tmp, kind, promises, seed),
                          f"due data: {promises:,} promises ({kind})")  # fmt: skip


def _sizes(ctx: Context) -> tuple[int, int]:
    """(promises in the sparse database, open promises in the busy one)."""
    total = ctx.settings.promises
    return total, max(total // 10, 100)


def prepare(ctx: Context) -> None:
    sparse_n, busy_n = _sizes(ctx)
    seed = ctx.settings.seed
    sparse, sparse_meta = ensure("sparse", sparse_n, seed)
    busy, busy_meta = ensure("busy", busy_n, seed)
    person, person_meta = ensure("person", max(busy_n, 10_000), seed)  # PERSON's 4,000 and more
    small, _ = ensure("sparse", 10_000, seed)
    if sparse_meta["due_within_1h"] or not busy_meta["due_within_1h"]:
        raise BenchError(f"generated data is off: sparse {sparse_meta}, busy {busy_meta}")
    add_db = ctx.tmp / "due-add.db"  # `promise add` writes: a copy, never the cached file
    source, target = sqlite3.connect(f"file:{small}?mode=ro", uri=True), sqlite3.connect(add_db)
    try:
        source.backup(target)  # whatever a -wal file holds comes along
    finally:
        source.close()
        target.close()
    ctx.facts["due_dbs"] = {"sparse": sparse, "busy": busy, "person": person, "add": add_db}
    ctx.facts["due_data"] = {"sparse": sparse_meta, "busy": busy_meta, "person": person_meta}
    for meta in (sparse_meta, busy_meta, person_meta):
        how = "cached; built" if meta["cached"] else "built"
        ctx.facts.setdefault("notes", []).append(
            f"due data ({meta['kind']}): {meta['promises']:,} promises, {meta['open']:,} open, "
            f"{meta['due_within_1h']:,} due by NOW+1h, {meta['customers']:,} customers, "
            f"{len(OWNERS)} owners, OCX_NOW={NOW}, {meta['bytes'] / 1e6:.0f} MB ({how} in "
            f"{meta['seconds']} s with executemany)"
        )


# --- in-process: the query `ocx due` runs --------------------------------------------------


class _Recorder:
    """A connection stand-in that remembers the last statement and parameters it ran."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.sql = ""
        self.params: Any = ()

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.sql, self.params = sql, params
        return self.conn.execute(sql, params)


def query_plan(conn: sqlite3.Connection, until: str, owner: str | None = None) -> str:
    """EXPLAIN QUERY PLAN of exactly the statement due_promises runs."""
    from ocx.store.promises import due_promises

    recorder = _Recorder(conn)
    due_promises(recorder, until, owner)  # type: ignore[arg-type]
    rows = conn.execute(f"EXPLAIN QUERY PLAN {recorder.sql}", recorder.params).fetchall()
    return "; ".join(row[3] for row in rows)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row  # as ocx's store has it
    return conn


def _elapsed_ms(func: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    func()
    return (time.perf_counter_ns() - start) / 1e6


def in_process(ctx: Context) -> list[Row]:
    from ocx.store.promises import due_promises

    dbs, data = ctx.facts["due_dbs"], ctx.facts["due_data"]
    until = _stamp(NOW_AT + WITHIN)
    reps = 200 if ctx.settings.quick else 1000
    sparse, busy = _connect(dbs["sparse"]), _connect(dbs["busy"])
    try:
        plan = query_plan(sparse, until)
        owner_plan = query_plan(sparse, until, OWNERS[0])
        ids = random.Random(ctx.settings.seed).choices(range(1, data["sparse"]["promises"] + 1),
                                                       k=reps)  # fmt: skip
        scan_sql = (
            "SELECT count(*) FROM promises NOT INDEXED WHERE state = 'open' "
            "AND coalesce(snoozed_until, due_at) <= ?"
        )
        cases: dict[str, Callable[[int], Any]] = {
            "pk": lambda i: sparse.execute(PK, (ids[i],)).fetchone(),
            "sparse": lambda _: due_promises(sparse, until, None),
            "sparse_owner": lambda _: due_promises(sparse, until, OWNERS[0]),
            "busy": lambda _: due_promises(busy, until, None),
            "scan": lambda _: sparse.execute(scan_sql, (until,)).fetchone(),
        }
        found = {name: len(cases[name](0)) for name in ("sparse", "busy")}
        if found["sparse"]:
            raise BenchError(f"due_promises found {found['sparse']} due on the sparse database")
        for name, func in cases.items():  # warm-up: what the queries read is in the cache
            for i in range(3 if name == "scan" else 20):
                func(i)
        log(f"due: the due query x {reps} in-process")
        timed: dict[str, list[float]] = {name: [] for name in cases}
        for i in range(reps):  # interleaved, so the machine's mood falls on all alike
            for name, func in cases.items():
                if name != "scan" or i % 50 == 0:  # a full scan is slow: every 50th time
                    timed[name].append(_elapsed_ms(lambda f=func, i=i: f(i)))
    finally:
        sparse.close()
        busy.close()
    sparse_n, busy_n = data["sparse"]["promises"], data["busy"]["promises"]
    group = f"{NAME}: the due query, in-process (sqlite3 {sqlite3.sqlite_version})"
    base = Row(group, f"{PK} ({sparse_n:,} rows) (baseline)",
               timed["pk"], note="primary-key lookup: the cheapest query")  # fmt: skip
    index_used = "promises_open_due" in plan
    ctx.facts["due_query_p50"] = percentile(timed["sparse"], 50)
    return [
        base,
        Row(group, f"due_promises, nothing due ({sparse_n:,} promises, 2% open)",
            timed["sparse"], base, QUERY_GOAL,
            note=("" if index_used else "NOT USING THE PARTIAL INDEX; ") + f"plan: {plan}"),
        Row(group, "  the same, --owner " + OWNERS[0], timed["sparse_owner"], base,
            note=f"plan: {owner_plan}"),
        Row(group, f"due_promises, busy ({busy_n:,} open)", timed["busy"], base,
            note=f"{found['busy']:,} rows"),
        Row(group, f"full scan of the {sparse_n:,} promises (NOT INDEXED)", timed["scan"], base,
            note="what the partial index saves"),
    ]  # fmt: skip


# --- end to end ----------------------------------------------------------------------------


def _silent(stdout: str) -> None:
    if stdout:
        raise BenchError(f"expected no output when nothing is due, got {stdout[:200]!r}")


def _items(stdout: str) -> None:
    if len(stdout.splitlines()) < 4:
        raise BenchError(f"expected a table of due items, got {stdout[:200]!r}")


def _added(stdout: str) -> None:
    if "due 2026-12-02" not in stdout:
        raise BenchError(f"expected the new promise's id and due time, got {stdout[:200]!r}")


def _count_items(into: dict[str, int]) -> Callable[[str], None]:
    """A check that stdout is a JSON list of due items; counts them by kind and stage."""

    def check(stdout: str) -> None:
        expect_json(list)(stdout)
        for item in json.loads(stdout):
            key = "cadence" if item["kind"] == "cadence" else item["stage"]
            into[key] = into.get(key, 0) + 1

    return check


def end_to_end(ctx: Context) -> list[Row]:
    dbs, data = ctx.facts["due_dbs"], ctx.facts["due_data"]
    ocx = str(ctx.ocx)
    pinned = {"OCX_NOW": NOW}
    sparse_n, busy_n = data["sparse"]["promises"], data["busy"]["promises"]
    counts: dict[str, int] = {}

    def due(db: str, *extra: str) -> list[str]:
        return [ocx, "--db", str(dbs[db]), "due", *extra]

    commands = [
        Command(f"ocx due, nothing due ({sparse_n:,} promises)", due("sparse"), DUE_GOAL,
                _silent, note="no output, exit 0", env=pinned),
        Command("ocx due --json, nothing due", due("sparse", "--json"), check=expect_json(list),
                note="prints []", env=pinned),
        Command(f"ocx due ({busy_n:,} open)", due("busy"), check=_items,
                note="every item as tab-separated rows, to a pipe", env=pinned),
        Command(f"ocx due --json ({busy_n:,} open)", due("busy", "--json"),
                check=_count_items(counts), env=pinned),
        Command('ocx promise add REF TEXT --due "tomorrow 9am"',
                [ocx, "--db", str(dbs["add"]), "promise", "add", "customer7@example7.com",
                 "Call back with the fix ETA", "--due", "tomorrow 9am", "--owner", OWNERS[0]],
                ADD_GOAL, _added, note="adds a promise each run (10,000-promise db)",
                env=pinned),
    ]  # fmt: skip
    log(f"due: {len(commands) + 1} commands x {ctx.settings.runs} runs end to end")
    rows = time_commands(f"{NAME}: end to end (OCX_NOW={NOW})", python_baseline(), commands, ctx)
    listed = f"{sum(counts.values()):,} items: " + ", ".join(
        f"{n:,} {kind}" for kind, n in sorted(counts.items())
    )
    rows[4].note = listed  # `ocx due --json` on the busy database
    sparse_row, query = rows[1], ctx.facts.get("due_query_p50")
    if query:
        sparse_row.note += (
            f"; {sparse_row.p50 - rows[0].p50:.1f} ms over python -c pass, of which the "
            f"query is {query:.3f} ms"
        )
    return rows


def _person_items(stdout: str) -> None:
    expect_json(list)(stdout)
    found = len(json.loads(stdout))
    if found != PERSON_ITEMS:
        raise BenchError(f"expected {PERSON_ITEMS:,} items for {PERSON}, got {found:,}")


def _person_table(stdout: str) -> None:
    """In a pipe: a header line, then one tab-separated line an item."""
    lines = stdout.splitlines()
    if len(lines) != PERSON_ITEMS + 1 or not lines[0].startswith("What\t"):
        raise BenchError(f"expected {PERSON_ITEMS:,} items in rows, got {stdout[:200]!r}")


def _person_drawn(stdout: str) -> None:
    """In a terminal: the table's header and rule, then a line an item."""
    if len(stdout.splitlines()) < PERSON_ITEMS + 2 or "What" not in stdout[:200]:
        raise BenchError(f"expected a table of {PERSON_ITEMS:,} items, got {stdout[:200]!r}")


def person_table(ctx: Context) -> list[Row]:
    """One owner's 5,000 items printed for people against the same items as JSON, in a pipe
    (plain rows) and in a terminal (the table, 80 columns): printing them may cost at most
    as much again as everything else the command does."""
    ocx, db = str(ctx.ocx), str(ctx.facts["due_dbs"]["person"])
    due = [ocx, "--db", db, "due", "--owner", PERSON]
    terminal = [sys.executable, str(Path(__file__).with_name("in_terminal.py")), "--"]
    pinned = {"OCX_NOW": NOW}
    piped = [
        Command(f"ocx due --owner {PERSON} --json (baseline)", [*due, "--json"],
                check=_person_items, note=f"{PERSON_ITEMS:,} items as JSON", env=pinned),
        Command(f"ocx due --owner {PERSON}", due, TABLE_GOAL, _person_table,
                note="the same items, to a pipe: tab-separated rows", env=pinned),
    ]  # fmt: skip
    drawn = [
        Command(f"ocx due --owner {PERSON} --json, in a terminal (baseline)",
                [*terminal, *due, "--json"], check=_person_items, env=pinned,
                note="through bench/in_terminal.py, on both sides"),
        Command(f"ocx due --owner {PERSON}, in a terminal", [*terminal, *due], TABLE_GOAL,
                _person_drawn, note="the table (80 columns), laid out by ocx.render", env=pinned),
    ]  # fmt: skip
    log(f"due: 4 commands x {ctx.settings.runs} runs, {PERSON_ITEMS:,} items for one person")
    group = f"{NAME}: {PERSON_ITEMS:,} items for one person (OCX_NOW={NOW})"
    return time_commands(group, piped[0], piped[1:], ctx) + time_commands(
        f"{group}, in a terminal", drawn[0], drawn[1:], ctx
    )


def run(ctx: Context) -> list[Row]:
    return in_process(ctx) + end_to_end(ctx) + person_table(ctx)
