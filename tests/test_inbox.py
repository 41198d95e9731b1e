"""`ocx inbox`: mail from Maildir, mbox, .eml and stdin, each message once, filed under the
customer who sent it; unmatched mail waits for `ocx inbox assign`."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocx import inbox
from ocx.plugin_types import InboxReading, InboxSource, RawMessage
from ocx.store import open_store
from ocx.testing import execute, query

MARGO = "margo@example.com"
NOW = {"OCX_NOW": "2026-03-02T10:00:00Z"}


def mail(
    number: int,
    sender: str = f"Margo Lane <{MARGO}>",
    subject: str = "Still failing",
    body: str = "The export fails again.",
    *,
    message_id: bool = True,
    html: bool = False,
    reply_to: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@ocx.example"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 09:15:00 +0100"
    if message_id:
        message["Message-ID"] = f"<msg-{number}@mail.example.com>"
    if reply_to:
        message["In-Reply-To"] = f"<{reply_to}>"
        message["References"] = f"<root@ocx.example> <{reply_to}>"
    message.set_content(body, subtype="html" if html else "plain")
    return message


def maildir(folder: Path, *messages: EmailMessage) -> Path:
    box = mailbox.Maildir(folder, create=True)
    for message in messages:
        box.add(message)
    return folder


def mbox(path: Path, *messages: EmailMessage) -> Path:
    box = mailbox.mbox(path)
    for message in messages:
        box.add(message)
    box.flush()
    box.close()
    return path


def eml(path: Path, message: EmailMessage) -> Path:
    path.write_bytes(bytes(message))
    return path


@pytest.fixture
def ocx(run: Any, initialized: Path) -> Any:
    """run() with a customer, Margo, in the database."""
    result = run("customer", "add", MARGO, "--name", "Margo Lane")
    assert result.exit_code == 0, result.output
    return run


def ingest(run: Any, *sources: Any, input: str | None = None) -> tuple[int, dict[str, int], str]:
    result = run("inbox", "ingest", *map(str, sources), "--json", input=input, env=NOW)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def inbound(db: Path | str, email: str = MARGO) -> list[dict[str, Any]]:
    return query(
        db,
        "SELECT t.text, t.channel, t.direction, t.author, t.at FROM timeline t "
        "JOIN customers c ON c.id = t.customer_id WHERE c.email = ? AND t.kind = 'contact' "
        "ORDER BY t.id",
        (email,),
    )


# --- each kind of mailbox --------------------------------------------------------------------


def test_maildir_mbox_and_eml_land_in_the_customers_timeline(
    ocx: Any, initialized: Path, tmp_path: Path, load_json: Any
) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1), mail(2, subject="And the PDF"))
    box = mbox(tmp_path / "support.mbox", mail(3, subject="From mbox"))
    single = eml(tmp_path / "one.eml", mail(4, subject="From a file"))
    code, counts, stderr = ingest(ocx, folder, box, single)
    assert (code, counts, stderr) == (0, {"ingested": 4, "duplicates": 0, "unmatched": 0}, "")
    entries = inbound(initialized)
    assert {e["text"].split("\n")[0] for e in entries} == {
        "Still failing", "And the PDF", "From mbox", "From a file"
    }  # fmt: skip
    assert {(e["channel"], e["direction"], e["author"]) for e in entries} == {
        ("email", "inbound", "Margo Lane")
    }
    assert entries[0]["text"] == "Still failing\n\nThe export fails again."
    assert entries[0]["at"].startswith("2026-03-02T08:15:00")  # the Date header, in UTC
    shown = load_json(ocx("customer", "show", MARGO, "--json"))
    assert any(
        e["kind"] == "contact" and e["channel"] == "email" and "From mbox" in e["text"]
        for e in shown["timeline"]
    )
    found = ocx("customer", "search", "export fails").stdout
    assert MARGO in found and "[export] [fails]" in found  # searchable, as any contact


def test_maildir_reads_new_and_cur(ocx: Any, initialized: Path, tmp_path: Path) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1))
    box = mailbox.Maildir(folder)
    key = box.add(mail(2))
    message = box.get_message(key)
    message.set_subdir("cur")
    message.add_flag("S")
    box[key] = message
    assert list((folder / "cur").iterdir()) and list((folder / "new").iterdir())
    assert ingest(ocx, folder)[:2] == (0, {"ingested": 2, "duplicates": 0, "unmatched": 0})


def test_one_message_on_stdin(ocx: Any, initialized: Path) -> None:
    text = bytes(mail(1, subject="Piped in")).decode()
    assert ingest(ocx, "-", input=text)[:2] == (
        0, {"ingested": 1, "duplicates": 0, "unmatched": 0}
    )  # fmt: skip
    assert inbound(initialized)[0]["text"].startswith("Piped in")
    assert ingest(ocx, "-", input=text)[1] == {"ingested": 0, "duplicates": 1, "unmatched": 0}


def test_html_only_mail_is_turned_to_text(ocx: Any, initialized: Path, tmp_path: Path) -> None:
    html = "<html><body><p>Hello <b>team</b>,</p><p>it works&nbsp;now.</p></body></html>"
    ingest(ocx, eml(tmp_path / "h.eml", mail(1, subject="Fixed", body=html, html=True)))
    (entry,) = inbound(initialized)
    assert "<" not in entry["text"] and "Hello team," in entry["text"]
    assert "it works\xa0now." in entry["text"] or "it works now." in entry["text"]


# --- exactly once ------------------------------------------------------------------------------


def test_reading_the_same_mailboxes_again_takes_nothing_twice(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1), mail(2))
    box = mbox(tmp_path / "copy.mbox", mail(2), mail(3))  # msg-2 is in both
    assert ingest(ocx, folder, box)[1] == {"ingested": 3, "duplicates": 1, "unmatched": 0}
    assert ingest(ocx, folder, box)[1] == {"ingested": 0, "duplicates": 4, "unmatched": 0}
    maildir(folder, mail(4))  # new mail arrives
    assert ingest(ocx, folder, box)[1] == {"ingested": 1, "duplicates": 4, "unmatched": 0}
    assert len(inbound(initialized)) == 4
    assert [r["n"] for r in query(initialized, "SELECT count(*) AS n FROM inbox")] == [4]


def test_message_ids_with_and_without_brackets_are_one_message(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    first = mail(1)
    second = mail(1, subject="Same id, other copy")
    del second["Message-ID"]
    second["Message-ID"] = "  msg-1@mail.example.com "
    counts = ingest(ocx, eml(tmp_path / "a.eml", first), eml(tmp_path / "b.eml", second))[1]
    assert counts == {"ingested": 1, "duplicates": 1, "unmatched": 0}
    assert query(initialized, "SELECT message_id FROM inbox") == [
        {"message_id": "msg-1@mail.example.com"}
    ]


def test_mail_without_message_id_is_taken_once_by_its_hash(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    plain = mail(1, message_id=False)
    folder = maildir(tmp_path / "Maildir", plain)
    box = mbox(tmp_path / "copy.mbox", plain)  # the same message, stored by mbox
    assert ingest(ocx, folder, box)[1] == {"ingested": 1, "duplicates": 1, "unmatched": 0}
    assert ingest(ocx, folder)[1] == {"ingested": 0, "duplicates": 1, "unmatched": 0}
    (row,) = query(initialized, "SELECT message_id FROM inbox")
    assert row["message_id"].startswith("sha256:") and len(row["message_id"]) == 71
    other = mail(1, message_id=False, body="A different body")
    assert ingest(ocx, maildir(folder, other))[1]["ingested"] == 1


# --- matching the sender -----------------------------------------------------------------------


def test_sender_matches_in_any_letter_case_and_by_a_merged_away_address(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    assert ocx("customer", "add", "m.lane@old.example.com").exit_code == 0
    assert ocx("customer", "merge", MARGO, "m.lane@old.example.com").exit_code == 0
    folder = maildir(
        tmp_path / "Maildir",
        mail(1, sender="MARGO LANE <Margo@EXAMPLE.com>"),
        mail(2, sender="M.Lane@Old.Example.com"),
    )
    assert ingest(ocx, folder)[1] == {"ingested": 2, "duplicates": 0, "unmatched": 0}
    assert len(inbound(initialized)) == 2


def test_merging_customers_moves_their_mail(ocx: Any, initialized: Path, tmp_path: Path) -> None:
    assert ocx("customer", "add", "lane@home.example.com").exit_code == 0
    ingest(ocx, maildir(tmp_path / "Maildir", mail(1, sender="lane@home.example.com")))
    assert ocx("customer", "merge", MARGO, "lane@home.example.com").exit_code == 0
    (row,) = query(
        initialized,
        "SELECT c.email FROM inbox i JOIN customers c ON c.id = i.customer_id",
    )
    assert row["email"] == MARGO


# --- what is not taken --------------------------------------------------------------------------


def test_malformed_messages_are_named_and_skipped_and_the_rest_taken(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1))
    (folder / "new" / "1.headless").write_bytes(b"just some words\nand more\n")
    (folder / "new" / "2.empty").write_bytes(b"")
    no_from = mail(3)
    del no_from["From"]
    (folder / "new" / "3.nofrom").write_bytes(bytes(no_from))
    nobody = mail(4, sender="Support Team <not-an-address>")
    (folder / "new" / "4.badfrom").write_bytes(bytes(nobody))
    code, counts, stderr = ingest(ocx, folder)
    assert code == 1
    assert counts == {"ingested": 1, "duplicates": 0, "unmatched": 0}
    lines = stderr.splitlines()
    assert lines == [
        f"{folder / 'new' / '1.headless'}: no header block; skipped",
        f"{folder / 'new' / '2.empty'}: no header block; skipped",
        f"{folder / 'new' / '3.nofrom'}: no From address; skipped",
        f"{folder / 'new' / '4.badfrom'}: no From address; skipped",
    ]
    assert len(inbound(initialized)) == 1


def test_a_message_over_the_limit_is_named_and_skipped(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    big = mail(2, body="x" * 5000)
    box = mbox(tmp_path / "box.mbox", mail(1), big, mail(3))
    result = ocx("inbox", "ingest", str(box), "--max-bytes", "2000", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"ingested": 2, "duplicates": 0, "unmatched": 0}
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{box}: message 2: ") and "more than the limit of 2,000" in line
    stdin = ocx("inbox", "ingest", "-", "--max-bytes", "2000", input=bytes(big).decode())
    assert stdin.exit_code == 1 and stdin.stderr.startswith("stdin: ")


def test_a_source_nothing_reads_is_refused_before_anything_is_taken(
    ocx: Any, initialized: Path, tmp_path: Path, assert_error: Any
) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1))
    (tmp_path / "notes.txt").write_text("hello")
    line = assert_error(ocx("inbox", "ingest", str(folder), str(tmp_path / "notes.txt")))
    assert "notes.txt" in line and "Maildir" in line
    assert query(initialized, "SELECT count(*) AS n FROM inbox") == [{"n": 0}]


def test_nothing_new_is_quiet_for_cron(ocx: Any, tmp_path: Path) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1), mail(2, sender="who@else.example.org"))
    first = ocx("inbox", "ingest", str(folder))
    assert first.exit_code == 0
    assert first.stdout == ("1 ingested, 0 already taken, 1 unmatched (see: ocx inbox unmatched)\n")
    again = ocx("inbox", "ingest", str(folder))
    assert (again.exit_code, again.stdout, again.stderr) == (0, "", "")


# --- unmatched mail and assign -------------------------------------------------------------------


def test_unmatched_mail_waits_then_assign_files_it_and_later_mail_matches(
    ocx: Any, initialized: Path, tmp_path: Path, load_json: Any
) -> None:
    stranger = "Margo at home <margo.lane@home.example.org>"
    folder = maildir(tmp_path / "Maildir", mail(1, sender=stranger, subject="From home"))
    assert ingest(ocx, folder)[1] == {"ingested": 0, "duplicates": 0, "unmatched": 1}
    listed = load_json(ocx("inbox", "unmatched", "--json"))
    assert [(m["message_id"], m["from"], m["from_name"], m["subject"]) for m in listed] == [
        ("msg-1@mail.example.com", "margo.lane@home.example.org", "Margo at home", "From home")
    ]
    assert listed[0]["received_at"] == "2026-03-02T10:00:00Z"
    table = ocx("inbox", "unmatched")
    assert table.stdout.splitlines() == [
        "Message-ID\tFrom\tSubject\tReceived",
        "msg-1@mail.example.com\tmargo.lane@home.example.org\tFrom home\t2026-03-02 10:00 UTC",
    ]
    filed = ocx("inbox", "assign", "<msg-1@mail.example.com>", "Margo Lane", "--add-email")
    assert filed.exit_code == 0, filed.output
    assert "margo.lane@home.example.org" in filed.stderr
    assert f"under Margo Lane <{MARGO}>" in filed.stderr  # who, not a row id
    assert load_json(ocx("inbox", "unmatched", "--json")) == []
    assert inbound(initialized)[0]["text"].startswith("From home")
    # later mail from that address matches, and the address names her
    maildir(folder, mail(2, sender=stranger, subject="Again"))
    assert ingest(ocx, folder)[1] == {"ingested": 1, "duplicates": 1, "unmatched": 0}
    shown = load_json(ocx("customer", "show", "margo.lane@home.example.org", "--json"))
    assert shown["email"] == MARGO


def test_assign_without_add_email_leaves_the_address_unknown(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    folder = maildir(tmp_path / "Maildir", mail(1, sender="x@home.example.org"))
    ingest(ocx, folder)
    assert ocx("inbox", "assign", "msg-1@mail.example.com", MARGO).exit_code == 0
    maildir(folder, mail(2, sender="x@home.example.org"))
    assert ingest(ocx, folder)[1] == {"ingested": 0, "duplicates": 1, "unmatched": 1}


def test_assign_refuses_an_unknown_or_already_filed_message(
    ocx: Any, initialized: Path, tmp_path: Path, assert_error: Any
) -> None:
    ingest(ocx, maildir(tmp_path / "Maildir", mail(1), mail(2, sender="y@home.example.org")))
    line = assert_error(ocx("inbox", "assign", "nope@nowhere", MARGO))
    assert "no inbound message 'nope@nowhere'" in line
    line = assert_error(ocx("inbox", "assign", "msg-1@mail.example.com", MARGO))
    assert "already" in line and MARGO in line
    assert ocx("inbox", "assign", "msg-2@mail.example.com", MARGO).exit_code == 0
    line = assert_error(ocx("inbox", "assign", "<msg-2@mail.example.com>", MARGO))
    assert "already" in line
    line = assert_error(ocx("inbox", "assign", "msg-2@mail.example.com", "nobody@x.example"))
    assert "already" in line


def test_assign_to_a_customer_nobody_is_refused_and_changes_nothing(
    ocx: Any, initialized: Path, tmp_path: Path, assert_error: Any, dump: Any
) -> None:
    ingest(ocx, maildir(tmp_path / "Maildir", mail(1, sender="z@home.example.org")))
    before = dump(initialized)
    assert_error(ocx("inbox", "assign", "msg-1@mail.example.com", "nobody@x.example"))
    assert dump(initialized) == before


# --- privacy ------------------------------------------------------------------------------------


def test_forget_erases_their_mail_and_unmatched_mail_from_their_addresses(
    ocx: Any, initialized: Path, tmp_path: Path
) -> None:
    assert ocx("customer", "add", "other@example.com").exit_code == 0
    assert ocx("customer", "add", "old@example.com").exit_code == 0
    assert ocx("customer", "merge", MARGO, "old@example.com").exit_code == 0
    folder = maildir(
        tmp_path / "Maildir",
        mail(1),
        mail(2, sender="other@example.com"),
        mail(3, sender="stranger@example.org"),
    )
    ingest(ocx, folder)
    # mail from an address of hers that came before she had it, still unmatched
    execute(
        initialized,
        "INSERT INTO inbox (message_id, from_address, received_at) VALUES (?, ?, ?)",
        ("waiting@x", "old@example.com", "2026-03-01T00:00:00Z"),
    )
    assert ocx("customer", "forget", MARGO, "--yes").exit_code == 0
    assert query(initialized, "SELECT from_address FROM inbox ORDER BY id") == [
        {"from_address": "other@example.com"}, {"from_address": "stranger@example.org"}
    ]  # fmt: skip


# --- batches and plugins --------------------------------------------------------------------------


def _source(messages: list[bytes], fail_after: int | None = None) -> InboxSource:
    def read(source: str, reading: InboxReading) -> Iterator[RawMessage]:
        for number, data in enumerate(messages, 1):
            if fail_after is not None and number > fail_after:
                raise KeyboardInterrupt  # the process is stopped half-way
            yield RawMessage(f"test {number}", data, len(data))

    return InboxSource("test", "messages in a list", lambda s: s == "test", read)


def test_a_stopped_ingest_keeps_whole_batches_and_a_rerun_takes_the_rest_once(
    ocx: Any, initialized: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "BATCH_MESSAGES", 3)
    messages = [bytes(mail(n)) for n in range(1, 11)]
    store = open_store(initialized)
    try:
        with pytest.raises(KeyboardInterrupt):
            inbox.ingest(store, [("test", _source(messages, fail_after=7))])
        taken = query(initialized, "SELECT count(*) AS n FROM inbox")[0]["n"]
        assert taken == 7  # two whole batches, and the five read before the stop
        lonely = query(
            initialized,
            "SELECT count(*) AS n FROM inbox i LEFT JOIN timeline t ON t.id = i.timeline_id "
            "WHERE t.id IS NULL",
        )
        assert lonely == [{"n": 0}]
        report = inbox.ingest(store, [("test", _source(messages))])
    finally:
        store.close()
    assert report.to_json() == {"ingested": 3, "duplicates": 7, "unmatched": 0}
    assert len(inbound(initialized)) == 10


def test_plugins_lists_the_mailbox_sources_hook(run: Any, load_json: Any) -> None:
    described = {p["name"]: p for p in load_json(run("plugins", "--json"))}
    assert "ocx_register_inbox_sources" in described["ocx.plugins.mailboxes"]["hooks"]


def test_a_plugins_source_is_asked_before_the_built_in_ones(initialized: Path) -> None:
    from ocx.testing import Plugins

    class Plugin:
        @staticmethod
        def ocx_register_inbox_sources(register: Any) -> None:
            register(_source([]))

    from ocx.hookspecs import hookimpl

    Plugin.ocx_register_inbox_sources = hookimpl(Plugin.ocx_register_inbox_sources)
    plugins = Plugins(load_entry_points=False)
    plugins.add(Plugin, "test-source")
    try:
        sources = plugins.inbox_sources()
        assert next(iter(sources)) == "test" and {"stdin", "maildir", "eml", "mbox"} <= set(sources)
        assert inbox.choose_sources(sources, ["test"])[0][1].name == "test"
    finally:
        plugins.remove("test-source")


# --- an older database -----------------------------------------------------------------------------


def test_a_database_from_before_the_inbox_gets_it(
    run: Any, initialized: Path, load_json: Any
) -> None:
    for statement in (
        "DROP TABLE inbox",
        "DROP INDEX promises_open_reply",
        "ALTER TABLE promises DROP COLUMN kind",
        "DELETE FROM migrations WHERE name = '0012_inbox'",
    ):
        execute(initialized, statement)
    assert load_json(run("inbox", "unmatched", "--json")) == []
    assert query(initialized, "SELECT name FROM migrations WHERE name = '0012_inbox'") == [
        {"name": "0012_inbox"}
    ]
    assert query(initialized, "SELECT count(*) AS n FROM promises WHERE kind IS NULL") == [{"n": 0}]


# --- any bytes at all ---------------------------------------------------------------------------

_HEADER_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_ODD_HEADERS = [
    "", "Message-ID: <x@y>", "Message-ID: <>", "Date: yesterday",
    "Content-Type: text/html; charset=klingon", "Content-Transfer-Encoding: base64",
    "Content-Type: multipart/alternative; boundary=zz", "In-Reply-To: <a@b> <<c>",
    "Message-ID:", "Date: Mon, 99 Foo 20000 99:99:99 +9999",
]  # fmt: skip
_MESSAGES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda name, address, subject, body, extra: (
            f"From: {name} <{address}>\nSubject: {subject}\n{extra}\n\n{body}"
        ).encode("utf-8", "surrogateescape"),
        _HEADER_TEXT,
        st.sampled_from([MARGO, "MARGO@example.com", "who@else.example.org", "", "@", "a@b"]),
        _HEADER_TEXT,
        st.text(max_size=200),
        st.sampled_from(_ODD_HEADERS),
    ),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(messages=st.lists(_MESSAGES, max_size=6))
def test_any_bytes_are_parsed_or_refused_and_each_message_counts_once(
    ocx: Any, initialized: Path, messages: list[bytes]
) -> None:
    for data in messages:
        try:
            parsed = inbox.parse(data)
        except inbox.Malformed as exc:
            assert str(exc) in ("no header block", "no From address")
        else:
            assert parsed.message_id and "@" in parsed.from_address
    store = open_store(initialized)
    try:
        report = inbox.ingest(store, [("test", _source(messages))])
    finally:
        store.close()
    counted = report.ingested + report.duplicates + report.unmatched
    assert counted + len(report.problems) == len(messages)
