"""`ocx due` with nothing due, answered without click: what cron runs every few minutes.

Loading click is most of ocx's start-up, and most runs of `ocx due` have nothing to say.
Only the plainest command lines are read here, `[--db PATH] [--debug] due [--within D]
[--owner H] [--json]`, each option once; anything else (another command, --notify, --help,
a typo) goes to click as it always did. When nothing is due, this prints what `ocx due`
prints then (nothing, or `[]` with --json) and the run is over. When something is due, or
anything goes wrong (no database, a bad OCX_NOW or duration, an unknown owner), nothing
has been printed and click runs the command from the start, so the listing and every
error message come from ocx.cli.due alone.
"""

from __future__ import annotations

from typing import Any

# option -> whether it takes a value; the root group's options, then `due`'s
_ROOT_OPTIONS = {"--db": True, "--debug": False}
_DUE_OPTIONS = {"--within": True, "--owner": True, "--json": False}


def read(argv: list[str]) -> dict[str, Any] | None:
    """The options of a plain `ocx due` command line (as click would read them), or None
    for any other command line."""
    found: dict[str, Any] = {}
    options, command = _ROOT_OPTIONS, False
    args = iter(argv)
    for arg in args:
        if arg == "due" and not command:
            options, command = _DUE_OPTIONS, True
            continue
        name, equals, value = arg.partition("=")
        if name not in options or name in found:
            return None
        if not options[name]:
            if equals:
                return None
            found[name] = True
            continue
        if not equals:
            value = next(args, "")
        if not value or value.startswith("-"):
            return None  # click's own reading of such values (or its error) is wanted
        found[name] = value
    return found if command else None


def nothing_due(argv: list[str]) -> bool:
    """True when argv is a plain `ocx due` and nothing is due: its output is printed and
    the command is done. False (nothing printed) when click must run the command."""
    options = read(argv)
    if options is None:
        return False
    try:
        quiet = _quiet(options)
    except Exception:  # click runs the command again and reports it as it always did
        return False
    if quiet and options.get("--json"):
        from ocx import render

        render.emit_json([])
    return quiet


def _quiet(options: dict[str, Any]) -> bool:
    """Whether ocx.cli.due would find nothing, read as it reads its options: the root
    group's clock check, --within, escalate_after, the store, the owner. The cheap check
    (ocx.due.nothing_due) first; only when it cannot tell, the items themselves."""
    from ocx import clock
    from ocx import due as due_items
    from ocx.cli.app import App

    clock.now()  # the root group's first check
    within_text = str(options.get("--within", "1h"))
    within = clock.parse_duration(within_text)  # as ocx.cli.options.DURATION reads it
    clock.shift(clock.now(), within, within_text)
    app = App(db=options.get("--db"), debug=bool(options.get("--debug")))
    try:
        escalate = clock.parse_duration(
            str(app.config.get("escalate_after", due_items.DEFAULT_ESCALATE_AFTER))
        )
        store = app.store
        owner = options.get("--owner")
        if owner:
            from ocx import team

            owner = team.get(store, owner).handle
        with store.read():
            if due_items.nothing_due(store, within=within, owner=owner):
                return True
            return not due_items.items(store, within=within, owner=owner,
                                       escalate_after=escalate)  # fmt: skip
    finally:
        app.close()
