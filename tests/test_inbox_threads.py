"""Customers' replies followed to what they answer, and answered at their pace: a reply to an
incident update (sent for real through SMTP) acknowledges the case and names INC-n in the
timeline; every message makes one reply promise, due by the customer's pace from when ocx
took it, owned by their case's concierge or the inbox owner, kept by what we send them.

Mail is written as real mailboxes (Maildir and mbox with `mailbox`, .eml with
email.message) and read through `ocx inbox ingest`; the clock is moved with OCX_NOW."""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx.message_ids import key_of, message_id
from ocx.testing import query

if TYPE_CHECKING:
    from click.testing import Result

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MARGO, JIM, JUDY = "margo@example.com", "jim@example.com", "judy@example.com"


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class World:
    def __init__(self, run: Any, db: Path | str, home: Path, tmp: Path) -> None:
        self.run, self.db, self.home, self.tmp = run, db, home, tmp
        self.mails = 0

    def configure(self, tables: str = "") -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "ocx.toml").write_text(
            f'user = "tester"\ntimezone = "UTC"\n{tables}\n', encoding="utf-8"
        )

    def ocx(self, *args: str, when: datetime = NOW) -> Result:
        result = self.run(*args, env={"OCX_NOW": z(when)})
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, when: datetime = NOW) -> Any:
        return json.loads(self.ocx(*args, "--json", when=when).stdout)

    def mail(self, sender: str, subject: str = "Still failing", *, reply_to: str | None = None,
             references: str | None = None) -> EmailMessage:  # fmt: skip
        self.mails += 1
        message = EmailMessage()
        message["From"] = sender
        message["To"] = "support@acme.example"
        message["Subject"] = subject
        message["Date"] = "Mon, 02 Mar 2026 09:15:00 +0100"  # long before NOW: not the clock
        message["Message-ID"] = f"<reply-{self.mails}@mail.example.com>"
        if reply_to:
            message["In-Reply-To"] = reply_to
        if references:
            message["References"] = references
        message.set_content("It works again, thank you." if reply_to else "Any news?")
        return message

    def ingest_maildir(self, *messages: EmailMessage, when: datetime = NOW) -> dict[str, int]:
        folder = self.tmp / f"Maildir-{self.mails}"
        box = mailbox.Maildir(folder, create=True)
        for message in messages:
            box.add(message)
        return self.json("inbox", "ingest", str(folder), when=when)  # type: ignore[no-any-return]

    def ingest_mbox(self, *messages: EmailMessage, when: datetime = NOW) -> dict[str, int]:
        path = self.tmp / f"box-{self.mails}.mbox"
        box = mailbox.mbox(path)
        for message in messages:
            box.add(message)
        box.flush()
        box.close()
        return self.json("inbox", "ingest", str(path), when=when)  # type: ignore[no-any-return]

    def ingest_eml(self, message: EmailMessage, when: datetime = NOW) -> dict[str, int]:
        path = self.tmp / f"mail-{self.mails}.eml"
        path.write_bytes(bytes(message))
        return self.json("inbox", "ingest", str(path), when=when)  # type: ignore[no-any-return]

    def replies(self, email: str | None = None) -> list[dict[str, Any]]:
        """Reply promises (of one customer), oldest first."""
        return query(
            self.db,
            "SELECT p.*, c.email FROM promises p JOIN customers c ON c.id = p.customer_id "
            "WHERE p.kind = 'reply'" + (" AND c.email = ?" if email else "") + " ORDER BY p.id",
            (email,) if email else (),
        )

    def case_state(self, email: str, incident_id: int = 1) -> str:
        (row,) = query(
            self.db,
            "SELECT k.state FROM cases k JOIN customers c ON c.id = k.customer_id "
            "WHERE k.incident_id = ? AND c.email = ?",
            (incident_id, email),
        )
        return str(row["state"])


@pytest.fixture
def world(run: Any, initialized: Path, env: Path, tmp_path: Path) -> World:
    """Team: tester (the configured user), sam (lead), alex. Customers: Margo Lane (slow, at
    Acme), Jim Hollis (fast), Judy Park (no pace, at Acme)."""
    w = World(run, initialized, env, tmp_path)
    w.configure()
    early = NOW - 30 * DAY
    w.ocx("team", "add", "tester", when=early)
    w.ocx("team", "add", "sam", "--email", "sam@acme.example", "--lead", when=early)
    w.ocx("team", "add", "alex", "--email", "alex@acme.example", when=early)
    w.ocx("customer", "add", MARGO, "--name", "Margo Lane", "--pace", "slow", "--company", "Acme",
          when=early)  # fmt: skip
    w.ocx("customer", "add", JIM, "--name", "Jim Hollis", "--pace", "fast", when=early)
    w.ocx("customer", "add", JUDY, "--name", "Judy Park", "--company", "Acme", when=early)
    return w


def _smtp(port: int) -> str:
    return (
        f'[channels.email]\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\n'
        'from = "support@acme.example"\nstarttls = false\n'
    )


def _update_sent_by_smtp(world: World, smtp_server: Any) -> dict[str, str]:
    """INC-1 for Acme (Margo and Judy, concierge alex), one update delivered by real SMTP;
    each customer's update's Message-ID as their mail client saw it."""
    world.configure(_smtp(smtp_server.port))
    world.ocx("incident", "new", "Bank sync failing", "--lead", "sam", when=NOW - HOUR)
    world.ocx("incident", "fanout", "INC-1", "--company", "Acme", "--concierge", "alex",
              when=NOW - HOUR)  # fmt: skip
    world.ocx("incident", "update", "1", "--message", "We are on it.", when=NOW - HOUR)
    world.ocx("due", "--notify", when=NOW - HOUR)
    seen = {m.rcpt_tos[0]: str(m.message["Message-ID"]) for m in smtp_server.messages}
    assert set(seen) == {MARGO, JUDY}
    return seen


# --- threads -------------------------------------------------------------------------------


def test_ocx_message_ids_name_their_outbox_key_and_nothing_else() -> None:
    for key in ("incident:1:update:2:customer:3", "promise:12:2026-01-01T00:00:00Z:overdue",
                "héllo=world", "a b/c"):  # fmt: skip
        assert key_of(message_id(key)) == key
        assert key_of(message_id(key)[1:-1]) == key  # as the inbox keeps ids: no brackets
    for other in ("<CAK2x9@mail.example.com>", "x@ocx.example", "=ZZ@ocx", "=4@ocx", "a.b@ocx",
                  "@ocx"):  # fmt: skip
        assert key_of(other) is None


def test_a_reply_to_an_update_sent_by_smtp_acknowledges_the_case_and_names_the_incident(
    world: World, smtp_server: Any
) -> None:
    seen = _update_sent_by_smtp(world, smtp_server)
    assert world.case_state(MARGO) == "new"  # an update sent is not a contact logged
    reply = world.mail(f"Margo Lane <{MARGO}>", "Re: [INC-1] Bank sync failing",
                       reply_to=seen[MARGO], references=seen[MARGO])  # fmt: skip
    assert world.ingest_maildir(reply) == {"ingested": 1, "duplicates": 0, "unmatched": 0}
    assert world.case_state(MARGO) == "acknowledged"
    assert world.case_state(JUDY) == "new"  # her update was not answered
    (row,) = query(world.db, "SELECT * FROM inbox")
    (case,) = query(world.db, "SELECT k.id FROM cases k JOIN customers c ON c.id = k.customer_id "
                              "WHERE c.email = ?", (MARGO,))  # fmt: skip
    (sent,) = query(world.db, "SELECT id FROM outbox WHERE key = ?", (key_of(seen[MARGO]),))
    assert (row["outbox_id"], row["case_id"], row["promise_id"]) == (sent["id"], case["id"], None)
    timeline = world.json("customer", "timeline", MARGO)
    (entry,) = [e for e in timeline if e["kind"] == "contact"]
    assert entry["text"].startswith("Reply on INC-1: Re: [INC-1] Bank sync failing")
    assert (entry["subject_type"], entry["data"]["incident"]) == ("incident", "INC-1")
    assert entry["direction"] == "inbound"
    (acked,) = [e for e in timeline if e["text"].startswith("Acknowledged INC-1: Bank sync")]
    assert acked["author"] == "Margo Lane"  # she acknowledged it, by replying
    shown = world.ocx("customer", "timeline", MARGO).stdout
    assert "Reply on INC-1" in shown


def test_a_reply_found_by_references_alone_is_followed_too(world: World, smtp_server: Any) -> None:
    seen = _update_sent_by_smtp(world, smtp_server)
    reply = world.mail(JUDY, "Re: news", references=f"<elsewhere@mail.example.com> {seen[JUDY]}")
    world.ingest_eml(reply)
    assert world.case_state(JUDY) == "acknowledged"


def test_a_reply_never_moves_a_case_backwards(world: World, smtp_server: Any) -> None:
    seen = _update_sent_by_smtp(world, smtp_server)
    world.ocx("incident", "plan", "1", "--rescue", "Re-run the sync", "--rollback", "Restore")
    world.ocx("incident", "agree", "1", MARGO)
    world.ocx("incident", "resolve", "1", "--customer", JUDY)
    world.ingest_mbox(
        world.mail(MARGO, "Re: update", reply_to=seen[MARGO]),
        world.mail(JUDY, "Re: update", reply_to=seen[JUDY]),
    )
    assert (world.case_state(MARGO), world.case_state(JUDY)) == ("agreed", "resolved")
    entries = [e for e in world.json("customer", "timeline", JUDY) if e["kind"] == "contact"]
    assert entries[0]["text"].startswith("Reply on INC-1")  # still linked, not acknowledged
    events = world.json("customer", "timeline", MARGO)
    assert not any(e["text"].startswith("Acknowledged") for e in events)


def test_a_reply_to_someone_elses_update_or_to_no_ocx_message_is_plain_mail(
    world: World, smtp_server: Any
) -> None:
    seen = _update_sent_by_smtp(world, smtp_server)
    world.ingest_maildir(
        world.mail(JUDY, "Fwd", reply_to=seen[MARGO]),  # Margo's update, forwarded to Judy
        world.mail(MARGO, "Re: lunch", reply_to="<lunch@mail.example.com>"),
        world.mail(MARGO, "Re: ?", reply_to="<incident=3A9=3Aupdate@ocx>"),  # no such message
    )
    assert (world.case_state(MARGO), world.case_state(JUDY)) == ("new", "new")
    texts = [e["text"] for e in world.json("customer", "timeline", MARGO) if e["kind"] == "contact"]
    assert sorted(texts) == ["Re: ?\n\nIt works again, thank you.",
                             "Re: lunch\n\nIt works again, thank you."]  # fmt: skip


def test_mail_assigned_later_follows_its_thread_and_gets_its_reply_promise(
    world: World, smtp_server: Any
) -> None:
    seen = _update_sent_by_smtp(world, smtp_server)
    reply = world.mail("Margo at home <margo.lane@home.example>", "Re: INC-1",
                       reply_to=seen[MARGO])  # fmt: skip
    assert world.ingest_eml(reply)["unmatched"] == 1
    assert world.case_state(MARGO) == "new" and world.replies() == []
    world.ocx("inbox", "assign", "reply-1@mail.example.com", MARGO, when=NOW + HOUR)
    assert world.case_state(MARGO) == "acknowledged"
    (promise,) = world.replies(MARGO)
    # due a day (slow) from when ocx took it, not from when it was assigned
    assert promise["due_at"] == z(NOW + DAY)
    assert promise["owner"] == "alex"  # her open case's concierge
    (row,) = query(world.db, "SELECT outbox_id, case_id FROM inbox")
    assert row["outbox_id"] is not None and row["case_id"] is not None


# --- answering at their pace ---------------------------------------------------------------


def test_each_customer_gets_a_reply_promise_due_by_their_pace_from_when_ocx_took_it(
    world: World,
) -> None:
    counts = world.ingest_mbox(
        world.mail(f"Margo Lane <{MARGO}>", "Export broken"), world.mail(JIM, "Login loop"),
        world.mail(JUDY, ""),
    )  # fmt: skip
    assert counts == {"ingested": 3, "duplicates": 0, "unmatched": 0}
    due = {p["email"]: (p["text"], p["due_at"], p["owner"], p["state"]) for p in world.replies()}
    assert due == {
        MARGO: ("Reply to Margo Lane: Export broken", z(NOW + DAY), "tester", "open"),
        JIM: ("Reply to Jim Hollis: Login loop", z(NOW + HOUR), "tester", "open"),
        JUDY: ("Reply to Judy Park: (no subject)", z(NOW + 4 * HOUR), "tester", "open"),
    }
    (promise,) = world.replies(MARGO)
    assert (promise["subject_type"], promise["created_at"]) == ("inbox", z(NOW))
    (inbox_row,) = query(world.db, "SELECT id FROM inbox WHERE subject = 'Export broken'")
    assert promise["subject_id"] == inbox_row["id"]
    made = [e for e in world.json("customer", "timeline", MARGO) if e["kind"] == "promise"]
    assert (
        made[0]["text"]
        == f"Promised: Reply to Margo Lane: Export broken (due {z(NOW + DAY)}, owner tester)"
    )


def test_reply_within_and_inbox_owner_in_the_config(world: World) -> None:
    world.configure('inbox_owner = "sam"\n[reply_within]\nslow = "2h"\nfast = "15m"\n')
    world.ingest_maildir(world.mail(MARGO), world.mail(JIM), world.mail(JUDY))
    due = {p["email"]: (p["due_at"], p["owner"]) for p in world.replies()}
    assert due == {
        MARGO: (z(NOW + 2 * HOUR), "sam"),
        JIM: (z(NOW + 15 * MINUTE), "sam"),
        JUDY: (z(NOW + 4 * HOUR), "sam"),  # normal is not named: its default stays
    }


def test_a_bad_reply_within_stops_ingest_before_anything_is_taken(world: World) -> None:
    world.configure('[reply_within]\nfast = "soon"\n')
    folder = world.tmp / "Maildir"
    mailbox.Maildir(folder, create=True).add(world.mail(JIM))
    result = world.run("inbox", "ingest", str(folder), env={"OCX_NOW": z(NOW)})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: reply_within.fast in ocx.toml: cannot read duration")
    assert query(world.db, "SELECT id FROM inbox") == []


def test_the_concierge_of_their_open_case_owns_the_reply(world: World) -> None:
    world.ocx("incident", "new", "Bank sync failing", "--lead", "sam")
    world.ocx("incident", "fanout", "INC-1", "--company", "Acme", "--concierge", "alex")
    world.ingest_maildir(world.mail(MARGO), world.mail(JIM))
    owners = {p["email"]: p["owner"] for p in world.replies()}
    assert owners == {MARGO: "alex", JIM: "tester"}  # Jim has no case: the configured user


def test_a_second_message_while_one_is_open_makes_no_second_promise(world: World) -> None:
    world.ingest_maildir(world.mail(MARGO, "First"), world.mail(MARGO, "Second"))
    world.ingest_eml(world.mail(MARGO, "Third"), when=NOW + HOUR)
    (promise,) = world.replies(MARGO)
    assert promise["text"] == "Reply to Margo Lane: First"


def test_an_outbound_contact_keeps_the_reply_promise_an_inbound_one_does_not(
    world: World,
) -> None:
    world.ingest_maildir(world.mail(MARGO, "First"))
    world.ocx("customer", "contact", MARGO, "She called again", "--inbound", when=NOW + HOUR)
    assert [p["state"] for p in world.replies(MARGO)] == ["open"]
    world.ocx("customer", "contact", MARGO, "Answered her mail", "--channel", "email",
              when=NOW + 2 * HOUR)  # fmt: skip
    (kept,) = world.replies(MARGO)
    assert (kept["state"], kept["done_at"]) == ("done", z(NOW + 2 * HOUR))
    shown = world.json("promise", "list", "--all", "--customer", MARGO)
    assert shown[0]["outcome"] == "kept"
    # the next message makes a new promise, due from when it was taken
    world.ingest_maildir(world.mail(MARGO, "Again"), when=NOW + 3 * HOUR)
    assert [(p["state"], p["due_at"]) for p in world.replies(MARGO)] == [
        ("done", z(NOW + DAY)), ("open", z(NOW + 3 * HOUR + DAY))
    ]  # fmt: skip


def test_a_message_queued_to_them_keeps_it_a_reminder_to_the_team_does_not(
    world: World,
) -> None:
    world.ingest_maildir(world.mail(MARGO), world.mail(JIM))
    # Jim's reply promise (1 h) is overdue: the reminder to its owner is about Jim, not to him
    world.ocx("due", "--notify", when=NOW + 2 * HOUR)
    (reminded,) = query(world.db, "SELECT kind, customer_id FROM outbox")
    assert reminded["kind"] == "overdue" and reminded["customer_id"] is not None
    assert [p["state"] for p in world.replies(JIM)] == ["open"]
    world.ocx("incident", "new", "Bank sync failing", "--lead", "sam", when=NOW + 2 * HOUR)
    world.ocx("incident", "fanout", "INC-1", "--company", "Acme", when=NOW + 2 * HOUR)
    world.ocx("incident", "update", "1", "--message", "We are on it.", when=NOW + 3 * HOUR)
    (margo,) = world.replies(MARGO)
    assert (margo["state"], margo["done_at"]) == ("done", z(NOW + 3 * HOUR))
    assert [p["state"] for p in world.replies(JIM)] == ["open"]  # not in the incident


def test_ocx_due_lists_the_reply_promise_and_escalates_it(world: World) -> None:
    world.ingest_maildir(world.mail(JIM, "Login loop"))
    assert world.json("due", "--within", "30m") == []
    (item,) = world.json("due", "--within", "2h")
    assert (item["kind"], item["stage"], item["text"], item["customer"], item["owner"]) == (
        "promise", "reminder", "Reply to Jim Hollis: Login loop", JIM, "tester"
    )  # fmt: skip
    late = world.json("due", when=NOW + 6 * HOUR)
    assert sorted(i["stage"] for i in late) == ["escalation", "overdue"]


# --- config ----------------------------------------------------------------------------------


def test_config_shows_and_sets_reply_within_and_inbox_owner(world: World) -> None:
    shown = world.json("config", "show")
    assert shown["reply_within"] == {"fast": "1h", "normal": "4h", "slow": "1d"}
    assert shown["inbox_owner"] == "tester"
    world.ocx("config", "set", "reply_within.fast", "30m")
    world.ocx("config", "set", "inbox_owner", "sam")
    shown = world.json("config", "show")
    assert shown["reply_within"] == {"fast": "30m", "normal": "4h", "slow": "1d"}
    assert shown["inbox_owner"] == "sam"
    before = (world.home / "ocx.toml").read_text()
    for key, value in (("reply_within.fast", "soon"), ("reply_within.fast", "0s"),
                       ("reply_within.sometimes", "1h"), ("inbox_owner", '""')):  # fmt: skip
        result = world.run("config", "set", key, value)
        assert result.exit_code == 1, (key, value, result.output)
        assert result.stderr.startswith("Error: ") and "\n" not in result.stderr.strip()
    assert (world.home / "ocx.toml").read_text() == before


def test_a_message_whose_key_is_queued_already_answers_nobody_again(world: World) -> None:
    """queue_many counts only what it adds, as queue does: the same message again (a rerun
    with the same key) is no answer to mail that came since."""
    from ocx import outbox
    from ocx.store import open_store

    world.ingest_maildir(world.mail(MARGO))
    (margo,) = query(world.db, "SELECT id FROM customers WHERE email = ?", (MARGO,))
    message = {
        "key": "update:test:margo", "kind": "update", "channel": "email", "recipient": MARGO,
        "subject": "News", "body": "Fixed now.", "customer_id": margo["id"],
    }  # fmt: skip
    store = open_store(world.db)
    try:
        assert outbox.queue_many(store, [message]) == 1
        assert [p["state"] for p in world.replies(MARGO)] == ["done"]
        world.ingest_maildir(world.mail(MARGO, "Still failing after the fix"))
        assert outbox.queue_many(store, [message]) == 0
        assert [p["state"] for p in world.replies(MARGO)] == ["done", "open"]
    finally:
        store.close()
