"""A real Dovecot IMAP server on 127.0.0.1 for the tests: STARTTLS on one port, IMAPS on
another, a self-signed certificate made with the openssl command, one user from a
passwd-file, Maildir under a temp folder, and a raw log of every IMAP session (what the
client sent and what it was sent), so a test can tell which messages were downloaded."""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "support"
PASSWORD = "s3cret-Pa55-word"


@dataclass
class Server:
    root: Path
    starttls_port: int
    imaps_port: int
    ca_file: Path

    @property
    def rawlog(self) -> Path:
        return self.root / "rawlog"

    def sessions(self) -> set[Path]:
        """The raw logs of the IMAP sessions so far (one `.in` file each: what clients sent)."""
        return set(self.rawlog.glob("*.in"))

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context, timeout=10)
        imap.login(USER, PASSWORD)
        return imap

    def mailbox(self, name: str, messages: list[bytes]) -> None:
        """Make mailbox NAME holding MESSAGES (appended in order, unread)."""
        imap = self.client()
        try:
            status, answer = imap.create(name)
            assert status == "OK", answer
            for data in messages:
                status, answer = imap.append(name, None, None, data)
                assert status == "OK", answer
        finally:
            imap.logout()

    def flags(self, name: str) -> list[bytes]:
        """The flags of every message of mailbox NAME, read without changing them."""
        imap = self.client()
        try:
            status, _ = imap.select(name, readonly=True)
            assert status == "OK"
            status, data = imap.fetch("1:*", "(FLAGS)")
            assert status == "OK"
            return [d for d in data if d]
        finally:
            imap.logout()

    def count(self, name: str) -> int:
        imap = self.client()
        try:
            status, data = imap.select(name, readonly=True)
            assert status == "OK"
            return int(data[0])
        finally:
            imap.logout()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, starttls_port: int, imaps_port: int) -> str:
    if os.geteuid() == 0:  # as root Dovecot drops to its own users, and mail to nobody's
        login_user, internal_user = "dovenull", "dovecot"
        mail = pwd.getpwnam("nobody")
    else:  # as anyone else, every process runs as that user
        login_user = internal_user = pwd.getpwuid(os.getuid()).pw_name
        mail = pwd.getpwuid(os.getuid())
    for folder in ("mail", "rawlog"):
        (root / folder).mkdir()
        os.chown(root / folder, mail.pw_uid, mail.pw_gid)
    (root / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{mail.pw_uid}:{mail.pw_gid}::{root / 'mail' / USER}\n"
    )
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {min(mail.pw_uid, 1)}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
mail_location = maildir:~/Maildir
protocol imap {{
  rawlog_dir = {root}/rawlog
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _certificate(root: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is needed to make the test server's certificate"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


@contextlib.contextmanager
def running() -> Iterator[Server]:
    """Dovecot in the foreground until the block ends; fails (never skips) without it."""
    if not Path(DOVECOT).is_file():
        raise AssertionError(
            "Dovecot is not installed: the ocx-imap tests need a real IMAP server "
            "(apt-get install dovecot-imapd; .ci/run does this)"
        )
    root = Path(tempfile.mkdtemp(prefix="ocx-imap-"))  # short: Dovecot's sockets live here
    os.chmod(root, 0o755)  # Dovecot's own users read the certificate and the passwd-file
    process = None
    try:
        _certificate(root)
        starttls_port, imaps_port = _free_port(), _free_port()
        (root / "dovecot.conf").write_text(_config(root, starttls_port, imaps_port))
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                log = root / "dovecot.log"
                output += log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"Dovecot did not start:\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", imaps_port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("Dovecot did not listen within 20 s") from None
                time.sleep(0.1)
        yield Server(root, starttls_port, imaps_port, root / "cert.pem")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)
