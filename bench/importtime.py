"""Which imports an ocx command pays for: `python -X importtime`, summed up.

    .venv/bin/python bench/importtime.py                          # ocx --help
    .venv/bin/python bench/importtime.py customer show 1 --json   # any ocx command line
    .venv/bin/python bench/importtime.py --top 30 customer show 1

Runs the command in a throw-away OCX_HOME holding the demo database (`ocx init --sample`,
so customer 1 exists) with a warm plugin-command cache, as bench/run.py does, then prints
the modules with the largest cumulative import time (a module's own time plus everything
it imported first) and the largest self times. Numbers are from one run: expect noise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import BenchError, clean_env, ocx_executable

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(stderr: str) -> list[tuple[str, int, int, int]]:
    """(module, self us, cumulative us, depth) for every import line."""
    out = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            own, total, indent, name = match.groups()
            out.append((name, int(own), int(total), (len(indent) - 1) // 2))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/importtime.py", description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=20, help="rows per table (default 20)")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="the ocx command line (default: --help)"
    )
    options = parser.parse_args(argv)
    try:
        ocx = str(ocx_executable())
    except BenchError as exc:
        print(f"importtime: error: {exc}", file=sys.stderr)
        return 2
    command = options.args or ["--help"]
    with tempfile.TemporaryDirectory(prefix="ocx-importtime-") as tmp:
        env = clean_env(Path(tmp))
        for setup in (["init", "--sample"], ["--help"]):
            subprocess.run([ocx, *setup], env=env, capture_output=True, check=True)
        argv_ = [sys.executable, "-X", "importtime", ocx, *command]
        subprocess.run(argv_, env=env, capture_output=True, check=False)  # .pyc files written
        done = subprocess.run(argv_, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
        print(f"importtime: ocx {' '.join(command)} exited {done.returncode}: {tail[-3:]}")
        return 1
    rows = parse(done.stderr)
    total = sum(own for _, own, _, _ in rows)
    print(f"ocx {' '.join(command)}: {len(rows)} modules imported, {total / 1000:.1f} ms in all")
    print(f"\ntop {options.top} by cumulative time (ms, includes what each imported)")
    for name, _own, cumulative, depth in sorted(rows, key=lambda r: -r[2])[: options.top]:
        print(f"{cumulative / 1000:8.1f}  {'  ' * min(depth, 6)}{name}")
    print(f"\ntop {options.top} by self time (ms)")
    for name, own, _, _ in sorted(rows, key=lambda r: -r[1])[: options.top]:
        print(f"{own / 1000:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
