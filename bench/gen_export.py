#!/usr/bin/env python3
# ruff: noqa: UP031  (%-formatting of whole records is the fast path for a million of them)
"""Deterministic generator of large helpdesk exports (stdlib only), for the import benchmarks.

    python bench/gen_export.py FORMAT N OUTDIR [--seed S] [--comments | --no-comments]

FORMAT is zendesk | freshdesk | helpscout | csv.  Writes N tickets/conversations
and max(1, N // 5) customers, in the same shapes as the hand-written samples
in tests/fixtures/ (see its README.md):

    zendesk    OUTDIR/zendesk/tickets.json        incremental cursor export, include=users
               OUTDIR/zendesk/comments/{id}.json  (only with --comments; default on for N <= 20000)
    freshdesk  OUTDIR/freshdesk/contacts.json, OUTDIR/freshdesk/tickets.json
               OUTDIR/freshdesk/conversations/{id}.json (same rule as zendesk comments)
    helpscout  OUTDIR/helpscout/customers.json, OUTDIR/helpscout/conversations.json (embed=threads)
    csv        OUTDIR/csv/customers.csv, OUTDIR/csv/tickets.csv

Output is written as a stream (one record at a time), so memory stays flat for
N = 1,000,000.  The same seed gives byte-identical output, and the same seed
gives the same people in every format: customer k has the same email in all
formats, except that in freshdesk every 10th customer's email is upper-cased
(to exercise case-insensitive matching).  Two Zendesk agents are appended to the
Zendesk users list (role "agent"/"admin"); they are not customers.
"""

import argparse
import json
import os
import random
import sys
import time

FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Dário",
    "Emre",
    "Fatima",
    "Göran",
    "Hana",
    "Ilse",
    "Jonas",
    "Kofi",
    "Lucía",
    "Mateus",
    "Nora",
    "Olek",
    "Priya",
    "Quentin",
    "Rūta",
    "Søren",
    "Tomás",
    "Uma",
    "Vera",
    "Wen",
    "Yusuf",
    "Zoë",
    "Ægir",
    "Łucja",
    "Ngozi",
    "Hiroshi",
    "Siobhán",
]
LAST = [
    "Abara",
    "Berg",
    "Castro",
    "Dąbrowski",
    "Eriksen",
    "Fournier",
    "García",
    "Hoang",
    "Ivanova",
    "Jensen",
    "Kowalczyk",
    "López",
    "Müller",
    "Nakamura",
    "O'Connell",
    "Petrović",
    "Quispe",
    "Rossi",
    "Şahin",
    "Tanaka",
    "Underwood",
    "Van Dijk",
    "Wójcik",
    "Xu",
    "Yılmaz",
    "Zapata",
    "Ångström",
    "Núñez",
    "Okafor",
    "Søndergaard",
]
CJK = [
    ("健太", "佐藤"),
    ("美咲", "鈴木"),
    ("陽翔", "高橋"),
    ("さくら", "田中"),
    ("伟", "王"),
    ("芳", "李"),
]
ASCII = str.maketrans(
    {
        "é": "e",
        "á": "a",
        "ü": "u",
        "ö": "o",
        "ū": "u",
        "ø": "o",
        "Ø": "O",
        "Æ": "AE",
        "æ": "ae",
        "Ł": "L",
        "ł": "l",
        "ą": "a",
        "ó": "o",
        "ñ": "n",
        "ú": "u",
        "ş": "s",
        "Ş": "S",
        "ı": "i",
        "ć": "c",
        "ë": "e",
        "Å": "A",
        "å": "a",
        "'": "",
        " ": "",
    }
)
DOMAINS = [
    "example.com",
    "example.org",
    "example.net",
    "mail.example.co.uk",
    "example.de",
    "example.jp",
]
TZ = [
    ("Europe/London", "London"),
    ("Europe/Berlin", "Berlin"),
    ("America/New_York", "Eastern Time (US & Canada)"),
    ("America/Chicago", "Central Time (US & Canada)"),
    ("America/Los_Angeles", "Pacific Time (US & Canada)"),
    ("Asia/Tokyo", "Tokyo"),
    ("Asia/Kolkata", "Kolkata"),
    ("Australia/Sydney", "Sydney"),
    ("America/Sao_Paulo", "Brasilia"),
    ("Africa/Lagos", "West Central Africa"),
]
COMPANIES = [
    "Nordlys AB",
    "Panadería Sol",
    "Webb Freight",
    "LedgerLeaf",
    "BrightPath",
    "Harbour Café",
    "Atelier Lumière",
    "Kano Agro",
    "Sakura Works",
    None,
]
TAGS = [
    "billing",
    "login",
    "bank-sync",
    "export",
    "mobile",
    "api",
    "vip",
    "repeat-contact",
    "slow-pace",
    "in-a-hurry",
    "how-to",
    "bug",
]
SUBJECTS = [
    "Bank sync failed again",
    "Can't log in",
    "How do I export invoices to PDF?",
    "Charged twice this month",
    "App crashes on start",
    "Need 3 more seats today",
    "Webhook returns 410",
    "Printer labels wrong size",
    "Please explain step by step",
    "Urgent: dashboard empty",
    "Question about GDPR export",
    "Feature request: dark mode",
    "Notificación no recibida",
    "請求書の宛名変更",
    "Rechnung fehlt",
]
OPENERS = ["Hi,", "Hello,", "Hola,", "Bonjour,", "Hallo,", "お世話になっております。", "Morning!"]
BODIES = [
    "it stopped working this morning and I need it fixed before our payroll run.",
    "I'm not very used to computers, so please explain one step at a time.",
    "quick one - no time, board meeting in 10 minutes.",
    "same problem as yesterday, and the day before.",
    "sorry for the slow reply, my cat was at the vet.",
    "the error message says 'Connection expired (code 401)'.",
    "could you tell me where to find this setting?",
]
REPLIES = [
    "Thanks for the details, I've escalated this and will update you by tomorrow 12:00.",
    "Step 1: open Settings. Reply when you see it and I'll send step 2.",
    "Done - short version: it works now. Details below if you need them.",
    "Sorry this keeps happening. I'll call you every day until it's fixed.",
]
ZD_STATUS = ["new", "open", "pending", "hold", "solved", "closed"]
ZD_PRIORITY = ["low", "normal", "high", "urgent"]
HS_STATUS = ["active", "pending", "closed"]
BASE_TS = 1704067200  # 2024-01-01T00:00:00Z


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def j(s):
    return json.dumps(s, ensure_ascii=False)


class World:
    """Deterministic people and ticket content; nothing is kept per record."""

    def __init__(self, seed, n):
        self.seed = seed
        self.n = n
        self.c = max(1, n // 5)

    def person(self, k):
        r = random.Random(self.seed * 1000003 + k)
        if k % 17 == 5:
            first, last = CJK[r.randrange(len(CJK))]
            name = last + " " + first
            local = "user%d" % k
        else:
            first, last = FIRST[r.randrange(len(FIRST))], LAST[r.randrange(len(LAST))]
            name = first + " " + last
            local = (first + "." + last).translate(ASCII).lower() + str(k)
        tz, rails = TZ[r.randrange(len(TZ))]
        company = COMPANIES[r.randrange(len(COMPANIES))]
        return {
            "k": k,
            "name": name,
            "first": first,
            "last": last,
            "email": local + "@" + DOMAINS[k % len(DOMAINS)],
            "phone": None if k % 7 == 3 else "+1 555 %03d %04d" % (k % 1000, (k * 7) % 10000),
            "tz": tz,
            "rails": rails,
            "company": company,
            "tags": [TAGS[r.randrange(len(TAGS))]] if k % 3 else [],
            "created": iso(BASE_TS - 86400 * 365 + (k * 977) % (86400 * 365)),
        }

    def ticket(self, i):
        r = random.Random(self.seed * 7919 + i * 104729 + 1)
        k = r.randrange(self.c)
        created = BASE_TS + i * 31 + r.randrange(30)
        nmsg = 1 + r.randrange(3)
        msgs = []
        t = created
        for m in range(nmsg):
            who = "c" if m % 2 == 0 else "a"
            text = (
                (OPENERS[r.randrange(len(OPENERS))] + " " + BODIES[r.randrange(len(BODIES))])
                if who == "c"
                else REPLIES[r.randrange(len(REPLIES))]
            )
            msgs.append((who, t, text))
            t += 60 * (5 + r.randrange(600))
        return {
            "i": i,
            "k": k,
            "subject": SUBJECTS[r.randrange(len(SUBJECTS))],
            "status": r.randrange(6),
            "priority": r.randrange(4),
            "tags": [TAGS[r.randrange(len(TAGS))]],
            "created": created,
            "updated": msgs[-1][1],
            "msgs": msgs,
        }


def html_of(text):
    return "<p>" + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>"


def opener(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return open(path, "w", encoding="utf-8", newline="\n", buffering=1 << 20)


# --------------------------------------------------------------------------- zendesk
def gen_zendesk(w, out, comments):
    uid = lambda k: 372000000000 + k * 7  # noqa: E731
    agents = [
        (9001, "Sam Rivera", "sam.rivera@support.example.com", "agent"),
        (9002, "Ana Lima", "ana.lima@support.example.com", "admin"),
    ]
    f = opener(os.path.join(out, "zendesk", "tickets.json"))
    f.write('{\n"tickets": [\n')
    for i in range(w.n):
        t = w.ticket(i)
        p = w.person(t["k"])
        tid = 100000 + i
        status = ZD_STATUS[t["status"]]
        assignee = "null" if status == "new" else str(uid(agents[i % 2][0]))
        org = "null" if p["company"] is None else str(360000000000 + t["k"] % 97)
        tags = j(t["tags"])
        cf = '[{"id":360001234567,"value":%s},{"id":360001234568,"value":null}]' % j(t["tags"][0])
        f.write(
            (
                '%s{"url":"https://acme.zendesk.com/api/v2/tickets/%d.json","id":%d,"external_id":null,'
                '"via":{"channel":"email","source":{"from":{"address":%s,"name":%s},'
                '"to":{"name":"Acme Support","address":"support@acme.zendesk.com"},"rel":null}},'
                '"created_at":"%s","updated_at":"%s","generated_timestamp":%d,"type":"question",'
                '"subject":%s,"raw_subject":%s,"description":%s,"priority":"%s","status":"%s",'
                '"recipient":"support@acme.zendesk.com","requester_id":%d,"submitter_id":%d,"assignee_id":%s,'
                '"organization_id":%s,"group_id":360000123451,"collaborator_ids":[],"follower_ids":[],'
                '"email_cc_ids":[],"forum_topic_id":null,"problem_id":null,"has_incidents":false,"is_public":true,'
                '"due_at":null,"tags":%s,"custom_fields":%s,"satisfaction_rating":null,"sharing_agreement_ids":[],'
                '"custom_status_id":360000987651,"fields":%s,"followup_ids":[],"ticket_form_id":360000111111,'
                '"brand_id":360000222222,"allow_channelback":false,"allow_attachments":true,'
                '"from_messaging_channel":false}\n'
            )
            % (
                "," if i else "",
                tid,
                tid,
                j(p["email"]),
                j(p["name"]),
                iso(t["created"]),
                iso(t["updated"]),
                t["updated"],
                j(t["subject"]),
                j(t["subject"]),
                j(t["msgs"][0][2]),
                ZD_PRIORITY[t["priority"]],
                status,
                uid(t["k"]),
                uid(t["k"]),
                assignee,
                org,
                tags,
                cf,
                cf,
            )
        )
        if comments:
            cs = []
            for n_, (who, at, text) in enumerate(t["msgs"]):
                cs.append(
                    {
                        "id": tid * 10 + n_,
                        "type": "Comment",
                        "author_id": uid(t["k"])
                        if who == "c"
                        else int(assignee if assignee != "null" else uid(9001)),
                        "body": text,
                        "html_body": '<div class="zd-comment" dir="auto">'
                        + html_of(text)
                        + "</div>",
                        "plain_body": text,
                        "public": True,
                        "attachments": [],
                        "audit_id": tid * 10 + 5 + n_,
                        "via": {
                            "channel": "email" if n_ == 0 else "web",
                            "source": {"from": {}, "to": {}, "rel": None},
                        },
                        "created_at": iso(at),
                        "metadata": {"system": {}, "custom": {}},
                    }
                )
            with opener(os.path.join(out, "zendesk", "comments", "%d.json" % tid)) as cf_:
                json.dump(
                    {"comments": cs, "next_page": None, "previous_page": None, "count": len(cs)},
                    cf_,
                    ensure_ascii=False,
                )
    f.write('],\n"users": [\n')
    for k in range(w.c):
        p = w.person(k)
        f.write(_zd_user("," if k else "", uid(k), p, "end-user"))
    for aid, name, email, role in agents:
        a = {
            "name": name,
            "email": email,
            "created": "2022-01-10T09:00:00Z",
            "tz": "Europe/London",
            "rails": "London",
            "phone": None,
            "company": None,
            "tags": [],
        }
        f.write(_zd_user(",", uid(aid), a, role))
    f.write(
        '],\n"after_url":null,"after_cursor":null,'
        '"before_url":"https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor=MTcwNDA2NzIwMC4wfHwxfA==",'
        '"before_cursor":"MTcwNDA2NzIwMC4wfHwxfA==","end_of_stream":true}\n'
    )
    f.close()


def _zd_user(sep, id_, p, role):
    eu = role == "end-user"
    return (
        '%s{"id":%d,"url":"https://acme.zendesk.com/api/v2/users/%d.json","name":%s,"email":%s,'
        '"created_at":"%s","updated_at":"%s","time_zone":%s,"iana_time_zone":%s,"phone":%s,'
        '"shared_phone_number":%s,"photo":null,"locale_id":1,"locale":"en-US","organization_id":%s,"role":"%s",'
        '"verified":true,"external_id":null,"tags":%s,"alias":"","active":true,"shared":false,'
        '"shared_agent":false,"last_login_at":null,"two_factor_auth_enabled":null,"signature":null,'
        '"details":"","notes":"","role_type":%s,"custom_role_id":null,"moderator":%s,'
        '"ticket_restriction":%s,"only_private_comments":false,"restricted_agent":%s,"suspended":false,'
        '"default_group_id":%s,"report_csv":%s,"user_fields":{}}\n'
    ) % (
        sep,
        id_,
        id_,
        j(p["name"]),
        j(p["email"]),
        p["created"],
        p["created"],
        j(p["rails"]),
        j(p["tz"]),
        j(p["phone"]),
        "null" if p["phone"] is None else "false",
        "null" if p["company"] is None else str(360000000000 + p.get("k", 0) % 97),
        role,
        j(p["tags"]),
        "null" if eu else "0",
        "false" if eu else "true",
        '"requested"' if eu else "null",
        "true" if eu else "false",
        "null" if eu else "360000123451",
        "false" if eu else "true",
    )


# --------------------------------------------------------------------------- freshdesk
FD_STATUS = [2, 2, 3, 3, 4, 5]


def fd_email(p):
    return p["email"].upper() if p["k"] % 10 == 0 else p["email"]


def gen_freshdesk(w, out, comments):
    cid = lambda k: 48000000000 + k  # noqa: E731
    f = opener(os.path.join(out, "freshdesk", "contacts.json"))
    f.write("[\n")
    for k in range(w.c):
        p = w.person(k)
        comp = "null" if p["company"] is None else str(48000300000 + k % 97)
        f.write(
            (
                '%s{"active":true,"address":null,"company_id":%s,"description":null,"email":%s,"id":%d,'
                '"job_title":null,"language":"en","mobile":null,"name":%s,"phone":%s,"time_zone":%s,'
                '"twitter_id":null,"custom_fields":{},"facebook_id":null,"created_at":"%s","updated_at":"%s",'
                '"csat_rating":null,"preferred_source":null,"unique_external_id":null,"other_emails":[],'
                '"tags":%s,"other_companies":[],"view_all_tickets":false}\n'
            )
            % (
                "," if k else "",
                comp,
                j(fd_email(p)),
                cid(k),
                j(p["name"]),
                j(p["phone"]),
                j(p["rails"]),
                p["created"],
                p["created"],
                j(p["tags"]),
            )
        )
    f.write("]\n")
    f.close()
    f = opener(os.path.join(out, "freshdesk", "tickets.json"))
    f.write("[\n")
    for i in range(w.n):
        t = w.ticket(i)
        p = w.person(t["k"])
        tkid = 200000 + i
        responder = "null" if t["status"] == 0 else str(48009000001 + i % 2)
        desc = t["msgs"][0][2]
        comp = "null" if p["company"] is None else str(48000300000 + t["k"] % 97)
        f.write(
            (
                '%s{"cc_emails":[],"fwd_emails":[],"reply_cc_emails":[],"ticket_cc_emails":[],'
                '"fr_escalated":false,"spam":false,"email_config_id":48000012345,"group_id":48000054321,'
                '"priority":%d,"requester_id":%d,"responder_id":%s,"source":1,"company_id":%s,"status":%d,'
                '"subject":%s,"association_type":null,"support_email":"support@acme.freshdesk.com",'
                '"to_emails":["support@acme.freshdesk.com"],"product_id":null,"id":%d,"type":"Question",'
                '"due_by":"%s","fr_due_by":"%s","is_escalated":false,"description":%s,"description_text":%s,'
                '"custom_fields":{},"created_at":"%s","updated_at":"%s","tags":%s,"nr_due_by":null,'
                '"nr_escalated":false,"requester":{"id":%d,"name":%s,"email":%s,"mobile":null,"phone":%s}}\n'
            )
            % (
                "," if i else "",
                t["priority"] + 1,
                cid(t["k"]),
                responder,
                comp,
                FD_STATUS[t["status"]],
                j(t["subject"]),
                tkid,
                iso(t["created"] + 3 * 86400),
                iso(t["created"] + 86400),
                j("<div>" + desc.replace("&", "&amp;").replace("<", "&lt;") + "</div>"),
                j(desc),
                iso(t["created"]),
                iso(t["updated"]),
                j(t["tags"]),
                cid(t["k"]),
                j(p["name"]),
                j(fd_email(p)),
                j(p["phone"]),
            )
        )
        if comments and len(t["msgs"]) > 1:
            cs = []
            for n_, (who, at, text) in enumerate(t["msgs"][1:], start=1):
                inc = who == "c"
                cs.append(
                    {
                        "body": "<div>" + text + "</div>",
                        "body_text": text,
                        "id": tkid * 10 + n_,
                        "incoming": inc,
                        "private": False,
                        "user_id": cid(t["k"]) if inc else 48009000001 + i % 2,
                        "support_email": None if inc else "support@acme.freshdesk.com",
                        "source": 0,
                        "category": 7 if inc else 3,
                        "to_emails": ["support@acme.freshdesk.com"] if inc else [fd_email(p)],
                        "from_email": fd_email(p) if inc else "support@acme.freshdesk.com",
                        "cc_emails": [],
                        "bcc_emails": [],
                        "created_at": iso(at),
                        "updated_at": iso(at),
                        "attachments": [],
                        "ticket_id": tkid,
                        "auto_response": False,
                    }
                )
            with opener(os.path.join(out, "freshdesk", "conversations", "%d.json" % tkid)) as cf_:
                json.dump(cs, cf_, ensure_ascii=False)
    f.write("]\n")
    f.close()


# --------------------------------------------------------------------------- helpscout
def gen_helpscout(w, out, comments):
    hid = lambda k: 561000000 + k  # noqa: E731
    f = opener(os.path.join(out, "helpscout", "customers.json"))
    f.write('{"_embedded":{"customers":[\n')
    for k in range(w.c):
        p = w.person(k)
        org = "" if p["company"] is None else ',"organization":%s' % j(p["company"])
        phones = (
            "[]"
            if p["phone"] is None
            else '[{"id":%d,"value":%s,"type":"work"}]' % (hid(k) * 10 + 5, j(p["phone"]))
        )
        f.write(
            (
                '%s{"id":%d,"firstName":%s,"lastName":%s,"gender":"unknown"%s,"photoType":"unknown","photoUrl":"",'
                '"createdAt":"%s","updatedAt":"%s","draft":false,"_embedded":{"emails":[{"id":%d,"value":%s,'
                '"type":"work"}],"phones":%s,"chats":[],"social_profiles":[],"websites":[]},'
                '"_links":{"self":{"href":"https://api.helpscout.net/v2/customers/%d"}}}\n'
            )
            % (
                "," if k else "",
                hid(k),
                j(p["first"]),
                j(p["last"]),
                org,
                p["created"],
                p["created"],
                hid(k) * 10,
                j(p["email"]),
                phones,
                hid(k),
            )
        )
    f.write(
        ']},"_links":{"self":{"href":"https://api.helpscout.net/v2/customers?page=1"}},'
        '"page":{"size":%d,"totalElements":%d,"totalPages":1,"number":1}}\n' % (w.c, w.c)
    )
    f.close()
    f = opener(os.path.join(out, "helpscout", "conversations.json"))
    f.write('{"_embedded":{"conversations":[\n')
    agents = [
        (4401, "Sam", "Rivera", "sam.rivera@support.example.com"),
        (4402, "Ana", "Lima", "ana.lima@support.example.com"),
    ]
    for i in range(w.n):
        t = w.ticket(i)
        p = w.person(t["k"])
        cvid = 2891000000 + i
        status = HS_STATUS[[0, 0, 1, 1, 2, 2][t["status"]]]
        a = agents[i % 2]
        uref = '{"id":%d,"type":"user","first":"%s","last":"%s","email":"%s"}' % a
        cref = '{"id":%d,"type":"customer","first":%s,"last":%s,"email":%s}' % (
            hid(t["k"]),
            j(p["first"]),
            j(p["last"]),
            j(p["email"]),
        )
        cref_nt = '{"id":%d,"first":%s,"last":%s,"email":%s}' % (
            hid(t["k"]),
            j(p["first"]),
            j(p["last"]),
            j(p["email"]),
        )
        threads = []
        for n_, (who, at, text) in reversed(list(enumerate(t["msgs"]))):
            c = who == "c"
            threads.append(
                (
                    '{"id":%d,"type":"%s","status":"%s","state":"published","body":%s,'
                    '"source":{"type":"%s","via":"%s"},"customer":%s,"createdBy":%s,"assignedTo":%s,'
                    '"to":[],"cc":[],"bcc":[],"createdAt":"%s","_embedded":{"attachments":[]}}'
                )
                % (
                    cvid * 10 + n_,
                    "customer" if c else "message",
                    "active" if n_ == 0 else "nochange",
                    j(html_of(text)),
                    "email" if c else "web",
                    "customer" if c else "user",
                    cref_nt,
                    cref if c else uref,
                    uref,
                    iso(at),
                )
            )
        closed = (
            ',"closedBy":%d,"closedByUser":%s,"closedAt":"%s"' % (a[0], uref, iso(t["updated"]))
            if status == "closed"
            else ""
        )
        f.write(
            (
                '%s{"id":%d,"number":%d,"threads":%d,"type":"email","folderId":1234567,"status":"%s",'
                '"state":"published","subject":%s,"preview":%s,"mailboxId":27117,"assignee":%s,"createdBy":%s,'
                '"createdAt":"%s"%s,"userUpdatedAt":"%s","source":{"type":"email","via":"customer"},'
                '"tags":[{"id":9001,"color":"#929499","tag":%s}],"cc":[],"bcc":[],"primaryCustomer":%s,'
                '"customFields":[],"_embedded":{"threads":[%s]},'
                '"_links":{"self":{"href":"https://api.helpscout.net/v2/conversations/%d"}}}\n'
            )
            % (
                "," if i else "",
                cvid,
                3100 + i,
                len(t["msgs"]),
                status,
                j(t["subject"]),
                j(t["msgs"][-1][2][:185]),
                uref,
                cref,
                iso(t["created"]),
                closed,
                iso(t["updated"]),
                j(t["tags"][0]),
                cref,
                ",".join(threads),
                cvid,
            )
        )
    f.write(
        ']},"_links":{"self":{"href":"https://api.helpscout.net/v2/conversations?embed=threads&page=1"}},'
        '"page":{"size":%d,"totalElements":%d,"totalPages":1,"number":1}}\n' % (w.n, w.n)
    )
    f.close()


# --------------------------------------------------------------------------- csv
def gen_csv(w, out, comments):
    import csv

    os.makedirs(os.path.join(out, "csv"), exist_ok=True)
    with open(
        os.path.join(out, "csv", "customers.csv"),
        "w",
        encoding="utf-8",
        newline="",
        buffering=1 << 20,
    ) as f:
        cw = csv.writer(f, lineterminator="\n")
        cw.writerow(["email", "name", "company", "phone", "time_zone", "tags", "notes"])
        for k in range(w.c):
            p = w.person(k)
            cw.writerow(
                [
                    p["email"],
                    p["name"],
                    p["company"] or "",
                    p["phone"] or "",
                    p["tz"],
                    ";".join(p["tags"]),
                    "Prefers step-by-step explanations" if k % 11 == 1 else "",
                ]
            )
    offsets = ["Z", "+02:00", "-05:00", "+09:00", "+05:30", "-03:00"]
    with open(
        os.path.join(out, "csv", "tickets.csv"),
        "w",
        encoding="utf-8",
        newline="",
        buffering=1 << 20,
    ) as f:
        cw = csv.writer(f, lineterminator="\n")
        cw.writerow(["external_id", "customer_email", "subject", "status", "created_at", "body"])
        for i in range(w.n):
            t = w.ticket(i)
            p = w.person(t["k"])
            off = offsets[i % len(offsets)]
            if off == "Z":
                created = iso(t["created"])
            else:
                sign = 1 if off[0] == "+" else -1
                secs = sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
                created = iso(t["created"] + secs)[:-1] + off
            body = "\n".join(m[2] for m in t["msgs"] if m[0] == "c")
            cw.writerow(
                [
                    "GEN-%d" % (i + 1),
                    p["email"],
                    t["subject"],
                    ZD_STATUS[t["status"]],
                    created,
                    body,
                ]
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("format", choices=["zendesk", "freshdesk", "helpscout", "csv"])
    ap.add_argument("n", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    g = ap.add_mutually_exclusive_group()
    g.add_argument(
        "--comments",
        dest="comments",
        action="store_true",
        default=None,
        help="write per-ticket comments/conversations files (default: only when N <= 20000)",
    )
    g.add_argument("--no-comments", dest="comments", action="store_false")
    a = ap.parse_args(argv)
    if a.n < 0:
        ap.error("N must be >= 0")
    comments = a.comments if a.comments is not None else a.n <= 20000
    w = World(a.seed, a.n)
    t0 = time.time()
    {
        "zendesk": gen_zendesk,
        "freshdesk": gen_freshdesk,
        "helpscout": gen_helpscout,
        "csv": gen_csv,
    }[a.format](w, a.outdir, comments)
    print(
        "%s: %d tickets, %d customers -> %s (%.1fs)"
        % (a.format, a.n, w.c, a.outdir, time.time() - t0),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
