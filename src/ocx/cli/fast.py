"""Command lines answered without loading click: `ocx due` (cron runs it every few
minutes) and `ocx customer show REF`, the two ocx runs most.

Loading click, with what it brings, costs more than all the rest of either command. Only
the plainest command lines are read here, each option once:

    [--db PATH] [--debug] due [--within D] [--owner H] [--json] [--no-header]
    [--db PATH] [--debug] customer show REF [--json]

Anything else (another command, --notify, --help, a typo) goes to click as it always did.
Everything the output needs is read before anything is printed, and printed by the same
ocx.render functions the click commands use; when anything goes wrong before that (no
database, a bad OCX_NOW, duration or config, an unknown owner or customer), nothing has
been printed and click runs the command from the start, so every error message comes
from the click command alone. A profile card rich must draw (in a terminal) goes to
click too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from ocx.cli.app import App

# The root group's options, then each command's: option -> whether it takes a value.
_ROOT_OPTIONS = {"--db": True, "--debug": False}
_COMMANDS: dict[tuple[str, ...], tuple[dict[str, bool], int]] = {
    ("due",): ({"--within": True, "--owner": True, "--json": False, "--no-header": False}, 0),
    ("customer", "show"): ({"--json": False}, 1),
}


def read(argv: list[str]) -> tuple[tuple[str, ...], dict[str, Any], list[str]] | None:
    """(command, options, arguments) of a plain command line of _COMMANDS, as click would
    read it; None for any other command line."""
    found: dict[str, Any] = {}
    args = list(argv)
    while args and args[0].startswith("-"):  # the root group's options
        if not _option(args, _ROOT_OPTIONS, found):
            return None
    command = next((c for c in _COMMANDS if tuple(args[: len(c)]) == c), None)
    if command is None:
        return None
    options, wanted = _COMMANDS[command]
    del args[: len(command)]
    arguments: list[str] = []
    while args:
        if args[0].startswith("-"):
            if not _option(args, options, found):
                return None
        else:
            arguments.append(args.pop(0))
    return (command, found, arguments) if len(arguments) == wanted else None


def _option(args: list[str], options: dict[str, bool], found: dict[str, Any]) -> bool:
    """Take the option at the head of args into found; False when it is not one of these
    options, is given twice, or its value is missing or looks like an option."""
    name, equals, value = args.pop(0).partition("=")
    if name not in options or name in found:
        return False
    if not options[name]:
        found[name] = True
        return not equals
    if not equals:
        value = args.pop(0) if args else ""
    found[name] = value
    return bool(value) and not value.startswith("-")


def answered(argv: list[str]) -> bool:
    """True when argv was answered here, its output printed: the command is done. False
    (nothing printed) when click must run it."""
    line = read(argv)
    if line is None:
        return False
    command, options, arguments = line
    try:
        output = _ANSWERS[command](options, *arguments)
    except Exception:  # click runs the command again and reports it as it always did
        return False
    if output is None:
        return False
    try:
        output()  # ocx.render lays out everything before it writes
    except BrokenPipeError:
        raise  # `ocx due | head`: main() ends quietly, as for click
    except Exception:  # nothing written: click runs it again and reports it as it always did
        return False
    return True


def _app(options: dict[str, Any]) -> App:
    """The App the root group makes, after its first check (a bad OCX_NOW raises)."""
    from ocx import clock
    from ocx.cli.app import App

    clock.now()
    return App(db=options.get("--db"), debug=bool(options.get("--debug")))


def _due(options: dict[str, Any]) -> Callable[[], None]:
    """`ocx due`: what prints its output, read as ocx.cli.due reads it (--within,
    escalate_after, the store, the owner) and printed as it prints it. The cheap check
    first (ocx.duecheck): cron's usual run, nothing due, reads two small queries."""
    from ocx import clock, duecheck

    as_json = bool(options.get("--json"))
    app = _app(options)
    try:
        within_text = str(options.get("--within", "1h"))
        within = clock.parse_duration(within_text)  # as ocx.cli.options.DURATION reads it
        clock.shift(clock.now(), within, within_text)
        escalate = clock.parse_duration(
            str(app.config.get("escalate_after", duecheck.DEFAULT_ESCALATE_AFTER))
        )
        store = app.store
        owner = options.get("--owner")
        if owner:
            from ocx import team

            owner = team.get(store, owner).handle
        found = []
        if not duecheck.nothing_due(store, within=within, owner=owner):
            from ocx import due  # only when something may be due: cron's usual run skips it

            found = due.items(store, within=within, owner=owner, escalate_after=escalate)
        if not found and not as_json:  # cron's usual run: render (and json) stay unloaded
            return lambda: _nothing_due(owner)
        from ocx import render

        if as_json:
            text = render.json_text([i.to_json() for i in found])
            return lambda: sys.stdout.write(text) and None
        tz = app.tz
    finally:
        app.close()
    return lambda: render.due_table(found, tz, header=not options.get("--no-header"))


def _nothing_due(owner: str | None) -> None:
    """What ocx.cli.due says when nothing is due (render.empty): a line on stderr when
    stderr is a terminal, nothing in a pipe or under cron."""
    if sys.stderr is not None and sys.stderr.isatty():
        sys.stderr.write("nothing due" + (f" for {owner}" if owner else "") + "\n")


def _show(options: dict[str, Any], ref: str) -> Callable[[], None] | None:
    """`ocx customer show REF`: what prints the profile as ocx.cli.customer.show does, when
    that is plain text (JSON, or the card in a pipe); None for a card rich must draw."""
    from ocx import promises, render

    as_json = bool(options.get("--json"))
    if not as_json and render.plain_width() is None:
        return None  # a terminal: rich draws the card, through click
    app = _app(options)
    try:
        person, open_promises = promises.profile(app.store, ref)
        text = render.customer_text(person, open_promises, None if as_json else app.tz,
                                    as_json=as_json)  # fmt: skip
    finally:
        app.close()
    return None if text is None else lambda: sys.stdout.write(text) and None


_ANSWERS: dict[tuple[str, ...], Callable[..., Callable[[], None] | None]] = {
    ("due",): _due,
    ("customer", "show"): _show,
}
