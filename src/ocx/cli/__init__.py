"""The `ocx` command line: `main()`, the console script, in front of the root group.

The group, its options and its lazily loaded subcommands live in ocx.cli.root, loaded on
first use: `from ocx.cli import cli` (or OcxGroup, BUILTIN_COMMANDS) works as it always
did. Before loading click, `main()` lets ocx.cli.fast answer the command lines ocx runs
most, when they are plain: cron's `ocx due` with nothing due, `ocx customer show REF`."""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any


def main() -> None:
    """Console-script entry point."""
    if os.environ.get("_OCX_COMPLETE"):
        _complete()
        return
    from ocx.cli.fast import answered  # not `from ocx.cli import`: see __getattr__

    try:
        if answered(sys.argv[1:]):
            return
    except BrokenPipeError:  # `ocx due | head`: as click ends it, quietly with status 1
        _quiet_stdout()
        sys.exit(1)
    from ocx.cli.root import cli

    try:
        cli.main(prog_name="ocx")
    except BrokenPipeError:
        # `ocx customer list | head`: the reader left; that is not an error worth a trace.
        _quiet_stdout()
        sys.exit(0)


def _complete() -> None:
    """Shell completion (`_OCX_COMPLETE=bash_complete ocx`, and the zsh and fish variants)
    is click's, never ocx.cli.fast's; whatever goes wrong, the shell gets nothing and 0."""
    try:
        from ocx.cli.root import cli

        cli.main(prog_name="ocx")
    except BaseException:  # click ends with SystemExit; a trace on TAB helps nobody
        pass
    sys.exit(0)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that left goes there."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def __getattr__(name: str) -> Any:
    """The names of ocx.cli.root (cli, OcxGroup, BUILTIN_COMMANDS...), loaded on first use.

    `from ocx.cli import NAME` asks here first even for a submodule, so ocx's own modules
    import theirs as `from ocx.cli.NAME import ...`, which loads nothing else."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return getattr(import_module("ocx.cli.root"), name)
    except AttributeError:
        raise AttributeError(f"module 'ocx.cli' has no attribute {name!r}") from None
