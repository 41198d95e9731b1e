"""Import: generated Zendesk exports, first import and re-import, against a floor.

The floor is the same records parsed with json.load and written with plain sqlite3
executemany into the same tables (bench/import_floor.py), timed in the same run. Goals:
first import <= 3x the floor, re-import <= 2x, peak RSS of `ocx import` under 300 MB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import CACHE_DIR, BenchError, Context, Goal, Row, log

NAME = "import"
FIRST_GOAL = Goal(3, "x")
AGAIN_GOAL = Goal(2, "x")
RSS_LIMIT_MB = 300
GENERATOR = Path(__file__).resolve().parent / "gen_export.py"


def _tickets(ctx: Context) -> int:
    return ctx.settings.tickets


def _export(ctx: Context) -> Path:
    """A generated Zendesk export, cached by size and seed (1M tickets take ~50 s to write)."""
    tickets, seed = _tickets(ctx), ctx.settings.seed
    folder = CACHE_DIR / f"zendesk-{tickets}-seed{seed}"
    if (folder / "zendesk" / "tickets.json").is_file():
        return folder / "zendesk"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"import: generating {tickets:,} Zendesk tickets into {folder}")
    subprocess.run(
        [sys.executable, str(GENERATOR), "zendesk", str(tickets), str(folder), "--seed", str(seed),
         "--no-comments"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return folder / "zendesk"


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({process.returncode}): {stderr.strip()}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KB on Linux


def _fresh_db(ctx: Context, name: str) -> Path:
    db = ctx.tmp / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    subprocess.run([str(ctx.ocx), "--db", str(db), "init"], env=ctx.env(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return db


def prepare(ctx: Context) -> None:
    ctx.facts["import_export"] = str(_export(ctx))


def run(ctx: Context) -> list[Row]:
    export = Path(ctx.facts["import_export"])
    tickets, env = _tickets(ctx), ctx.env()
    log(f"import: floor (json.load + executemany) over {tickets:,} tickets")
    floor_db = _fresh_db(ctx, "floor")
    floor_s, floor_rss = _timed(
        [
            sys.executable,
            str(Path(__file__).with_name("import_floor.py")),
            str(export),
            str(floor_db),
        ],
        env,
    )
    db = _fresh_db(ctx, "import")
    command = [str(ctx.ocx), "--db", str(db), "import", "zendesk", str(export), "--json"]
    log("import: ocx import (first)")
    first_s, first_rss = _timed(command, env)
    log("import: ocx import (again, nothing changed)")
    again_s, again_rss = _timed(command, env)
    floor = Row(NAME, f"floor: json.load + executemany ({tickets:,} tickets)", [floor_s * 1000],
                note=f"peak RSS {floor_rss:,.0f} MB")  # fmt: skip
    rows = [floor]
    for label, seconds, rss, goal in (
        ("ocx import zendesk (first)", first_s, first_rss, FIRST_GOAL),
        ("ocx import zendesk (again)", again_s, again_rss, AGAIN_GOAL),
    ):
        verdict = "ok" if rss < RSS_LIMIT_MB else "OVER"
        rows.append(Row(NAME, label, [seconds * 1000], baseline=floor, goal=goal,
                        note=f"peak RSS {rss:,.0f} MB (< {RSS_LIMIT_MB} MB: {verdict})"))  # fmt: skip
    for name in ("floor", "import"):  # its own files only: other benchmarks keep theirs here
        for db_file in ctx.tmp.glob(f"{name}.db*"):
            db_file.unlink(missing_ok=True)
    return rows
