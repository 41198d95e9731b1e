"""`customer search` over generated customers (100,000; 10,000 with --quick).

In-process: ocx.search.search(store, q) for 50 queries of mixed kinds, p50/p90/p99 over
every timed call; baseline: `SELECT count(*) FROM customers` in the same database, timed
between the searches, with a primary-key lookup, `customers.get` and a full LIKE scan beside
it for scale.
End to end: `ocx --db DB customer search Q --json` for a few queries against `python -c pass`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datagen
from harness import Command, Context, Goal, Row, expect_json, log, python_baseline, time_commands

NAME = "search"
P50_GOAL = Goal(20, "ms")
COMMON_TAGS = ["smb", "monthly", "annual", "trial", "enterprise", "churn-risk"]
CONTEXT_WORDS = ["vet", "invoice", "marathon", "hurry"]
COUNT = "SELECT count(*) FROM customers"
PK = "SELECT * FROM customers WHERE id = ?"
GET = "customers.get(store, id)"
SCAN = "SELECT count(*) ... WHERE name LIKE '%marg%'"


def prepare(ctx: Context) -> None:
    size, seed = ctx.settings.customers, ctx.settings.seed
    path, meta = datagen.ensure(size, seed)
    ctx.facts["search_db"] = path
    ctx.facts["data"] = meta


def queries(conn: Any, size: int, seed: int) -> list[tuple[str, str]]:
    """50 (kind, query) pairs drawn from the data itself, the same for the same database."""
    rng = random.Random(seed + 1)

    def someone() -> Any:
        return conn.execute(
            "SELECT name, email, company FROM customers WHERE id = ?", (rng.randint(1, size),)
        ).fetchone()

    out: list[tuple[str, str]] = []
    out += [("full name", someone()["name"]) for _ in range(8)]
    out += [("surname", someone()["name"].split()[-1]) for _ in range(8)]
    out += [("prefix", "marg*")]
    out += [("prefix", someone()["name"].split()[0][: rng.choice((3, 4))].lower() + "*")
            for _ in range(7)]  # fmt: skip
    companies: list[str] = []
    while len(companies) < 6:  # a fifth of the customers have no company
        row = someone()
        if row["company"]:
            companies.append(row["company"])
    out += [("company word", company.split()[0]) for company in companies]
    out += [("common tag", tag) for tag in COMMON_TAGS]
    out += [("email", someone()["email"]) for _ in range(8)]
    out += [("context/notes word", word) for word in CONTEXT_WORDS]
    out += [("two words", f"{someone()['name'].split()[0]} smb") for _ in range(2)]
    return out


def _elapsed_ms(func: Callable[[int], Any], arg: int) -> float:
    start = time.perf_counter_ns()
    func(arg)
    return (time.perf_counter_ns() - start) / 1e6


def in_process(ctx: Context) -> list[Row]:
    from ocx import customers, search
    from ocx.store import open_store

    size, seed, reps = ctx.settings.customers, ctx.settings.seed, ctx.settings.search_reps
    store = open_store(ctx.facts["search_db"])
    try:
        conn = store.conn
        asked = queries(conn, size, seed)
        matches = {
            q: conn.execute(
                "SELECT count(*) FROM customer_search WHERE customer_search MATCH ?",
                (search.fts_query(q),),
            ).fetchone()[0]
            for _, q in asked
        }
        ctx.facts["search_queries"] = [
            {"kind": kind, "query": q, "matches": matches[q]} for kind, q in asked
        ]
        ids = random.Random(seed + 2).choices(range(1, size + 1), k=len(asked) * reps)
        others: dict[str, Callable[[int], Any]] = {
            COUNT: lambda _: conn.execute("SELECT count(*) FROM customers").fetchone(),
            PK: lambda i: conn.execute(
                "SELECT * FROM customers WHERE id = ?", (ids[i],)
            ).fetchone(),
            GET: lambda i: customers.get(store, str(ids[i])),
            SCAN: lambda _: conn.execute(
                "SELECT count(*) FROM customers WHERE name LIKE '%marg%'"
            ).fetchone(),
        }
        for i, (_, q) in enumerate(asked):  # warm-up: what the queries read is in the cache
            search.search(store, q)
            for func in others.values():
                func(i)
        log(f"search: {len(asked)} queries x {reps} passes in-process over {size:,} customers")
        by_kind: dict[str, list[float]] = {}
        every: list[float] = []
        timed: dict[str, list[float]] = {name: [] for name in others}
        # The baseline and the other references run between the searches, not after them,
        # so that whatever else the machine does falls on them alike.
        for i, (kind, q) in enumerate(asked * reps):
            elapsed = _elapsed_ms(lambda _, q=q: search.search(store, q), i)
            by_kind.setdefault(kind, []).append(elapsed)
            every.append(elapsed)
            for name, func in others.items():
                if name != SCAN or i % 5 == 0:  # the full scan is slow: every fifth time
                    timed[name].append(_elapsed_ms(func, i))
    finally:
        store.close()

    group = f"{NAME} ({size:,} customers, in-process)"
    base = Row(group, f"{COUNT} (baseline)", timed[COUNT], note="counts the rows of an index")
    rows = [
        base,
        Row(group, PK, timed[PK], base, note="primary-key lookup: the cheapest query"),
        Row(group, GET, timed[GET], base, note="what `customer show` reads"),
        Row(group, SCAN, timed[SCAN], base, note="a full scan: search without the index"),
        Row(group, f"search.search: all {len(asked)} queries", every, base, P50_GOAL),
    ]
    for kind, samples in by_kind.items():
        counts = [matches[q] for k, q in asked if k == kind]
        found = f"{min(counts):,}" if min(counts) == max(counts) else (
            f"{min(counts):,}-{max(counts):,}")  # fmt: skip
        rows.append(
            Row(
                group,
                f"  {kind} ({len(counts)} q)",
                samples,
                base,
                note=f"{found} match{'es' if max(counts) != 1 else ''}",
            )
        )
    return rows


def end_to_end(ctx: Context) -> list[Row]:
    asked = ctx.facts["search_queries"]
    picks = [
        next(q["query"] for q in asked if q["kind"] == "full name"),
        "marg*",
        "smb",
        next(q["query"] for q in asked if q["kind"] == "email"),
    ]
    db: Path = ctx.facts["search_db"]
    ocx = str(ctx.ocx)
    commands = [
        Command(f"ocx customer search {q!r} --json",
                [ocx, "--db", str(db), "customer", "search", q, "--json"], check=expect_json(list))
        for q in picks
    ]  # fmt: skip
    log(f"search: {len(commands) + 1} commands x {ctx.settings.runs} runs end to end")
    group = f"{NAME} ({ctx.settings.customers:,} customers, end to end)"
    return time_commands(group, python_baseline(), commands, ctx)


def run(ctx: Context) -> list[Row]:
    return in_process(ctx) + end_to_end(ctx)
