"""Start-up: `ocx --help` and `ocx customer show REF` against `python -c pass`, same run.

The database is the demo one `ocx init --sample` makes in a throw-away OCX_HOME: start-up
cost does not depend on how many customers there are (show is an indexed lookup).
"""

from __future__ import annotations

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

NAME = "start-up"
REF = "margo@example.com"
HELP_GOAL = Goal(5, "x")  # issue 16 (8x in issue 4)
SHOW_GOAL = Goal(6, "x")  # issue 16, the human output (10x in issue 4)
SHOW_JSON_GOAL = Goal(10, "x")  # issue 4


def prepare(ctx: Context) -> None:
    env, ocx = ctx.env(), str(ctx.ocx)
    run_once([ocx, "init", "--sample"], env)
    # One `ocx --help` fills the plugin-command cache; every timed run then reads it.
    run_once([ocx, "--help"], env)
    cache = ctx.tmp / "cache" / "ocx" / "plugin-commands.json"
    if not cache.is_file():
        ctx.facts.setdefault("notes", []).append(
            f"no plugin-command cache at {cache} after `ocx --help`: every run may scan plugins"
        )


def _has_ref(stdout: str) -> None:
    if REF not in stdout:
        raise BenchError(f"{REF} is not in the output: {stdout[:200]!r}")


def run(ctx: Context) -> list[Row]:
    ocx = str(ctx.ocx)
    commands = [
        Command("ocx --help", [ocx, "--help"], HELP_GOAL),
        Command(f"ocx customer show {REF}", [ocx, "customer", "show", REF], SHOW_GOAL, _has_ref,
                note="human output to a pipe"),
        Command(f"ocx customer show {REF} --json", [ocx, "customer", "show", REF, "--json"],
                SHOW_JSON_GOAL, expect_json(dict)),
    ]  # fmt: skip
    log(f"start-up: {len(commands) + 1} commands x {ctx.settings.runs} runs")
    return time_commands(NAME, python_baseline(), commands, ctx)
