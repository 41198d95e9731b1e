"""Writes the Help Scout Mailbox API 2.0 responses in this folder, shaped field for field
like Help Scout's own examples (see README.md for which endpoint each file answers and where
its shape comes from). Standard library only, deterministic: run it from anywhere and it
rewrites every file in place.

    python contrib/ocx-helpscout/tests/data-api/build.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FOLDERS = ("threads", "previews", "people-later")
API = "https://api.helpscout.net/v2"


def write(relative: str, data: Any) -> None:
    path = HERE / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    # Help Scout sends application/hal+json in UTF-8, non-ASCII as it is; "\r\n" in a
    # string stays the JSON escape, so the file itself has plain line ends.
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def page(kind: str, items: list[dict[str, Any]], number: int, total_pages: int, size: int,
         total: int, query: str = "") -> dict[str, Any]:  # fmt: skip
    """A HAL list response: `_embedded.{kind}`, `page` and the `_links` the API adds (next
    only while there is a next page), as in the List Conversations and List Customers
    examples and Help Scout's PHP SDK test payloads."""
    base = f"{API}/{kind}{'?' + query if query else ''}"
    joiner = "&" if query else "?"
    links: dict[str, Any] = {
        "self": {"href": f"{base}{joiner}page={number}"},
        "first": {"href": f"{base}{joiner}page=1"},
        "last": {"href": f"{base}{joiner}page={total_pages}"},
        "page": {"href": f"{API}/{kind}{{?page}}", "templated": True},
    }
    if number < total_pages:
        links["next"] = {"href": f"{base}{joiner}page={number + 1}"}
    out: dict[str, Any] = {
        "_embedded": {kind: items},
        "page": {"size": size, "totalElements": total, "totalPages": total_pages,
                 "number": number},
        "_links": links,
    }  # fmt: skip
    if not items:
        del out["_embedded"]  # "The _embedded key is not set when empty" (PHP SDK payloads)
    return out


# --- customers: the Customer object of List Customers (GET /v2/customers) -------------------


def entries(cid: int, kind: str, values: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
    return [
        {"id": eid, "value": value, "type": kind_of,
         "_links": {"self": {"href": f"{API}/customers/{cid}/{kind}/{eid}"}}}
        for eid, value, kind_of in values
    ]  # fmt: skip


def customer(cid: int, first: str, last: str, *, emails: list[tuple[int, str, str]],
             phones: list[tuple[int, str, str]] = (), gender: str = "Unknown",  # type: ignore[assignment]
             job: str | None = None, location: str | None = None,
             organization: str | None = None, photo_type: str = "unknown", age: str | None = None,
             background: str | None = None, created: str, updated: str) -> dict[str, Any]:  # fmt: skip
    """A customer as List Customers returns it: emails and phones embedded. Help Scout leaves
    out a key whose value is empty (no jobTitle, no organization)."""
    out: dict[str, Any] = {
        "id": cid, "firstName": first, "lastName": last, "gender": gender, "jobTitle": job,
        "location": location, "organization": organization, "photoType": photo_type,
        "photoUrl": "https://d33v4339jhl8k0.cloudfront.net/customer-avatar/05.png",
        "age": age, "createdAt": created, "updatedAt": updated, "background": background,
        "_embedded": {
            "emails": entries(cid, "emails", emails), "phones": entries(cid, "phones", list(phones)),
            "chats": [], "social_profiles": [], "websites": [], "properties": [],
        },
        "_links": {
            name: {"href": f"{API}/customers/{cid}/{name}"}
            for name in ("address", "chats", "emails", "phones", "social-profiles", "websites")
        } | {"self": {"href": f"{API}/customers/{cid}"}},
    }  # fmt: skip
    return {k: v for k, v in out.items() if v is not None}


# The Help Scout docs' own people: Vernon Bear (the Customer object and List Threads
# examples), John Doe and Jane Smith (Get Organization Customers), Big Bird (the PHP SDK's
# customer payload, whose id 238604 its conversations name as primaryCustomer).
VERNON = customer(
    29418, "Vernon", "Bear", emails=[(1, "vbear@mywork.com", "work")],
    phones=[(1, "222-333-4444", "work")], gender="Male", job="CEO and Co-Founder",
    location="Greater Dallas/FT Worth Area", organization="Acme, Inc", photo_type="twitter",
    age="30-35", background="I've worked with Vernon before and he's really great.",
    created="2012-07-23T12:34:12Z", updated="2012-07-24T20:18:33Z",
)  # fmt: skip
JOHN = customer(
    100, "John", "Doe", emails=[(1001, "john@testcompany.com", "work")], gender="Male",
    job="Software Engineer", location="San Francisco, CA", organization="Test Company",
    photo_type="gravatar", age="25-30", background="Experienced developer",
    created="2023-01-15T10:30:00Z", updated="2023-06-20T14:45:00Z",
)  # fmt: skip
JANE = customer(
    101, "Jane", "Smith", emails=[(1011, "jane@testcompany.com", "work")], gender="Female",
    job="Product Manager", location="New York, NY", organization="Test Company",
    photo_type="twitter", age="30-35", background="Product strategy expert",
    created="2023-02-10T09:15:00Z", updated="2023-06-21T16:20:00Z",
)  # fmt: skip
# A caller Help Scout knows only by phone: `emails` is empty.
PAT = customer(
    555, "Pat", "Caller", emails=[], phones=[(5551, "+1 214 555 0100", "mobile")],
    created="2023-03-01T08:00:00Z", updated="2023-03-01T08:00:00Z",
)  # fmt: skip
BIG_BIRD = customer(
    238604, "Big", "Bird", emails=[(1, "bigbird@sesamestreet.com", "work")],
    phones=[(1, "222-333-4444", "work")], job="Entertainer", location="US",
    organization="Sesame Street", age="52", background="Big yellow bird",
    created="2017-04-21T14:39:56Z", updated="2017-04-21T14:43:24Z",
)  # fmt: skip


# --- conversations: the Conversation object of List Conversations (GET /v2/conversations) ---

AGENT = {"id": 4, "type": "user", "first": "Support", "last": "Agent",
         "email": "agent@helpscout.com"}  # fmt: skip


def person(p: dict[str, Any], kind: str = "customer", keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """A customer as a conversation names them ({id, type, first, last, email}), only `keys`
    when given (Help Scout sends some with just an id, or just an email)."""
    email = p["_embedded"]["emails"][0]["value"] if p["_embedded"]["emails"] else None
    out = {"id": p["id"], "type": kind, "first": p["firstName"], "last": p["lastName"],
           "email": email}  # fmt: skip
    out = {k: v for k, v in out.items() if v is not None}
    return {k: v for k, v in out.items() if k in keys} if keys else out


def thread(tid: int, kind: str, body: str | None, created: str, by: dict[str, Any], *,
           customer: dict[str, Any], status: str = "active", state: str = "published",
           source: str = "email", rating: dict[str, Any] | None = None,
           action: dict[str, Any] | None = None, to: tuple[str, ...] = (),
           assigned: dict[str, Any] | None = None, opened: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A thread as List Threads and List Conversations?embed=threads return it."""
    user = by.get("type") != "customer"
    out: dict[str, Any] = {
        "id": tid, "type": kind, "status": status, "state": state,
        "action": action or {"type": "default", "associatedEntities": {}},
        "body": body,
        "source": {"type": source, "via": "user" if user else "customer"},
        "customer": {k: v for k, v in customer.items() if k != "type"},
        "createdBy": by, "assignedTo": assigned, "savedReplyId": 0,
        "to": list(to), "cc": [], "bcc": [], "createdAt": created, "openedAt": opened,
        "rating": rating,
        "_embedded": {"attachments": []},
        "_links": {},
    }  # fmt: skip
    if "id" in by:
        who = "createdByUser" if user else "createdByCustomer"
        out["_links"][who] = {"href": f"{API}/{'users' if user else 'customers'}/{by['id']}"}
    if "id" in customer:
        out["_links"]["customer"] = {"href": f"{API}/customers/{customer['id']}"}
    return {k: v for k, v in out.items() if v is not None}


def conversation(cid: int, number: int, subject: str, preview: str, customer: dict[str, Any], *,
                 created: str, updated: str, status: str = "closed", kind: str = "email",
                 created_by: dict[str, Any] | None = None, tags: list[tuple[int, str]] = (),  # type: ignore[assignment]
                 fields: list[dict[str, Any]] = (), threads: list[dict[str, Any]] | None = None,  # type: ignore[assignment]
                 latest_from: str = "customer", source: str = "email",
                 assignee: dict[str, Any] | None = AGENT) -> dict[str, Any]:  # fmt: skip
    """A conversation as List Conversations returns it; with `threads` (embed=threads) its
    `_embedded.threads`, newest first, else no `_embedded` at all."""
    closed = status == "closed"
    out: dict[str, Any] = {
        "id": cid, "number": number, "threads": len(threads) if threads is not None else 2,
        "type": kind, "folderId": 1234, "status": status, "state": "published",
        "subject": subject, "preview": preview, "mailboxId": 85, "assignee": assignee,
        "createdBy": created_by or customer, "createdAt": created,
        "closedBy": AGENT["id"] if closed else None,
        "closedByUser": {**AGENT, "photoUrl": "https://example.com/agent.jpg"} if closed else None,
        "closedAt": updated if closed else None, "userUpdatedAt": updated,
        "customerWaitingSince": {"time": updated, "friendly": "Jun 20", "latestReplyFrom": latest_from},
        "source": {"type": source, "via": "customer"},
        "tags": [{"id": tid, "color": "#929499", "tag": tag} for tid, tag in tags],
        "cc": [], "bcc": [], "primaryCustomer": customer, "customFields": list(fields),
    }  # fmt: skip
    out = {k: v for k, v in out.items() if v is not None}
    if threads is not None:
        out["_embedded"] = {"threads": threads}
    out["_links"] = {
        "self": {"href": f"{API}/conversations/{cid}"},
        "mailbox": {"href": f"{API}/mailboxes/85"},
        "threads": {"href": f"{API}/conversations/{cid}/threads"},
        "web": {"href": f"https://secure.helpscout.net/conversation/{cid}/{number}/"},
    }
    if "id" in customer:
        out["_links"]["primaryCustomer"] = {"href": f"{API}/customers/{customer['id']}"}
    return out


def field(fid: int, name: str, value: str | None, text: str | None) -> dict[str, Any]:
    """A conversation's custom field: `value` is what is stored (a dropdown's option id),
    `text` what a person sees."""
    return {"id": fid, "name": name, "value": value, "text": text}


# A customer known only by email: no id (a primaryCustomer as a hand-written or imported
# conversation may carry it).
MORGAN = {"type": "customer", "first": "Morgan", "last": "Lee", "email": "morgan.lee@example.org"}

THREADED = [
    conversation(
        23,
        12,
        "Help with organization setup",
        "Thanks, that worked!",
        person(JOHN),
        created="2023-06-15T10:30:00Z",
        updated="2023-06-20T14:45:00Z",
        tags=[(9150, "vip")],
        threads=[
            thread(
                2303,
                "customer",
                "<p>Thanks, that worked!</p>",
                "2023-06-20T14:45:00Z",
                person(JOHN),
                customer=person(JOHN),
            ),
            thread(
                2302,
                "lineitem",
                None,
                "2023-06-16T09:00:01Z",
                AGENT,
                customer=person(JOHN),
                status="closed",
                action={"type": "default", "text": "Marked as closed", "associatedEntities": {}},
            ),
            thread(
                2301,
                "message",
                "<p>Hi John,</p><p>Open <b>Settings &gt; Team</b> and invite them there.</p>",
                "2023-06-16T09:00:00Z",
                AGENT,
                customer=person(JOHN),
                to=("john@testcompany.com",),
                opened="2023-06-16T10:01:25Z",
                rating={
                    "customerId": 100,
                    "rating": "great",
                    "comments": "Great job!",
                    "conversationNumber": 12,
                },
            ),
            thread(
                2300,
                "customer",
                "<p>Need help setting up the organization.</p><p>We are 12 people.</p>",
                "2023-06-15T10:30:00Z",
                person(JOHN),
                customer=person(JOHN),
            ),
        ],
        fields=[
            field(6688, "Account Type", "33077", "Enterprise"),
            field(6690, "Renewal date", None, None),
        ],
    ),
    conversation(
        24,
        13,
        "Follow-up question",
        "I have a follow-up question about...",
        person(JANE),
        created="2023-06-21T11:00:00Z",
        updated="2023-06-21T16:20:00Z",
        status="active",
        tags=[(9151, "follow-up"), (9152, "billing")],
        latest_from="customer",
        created_by=person(JANE, keys=("id", "type", "email")),
        threads=[
            thread(
                2402,
                "note",
                "<p>Check her invoice before replying.</p>",
                "2023-06-21T16:20:00Z",
                {"id": 7, "type": "user"},
                customer=person(JANE),
            ),
            thread(
                2401,
                "customer",
                "<p>I have a follow-up question about my invoice.</p>",
                "2023-06-21T11:00:00Z",
                person(JANE, keys=("id", "type", "email")),
                customer=person(JANE),
            ),
        ],
        fields=[field(6689, "Order number", "A-1001", "A-1001")],
    ),
    conversation(
        27,
        14,
        "I love your service",
        "this is what i have to say: I love your service.",
        person(VERNON),
        created="2015-06-05T20:18:33Z",
        updated="2015-06-07T10:01:25Z",
        kind="chat",
        source="beacon",
        latest_from="user",
        threads=[
            thread(
                1235,
                "chat",
                "<p>Thank you, Vernon!</p>",
                "2015-06-07T10:01:25Z",
                AGENT,
                customer=person(VERNON),
                source="chat",
                rating={"customerId": 29418, "rating": "okay", "comments": None},
            ),
            thread(
                1234,
                "chat",
                "this is what i have to say: I love your service.",
                "2015-06-05T20:18:33Z",
                person(VERNON),
                customer=person(VERNON),
                source="chat",
            ),
        ],
    ),
]
THREADED_2 = [
    conversation(
        25,
        15,
        "Question about pricing",
        "Do you offer a discount for schools?",
        MORGAN,
        created="2023-07-01T08:00:00Z",
        updated="2023-07-01T08:00:00Z",
        status="active",
        assignee=None,
        threads=[
            thread(
                2501,
                "customer",
                "<p>Do you offer a discount for schools?</p>",
                "2023-07-01T08:00:00Z",
                MORGAN,
                customer=MORGAN,
            ),
        ],
    ),
    conversation(
        26,
        16,
        "Phone call",
        "Called about his delivery.",
        person(PAT),
        kind="phone",
        source="phone",
        created="2023-07-02T15:00:00Z",
        updated="2023-07-02T15:05:00Z",
        threads=[
            thread(
                2601,
                "phone",
                "<p>Called about his delivery.</p>",
                "2023-07-02T15:00:00Z",
                AGENT,
                customer=person(PAT),
                source="phone",
            ),
        ],
    ),
]

# Listed without embed=threads: the Help Scout PHP SDK's conversation payload (primaryCustomer
# only an id, 238604, whom no customers page here holds), one naming John by id and email,
# one naming a customer by email only.
PREVIEWS = [
    conversation(
        1,
        15473,
        "Need Help",
        "I'm having a hard time resolving this",
        {"id": 238604},
        created="2017-04-21T14:39:56Z",
        updated="2017-04-21T14:43:24Z",
        created_by={"id": 12, "type": "customer", "email": "bear@acme.com"},
        tags=[(9150, "vip")],
        fields=[field(6688, "Account Type", "33077", None)],
        assignee={"id": 256, "first": "Mr", "last": "Robot", "email": "none@nowhere.com"},
    ),
    conversation(
        2,
        15474,
        "Invoice copy",
        "Hi John,\r\nthe invoice is attached.\r\nSupport",
        person(JOHN),
        created="2023-08-01T09:00:00Z",
        updated="2023-08-01T12:00:00Z",
        status="pending",
        latest_from="user",
    ),
    conversation(
        3,
        15475,
        "Pricing again",
        "Is the school discount still on?",
        MORGAN,
        created="2023-08-02T09:00:00Z",
        updated="2023-08-02T09:00:00Z",
        status="active",
    ),
]


def build() -> None:
    for folder in FOLDERS:
        shutil.rmtree(HERE / folder, ignore_errors=True)
    query = "embed=threads&status=all&sortField=createdAt&sortOrder=asc"
    write("threads/customers-1.json", page("customers", [VERNON, JOHN], 1, 2, 2, 4))
    write("threads/customers-2.json", page("customers", [JANE, PAT], 2, 2, 2, 4))
    write("threads/conversations-1.json", page("conversations", THREADED, 1, 2, 3, 5, query))
    write("threads/conversations-2.json", page("conversations", THREADED_2, 2, 2, 3, 5, query))
    write("previews/conversations.json",
          page("conversations", PREVIEWS, 1, 1, 25, 3, "status=all"))  # fmt: skip
    write("people-later/customers.json", page("customers", [BIG_BIRD], 1, 1, 50, 1))


if __name__ == "__main__":
    build()
