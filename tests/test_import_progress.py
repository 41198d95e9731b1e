"""`ocx import` shows its progress on a terminal: real imports in real processes, stderr a pty.

A CSV export is generated here (plain Python, never ocx) and imported by `python -m ocx`
with stderr on a pseudo-terminal and stdout in a file. OCX_IMPORT_PROGRESS_SECONDS (read by
ocx.cli.import_, for tests only) lets the progress show at once instead of after a second,
so a small export is enough to see it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.filesize import decimal

from ocx import importing, testing
from ocx.importkit import BytesRead, counting, json_items, load_json

# Importing from csv ━━━━╺━━━ 41% 1,000 records, 62.3 kB of 152.6 kB, 0:00:01 left
FRAME = re.compile(
    r"Importing from csv .*?(\d+)% ([\d,]+) records, ([\d.]+ \w+) of ([\d.]+ \w+), "
    r"(\d+:\d\d:\d\d|-:--:--) left"
)
ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def write_csv_export(folder: Path, tickets: int) -> tuple[int, int]:
    """customers.csv and tickets.csv; returns (records the csv importer yields, bytes)."""
    folder.mkdir(parents=True)
    people = max(1, tickets // 5)
    with (folder / "customers.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("email,name,company,phone,time_zone,tags,notes\n")
        for k in range(people):
            out.write(f"person{k}@example.com,Person {k},Firm {k % 40},,,progress,\n")
    with (folder / "tickets.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("external_id,customer_email,subject,status,created_at,body\n")
        for n in range(tickets):
            out.write(
                f"T{n},person{n % people}@example.com,Order {n} arrived damaged,open,"
                f'2025-03-01T10:00:00Z,"The parcel was crushed, box {n} of {tickets}."\n'
            )
    size = sum(f.stat().st_size for f in folder.iterdir())
    return people + 2 * tickets, size  # a ticket row is a conversation and its message


def import_on_terminal(
    db: Path | str, folder: Path, *args: str, progress_after: str | None = "0"
) -> tuple[str, str, int]:
    """`ocx import csv FOLDER` with stderr on a pseudo-terminal: (stderr as the terminal
    received it, stdout, exit code)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "200"}
    if progress_after is None:
        env.pop("OCX_IMPORT_PROGRESS_SECONDS", None)
    else:
        env["OCX_IMPORT_PROGRESS_SECONDS"] = progress_after
    stdout_file = folder.parent / "stdout.txt"
    with stdout_file.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "ocx", "--db", str(db), "import", "csv", str(folder), *args],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=follower, env=env,
        )  # fmt: skip
    os.close(follower)
    received = testing.read_terminal(leader, process)
    code = process.wait(timeout=60)
    return received.decode("utf-8", "replace"), stdout_file.read_text(), code


def frames(stderr: str) -> list[tuple[int, int, str, str, str]]:
    """Each progress line drawn: (percent, records, bytes read, total, time left)."""
    lines = re.split(r"[\r\n]", ESCAPE.sub("", stderr))
    found = [FRAME.search(line) for line in lines]
    return [
        (int(m[1]), int(m[2].replace(",", "")), m[3], m[4], m[5]) for m in found if m is not None
    ]


def test_import_on_a_terminal_shows_records_bytes_percentage_and_time_left(
    initialized: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    records, size = write_csv_export(folder, 8000)
    stderr, stdout, code = import_on_terminal(initialized, folder)
    assert code == 0, stderr
    shown = frames(stderr)
    assert shown, stderr
    assert all(total == decimal(size) for *_, total, _ in shown)
    assert any(left != "-:--:--" for *_, left in shown), shown
    percents = [percent for percent, *_ in shown]
    counts = [count for _, count, *_ in shown]
    assert percents == sorted(percents) and percents[-1] <= 100
    assert counts == sorted(counts) and 0 < counts[-1] <= records
    assert "Import from csv" in stdout  # the summary, on stdout as always


def test_a_short_import_shows_no_progress(initialized: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_csv_export(folder, 20)
    stderr, stdout, code = import_on_terminal(initialized, folder, progress_after=None)
    assert code == 0, stderr
    assert stderr == ""
    assert "Import from csv" in stdout


def test_with_json_a_terminal_shows_no_progress(initialized: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    records, _ = write_csv_export(folder, 3000)
    stderr, stdout, code = import_on_terminal(initialized, folder, "--json")
    assert code == 0, stderr
    assert stderr == ""
    assert sum(json.loads(stdout)["created"].values()) == records


def test_to_a_pipe_no_progress_is_shown(initialized: Path, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_csv_export(folder, 3000)
    env = {**os.environ, "OCX_IMPORT_PROGRESS_SECONDS": "0", "TERM": "xterm"}
    done = subprocess.run(
        [sys.executable, "-m", "ocx", "--db", str(initialized), "import", "csv", str(folder)],
        stdin=subprocess.DEVNULL, capture_output=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert b"Import from csv" in done.stdout


# --- what counts as read ---------------------------------------------------------------------


def _page(path: Path, tickets: int, users: int) -> tuple[int, int]:
    """A Zendesk page, tickets first and users after them (as Zendesk writes it); returns
    where the users array starts and the file's size."""
    ticket_list = [{"id": n, "subject": f"Order {n} " + "x" * 200} for n in range(tickets)]
    head = '{"tickets": ' + json.dumps(ticket_list) + ', "users": '
    user_list = [
        {"id": 10_000 + k, "name": f"Person {k}", "role": "end-user"} for k in range(users)
    ]
    path.write_text(head + json.dumps(user_list) + ', "end_of_stream": true}')
    return len(head.encode()), path.stat().st_size


def test_a_file_read_twice_counts_once_and_as_its_records_come(tmp_path: Path) -> None:
    page = tmp_path / "tickets.json"
    users_at, size = _page(page, tickets=4000, users=500)  # about 1 MB of tickets, then users
    count = BytesRead([tmp_path])
    with counting(count):
        users: Any = json_items(page, "users.item")
        assert sum(1 for _ in users) == 500
        # The tickets were passed over to reach the users: they do not count yet.
        assert count.read() <= size - users_at + 64 * 1024
        tickets = json_items(page, "tickets.item")
        next(tickets)
        first = count.read()
        assert sum(1 for _ in tickets) == 3999
    assert first < size - 256 * 1024  # the tickets count as they come, not all at once
    assert size - 64 * 1024 <= count.read() <= size  # the users are not counted again


def test_files_read_beside_the_paths_add_to_the_total(tmp_path: Path) -> None:
    page = tmp_path / "export" / "tickets.json"
    page.parent.mkdir()
    _, size = _page(page, tickets=10, users=2)
    beside = tmp_path / "export" / "comments" / "1.json"
    beside.parent.mkdir()
    beside.write_text('{"comments": []}')
    with importing.reading([page]) as export:
        assert export.total() == size
        load_json(beside)
    assert export.total() == size + beside.stat().st_size
    assert export.read() == beside.stat().st_size  # nothing of the page was read
