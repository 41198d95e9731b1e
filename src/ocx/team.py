"""The team: who owns promises and cases, how to reach them, who leads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ocx import clock
from ocx.customers import normalise_email
from ocx.errors import NotFound, OcxError
from ocx.store import Store
from ocx.store import team as sql

_HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass
class Member:
    handle: str
    name: str | None
    email: str | None
    channel: str | None
    lead: bool
    digest: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> Member:
        return cls(
            handle=row["handle"], name=row["name"], email=row["email"], channel=row["channel"],
            lead=bool(row["lead"]), digest=bool(row["digest"]),
            created_at=row["created_at"], updated_at=row["updated_at"],
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "handle": self.handle, "name": self.name, "email": self.email,
            "channel": self.channel, "lead": self.lead, "digest": self.digest,
            "created_at": clock.iso_json(self.created_at),
            "updated_at": clock.iso_json(self.updated_at),
        }  # fmt: skip


def normalise_handle(text: str) -> str:
    handle = text.strip().lower()
    if not _HANDLE.fullmatch(handle):
        raise OcxError(
            f"team handle {text!r} is not valid; use lower-case letters, digits, '.', '_' or '-'"
        )
    return handle


def _fields(
    name: str | None, email: str | None, channel: str | None, lead: bool | None,
    digest: bool | None,
) -> dict[str, Any]:  # fmt: skip
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = name.strip() or None
    if email is not None:
        fields["email"] = normalise_email(email) if email.strip() else None
    if channel is not None:
        fields["channel"] = channel.strip() or None
    if lead is not None:
        fields["lead"] = int(lead)
    if digest is not None:
        fields["digest"] = int(digest)
    return fields


def add(
    store: Store, handle: str, *, name: str | None = None, email: str | None = None,
    channel: str | None = None, lead: bool = False, digest: bool = False,
) -> Member:  # fmt: skip
    """Add a team member; a handle is taken once."""
    handle = normalise_handle(handle)
    stamp = clock.to_iso(clock.now())
    row = {
        "handle": handle, "name": None, "email": None, "channel": None,
        **_fields(name, email, channel, lead, digest),
        "created_at": stamp, "updated_at": stamp,
    }  # fmt: skip
    with store.write():
        if sql.member(store.conn, handle) is not None:
            raise OcxError(f"team member {handle!r} already exists; change it with 'ocx team edit'")
        sql.insert_member(store.conn, row)
    return get(store, handle)


def edit(
    store: Store, handle: str, *, name: str | None = None, email: str | None = None,
    channel: str | None = None, lead: bool | None = None, digest: bool | None = None,
) -> Member:  # fmt: skip
    fields = _fields(name, email, channel, lead, digest)
    with store.write():
        member = get(store, handle)
        if fields:
            sql.update_member(
                store.conn, member.handle, {**fields, "updated_at": clock.to_iso(clock.now())}
            )
    return get(store, member.handle)


def get(store: Store, handle: str) -> Member:
    """A member by handle, or an error that says how to add them."""
    key = handle.strip().lower()
    row = sql.member(store.conn, key)
    if row is None:
        raise NotFound(f"no team member {handle!r}; add one with 'ocx team add {key}'")
    return Member.from_row(row)


def listing(store: Store) -> list[Member]:
    return [Member.from_row(row) for row in sql.members(store.conn)]


def lead(store: Store) -> Member | None:
    """The team lead escalations go to (the first, if several are marked)."""
    rows = sql.leads(store.conn)
    return Member.from_row(rows[0]) if rows else None
