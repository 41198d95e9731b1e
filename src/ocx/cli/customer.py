"""`ocx customer ...`: profiles, notes, contacts, the timeline, search and merge."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

import ocx.cli.complete as complete
from ocx import clock, customers, fields, render
from ocx import search as finding
from ocx.cli.app import App
from ocx.cli.options import WHEN, F, json_option, limit_option, no_header_option


class _Clearable(click.Choice):  # type: ignore[type-arg]
    """A choice that also takes '' (clear the field), as every other profile option does."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        return "" if value == "" else super().convert(value, param, ctx)


def _field_option(declared: fields.Field) -> Callable[[F], F]:
    """A profile field's option, as ocx.fields declares it."""
    extra: dict[str, Any] = {}
    if declared.choices is not None:
        extra["type"] = _Clearable(list(declared.choices))
    if declared.metavar is not None:
        extra["metavar"] = declared.metavar
    if declared.completion is not None:
        extra["shell_complete"] = getattr(complete, declared.completion)
    if declared.multiple:
        extra["multiple"] = True
    return click.option(declared.option, declared.dest, help=declared.help, **extra)


def profile_options(func: F) -> F:
    """The profile fields `customer add` and `customer edit` share: every declared field
    but the email (add's argument, edit's own --email after these)."""
    for declared in reversed(fields.FIELDS):
        if declared.name != "email":
            func = _field_option(declared)(func)
    return func


@click.group()
def customer() -> None:
    """Customer profiles: preferences, context, notes, a full timeline, search.

    A REF is a numeric id, an email, SOURCE:EXTERNAL_ID (after an import), or a name
    (any word of it, or its beginning) that only one customer has.

    Example: ocx customer show margo@example.com
    """


def _summary_rows(people: list[customers.Customer]) -> list[tuple[Any, ...]]:
    return [
        (
            c.id,
            c.name or "",
            c.email,
            c.company or "",
            c.pace or "",
            c.channel or "",
            ", ".join(c.tags),
        )
        for c in people
    ]


_SUMMARY_COLUMNS = ["Id", "Name", "Email", "Company", "Pace", "Channel", "Tags"]


def _print_people(people: list[customers.Customer], as_json: bool, *, header: bool = True,
                  empty: str = "no customers") -> None:  # fmt: skip
    """A JSON array for scripts, a table for people; when nobody matched, the empty text on
    a terminal's stderr (render.empty), nothing on stdout."""
    if as_json:
        render.emit_json([c.to_json(full=False) for c in people])
    elif people:
        render.table(_SUMMARY_COLUMNS, _summary_rows(people), header=header)
    else:
        render.empty(empty)


@customer.command()
@click.argument("email")
@profile_options
@click.pass_obj
def add(app: App, email: str, tags: tuple[str, ...], **profile: str | None) -> None:
    """Add a customer and print the new id.

    Example: ocx customer add jim@example.com --name "Jim Hollis" --pace slow
    --context "Likes things explained step by step"
    """
    customer_id = customers.add(app.store, email, author=app.user, tags=tags, **profile)
    if sys.stdout.isatty():  # a person: say what was done; a script keeps the bare id
        render.message(f"added {customers.normalise_email(email)} (id {customer_id})")
    else:
        render.message(str(customer_id))


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@profile_options
@_field_option(fields.BY_NAME["email"])
@click.option("--untag", "untags", multiple=True, metavar="T", help="Remove a tag (repeatable).")
@click.pass_obj
def edit(
    app: App, ref: str, tags: tuple[str, ...], untags: tuple[str, ...], **profile: str | None
) -> None:
    """Change a customer's profile; an empty value ('') clears a field.

    Example: ocx customer edit margo@example.com --pace fast --untag trial
    """
    changed = customers.edit(app.store, ref, author=app.user, tags=tags, untags=untags, **profile)
    render.warn(f"updated: {', '.join(changed)}" if changed else "nothing changed")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@click.argument("tags", nargs=-1, required=True)
@click.pass_obj
def tag(app: App, ref: str, tags: tuple[str, ...]) -> None:
    """Add one or more tags to a customer.

    Example: ocx customer tag judy@example.com squeaky-wheel vip
    """
    added = customers.tag(app.store, ref, tags, author=app.user)
    render.warn(f"tagged: {', '.join(added)}" if added else "already tagged")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@json_option
@click.pass_obj
def show(app: App, ref: str, as_json: bool) -> None:
    """Show a profile: preferences, context, tags, sources and the latest timeline.

    Example: ocx customer show margo@example.com --json
    """
    from ocx import promises

    person, open_promises = promises.profile(app.store, ref)
    render.customer(person, open_promises, None if as_json else app.tz, as_json=as_json)


@customer.command("promises")
@click.argument("ref", shell_complete=complete.customers)
@json_option
@no_header_option
@click.pass_obj
def promises_(app: App, ref: str, as_json: bool, no_header: bool) -> None:
    """Every promise ever made to a customer (their own, replies, checks, the next updates
    of incidents they were in), each judged against its original due time, and their
    follow-through: kept on time of all that came due in the last 90 days.

    Example: ocx customer promises margo@example.com --json
    """
    from ocx import promises

    found = promises.to_customer(app.store, ref)
    if as_json:
        render.emit_json(found.to_json())
        return
    if found.promises:
        render.table(
            ["Id", "Promise", "Kind", "Owner", "Due", "Done or cancelled", "Outcome"],
            [(p.id, p.text, promises.promise_kind(p).replace("_", " "), p.owner,
              clock.local_text(p.due_at, app.tz),
              clock.local_text(p.done_at or p.cancelled_at, app.tz),
              found.outcome(p).replace("_", " ")) for p in found.promises],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty(f"no promises made to {ref}")
    rate = found.follow_through
    render.message(
        f"Follow-through (last {promises.FOLLOW_THROUGH_DAYS} days): "
        + ("n/a, nothing came due" if rate is None else f"{rate:.0%}")
    )


@customer.command("list")
@click.option("--tag", help="Only customers with this tag.")
@click.option("--company", help="Only customers of this company (any letter case).")
@limit_option()
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, tag: str | None, company: str | None, limit: int | None, as_json: bool,
          no_header: bool) -> None:  # fmt: skip
    """List customers ordered by name.

    Example: ocx customer list --tag founding --limit 20
    """
    empty = (
        "no customers"
        + (f" tagged {tag!r}" if tag else "")
        + (f" at company {company!r}" if company else "")
    )
    _print_people(customers.listing(app.store, tag=tag, company=company, limit=limit), as_json,
                  header=not no_header, empty=empty)  # fmt: skip


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@click.argument("text")
@click.pass_obj
def note(app: App, ref: str, text: str) -> None:
    """Write down something worth remembering about a customer.

    Example: ocx customer note alecia@example.com "Her cat is at the vet"
    """
    entry_id = customers.note(app.store, ref, text, author=app.user)
    render.warn(f"note {entry_id} added")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@click.argument("text")
@click.option("--inbound", "direction", flag_value="inbound", help="They contacted us.")
@click.option(
    "--outbound",
    "direction",
    flag_value="outbound",
    default=True,
    help="We contacted them (default).",
)
@click.option("--channel", metavar="NAME", help="How: phone, email, chat...")
@click.pass_obj
def contact(app: App, ref: str, text: str, direction: str, channel: str | None) -> None:
    """Log a contact with a customer (outbound unless --inbound).

    Example: ocx customer contact judy@example.com "Called about the sync fix" --outbound --channel phone
    """
    entry_id = customers.contact(
        app.store, ref, text, author=app.user, direction=direction, channel=channel
    )
    render.warn(f"contact {entry_id} logged")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@limit_option()
@click.option(
    "--since",
    type=WHEN,
    metavar="WHEN",
    help="Only entries at or after WHEN (e.g. 2026-11-01, '7 days ago').",
)
@json_option
@no_header_option
@click.pass_obj
def timeline(app: App, ref: str, limit: int | None, since: datetime | None, as_json: bool,
             no_header: bool) -> None:  # fmt: skip
    """Show everything that happened with a customer, newest first.

    Example: ocx customer timeline jim@example.com --since '7 days ago'
    """
    entries = customers.history(app.store, ref, limit=limit, since=since)
    if as_json:
        render.emit_json([e.to_json() for e in entries])
    elif entries:
        render.timeline(entries, app.tz, header=not no_header)
    else:
        render.empty(f"no timeline entries for {ref}" + (" in that time" if since else ""))


@customer.command()
@click.argument("query")
@limit_option(50)
@json_option
@no_header_option
@click.pass_obj
def search(app: App, query: str, limit: int, as_json: bool, no_header: bool) -> None:
    """Full-text search over names, emails, companies, tags, context, notes, contacts,
    ticket subjects and messages; each hit says where it matched.

    Every word must match; end a word with * for a prefix.

    Example: ocx customer search 'marg*'
    """
    hits = finding.search(app.store, query, limit=limit)
    if as_json:
        render.emit_json([hit.to_json() for hit in hits])
    elif hits:
        render.table(_SEARCH_COLUMNS, _search_rows(hits), header=not no_header)
    else:
        render.empty(f"no customers match {query!r}")


# A listing's row, then where the query matched: the field and a snippet (the Match itself:
# its marked pieces bold in a terminal, `[match]` in a pipe).
_SEARCH_COLUMNS = [*_SUMMARY_COLUMNS, "Match", "Snippet"]


def _search_rows(hits: list[finding.Hit]) -> list[tuple[Any, ...]]:
    return [
        (*row, *((hit.match.field, hit.match) if hit.match else ("", "")))
        for hit, row in zip(hits, _summary_rows([hit.customer for hit in hits]), strict=True)
    ]


@customer.command()
@click.argument("keep", shell_complete=complete.customers)
@click.argument("other", shell_complete=complete.customers)
@click.pass_obj
def merge(app: App, keep: str, other: str) -> None:
    """Merge OTHER into KEEP: timeline, sources, tags and all else move; OTHER is deleted.

    Example: ocx customer merge margo@example.com 42
    """
    kept = customers.merge(app.store, keep, other, author=app.user)
    render.warn(f"merged {other} into customer {kept}")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@click.option("--yes", is_flag=True, help="Do not ask; needed when stdin is not a terminal.")
@click.pass_obj
def forget(app: App, ref: str, yes: bool) -> None:
    """Erase a customer and everything held about them, for good.

    Their profile, notes, contacts, conversations, messages, promises, cadences, cases,
    outbox messages and search entries go, in one transaction, and nothing of them stays
    in the database file. An anonymous tombstone (who erased, when, and a salted hash of
    each of their emails and source ids) keeps a later import from bringing them back.
    Asks first in a terminal; elsewhere refuses without --yes.

    Example: ocx customer forget margo@example.com --yes
    """
    import sys

    from ocx import privacy
    from ocx.errors import OcxError

    if not yes:
        customer_id = customers.resolve(app.store, ref)  # an unknown REF says so first
        if not sys.stdin.isatty():
            raise OcxError(
                f"not erasing customer {customer_id}: stdin is not a terminal to confirm "
                "(use --yes)"
            )
        person = customers.get(app.store, str(customer_id), timeline_limit=0)
        click.confirm(
            f"Erase {person.display_name} ({person.email}, customer {customer_id}) and "
            "everything held about them? This cannot be undone",
            abort=True,
            err=True,
        )
    done = privacy.forget(app.store, ref, author=app.user)
    render.warn(f"forgot customer {done.customer_id} (tombstone {done.tombstone})")
    if not done.wal_emptied:
        render.warn(
            "warning: another program is reading the database, so its write-ahead log still "
            "holds earlier pages; they are gone once that program closes the database"
        )


@customer.command()
@json_option
@no_header_option
@click.pass_obj
def forgotten(app: App, as_json: bool, no_header: bool) -> None:
    """List the tombstones of erased customers: who erased each, and when.

    Example: ocx customer forgotten --json
    """
    from ocx import privacy

    stones = privacy.tombstones(app.store)
    if as_json:
        render.emit_json([t.to_json() for t in stones])
    elif stones:
        render.table(
            ["Tombstone", "Erased by", "Erased at"],
            [(t.id, t.erased_by or "", clock.local_text(t.erased_at, app.tz)) for t in stones],
            header=not no_header,
        )
    else:
        render.empty("no customers forgotten")


@customer.command()
@click.argument("ref", shell_complete=complete.customers)
@click.pass_obj
def export(app: App, ref: str) -> None:
    """Print everything held about a customer as one JSON document (the right of access).

    Profile, tags, sources, the whole timeline (notes, contacts, imported conversations
    and messages), promises, cadences, incident cases and outbox messages: exactly what
    'ocx customer forget' would erase.

    Example: ocx customer export margo@example.com > margo.json
    """
    from ocx import privacy

    render.emit_json(privacy.export(app.store, ref))
