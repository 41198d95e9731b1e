"""Run every ocx benchmark and print its figures as ratios to a baseline timed in the same run.

    .venv/bin/python bench/run.py            # full: 30 runs per command, 100,000 customers
    .venv/bin/python bench/run.py --quick    # smoke check: 10 runs, smaller data
    .venv/bin/python bench/run.py --json     # the same figures as JSON on stdout
    .venv/bin/python bench/run.py --check    # exit 1 when a goal is missed

Goals are informational: the exit status is 0 whatever the figures, unless --check.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_completion
import bench_due
import bench_import
import bench_import_contention
import bench_inbox
import bench_incidents
import bench_postgresql
import bench_reports
import bench_search
import bench_startup
from harness import BenchError, Context, Row, Settings, log, ocx_executable

BENCHMARKS = {
    "startup": bench_startup,
    "search": bench_search,
    "import": bench_import,
    "due": bench_due,
    "contention": bench_import_contention,
    "reports": bench_reports,
    "incidents": bench_incidents,
    "completion": bench_completion,
    "inbox": bench_inbox,
    "postgresql": bench_postgresql,
    "postgresql-import": bench_postgresql.ImportOnly,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Run the ocx benchmarks: start-up against `python -c pass`, search over "
        "generated customers, import, `ocx due` over generated promises. Figures are ratios "
        "to a baseline timed in the same run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke check: fewer runs and 10,000 customers"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a goal is missed (default: always exit 0)"
    )
    parser.add_argument(
        "--only",
        choices=sorted(BENCHMARKS),
        action="append",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument(
        "--runs", type=int, metavar="N", help="timed runs per command (default 30; 10 with --quick)"
    )
    parser.add_argument(
        "--customers",
        type=int,
        metavar="N",
        help="customers to search (default 100,000; 10,000 with --quick)",
    )
    parser.add_argument(
        "--tickets",
        type=int,
        metavar="N",
        help="Zendesk tickets to import (default 1,000,000; 10,000 with --quick)",
    )
    parser.add_argument(
        "--promises",
        type=int,
        metavar="N",
        help="promises for `ocx due`, 2%% open (default 1,000,000; 100,000 with --quick); "
        "a tenth of N, all open, for the busy case",
    )
    parser.add_argument("--seed", type=int, default=42, help="seed for the generated data")
    args = parser.parse_args(argv)  # fmt: skip
    for name in ("runs", "customers", "tickets", "promises"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        quick=args.quick,
        runs=args.runs or (10 if args.quick else 30),
        warmup=2 if args.quick else 3,
        search_reps=3 if args.quick else 10,
        customers=args.customers or (10_000 if args.quick else 100_000),
        seed=args.seed,
        tickets=args.tickets or (10_000 if args.quick else 1_000_000),
        promises=args.promises or (100_000 if args.quick else 1_000_000),
    )


# --- output -----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3g}x"


def _git_state() -> str | None:
    """The commit measured, with +dirty when src/ has changes not committed yet."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "src"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def environment(settings: Settings) -> dict[str, Any]:
    import ocx

    return {
        "git": _git_state(),
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "executable": sys.executable,
        "ocx": ocx.__version__,
        "ocx_script": str(ocx_executable()),
        "sqlite": sqlite3.sqlite_version,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "quick": settings.quick,
        "runs": settings.runs,
        "warmup_rounds": settings.warmup,
        "search_passes": settings.search_reps,
        "customers": settings.customers,
        "seed": settings.seed,
    }


def table(rows: list[Row], env: dict[str, Any], facts: dict[str, Any]) -> str:
    lines = [
        f"ocx {env['ocx']} ({env['git'] or 'not a git checkout'}) benchmarks, {env['date']}",
        f"Python {env['python']}, SQLite {env['sqlite']}, {env['platform']}, {env['cpus']} CPUs"
        + (f", load average {env['load_average'][0]:.2f} at start" if env["load_average"] else ""),
        f"{env['runs']} timed runs per command after {env['warmup_rounds']} warm-up rounds"
        f"{' (--quick)' if env['quick'] else ''}; ratio = p50 / the group's baseline p50",
    ]
    data = facts.get("data")
    if data:
        how = "cached; generated" if data["cached"] else "generated"
        lines.append(
            f"search data: {data['customers']:,} customers, {data['notes']:,} notes, seed "
            f"{data['seed']}, {data['bytes'] / 1e6:.0f} MB ({how} in {data['seconds']} s "
            f"through ocx.customers.add/note)"
        )
    header = ["case", "n", "p50 ms", "p90 ms", "p99 ms", "ratio", "goal", "result", "note"]
    body = []
    for row in rows:
        body.append([
            row.name, str(row.n), _ms(row.p50), _ms(row.p90), _ms(row.p99),
            _ratio(row.ratio), row.goal.text if row.goal else "",
            {True: "PASS", False: "FAIL", None: ""}[row.passed], row.note,
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    right = {1, 2, 3, 4, 5}

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    group = None
    for row, cells in zip(rows, body, strict=True):
        if row.group != group:
            group = row.group
            lines += ["", group, fmt(header), fmt(["-" * w for w in widths])]
        lines.append(fmt(cells))
    for note in facts.get("notes", []):
        lines.append(f"note: {note}")
    goals = [row for row in rows if row.passed is not None]
    missed = [row for row in goals if not row.passed]
    lines += [
        "",
        f"goals: {len(goals) - len(missed)} of {len(goals)} met"
        + (f"; missed: {', '.join(r.name.strip() for r in missed)}" if missed else ""),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    chosen = [BENCHMARKS[name] for name in BENCHMARKS if not args.only or name in args.only]
    try:
        ocx_executable()
        env = environment(settings)
        with tempfile.TemporaryDirectory(prefix="ocx-bench-") as tmp:
            ctx = Context(settings, Path(tmp))
            for bench in chosen:
                bench.prepare(ctx)
            rows: list[Row] = []
            for bench in chosen:
                rows += bench.run(ctx)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        facts = {k: v for k, v in ctx.facts.items() if k not in ("search_db", "due_dbs")}
        print(json.dumps({"environment": env, **facts, "results": [r.to_json() for r in rows]},
                         indent=2))  # fmt: skip
    else:
        print(table(rows, env, ctx.facts))
    log("done")
    missed = any(row.passed is False for row in rows)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
