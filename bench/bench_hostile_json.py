#!/usr/bin/env python3
"""Hostile JSON: how long `ocx import` takes, and how much memory, to refuse deeply nested files.

    python bench/bench_hostile_json.py [--runs N] [--overhead TICKETS] [--check] [--json]

Writes, in a temporary folder, JSON files of nothing but nested arrays (30,000 and 100,000
deep, 60 and 200 KB) in the shapes each JSON importer reads (a bare array; a Zendesk page
`{"tickets": [[[...`; a Help Scout page `{"_embedded": {"conversations": [[[...`), and runs
the installed `ocx import SOURCE FILE` on each in a child process on a fresh database (`ocx
--db DB init` first). Every run must fail with the one-line nesting error (exit 1); each row
shows the median wall time of the runs and the highest peak RSS of the child (`wait4`),
next to the goal: under 2 s and under 100 MB. Before the check, ijson took 2.2 GB for the
30,000-deep file and 24 GB for the 100,000-deep one. A small valid export is timed too, for
scale: most of a refusal's time is the process starting.

The freshdesk and helpscout rows appear when those contrib importers are installed.
`--overhead TICKETS` also times, in this process, streaming the tickets of a generated
Zendesk export of that size (bench/gen_export.py) with ijson alone and through
`ocx.importkit.json_items` (ijson behind the nesting check): the check's cost on a good file.

Run it with the interpreter of the environment ocx is installed in; it uses the `ocx` console
script next to it. Exit status: 0 (1 with --check when a goal is missed; 2 when a command
does not behave: a refusal that is not the nesting error, a valid export that fails).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 2.0
GOAL_RSS_MB = 100.0
NESTING_ERROR = "JSON nested more than 64 levels deep"
GENERATOR = Path(__file__).resolve().parent / "gen_export.py"


def ocx_script() -> Path:
    script = Path(sys.executable).parent / "ocx"
    if not script.is_file():
        sys.exit(f"no ocx console script next to {sys.executable}: run this with the "
                 "interpreter of the environment ocx is installed in")  # fmt: skip
    return script


def child_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OCX_DB", "OCX_DEBUG", "OCX_NOW", "OCX_DISABLE_PLUGINS")}  # fmt: skip
    env.update(OCX_HOME=str(home / "home"), XDG_CACHE_HOME=str(home / "cache"), NO_COLOR="1")
    return env


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS in MB, exit status and stderr of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), stderr


def installed(ocx: Path, env: dict[str, str]) -> set[str]:
    done = subprocess.run([str(ocx), "import", "--list", "--json"], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return {entry["name"] for entry in json.loads(done.stdout)}


def hostile_files(folder: Path, sources: set[str]) -> list[tuple[str, str, Path]]:
    """(label, source, file) for each nested file, written into `folder`."""
    shapes = {
        "zendesk": [("bare", "tickets.json", ""), ("page", "tickets.json", '{"tickets": ')],
        "freshdesk": [("bare", "tickets.json", "")],
        "helpscout": [("page", "conversations.json",
                       '{"_embedded": {"conversations": ')],
    }  # fmt: skip
    files = []
    for source in ("zendesk", "freshdesk", "helpscout"):
        if source not in sources:
            continue
        for shape, name, head in shapes[source]:
            for depth in (30_000, 100_000):
                path = folder / f"{source}-{shape}-{depth}" / name
                path.parent.mkdir(parents=True)
                tail = "}" * head.count("{")
                path.write_text(head + "[" * depth + "]" * depth + tail, encoding="utf-8")
                label = f"{source}: {shape} {depth:,} deep ({path.stat().st_size // 1024} KB)"
                files.append((label, source, path))
    return files


def small_export(folder: Path) -> Path:
    page = {"tickets": [{"id": n, "requester_id": 1, "subject": f"Ticket {n}",
                         "description": "Hello", "created_at": "2025-06-02T09:15:00Z"}
                        for n in range(1, 11)],
            "users": [{"id": 1, "role": "end-user", "email": "ana@example.com", "name": "Ana"}]}  # fmt: skip
    path = folder / "small" / "tickets.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def fresh_db(ocx: Path, folder: Path, env: dict[str, str]) -> Path:
    db = folder / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    subprocess.run([str(ocx), "--db", str(db), "init"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return db


def measure(ocx: Path, folder: Path, env: dict[str, str], source: str, path: Path, runs: int,
            refused: bool) -> dict[str, float]:  # fmt: skip
    seconds, peaks = [], []
    for _ in range(runs):
        db = fresh_db(ocx, folder, env)
        wall, rss, status, stderr = timed([str(ocx), "--db", str(db), "import", source, str(path)],
                                          env)  # fmt: skip
        lines = stderr.strip().splitlines()
        if refused and (status != 1 or len(lines) != 1 or NESTING_ERROR not in lines[0]):
            print(f"{path}: expected the nesting error, got exit {status}: {stderr.strip()}",
                  file=sys.stderr)  # fmt: skip
            sys.exit(2)
        if not refused and status != 0:
            print(f"{path}: the valid export failed: {stderr.strip()}", file=sys.stderr)
            sys.exit(2)
        seconds.append(wall)
        peaks.append(rss)
    return {"seconds": statistics.median(seconds), "peak_rss_mb": max(peaks)}


def overhead(tickets: int, folder: Path, runs: int) -> dict[str, float]:
    """Streaming a generated Zendesk export's tickets: ijson alone vs behind the check."""
    import ijson

    from ocx.importkit import json_items

    print(f"generating {tickets:,} Zendesk tickets ...", file=sys.stderr)
    subprocess.run([sys.executable, str(GENERATOR), "zendesk", str(tickets), str(folder / "gen"),
                    "--no-comments"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    path = folder / "gen" / "zendesk" / "tickets.json"
    plain, checked = [], []
    for _ in range(runs):
        started = time.perf_counter()
        with path.open("rb") as handle:
            count = sum(1 for _ in ijson.items(handle, "tickets.item", use_float=True))
        plain.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert sum(1 for _ in json_items(path, "tickets.item")) == count
        checked.append(time.perf_counter() - started)
    return {"megabytes": path.stat().st_size / 1e6, "ijson_s": statistics.median(plain),
            "checked_s": statistics.median(checked)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per file (default 3)")
    parser.add_argument("--overhead", type=int, metavar="TICKETS", default=0,
                        help="also time the check on a good export of this many tickets")  # fmt: skip
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    ocx = ocx_script()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="ocx-bench-hostile-") as tmp:
        folder = Path(tmp)
        env = child_env(folder)
        sources = installed(ocx, env)
        small = measure(ocx, folder, env, "zendesk", small_export(folder), args.runs, False)
        rows.append({"case": "zendesk: small valid export (10 tickets), for scale", **small,
                     "goal": None})  # fmt: skip
        for label, source, path in hostile_files(folder, sources):
            print(f"{label} ...", file=sys.stderr)
            figures = measure(ocx, folder, env, source, path, args.runs, True)
            ok = figures["seconds"] < GOAL_SECONDS and figures["peak_rss_mb"] < GOAL_RSS_MB
            rows.append({"case": label, **figures, "goal": ok})
        extra = overhead(args.overhead, folder, args.runs) if args.overhead else None
    missed = any(row["goal"] is False for row in rows)
    if args.json:
        print(json.dumps({"goal": {"seconds": GOAL_SECONDS, "peak_rss_mb": GOAL_RSS_MB},
                          "rows": rows, "overhead": extra}, indent=2))  # fmt: skip
    else:
        width = max(len(str(row["case"])) for row in rows)
        print(f"{'case':<{width}}  {'wall s':>7}  {'peak RSS MB':>11}  goal (< {GOAL_SECONDS:g} s, "
              f"< {GOAL_RSS_MB:g} MB)")  # fmt: skip
        for row in rows:
            verdict = {None: "", True: "PASS", False: "FAIL"}[row["goal"]]  # type: ignore[index]
            print(f"{row['case']:<{width}}  {row['seconds']:>7.3f}  {row['peak_rss_mb']:>11.1f}  "
                  f"{verdict}")  # fmt: skip
        if extra:
            cost = extra["checked_s"] - extra["ijson_s"]
            print(f"\nstreaming {args.overhead:,} tickets ({extra['megabytes']:,.0f} MB): ijson "
                  f"{extra['ijson_s']:.2f} s, behind the nesting check {extra['checked_s']:.2f} s "
                  f"({cost:+.2f} s, {cost / extra['ijson_s']:+.0%})")  # fmt: skip
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
