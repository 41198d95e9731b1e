"""A real PostgreSQL server for a test session: initdb + pg_ctl on a Unix socket in a
temporary folder, no TCP port, stopped when the session ends.

`OCX_TEST_DATABASE=postgresql` switches the suite (ocx's own and a plugin's, through
ocx.testing's `db` fixture) to PostgreSQL: every test gets a new empty database owned by a
role that is not a superuser, as a team's database would be. The server's binaries come from
`pg_config --bindir`, Debian's /usr/lib/postgresql/N/bin, or PATH. Run as root (CI), the
server runs as the `postgres` account, which PostgreSQL requires.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SWITCH = "OCX_TEST_DATABASE"
ROLE = "ocx_test"


def wanted() -> bool:
    """Whether this test session runs against PostgreSQL."""
    return os.environ.get(SWITCH, "").strip().lower() in ("postgresql", "postgres", "pg")


def _bindir() -> Path:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0 and (Path(found.stdout.strip()) / "initdb").exists():
            return Path(found.stdout.strip())
    except OSError:
        pass
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)  # fmt: skip
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        f"{SWITCH}=postgresql needs PostgreSQL's server binaries (initdb, pg_ctl); "
        "install them, e.g. apt-get install -y postgresql"
    )


class Server:
    """One PostgreSQL server on a Unix socket; databases are made and dropped per test."""

    def __init__(self) -> None:
        self.bindir = _bindir()
        # A short path: a Unix socket's path may not be longer than about 100 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="ocxpg-"))
        self.data = self.folder / "data"
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        if self._as_root:
            shutil.chown(self.folder, "postgres")
        os.chmod(self.folder, 0o755)
        locale = "C.UTF-8"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", f"--locale={locale}")  # fmt: skip
        options = (
            f"-k {self.folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "start")  # fmt: skip
        self.admin = self._connect("postgres", "postgres")
        self.admin.execute(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")

    def _connect(self, database: str, user: str) -> Any:
        import psycopg

        return psycopg.connect(self.url(database, user), autocommit=True)

    def url(self, database: str, user: str = ROLE) -> str:
        return f"postgresql://{user}@/{database}?host={self.folder}"

    def create_database(self, copy_of: str | None = None) -> str:
        """A new empty database owned by the test role (not a superuser); its URL. Its
        default collation is ICU's en-US (which sorts `B` after `b` and ignores `_`), so the
        suite shows that ocx's ordering does not depend on the database's collation.
        `copy_of` (the URL of a database of this server nobody is connected to): a copy of
        it instead, as a file would be copied."""
        name = f"ocx_t{os.getpid()}_{next(self._names)}"
        if copy_of is not None:
            self.admin.execute(
                f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE {_name(copy_of)} STRATEGY FILE_COPY"
            )
            return self.url(name)
        self.admin.execute(
            f"CREATE DATABASE {name} OWNER {ROLE} TEMPLATE template0 STRATEGY FILE_COPY "
            f"{self._collation}"
        )
        return self.url(name)

    @property
    def _collation(self) -> str:
        if not hasattr(self, "_icu"):
            row = self.admin.execute(
                "SELECT count(*) FROM pg_collation WHERE collprovider = 'i'"
            ).fetchone()
            self._icu = bool(row and row[0]) and self.admin.info.server_version >= 150000
        return "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'" if self._icu else ""

    def drop_database(self, url: str) -> None:
        self.admin.execute(f"DROP DATABASE IF EXISTS {_name(url)} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self.admin.close()
        finally:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)


def _name(url: str) -> str:
    """The database a URL names."""
    from urllib.parse import urlsplit

    return urlsplit(url).path.lstrip("/")


_server: Server | None = None


def server() -> Server:
    """The session's server, started on first use and stopped when the process exits."""
    global _server
    if _server is None:
        import atexit

        _server = Server()
        atexit.register(_server.stop)
    return _server
