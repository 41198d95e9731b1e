"""Which Freshdesk file is which, and its shape checked before anything is read: by name
(`tickets-2.json`, `conversations/7.json`), else by the keys only one kind of record has.
Page files are read in page order."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any

from ocx.plugin_api import (
    ImportFileError,
    check_not_empty,
    export_pages,
    json_first_event,
    json_items,
    load_json,
)

RATINGS = "satisfaction_ratings"
KINDS = ("contacts", "tickets", "conversations", "agents", "companies", RATINGS)
# Files read before the tickets to name people and companies and rate tickets, never
# imported on their own.
LOOKUPS = ("agents", "companies", RATINGS)
_EXPECTED = {
    "contacts": "a JSON array of contacts, as GET /api/v2/contacts returns",
    "tickets": "a JSON array of tickets, as GET /api/v2/tickets returns",
    "conversations": "a JSON array of conversation entries, "
    "as GET /api/v2/tickets/{id}/conversations returns",
    "agents": "a JSON array of agents, as GET /api/v2/agents returns",
    "companies": "a JSON array of companies, as GET /api/v2/companies returns",
    RATINGS: "a JSON array of satisfaction ratings, "
    "as GET /api/v2/surveys/satisfaction_ratings returns",
}
SHAPE = (
    "not a Freshdesk export (expected a JSON array of tickets, contacts, conversation "
    "entries, agents, companies or satisfaction ratings, as the Freshdesk API v2 returns)"
)

# Keys that only one kind of record has, to recognise a file by its content.
_TICKET_KEYS = {"requester_id", "responder_id", "subject", "priority", "due_by", "fr_due_by"}
_AGENT_KEYS = {"ticket_scope", "occasional", "available", "available_since", "focus_mode",
               "signature", "contact", "agent_type", "role_ids", "skill_ids"}  # fmt: skip
_COMPANY_KEYS = {"domains", "account_tier", "health_score", "renewal_date", "industry"}
_RATING_KEYS = {"survey_id", "ratings", "feedback"}
_ENTRY_KEYS = {"incoming", "private", "body_text", "ticket_id", "from_email", "to_emails"}
_CONTACT_KEYS = {"email", "name", "phone", "mobile", "other_emails", "time_zone", "job_title"}


def _page_order(path: Path) -> tuple[Any, ...]:
    """`tickets.json`, `tickets-2.json`, ..., `tickets-10.json`: pages in the order of the
    numbers in their names, with or without leading zeros; a name without one first."""
    return tuple(int(n) for n in re.findall(r"\d+", path.name)), path.name


def kind_of_record(record: Any) -> str | None:
    """Which of KINDS one record is, by the keys only that kind has; None if it cannot tell."""
    if not isinstance(record, dict):
        return None
    keys = set(record)
    if keys & _TICKET_KEYS:
        return "tickets"
    if keys & _RATING_KEYS:
        return RATINGS
    if keys & _AGENT_KEYS:
        return "agents"
    if keys & _COMPANY_KEYS:
        return "companies"
    if keys & _ENTRY_KEYS or "body" in keys:
        return "conversations"
    if keys & _CONTACT_KEYS:
        return "contacts"
    return None


def kind_of_name(path: Path) -> str | None:
    name = path.name.lower()
    if path.parent.name.lower() == "conversations":
        return "conversations"
    for kind in ("contacts", "tickets", "agents", "companies", RATINGS):
        if name.startswith(kind) and name.endswith(".json"):
            return kind
    return None


def _pages(folder: Path, kind: str) -> list[Path]:
    return export_pages(folder, kind, _page_order)


# --- checking a file's shape ---------------------------------------------------------------


def _check_not_empty(path: Path, kind: str | None) -> None:
    check_not_empty(path, _EXPECTED[kind] if kind else "a Freshdesk API v2 response")


def _first_record(path: Path) -> Any:
    with closing(json_items(path, "item")) as items:
        return next(items, None)


def file_kind(path: Path, expected: str | None = None) -> str | None:
    """What a file holds, checked: one of KINDS, or None for an empty array. Raises
    ImportFileError for an empty file, bad JSON, or anything but an array of the expected
    records."""
    _check_not_empty(path, expected)
    shape = f"not a Freshdesk export (expected {_EXPECTED[expected]})" if expected else SHAPE
    if json_first_event(path) != "start_array":
        raise ImportFileError(str(path), shape)
    first = _first_record(path)
    if first is None:
        return expected  # an empty page
    if not isinstance(first, dict):
        raise ImportFileError(str(path), shape)
    kind = kind_of_record(first)
    if expected is not None and kind not in (None, expected):
        raise ImportFileError(str(path), f"{shape}; it holds {kind}")
    kind = kind or expected or kind_of_name(path)
    if kind is None:
        raise ImportFileError(str(path), f"{SHAPE}; cannot tell which its records are")
    return kind


def _load_entries(path: Path) -> list[Any]:
    """One ticket's conversation entries (a small file: read whole)."""
    _check_not_empty(path, "conversations")
    data = load_json(path)
    if not isinstance(data, list):
        raise ImportFileError(
            str(path), f"not a Freshdesk export (expected {_EXPECTED['conversations']})"
        )
    return data
