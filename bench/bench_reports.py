"""`ocx report` and `ocx report customers --at-risk` over a year of a big team's work.

Two cached databases of the same shape, one a tenth of the other: 1,000,000 promises over
200,000 customers (100,000 over 20,000 with --quick), made by ocx.store.create_store and
filled with set-based INSERT ... SELECT statements whose random numbers come from a seeded
hash of the row number, so the same size and seed always give the same file. A year of
history up to NOW: promises made every day by 40 owners, due an hour to two weeks later,
mostly kept (some late), some cancelled (in time, or after the due time: broken), a few left
open past due, the rest open and due ahead; each one's timeline rows; inbound and outbound
contacts, imported conversations, a few customers writing in every day this week; 30
incidents with their cases, two still open with customers nobody has contacted yet; cadences
for single customers and for a tag.

End to end (against `python -c pass`, OCX_NOW=NOW): `ocx report customers --at-risk`, `ocx
report --since "7 days ago"` and `ocx report`, human and --json, on the big database, and the
at-risk list on the small one too, so its growth from 100,000 to 1,000,000 promises is a
ratio of the same run. In-process: the statements the reports run, with their query plans.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
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
    python_baseline,
    run_once,
    time_commands,
)

NAME = "reports"
NOW = "2026-12-01T09:00:00Z"
NOW_AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
GENERATOR_VERSION = 2  # bump when what is generated changes: older cached files are ignored
AT_RISK_GOAL = Goal(10, "x")
SINCE_GOAL = Goal(10, "x")
ALL_TIME_GOAL = Goal(60, "x")
GROWTH_GOAL = Goal(1.5, "x")
OWNERS = 40
INCIDENTS = 30
DAY = 86_400
MASK = (1 << 64) - 1
PROMISE_TEXTS = [
    template.format(feature=feature, month=month)
    for template in (
        "Call back with the fix ETA", "Send the corrected {month} invoice",
        "Confirm the {feature} fix shipped", "Walk them through {feature}",
        "Check in after the {feature} migration", "Email the workaround for {feature}",
        "Book the renewal call", "Share the {feature} roadmap", "Refund the duplicate charge",
        "Follow up on the logs they sent",
    )
    for feature in ("export", "sync", "billing", "calendar", "reports", "login")
    for month in ("January", "May", "September")
]  # fmt: skip
INCIDENT_TITLES = [
    "Sync stalls for large accounts", "Login loops on mobile", "Invoices sent twice",
    "Calendar events shifted by an hour", "Exports time out", "Search returns nothing",
    "Reports show yesterday's data", "Webhooks delayed", "Import drops attachments",
    "Password reset mails not arriving",
]  # fmt: skip


# --- data ------------------------------------------------------------------------------------


def _hash(seed: int) -> Callable[[int, int], int]:
    """h(n, salt): 63 random bits fixed by a row number, a salt and the seed (splitmix64's
    finaliser), so set-based SQL is as repeatable as random.Random; `_bits` cuts them into
    uniform numbers in SQL."""
    base = (seed * 0x2545F4914F6CDD1D) & MASK

    def h(n: int, salt: int) -> int:
        x = (base + n * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) & MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
        return (x ^ (x >> 31)) >> 1

    return h


def _bits(column: str, shift: int, width: int = 16) -> str:
    """SQL for a uniform number in [0, 1) from `width` bits of a column of h() values."""
    return f"((({column}) >> {shift}) & {(1 << width) - 1}) / {float(1 << width)}"


def _rnd(n: str, salt: int) -> str:
    """SQL for one uniform number in [0, 1) from h(n, salt) (when one is enough)."""
    return _bits(f"h({n}, {salt})", 0, 32)


def _iso(expression: str) -> str:
    """SQL for an epoch-seconds expression as ocx's time text."""
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expression}, 'unixepoch')"


def _build(path: Path, promises: int, seed: int) -> dict[str, Any]:
    """Fill a database made by create_store with a year of work, in one transaction."""
    from ocx.store import create_store
    from ocx.store.customers import sort_key

    started = time.perf_counter()
    create_store(path).close()  # the schema, indexes and migrations ocx itself makes
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("h", 2, _hash(seed), deterministic=True)
    conn.create_function("sort_key", 1, sort_key, deterministic=True)
    customers = max(promises // 5, 100)
    cases = max(promises // 10, 100)
    now = int(NOW_AT.timestamp())
    params = {"now": now, "promises": promises, "customers": customers, "owners": OWNERS,
              "year": 365 * DAY, "texts": len(PROMISE_TEXTS)}  # fmt: skip
    lists = {"first": datagen.FIRST, "last": datagen.LAST, "head": datagen.COMPANY_HEAD,
             "tail": datagen.COMPANY_TAIL, "zone": datagen.ZONES, "text": PROMISE_TEXTS}  # fmt: skip

    def run(sql: str, **extra: Any) -> None:
        values = {**params, **extra}
        conn.execute(sql, {k: v for k, v in values.items() if f":{k}" in sql})

    def word(name: str, uniform: str) -> str:
        """SQL for a word of one of the lists, picked by a uniform number."""
        return (f"(SELECT word FROM words WHERE list = '{name}' "
                f"AND i = CAST({uniform} * {len(lists[name])} AS INTEGER))")  # fmt: skip

    def seq(limit: str) -> str:
        return f"seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {limit})"

    try:
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE words (list TEXT, i INTEGER, word TEXT)")
        conn.executemany("INSERT INTO words VALUES (?, ?, ?)",
                         [(name, i, w) for name, words in lists.items()
                          for i, w in enumerate(words)])  # fmt: skip
        conn.execute("CREATE INDEX temp.words_at ON words (list, i)")

        log(f"reports: {customers:,} customers")
        run(f"""
            INSERT INTO customers (id, email, name, sort_name, company, time_zone, channel,
                                   created_at, updated_at)
            WITH RECURSIVE {seq(':customers')},
            drawn AS MATERIALIZED (SELECT n, h(n, 1) AS a, h(n, 2) AS b, h(n, 3) AS c FROM seq),
            named AS (SELECT n, {word('first', _bits('a', 0))} || ' '
                                || {word('last', _bits('a', 16))} AS name,
                             CASE WHEN {_bits('a', 32)} < 0.8
                                  THEN {word('head', _bits('b', 0))} || ' '
                                       || {word('tail', _bits('b', 16))} END AS company,
                             CASE WHEN {_bits('b', 32)} < 0.7
                                  THEN {word('zone', _bits('a', 48, 14))} END AS zone,
                             {_bits('b', 48, 14)} AS r_channel,
                             :now - :year - CAST({_bits('c', 0, 32)} * :year AS INTEGER) AS created
                        FROM drawn)
            SELECT n, 'customer' || n || '@example' || (n % 997) || '.com', name,
                   sort_key(name), company, zone,
                   CASE WHEN r_channel < 0.6 THEN 'email' WHEN r_channel < 0.8 THEN 'phone' END,
                   {_iso('created')}, {_iso('created')}
              FROM named
        """)  # fmt: skip
        conn.execute(f"""
            INSERT INTO tags (customer_id, tag, tagged_at)
            SELECT id, tag, created_at FROM customers,
                   (SELECT 'vip' AS tag, 0.01 AS share, 11 AS salt UNION ALL
                    SELECT 'smb', 0.35, 12 UNION ALL SELECT 'annual', 0.2, 13)
             WHERE {_rnd('id', 'salt')} < share
        """)  # fmt: skip
        conn.executemany(
            "INSERT INTO team (handle, name, email, lead, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(h, h.title(), f"{h}@acme.example", int(h == "lead"), "2024-01-01T00:00:00Z",
              "2024-01-01T00:00:00Z")
             for h in ["lead", *(f"agent{i:02d}" for i in range(1, OWNERS + 1))]],
        )  # fmt: skip

        # Promises: made any time in the year, due an hour to two weeks later (mostly
        # sooner). Come due: kept (82% of those on time), cancelled 8% (half of them after
        # the due time: broken), or still open: 1.2% of those due in the last two weeks and
        # one in ten thousand older ones. Not due yet: open, or done early. 6% of the open
        # ones and 3% of the closed ones were snoozed; one in 5,000 is an incident's
        # next-update promise, made to no customer in particular. A third of the promises
        # go to the busiest tenth of the customers.
        log(f"reports: {promises:,} promises")
        run(f"""
            INSERT INTO promises (id, customer_id, text, owner, due_at, snoozed_until, snoozes,
                                  state, done_at, cancelled_at, note, created_at, created_by,
                                  subject_type, subject_id)
            WITH RECURSIVE {seq(':promises')},
            drawn AS MATERIALIZED (SELECT n, h(n, 21) AS a, h(n, 22) AS b, h(n, 23) AS c
                                     FROM seq),
            made AS (
                SELECT n, :now - 60 * CAST({_bits('a', 0, 32)} * :year / 60 AS INTEGER)
                              AS created,
                       {_bits('a', 32)} AS r_due, {_bits('a', 48, 15)} AS fate,
                       {_bits('b', 0)} AS r_close, {_bits('b', 16)} AS r_snooze,
                       CASE WHEN n % 5000 = 0 THEN NULL
                            WHEN {_bits('b', 56, 7)} < 0.3
                            THEN (CAST({_bits('b', 32, 24)} * (:customers / 10) AS INTEGER)
                                  * 7919) % :customers + 1
                            ELSE CAST({_bits('b', 32, 24)} * :customers AS INTEGER) + 1
                            END AS customer,
                       printf('agent%02d', 1 + CAST({_bits('c', 0)} * {_bits('c', 16)}
                                                    * 2 * :owners AS INTEGER) % :owners) AS owner,
                       {_bits('c', 32)} AS r_text
                  FROM drawn),
            due AS (SELECT *, created + 3600 + 60 * CAST(r_due * r_due * 20100 AS INTEGER) AS due
                      FROM made),
            fated AS (
                SELECT *, CASE
                    WHEN due > :now THEN CASE WHEN fate < 0.05 THEN 'early' ELSE 'open' END
                    WHEN (due >= :now - 14 * 86400 AND fate < 0.012) OR fate < 0.0001 THEN 'open'
                    WHEN fate < 0.09 THEN 'cancelled'
                    WHEN fate < 0.2556 THEN 'late'
                    ELSE 'done' END AS outcome
                  FROM due),
            closed AS MATERIALIZED (
                SELECT *, CASE outcome
                    WHEN 'early' THEN created + CAST(r_close * (:now - created) AS INTEGER)
                    WHEN 'done' THEN due - CAST(r_close * (due - created) AS INTEGER)
                    WHEN 'late' THEN min(due + 60 + 60 * CAST(r_close * r_close * 7200
                                                              AS INTEGER), :now)
                    WHEN 'cancelled' THEN min(due + CAST((r_close * 2 - 1) * 2 * 86400
                                                         AS INTEGER), :now)
                    END AS closed_at,
                    CASE WHEN r_snooze < CASE WHEN outcome = 'open' THEN 0.06 ELSE 0.03 END
                         THEN due + 3600 + CAST(r_snooze / 0.06 * 7 * 86400 AS INTEGER)
                         END AS snoozed
                  FROM fated)
            SELECT n, customer,
                   CASE WHEN customer IS NULL THEN 'Next update on INC-' || (n / 5000 % 30 + 1)
                        ELSE {word('text', 'r_text')} END,
                   CASE WHEN customer IS NULL THEN 'lead' ELSE owner END,
                   {_iso('due')}, {_iso('snoozed')}, snoozed IS NOT NULL,
                   CASE outcome WHEN 'open' THEN 'open' WHEN 'cancelled' THEN 'cancelled'
                        ELSE 'done' END,
                   CASE WHEN outcome IN ('early', 'done', 'late') THEN {_iso('closed_at')} END,
                   CASE WHEN outcome = 'cancelled' THEN {_iso('closed_at')} END,
                   CASE WHEN outcome = 'cancelled' THEN 'Customer no longer needs it' END,
                   {_iso('created')}, owner,
                   CASE WHEN customer IS NULL THEN 'incident' END,
                   CASE WHEN customer IS NULL THEN n / 5000 % 30 + 1 END
              FROM closed
        """)  # fmt: skip
        log("reports: timeline")
        conn.execute("""
            INSERT INTO timeline (customer_id, at, kind, author, text, subject_type, subject_id)
            SELECT customer_id, created_at, 'promise', created_by, 'Promised: ' || text,
                   'promise', id FROM promises WHERE customer_id IS NOT NULL
            UNION ALL
            SELECT customer_id, coalesce(done_at, cancelled_at), 'promise', owner,
                   CASE state WHEN 'done' THEN 'Kept: ' ELSE 'Cancelled: ' END || text,
                   'promise', id FROM promises
             WHERE customer_id IS NOT NULL AND state <> 'open'
        """)  # fmt: skip
        # Contacts: three a customer in the year, 55% of them inbound; one customer in 2,000
        # writes in three to six times this week.
        run(f"""
            INSERT INTO timeline (customer_id, at, kind, author, text, direction, channel)
            WITH RECURSIVE {seq('3 * :customers')},
            drawn AS MATERIALIZED (SELECT n, h(n, 41) AS a, h(n, 42) AS b FROM seq),
            contact AS (
                SELECT CAST({_bits('a', 0, 32)} * :customers AS INTEGER) + 1 AS customer,
                       :now - CAST({_bits('b', 0, 32)} * :year AS INTEGER) AS at,
                       {_bits('a', 32)} < 0.55 AS inbound, {_bits('a', 48, 15)} AS r_channel
                  FROM drawn
                UNION ALL
                SELECT c.id, :now - CAST({_rnd('c.id * 8 + x.n', 44)} * 7 * 86400 AS INTEGER),
                       1, 0.5
                  FROM customers c JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3
                                         UNION ALL SELECT 4 UNION ALL SELECT 5
                                         UNION ALL SELECT 6) x
                 WHERE c.id % 2000 = 7 AND x.n <= 3 + CAST({_rnd('c.id', 45)} * 4 AS INTEGER))
            SELECT customer, {_iso('at')}, 'contact',
                   CASE WHEN inbound THEN NULL ELSE 'agent01' END,
                   CASE WHEN inbound THEN 'Wrote in about billing' ELSE 'We called back' END,
                   CASE WHEN inbound THEN 'inbound' ELSE 'outbound' END,
                   CASE WHEN r_channel < 0.7 THEN 'email' ELSE 'phone' END
              FROM contact
        """)  # fmt: skip
        # Imported tickets: one for every other customer, opened over two years.
        run(f"""
            INSERT INTO conversations (customer_id, source, external_id, subject, status,
                                       created_at, updated_at, imported_at)
            WITH RECURSIVE {seq(':customers / 2')},
            drawn AS MATERIALIZED (SELECT n, h(n, 51) AS a FROM seq)
            SELECT CAST({_bits('a', 0, 32)} * :customers AS INTEGER) + 1, 'zendesk', n,
                   'Question about billing', 'solved',
                   {_iso(f":now - CAST({_bits('a', 32, 31)} * 2 * :year AS INTEGER)")},
                   {_iso(':now - 86400')}, {_iso(':now - 86400')}
              FROM drawn
        """)  # fmt: skip
        # Cadences: one customer in 200 on their own, set in the last six months, with up to
        # eight outbound contacts since (some behind); and everyone tagged vip, monthly.
        run(f"""
            INSERT INTO cadences (customer_id, schedule, owner, set_at)
            SELECT id, CASE WHEN id % 400 = 3 THEN 'daily*5,weekly*4,monthly' ELSE 'weekly' END,
                   printf('agent%02d', 1 + id % :owners),
                   {_iso(f":now - CAST({_rnd('id', 62)} * 180 * 86400 AS INTEGER)")}
              FROM customers WHERE id % 200 = 3
        """)  # fmt: skip
        conn.execute(
            "INSERT INTO cadences (tag, schedule, owner, set_at) "
            "VALUES ('vip', 'monthly', 'lead', '2026-06-01T09:00:00Z')"
        )
        set_at = "CAST(strftime('%s', k.set_at) AS INTEGER)"
        run(f"""
            INSERT INTO timeline (customer_id, at, kind, author, text, direction, channel)
            SELECT k.customer_id,
                   {_iso(f"{set_at} + CAST({_rnd('k.id * 16 + x.n', 63)} "
                         f"* (:now - {set_at}) AS INTEGER)")},
                   'contact', k.owner, 'Checked in', 'outbound', 'email'
              FROM cadences k JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3
                                    UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6
                                    UNION ALL SELECT 7 UNION ALL SELECT 8) x
             WHERE k.customer_id IS NOT NULL
               AND x.n <= CAST({_rnd('k.id', 64)} * 9 AS INTEGER)
        """)  # fmt: skip

        # Incidents: one every twelve days, the last two still open. Cases: a tenth as many
        # as promises, most in a few big incidents; contacted within minutes to two days
        # (97% of them in resolved incidents; 95% and 70% in the two open ones).
        log(f"reports: {INCIDENTS} incidents, {cases:,} cases")
        h = _hash(seed)
        weights = [(h(j, 71) / 2**63) ** 3 + 0.01 for j in range(1, INCIDENTS - 1)]
        sizes = [round(w / sum(weights) * cases * 0.985) for w in weights]
        sizes += [round(cases * 0.01), round(cases * 0.005)]
        for j, size in enumerate(sizes, 1):
            detected = now - (INCIDENTS - j) * 12 * DAY
            detected -= {INCIDENTS - 1: -10 * DAY, INCIDENTS: 6 * 3600}.get(j, 0)
            open_ = j > INCIDENTS - 2
            contacted = {INCIDENTS - 1: 0.95, INCIDENTS: 0.7}.get(j, 0.97)
            conn.execute(
                "INSERT INTO incidents (id, title, severity, lead, status, started_at, "
                "detected_at, resolved_at, created_by) VALUES (?, ?, ?, 'lead', ?, ?, ?, ?, 'lead')",
                (j, INCIDENT_TITLES[j % len(INCIDENT_TITLES)], 1 + j % 4,
                 "open" if open_ else "resolved", _stamp(detected - 1200), _stamp(detected),
                 None if open_ else _stamp(detected + DAY)),
            )  # fmt: skip
            run(f"""
                INSERT INTO cases (incident_id, customer_id, concierge, state, added_at,
                                   contacted_at, resolved_at, last_activity_at)
                WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq
                                          WHERE n < :size - 1),
                drawn AS MATERIALIZED (SELECT n, h(:j * 1000003 + n, 72) AS a FROM seq),
                added AS (SELECT n, (n * 7919 + :j * 104729) % :customers + 1 AS customer,
                                 :detected + 60 * CAST({_bits('a', 0)} * 60 AS INTEGER) AS added,
                                 {_bits('a', 16)} AS r, {_bits('a', 32)} AS r_contacted
                            FROM drawn),
                timed AS MATERIALIZED (
                    SELECT *, CASE WHEN r_contacted < :contacted
                                   THEN min(added + 60 + 60 * CAST(r * r * 2880 AS INTEGER),
                                            :now) END AS contacted
                      FROM added)
                SELECT :j, customer, printf('agent%02d', 1 + n % :owners),
                       CASE WHEN NOT :open THEN 'resolved' WHEN contacted IS NULL THEN 'new'
                            ELSE 'contacted' END,
                       {_iso('added')}, {_iso('contacted')},
                       CASE WHEN NOT :open THEN {_iso(':detected + 86400')} END,
                       {_iso('coalesce(contacted, added)')}
                  FROM timed
            """, size=size, j=j, detected=detected, contacted=contacted, open=open_)  # fmt: skip
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stamp = _stamp(now)
        facts = dict(zip(
            ("open", "open_overdue", "overdue_customers"),
            conn.execute(
                "SELECT count(*) FILTER (WHERE state = 'open'), "
                "count(*) FILTER (WHERE state = 'open' AND due_at < :now), "
                "count(DISTINCT customer_id) FILTER (WHERE state = 'open' "
                "AND coalesce(snoozed_until, due_at) < :now) FROM promises",
                {"now": stamp},
            ).fetchone(),
            strict=True,
        ))  # fmt: skip
        for table in ("timeline", "conversations", "cases", "cadences"):
            facts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        facts["uncontacted_open_cases"] = conn.execute(
            "SELECT count(*) FROM cases WHERE state = 'new'"
        ).fetchone()[0]
    finally:
        conn.close()
    return {
        "promises": promises, "customers": customers, **facts, "seed": seed, "now": NOW,
        "generator": GENERATOR_VERSION, "seconds": round(time.perf_counter() - started, 2),
        "bytes": path.stat().st_size,
    }  # fmt: skip


def _stamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure(promises: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached database of this size and seed, built first if there is none."""
    return datagen.cached(f"reports-n{promises}-seed{seed}", GENERATOR_VERSION,
                          lambda tmp: _build(tmp, promises, seed),
                          f"reports data: {promises:,} promises")  # fmt: skip


def _sizes(ctx: Context) -> tuple[int, int]:
    """(promises in the big database, in the small one: a tenth)."""
    return ctx.settings.promises, max(ctx.settings.promises // 10, 1000)


def prepare(ctx: Context) -> None:
    big_n, small_n = _sizes(ctx)
    big, big_meta = ensure(big_n, ctx.settings.seed)
    small, small_meta = ensure(small_n, ctx.settings.seed)
    for meta in (big_meta, small_meta):
        if not (meta["open_overdue"] and meta["uncontacted_open_cases"] and meta["cadences"]):
            raise BenchError(f"generated data is off: {meta}")
    # One `ocx --help` fills the plugin-command cache, as on any machine after the first run.
    run_once([str(ctx.ocx), "--help"], ctx.env())
    ctx.facts["reports_dbs"] = {"big": str(big), "small": str(small)}
    ctx.facts["reports_data"] = {"big": big_meta, "small": small_meta}
    for meta in (big_meta, small_meta):
        how = "cached; built" if meta["cached"] else "built"
        ctx.facts.setdefault("notes", []).append(
            f"reports data: {meta['promises']:,} promises ({meta['open']:,} open, "
            f"{meta['open_overdue']:,} open past due), {meta['customers']:,} customers, "
            f"{meta['timeline']:,} timeline rows, {meta['conversations']:,} conversations, "
            f"{meta['cases']:,} cases in {INCIDENTS} incidents ({meta['uncontacted_open_cases']} "
            f"not contacted in the 2 open ones), {meta['cadences']:,} cadences, {OWNERS} owners, "
            f"OCX_NOW={NOW}, {meta['bytes'] / 1e6:.0f} MB ({how} in {meta['seconds']} s)"
        )


# --- in-process: the statements the reports run --------------------------------------------


class _Recorder:
    """A connection stand-in that keeps every statement and parameters run through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self.statements.append((sql, params))
        return self.conn.execute(sql, params)


def query_plans(conn: sqlite3.Connection, call: Callable[[Any], Any]) -> str:
    """EXPLAIN QUERY PLAN of each distinct statement `call` runs on a connection."""
    recorder = _Recorder(conn)
    call(recorder)
    plans: dict[str, str] = {}
    for sql, params in recorder.statements:
        if sql not in plans:
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            plans[sql] = ", ".join(row[3] for row in rows)
    return " | ".join(plans.values())


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row  # as ocx's store has it
    return conn


def _elapsed_ms(func: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    func()
    return (time.perf_counter_ns() - start) / 1e6


def in_process(ctx: Context) -> list[Row]:
    from ocx import cadences
    from ocx.store import Store
    from ocx.store import reports as sql

    path, meta = Path(ctx.facts["reports_dbs"]["big"]), ctx.facts["reports_data"]["big"]
    now = NOW
    week_ago = _stamp(int(NOW_AT.timestamp()) - 7 * DAY)
    reps = 20 if ctx.settings.quick else 50
    conn = _connect(path)
    store = Store(conn, path)
    try:
        cases: dict[str, tuple[str, Callable[[Any], Any]]] = {
            "overdue": ("overdue_by_customer (at-risk)",
                        lambda c: sql.overdue_by_customer(c, now)),
            "uncontacted": ("uncontacted_cases (at-risk)", lambda c: sql.uncontacted_cases(c)),
            "inbound": ("inbound_contacts, 7 days (at-risk)",
                        lambda c: sql.inbound_contacts(c, week_ago, now, 3)),
            "follow": ("follow_through, last 5 (at-risk)",
                       lambda c: sql.follow_through(c, now, last=5, missed=3)),
            "since": ("promise_outcomes --since 7 days ago",
                      lambda c: sql.promise_outcomes(c, since=week_ago, owner=None, now=now)),
            "owner": ("promise_outcomes --owner agent01",
                      lambda c: sql.promise_outcomes(c, since=None, owner="agent01", now=now)),
            "all": ("promise_outcomes, all time",
                    lambda c: sql.promise_outcomes(c, since=None, owner=None, now=now)),
            "waits": ("incident_cases + first_contact_waits, all time",
                      lambda c: [sql.first_contact_waits(c, row["incident_id"])
                                 for row in sql.incident_cases(c, None)]),
        }  # fmt: skip
        plans = {name: query_plans(conn, call) for name, (_, call) in cases.items()}
        found = {name: len(call(conn)) for name, (_, call) in cases.items()}
        timed: dict[str, list[float]] = {name: [] for name in ["pk", *cases, "cadences"]}
        ids = [1 + (i * 7919) % meta["promises"] for i in range(reps)]
        for _, call in cases.values():  # warm-up: what the queries read is in the cache
            call(conn)
        log(f"reports: the report statements x {reps} in-process")
        for i in range(reps):  # interleaved, so the machine's mood falls on all alike
            timed["pk"].append(_elapsed_ms(
                lambda i=i: conn.execute("SELECT * FROM promises WHERE id = ?", (ids[i],))
                .fetchone()))  # fmt: skip
            for name, (_, call) in cases.items():
                timed[name].append(_elapsed_ms(lambda call=call: call(conn)))
            timed["cadences"].append(_elapsed_ms(lambda: cadences.counts(store, NOW_AT)))
        targets = cadences.counts(store, NOW_AT)[0]
    finally:
        conn.close()
    group = f"{NAME}: the statements, in-process (sqlite3 {sqlite3.sqlite_version})"
    base = Row(group, f"SELECT * FROM promises WHERE id = ? ({meta['promises']:,} rows) "
               "(baseline)", timed["pk"], note="primary-key lookup: the cheapest query")  # fmt: skip
    rows = [base]
    for name, (label, _) in cases.items():
        rows.append(Row(group, label, timed[name], base,
                        note=f"{found[name]:,} rows; plan: {plans[name]}"))  # fmt: skip
    rows.append(Row(group, "cadences.counts (the report's cadence figures)", timed["cadences"],
                    base, note=f"{targets:,} customers on a cadence"))  # fmt: skip
    ctx.facts["reports_cadences_p50"] = rows[-1].p50
    return rows


# --- end to end ----------------------------------------------------------------------------


def _at_risk(into: dict[str, Any]) -> Callable[[str], None]:
    """A check that stdout is the at-risk list; counts its customers by reason."""

    def check(stdout: str) -> None:
        expect_json(list)(stdout)
        found = json.loads(stdout)
        if not found:
            raise BenchError("nobody at risk: the data should have overdue promises")
        into["customers"] = len(found)
        for item in found:
            for reason in item["reasons"]:
                into[reason["kind"]] = into.get(reason["kind"], 0) + 1

    return check


def _report(promises: int | None) -> Callable[[str], None]:
    """A check that stdout is a report, of every promise (`promises`) or of a few."""

    def check(stdout: str) -> None:
        expect_json(dict)(stdout)
        made = json.loads(stdout)["made"]
        if (promises is not None and made != promises) or not made:
            raise BenchError(f"the report counts {made} promises made, expected {promises}")

    return check


def _lines(stdout: str) -> None:
    if len(stdout.splitlines()) < 4:
        raise BenchError(f"expected a table, got {stdout[:200]!r}")


def end_to_end(ctx: Context) -> list[Row]:
    dbs, data = ctx.facts["reports_dbs"], ctx.facts["reports_data"]
    ocx = str(ctx.ocx)
    pinned = {"OCX_NOW": NOW}
    big_n, small_n = data["big"]["promises"], data["small"]["promises"]
    big_c = data["big"]["customers"]
    counts: dict[str, Any] = {}

    def on(db: str, *args: str) -> list[str]:
        return [ocx, "--db", str(dbs[db]), "report", *args]

    size = f"{big_n // 1000:,}k promises / {big_c // 1000:,}k customers"
    since = ["--since", "7 days ago"]
    commands = [
        Command(f"ocx report customers --at-risk ({size})", on("big", "customers", "--at-risk"),
                AT_RISK_GOAL, _lines, note="a rich table, to a pipe", env=pinned),
        Command("ocx report customers --at-risk --json", on("big", "customers", "--at-risk",
                "--json"), AT_RISK_GOAL, _at_risk(counts), env=pinned),
        Command(f"ocx report customers --at-risk ({small_n // 1000:,}k promises)",
                on("small", "customers", "--at-risk"), check=_lines, env=pinned),
        Command(f"ocx report customers --at-risk --json ({small_n // 1000:,}k promises)",
                on("small", "customers", "--at-risk", "--json"), check=expect_json(list),
                env=pinned),
        Command('ocx report --since "7 days ago"', on("big", *since), SINCE_GOAL, _lines,
                env=pinned),
        Command('ocx report --since "7 days ago" --json', on("big", *since, "--json"),
                SINCE_GOAL, _report(None), env=pinned),
        Command("ocx report (all time)", on("big"), ALL_TIME_GOAL, _lines, env=pinned),
        Command("ocx report --json (all time)", on("big", "--json"), ALL_TIME_GOAL,
                _report(big_n), env=pinned),
    ]  # fmt: skip
    log(f"reports: {len(commands) + 1} commands x {ctx.settings.runs} runs end to end")
    rows = time_commands(f"{NAME}: end to end (OCX_NOW={NOW})", python_baseline(), commands, ctx)
    base, risk, risk_json, small, small_json = rows[:5]
    risk_json.note = f"{counts.pop('customers'):,} customers: " + ", ".join(
        f"{n:,} {kind}" for kind, n in sorted(counts.items())
    )
    cadence_ms = ctx.facts.get("reports_cadences_p50")
    if cadence_ms:
        for row in rows[5:]:
            row.note = (f"{row.p50 - base.p50:.0f} ms over python -c pass, of which "
                        f"cadences.counts is {cadence_ms:.0f} ms in-process")  # fmt: skip
    # The same runs again, as ratios of the big database's at-risk list to the small one's.
    growth = []
    for kind, at_big, at_small in (("", risk, small), (" --json", risk_json, small_json)):
        group = (f"{NAME}: at-risk{kind}, {small_n // 1000:,}k -> {big_n // 1000:,}k promises "
                 "(the runs above)")  # fmt: skip
        low = Row(group, f"{small_n:,} promises (baseline)", at_small.samples_ms)
        growth += [low, Row(group, f"{big_n:,} promises", at_big.samples_ms, low, GROWTH_GOAL)]
    return rows + growth


def run(ctx: Context) -> list[Row]:
    return in_process(ctx) + end_to_end(ctx)
