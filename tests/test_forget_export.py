"""`ocx customer forget`, `forgotten` and `export`: a customer's right to be forgotten (nothing
of them left in the database file, a tombstone that keeps imports from bringing them back) and
their right of access (everything held about them, as one JSON document)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import ocx.store
from ocx.store.privacy import CUSTOMER_REFERENCES
from ocx.testing import dump_database

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CSV_DIR = FIXTURES / "csv"
ZENDESK_DIR = FIXTURES / "zendesk"
# Sven Larsen, in tests/fixtures/csv: two tickets, one mentioning his cold store in Tromsø.
SVEN = "sven.larsen@nordkapp-fisk.no"
SVEN_NAME = "Sven Larsen"
SVEN_MESSAGE = "We are opening a cold store in Troms"  # ø follows: plain ASCII to look for
# Priya Raman, in tests/fixtures/zendesk: user 372015960035, requester of tickets 1001-1005.
PRIYA = "priya.raman@ledgerleaf.in"
NOW = {"OCX_NOW": "2026-11-25T10:00:00Z"}
LATER = {"OCX_NOW": "2026-11-26T10:00:00Z"}


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def file_bytes(db: Path | str) -> bytes:
    """The database file and its WAL, as they are on disk; a PostgreSQL database (no file of
    its own to read) gives its full dump instead: every table and row."""
    if isinstance(db, str):
        return "\n".join(dump_database(db)).encode("utf-8")
    wal = Path(f"{db}-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def hits(data: bytes, *texts: str) -> dict[str, int]:
    """How often each text is in the bytes, in any letter case (ASCII): the search index
    keeps words lower-cased."""
    data = data.lower()
    return {text: data.count(text.lower().encode("utf-8")) for text in texts}


@pytest.fixture
def without_secure_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection with SQLite's secure_delete off, as most builds have it (Debian's
    turns it on): deleted and overwritten rows then linger in free space, as they would."""
    connect = ocx.store._connect

    def plain(path: Path, create: bool) -> sqlite3.Connection:
        conn = connect(path, create)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(ocx.store, "_connect", plain)


# --- nothing of them is left in the file ------------------------------------------------------


@pytest.mark.sqlite_only  # the file's and its WAL's bytes
def test_forget_leaves_nothing_of_them_in_the_database_file_or_its_wal(
    run: Any, initialized: Path, without_secure_delete: None
) -> None:
    db = initialized
    # A reader open all along: the WAL is not checkpointed away at the last close, and a
    # checkpoint must still empty it while the reader is connected.
    reader = sqlite3.connect(db)
    try:
        reader.execute("SELECT count(*) FROM customers").fetchone()
        ok(run("import", "csv", str(CSV_DIR)))
        note = "Quokka sanctuary volunteer, ask about the quokkas"
        ok(run("customer", "note", SVEN, note))
        ok(run("customer", "contact", SVEN, "Called about the Xylophone order", "--inbound"))
        # earlier versions of his row (name, context) that an edit overwrote
        ok(run("customer", "edit", SVEN, "--name", "Sven Aurelius Larsen"))
        ok(run("customer", "edit", SVEN, "--context", "Zanzibar trip in May"))
        ok(run("customer", "edit", SVEN, "--context", ""))
        for n in range(40):  # enough to make the search index merge segments
            ok(run("customer", "add", f"filler{n}@example.com", "--name", f"Filler {n}"))
        texts = (SVEN, SVEN_NAME, note, "Xylophone", "Zanzibar", "Aurelius", SVEN_MESSAGE,
                 "Quokka", "sanctuary", "Larsen")  # fmt: skip
        before = hits(file_bytes(db), *texts)
        assert all(before.values()), before  # the check below can see them
        people = reader.execute("SELECT count(*) FROM customers").fetchone()[0]

        result = ok(run("customer", "forget", SVEN, "--yes"))
        assert result.stderr.strip() == "forgot customer 3 (tombstone 1)"
        assert result.stdout == ""

        after = hits(file_bytes(db), *texts)
        assert after == dict.fromkeys(texts, 0)
        assert Path(f"{db}-wal").stat().st_size == 0  # checkpointed and truncated
        # everyone else is still there, and searchable
        assert reader.execute("SELECT count(*) FROM customers").fetchone()[0] == people - 1
        assert hits(file_bytes(db), "jose.nunez@panaderialux.mx")["jose.nunez@panaderialux.mx"]
    finally:
        reader.close()
    found = json.loads(ok(run("customer", "search", "jose", "--json")).stdout)
    assert [c["email"] for c in found] == ["jose.nunez@panaderialux.mx"]
    assert json.loads(ok(run("customer", "search", "larsen", "--json")).stdout) == []


def test_forget_erases_every_row_about_them_and_nothing_else(
    run: Any, initialized: Path, rows: Any, dump: Any
) -> None:
    ok(run("team", "add", "tester"))
    ok(run("import", "csv", str(CSV_DIR)))
    ok(run("customer", "note", SVEN, "Likes herring"))
    ok(run("promise", "add", SVEN, "Send the VAT fix", "--due", "2026-12-01T09:00:00Z", env=NOW))
    ok(run("cadence", "set", SVEN, "weekly"))
    ok(run("incident", "new", "Bank sync failing", env=NOW))
    ok(run("incident", "fanout", "1", "--all", env=NOW))
    ok(run("incident", "contact", "1", SVEN, "--note", "He was calm"))
    sven = rows(initialized, "SELECT id FROM customers WHERE email = ?", (SVEN,))[0]["id"]
    others_before = rows(initialized, "SELECT count(*) AS n FROM cases WHERE customer_id <> ?",
                         (sven,))[0]["n"]  # fmt: skip

    ok(run("customer", "forget", str(sven), "--yes"))

    for (table, column), _ in CUSTOMER_REFERENCES.items():
        left = rows(initialized, f'SELECT count(*) AS n FROM "{table}" WHERE "{column}" = ?',
                    (sven,))  # fmt: skip
        assert left[0]["n"] == 0, table
    assert rows(initialized, "SELECT count(*) AS n FROM customers WHERE id = ?", (sven,)) == [
        {"n": 0}
    ]
    assert rows(initialized, "SELECT count(*) AS n FROM customer_search WHERE rowid = ?",
                (sven,)) == [{"n": 0}]  # fmt: skip
    orphans = rows(
        initialized,
        "SELECT count(*) AS n FROM messages WHERE conversation_id NOT IN "
        "(SELECT id FROM conversations)",
    )
    assert orphans == [{"n": 0}]
    assert rows(initialized, "SELECT count(*) AS n FROM cases")[0]["n"] == others_before
    # the incident's own history stays; only the event about him went
    events = rows(initialized, "SELECT kind, text FROM incident_events")
    assert [e["kind"] for e in events] == ["opened", "fanout"]
    assert dangling(initialized, rows) == []


def references(db: Path | str) -> set[tuple[str, str, str]]:
    """(table, column, referenced table) of every foreign key in the database, read from its
    own catalog through the store's engine (SQLite's pragmas, PostgreSQL's pg_constraint)."""
    store = ocx.store.open_store(db)
    try:
        return {
            (table, column, target)
            for table in store.engine.tables(store.conn)
            for target, column in store.engine.references(store.conn, table)
        }
    finally:
        store.close()


def dangling(db: Path | str, rows: Any) -> list[tuple[str, str, int]]:
    """(table, column, how many) of foreign keys pointing at no row: what SQLite's
    foreign_key_check reports, asked the same way of either engine."""
    found = []
    for table, column, target in sorted(references(db)):
        n = rows(db, f'SELECT count(*) AS n FROM "{table}" WHERE "{column}" IS NOT NULL AND '
                 f'"{column}" NOT IN (SELECT id FROM "{target}")')[0]["n"]  # fmt: skip
        if n:
            found.append((table, column, n))
    return found


def test_every_table_that_points_at_a_customer_is_one_forget_erases(
    initialized: Path, rows: Any
) -> None:
    """A migration that adds a column referring to customers must say what forget does with
    it (ocx/store/privacy.py CUSTOMER_REFERENCES), or personal data would outlive a forget."""
    found = {
        (table, column)
        for table, column, target in references(initialized)
        if target == "customers"
    }
    assert found == set(CUSTOMER_REFERENCES)


# --- the tombstone ----------------------------------------------------------------------------


def test_forgotten_lists_tombstones_with_who_and_when_and_nothing_personal(
    run: Any, initialized: Path, rows: Any, load_json: Any
) -> None:
    assert load_json(run("customer", "forgotten", "--json")) == []
    assert ok(run("customer", "forgotten")).stdout == ""
    ok(run("import", "csv", str(CSV_DIR)))
    ok(run("customer", "forget", SVEN, "--yes", env=NOW))
    ok(run("customer", "forget", "jose.nunez@panaderialux.mx", "--yes", env=LATER))

    stones = load_json(run("customer", "forgotten", "--json"))
    assert stones == [
        {"id": 1, "erased_by": "tester", "erased_at": "2026-11-25T10:00:00Z"},
        {"id": 2, "erased_by": "tester", "erased_at": "2026-11-26T10:00:00Z"},
    ]
    table = ok(run("customer", "forgotten")).stdout
    assert "tester" in table and "2026-11-25" in table

    tables = ("forgotten", "forgotten_keys", "forgotten_salt")
    kept = json.dumps([rows(initialized, f"SELECT * FROM {t}") for t in tables]).lower()
    for personal in (SVEN, "sven", "larsen", "nordkapp", "jose", "panaderialux"):
        assert personal not in kept
    keys = rows(initialized, "SELECT forgotten_id, count(*) AS n FROM forgotten_keys "
                "GROUP BY forgotten_id ORDER BY forgotten_id")  # fmt: skip
    assert [k["n"] for k in keys] == [2, 2]  # the email, and the csv source id


def test_each_database_salts_its_tombstones_differently(tmp_path: Path, rows: Any) -> None:
    salts = []
    for name in ("one.db", "two.db"):
        db = tmp_path / name
        ok(_cli("--db", str(db), "init"))
        salts.append(rows(db, "SELECT salt FROM forgotten_salt")[0]["salt"])
    assert len(salts[0]) == 64 and salts[0] != salts[1]


def _cli(*args: str, input: str | None = None) -> Result:
    from click.testing import CliRunner

    from ocx.cli import cli

    return CliRunner().invoke(cli, list(args), input=input)


# --- a later import does not bring them back --------------------------------------------------


def test_reimporting_the_same_csv_export_skips_them_as_forgotten(
    run: Any, initialized: Path, rows: Any, load_json: Any
) -> None:
    ok(run("import", "csv", str(CSV_DIR)))
    ok(run("customer", "forget", SVEN, "--yes"))

    for _ in range(2):  # and again: still not re-created
        summary = load_json(run("import", "csv", str(CSV_DIR), "--json"))
        forgotten = [s for s in summary["skipped"] if s["reason"] == "forgotten"]
        assert [(Path(s["file"]).name, s["line"]) for s in forgotten] == [
            ("customers.csv", 4), ("tickets.csv", 4), ("tickets.csv", 5)
        ]  # fmt: skip
        assert summary["created"] == {"customers": 0, "conversations": 0, "messages": 0}
        assert rows(initialized, "SELECT id FROM customers WHERE email = ?", (SVEN,)) == []
    assert SVEN_MESSAGE.encode() not in file_bytes(initialized)
    # --strict refuses skipped tickets, but not these: the export imports as it did
    ok(run("import", "csv", str(CSV_DIR), "--strict"))


def test_reimporting_zendesk_skips_their_user_and_tickets_by_source_id(
    run: Any, initialized: Path, rows: Any, load_json: Any
) -> None:
    ok(run("import", "zendesk", str(ZENDESK_DIR)))
    assert rows(initialized, "SELECT count(*) AS n FROM conversations c JOIN customers p "
                "ON p.id = c.customer_id WHERE p.email = ?", (PRIYA,))[0]["n"] == 5  # fmt: skip
    ok(run("customer", "forget", "zendesk:372015960035", "--yes"))

    result = run("import", "zendesk", str(ZENDESK_DIR), "--json")
    summary = load_json(result)
    forgotten = [s for s in summary["skipped"] if s["reason"] == "forgotten"]
    tickets = sorted(s["record"] for s in forgotten if "ticket" in s.get("record", ""))
    assert tickets == [f"ticket {n}" for n in range(1001, 1006)]
    assert summary["created"] == {"customers": 0, "conversations": 0, "messages": 0}
    assert rows(initialized, "SELECT id FROM customers WHERE email = ?", (PRIYA,)) == []
    assert rows(initialized, "SELECT count(*) AS n FROM conversations WHERE external_id "
                "IN ('1001', '1002', '1003', '1004', '1005')")[0]["n"] == 0  # fmt: skip


def test_merged_away_emails_are_forgotten_with_the_customer(
    run: Any, initialized: Path, tmp_path: Path, rows: Any, load_json: Any
) -> None:
    ok(run("customer", "add", "ines@example.com", "--name", "Inés Ortega"))
    ok(run("customer", "add", "Ines.Ortega@OldMail.example", "--name", "Ines O."))
    ok(run("customer", "merge", "ines@example.com", "ines.ortega@oldmail.example"))
    ok(run("customer", "forget", "ines@example.com", "--yes"))
    assert b"oldmail" not in file_bytes(initialized).lower()

    export = tmp_path / "export"
    export.mkdir()
    (export / "customers.csv").write_text(
        "email,name\nINES.ORTEGA@oldmail.example,Ines O.\nnew@example.com,New Person\n",
        encoding="utf-8",
    )
    (export / "tickets.csv").write_text(
        "external_id,customer_email,subject,status,created_at,body\n"
        "T-1,ines.ortega@oldmail.example,Refund,open,2026-11-01T10:00:00Z,Please refund\n"
        "T-2,new@example.com,Hello,open,2026-11-01T10:00:00Z,Hi there\n",
        encoding="utf-8",
    )
    summary = load_json(run("import", "csv", str(export), "--json"))
    assert [(Path(s["file"]).name, s["reason"]) for s in summary["skipped"]] == [
        ("customers.csv", "forgotten"), ("tickets.csv", "forgotten")
    ]  # fmt: skip
    assert summary["created"]["customers"] == 1 and summary["created"]["conversations"] == 1
    emails = [r["email"] for r in rows(initialized, "SELECT email FROM customers")]
    assert emails == ["new@example.com"]


# --- asking first -------------------------------------------------------------------------


def test_forget_refuses_without_yes_when_stdin_is_not_a_terminal(
    initialized: Path, dump: Any, run: Any
) -> None:
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane"))
    before = dump(initialized)
    done = subprocess.run(
        [sys.executable, "-m", "ocx", "--db", str(initialized), "customer", "forget",
         "margo@example.com"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: ") and line.endswith("(use --yes)")
    assert dump(initialized) == before
    # CliRunner's stdin is no terminal either
    result = run("customer", "forget", "margo@example.com", input="y\n")
    assert result.exit_code == 1 and result.stderr.strip().endswith("(use --yes)")
    assert dump(initialized) == before


def test_forget_of_an_unknown_customer_says_so(
    run: Any, initialized: Path, assert_error: Any
) -> None:
    line = assert_error(run("customer", "forget", "nobody@example.com", "--yes"))
    assert line == "Error: no customer matches 'nobody@example.com'"
    assert json.loads(ok(run("customer", "forgotten", "--json")).stdout) == []


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("answer", "erased"), [("n", False), ("y", True)])
def test_forget_asks_in_a_terminal(
    run: Any, initialized: Path, rows: Any, answer: str, erased: bool
) -> None:
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane"))
    leader, follower = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ocx", "--db", str(initialized), "customer", "forget",
             "margo@example.com"],
            stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(0.2)
        os.write(leader, f"{answer}\n".encode())
        _, err = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert "Erase Margo Lane (margo@example.com, customer 1)" in err
    assert process.returncode == (0 if erased else 1), err
    left = rows(initialized, "SELECT email FROM customers")
    assert left == ([] if erased else [{"email": "margo@example.com"}])
    assert ("forgot customer 1 (tombstone 1)" in err) is erased


# --- the outbox: messages to them, reminders about them, digests ----------------------------


def test_forget_takes_their_messages_out_of_the_outbox_and_their_items_out_of_digests(
    run: Any, initialized: Path, env: Path, rows: Any
) -> None:
    (env / "ocx.toml").write_text('user = "tester"\ntimezone = "UTC"\n', encoding="utf-8")
    ok(run("team", "add", "tester", "--channel", "console", "--digest"))
    ok(run("customer", "add", "margo@example.com", "--name", "Margo Lane"))
    ok(run("customer", "add", "jim@example.com", "--name", "Jim Hollis"))
    ok(run("promise", "add", "margo@example.com", "Mail Margo the Quetzal invoice",
           "--due", "2026-11-25T12:00:00Z", env=NOW))  # fmt: skip
    ok(run("promise", "add", "jim@example.com", "Call Jim about the export",
           "--due", "2026-11-25T12:00:00Z", env=NOW))  # fmt: skip
    run("due", "--notify", env={"OCX_NOW": "2026-11-25T12:30:00Z"})
    digests = rows(initialized, "SELECT * FROM outbox WHERE kind = 'digest'")
    assert len(digests) == 1 and "Quetzal" in digests[0]["body"]

    ok(run("customer", "forget", "margo@example.com", "--yes"))

    left = rows(initialized, "SELECT * FROM outbox ORDER BY id")
    assert all("Quetzal" not in json.dumps(m) and "Margo" not in json.dumps(m) for m in left)
    (digest,) = [m for m in left if m["kind"] == "digest"]
    assert "Call Jim about the export" in digest["body"]
    assert digest["subject"] == "ocx: 1 item needs you"
    assert len(json.loads(digest["payload"])["items"]) == 1
    assert b"Quetzal" not in file_bytes(initialized)


# --- the right of access ----------------------------------------------------------------------


def test_export_holds_everything_forget_would_erase(
    run: Any, initialized: Path, load_json: Any
) -> None:
    ok(run("team", "add", "tester"))
    ok(run("import", "csv", str(CSV_DIR)))
    ok(run("customer", "note", SVEN, "Prefers herring to salmon"))
    ok(run("customer", "contact", SVEN, "Called about VAT", "--channel", "phone"))
    ok(run("customer", "tag", SVEN, "vip"))
    ok(run("promise", "add", SVEN, "Send the VAT fix", "--due", "2026-12-01T09:00:00Z", env=NOW))
    ok(run("cadence", "set", SVEN, "weekly"))
    ok(run("incident", "new", "Bank sync failing", env=NOW))
    ok(run("incident", "fanout", "1", "--all", env=NOW))
    ok(run("incident", "contact", "1", SVEN, "--note", "He was calm"))

    result = run("customer", "export", SVEN)
    data = load_json(result)
    assert set(data) == {"exported_at", "profile", "tags", "sources", "timeline", "promises",
                         "cadences", "cases", "outbox"}  # fmt: skip
    assert data["profile"]["email"] == SVEN and data["profile"]["name"] == SVEN_NAME
    assert [t["tag"] for t in data["tags"]] == ["vip", "wholesale"]
    assert data["sources"][0]["source"] == "csv"
    assert data["sources"][0]["imported"]["company"] == "Nordkapp Fisk AS"
    texts = [e["text"] for e in data["timeline"]]
    assert "Prefers herring to salmon" in texts and "Called about VAT" in texts
    kinds = {e["kind"] for e in data["timeline"]}
    assert {"conversation", "message", "note", "contact", "incident"} <= kinds
    assert any(SVEN_MESSAGE in text for text in texts)  # an imported message's body
    assert "Wrong VAT on wholesale orders" in texts  # an imported conversation's subject
    assert [p["text"] for p in data["promises"]] == ["Send the VAT fix"]
    assert [c["schedule"] for c in data["cadences"]] == ["weekly"]
    (case,) = data["cases"]
    assert case["incident"] == "INC-1" and case["state"] == "contacted"
    assert any("He was calm" in e["text"] for e in case["events"])
    assert data["outbox"] == []
    # nobody else's data
    assert "jose.nunez" not in result.stdout and "Marcus" not in result.stdout

    ok(run("customer", "forget", SVEN, "--yes"))
    line = run("customer", "export", SVEN)
    assert line.exit_code == 1 and "no customer matches" in line.stderr
