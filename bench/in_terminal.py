"""Run a command with its stdout and stderr on a pseudo-terminal, as a person at a terminal
would see it, and copy what it wrote to this process's stdout; exit with its status.

    python bench/in_terminal.py [--columns N] -- COMMAND [ARG ...]

The terminal is N columns wide (80 unless given) and 24 lines high; stdin is empty. Used
by bench_due to time `ocx due` drawing its table in a terminal (ocx prints plain rows to
a pipe). The terminal turns each newline into CR LF.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios


def main(argv: list[str]) -> int:
    columns = 80
    if argv[:1] == ["--columns"]:
        columns, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: in_terminal.py [--columns N] -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 1 << 16)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    status = child.wait()
    sys.stdout.buffer.write(b"".join(chunks))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
