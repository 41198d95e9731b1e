"""Plugins: the installed ocx-hello found through the `ocx` entry-point group, `ocx plugins`,
broken plugins, the command-name cache, registration in tests, and the guide's coverage."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from ocx import __version__, hookspecs
from ocx.cli import OcxGroup, cli
from ocx.cli.app import App
from ocx.hookspecs import hookimpl
from ocx.plugin_api import Importer, Notifier
from ocx.pluginhost import BUILTIN, Plugins

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(
    name for name, value in vars(hookspecs).items() if name.startswith("ocx_") and callable(value)
)

BROKEN_MODULE = """
    raise ImportError("ocx_broken needs the 'zenpy' package, which is not installed")
"""

RAISES_IN_HOOK_MODULE = """
    from ocx.hookspecs import hookimpl

    @hookimpl
    def ocx_register_commands(cli):
        raise RuntimeError("cannot reach the licence server")
"""

WAVE_MODULE = '''
    import click
    from ocx.hookspecs import hookimpl

    @hookimpl
    def ocx_register_commands(cli):
        @cli.command()
        def wave():
            """Wave at the team. Example: ocx wave"""
            click.echo("o/")
'''


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Own OCX_HOME and cache dir per test; entry points off unless a test turns them on."""
    monkeypatch.setenv("OCX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("OCX_DISABLE_PLUGINS", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables on one line each, whatever the terminal
    monkeypatch.setenv("USER", "tester")
    for name in ("OCX_DB", "OCX_DEBUG", "OCX_NOW"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def entry_points_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load plugins from the `ocx` entry-point group, as a user's ocx does."""
    monkeypatch.delenv("OCX_DISABLE_PLUGINS", raising=False)


@pytest.fixture
def hello_installed(entry_points_on: None) -> str:
    """contrib/ocx-hello installed (not editable) in this environment; its version."""
    try:
        return importlib.metadata.version("ocx-hello")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("ocx-hello is not installed: run `python -m pip install ./contrib/ocx-hello`")


Install = Callable[..., None]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """install(dist, module, source): a real distribution, laid out as pip leaves one in
    site-packages (a dist-info folder with METADATA and an `ocx` entry point, and the module
    beside it), in a folder put on sys.path for this test only, where PYTHONPATH puts one:
    after sys.path[0], which the command cache's fingerprint leaves out."""
    modules: list[str] = []

    def install_(dist: str, module: str, source: str, *, version: str = "0.1") -> None:
        site = tmp_path / f"site-{dist}"
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(f"[ocx]\n{dist} = {module}\n", encoding="utf-8")
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        modules.append(module)
        monkeypatch.setattr(sys, "path", [sys.path[0], str(site), *sys.path[1:]])
        importlib.invalidate_caches()

    yield install_
    for module in modules:
        sys.modules.pop(module, None)


def ocx(*args: str, obj: App | None = None) -> Result:
    """Run the real root group in-process; an unexpected exception fails the test loudly."""
    return CliRunner().invoke(cli, list(args), obj=obj, catch_exceptions=False)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def plugins_json(obj: App | None = None) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in json.loads(ok(ocx("plugins", "--json", obj=obj)).stdout)}


def help_commands() -> list[str]:
    """The command names `ocx --help` lists."""
    text = ok(ocx("--help")).stdout.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)", text, flags=re.MULTILINE)


# --- the installed contrib/ocx-hello, found through the entry-point group ------------------


def test_hello_is_found_through_the_ocx_entry_point_group(hello_installed: str) -> None:
    entry_points = importlib.metadata.entry_points(group="ocx")
    assert [ep.value for ep in entry_points if ep.name == "hello"] == ["ocx_hello"]

    info = Plugins().infos["hello"]
    assert (info.version, info.builtin, info.error) == (hello_installed, False, None)


def test_hello_command_runs_from_the_installed_plugin(hello_installed: str) -> None:
    result = ok(ocx("hello", "Margo"))
    assert result.stdout == "Hello, Margo!\n"


def test_hello_reaches_the_database_through_the_app(hello_installed: str) -> None:
    ok(ocx("init"))
    ok(ocx("customer", "add", "jim@example.com", "--name", "Jim Hollis"))
    result = ok(ocx("hello"))
    assert result.stdout.splitlines()[0] == "Hello, tester!"
    assert "ocx holds 1 customer in " in result.stdout


def test_plugins_json_describes_hello(hello_installed: str) -> None:
    assert plugins_json()["hello"] == {
        "name": "hello", "version": hello_installed, "builtin": False,
        "hooks": ["ocx_register_commands"], "status": "ok", "error": None,
    }  # fmt: skip


def test_plugins_table_shows_hello_as_external_and_ok(hello_installed: str) -> None:
    result = ok(ocx("plugins"))
    row = next(line for line in result.stdout.splitlines() if line.startswith("hello\t"))
    cells = row.split("\t")  # a pipe: tab-separated rows
    assert cells == ["hello", hello_installed, "external", "ocx_register_commands", "ok"]


def test_disable_plugins_keeps_entry_points_out(
    hello_installed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "hello" in help_commands()  # fills the command cache with hello

    monkeypatch.setenv("OCX_DISABLE_PLUGINS", "1")
    assert "hello" not in Plugins().infos
    assert "hello" not in plugins_json()
    assert "hello" not in help_commands()  # the cache knows the switch changed
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 2
    assert "No such command 'hello'" in result.stderr


def test_builtin_plugins_load_through_the_same_manager(hello_installed: str) -> None:
    described = plugins_json()
    for module in BUILTIN:
        info = described[f"ocx.plugins.{module}"]
        assert (info["builtin"], info["version"], info["status"]) == (True, __version__, "ok")
        assert info["hooks"], f"built-in plugin {module} implements no hook"
    names = list(described)
    assert names.index("hello") > max(
        (names.index(f"ocx.plugins.{m}") for m in BUILTIN), default=-1
    )


# --- the command-name cache ------------------------------------------------------------


def test_help_lists_plugin_commands_and_a_second_run_uses_the_cache(
    hello_installed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert {"hello", "customer", "plugins"} <= set(help_commands())
    cache = json.loads((tmp_path / "cache" / "ocx" / "plugin-commands.json").read_text())
    assert "hello" in cache["commands"]

    def no_scan(self: OcxGroup, ctx: click.Context) -> dict[str, click.Command]:
        raise AssertionError("plugins were loaded although the command cache is fresh")

    monkeypatch.setattr(OcxGroup, "_plugin_commands", no_scan)
    assert "hello" in help_commands()


def test_cache_is_refreshed_when_a_plugin_is_installed(
    hello_installed: str, install: Install
) -> None:
    assert "wave" not in help_commands()
    install("ocx-wave", "ocx_wave_installed", WAVE_MODULE)
    assert {"hello", "wave"} <= set(help_commands())
    assert ok(ocx("wave")).stdout == "o/\n"


# --- broken plugins ----------------------------------------------------------------------


@pytest.fixture
def broken_installed(hello_installed: str, install: Install) -> None:
    """A plugin whose module raises ImportError, installed next to ocx-hello."""
    install("ocx-broken", "ocx_broken", BROKEN_MODULE)


def test_plugins_reports_a_plugin_that_fails_to_import(broken_installed: None) -> None:
    broken = plugins_json()["ocx-broken"]
    assert (broken["status"], broken["builtin"], broken["version"]) == ("broken", False, "0.1")
    assert broken["error"] == (
        "ImportError: ocx_broken needs the 'zenpy' package, which is not installed"
    )
    assert plugins_json()["hello"]["status"] == "ok"

    row = next(line for line in ok(ocx("plugins")).stdout.splitlines() if "ocx-broken" in line)
    assert "broken: ImportError" in row


def test_a_broken_plugin_does_not_break_help_or_other_commands(broken_installed: None) -> None:
    assert {"customer", "hello", "plugins"} <= set(help_commands())
    ok(ocx("init"))
    ok(ocx("customer", "add", "margo@example.com", "--name", "Margo Lane"))
    assert "margo@example.com" in ok(ocx("customer", "list")).stdout
    assert ok(ocx("hello", "Judy")).stdout.startswith("Hello, Judy!")


def test_a_plugin_whose_hook_raises_is_reported_and_does_not_break_help(
    hello_installed: str, install: Install
) -> None:
    install("ocx-licensed", "ocx_licensed", RAISES_IN_HOOK_MODULE)
    assert {"customer", "hello"} <= set(help_commands())
    assert ok(ocx("hello", "Alecia")).stdout.startswith("Hello, Alecia!")
    licensed = plugins_json()["ocx-licensed"]
    assert licensed["status"] == "broken"
    assert licensed["error"] == "RuntimeError: cannot reach the licence server"


# --- plugins registered by name in a test ------------------------------------------------


class WavePlugin:
    """A plugin object registered by name in a test; never installed."""

    @hookimpl
    def ocx_register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def wave() -> None:
            """Wave at the team. Example: ocx wave"""
            click.echo("o/")


def test_a_plugin_registered_by_name_shows_up() -> None:
    app = App()
    app.plugins.add(WavePlugin(), "wave-test")
    try:
        assert plugins_json(obj=app)["wave-test"] == {
            "name": "wave-test", "version": None, "builtin": False,
            "hooks": ["ocx_register_commands"], "status": "ok", "error": None,
        }  # fmt: skip
        assert ok(ocx("wave", obj=app)).stdout == "o/\n"
    finally:
        app.plugins.remove("wave-test")
        app.close()
    assert "wave-test" not in {info.name for info in app.plugins.describe()}


def test_a_plugin_command_cannot_replace_a_builtin_one() -> None:
    class Impostor:
        @hookimpl
        def ocx_register_commands(self, cli: click.Group) -> None:
            @cli.command()
            def plugins() -> None:
                """Not the real one. Example: ocx plugins"""
                click.echo("impostor")

    app = App()
    app.plugins.add(Impostor(), "impostor")
    try:
        # JSON at all means the real `ocx plugins` ran, not the impostor's echo
        assert "impostor" in plugins_json(obj=app)
    finally:
        app.plugins.remove("impostor")
        app.close()


# --- importers and notifiers are validated as they register ------------------------------


def _read(path: Path) -> list[Any]:
    return []


def _send(message: Any, channel: Any) -> str:
    return "delivered"


def registering(hook: str, *items: Any) -> object:
    """A plugin whose `hook` registers each of `items`."""

    def impl(register: Callable[[Any], None]) -> None:
        for item in items:
            register(item() if callable(item) and not isinstance(item, type) else item)

    impl.__name__ = hook
    return type("Plugin", (), {hook: staticmethod(hookimpl(impl))})()


@pytest.fixture
def plugins() -> Plugins:
    return Plugins(load_entry_points=False)


def test_a_valid_importer_and_notifier_register(plugins: Plugins) -> None:
    importer = Importer(name="acme", description="Acme Desk export", detect=bool, read=_read)
    notifier = Notifier(name="pager", description="A pager", send=_send, config_keys=("url",))
    plugins.add(registering("ocx_register_importers", importer), "imports")
    plugins.add(registering("ocx_register_notifiers", notifier), "notifies")
    try:
        assert plugins.importers()["acme"] is importer
        assert plugins.notifiers()["pager"] is notifier
        hooks = {info.name: info.hooks for info in plugins.describe()}
        assert hooks["imports"] == ["ocx_register_importers"]
        assert hooks["notifies"] == ["ocx_register_notifiers"]
    finally:
        plugins.remove("imports")
        plugins.remove("notifies")
    assert "acme" not in plugins.importers()
    assert "pager" not in plugins.notifiers()


def test_a_plugin_added_after_a_lookup_is_seen(plugins: Plugins) -> None:
    assert "pager" not in plugins.notifiers()
    notifier = Notifier(name="pager", description="A pager", send=_send)
    plugins.add(registering("ocx_register_notifiers", notifier), "late")
    try:
        assert plugins.notifiers()["pager"] is notifier
    finally:
        plugins.remove("late")


@pytest.mark.parametrize(
    ("hook", "item", "message"),
    [
        (
            "ocx_register_importers",
            lambda: Importer(name="Zen Desk", description="", detect=bool, read=_read),
            "importer name 'Zen Desk' is not valid",
        ),
        (
            "ocx_register_importers",
            lambda: Importer(name="acme", description="", detect=bool, read="not callable"),
            "importer 'acme' needs callable detect and read",
        ),
        (
            "ocx_register_importers",
            lambda: Notifier(name="pager", description="", send=_send),
            "which is not an ocx.plugin_api.Importer",
        ),
        ("ocx_register_importers", {"name": "acme"}, "which is not an ocx.plugin_api.Importer"),
        (
            "ocx_register_notifiers",
            lambda: Notifier(name="", description="", send=_send),
            "notifier name '' is not valid",
        ),
        (
            "ocx_register_notifiers",
            lambda: Notifier(name="pager", description="", send=None),
            "notifier 'pager' needs a callable send",
        ),
        ("ocx_register_notifiers", "email", "which is not an ocx.plugin_api.Notifier"),
    ],
)
def test_a_bad_importer_or_notifier_is_refused(
    plugins: Plugins, hook: str, item: Any, message: str
) -> None:
    plugins.add(registering(hook, item), "bad")
    try:
        found = plugins.importers() if hook == "ocx_register_importers" else plugins.notifiers()
        # refused and reported by name; the built-in ones are still there
        assert message in (plugins.infos["bad"].error or "")
        assert {"csv", "zendesk"} <= set(found) or {"console", "email"} <= set(found)
        assert "bad" in {info.name for info in plugins.broken}
    finally:
        plugins.remove("bad")


def test_two_plugins_cannot_register_the_same_importer_name(plugins: Plugins) -> None:
    def acme() -> Importer:
        return Importer(name="acme", description="", detect=bool, read=_read)

    plugins.add(registering("ocx_register_importers", acme), "first")
    plugins.add(registering("ocx_register_importers", acme), "second")
    try:
        found = plugins.importers()
        # the first one registered wins; the second is reported as broken, by name
        assert found["acme"].name == "acme"
        broken = {info.name: info.error for info in plugins.broken}
        assert "two plugins register the importer 'acme'" in (
            broken.get("first") or broken.get("second") or ""
        )
    finally:
        plugins.remove("first")
        plugins.remove("second")


# --- the plugin guide covers the contract ------------------------------------------------


def test_hookspecs_declare_the_three_hooks() -> None:
    assert {"ocx_register_commands", "ocx_register_importers", "ocx_register_notifiers"} <= set(
        HOOKS
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_docstring_and_a_section_in_the_plugin_guide(hook: str) -> None:
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), f"{hook} has no docstring"
    sections = re.findall(r"^## (\S+)\s*$", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    assert hook in sections, f"docs/plugins.md has no '## {hook}' section"


def test_the_plugin_guide_documents_no_hook_that_does_not_exist() -> None:
    sections = re.findall(r"^## (ocx_\S+)\s*$", GUIDE.read_text(encoding="utf-8"), re.MULTILINE)
    assert sorted(sections) == HOOKS
