"""Secrets never reach ocx.toml: `config set` refuses a value carrying a credential (a URL's
user:password@, a query parameter named like one), exit 1, file unchanged byte for byte,
without echoing the secret. And what ocx creates is private whatever the umask: folders
0700, files 0600 (the database's -wal and -shm included), checked in real processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import AssertError, LoadJson, Run

SECRET = "s3cr3t-VALUE-42"
NAMES = ["password", "passwd", "pwd", "token", "access_token", "api_key", "apikey", "key",
         "secret", "github_token", "client_secret"]  # fmt: skip


def spellings(name: str) -> list[str]:
    return sorted({name, name.upper(), name.title(), name[0].upper() + name[1:]})


CREDENTIAL_VALUES = [
    pytest.param(f"https://hooks.example/x?channel=ops&{spelt}={SECRET}", id=f"query-{spelt}")
    for name in NAMES
    for spelt in spellings(name)
] + [
    pytest.param(f"https://bob:{SECRET}@hooks.example/x", id="user-password"),
    pytest.param(f"smtp://mail:{SECRET}@smtp.example:587", id="user-password-port"),
    pytest.param(f"https://hooks.example/cb#access_token={SECRET}", id="fragment-token"),
    pytest.param(f'["https://ok.example", "https://bob:{SECRET}@hooks.example"]', id="in-a-list"),
    pytest.param(f'{{ url = "https://hooks.example/?Token={SECRET}" }}', id="in-a-table"),
]


@pytest.mark.parametrize("value", CREDENTIAL_VALUES)
@pytest.mark.parametrize("key", ["channels.hook.url", "webhook", "channels.email.host"])
def test_config_set_refuses_a_value_carrying_a_credential_and_writes_nothing(
    run: Run, env: Path, assert_error: AssertError, key: str, value: str
) -> None:
    assert run("config", "set", "channels.hook.type", "webhook").exit_code == 0
    before = (env / "ocx.toml").read_bytes()
    result = run("config", "set", key, value)
    line = assert_error(result)
    assert line.startswith(f"Error: {key}: the value carries ")
    assert "environment variable" in line and "*_env key" in line
    assert SECRET not in result.output
    assert (env / "ocx.toml").read_bytes() == before


def test_a_refused_value_creates_no_config_file(
    run: Run, env: Path, assert_error: AssertError
) -> None:
    assert_error(run("config", "set", "channels.hook.url", f"https://a:{SECRET}@h.example/"))
    assert not (env / "ocx.toml").exists()


@pytest.mark.parametrize(
    "value",
    [
        "https://bob@hooks.example/x",  # a user without a password
        "https://hooks.example/x?channel=ops&keyboard=1&monkey=2&tokens_left=3",
        "https://hooks.example/x?token_ttl=60",
        "mailto:support@acme.example",
        "mailto:support@acme.example?subject=password reset",
        "smtp.example.com",
        "22:00-07:00",
    ],
)
def test_config_set_takes_values_without_credentials(
    run: Run, env: Path, load_json: LoadJson, value: str
) -> None:
    result = run("config", "set", "channels.hook.url", value)
    assert result.exit_code == 0, result.output
    assert load_json(run("config", "show", "--json"))["channels"]["hook"]["url"] is not None


# --- modes, in real processes under a hostile umask ------------------------------------------


def modes(root: Path) -> dict[str, int]:
    """Every folder and file under root (root included), relative name -> permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def wrong(found: dict[str, int], root: Path) -> dict[str, str]:
    """The entries whose mode is not 0700 (folders) or 0600 (files)."""
    return {
        name: oct(mode) for name, mode in found.items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }  # fmt: skip


def under_umask(umask: int, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`script` (shell) in a child process whose umask is `umask`."""
    return subprocess.run(
        ["sh", "-c", f"umask {umask:03o}; {script}"], capture_output=True, text=True,
        env={**os.environ, **env}, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_init_config_set_and_writes_leave_folders_0700_and_files_0600(
    tmp_path: Path, umask: int
) -> None:
    root = tmp_path / "made"
    home = root / "deep" / "er" / "home"
    ocx = f"{sys.executable} -m ocx"
    done = under_umask(umask, " && ".join([
        f"{ocx} init --sample",
        f"{ocx} config set timezone Europe/Paris",
        f"{ocx} customer add kim@example.com --name Kim",
        f"{ocx} customer note kim@example.com 'Called'",
        f"{ocx} --help > /dev/null",  # writes the plugin-command cache
    ]), {"OCX_HOME": str(home), "XDG_CACHE_HOME": str(root / "cache")})  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = modes(root)
    assert {"deep", "deep/er", "deep/er/home", "deep/er/home/ocx.db", "deep/er/home/ocx.toml",
            "cache", "cache/ocx", "cache/ocx/plugin-commands.json"} <= set(found)  # fmt: skip
    assert wrong(found, root) == {}


def test_the_user_data_folders_are_0700(tmp_path: Path) -> None:
    """Without OCX_HOME or --db the database goes to the platformdirs data folder, created
    (with its parents) 0700."""
    env = {"XDG_DATA_HOME": str(tmp_path / "share"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "HOME": str(tmp_path)}  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in ("OCX_HOME", "OCX_DB")}
    done = subprocess.run(
        ["sh", "-c", f"umask 000; {sys.executable} -m ocx init"], capture_output=True,
        text=True, env={**clean, **env}, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    db = Path(done.stdout.strip())
    assert db.is_relative_to(tmp_path / "share")
    assert wrong(modes(tmp_path / "share"), tmp_path / "share") == {}


WHILE_OPEN = """
import json, os, stat, sys
from pathlib import Path
os.umask(0)
from ocx import customers
from ocx.store import create_store
path = Path(sys.argv[1])
store = create_store(path)
customers.add(store, "kim@example.com", author="tester", name="Kim")
customers.note(store, "kim@example.com", "Called", author="tester")
print(json.dumps({p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}))
store.close()
"""


def test_the_database_wal_and_shm_files_are_0600_while_it_is_open(tmp_path: Path) -> None:
    """SQLite removes -wal and -shm when the last connection closes, so look at them from
    inside a process (umask 000) that still has the store open after writing."""
    db = tmp_path / "new" / "team.db"
    done = subprocess.run(
        [sys.executable, "-c", WHILE_OPEN, str(db)], capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found == {"team.db": 0o600, "team.db-wal": 0o600, "team.db-shm": 0o600}
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
