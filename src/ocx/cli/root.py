"""The root `ocx` group: global options, lazily loaded subcommands, one-line errors.

Loaded by ocx.cli on first use (`from ocx.cli import cli` works), so that the command
lines ocx.cli.fast answers finish without click."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click

from ocx import __version__
from ocx.errors import OcxError

if TYPE_CHECKING:  # `ocx --help` never needs the App (config, clock, pathlib): load on use
    from ocx.cli.app import App

# name -> (module, attribute, short help): listing commands imports none of them.
BUILTIN_COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("ocx.cli.init", "init", "Create the database (and a starter config)."),
    "customer": ("ocx.cli.customer", "customer", "Customer profiles, notes, timeline, search."),
    "import": (
        "ocx.cli.import_",
        "import_",
        "Import customers and history from a helpdesk export.",
    ),
    "team": ("ocx.cli.team", "team_group", "Team members: owners, concierges, the lead."),
    "promise": (
        "ocx.cli.promise",
        "promise_group",
        "Promises: commitments with an owner and a due time.",
    ),
    "cadence": ("ocx.cli.cadence", "cadence_group", "Proactive contact schedules."),
    "incident": (
        "ocx.cli.incident",
        "incident_group",
        "Incidents: one case per affected customer.",
    ),
    "postmortem": (
        "ocx.cli.postmortem",
        "postmortem_group",
        "Blameless postmortems and action items.",
    ),
    "report": ("ocx.cli.report", "report_group", "Are promises kept? Who is at risk?"),
    "inbox": ("ocx.cli.inbox", "inbox_group", "Mail from customers: ingest, unmatched, assign."),
    "due": ("ocx.cli.due", "due", "What needs action now (for cron: --notify)."),
    "outbox": ("ocx.cli.outbox", "outbox_group", "Messages sent, failed, retried."),
    "notify": ("ocx.cli.notify", "notify_group", "Test a notification channel."),
    "config": ("ocx.cli.config", "config", "Show or change ocx.toml."),
    "db": ("ocx.cli.db", "db_group", "Copy the database (SQLite, PostgreSQL); check it."),
    "plugins": ("ocx.cli.plugins", "plugins", "List installed plugins and their hooks."),
}


def _debug_wanted(ctx: click.Context | None) -> bool:
    if os.environ.get("OCX_DEBUG", "") not in ("", "0"):
        return True
    root = ctx.find_root() if ctx is not None else None
    return bool(getattr(root.obj, "debug", False)) if root is not None else False


def _plugin_cache_path() -> str:
    """The file in platformdirs' user cache dir for ocx. `ocx --help` reads it every run: on
    Linux the folder is plain ($XDG_CACHE_HOME when absolute, else ~/.cache, as platformdirs
    has it), and platformdirs and pathlib (a tenth of the start-up) stay unloaded."""
    xdg, home = os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME", "")
    if sys.platform != "linux" or hasattr(sys, "getandroidapilevel"):
        folder = None
    elif xdg and xdg.startswith("/"):
        folder = os.path.join(xdg, "ocx")
    elif not xdg and home.startswith("/"):
        folder = os.path.join(os.path.expanduser("~/.cache"), "ocx")
    else:  # a relative XDG_CACHE_HOME or HOME: platformdirs versions differ
        folder = None
    if folder is None:
        import platformdirs

        folder = platformdirs.user_cache_dir("ocx", appauthor=False)
    return os.path.join(folder, "plugin-commands.json")


def _environment_fingerprint() -> list[Any]:
    """Changes whenever a package is installed or removed (its site dir's mtime moves).

    sys.path[0] is left out: it is the script's folder or the working directory, which
    differ between `ocx` and `python -m ocx` and hold no installed distributions."""
    marks: list[Any] = [__version__, os.environ.get("OCX_DISABLE_PLUGINS", "")]
    for entry in sys.path[1:]:
        try:
            marks.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            continue
    return marks


def fingerprinted(path: str, key: str, compute: Callable[[], dict[str, str]]) -> dict[str, str]:
    """KEY of the JSON cache at PATH while this environment's fingerprint matches the one it
    was written with; else what COMPUTE returns, cached there for the next run (loading
    plugins takes far longer than `ocx --help` or a TAB may)."""
    import json

    fingerprint = _environment_fingerprint()
    try:
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached.get("fingerprint") == fingerprint:
            return {str(k): str(v) for k, v in cached[key].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    found = compute()
    try:
        from pathlib import Path

        from ocx import private

        data = json.dumps({"fingerprint": fingerprint, key: found})
        private.write_file(Path(path), data.encode("utf-8"))  # folder 0700, file 0600
    except OSError:
        pass  # a read-only home only costs speed
    return found


def _app(ctx: click.Context) -> App:
    """The App for this run; made here when a subcommand is looked up before the root
    callback has run (click resolves the subcommand first)."""
    from ocx.cli.app import App

    root = ctx.find_root()
    if not isinstance(root.obj, App):
        debug = bool(root.params.get("debug")) or os.environ.get("OCX_DEBUG", "") not in ("", "0")
        root.obj = App(db=root.params.get("db"), debug=debug)
        root.call_on_close(root.obj.close)
    return root.obj


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns (COLUMNS, else stdout's terminal, else 80),
    without loading shutil and the compression modules it loads, for `ocx --help`."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class OcxContext(click.Context):
    def make_formatter(self) -> click.HelpFormatter:
        """Click's own formatter and width (click.formatting.HelpFormatter's rule)."""
        width = self.terminal_width
        if width is None and click.formatting.FORCED_WIDTH is None:
            width = max(min(_terminal_columns(), self.max_content_width or 80) - 2, 50)
        return self.formatter_class(width=width, max_width=self.max_content_width)


class OcxGroup(click.Group):
    """Loads built-in subcommands on demand and plugin commands only when needed."""

    context_class = OcxContext

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*BUILTIN_COMMANDS, *self.commands, *self._cached_plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in BUILTIN_COMMANDS:
            module, attr, _ = BUILTIN_COMMANDS[cmd_name]
            return getattr(import_module(module), attr)
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return self._plugin_commands(ctx).get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        helps = {name: short for name, (_, _, short) in BUILTIN_COMMANDS.items()}
        for name, command in self.commands.items():
            helps.setdefault(name, command.get_short_help_str(formatter.width - 20))
        for name, short in self._cached_plugin_commands(ctx).items():
            helps.setdefault(name, short)
        with formatter.section("Commands"):
            formatter.write_dl(sorted(helps.items()))

    def _cached_plugin_commands(self, ctx: click.Context) -> dict[str, str]:
        """Plugin command names and help from a cache kept fresh by the environment
        fingerprint, so `ocx --help` does not scan entry points on every run."""
        return fingerprinted(
            _plugin_cache_path(),
            "commands",
            lambda: {
                name: command.get_short_help_str(60)
                for name, command in self._plugin_commands(ctx).items()
            },
        )

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        """Commands plugins add, gathered once per run; built-in names win over a plugin's."""
        app = _app(ctx)
        if app.plugin_commands is None:
            staging = click.Group()
            app.plugins.register_commands(staging)
            app.plugin_commands = {
                name: command
                for name, command in staging.commands.items()
                if name not in BUILTIN_COMMANDS and name not in self.commands
            }
        return app.plugin_commands

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OcxError as exc:
            if _debug_wanted(ctx):
                raise
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            raise  # `ocx ... | head`: the reader left; click ends quietly, no "Error:" line
        except Exception as exc:
            if _debug_wanted(ctx):
                raise
            raise click.ClickException(_describe(exc)) from None


def _describe(exc: Exception) -> str:
    """One line for an error nobody planned for; a busy database gets advice."""
    sqlite3 = sys.modules.get("sqlite3")  # loaded if the error could come from it
    if sqlite3 is not None and isinstance(exc, sqlite3.OperationalError):
        if "locked" in str(exc) or "busy" in str(exc):
            return "the database is busy (another ocx is writing); try again in a moment"
        return f"database error: {exc}"
    return f"{type(exc).__name__}: {exc} (run with --debug for details)"


@click.group(cls=OcxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH",
    help="Database file (default: $OCX_DB, else $OCX_HOME/ocx.db, else the user data dir).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks (also OCX_DEBUG=1).")
@click.version_option(__version__, prog_name="ocx")
@click.pass_context
def cli(ctx: click.Context, db: str | None, debug: bool) -> None:
    """ocx: treat every customer as your only customer.

    Profiles, promises, incidents and postmortems for a support team, in one SQLite file.

    Example: ocx init --sample && ocx customer show margo@example.com
    """
    from ocx import clock

    clock.now()  # a bad OCX_NOW stops here, before anything is created
    _app(ctx)
