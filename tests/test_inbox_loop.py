"""The whole loop with one customer, through the real CLI: an incident update delivered by real
SMTP, her reply written to a real Maildir and taken by `ocx inbox ingest`, the case
acknowledged and a reply promise made at her pace, an outbound contact keeping it, the case
resolved and a check with her promised, then either confirmed (fixed, she says) or reopened
(not fixed). `ocx customer promises` judges every promise made to her along the way.

The clock is moved with OCX_NOW between steps; every expected due time and outcome is worked
out here from the rules (reply_within, confirm_after, the next-update promise, judged against
the original due time), not copied from ocx's output."""

from __future__ import annotations

import json
import mailbox
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import Run, SmtpServer

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MARGO = "margo@example.com"

# The steps of the loop, and the rules that set each due time
UPDATE_AT = NOW - HOUR  # INC-1's first update, promising the next within NEXT_UPDATE
NEXT_UPDATE = 4 * HOUR  # --next-update 4h
INGEST_AT = NOW  # when ocx takes her reply: the reply promise runs from here
FAST = HOUR  # reply_within's default for a fast pace
ANSWERED_AT = NOW + 30 * MINUTE  # our outbound contact
RESOLVED_AT = NOW + 2 * HOUR
CONFIRM_AFTER = DAY  # confirm_after's default; Margo has no quiet hours to move it


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def judged(due: datetime, done: datetime | None, now: datetime) -> str:
    """The issue's rule for a promise done at `done` (None: still open), at `now`."""
    if done is not None:
        return "kept" if done <= due else "kept_late"
    return "broken" if due < now else "open"


@dataclass
class World:
    run: Run
    db: Path | str
    home: Path
    tmp: Path
    smtp: SmtpServer

    def configure(self, user: str = "tester") -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "ocx.toml").write_text(
            f'user = "{user}"\ntimezone = "UTC"\n\n'
            f'[channels.email]\ntype = "email"\nhost = "127.0.0.1"\nport = {self.smtp.port}\n'
            'from = "support@acme.example"\nstarttls = false\n',
            encoding="utf-8",
        )

    def ocx(self, *args: str, when: datetime) -> Result:
        result = self.run(*args, env={"OCX_NOW": z(when)})
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, when: datetime) -> Any:
        return json.loads(self.ocx(*args, "--json", when=when).stdout)

    def case(self, when: datetime) -> dict[str, Any]:
        (case,) = self.json("incident", "cases", "INC-1", when=when)
        return case  # type: ignore[no-any-return]

    def promises(self, when: datetime) -> dict[str, Any]:
        return self.json("customer", "promises", MARGO, when=when)  # type: ignore[no-any-return]

    def reply(self, number: int, text: str, *, in_reply_to: str | None, references: str,
              sent: str) -> EmailMessage:  # fmt: skip
        """Margo's answer, as her mail client writes it."""
        message = EmailMessage()
        message["From"] = f"Margo Lane <{MARGO}>"
        message["To"] = "support@acme.example"
        message["Subject"] = "Re: Bank sync failing"
        message["Date"] = sent
        message["Message-ID"] = f"<margo-{number}@mail.example.com>"
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
        message["References"] = references
        message.set_content(text)
        return message

    def ingest(self, *messages: EmailMessage, when: datetime) -> dict[str, int]:
        """Delivered into the support Maildir (new/), a real one, then the whole Maildir read
        by `ocx inbox ingest` (what was there before included)."""
        folder = self.tmp / "Maildir"
        box = mailbox.Maildir(folder, create=True)
        for message in messages:
            box.add(message)
        return self.json("inbox", "ingest", str(folder), when=when)  # type: ignore[no-any-return]


@pytest.fixture
def world(run: Run, initialized: Path, env: Path, tmp_path: Path, smtp_server: SmtpServer
          ) -> World:  # fmt: skip
    """Team: tester (the configured user), sam (the lead), alex (Margo's concierge). Margo
    Lane, fast pace, the only customer of Acme. Mail goes out through the SMTP server."""
    w = World(run, initialized, env, tmp_path, smtp_server)
    w.configure()
    early = NOW - 30 * DAY
    w.ocx("team", "add", "tester", when=early)
    w.ocx("team", "add", "sam", "--email", "sam@acme.example", "--lead", when=early)
    w.ocx("team", "add", "alex", "--email", "alex@acme.example", when=early)
    w.ocx("customer", "add", MARGO, "--name", "Margo Lane", "--pace", "fast", "--company", "Acme",
          when=early)  # fmt: skip
    return w


def _through_resolve(world: World) -> str:
    """Update by SMTP -> her reply -> ingest -> acknowledged, a reply promise -> an outbound
    contact keeps it -> resolve -> a check promised. The update's Message-ID as she got it."""
    world.ocx("incident", "new", "Bank sync failing", "--lead", "sam", when=UPDATE_AT)
    world.ocx("incident", "fanout", "INC-1", "--company", "Acme", "--concierge", "alex",
              when=UPDATE_AT)  # fmt: skip
    world.ocx("incident", "update", "1", "--message", "We are on it.",
              "--next-update", "4h", when=UPDATE_AT)  # fmt: skip
    assert world.smtp.messages == []  # queued, not yet sent
    world.ocx("due", "--notify", when=UPDATE_AT)
    (sent,) = world.smtp.messages
    assert sent.rcpt_tos == [MARGO]
    assert "We are on it." in sent.message.get_body().get_content()  # type: ignore[union-attr]
    update_id = str(sent.message["Message-ID"])
    assert world.case(INGEST_AT)["state"] == "new"  # an update sent is not a contact logged

    # She answers from her mail client; the mail lands in the support Maildir
    reply = world.reply(1, "Still failing here, the March statements are missing.",
                        in_reply_to=update_id, references=update_id,
                        sent="Wed, 25 Nov 2026 09:40:00 +0000")  # fmt: skip
    assert world.ingest(reply, when=INGEST_AT) == {"ingested": 1, "duplicates": 0, "unmatched": 0}
    # the same Maildir read again takes nothing twice
    again = {"ingested": 0, "duplicates": 1, "unmatched": 0}
    assert world.ingest(when=INGEST_AT + MINUTE) == again
    case = world.case(INGEST_AT + MINUTE)
    assert case["state"] == "acknowledged"
    timeline = world.json("customer", "timeline", MARGO, when=INGEST_AT + MINUTE)
    (heard,) = [e for e in timeline if e["kind"] == "contact"]
    assert heard["direction"] == "inbound" and heard["data"]["incident"] == "INC-1"
    assert "the March statements are missing" in heard["text"]

    # A reply promise, owned by her case's concierge, due by her (fast) pace from INGEST_AT,
    # not from her Date header
    (made,) = [p for p in world.promises(INGEST_AT + MINUTE)["promises"] if p["kind"] == "reply"]
    assert (made["text"], made["owner"], made["due_at"], made["state"], made["outcome"]) == (
        "Reply to Margo Lane: Re: Bank sync failing", "alex", z(INGEST_AT + FAST), "open",
        "open",
    )  # fmt: skip
    listed = world.json("due", "--owner", "alex", "--within", "2h", when=INGEST_AT + MINUTE)
    assert [item["promise_id"] for item in listed] == [made["id"]]

    # An inbound contact does not keep it; our outbound answer does
    world.ocx("customer", "contact", MARGO, "She called about her mail", "--inbound",
              when=ANSWERED_AT - 10 * MINUTE)  # fmt: skip
    assert world.json("promise", "show", str(made["id"]), when=ANSWERED_AT)["state"] == "open"
    world.ocx("customer", "contact", MARGO, "Wrote back: a fix is rolling out", "--channel",
              "email", when=ANSWERED_AT)  # fmt: skip
    shown = world.json("promise", "show", str(made["id"]), when=ANSWERED_AT + MINUTE)
    assert (shown["state"], shown["done_at"], shown["outcome"]) == (
        "done", z(ANSWERED_AT), judged(INGEST_AT + FAST, ANSWERED_AT, ANSWERED_AT + MINUTE)
    )  # fmt: skip
    assert shown["outcome"] == "kept"

    # Resolved: her check is promised to her concierge, due confirm_after later
    world.ocx("incident", "resolve", "1", "--customer", MARGO, when=RESOLVED_AT)
    case = world.case(RESOLVED_AT)
    assert (case["state"], case["resolved_at"]) == ("resolved", z(RESOLVED_AT))
    (check,) = [p for p in world.promises(RESOLVED_AT)["promises"] if p["kind"] == "check"]
    assert (check["text"], check["owner"], check["due_at"], check["state"]) == (
        "Check with Margo Lane that it is fixed", "alex", z(RESOLVED_AT + CONFIRM_AFTER), "open"
    )  # fmt: skip
    return update_id


def test_update_reply_ingest_answer_resolve_confirm(world: World) -> None:
    _through_resolve(world)
    # A day later alex hears it works and records it, as the concierge
    confirmed_at = RESOLVED_AT + DAY - 2 * HOUR
    world.configure(user="alex")
    world.ocx("incident", "confirm", "INC-1", MARGO, "--note", "Statements are back",
              when=confirmed_at)  # fmt: skip
    case = world.case(confirmed_at)
    assert (case["state"], case["confirmed_at"], case["confirmed_by"]) == (
        "confirmed", z(confirmed_at), "alex"
    )  # fmt: skip
    confirmed = world.json("incident", "cases", "INC-1", "--state", "confirmed", when=confirmed_at)
    assert [c["customer_email"] for c in confirmed] == [MARGO]
    counts = world.json("incident", "show", "INC-1", when=confirmed_at)["cases"]
    assert (counts.get("confirmed"), counts.get("resolved", 0)) == (1, 0)  # counted apart

    # Everything promised to her, judged once every due time has passed
    later = RESOLVED_AT + 3 * DAY
    expected = [  # by original due time
        ("reply", "alex", INGEST_AT + FAST, ANSWERED_AT),
        ("next_update", "sam", UPDATE_AT + NEXT_UPDATE, RESOLVED_AT),  # her case: the last
        ("check", "alex", RESOLVED_AT + CONFIRM_AFTER, confirmed_at),
    ]
    data = world.promises(later)
    assert [(p["kind"], p["owner"], p["due_at"], p["done_at"], p["outcome"])
            for p in data["promises"]] == [
        (kind, owner, z(due), z(done), judged(due, done, later))
        for kind, owner, due, done in expected
    ]  # fmt: skip
    came_due = [judged(due, done, later) for _, _, due, done in expected if due <= later]
    assert data["follow_through"] == pytest.approx(came_due.count("kept") / len(came_due))
    assert data["follow_through"] == pytest.approx(1.0)
    (check,) = [p for p in data["promises"] if p["kind"] == "check"]
    assert check["note"] == "Statements are back"
    timeline = world.json("customer", "timeline", MARGO, when=later)
    assert any(e["text"] == "Confirmed fixed: INC-1: Bank sync failing (Statements are back)"
               for e in timeline)  # fmt: skip


def test_update_reply_ingest_answer_resolve_not_fixed_reopen(world: World) -> None:
    update_id = _through_resolve(world)
    # Early next morning she writes again in the same thread: not fixed
    second_at = RESOLVED_AT + 18 * HOUR
    again = world.reply(2, "Not fixed: March is still missing.", in_reply_to=None,
                        references=f"{update_id} <margo-1@mail.example.com>",
                        sent="Thu, 26 Nov 2026 05:55:00 +0000")  # fmt: skip
    assert world.ingest(again, when=second_at) == {"ingested": 1, "duplicates": 1, "unmatched": 0}
    assert world.case(second_at)["state"] == "resolved"  # a reply never moves a case back
    replies = [p for p in world.promises(second_at)["promises"] if p["kind"] == "reply"]
    assert [(p["state"], p["due_at"]) for p in replies] == [
        ("done", z(INGEST_AT + FAST)), ("open", z(second_at + FAST))
    ]  # fmt: skip
    # her case is resolved, not open: the inbox owner (the configured user) owns the reply
    assert replies[1]["owner"] == "tester"

    reopened_at = second_at + 30 * MINUTE
    note = "March statements still missing after the fix"
    world.ocx("incident", "reopen", "INC-1", MARGO, "--note", note, when=reopened_at)
    case = world.case(reopened_at)
    assert (case["state"], case["resolved_at"]) == ("contacted", None)
    timeline = world.json("customer", "timeline", MARGO, when=reopened_at)
    assert sorted((e["kind"], e["text"]) for e in timeline if note in e["text"]) == [
        ("incident", f"Reopened INC-1: Bank sync failing: not fixed ({note})"),
        ("promise", f"Kept: Check with Margo Lane that it is fixed (not fixed: {note})"),
    ]  # fmt: skip
    assert note in world.ocx("customer", "timeline", MARGO, when=reopened_at).stdout
    # confirm and reopen need a resolved case
    for step in (("confirm", "INC-1", MARGO), ("reopen", "INC-1", MARGO, "--note", "again")):
        result = world.run("incident", *step, env={"OCX_NOW": z(reopened_at)})
        assert result.exit_code == 1 and "not resolved" in result.stderr, result.output

    # The check was asked and answered (kept); her second mail is still unanswered, past due
    later = reopened_at + 2 * HOUR
    expected = [  # by original due time
        ("reply", INGEST_AT + FAST, ANSWERED_AT),
        ("next_update", UPDATE_AT + NEXT_UPDATE, RESOLVED_AT),
        ("reply", second_at + FAST, None),  # a reopen is not an answer to her mail
        ("check", RESOLVED_AT + CONFIRM_AFTER, reopened_at),
    ]
    data = world.promises(later)
    assert [(p["kind"], p["due_at"], p["done_at"], p["outcome"]) for p in data["promises"]] == [
        (kind, z(due), z(done) if done else None, judged(due, done, later))
        for kind, due, done in expected
    ]  # fmt: skip
    came_due = [judged(due, done, later) for _, due, done in expected if due <= later]
    assert data["follow_through"] == pytest.approx(came_due.count("kept") / len(came_due))
    assert data["follow_through"] == pytest.approx(2 / 3)  # the check is not yet due
