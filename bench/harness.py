"""What every benchmark shares: settings, timing, percentiles, the ocx environment, rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"

# Variables that would change what a run measures (a pinned clock, a different database,
# tracebacks, import profiling...): removed from the environment every command runs in.
_DISTORTING = (
    "OCX_DB", "OCX_DEBUG", "OCX_NOW", "OCX_DISABLE_PLUGINS", "PYTHONPROFILEIMPORTTIME",
    "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONDONTWRITEBYTECODE", "PYTHONINSPECT",
)  # fmt: skip


class BenchError(Exception):
    """Something kept a benchmark from running (as opposed to a slow result)."""


def log(text: str) -> None:
    """Progress on stderr, so stdout holds only the table (or the JSON)."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


@dataclass
class Settings:
    quick: bool
    runs: int  # timed runs of each command (start-up, end-to-end search)
    warmup: int  # untimed rounds before them
    search_reps: int  # timed passes over the in-process search queries
    customers: int
    seed: int
    tickets: int = 1_000_000  # Zendesk tickets for the import benchmark
    promises: int = 1_000_000  # promises for the due benchmark (a tenth of it: all open)


@dataclass
class Context:
    """One benchmark run: settings, a temp dir for OCX_HOME and caches, facts for the header."""

    settings: Settings
    tmp: Path
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ocx(self) -> Path:
        return ocx_executable()

    def env(self) -> dict[str, str]:
        return clean_env(self.tmp)


def clean_env(tmp: Path) -> dict[str, str]:
    """The environment every command runs in: a throw-away OCX_HOME and cache dir under
    `tmp`, and nothing that would change what is measured."""
    env = {k: v for k, v in os.environ.items() if k not in _DISTORTING}
    env["OCX_HOME"] = str(tmp / "home")
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    return env


def ocx_executable() -> Path:
    """The `ocx` console script next to this interpreter: the same Python as the baseline."""
    folder = Path(sys.executable).parent
    for name in ("ocx", "ocx.exe"):
        if (folder / name).is_file():
            return folder / name
    raise BenchError(
        f"no ocx console script next to {sys.executable}; run the benchmarks with the "
        "interpreter of the environment ocx is installed in, e.g. .venv/bin/python bench/run.py"
    )


# --- statistics ----------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating between the closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Goal:
    """What a row should reach: its p50 as a ratio to the baseline ("x") or in ms ("ms")."""

    limit: float
    unit: str  # "x": p50 / baseline p50 <= limit; "ms": p50 < limit

    @property
    def text(self) -> str:
        return f"<= {self.limit:g}x" if self.unit == "x" else f"< {self.limit:g} ms"


@dataclass
class Row:
    """One line of the table: a case's figures, its ratio to the group's baseline, its goal."""

    group: str
    name: str
    samples_ms: list[float]
    baseline: Row | None = None  # None: this row is the group's baseline
    goal: Goal | None = None
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.samples_ms)

    @property
    def p50(self) -> float:
        return percentile(self.samples_ms, 50)

    @property
    def p90(self) -> float:
        return percentile(self.samples_ms, 90)

    @property
    def p99(self) -> float:
        return percentile(self.samples_ms, 99)

    @property
    def ratio(self) -> float:
        """p50 over the baseline's p50 (1 for the baseline itself)."""
        return 1.0 if self.baseline is None else self.p50 / self.baseline.p50

    @property
    def passed(self) -> bool | None:
        if self.goal is None:
            return None
        if self.goal.unit == "x":
            return self.ratio <= self.goal.limit
        return self.p50 < self.goal.limit

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "name": self.name, "n": self.n,
            "p50_ms": round(self.p50, 4), "p90_ms": round(self.p90, 4),
            "p99_ms": round(self.p99, 4), "ratio": round(self.ratio, 4),
            "baseline": self.baseline.name if self.baseline else None,
            "goal": self.goal.text if self.goal else None,
            "result": {True: "PASS", False: "FAIL", None: None}[self.passed],
            "note": self.note or None,
        }  # fmt: skip


# --- timing commands -------------------------------------------------------------------------


@dataclass
class Command:
    """A command line to time; `check` looks at the first run's stdout (raise BenchError);
    `env` is added to the clean environment (e.g. OCX_NOW, to pin the clock)."""

    name: str
    argv: list[str]
    goal: Goal | None = None
    check: Callable[[str], None] | None = None
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)


def expect_json(kind: type) -> Callable[[str], None]:
    """A check that stdout is JSON of this type (an object for show, an array for search)."""

    def check(stdout: str) -> None:
        try:
            value = json.loads(stdout)
        except ValueError as exc:
            raise BenchError(f"output is not JSON ({exc}): {stdout[:200]!r}") from None
        if not isinstance(value, kind):
            raise BenchError(f"expected a JSON {kind.__name__}, got {type(value).__name__}")

    return check


def run_once(argv: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall time in ms of one run (start to exit, output read from a pipe) and its stdout."""
    start = time.perf_counter_ns()
    done = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(map(str, argv))} exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return elapsed, done.stdout


def time_commands(
    group: str, baseline: Command, commands: Sequence[Command], ctx: Context
) -> list[Row]:
    """Time the baseline and the commands interleaved, round after round, so drift on the
    machine (another process, a frequency change) falls on all of them alike."""
    runs, warmup, base_env = ctx.settings.runs, ctx.settings.warmup, ctx.env()
    everything = [baseline, *commands]
    envs = {c.name: {**base_env, **c.env} for c in everything}
    for command in everything:  # the first run checks the command works and says what it prints
        _, stdout = run_once(command.argv, envs[command.name])
        if command.check:
            try:
                command.check(stdout)
            except BenchError as exc:
                raise BenchError(f"{command.name}: {exc}") from None
    for _ in range(warmup):
        for command in everything:
            run_once(command.argv, envs[command.name])
    samples: dict[str, list[float]] = {c.name: [] for c in everything}
    for round_ in range(runs):
        shift = round_ % len(everything)  # rotate the order, so no command is always first
        for command in everything[shift:] + everything[:shift]:
            samples[command.name].append(run_once(command.argv, envs[command.name])[0])
    base = Row(group, baseline.name, samples[baseline.name], note=baseline.note)
    return [base] + [
        Row(group, c.name, samples[c.name], baseline=base, goal=c.goal, note=c.note)
        for c in commands
    ]


def python_baseline() -> Command:
    return Command("python -c pass (baseline)", [sys.executable, "-c", "pass"])
