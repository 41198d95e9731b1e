"""ocx-hello: `ocx hello [NAME]` through the real ocx root group, registered by name and
found through the `ocx` entry-point group once installed."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import ocx_hello
import pytest
from click.testing import CliRunner, Result

from ocx.testing import App, Plugins, cli


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Own OCX_HOME and cache; only the plugins a test asks for (entry points off)."""
    home = tmp_path / "home"
    monkeypatch.setenv("OCX_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("OCX_DISABLE_PLUGINS", "1")
    monkeypatch.setenv("USER", "tester")
    for name in ("OCX_DB", "OCX_DEBUG", "OCX_NOW"):
        monkeypatch.delenv(name, raising=False)
    return home


def ocx(*args: str) -> Result:
    """`ocx ARGS` with no plugins but ocx's own."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def ocx_with_hello(*args: str) -> Result:
    """`ocx ARGS` with this plugin registered by name, as an installed copy would be."""
    app = App()
    app.plugins.add(ocx_hello, "hello")
    try:
        return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)
    finally:
        app.plugins.remove("hello")
        app.close()


def test_greets_the_name_given() -> None:
    result = ocx_with_hello("hello", "Margo")
    assert (result.exit_code, result.stdout) == (0, "Hello, Margo!\n")


def test_greets_the_configured_user_by_default() -> None:
    ocx("config", "set", "user", "dana")
    assert ocx_with_hello("hello").stdout == "Hello, dana!\n"


def test_without_a_database_it_only_greets_and_creates_nothing(isolated: Path) -> None:
    result = ocx_with_hello("hello")
    assert (result.exit_code, result.stdout) == (0, "Hello, tester!\n")
    assert not (isolated / "ocx.db").exists()


@pytest.mark.parametrize(
    ("emails", "line"),
    [
        ((), "0 customers"),
        (("jim@example.com",), "1 customer"),
        (("jim@example.com", "margo@example.com"), "2 customers"),
    ],
)
def test_counts_the_customers_in_the_database(
    isolated: Path, emails: tuple[str, ...], line: str
) -> None:
    ocx("init")
    for email in emails:
        ocx("customer", "add", email)
    result = ocx_with_hello("hello", "Judy")
    assert result.stdout == f"Hello, Judy!\nocx holds {line} in {isolated / 'ocx.db'}.\n"


def test_help_explains_the_command_with_an_example() -> None:
    result = ocx_with_hello("hello", "--help")
    assert result.exit_code == 0
    assert "Example: ocx hello Margo" in result.stdout


def test_root_help_lists_hello() -> None:
    assert "hello" in ocx_with_hello("--help").stdout


def test_implements_only_the_commands_hook() -> None:
    plugins = Plugins(load_entry_points=False)
    plugins.add(ocx_hello, "hello")
    try:
        (info,) = [i for i in plugins.describe() if i.name == "hello"]
        assert info.hooks == ["ocx_register_commands"]
    finally:
        plugins.remove("hello")


def test_installed_package_is_found_through_the_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        version = importlib.metadata.version("ocx-hello")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("ocx-hello is not installed: run `python -m pip install ./contrib/ocx-hello`")
    monkeypatch.delenv("OCX_DISABLE_PLUGINS")
    info = Plugins().infos["hello"]
    assert (info.version, info.builtin, info.error) == (version, False, None)
    assert ocx("hello", "Alecia").stdout == "Hello, Alecia!\n"
