"""Shell completion: one TAB (`_OCX_COMPLETE=bash_complete ocx`) per kind of value, over the
generated customers (100,000; 10,000 with --quick), against `python -c pass`, same run.

The database is a copy of datagen's customers with a team, incidents, promises and channels
added. Each kind's figure is the median of 5 runs (issue 17's measure); its goal is
150 ms + 3 x the baseline's median, worked out from the baseline timed in the same rounds.

    .venv/bin/python bench/run.py --only completion
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from datetime import UTC, datetime, timedelta

import datagen
from harness import BenchError, Command, Context, Goal, Row, log, python_baseline, time_commands

NAME = "completion"
RUNS = 5  # issue 17: "median of 5"
GOAL_MS, GOAL_BASELINES = 150.0, 3  # issue 17: within 150 ms + 3 x `python -c pass`
TEAM = 40
INCIDENTS = 300
PROMISES = 5_000
CHANNELS = """
[channels.ops-mail]
type = "email"
[channels.ops-hook]
type = "webhook"
[channels.ops-chat]
type = "slack"
"""


def prepare(ctx: Context) -> None:
    size, seed = ctx.settings.customers, ctx.settings.seed
    source, meta = datagen.ensure(size, seed)
    ctx.facts.setdefault("data", meta)
    path = ctx.tmp / "completion.db"
    shutil.copyfile(source, path)
    log(f"completion: adding {TEAM} team members, {INCIDENTS} incidents, {PROMISES:,} promises")
    _add_the_rest(path, size, seed)
    home = ctx.tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    with (home / "ocx.toml").open("a", encoding="utf-8") as handle:
        handle.write(CHANNELS)
    ctx.facts["completion_db"] = path


def _add_the_rest(path: os.PathLike[str], size: int, seed: int) -> None:
    """Team members, incidents and open promises, through the domain layer."""
    from pathlib import Path

    from ocx import incidents, promises, team
    from ocx.store import open_store

    rng = random.Random(seed + 17)
    store = open_store(Path(path))
    try:
        with store.write():
            handles = [f"agent{i:02d}" for i in range(TEAM)]
            for handle in handles:
                team.add(store, handle, name=f"Agent {handle[-2:]}")
            for i in range(INCIDENTS):
                incidents.new(store, f"Incident {i}", lead=rng.choice(handles), author="bench")
            due = datetime.now(UTC) + timedelta(days=3)
            for _ in range(PROMISES):
                promises.add(store, str(rng.randint(1, size)), "Call back", due=due,
                             owner=rng.choice(handles), author="bench")  # fmt: skip
    finally:
        store.close()


def _someone(ctx: Context) -> tuple[str, str]:
    """A customer's email prefix and the surname, from the data, the same every run."""
    import sqlite3

    conn = sqlite3.connect(f"file:{ctx.facts['completion_db']}?mode=ro", uri=True)
    try:
        email, name = conn.execute(
            "SELECT email, name FROM customers WHERE id = ?", (ctx.settings.customers // 2,)
        ).fetchone()
    finally:
        conn.close()
    return email[: email.index("@") // 2 + 1], name.split()[-1][:3].lower()


def _offers(kind: str):  # type: ignore[no-untyped-def]
    def check(stdout: str) -> None:
        if not stdout.strip():
            raise BenchError(f"{kind}: nothing was offered")

    return check


def run(ctx: Context) -> list[Row]:
    ocx = str(ctx.ocx)
    email_prefix, name_word = _someone(ctx)
    cases = [
        ("customer: one letter (m)", "ocx customer show m"),
        (f"customer: name word ({name_word})", f"ocx customer show {name_word}"),
        (f"customer: email ({email_prefix})", f"ocx customer show {email_prefix}"),
        ("customer: nothing typed", "ocx customer show "),
        ("incident (INC-N)", "ocx incident next "),
        ("promise id (1)", "ocx promise done 1"),
        ("team handle (--owner)", "ocx due --owner "),
        ("channel (notify test)", "ocx notify test "),
        ("importer (import)", "ocx import "),
    ]
    commands = []
    for label, line in cases:
        words = line.split() + ([""] if line.endswith(" ") else [])
        env = {
            "_OCX_COMPLETE": "bash_complete", "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1), "OCX_DB": str(ctx.facts["completion_db"]),
        }  # fmt: skip
        commands.append(Command(label, [ocx], check=_offers(label), env=env))
    settings = dataclasses.replace(ctx.settings, runs=RUNS)
    log(f"completion: {len(commands) + 1} commands x {RUNS} runs")
    rows = time_commands(
        NAME, python_baseline(), commands, dataclasses.replace(ctx, settings=settings)
    )
    base = rows[0]
    limit = GOAL_MS + GOAL_BASELINES * base.p50
    for row in rows[1:]:
        row.goal = Goal(round(limit, 1), "ms")
        row.note = f"goal: 150 ms + 3 x {base.p50:.1f} ms"
    return rows
