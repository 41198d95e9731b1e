"""Short commands while a big import runs: how long `ocx due --notify`, `ocx customer note`
and `ocx promise add` wait for the write lock, against the same commands on the idle database.

An import commits in batches of about a second (ocx.importing), so a short command waits at
most about one batch. This benchmark starts `ocx import zendesk` on a generated export
(1,000,000 tickets; cached under bench/.cache/ like the import benchmark's, the same files)
as a subprocess and, while it runs, every INTERVAL seconds times one of the three commands, in
turns, each as its own process. Then, on the same database once the import is over, it times
each again, interleaved, as the baseline. Printed: p50 and max latency of each command during
the import (only the runs that ended before the import did count), its ratio to the idle
p50, failures (a command that gave up waiting for the lock exits 1), and the import's wall
time.

    .venv/bin/python bench/bench_import_contention.py                    # 1,000,000 tickets
    .venv/bin/python bench/bench_import_contention.py --tickets 200000   # a quick run
    .venv/bin/python bench/bench_import_contention.py --atomic           # one transaction
    .venv/bin/python bench/run.py --only contention                      # through the runner

--atomic imports in one transaction (`ocx import --atomic`, what every import did before
batches) for comparison; --batch-seconds S sets OCX_IMPORT_BATCH_SECONDS, the batch time
ocx.importing reads for tests and benchmarks (default: unset, about a second).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_import
from harness import BenchError, Context, Row, Settings, log, ocx_executable

NAME = "import contention"
INTERVAL = 2.0  # seconds between two short commands while the import runs
REF = "contention@example.com"  # a customer added before the import: the commands write to it
OWNER = "bench"  # a team member added before the import: owns the promises


@dataclass
class Sample:
    command: str
    ms: float
    ok: bool
    during: bool  # ended while the import was still running
    error: str = ""


@dataclass
class Outcome:
    import_seconds: float
    summary: dict[str, Any]
    during: list[Sample] = field(default_factory=list)
    idle: list[Sample] = field(default_factory=list)


def _commands(ocx: Path, db: Path) -> dict[str, list[str]]:
    return {
        "ocx due --notify": [str(ocx), "--db", str(db), "due", "--notify"],
        "ocx customer note REF TEXT": [str(ocx), "--db", str(db), "customer", "note", REF],
        "ocx promise add REF TEXT": [
            str(ocx),
            "--db",
            str(db),
            "promise",
            "add",
            REF,
            "--owner",
            OWNER,
        ],
    }


def _timed(name: str, argv: list[str], env: dict[str, str], number: int,
           importer: subprocess.Popen[str] | None) -> Sample:  # fmt: skip
    if name.startswith("ocx customer note"):
        argv = [*argv, f"called during the benchmark ({number})"]
    elif name.startswith("ocx promise add"):
        argv = [*argv, f"Follow up ({number})", "--due", "in 3 days"]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    ms = (time.perf_counter() - started) * 1000
    during = importer is not None and importer.poll() is None
    return Sample(name, ms, done.returncode == 0, during, done.stderr.strip()[-300:])


def measure(ctx: Context, *, interval: float = INTERVAL, atomic: bool = False,
            batch_seconds: float | None = None, idle_runs: int = 20) -> Outcome:  # fmt: skip
    """Import the cached export into a fresh database while timing the short commands."""
    export = Path(ctx.facts.get("import_export") or bench_import._export(ctx))
    env = ctx.env()
    env.pop("OCX_IMPORT_BATCH_SECONDS", None)
    import_env = dict(env)
    if batch_seconds is not None:
        import_env["OCX_IMPORT_BATCH_SECONDS"] = str(batch_seconds)
    db = bench_import._fresh_db(ctx, "contention")
    ocx = ctx.ocx
    subprocess.run([str(ocx), "--db", str(db), "customer", "add", REF, "--name", "Con Tention"],
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([str(ocx), "--db", str(db), "team", "add", OWNER, "--email", "bench@example.com"],
                   env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    commands = _commands(ocx, db)
    names = list(commands)
    argv = [str(ocx), "--db", str(db), "import", "zendesk", str(export), "--json"]
    if atomic:
        argv.append("--atomic")
    log(f"contention: importing {ctx.settings.tickets:,} tickets"
        f"{' (--atomic)' if atomic else ''}; a short command every {interval:g} s")  # fmt: skip
    started = time.perf_counter()
    importer = subprocess.Popen(argv, env=import_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
    samples: list[Sample] = []
    try:
        number = 0
        next_at = time.perf_counter() + interval
        while importer.poll() is None:
            if time.perf_counter() < next_at:
                time.sleep(0.02)
                continue
            name = names[number % len(names)]
            sample = _timed(name, commands[name], env, number, importer)
            samples.append(sample)
            number += 1
            if not sample.ok:
                log(f"contention: {name} failed after {sample.ms:.0f} ms: {sample.error}")
            if number % 10 == 0:
                log(f"contention: {number} commands timed "
                    f"({time.perf_counter() - started:.0f} s into the import)")  # fmt: skip
            next_at = max(next_at + interval, time.perf_counter() + 0.1)
        out, err = importer.communicate()
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.communicate()
    seconds = time.perf_counter() - started
    if importer.returncode != 0:
        raise BenchError(f"ocx import failed ({importer.returncode}): {err.strip()[-500:]}")
    log(f"contention: import done in {seconds:.1f} s; timing the idle database")
    idle: list[Sample] = []
    for name in names:  # once each untimed: a first write after the import checkpoints
        _timed(name, commands[name], env, -1, None)
    for round_ in range(idle_runs):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            idle.append(_timed(name, commands[name], env, 1000 + round_, None))
    for sample in idle:
        if not sample.ok:
            raise BenchError(f"{sample.command} failed on the idle database: {sample.error}")
    for db_file in ctx.tmp.glob("contention.db*"):
        db_file.unlink(missing_ok=True)
    return Outcome(seconds, json.loads(out), samples, idle)


def rows(outcome: Outcome, ctx: Context, atomic: bool = False) -> list[Row]:
    tickets = ctx.settings.tickets
    how = "--atomic, one transaction" if atomic else "in batches"
    created = outcome.summary["created"]
    note = (
        f"wall time; created {created['conversations']:,} conversations, "
        f"{created['customers']:,} customers"
    )
    result = [
        Row(
            f"{NAME}: the import",
            f"ocx import zendesk, {tickets:,} tickets ({how})",
            [outcome.import_seconds * 1000],
            note=note,
        )
    ]
    for name in _commands(Path("ocx"), Path("db")):
        idle = [s.ms for s in outcome.idle if s.command == name]
        base = Row(f"{NAME}: {name}", f"{name}, idle database (baseline)", idle,
                   note=f"max {max(idle):,.0f} ms")  # fmt: skip
        ran = [s for s in outcome.during if s.command == name and s.during]
        failed = [s for s in ran if not s.ok]
        if not ran:
            result.append(base)
            continue
        during = [s.ms for s in ran]
        note = f"max {max(during):,.0f} ms; {len(failed)} of {len(ran)} failed"
        if failed and failed[0].error:
            note += f" ({failed[0].error.splitlines()[-1][:80]})"
        result += [base, Row(f"{NAME}: {name}", f"{name}, during the import", during,
                             baseline=base, note=note)]  # fmt: skip
    return result


# --- as one of bench/run.py's benchmarks -----------------------------------------------------


def prepare(ctx: Context) -> None:
    ctx.facts["import_export"] = str(bench_import._export(ctx))


def run(ctx: Context) -> list[Row]:
    # --quick imports 10,000 tickets in a second or two: look more often to catch it.
    interval = 0.2 if ctx.settings.quick else INTERVAL
    outcome = measure(ctx, interval=interval, idle_runs=ctx.settings.runs)
    return rows(outcome, ctx)


# --- on its own ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import run as runner  # the runner's table and environment header (not at the top: it
    # imports this module)

    parser = argparse.ArgumentParser(
        prog="bench/bench_import_contention.py",
        description="Time `ocx due --notify` and `ocx customer note` while a big Zendesk "
        "import runs, against the same commands on the idle database.",
    )
    parser.add_argument("--tickets", type=int, default=1_000_000, metavar="N",
                        help="Zendesk tickets to import (default 1,000,000)")  # fmt: skip
    parser.add_argument("--interval", type=float, default=INTERVAL, metavar="S",
                        help=f"seconds between two short commands (default {INTERVAL:g})")  # fmt: skip
    parser.add_argument("--runs", type=int, default=20, metavar="N",
                        help="timed runs of each command on the idle database (default 20)")  # fmt: skip
    parser.add_argument("--atomic", action="store_true",
                        help="import with --atomic (one transaction), for comparison")  # fmt: skip
    parser.add_argument("--batch-seconds", type=float, metavar="S",
                        help="OCX_IMPORT_BATCH_SECONDS for the import (default: unset, ~1 s)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42, help="seed for the generated export")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.runs < 1 or args.interval <= 0:
        parser.error("--tickets and --runs must be at least 1, --interval above 0")
    settings = Settings(quick=False, runs=args.runs, warmup=1, search_reps=0, customers=0,
                        seed=args.seed, tickets=args.tickets)  # fmt: skip
    try:
        ocx_executable()
        env = runner.environment(settings)
        with tempfile.TemporaryDirectory(prefix="ocx-bench-") as tmp:
            ctx = Context(settings, Path(tmp))
            prepare(ctx)
            outcome = measure(ctx, interval=args.interval, atomic=args.atomic,
                              batch_seconds=args.batch_seconds, idle_runs=args.runs)  # fmt: skip
            result = rows(outcome, ctx, args.atomic)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        samples = [vars(s) for s in outcome.during]
        print(json.dumps({"environment": env, "import_seconds": outcome.import_seconds,
                          "summary": outcome.summary, "samples_during_import": samples,
                          "results": [r.to_json() for r in result]}, indent=2))  # fmt: skip
    else:
        print(runner.table(result, env, {}))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
