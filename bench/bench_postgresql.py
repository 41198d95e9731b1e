"""ocx on PostgreSQL (issue 19): import against a COPY floor, `ocx due`, customer search.

A throw-away server is started for the run with ocx.testing.postgres.Server (initdb +
pg_ctl on a Unix socket in a temporary folder, fsync off; as the postgres account under
root); every database is new and owned by a role that is not a superuser.

- import: `ocx --db URL import zendesk EXPORT --json` (100,000 generated tickets; 10,000
  with --quick) into a new database, against a floor timed in the same run: a child process
  that parses the same export with json.load and loads the same rows (customers, tags,
  customer_sources, conversations, messages, customer_search, whose tsvector the schema's
  trigger computes) with COPY (psycopg's cursor.copy) into another new database. Both are
  whole processes; the row counts of the two databases are compared. The floor's database
  is dropped and the server checkpointed before the import starts, so that autovacuum working
  through the floor's rows does not run during the import.
  Goal: import <= 3x the floor.
- due: `ocx --db URL due` with nothing due over --promises promises (1,000,000; 100,000
  with --quick), 2 % open, none due within the hour, loaded with COPY and analyzed; timed
  pair by pair against `python -c pass`. Goal: <= 8x.
- search: the customers the SQLite search benchmark generates (bench/datagen.py), copied
  into PostgreSQL with `ocx db copy`; ocx.search.search(store, q) in this process for the
  same 50 queries (p50 over every timed call, goal under 20 ms), with `SELECT count(*) FROM
  customers` as baseline; then `ocx --db URL customer search Q --json` end to end.

    python bench/run.py --only postgresql [--quick]
    python bench/run.py --only postgresql-import [--quick]   (the import rows alone)
    python bench/bench_postgresql.py --floor EXPORT_DIR URL     (the floor's child process)
"""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from harness import (
    CACHE_DIR,
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

NAME = "postgresql"
IMPORT_GOAL = Goal(3, "x")
DUE_GOAL = Goal(8, "x")
SEARCH_GOAL = Goal(20, "ms")
TICKETS, QUICK_TICKETS = 100_000, 10_000
TABLES = (
    "customers", "tags", "customer_sources", "timeline", "conversations", "messages",
    "customer_search",
)  # fmt: skip
COUNT = "SELECT count(*) FROM customers"
PK = "SELECT * FROM customers WHERE id = ?"
GET = "customers.get(store, id)"
SCAN = "SELECT count(*) ... WHERE name LIKE '%marg%'"
GENERATOR = Path(__file__).resolve().parent / "gen_export.py"


# --- the server ------------------------------------------------------------------------------


def _server_module() -> ModuleType:
    """ocx/testing/postgres.py loaded from its file: importing it as ocx.testing.postgres
    would run ocx/testing/__init__.py, which imports pytest and click's test runner."""
    found = importlib.util.find_spec("ocx")
    if found is None or found.origin is None:
        raise BenchError("ocx is not importable")
    path = Path(found.origin).parent / "testing" / "postgres.py"
    spec = importlib.util.spec_from_file_location("_ocx_bench_pg_server", path)
    if spec is None or spec.loader is None:
        raise BenchError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unavailable() -> str | None:
    """Why PostgreSQL cannot be benchmarked here, or None."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return 'psycopg is not installed (pip install "ocx[postgresql]")'
    try:
        _server_module()._bindir()
    except RuntimeError as exc:
        return str(exc)
    return None


def _connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _counts(url: str) -> dict[str, int]:
    with _connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _sizes(ctx: Context) -> dict[str, int]:
    quick = ctx.settings.quick
    return {
        "tickets": QUICK_TICKETS if quick else TICKETS,
        "customers": ctx.settings.customers,
        "promises": ctx.settings.promises,
    }


def prepare(ctx: Context, *, parts: tuple[str, ...] = ("import", "due", "search")) -> None:
    why = _unavailable()
    if why:
        ctx.facts.setdefault("notes", []).append(f"postgresql: skipped: {why}")
        return
    log("postgresql: starting a server (initdb + pg_ctl)")
    server = _server_module().Server()
    ctx.facts["pg_server"] = server
    try:
        sizes = _sizes(ctx)
        ctx.facts["pg_export"] = str(_export(sizes["tickets"], ctx.settings.seed))
        if "due" in parts:
            ctx.facts["pg_due_url"] = _due_database(ctx, server, sizes["promises"])
        if "search" in parts:
            ctx.facts["pg_search_url"] = _search_database(ctx, server, sizes["customers"])
    except BaseException:
        _stop(ctx)
        raise


def _stop(ctx: Context) -> None:
    server = ctx.facts.pop("pg_server", None)
    if server is not None:
        server.stop()


def _note(ctx: Context, text: str) -> None:
    ctx.facts.setdefault("notes", []).append(f"postgresql: {text}")


# --- import against a COPY floor -------------------------------------------------------------


def _export(tickets: int, seed: int) -> Path:
    """The generated Zendesk export bench_import uses, cached by size and seed."""
    folder = CACHE_DIR / f"zendesk-{tickets}-seed{seed}"
    if (folder / "zendesk" / "tickets.json").is_file():
        return folder / "zendesk"
    log(f"postgresql: generating {tickets:,} Zendesk tickets into {folder}")
    subprocess.run(
        [sys.executable, str(GENERATOR), "zendesk", str(tickets), str(folder), "--seed", str(seed),
         "--no-comments"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return folder / "zendesk"


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def floor(export: Path, url: str) -> None:
    """The floor: json.load the export and COPY the rows ocx's import lands into a fresh
    ocx database. No matching, no checks: the least work that lands the same rows."""
    import psycopg

    stamp = "2026-01-01T00:00:00Z"
    with (export / "tickets.json").open("rb") as handle:
        data = json.load(handle)
    users = [u for u in data["users"] if u.get("role") == "end-user"]
    ids = {u["id"]: n for n, u in enumerate(users, start=1)}
    names = {u["id"]: u.get("name") for u in data["users"]}
    staff = {u["id"] for u in data["users"] if u.get("role") != "end-user"}
    # ocx leaves out a ticket whose requester is staff (the export lists a few agents' ids
    # as end-users too): so does the floor
    tickets = [t for t in data["tickets"] if t["requester_id"] not in staff]
    said: dict[int, list[list[str]]] = {}  # customer -> [subjects, data strings, bodies]
    conversations, messages = [], []
    for n, t in enumerate(tickets, start=1):
        customer = ids[t["requester_id"]]
        details = {
            "channel": (t.get("via") or {}).get("channel"),
            "custom_fields": [{"label": str(f["id"]), "value": f["value"]}
                              for f in t.get("custom_fields") or [] if f.get("value")],
            "priority": t.get("priority"), "tags": t.get("tags") or [], "type": t.get("type"),
        }  # fmt: skip
        conversations.append((n, customer, "zendesk", str(t["id"]), t.get("subject"),
                              t.get("status"), t.get("created_at"), t.get("updated_at"), stamp,
                              json.dumps(details, sort_keys=True)))  # fmt: skip
        body = t.get("description") or ""
        messages.append((n, "zendesk", f"{t['id']}-description", names.get(t["requester_id"]),
                         "inbound", 1, body, t.get("created_at"), 0))  # fmt: skip
        parts = said.setdefault(customer, [[], [], []])
        if t.get("subject"):
            parts[0].append(t["subject"])
        parts[1] += _strings(details)
        parts[2].append(body)
    with psycopg.connect(url) as conn:  # one transaction, committed on leaving the block
        cur = conn.cursor()
        with cur.copy(
            "COPY customers (id, email, name, phone, time_zone, language, sort_name, created_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for u in users:
                name = u.get("name")
                copy.write_row((ids[u["id"]], u["email"].strip().lower(), name, u.get("phone"),
                                u.get("iana_time_zone"), u.get("locale"),
                                _fold(name) if name else None, stamp, stamp))  # fmt: skip
        with cur.copy("COPY tags (customer_id, tag, tagged_at) FROM STDIN") as copy:
            for u in users:
                for tag in dict.fromkeys(u.get("tags") or []):
                    copy.write_row((ids[u["id"]], tag, stamp))
        with cur.copy(
            "COPY customer_sources (customer_id, source, external_id, created_at, imported) "
            "FROM STDIN"
        ) as copy:
            for u in users:
                profile = {"language": u.get("locale"), "name": u.get("name"),
                           "phone": u.get("phone"), "tags": u.get("tags") or [],
                           "time_zone": u.get("iana_time_zone")}  # fmt: skip
                copy.write_row((ids[u["id"]], "zendesk", str(u["id"]), stamp,
                                json.dumps(profile, sort_keys=True)))  # fmt: skip
        with cur.copy(
            "COPY conversations (id, customer_id, source, external_id, subject, status, "
            "created_at, updated_at, imported_at, data) FROM STDIN"
        ) as copy:
            for row in conversations:
                copy.write_row(row)
        with cur.copy(
            "COPY messages (conversation_id, source, external_id, author, direction, public, "
            "body, created_at, preview) FROM STDIN"
        ) as copy:
            for row in messages:
                copy.write_row(row)
        with cur.copy(
            "COPY customer_search (rowid, name, email, company, tags, context, notes) FROM STDIN"
        ) as copy:
            for u in users:
                customer = ids[u["id"]]
                parts = said.get(customer, [[], [], []])
                tags = " ".join(sorted(dict.fromkeys(u.get("tags") or []))) or None
                notes = " " + " ".join(" ".join(p) for p in parts)
                copy.write_row((customer, u.get("name"), u["email"].strip().lower(), None, tags,
                                None, notes))  # fmt: skip
        for table in ("customers", "customer_sources", "conversations", "messages"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    from bench_import import _timed as timed  # wall seconds and peak RSS (MB) of a child

    return timed(argv, env)


def _new_ocx_database(server: Any) -> str:
    from ocx.store import create_store

    url = server.create_database()
    create_store(url).close()
    return url


def import_rows(ctx: Context) -> list[Row]:
    server, export = ctx.facts["pg_server"], Path(ctx.facts["pg_export"])
    tickets, env = _sizes(ctx)["tickets"], ctx.env()
    floor_url = _new_ocx_database(server)
    log(f"postgresql: floor (json.load + COPY) over {tickets:,} tickets")
    floor_s, floor_rss = _timed([sys.executable, __file__, "--floor", str(export), floor_url], env)
    floored = _counts(floor_url)
    # Each run starts as the floor's did, on a server with nothing else to do: the floor's
    # database goes (autovacuum would otherwise work through its new rows during the import)
    # and what it wrote is checkpointed.
    server.drop_database(floor_url)
    server.admin.execute("CHECKPOINT")
    url = _new_ocx_database(server)
    log(f"postgresql: ocx import zendesk, {tickets:,} tickets")
    command = [str(ctx.ocx), "--db", url, "import", "zendesk", str(export), "--json"]
    first_s, first_rss = _timed(command, env)
    landed = _counts(url)
    server.drop_database(url)
    counted = ", ".join(f"{n:,} {t}" for t, n in floored.items() if n)
    same = "the same row counts" if landed == floored else (
        "OTHER ROW COUNTS: " + ", ".join(f"{n:,} {t}" for t, n in landed.items() if n))  # fmt: skip
    group = f"{NAME}: import ({tickets:,} Zendesk tickets)"
    base = Row(group, "floor: json.load + COPY (baseline)", [floor_s * 1000],
               note=f"peak RSS {floor_rss:,.0f} MB; {counted}")  # fmt: skip
    return [
        base,
        Row(group, "ocx import zendesk (first)", [first_s * 1000], base, IMPORT_GOAL,
            note=f"peak RSS {first_rss:,.0f} MB; {same}"),
    ]  # fmt: skip


# --- due -------------------------------------------------------------------------------------


def _due_database(ctx: Context, server: Any, promises: int) -> str:
    """`promises` promises as bench_due's sparse database has them (2 % open, none due
    within the hour of NOW), loaded with COPY into a new ocx database, then analyzed."""
    import bench_due
    import datagen

    started = time.perf_counter()
    seed, kind = ctx.settings.seed, "sparse"
    rng = random.Random(f"{kind}-{promises}-{seed}")
    url = _new_ocx_database(server)
    customers = max(promises // 20, 100)
    log(f"postgresql: loading {promises:,} promises for `ocx due`")
    with _connect(url) as conn:
        cur = conn.cursor()
        with conn.transaction():
            with cur.copy("COPY customers (id, email, name, company, time_zone, created_at, "
                          "updated_at) FROM STDIN") as copy:  # fmt: skip
                for i in range(1, customers + 1):
                    copy.write_row((
                        i, f"customer{i}@example{i % 997}.com",
                        f"{rng.choice(datagen.FIRST)} {rng.choice(datagen.LAST)}",
                        f"{rng.choice(datagen.COMPANY_HEAD)} {rng.choice(datagen.COMPANY_TAIL)}",
                        rng.choice(datagen.ZONES), "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z",
                    ))  # fmt: skip
            with cur.copy("COPY team (handle, name, email, lead, created_at, updated_at) "
                          "FROM STDIN") as copy:  # fmt: skip
                for h in [bench_due.LEAD, *bench_due.OWNERS]:
                    copy.write_row((h, h.title(), f"{h}@acme.example", int(h == bench_due.LEAD),
                                    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"))  # fmt: skip
            set_at = bench_due._stamp(bench_due.NOW_AT - timedelta(hours=12))
            with cur.copy(
                "COPY cadences (customer_id, schedule, owner, set_at) FROM STDIN"
            ) as copy:
                for c in rng.sample(range(1, customers + 1), 100):
                    copy.write_row((c, "daily*5,weekly*4,monthly", rng.choice(bench_due.OWNERS),
                                    set_at))  # fmt: skip
            chosen = set(rng.sample(range(promises), round(promises * bench_due.OPEN_SHARE)))
            with cur.copy(
                "COPY promises (customer_id, text, owner, due_at, snoozed_until, snoozes, "
                "state, done_at, cancelled_at, note, created_at, created_by, subject_type, "
                "subject_id) FROM STDIN"
            ) as copy:
                for i in range(promises):
                    customer, owner = rng.randint(1, customers), rng.choice(bench_due.OWNERS)
                    if i in chosen:
                        copy.write_row(bench_due._open(rng, customer, owner, timedelta(hours=2),
                                                       timedelta(days=90)))  # fmt: skip
                    else:
                        copy.write_row(bench_due._closed(rng, customer, owner))
            for table in ("customers", "promises", "cadences"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
        conn.execute("VACUUM ANALYZE")  # as autovacuum would have left a database in use
        until = bench_due._stamp(bench_due.NOW_AT + bench_due.WITHIN)
        opened, due = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE coalesce(snoozed_until, due_at) <= %s) "
            "FROM promises WHERE state = 'open'",
            (until,),
        ).fetchone()
    if due:
        raise BenchError(f"generated due data is off: {due} promises due by NOW+1h")
    _note(ctx, f"due data: {promises:,} promises, {opened:,} open, none due by NOW+1h, "
               f"{customers:,} customers, OCX_NOW={bench_due.NOW} (loaded with COPY and "
               f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    ctx.facts["pg_promises"] = promises
    return url


def _silent(stdout: str) -> None:
    if stdout:
        raise BenchError(f"expected no output when nothing is due, got {stdout[:200]!r}")


def _due_query_ms(url: str) -> float:
    """p50 of the query `ocx due` runs (ocx.store.promises.due_promises), in this process."""
    import bench_due

    from ocx.store import open_store
    from ocx.store.promises import due_promises

    until = bench_due._stamp(bench_due.NOW_AT + bench_due.WITHIN)
    store = open_store(url)
    try:
        for _ in range(20):
            due_promises(store.conn, until, None)
        samples = []
        for _ in range(200):
            start = time.perf_counter_ns()
            due_promises(store.conn, until, None)
            samples.append((time.perf_counter_ns() - start) / 1e6)
    finally:
        store.close()
    return percentile(samples, 50)


def due_rows(ctx: Context) -> list[Row]:
    import bench_due

    url, ocx, promises = ctx.facts["pg_due_url"], str(ctx.ocx), ctx.facts["pg_promises"]
    pinned = {"OCX_NOW": bench_due.NOW}
    commands = [
        Command(f"ocx due, nothing due ({promises:,} promises)", [ocx, "--db", url, "due"],
                DUE_GOAL, _silent, note="no output, exit 0", env=pinned),
        Command("ocx due --json, nothing due", [ocx, "--db", url, "due", "--json"],
                check=expect_json(list), note="prints []", env=pinned),
    ]  # fmt: skip
    log(f"postgresql: {len(commands) + 1} commands x {ctx.settings.runs} runs (due)")
    rows = time_commands(f"{NAME}: due, end to end (OCX_NOW={bench_due.NOW})",
                         python_baseline(), commands, ctx)  # fmt: skip
    query = _due_query_ms(url)
    rows[1].note += (
        f"; {rows[1].p50 - rows[0].p50:.1f} ms over python -c pass, of which the query "
        f"(due_promises, in-process p50) is {query:.3f} ms"
    )
    return rows


# --- search ----------------------------------------------------------------------------------


def _search_database(ctx: Context, server: Any, size: int) -> str:
    """The SQLite search benchmark's generated customers, copied with `ocx db copy`."""
    import datagen

    path, meta = datagen.ensure(size, ctx.settings.seed)
    url = server.create_database()
    log(f"postgresql: ocx db copy of {size:,} customers")
    started = time.perf_counter()
    done = subprocess.run([str(ctx.ocx), "db", "copy", str(path), url, "--json"], env=ctx.env(),
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"ocx db copy {path} failed: {done.stderr.strip()[-500:]}")
    with _connect(url) as conn:
        conn.execute("VACUUM ANALYZE")
    ctx.facts["pg_search_source"] = str(path)
    _note(ctx, f"search data: {meta['customers']:,} customers, {meta['notes']:,} notes, seed "
               f"{meta['seed']} (bench/datagen.py), copied from {path.name} with `ocx db copy` "
               f"in {time.perf_counter() - started:.1f} s, then VACUUM ANALYZE")  # fmt: skip
    return url


def _elapsed_ms(func: Callable[[int], Any], arg: int) -> float:
    start = time.perf_counter_ns()
    func(arg)
    return (time.perf_counter_ns() - start) / 1e6


def search_in_process(ctx: Context) -> list[Row]:
    import bench_search

    from ocx import customers, search
    from ocx.store import open_store

    size, seed, reps = ctx.settings.customers, ctx.settings.seed, ctx.settings.search_reps
    source = sqlite3.connect(f"file:{ctx.facts['pg_search_source']}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    try:  # the same 50 queries as the SQLite benchmark, drawn from the same data
        asked = bench_search.queries(source, size, seed)
    finally:
        source.close()
    store = open_store(ctx.facts["pg_search_url"])
    try:
        conn = store.conn
        matches = {q: len(search.search_ids(store, q)) for _, q in asked}
        ctx.facts["pg_search_queries"] = [
            {"kind": kind, "query": q, "matches": matches[q]} for kind, q in asked
        ]
        ids = random.Random(seed + 2).choices(range(1, size + 1), k=len(asked) * reps)
        others: dict[str, Callable[[int], Any]] = {
            COUNT: lambda _: conn.execute(COUNT).fetchone(),
            PK: lambda i: conn.execute(PK, (ids[i],)).fetchone(),
            GET: lambda i: customers.get(store, str(ids[i])),
            SCAN: lambda _: conn.execute(
                "SELECT count(*) FROM customers WHERE name LIKE '%marg%'"
            ).fetchone(),
        }
        for i, (_, q) in enumerate(asked):  # warm-up: what the queries read is in the cache
            search.search(store, q)
            for func in others.values():
                func(i)
        log(f"postgresql: {len(asked)} queries x {reps} passes in-process over {size:,} customers")
        by_kind: dict[str, list[float]] = {}
        every: list[float] = []
        timed: dict[str, list[float]] = {name: [] for name in others}
        for i, (kind, q) in enumerate(asked * reps):  # the references between the searches
            elapsed = _elapsed_ms(lambda _, q=q: search.search(store, q), i)
            by_kind.setdefault(kind, []).append(elapsed)
            every.append(elapsed)
            for name, func in others.items():
                if name != SCAN or i % 5 == 0:
                    timed[name].append(_elapsed_ms(func, i))
    finally:
        store.close()
    group = f"{NAME}: search ({size:,} customers, in-process)"
    base = Row(group, f"{COUNT} (baseline)", timed[COUNT], note="counts the rows (an index)")
    rows = [
        base,
        Row(group, PK, timed[PK], base, note="primary-key lookup: the cheapest query"),
        Row(group, GET, timed[GET], base, note="what `customer show` reads"),
        Row(group, SCAN, timed[SCAN], base, note="a full scan (ILIKE on PostgreSQL)"),
        Row(group, f"search.search: all {len(asked)} queries", every, base, SEARCH_GOAL),
    ]
    for kind, samples in by_kind.items():
        counts = [matches[q] for k, q in asked if k == kind]
        found = f"{min(counts):,}" if min(counts) == max(counts) else (
            f"{min(counts):,}-{max(counts):,}")  # fmt: skip
        rows.append(Row(group, f"  {kind} ({len(counts)} q)", samples, base,
                        note=f"{found} match{'es' if max(counts) != 1 else ''}"))  # fmt: skip
    return rows


def search_end_to_end(ctx: Context) -> list[Row]:
    asked, url, ocx = ctx.facts["pg_search_queries"], ctx.facts["pg_search_url"], str(ctx.ocx)
    picks = [
        next(q["query"] for q in asked if q["kind"] == "full name"),
        "marg*",
        "smb",
        next(q["query"] for q in asked if q["kind"] == "email"),
    ]
    commands = [
        Command(f"ocx customer search {q!r} --json",
                [ocx, "--db", url, "customer", "search", q, "--json"], check=expect_json(list))
        for q in picks
    ]  # fmt: skip
    log(f"postgresql: {len(commands) + 1} commands x {ctx.settings.runs} runs (search)")
    group = f"{NAME}: search ({ctx.settings.customers:,} customers, end to end)"
    return time_commands(group, python_baseline(), commands, ctx)


def run(ctx: Context, *, parts: tuple[str, ...] = ("import", "due", "search")) -> list[Row]:
    if "pg_server" not in ctx.facts:
        return []  # skipped in prepare (no psycopg or no server binaries): a note says why
    try:
        server = ctx.facts["pg_server"]
        version = server.admin.execute("SHOW server_version").fetchone()[0]
        _note(ctx, f"server: PostgreSQL {version} from {server.bindir}, Unix socket, fsync "
                   "off, shared_buffers 128MB (ocx.testing.postgres.Server)")  # fmt: skip
        rows = import_rows(ctx) if "import" in parts else []
        if "due" in parts:
            rows += due_rows(ctx)
        if "search" in parts:
            rows += search_in_process(ctx) + search_end_to_end(ctx)
        return rows
    finally:
        _stop(ctx)


class ImportOnly:
    """The import rows alone (`--only postgresql-import`): no due or search data is made."""

    @staticmethod
    def prepare(ctx: Context) -> None:
        prepare(ctx, parts=("import",))

    @staticmethod
    def run(ctx: Context) -> list[Row]:
        return run(ctx, parts=("import",))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--floor":
        floor(Path(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(f"usage: {Path(__file__).name} --floor EXPORT_DIR URL (run by bench/run.py)")
