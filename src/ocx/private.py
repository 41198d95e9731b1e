"""Folders (0700) and files (0600) readable by their owner only, whatever the umask: the
database holds customers' details and ocx.toml names where the secrets live."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_dirs(path: Path) -> None:
    """Create `path` and every missing folder above it, each 0700. A folder that already
    exists keeps its mode: it is not ocx's to change."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # another process made it first
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask (0222 drops w)


def create_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True when this call made it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    os.chmod(path, FILE_MODE)  # O_CREAT's mode passes through the umask too
    return True


def write_file(path: Path, data: bytes) -> None:
    """Replace `path` atomically (a temporary file beside it, then rename) with mode 0600;
    its folder is made 0700 if missing."""
    make_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, FILE_MODE)  # a leftover temporary file would keep its own mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
