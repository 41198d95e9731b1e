"""README.md's "What it does" block, run line by line as a user would: the installed `ocx`
in a shell, from the repository root, on a fresh database, with a real SMTP server behind
the `ops-mail` channel the block names. A line that fails fails the test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK_NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)  # a Tuesday, midday in London
README = ROOT / "README.md"


def what_it_does() -> list[str]:
    """The block's commands in order, with `\\` continuations joined."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"^## What it does\n+```sh\n(.*?)^```", text, re.M | re.S)
    assert found, "README.md has no ```sh block under '## What it does'"
    return [line for line in found[1].replace("\\\n", " ").splitlines() if line.strip()]


def test_the_block_is_the_tour_it_claims() -> None:
    lines = what_it_does()
    assert lines[0].startswith("ocx init"), "the block starts from a fresh database"
    nouns = {line.split()[1] for line in lines}
    assert {"customer", "import", "team", "promise", "cadence", "due", "incident"} <= nouns
    assert any("--template examples/" in line for line in lines)


@pytest.fixture
def shell_env(tmp_path: Path, env: Path, smtp_server) -> dict[str, str]:
    """The user's environment: the venv's `ocx` first on PATH, plugins on, a home of its own
    whose ocx.toml sends `ops-mail` (and customer `email`) to the local SMTP server."""
    env.mkdir(mode=0o700)
    channel = (
        f'type = "email"\nhost = "127.0.0.1"\nport = {smtp_server.port}\nstarttls = false\n'
        'from = "ocx <ocx@acme.example>"\n'
    )
    config = env / "ocx.toml"
    config.write_text(f"[channels.ops-mail]\n{channel}\n[channels.email]\n{channel}")
    config.chmod(0o600)
    bin_dir = str(Path(sys.executable).parent)
    assert (Path(bin_dir) / "ocx").exists(), f"no installed ocx beside {sys.executable}"
    shell = {k: v for k, v in os.environ.items() if k != "OCX_DISABLE_PLUGINS"}
    shell.update(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(tmp_path))
    # One instant for the whole block, whatever the hour the suite runs at: what the block
    # sends waits out each customer's quiet hours, and cron's run eight hours on must find
    # Margo's (Europe/London, quiet 22:00-07:00) due. From the real clock it was not when
    # the block ran between 22:00 and 23:00 in London.
    shell["OCX_NOW"] = BLOCK_NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    return shell


def test_every_line_runs_in_order(shell_env: dict[str, str], env: Path, smtp_server) -> None:
    for number, line in enumerate(what_it_does(), start=1):
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", line], cwd=ROOT, env=shell_env,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        said = f"line {number}: {line}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == 0, said
        assert "Traceback" not in done.stderr, said
        assert not done.stderr.startswith("Error:"), said

    # The block left the state it describes: Margo and Jim in INC-1, each with a concierge,
    # and the Zendesk import in.
    def ocx(*args: str) -> object:
        out = subprocess.run(
            ["ocx", *args, "--json"], cwd=ROOT, env=shell_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(out.stdout)

    cases = ocx("incident", "cases", "INC-1")
    assert sorted(c["customer_email"] for c in cases) == ["jim@example.com", "margo@example.com"]
    assert {c["concierge"] for c in cases} == {"alex", "kim"}
    emails = {c["email"] for c in ocx("customer", "list", "--limit", "1000")}
    assert {"ben@example.com", "judy@example.com"} < emails and len(emails) > 5  # + the import
    assert smtp_server.messages == []  # nothing was due yet: the update waits out quiet hours

    # Eight hours on, cron's run delivers through the local server: Margo's update (the fast
    # pace's text) and the reminder of the promise made to her, to its owner alex.
    later = BLOCK_NOW + timedelta(hours=8)
    cron = {**shell_env, "OCX_NOW": later.strftime("%Y-%m-%dT%H:%M:%SZ")}
    subprocess.run(
        ["ocx", "due", "--notify"], cwd=ROOT, env=cron, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert ocx("outbox", "list", "--failed") == []
    to = {tuple(m.rcpt_tos): m.message for m in smtp_server.messages}
    assert "Margo: HDFC bank sync is down" in to[("margo@example.com",)].get_content()
    assert ("alex@acme.example",) in to
