"""Write the Freshdesk API v2 responses in this folder (see README.md): stdlib only,
deterministic, re-runnable (`python contrib/ocx-freshdesk/tests/data-api/build.py`).

Every record has the fields, in the order, of a published example: airbyte's recorded
responses of a live Freshdesk account (airbytehq/airbyte, source-freshdesk
integration_tests/expected_records.jsonl and unit_tests/resource/http/response/tickets.json)
and the examples of developers.freshdesk.com/api. Values are the recorded ones where a
recording has them; where one is changed or added to cover a case, a comment says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ACCOUNT = "support@newaccount1603334233301.freshdesk.com"
FONT = (
    '<div style="font-family:-apple-system, BlinkMacSystemFont, Segoe UI, Roboto, Helvetica '
    'Neue, Arial, sans-serif; font-size:14px"><div dir="ltr">{}</div></div>'
)

# --- export/: GET /api/v2/tickets?include=requester,description,stats, no contacts ----------

TEAM_AIRBYTE = 67013469919  # the recorded account's agent (responder_id, conversation user_id)
TEST_AGENT_1 = 67021120644


def agent(agent_id: int, name: str, email: str, occasional: bool, created: str) -> dict[str, Any]:
    """GET /api/v2/agents: the recorded agents, in the documented response's field order."""
    return {
        "available": False, "occasional": occasional, "signature": None, "id": agent_id,
        "ticket_scope": 1, "created_at": created, "updated_at": created,
        "available_since": None, "type": "support_agent",
        "contact": {
            "active": not occasional, "email": email, "job_title": None, "language": "en",
            "last_login_at": None, "mobile": None, "name": name, "phone": None,
            "time_zone": "Magadan", "created_at": created, "updated_at": created,
        },
        "focus_mode": True,
    }  # fmt: skip


AGENTS = [
    agent(67013469930, "Customer Service", "custserv@freshdesk.com", True, "2020-10-22T02:37:15Z"),
    agent(TEAM_AIRBYTE, "Team Airbyte", "integration-test@airbyte.io", False,
          "2020-10-22T02:37:13Z"),
    agent(TEST_AGENT_1, "Test Agent 1", "test_agent_1@test.com", True, "2021-02-11T22:20:50Z"),
]  # fmt: skip


def company(company_id: int, name: str, **values: Any) -> dict[str, Any]:
    """GET /api/v2/companies, the documented response's fields."""
    return {
        "id": company_id, "name": name, "description": None, "note": None, "domains": [],
        "created_at": "2021-11-16T14:48:31Z", "updated_at": "2021-11-16T14:48:31Z",
        "custom_fields": {}, "health_score": None, "account_tier": None, "renewal_date": None,
        "industry": None, **values,
    }  # fmt: skip


COMPANIES = [
    company(67000893975, "Abbott Group"),  # recorded
    # the recorded tickets' and Iryna's company_id; its name is not in the recording: ours
    company(67001265522, "Airbyte", domains=["airbyte.io"], account_tier="Premium"),
]


def ticket(
    ticket_id: int,
    requester: dict[str, Any],
    *,
    subject: str,
    html: str,
    text: str,
    created: str,
    updated: str,
    **values: Any,
) -> dict[str, Any]:
    """One ticket of GET /api/v2/tickets?include=requester,description,stats, the recorded
    tickets' fields in their order."""
    record = {
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [],
        "fr_escalated": False, "spam": False, "email_config_id": None, "group_id": None,
        "priority": 1, "requester_id": requester["id"], "responder_id": None, "source": 3,
        "company_id": None, "status": 2, "subject": subject, "association_type": None,
        "support_email": None, "to_emails": None, "product_id": None, "id": ticket_id,
        "type": None, "due_by": None, "fr_due_by": None, "is_escalated": False,
        "custom_fields": {}, "created_at": created, "updated_at": updated,
        "associated_tickets_count": None, "tags": [], "description": html,
        "description_text": text, "requester": requester,
        "stats": {
            "agent_responded_at": None, "requester_responded_at": None,
            "first_responded_at": None, "status_updated_at": created, "reopened_at": None,
            "resolved_at": None, "closed_at": None, "pending_since": None,
        },
        "nr_due_by": None, "nr_escalated": False,
    }  # fmt: skip
    unknown = set(values) - set(record)
    assert not unknown, f"not a field of the recorded tickets: {unknown}"
    record.update(values)
    return record


def requester(
    requester_id: int, name: str, email: str | None, mobile: str | None, phone: str | None
) -> dict[str, Any]:
    """include=requester: "the requester's email, id, mobile, name, and phone"."""
    return {"id": requester_id, "name": name, "email": email, "mobile": mobile, "phone": phone}


MATT = requester(67038833126, "Matt Rogers", "matt.rogers@freshdesk.com", None, "+61 1800 861 302")
SARAH = requester(67038833129, "Sarah James", "sarah.james@freshdesk.com", None, "+1 (855) 747 676")
IRYNA = requester(67042965499, "Iryna Grankova", "iryna.grankova@airbyte.io", "+380636306253",
                  None)  # fmt: skip
JESSICA_RANGEL = requester(67032849498, "Jessica Rangel", "reyesamanda@example.com", None, None)
# Two recorded contacts share a name: a name alone must never make them one customer.
JESSICA_REYES_1 = requester(67032918027, "Jessica Reyes", "felicia35@example.org",
                            "(155)337-5393", "001-163-300-9875")  # fmt: skip
JESSICA_REYES_2 = requester(67032861849, "Jessica Reyes", "jason29@example.net", None, None)
# Ours: an agent who opened a ticket for themselves, and a caller Freshdesk knows by phone only.
AGENT_REQUESTER = requester(TEST_AGENT_1, "Test Agent 1", "test_agent_1@test.com", None, None)
CALLER = requester(67038833140, "Tom Baker", None, None, "+44 20 7946 0000")

# Page 1 (per_page=4 here, to have pages; Freshdesk's is up to 100). Tickets 18, 19, 20
# and 21 as recorded, except where a comment says.
PAGE_1 = [
    ticket(
        18, MATT, subject="Payment failed",
        html='I was trying to make a payment on your site and got a "Your payment failed" error. '
        "However, my card was charged. Can you let me know if the order is processed or what I "
        "need to do? Please see the attached screenshot.<br><br> Thanks,<br> Matt",
        text='I was trying to make a payment on your site and got a "Your payment failed" error. '
        "However, my card was charged. Can you let me know if the order is processed or what I "
        "need to do? Please see the attached screenshot.\n\nThanks,\nMatt",
        created="2020-10-22T02:37:13Z", updated="2022-05-26T21:26:52Z", cc_emails=None,
        fwd_emails=None, reply_cc_emails=None, ticket_cc_emails=None, fr_escalated=True,
        group_id=67000259997, priority=2, source=1, type="Question",
        due_by="2022-05-26T21:25:35Z", fr_due_by="2022-05-26T05:25:35Z", is_escalated=True,
    ),
    ticket(
        19, SARAH, subject="Received a broken TV",
        html="Hi,<br><br> The television I ordered from your site was delivered with a cracked "
        "screen. I need some help with a refund or a replacement.<br><br> Here is the order "
        "number <b>FD07062010 </b><br><br> Thanks,<br> Sarah",
        # recorded with \n; as an email client sends it (CRLF), to test line endings
        text="Hi,\r\n\r\nThe television I ordered from your site was delivered with a cracked "
        "screen. I need some help with a refund or a replacement.\r\n\r\nHere is the order "
        "number FD07062010\r\n\r\nThanks,\r\nSarah",
        created="2020-10-22T02:37:13Z", updated="2022-05-28T21:26:13Z", cc_emails=None,
        fwd_emails=None, reply_cc_emails=None, ticket_cc_emails=None, fr_escalated=True,
        group_id=67000259997, source=1, type="Refund",  # recorded "Question"; Refund is a
        # choice of the recorded account's ticket_fields
        priority=3,  # recorded 1
        tags=["refund", "damaged in transit"],  # recorded []
        custom_fields={"cf_order_number": "FD07062010", "cf_refund_approved": True,
                       "cf_reviewed_by": None},  # recorded {}
        due_by="2022-05-28T21:25:35Z", fr_due_by="2022-05-26T21:25:35Z", is_escalated=True,
    ),
    ticket(
        20, IRYNA, subject="Test", html=FONT.format("Test"), text="Test",
        created="2022-11-16T15:58:29Z", updated="2022-11-19T16:10:34Z", fr_escalated=True,
        group_id=67000259995, company_id=67001265522, type="Question",
        due_by="2022-11-19T15:58:29Z", fr_due_by="2022-11-17T15:58:29Z", is_escalated=True,
    ),
    ticket(
        21, IRYNA, subject="Test", html=FONT.format("Test"), text="Test",
        created="2022-11-16T15:59:28Z", updated="2022-11-16T15:59:28Z",
        email_config_id=67000041667, responder_id=TEAM_AIRBYTE, source=10, company_id=67001265522,
        status=5, support_email=ACCOUNT, to_emails=[ACCOUNT], due_by="2022-11-19T15:59:28Z",
        fr_due_by="2022-11-17T15:59:28Z",
    ),
]  # fmt: skip

# Page 2: tickets 22 and 23 as recorded; 24 to 27 ours, in the same shape.
PAGE_2 = [
    ticket(
        22, JESSICA_RANGEL, subject="Test 1", html=FONT.format("Test 1"), text="Test 1",
        created="2022-11-16T16:03:17Z", updated="2022-11-16T16:17:05Z",
        responder_id=TEAM_AIRBYTE, status=3, type="Problem", due_by="2022-11-19T16:03:17Z",
        fr_due_by="2022-11-17T16:03:17Z",
    ),
    ticket(
        23, IRYNA, subject="Test", html=FONT.format("Test<br><br>\n"), text="Test",
        created="2022-11-22T15:00:34Z", updated="2022-11-22T15:02:37Z",
        email_config_id=67000041667, responder_id=TEAM_AIRBYTE, source=10, company_id=67001265522,
        status=5, support_email=ACCOUNT, to_emails=[ACCOUNT], due_by="2022-11-25T15:00:34Z",
        fr_due_by="2022-11-23T15:00:34Z",
    ),
    ticket(
        24, JESSICA_REYES_1, subject="Order arrived late",
        html="<div>My order arrived a week late.</div>", text="My order arrived a week late.",
        created="2022-11-23T09:00:00Z", updated="2022-11-23T09:30:00Z", source=7, priority=4,
        status=6,  # a custom status: Freshdesk numbers those from 6
        company_id=67000893975, tags=["shipping"],
    ),
    ticket(
        25, JESSICA_REYES_2, subject="Feedback on checkout",
        html="<div>The checkout page is slow.</div>", text="The checkout page is slow.",
        created="2022-11-23T10:00:00Z", updated="2022-11-23T10:00:00Z", source=9,
    ),
    ticket(
        26, AGENT_REQUESTER, subject="Internal: check refund queue",
        html="<div>Please check the refund queue.</div>", text="Please check the refund queue.",
        created="2022-11-23T11:00:00Z", updated="2022-11-23T11:00:00Z", source=2,
    ),
    ticket(
        27, CALLER, subject="Call about invoice",
        html="<div>Caller asked about invoice 1042.</div>", text="Caller asked about invoice 1042.",
        created="2022-11-23T12:00:00Z", updated="2022-11-23T12:00:00Z", source=3,
    ),
]  # fmt: skip


def entry(entry_id: int, ticket_id: int, body: str, text: str, **values: Any) -> dict[str, Any]:
    """GET /api/v2/tickets/[id]/conversations: the recorded entries' fields in their order."""
    record = {
        "body": body, "body_text": text, "id": entry_id, "incoming": False, "private": False,
        "user_id": TEAM_AIRBYTE, "support_email": ACCOUNT, "source": 0, "category": 3,
        "to_emails": [], "from_email": f"Airbyte <{ACCOUNT}>", "cc_emails": [],
        "bcc_emails": [], "email_failure_count": None, "outgoing_failures": None,
        "thread_id": None, "thread_message_id": None, "created_at": None, "updated_at": None,
        "last_edited_at": None, "last_edited_user_id": None, "attachments": [],
        "automation_id": None, "automation_type_id": None, "auto_response": False,
        "ticket_id": ticket_id, "source_additional_info": None,
    }  # fmt: skip
    unknown = set(values) - set(record)
    assert not unknown, f"not a field of the recorded entries: {unknown}"
    record.update(values)
    return record


CONVERSATIONS = {
    22: [  # as recorded
        entry(67105086049, 22,
              FONT.format("Hi Jessica Rangel,<br><br>Test reply<br><br>\n"),
              "Hi Jessica Rangel,  Test reply", to_emails=["reyesamanda@example.com"],
              email_failure_count=1, created_at="2022-11-16T16:16:58Z",
              updated_at="2022-11-16T16:16:58Z"),
        entry(67105086068, 22, FONT.format("Test note"), "Test note", private=True,
              support_email=None, source=2, category=2, from_email=None, bcc_emails=None,
              created_at="2022-11-16T16:17:05Z", updated_at="2022-11-16T16:17:05Z"),
    ],
    23: [  # as recorded
        entry(67105779551, 23,
              '<div style="font-family:-apple-system, BlinkMacSystemFont, Segoe UI, Roboto, '
              'Helvetica Neue, Arial, sans-serif; font-size:14px"><div>Hi Iryna Grankova,<br>'
              '<br><img id="cursor" rel="cursor" class="fr-fic fr-dii" style=""><br>\n</div>'
              "</div>",
              "Hi Iryna Grankova,", to_emails=["iryna.grankova@airbyte.io"],
              created_at="2022-11-22T15:02:12Z", updated_at="2022-11-22T15:02:12Z"),
        entry(67105779604, 23, "<div>test</div>", "test", incoming=True,
              user_id=67042965499, support_email=None, source=6, category=7, to_emails=None,
              from_email=None, bcc_emails=None, created_at="2022-11-22T15:02:29Z",
              updated_at="2022-11-22T15:02:29Z"),
    ],
    19: [  # ours, in the recorded shape: an agent's reply and the customer's emailed answer
        entry(67105000191, 19, "<div>Sorry about that! A replacement is on its way.</div>",
              "Sorry about that! A replacement is on its way.",
              to_emails=["sarah.james@freshdesk.com"], created_at="2022-05-27T08:00:00Z",
              updated_at="2022-05-27T08:00:00Z"),
        entry(67105000192, 19, "<div>Thank you!<br>Sarah</div>", "Thank you!\r\nSarah",
              incoming=True, user_id=SARAH["id"], support_email=None, source=0, category=2,
              to_emails=[ACCOUNT], from_email="sarah.james@freshdesk.com",
              created_at="2022-05-28T21:26:13Z", updated_at="2022-05-28T21:26:13Z"),
    ],
    26: [  # ours: the agent's own ticket has a note too; it goes with the skipped ticket
        entry(67105000261, 26, "<div>Done.</div>", "Done.", private=True, support_email=None,
              source=2, category=2, from_email=None, created_at="2022-11-23T11:05:00Z",
              updated_at="2022-11-23T11:05:00Z"),
    ],
}  # fmt: skip


def rating(
    rating_id: int,
    ticket_id: int,
    user_id: int,
    score: int,
    feedback: str | None,
    when: str,
    **questions: int,
) -> dict[str, Any]:
    """GET /api/v2/surveys/satisfaction_ratings: the recorded rating's fields in their order."""
    return {
        "id": rating_id, "survey_id": 67000084490, "user_id": user_id, "agent_id": TEAM_AIRBYTE,
        "feedback": feedback, "group_id": None, "ticket_id": ticket_id, "created_at": when,
        "updated_at": when, "ratings": {"default_question": score, **questions},
    }  # fmt: skip


RATINGS = [
    rating(
        67000499229,
        23,
        IRYNA["id"],
        103,
        "test",
        "2022-11-22T15:02:29Z",
        question_67000084816=103,
        question_67000084817=100,
        question_67000084818=100,
    ),
    # ^ as recorded
    # ours: Sarah answered twice; the later answer is the ticket's rating
    rating(67000499301, 19, SARAH["id"], -101, None, "2022-05-27T07:00:00Z"),
    rating(
        67000499302, 19, SARAH["id"], 102, "Quick replacement,\r\nthank you", "2022-05-28T22:00:00Z"
    ),
]

# --- plain/ and people/: the documented examples ------------------------------------------------
# GET /api/v2/tickets?include=description: "List All Tickets", its two example tickets with
# the description include=description adds, and "View a Ticket"'s ticket 20 in the list's
# shape. No requester is embedded: the people are in people/, fetched separately.


def doc_ticket(
    ticket_id: int, requester_id: int, subject: str, content: str, **values: Any
) -> dict[str, Any]:
    record = {
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "fr_escalated": False,
        "spam": False, "email_config_id": None, "group_id": None, "priority": 1,
        "requester_id": requester_id, "responder_id": None, "source": 2, "status": 2,
        "subject": subject, "to_emails": None, "product_id": None, "id": ticket_id,
        "type": None, "created_at": None, "updated_at": None, "due_by": None,
        "fr_due_by": None, "is_escalated": False, "description": f"<div>{content}</div>",
        "description_text": content,
        "structured_description": {
            "description_contents": [{"type": "text", "data": {"content": content}}]
        },
        "custom_fields": {"category": None},
    }  # fmt: skip
    unknown = set(values) - set(record)
    assert not unknown, f"not a field of the documented tickets: {unknown}"
    record.update(values)
    return record


PLAIN_TICKETS = [
    doc_ticket(
        18, 2, "Please help", "Please help with this issue",  # requester_id 5 in the docs
        cc_emails=["user@cc.com", "user2@cc.com"], reply_cc_emails=["user@cc.com", "user2@cc.com"],
        group_id=2, responder_id=1, type="Lead",  # the docs print Lead unquoted
        created_at="2015-08-17T12:02:50Z", updated_at="2015-08-17T12:02:51Z",
        due_by="2015-08-20T11:30:00Z", fr_due_by="2015-08-18T11:30:00Z",
        custom_fields={"category": "Default"},
    ),
    doc_ticket(
        17, 432, "", "Another ticket description",  # requester_id 1 in the docs
        created_at="2015-08-17T12:02:06Z", updated_at="2015-08-17T12:02:07Z",
        due_by="2015-08-20T11:30:00Z", fr_due_by="2015-08-18T11:30:00Z",
    ),
    doc_ticket(
        20, 434, "", "Not given.",  # requester_id 1 in the docs; page 2 of the contacts
        cc_emails=["user@cc.com"], reply_cc_emails=["user@cc.com"],
        created_at="2015-08-24T11:56:51Z", updated_at="2015-08-24T11:59:05Z",
        due_by="2015-08-27T11:30:00Z", fr_due_by="2015-08-25T11:30:00Z",
        custom_fields={"category": "Primary"},
    ),
]  # fmt: skip

# "List All Conversations of a Ticket", as documented: a private note by agent 1.
PLAIN_CONVERSATIONS = {
    20: [
        {
            "body_text": "Please reply as soon as possible.",
            "body": "<div>Please reply as soon as possible.</div>",
            "structured_body": {"body_contents": [
                {"type": "text", "data": {"content": "Please reply as soon as possible."}}]},
            "id": 3, "incoming": False, "private": True, "user_id": 1, "support_email": None,
            "source": 2, "ticket_id": 20, "created_at": "2015-08-24T11:59:05Z",
            "updated_at": "2015-08-24T11:59:05Z", "from_email": "agent2@yourcompany.com",
            "to_emails": ["agent1@yourcompany.com"], "cc_emails": ["example@ccemail.com"],
            "bcc_emails": ["example@bccemail.com"], "attachments": [],
            "last_edited_at": "2015-08-24T11:59:59Z", "last_edited_user_id": 2,
        }
    ]
}  # fmt: skip


def doc_contact(
    contact_id: int, name: str, email: str, created: str, updated: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """GET /api/v2/contacts: "List All Contacts", as documented (its missing commas mended)."""
    return {
        "active": False, "address": None, "company_id": None, "description": None,
        "email": email, "id": contact_id, "contact_type": "contact", "job_title": None,
        "language": "en", "mobile": None, "name": name, "phone": None, "time_zone": "Chennai",
        "twitter_id": None, "social_handler": [], "created_at": created, "updated_at": updated,
        "custom_fields": fields,
    }  # fmt: skip


PEOPLE_PAGE_1 = [
    doc_contact(2, "Rachel", "rachel@freshdesk.com", "2015-08-18T16:18:14Z",
                "2015-08-24T09:25:19Z",
                {"department": "Admin", "fb_profile": None, "permanent": True}),
    doc_contact(432, "Super Man", "superman@freshdesk.com", "2015-08-28T09:08:16Z",
                "2015-08-28T09:08:16Z",
                {"department": "Production",
                 "fb_profile": "https://www.facebook.com/superman.567384", "permanent": True}),
]  # fmt: skip
PEOPLE_PAGE_2 = [
    doc_contact(434, "Green Lantern", "greenlantern@freshdesk.com", "2015-08-28T10:27:58Z",
                "2015-08-28T10:27:58Z",
                {"department": "Operations", "fb_profile": None, "permanent": False}),
]  # fmt: skip


def save(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build() -> None:
    for name in ("export", "plain", "people"):
        shutil.rmtree(HERE / name, ignore_errors=True)
    export = HERE / "export"
    save(export / "tickets.json", PAGE_1)
    save(export / "tickets-2.json", PAGE_2)
    save(export / "tickets-3.json", [])  # the page after the last: Freshdesk answers []
    save(export / "agents.json", AGENTS)
    save(export / "companies.json", COMPANIES)
    save(export / "satisfaction_ratings.json", RATINGS)
    for ticket_id, entries in CONVERSATIONS.items():
        save(export / "conversations" / f"{ticket_id}.json", entries)
    plain = HERE / "plain"
    save(plain / "tickets.json", PLAIN_TICKETS)
    for ticket_id, entries in PLAIN_CONVERSATIONS.items():
        save(plain / "conversations" / f"{ticket_id}.json", entries)
    save(HERE / "people" / "contacts.json", PEOPLE_PAGE_1)
    save(HERE / "people" / "contacts-2.json", PEOPLE_PAGE_2)


if __name__ == "__main__":
    build()
