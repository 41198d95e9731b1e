"""Every command and subcommand has help with an example (as hatch's and sqlite-utils' do)."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

import click
import pytest

from ocx.cli import cli

if TYPE_CHECKING:
    from conftest import Run


def _walk(group: click.Group, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    ctx = click.Context(group, info_name=prefix[-1] if prefix else "ocx")
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(_walk(command, (*prefix, name)))
    return paths


def _command_paths() -> list[tuple[str, ...]]:
    # Collected before any fixture runs: keep the machine's plugins and caches out of it.
    with tempfile.TemporaryDirectory() as cache, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCX_DISABLE_PLUGINS", "1")
        mp.setenv("XDG_CACHE_HOME", cache)
        return [(), *_walk(cli, ())]


COMMANDS = _command_paths()


def test_the_walk_finds_the_builtin_commands() -> None:
    for path in [("init",), ("customer", "add"), ("customer", "merge"), ("config", "set"),
                 ("plugins",)]:  # fmt: skip
        assert path in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(("ocx", *p)))
def test_help_has_an_example(run_bare: Run, path: tuple[str, ...]) -> None:
    result = run_bare(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "Usage:" in result.stdout
