"""The incident path at the sizes of issue 16: `ocx incident update` over 10,000 and 100,000
open cases, `ocx incident fanout --all` over 1,000,000 customers, `ocx incident next` with
100,000 open cases.

Databases are built with plain sqlite3 executemany into a file made by
ocx.store.create_store (what `ocx init` makes: schema, indexes, migrations), the clock pinned
at NOW, and cached under bench/.cache/ (keyed by size, seed, generator version and the
migration names, like the other benchmarks' data):

- cases-N: N customers (13 time zones, a third with quiet hours, 5 % preferring the phone),
  80 concierges and a lead, 2 unrelated closed promises per customer, and INC-1 (severity 2)
  with one open case per customer, each with a concierge, in every state but resolved. An
  update was sent an hour before NOW: its messages went out, except about 10 % still held
  for quiet hours (the new update replaces them) and the phone customers' calls, still open
  (the new update cancels them); its next-update promise is open.
- fanout-N: N customers with tags, the same team, INC-1 open with no cases yet, and INC-2
  open with 1,000 cases whose concierges the new cases keep.

Every command that writes runs on a fresh copy of the cached file (copied untimed), so each
run does the same work. Timed (wall time of the whole process, OCX_NOW=NOW):

- `ocx incident update 1 --template examples/update.md.j2 --next-update 2h` on cases-10k and
  cases-100k, interleaved: the 100k figure as a ratio to the 10k one (goal <= 12x: linear
  is 10x) and against 10 s;
- `ocx incident fanout 1 --all --concierge agent01 ... agent04` on fanout-1M (goal 15 s),
  with `python -c pass` timed in the same rounds;
- `ocx incident next 1 --concierge agentNN` on a copy of cases-100k, each run for a
  different concierge (so none is handed the case they claimed last time, the cheap path),
  and for concierges with no case of their own (they get anyone's), against
  `python -c pass` (goal <= 8x).

    .venv/bin/python bench/run.py --only incidents            # ~3 min, + ~1 min to build data
    .venv/bin/python bench/run.py --only incidents --quick    # 1k/10k cases, 100k customers
    .venv/bin/python bench/bench_incidents.py --cases 10000 --only update   # on its own
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import datagen
from harness import (
    BenchError,
    Context,
    Goal,
    Row,
    Settings,
    log,
    ocx_executable,
    percentile,
    run_once,
)

NAME = "incidents"
NOW = "2026-12-01T09:00:00Z"  # a Tuesday: 04:00 in New York (quiet), 18:00 in Tokyo
NOW_AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
GENERATOR_VERSION = 2  # bump when what is generated changes: older cached files are ignored
TEMPLATE = Path(__file__).resolve().parent.parent / "examples" / "update.md.j2"
LEAD = "lead"
CONCIERGES = [f"agent{i:02d}" for i in range(1, 81)]  # each carries a share of the cases
NEWCOMERS = [f"helper{i:03d}" for i in range(1, 201)]  # on the team, no case of their own
FANOUT_CONCIERGES = CONCIERGES[:4]
UPDATE_TIME_GOAL = Goal(10_000, "ms")
UPDATE_SCALE_GOAL = Goal(12, "x")
FANOUT_GOAL = Goal(15_000, "ms")
NEXT_GOAL = Goal(8, "x")
STATES = ["new"] * 50 + ["contacted"] * 30 + ["acknowledged"] * 12 + ["agreed"] * 8
QUIET = ["22:00-07:00", "21:00-08:00", "23:00-06:30", "20:00-09:00"]
TAGS = {"smb": 0.35, "monthly": 0.30, "annual": 0.20, "hdfc": 0.05, "vip": 0.02}


def sizes(settings: Settings) -> dict[str, int]:
    """Cases for the two update databases (the larger is also next's), customers for fanout."""
    if settings.quick:
        return {"small": 1_000, "large": 10_000, "fanout": 100_000}
    return {"small": 10_000, "large": 100_000, "fanout": 1_000_000}


# --- data -----------------------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _customers(conn: sqlite3.Connection, rng: random.Random, count: int) -> None:
    created = "2024-01-01T00:00:00Z"

    def make(i: int) -> tuple[Any, ...]:
        first, last = rng.choice(datagen.FIRST), rng.choice(datagen.LAST)
        roll = rng.random()
        channel = "phone" if roll < 0.05 else "email" if roll < 0.10 else None
        return (
            i, f"customer{i}@example{i % 997}.com", f"{first} {last}",
            f"{rng.choice(datagen.COMPANY_HEAD)} {rng.choice(datagen.COMPANY_TAIL)}",
            f"+1555{i:07d}" if roll < 0.3 else None, rng.choice(datagen.ZONES), channel,
            rng.choice(["slow", "normal", "fast", None]), rng.choice(["warm", "terse", None]),
            rng.choice(datagen.LANGUAGES), rng.choice(QUIET) if rng.random() < 0.33 else None,
            f"{last.lower()} {first.lower()}", created, created,
        )  # fmt: skip

    conn.executemany(
        "INSERT INTO customers (id, email, name, company, phone, time_zone, channel, pace, tone, "
        "language, quiet_hours, sort_name, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (make(i) for i in range(1, count + 1)),
    )
    conn.executemany(
        "INSERT INTO tags (customer_id, tag, tagged_at) VALUES (?, ?, ?)",
        (
            (i, tag, created)
            for i in range(1, count + 1)
            for tag, share in TAGS.items()
            if rng.random() < share
        ),
    )
    conn.executemany(
        "INSERT INTO team (handle, name, email, lead, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(h, h.title(), f"{h}@acme.example", int(h == LEAD), created, created)
         for h in [LEAD, *CONCIERGES, *NEWCOMERS]],
    )  # fmt: skip


def _incident(conn: sqlite3.Connection, incident_id: int, title: str) -> None:
    conn.execute(
        "INSERT INTO incidents (id, title, severity, lead, summary, started_at, detected_at, "
        "created_by) VALUES (?, ?, 2, ?, ?, ?, ?, ?)",
        (incident_id, title, LEAD, "Bank connections fail to refresh",
         _stamp(NOW_AT - timedelta(hours=3)), _stamp(NOW_AT - timedelta(hours=2, minutes=50)),
         LEAD),
    )  # fmt: skip


def _build_cases(path: Path, count: int, seed: int) -> dict[str, Any]:
    """`count` customers, each with an open case in INC-1, and one update sent an hour ago."""
    from ocx.store import create_store

    started = time.perf_counter()
    rng = random.Random(f"cases-{count}-{seed}")
    create_store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        _customers(conn, rng, count)
        conn.executemany(  # unrelated history: what a table of promises holds after a while
            "INSERT INTO promises (customer_id, text, owner, due_at, state, done_at, created_at, "
            "created_by) VALUES (?, 'Call back with the fix ETA', ?, ?, 'done', ?, ?, ?)",
            (
                (i, owner, "2025-06-01T09:00:00Z", "2025-06-01T08:00:00Z",
                 "2025-05-30T09:00:00Z", owner)
                for i in range(1, count + 1)
                for owner in rng.sample(CONCIERGES, 2)
            ),
        )  # fmt: skip
        _incident(conn, 1, "Bank sync failing for HDFC")
        sent_at = NOW_AT - timedelta(hours=1)
        added = NOW_AT - timedelta(hours=2, minutes=30)
        cases = []
        for i in range(1, count + 1):
            state = rng.choice(STATES)
            activity = added + timedelta(seconds=rng.randint(0, 5400))
            cases.append((
                i, 1, i, CONCIERGES[i % len(CONCIERGES)], state, _stamp(added),
                _stamp(activity) if state != "new" else None, _stamp(activity),
                _stamp(sent_at),
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO cases (id, incident_id, customer_id, concierge, state, added_at, "
            "contacted_at, last_activity_at, last_update_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            cases,
        )
        # The update sent an hour ago: delivered, held for quiet hours, or a call to make.
        conn.execute(
            "INSERT INTO promises (id, text, owner, due_at, created_at, created_by, "
            "subject_type, subject_id) VALUES (?, 'Post the next update on INC-1', ?, ?, ?, ?, "
            "'incident', 1)",
            (10 * count + 1, LEAD, _stamp(NOW_AT + timedelta(minutes=30)), _stamp(sent_at), LEAD),
        )
        conn.execute("UPDATE incidents SET next_update_promise_id = ? WHERE id = 1",
                     (10 * count + 1,))  # fmt: skip
        conn.execute(
            "INSERT INTO incident_updates (id, incident_id, at, author, template, messages, "
            "next_update_at) VALUES (1, 1, ?, ?, 'Hi {{ customer.first_name }}', ?, ?)",
            (_stamp(sent_at), LEAD, count, _stamp(NOW_AT + timedelta(minutes=30))),
        )
        phones = {
            cid for (cid,) in conn.execute("SELECT id FROM customers WHERE channel = 'phone'")
        }
        outbox, calls, held = [], [], 0
        for case_id, _, cid, concierge, *_ in cases:
            if cid in phones:
                calls.append((cid, f"Call customer {cid} (phone): Hi", concierge,
                              _stamp(sent_at), _stamp(sent_at), LEAD, case_id))  # fmt: skip
                continue
            waiting = rng.random() < 0.10
            held += waiting
            outbox.append((
                f"incident:1:update:1:customer:{cid}", f"customer{cid}@example{cid % 997}.com",
                "[INC-1] Bank sync failing for HDFC", "Hi, bank sync is failing.",
                json.dumps({"incident": "INC-1", "case_id": case_id}), cid,
                "pending" if waiting else "sent",
                _stamp(NOW_AT + timedelta(hours=rng.randint(1, 8))) if waiting else _stamp(sent_at),
                _stamp(sent_at), None if waiting else _stamp(sent_at), case_id,
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO outbox (key, kind, channel, recipient, subject, body, payload, "
            "customer_id, state, next_attempt_at, created_at, sent_at, case_id) "
            "VALUES (?, 'incident-update', 'email', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            outbox,
        )
        conn.executemany(
            "INSERT INTO promises (customer_id, text, owner, due_at, created_at, created_by, "
            "subject_type, subject_id) VALUES (?, ?, ?, ?, ?, ?, 'case', ?)",
            calls,
        )
        conn.executemany(
            "INSERT INTO timeline (customer_id, at, kind, author, text, direction, channel, "
            "subject_type, subject_id) VALUES (?, ?, 'incident-update', ?, 'Hi', 'outbound', "
            "'email', 'incident', 1)",
            ((cid, _stamp(sent_at), LEAD) for (_, _, cid, *_) in cases),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {
        "kind": "cases", "cases": count, "held": held, "calls": len(calls), "seed": seed,
        "now": NOW, "generator": GENERATOR_VERSION,
        "seconds": round(time.perf_counter() - started, 2), "bytes": path.stat().st_size,
    }  # fmt: skip


def _build_fanout(path: Path, count: int, seed: int) -> dict[str, Any]:
    """`count` customers; INC-1 open with no case; INC-2 open with 1,000 cases."""
    from ocx.store import create_store

    started = time.perf_counter()
    rng = random.Random(f"fanout-{count}-{seed}")
    create_store(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        _customers(conn, rng, count)
        _incident(conn, 1, "Bank sync failing for everyone")
        _incident(conn, 2, "Exports slow")
        added = _stamp(NOW_AT - timedelta(hours=5))
        conn.executemany(
            "INSERT INTO cases (incident_id, customer_id, concierge, added_at, last_activity_at) "
            "VALUES (2, ?, ?, ?, ?)",
            [(cid, rng.choice(CONCIERGES), added, added)
             for cid in rng.sample(range(1, count + 1), min(1_000, count))],
        )  # fmt: skip
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {
        "kind": "fanout", "customers": count, "seed": seed, "now": NOW,
        "generator": GENERATOR_VERSION, "seconds": round(time.perf_counter() - started, 2),
        "bytes": path.stat().st_size,
    }  # fmt: skip


def ensure(kind: str, count: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached database of this kind, size and seed, built first if there is none."""
    build = _build_cases if kind == "cases" else _build_fanout
    return datagen.cached(f"incidents-{kind}-n{count}-seed{seed}", GENERATOR_VERSION,
                          lambda tmp: build(tmp, count, seed),
                          f"incident data: {kind} {count:,}")  # fmt: skip


def _copy(source: str | Path, target: Path) -> Path:
    """A fresh copy to write to (the cached file is checkpointed: no -wal to bring along)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(Path(source), target)
    return target


def prepare(ctx: Context) -> None:
    seed, want = ctx.settings.seed, sizes(ctx.settings)
    only = ctx.facts.get("incident_parts") or tuple(PARTS)
    needed = {"small": "update" in only, "large": "update" in only or "next" in only,
              "fanout": "fanout" in only}  # fmt: skip
    dbs, meta = {}, {}
    for name, kind in (("small", "cases"), ("large", "cases"), ("fanout", "fanout")):
        if needed[name]:
            dbs[name], meta[name] = ensure(kind, want[name], seed)
    ctx.facts["incident_dbs"] = {name: str(path) for name, path in dbs.items()}  # JSON-able
    ctx.facts["incident_data"] = meta
    for data in meta.values():
        how = "cached; built" if data["cached"] else "built"
        what = (
            f"{data['cases']:,} open cases, {data['held']:,} messages held, {data['calls']:,} "
            "calls open"
            if data["kind"] == "cases"
            else f"{data['customers']:,} customers"
        )
        ctx.facts.setdefault("notes", []).append(
            f"incident data ({data['kind']}): {what}, OCX_NOW={NOW}, {data['bytes'] / 1e6:.0f} "
            f"MB ({how} in {data['seconds']} s with executemany)"
        )


# --- timing -----------------------------------------------------------------------------------


def _env(ctx: Context) -> dict[str, str]:
    return {**ctx.env(), "OCX_NOW": NOW}


def _expect(words: str) -> Callable[[str, str], None]:
    def check(label: str, output: str) -> None:
        if words not in output:
            raise BenchError(f"{label}: expected {words!r} in the output, got {output[:300]!r}")

    return check


def _timed(argv: list[str], env: dict[str, str], cpu: list[float]) -> tuple[float, str]:
    """Wall time in ms and stdout+stderr of one run (ocx reports an update on stderr); the
    CPU seconds it used (user + system) are added to `cpu`: on a busy machine the wall time
    grows with the load, the CPU time much less."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, check=False)  # fmt: skip
    elapsed = (time.perf_counter_ns() - start) / 1e6
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed, done.stdout + done.stderr


def _cpu(seconds: list[float]) -> str:
    return f"CPU (user+sys) p50 {percentile(seconds, 50):.2f} s"


def _rounds(ctx: Context, heavy: int, light: int) -> int:
    if ctx.settings.quick:
        return min(ctx.settings.runs, light)
    return min(ctx.settings.runs, heavy)


def update_rows(ctx: Context) -> list[Row]:
    dbs, data = ctx.facts["incident_dbs"], ctx.facts["incident_data"]
    env, ocx = _env(ctx), str(ctx.ocx)
    runs = _rounds(ctx, 3, 3)
    samples: dict[str, list[float]] = {"small": [], "large": []}
    cpu: dict[str, list[float]] = {"small": [], "large": []}
    notes: dict[str, str] = {}
    log(f"incidents: update x {runs} on {data['small']['cases']:,} and "
        f"{data['large']['cases']:,} cases")  # fmt: skip
    for round_ in range(runs):
        for name in ("small", "large") if round_ % 2 == 0 else ("large", "small"):
            copy = _copy(dbs[name], ctx.tmp / f"update-{name}.db")
            argv = [ocx, "--db", str(copy), "incident", "update", "1", "--template",
                    str(TEMPLATE), "--next-update", "2h"]  # fmt: skip
            ms, output = _timed(argv, env, cpu[name])
            queued = data[name]["cases"] - data[name]["calls"]
            _expect(f"{queued} updates queued")(f"update {name}", output)
            notes[name] = output.strip().splitlines()[-1]
            samples[name].append(ms)
    small, large = data["small"]["cases"], data["large"]["cases"]
    group = f"{NAME}: incident update (OCX_NOW={NOW})"
    base = Row(group, f"update, {small:,} open cases (baseline)", samples["small"],
               note=f"{_cpu(cpu['small'])}; {notes['small']}")  # fmt: skip
    return [
        base,
        Row(group, f"update, {large:,} open cases: {large // small}x the cases", samples["large"],
            base, UPDATE_SCALE_GOAL, note="linear is the ratio of sizes"),
        Row(group, f"update, {large:,} open cases: wall time", samples["large"], base,
            UPDATE_TIME_GOAL, note=f"{_cpu(cpu['large'])}; {notes['large']}"),
    ]  # fmt: skip


def fanout_rows(ctx: Context) -> list[Row]:
    dbs, data = ctx.facts["incident_dbs"], ctx.facts["incident_data"]
    env, ocx = _env(ctx), str(ctx.ocx)
    runs = _rounds(ctx, 3, 3)
    count = data["fanout"]["customers"]
    base_samples, samples, cpu, note = [], [], [], ""
    log(f"incidents: fanout --all x {runs} over {count:,} customers")
    for _ in range(runs):
        copy = _copy(dbs["fanout"], ctx.tmp / "fanout.db")
        base_samples.append(run_once([sys.executable, "-c", "pass"], env)[0])
        argv = [ocx, "--db", str(copy), "incident", "fanout", "1", "--all"]
        for handle in FANOUT_CONCIERGES:
            argv += ["--concierge", handle]
        ms, output = _timed(argv, env, cpu)
        _expect(f"{count} cases added")("fanout", output)
        note = output.strip().splitlines()[0]
        samples.append(ms)
    group = f"{NAME}: incident fanout (OCX_NOW={NOW})"
    base = Row(group, "python -c pass (baseline)", base_samples)
    return [
        base,
        Row(group, f"fanout --all, {count:,} customers, {len(FANOUT_CONCIERGES)} concierges",
            samples, base, FANOUT_GOAL, note=f"{_cpu(cpu)}; {note}"),
    ]  # fmt: skip


def next_rows(ctx: Context) -> list[Row]:
    dbs, data = ctx.facts["incident_dbs"], ctx.facts["incident_data"]
    env, ocx = _env(ctx), str(ctx.ocx)
    runs, warmup = ctx.settings.runs, ctx.settings.warmup
    copy = _copy(dbs["large"], ctx.tmp / "next.db")
    count = data["large"]["cases"]
    commands: dict[str, Callable[[int], list[str]]] = {
        "python -c pass (baseline)": lambda _: [sys.executable, "-c", "pass"],
        f"incident next, {count:,} open cases, a concierge with cases":
            lambda i: [ocx, "--db", str(copy), "incident", "next", "1", "--concierge",
                       CONCIERGES[i % len(CONCIERGES)]],
        "  the same, --json":
            lambda i: [ocx, "--db", str(copy), "incident", "next", "1", "--json",
                       "--concierge", CONCIERGES[(i + len(CONCIERGES) // 2) % len(CONCIERGES)]],
        "  a concierge with no case of their own":
            lambda i: [ocx, "--db", str(copy), "incident", "next", "1", "--concierge",
                       NEWCOMERS[i % len(NEWCOMERS)]],
    }  # fmt: skip
    names = list(commands)
    for i in range(warmup):  # claims made here are for other concierges than the timed ones'
        for name in names[1:]:
            run_once(commands[name](-1 - i), env)
    samples: dict[str, list[float]] = {name: [] for name in names}
    log(f"incidents: next x {runs} on {count:,} open cases")
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            ms, output = run_once(commands[name](round_), env)
            if name != names[0] and "case" not in output:
                raise BenchError(f"{name}: no case handed out: {output[:300]!r}")
            samples[name].append(ms)
    group = f"{NAME}: incident next (OCX_NOW={NOW})"
    base = Row(group, names[0], samples[names[0]])
    wraps = runs + warmup > len(CONCIERGES) // 2  # then a concierge asks again: the cheap path
    return [base] + [
        Row(group, name, samples[name], base, NEXT_GOAL,
            note="each run another concierge" + (" (some twice: more runs than concierges)"
                                                 if wraps and i < 2 else ""))
        for i, name in enumerate(names[1:])
    ]  # fmt: skip


PARTS = {"update": update_rows, "fanout": fanout_rows, "next": next_rows}


def run(ctx: Context) -> list[Row]:
    only = ctx.facts.get("incident_parts") or tuple(PARTS)
    rows: list[Row] = []
    for name, part in PARTS.items():
        if name in only:
            rows += part(ctx)
    return rows


# --- on its own ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import run as runner  # the runner's table and environment header

    parser = argparse.ArgumentParser(
        prog="bench/bench_incidents.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="1k/10k cases, 100k customers")
    parser.add_argument("--runs", type=int, metavar="N", help="timed runs of next (default 30)")
    parser.add_argument("--only", action="append", choices=sorted(PARTS), help="repeatable")
    parser.add_argument("--seed", type=int, default=42, help="seed for the generated data")
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick, runs=args.runs or (10 if args.quick else 30),
                        warmup=2, search_reps=0, customers=0, seed=args.seed)  # fmt: skip
    try:
        ocx_executable()
        env = runner.environment(settings)
        with tempfile.TemporaryDirectory(prefix="ocx-bench-") as tmp:
            ctx = Context(settings, Path(tmp))
            ctx.facts["incident_parts"] = tuple(args.only or PARTS)
            prepare(ctx)
            rows = run(ctx)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    print(runner.table(rows, env, ctx.facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
