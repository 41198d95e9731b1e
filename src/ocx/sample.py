"""A small demo data set, so a newcomer sees what a profile holds."""

from __future__ import annotations

from datetime import timedelta

from ocx import clock, customers
from ocx.store import Store

SAMPLE = [
    {
        "email": "jim@example.com", "name": "Jim Hollis", "company": "Hollis Hardware",
        "phone": "+1 555 0101", "time_zone": "America/Chicago", "channel": "phone",
        "pace": "slow", "tone": "patient, step by step, no jargon", "language": "en",
        "quiet_hours": "20:00-08:00", "tags": ["founding", "smb"],
        "context": "Likes things slow and explained step by step; prefers a call to email.",
        "notes": ["Walked him through the export screen twice; he wrote every step down."],
    },
    {
        "email": "margo@example.com", "name": "Margo Lane", "company": "Lane Logistics",
        "phone": "+44 20 7946 0102", "time_zone": "Europe/London", "channel": "email",
        "pace": "fast", "tone": "brief, bullet points, lead with the answer", "language": "en",
        "quiet_hours": "22:00-07:00", "tags": ["founding", "enterprise"],
        "context": "Always in a hurry: answer first, details after, never more than five lines.",
        "notes": ["Asked for the fix ETA in one line, nothing else."],
    },
    {
        "email": "alecia@example.com", "name": "Alecia Moreno", "company": "Moreno Studio",
        "time_zone": "Europe/Madrid", "channel": "email", "pace": "normal",
        "tone": "warm, personal", "language": "es", "quiet_hours": "21:00-09:00",
        "tags": ["founding"],
        "context": "Her cat Miso is at the vet this week; ask how Miso is doing.",
        "notes": ["Mentioned Miso's surgery went well on Tuesday."],
    },
    {
        "email": "judy@example.com", "name": "Judy Park", "company": "Park & Daughters",
        "phone": "+1 555 0104", "time_zone": "America/New_York", "channel": "phone",
        "pace": "normal", "tone": "take her seriously, involve her in the plan", "language": "en",
        "quiet_hours": "19:00-08:00", "tags": ["founding", "squeaky-wheel"],
        "context": "Called every day about the sync delays; wants to be involved, not placated.",
        "notes": ["Agreed to call her daily until the sync fix ships."],
        "contacts": ["Called about the sync delay again", "Asked for the fix date"],
    },
]  # fmt: skip


def load(store: Store, *, author: str) -> int:
    """Add the sample customers that are not there yet; returns how many were added."""
    added = 0
    with store.write():
        for person in SAMPLE:
            if customers.id_by_email(store, person["email"]) is not None:
                continue
            profile = {k: v for k, v in person.items() if k not in ("notes", "contacts", "tags")}
            email = profile.pop("email")
            customer_id = customers.add(store, email, author=author, tags=person["tags"], **profile)
            for text in person.get("notes", []):
                customers.note(store, str(customer_id), text, author=author)
            for hours_ago, text in enumerate(person.get("contacts", []), start=1):
                customers.record(
                    store, customer_id, "contact", text, author=author, direction="inbound",
                    channel="phone", at=clock.now() - timedelta(hours=hours_ago),
                )  # fmt: skip
            added += 1
    return added
