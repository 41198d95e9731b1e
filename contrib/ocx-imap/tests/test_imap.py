"""`ocx inbox ingest imap:NAME` against a real Dovecot on 127.0.0.1 (tests/dovecot.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dovecot
import pytest

MARGO = "margo@example.com"


def mail(sender: str, subject: str, body: str, message_id: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 10:00:00 +0000"
    if message_id:
        message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)


@pytest.fixture
def mailbox(request: pytest.FixtureRequest) -> str:
    """A mailbox name of this test's own on the session's server."""
    return "t-" + request.node.name.removeprefix("test_")[:40]


@pytest.fixture
def margo(ocx: Any) -> None:
    assert ocx("customer", "add", MARGO, "--name", "Margo Lane").exit_code == 0


def sent_by_client(server: dovecot.Server, before: set[Path]) -> str:
    """What clients sent in the IMAP sessions begun since BEFORE, once each has logged out."""
    deadline = time.monotonic() + 5
    while True:
        texts = [p.read_text(errors="replace") for p in sorted(server.sessions() - before)]
        if (texts and all("LOGOUT" in t for t in texts)) or time.monotonic() > deadline:
            return "\n".join(texts)
        time.sleep(0.05)


def sent_by_server(server: dovecot.Server, before: set[Path]) -> str:
    sent_by_client(server, before)  # waits for the sessions to end
    return "\n".join(
        p.with_suffix(".out").read_text(errors="replace")
        for p in sorted(server.sessions() - before)
    )


def test_imaps_files_mail_under_customers_and_leaves_the_mailbox_as_it_was(
    server: dovecot.Server, account: Any, mailbox: str, margo: None, ocx: Any, summary: Any,
    rows: Any,
) -> None:  # fmt: skip
    server.mailbox(mailbox, [
        mail(MARGO, "Still broken", "The export fails again.", "r1@example.com"),
        mail("Margo Lane <MARGO@Example.com>", "Also", "And the login.", "r2@example.com"),
        mail("stranger@example.net", "Hello", "Who are you?", "r3@example.net"),
    ])  # fmt: skip
    source = account(mailbox)
    flags = server.flags(mailbox)

    assert summary(ocx("inbox", "ingest", source, "--json")) == {
        "ingested": 2, "duplicates": 0, "unmatched": 1,
    }  # fmt: skip
    taken = rows("SELECT message_id, source, customer_id, subject, body FROM inbox ORDER BY id")
    assert [(r["message_id"], r["source"], r["subject"]) for r in taken] == [
        ("r1@example.com", "imap", "Still broken"),
        ("r2@example.com", "imap", "Also"),
        ("r3@example.net", "imap", "Hello"),
    ]
    assert taken[0]["body"] == "The export fails again."
    assert taken[0]["customer_id"] is not None and taken[2]["customer_id"] is None
    shown = ocx("customer", "show", MARGO)
    assert "The export fails again." in shown.stdout
    # read-only: nothing flagged \Seen, moved or deleted
    assert server.flags(mailbox) == flags
    assert all(b"\\Seen" not in f for f in flags)
    assert server.count(mailbox) == 3


def test_starttls_reads_the_mailbox_too(
    server: dovecot.Server, account: Any, mailbox: str, margo: None, ocx: Any, summary: Any
) -> None:
    server.mailbox(mailbox, [mail(MARGO, "Over STARTTLS", "Hi.", "s1@example.com")])
    source = account(mailbox, tls="starttls", port=server.starttls_port)
    before = server.sessions()
    assert summary(ocx("inbox", "ingest", source, "--json"))["ingested"] == 1
    assert "BODY.PEEK[]" in sent_by_client(server, before)


def test_a_second_run_takes_only_new_mail_and_downloads_no_known_body(
    server: dovecot.Server, account: Any, mailbox: str, margo: None, ocx: Any, summary: Any
) -> None:
    server.mailbox(mailbox, [
        mail(MARGO, "First", "first body text", "k1@example.com"),
        mail(MARGO, "Second", "second body text", "k2@example.com"),
    ])  # fmt: skip
    source = account(mailbox)
    first = summary(ocx("inbox", "ingest", source, "--json"))
    assert first == {"ingested": 2, "duplicates": 0, "unmatched": 0}

    imap = server.client()
    imap.append(mailbox, None, None, mail(MARGO, "Third", "third body text", "k3@example.com"))
    imap.logout()
    before = server.sessions()
    second = summary(ocx("inbox", "ingest", source, "--json"))
    assert second == {"ingested": 1, "duplicates": 0, "unmatched": 0}
    asked = sent_by_client(server, before)
    assert "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" in asked
    assert asked.count("BODY.PEEK[]") == 1 and "UID FETCH 3 (BODY.PEEK[])" in asked
    answered = sent_by_server(server, before)
    assert "third body text" in answered
    assert "first body text" not in answered and "second body text" not in answered

    before = server.sessions()
    result = ocx("inbox", "ingest", source)
    assert result.exit_code == 0 and result.stdout == ""  # quiet for cron
    assert "BODY.PEEK[]" not in sent_by_client(server, before)


def test_mail_without_message_id_is_fetched_again_and_taken_once(
    server: dovecot.Server, account: Any, mailbox: str, margo: None, ocx: Any, summary: Any
) -> None:
    server.mailbox(mailbox, [mail(MARGO, "No id", "hashed", None)])
    source = account(mailbox)
    assert summary(ocx("inbox", "ingest", source, "--json"))["ingested"] == 1
    # ocx keys it by a hash of the whole message, so only the whole message tells it apart
    assert summary(ocx("inbox", "ingest", source, "--json")) == {
        "ingested": 0, "duplicates": 1, "unmatched": 0,
    }  # fmt: skip


def test_an_oversized_message_is_named_skipped_and_not_downloaded(
    server: dovecot.Server, account: Any, mailbox: str, margo: None, ocx: Any
) -> None:
    big = mail(MARGO, "Logs attached", "x" * 3000, "big@example.com")
    server.mailbox(mailbox, [
        mail(MARGO, "Small", "small", "a@example.com"), big,
        mail(MARGO, "Small too", "small", "b@example.com"),
    ])  # fmt: skip
    source = account(mailbox)
    before = server.sessions()
    result = ocx("inbox", "ingest", source, "--json", "--max-bytes", "2000")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ingested": 2, "duplicates": 0, "unmatched": 0}
    assert result.stderr.strip() == (
        f"imap:support: message UID 2: {len(big):,} bytes, more than the limit of 2,000; skipped"
    )
    asked = sent_by_client(server, before)
    assert "UID FETCH 1,3 (BODY.PEEK[])" in asked
    assert "UID FETCH 2 " not in asked and ",2," not in asked


def test_a_mailbox_name_with_spaces_and_umlauts(
    server: dovecot.Server, account: Any, margo: None, ocx: Any, summary: Any
) -> None:
    imap = server.client()
    assert imap.create('"Kunden &ANw-berweisung"')[0] == "OK"  # "Kunden Überweisung"
    message = mail(MARGO, "Umlaut box", "hi", "u1@example.com")
    assert imap.append('"Kunden &ANw-berweisung"', None, None, message)[0] == "OK"
    imap.logout()
    source = account("Kunden Überweisung")
    assert summary(ocx("inbox", "ingest", source, "--json"))["ingested"] == 1


# --- what goes wrong: one line, exit 1 -----------------------------------------------------


def test_a_password_variable_that_is_not_set_is_named(
    account: Any, mailbox: str, ocx: Any, error: Any, monkeypatch: pytest.MonkeyPatch,
    password_env: str,
) -> None:  # fmt: skip
    source = account(mailbox)
    monkeypatch.delenv(password_env)
    assert error(ocx("inbox", "ingest", source)) == (
        f"Error: [imap.support]: environment variable {password_env} "
        "(named by password_env) is not set"
    )


def test_an_unreachable_server_is_one_line(
    account: Any, mailbox: str, ocx: Any, error: Any
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = account(mailbox, port=port)
    assert error(ocx("inbox", "ingest", source)) == (
        f"Error: cannot reach IMAP server 127.0.0.1:{port}: Connection refused"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        listener.close()


@pytest.mark.parametrize("tls", ["imaps", "starttls"])
def test_a_server_that_does_not_answer_is_given_up_after_the_timeout(
    tls: str, account: Any, mailbox: str, ocx: Any, error: Any, silent_port: int
) -> None:
    source = account(mailbox, port=silent_port, tls=tls, timeout=1)
    started = time.monotonic()
    line = error(ocx("inbox", "ingest", source))
    assert time.monotonic() - started < 5
    expected = f"IMAP server 127.0.0.1:{silent_port} did not answer within 1 s (connecting)"
    assert line == f"Error: {expected}"


def test_an_unknown_mailbox_is_one_line(
    server: dovecot.Server, account: Any, ocx: Any, error: Any
) -> None:
    source = account("No such box")
    line = error(ocx("inbox", "ingest", source))
    assert line.startswith(
        f"Error: IMAP server 127.0.0.1:{server.imaps_port} cannot open mailbox "
        "'No such box' of support: "
    ), line
    assert "exist" in line


def test_a_certificate_nobody_vouches_for_is_refused(
    server: dovecot.Server, account: Any, mailbox: str, ocx: Any, error: Any
) -> None:
    source = account(mailbox, ca_file=None)
    line = error(ocx("inbox", "ingest", source))
    assert line.startswith(f"Error: TLS with IMAP server 127.0.0.1:{server.imaps_port} failed:")
    assert "self-signed certificate" in line and "ca_file" in line


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"tls": "none"}, 'tls must be "imaps" or "starttls" (ocx never logs in without TLS)'),
        ({"host": None}, "host is not set"),
        ({"username": None}, "username is not set"),
        (
            {"password_env": None},
            "password_env is not set (the name of the environment "
            "variable that holds the password)",
        ),
        ({"port": 0}, "port must be a number from 1 to 65535"),
        ({"timeout": 0}, "timeout must be a positive number of seconds"),
        (
            {"ca_file": "/nonexistent/ca.pem"},
            "cannot read ca_file /nonexistent/ca.pem: No such file or directory",
        ),
    ],
)
def test_a_table_that_cannot_work_is_refused_before_connecting(
    keys: dict[str, Any], expected: str, account: Any, mailbox: str, ocx: Any, error: Any
) -> None:
    source = account(mailbox, **keys)
    assert error(ocx("inbox", "ingest", source)) == f"Error: [imap.support]: {expected}"


@pytest.mark.parametrize("source", ["imaps://support@127.0.0.1/INBOX", "imap:nobody", "imap:"])
def test_a_source_naming_no_table_is_refused(
    source: str, account: Any, mailbox: str, ocx: Any, error: Any
) -> None:
    account(mailbox)
    line = error(ocx("inbox", "ingest", source))
    if source == "imap:nobody":
        assert line == "Error: imap:nobody: ocx.toml has no [imap.nobody] table"
    else:
        assert "give imap:NAME, naming an [imap.NAME] table in ocx.toml" in line


def test_the_source_is_listed_by_ocx_plugins(ocx: Any) -> None:
    listed = json.loads(ocx("plugins", "--json").stdout)
    imap = next(p for p in listed if p["name"] == "imap")
    assert imap["status"] == "ok" and "ocx_register_inbox_sources" in imap["hooks"]


# Last: after a failed login Dovecot delays the next logins from the same address (its
# auth penalty, a few seconds), which would slow every test after this one.
def test_a_wrong_password_is_one_line_without_the_password(
    server: dovecot.Server, account: Any, mailbox: str, ocx: Any, error: Any,
    monkeypatch: pytest.MonkeyPatch, password_env: str,
) -> None:  # fmt: skip
    server.mailbox(mailbox, [])
    source = account(mailbox)
    monkeypatch.setenv(password_env, "wrong-Pa55-horse")
    result = ocx("inbox", "ingest", source)
    line = error(result)
    assert line.startswith(
        f"Error: IMAP server 127.0.0.1:{server.imaps_port} refused the login of support"
    ), line
    assert "wrong-Pa55-horse" not in result.output and dovecot.PASSWORD not in result.output
