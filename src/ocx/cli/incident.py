"""`ocx incident ...`: one outage, handled one customer at a time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

import ocx.cli.complete as complete
from ocx import clock, render
from ocx.cli.app import App
from ocx.cli.options import (
    DURATION,
    SEVERITY,
    WHEN,
    handle_option,
    json_option,
    no_header_option,
)
from ocx.errors import OcxError


@click.group("incident")
def incident_group() -> None:
    """Incidents: one case per affected customer, a concierge each, personal updates.

    INCIDENT is 7 or INC-7.

    Example: ocx incident new "Bank sync failing" --severity 2 --lead sam
    """


def _incidents():  # type: ignore[no-untyped-def]
    from ocx import incidents

    return incidents


def _fanout():  # type: ignore[no-untyped-def]
    from ocx import fanout

    return fanout


def _messages():  # type: ignore[no-untyped-def]
    from ocx import incident_messages

    return incident_messages


@incident_group.command("new")
@click.argument("title")
@click.option(
    "--severity",
    type=SEVERITY,
    default=3,
    show_default=True,
    help="1 is the worst; severity 1 updates ignore quiet hours.",
)
@handle_option("--lead", help="Incident lead (owns the next-update promises).")
@click.option("--started", type=WHEN, metavar="WHEN", help="When it started (default: now).")
@click.option("--summary", help="What happened, in a sentence.")
@click.pass_obj
def new(app: App, title: str, severity: int, lead: str | None, started: datetime | None,
        summary: str | None) -> None:  # fmt: skip
    """Open an incident; prints its id (INC-7).

    Example: ocx incident new "Bank sync failing for HDFC" --severity 2 --lead sam --started "-2h"
    """
    found = _incidents().new(app.store, title, severity=severity, lead=lead, started=started,
                             summary=summary, author=app.user)  # fmt: skip
    render.message(found.ref)


def _print_incident(app: App, found) -> None:  # type: ignore[no-untyped-def]
    lines = [
        ("Incident", f"{found.ref} {found.title}"),
        ("Status", found.status),
        ("Severity", str(found.severity)),
        ("Lead", found.lead or ""),
        ("Summary", found.summary or ""),
        ("Started", clock.local_text(found.started_at, app.tz)),
        ("Detected", clock.local_text(found.detected_at, app.tz)),
        ("Resolved", clock.local_text(found.resolved_at, app.tz)),
        ("Rescue plan", found.rescue_plan or ""),
        ("Roll-back", found.rollback_plan or ""),
        ("Cases", ", ".join(f"{state} {n}" for state, n in found.cases.items())),
        (
            "Updates sent",
            f"{found.updates_sent} ({found.messages_sent} messages delivered"
            + (f", {found.messages_waiting} waiting" if found.messages_waiting else "")
            + (f", {found.messages_replaced} replaced" if found.messages_replaced else "")
            + (f", {found.messages_stopped} stopped by resolve" if found.messages_stopped else "")
            + ")",
        ),
        ("Next update due", clock.local_text(found.next_update_due, app.tz)),
    ]
    for label, value in lines:
        if value:
            render.message(f"{label:<16} {value}")


@incident_group.command("list")
@click.option("--open", "which", flag_value="open", default=True, help="Open incidents (default).")
@click.option("--all", "which", flag_value="all", help="Every incident.")
@json_option
@no_header_option
@click.pass_obj
def list_(app: App, which: str, as_json: bool, no_header: bool) -> None:
    """List incidents, newest first.

    Example: ocx incident list --all --json
    """
    found = _incidents().listing(app.store, open_only=which == "open")
    if as_json:
        render.emit_json([i.to_json() for i in found])
    elif found:
        render.table(
            ["Id", "Title", "Sev", "Status", "Lead", "Started", "Cases open", "Next update"],
            [(i.ref, i.title, i.severity, i.status, i.lead or "",
              clock.local_text(i.started_at, app.tz),
              sum(n for state, n in i.cases.items() if state not in ("resolved", "confirmed")),
              clock.local_text(i.next_update_due, app.tz)) for i in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no open incidents" if which == "open" else "no incidents")


@incident_group.command("show")
@click.argument("incident", shell_complete=complete.incidents)
@json_option
@click.pass_obj
def show(app: App, incident: str, as_json: bool) -> None:
    """Status, lead, times, rescue plan, cases by state, updates sent, next update due.

    Example: ocx incident show INC-7 --json
    """
    found = _incidents().show(app.store, incident)
    if as_json:
        render.emit_json(found.to_json())
    else:
        _print_incident(app, found)


@incident_group.command("cases")
@click.argument("incident", shell_complete=complete.incidents)
@click.option(
    "--state",
    type=click.Choice(["new", "contacted", "acknowledged", "agreed", "resolved", "confirmed"]),
    help="Only cases in this state.",
)
@json_option
@no_header_option
@click.pass_obj
def cases(app: App, incident: str, state: str | None, as_json: bool, no_header: bool) -> None:
    """List an incident's cases: customer, concierge, state, and when each step happened.

    Example: ocx incident cases INC-7 --state new
    """
    found = _incidents().cases(app.store, incident, state=state)
    if as_json:
        render.emit_json([
            {k: (clock.iso_json(v) if k.endswith("_at") else v) for k, v in case.items()}
            for case in found
        ])  # fmt: skip
    elif found:
        render.table(
            ["Case", "Customer", "Concierge", "State", "Added", "Contacted", "Last activity"],
            [(c["id"], c["customer_name"] or c["customer_email"], c["concierge"] or "",
              c["state"], clock.local_text(c["added_at"], app.tz),
              clock.local_text(c["contacted_at"], app.tz),
              clock.local_text(c["last_activity_at"], app.tz)) for c in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty(f"no {state + ' ' if state else ''}cases in {incident}")


@incident_group.command("fanout")
@click.argument("incident", shell_complete=complete.incidents)
@click.option("--tag", "tags", multiple=True, metavar="T", help="Everyone with this tag.")
@click.option(
    "--company", "companies", multiple=True, metavar="C", help="Everyone at this company."
)
@click.option(
    "--customers",
    "files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="A file with one customer REF per line.",
)
@click.option("--query", "queries", multiple=True, metavar="Q", help="Customers a search finds.")
@click.option("--all", "everyone", is_flag=True, help="Every customer.")
@click.option(
    "--concierge",
    "concierges",
    multiple=True,
    metavar="HANDLE",
    shell_complete=complete.handles,
    help="Team members to give cases to, least-loaded first (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be added; add nothing.")
@json_option
@click.pass_obj
def fanout(app: App, incident: str, tags: tuple[str, ...], companies: tuple[str, ...],
           files: tuple[Path, ...], queries: tuple[str, ...], everyone: bool,
           concierges: tuple[str, ...], dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """One case per affected customer; running it again adds only the new ones.

    Example: ocx incident fanout INC-7 --tag hdfc --concierge alex --concierge sam
    """
    result = _fanout().fanout(
        app.store, incident, tags=tags, companies=companies, files=files, queries=queries,
        everyone=everyone, concierges=concierges, dry_run=dry_run, author=app.user,
    )  # fmt: skip
    if as_json:
        render.emit_json(result.to_json())
        return
    verb = "would be added" if dry_run else "added"
    render.message(f"{result.added} cases {verb}, {result.already_present} already present, "
                   f"{len(result.unknown)} unknown")  # fmt: skip
    for handle, n in sorted(result.assigned.items()):
        render.message(f"  {handle}: {n} new cases")
    for text in result.unknown:
        render.warn(f"no customer matches {text!r}")


@incident_group.command("plan")
@click.argument("incident", shell_complete=complete.incidents)
@click.option("--rescue", required=True, help="How it will be fixed.")
@click.option("--rollback", required=True, help="How the fix is undone if it goes wrong.")
@click.pass_obj
def plan(app: App, incident: str, rescue: str, rollback: str) -> None:
    """Record the rescue plan and its roll-back.

    Example: ocx incident plan 7 --rescue "Re-issue bank tokens" --rollback "Restore old tokens"
    """
    found = _incidents().plan(
        app.store, incident, rescue=rescue, rollback=rollback, author=app.user
    )
    render.warn(f"{found.ref}: rescue plan recorded")


def _step_command(name: str, step: str, summary: str, example: str) -> None:
    @incident_group.command(name, help=f"{summary}\n\nExample: {example}")
    @click.argument("incident", shell_complete=complete.incidents)
    @click.argument("ref", shell_complete=complete.customers)
    @click.option("--note", help="What was said or done.")
    @click.pass_obj
    def command(app: App, incident: str, ref: str, note: str | None) -> None:
        _incidents().case_step(app.store, incident, ref, step, note=note, author=app.user)
        render.warn(f"{ref}: {step} recorded")


_step_command(
    "contact",
    "contact",
    "Record that this customer was contacted.",
    "ocx incident contact 7 jim@example.com --note 'Called, explained step by step'",
)
_step_command(
    "ack",
    "ack",
    "Record that this customer acknowledged the incident.",
    "ocx incident ack 7 margo@example.com",
)
_step_command("agree", "agree", "Record that this customer agreed to the rescue plan.",
              "ocx incident agree 7 judy@example.com")  # fmt: skip


def _message_options(func):  # type: ignore[no-untyped-def]
    """--message / --template / --fallback, shared by update and resolve."""
    func = click.option(
        "--fallback", metavar="CHANNEL",
        help="For customers whose own channel nothing configured reaches (phone, ...): send "
             "through CHANNEL when they have its address; else their concierge gets a call.",
    )(func)  # fmt: skip
    func = click.option(
        "--template", "template_file", type=click.Path(path_type=Path, dir_okay=False),
        help="A file holding the template.",
    )(func)  # fmt: skip
    return func


def _template(message: str | None, template_file: Path | None, *, required: bool) -> str | None:
    if message is not None and template_file is not None:
        raise click.UsageError("give exactly one of --message TEXT or --template FILE")
    if template_file is not None:
        try:
            return template_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise OcxError(f"cannot read template {template_file}: {exc}") from None
    if message is None and required:
        raise click.UsageError("give exactly one of --message TEXT or --template FILE")
    return message


def _template_name(template_file: Path | None) -> str:
    """How errors about the limits name the template: its file, else --message."""
    return f"template {template_file}" if template_file is not None else "--message"


def _outcome_text(outcome, noun: str) -> str:  # type: ignore[no-untyped-def]
    parts = [f"{outcome.queued} {noun}{'s' if outcome.queued != 1 else ''} queued"]
    if outcome.held:
        parts.append(f"{outcome.held} held for quiet hours")
    if outcome.calls:
        parts.append(f"{outcome.calls} turned into call{'s' if outcome.calls != 1 else ''} "
                     "for the concierge (see 'ocx due')")  # fmt: skip
    return ", ".join(parts)


@incident_group.command("resolve")
@click.argument("incident", shell_complete=complete.incidents)
@click.option(
    "--customer",
    "customer_ref",
    metavar="REF",
    shell_complete=complete.customers,
    help="Resolve only this customer's case.",
)
@click.option("--note", help="How it was resolved.")
@click.option("--message", help="A closing message for each customer (a Jinja2 template).")
@_message_options
@json_option
@click.pass_obj
def resolve(app: App, incident: str, customer_ref: str | None, note: str | None,
            message: str | None, template_file: Path | None, fallback: str | None,
            as_json: bool) -> None:  # fmt: skip
    """Resolve one case, or the whole incident and every case still open. Updates not yet
    delivered to a resolved case are never sent. With --message or --template, each case
    resolved gets a closing message, sent as 'incident update' sends one.

    Example: ocx incident resolve INC-7 --note "Tokens re-issued" --message "Hi {{ customer.first_name }}, it is fixed."
    """
    template = _template(message, template_file, required=False)
    outcome = _messages().resolve(
        app.store, incident, customer_ref=customer_ref, note=note, author=app.user,
        template=template, config=app.config, fallback=fallback,
        template_name=_template_name(template_file),
        plugins=app.plugins if template is not None else None,  # no message: no plugins to load
    )  # fmt: skip
    if as_json:
        render.emit_json(
            {"resolved": outcome.resolved, **outcome.to_json(), "checks": outcome.checks}
        )
        return
    text = f"{outcome.resolved} case{'s' if outcome.resolved != 1 else ''} resolved"
    if template is not None:
        text += "; " + _outcome_text(outcome, "closing message")
    if outcome.checks:
        text += (f"; {outcome.checks} check{'s' if outcome.checks != 1 else ''} with the "
                 "customer promised (see 'ocx due')")  # fmt: skip
    render.warn(text)


@incident_group.command("confirm")
@click.argument("incident", shell_complete=complete.incidents)
@click.argument("ref", shell_complete=complete.customers)
@click.option("--note", help="What the customer said.")
@click.pass_obj
def confirm(app: App, incident: str, ref: str, note: str | None) -> None:
    """Record that the customer confirms it is fixed: their resolved case becomes confirmed,
    and the promise to check with them is kept. Recorded as the configured user.

    Example: ocx incident confirm INC-7 jim@example.com --note "Sync works again, thanks"
    """
    _incidents().confirm(app.store, incident, ref, note=note, author=app.user)
    render.warn(f"{ref}: confirmed fixed")


@incident_group.command("reopen")
@click.argument("incident", shell_complete=complete.incidents)
@click.argument("ref", shell_complete=complete.customers)
@click.option("--note", required=True, help="What is still wrong (required).")
@click.pass_obj
def reopen(app: App, incident: str, ref: str, note: str) -> None:
    """The customer says it is not fixed: their resolved case goes back to contacted, with
    the note in their timeline. Resolving it again promises a new check.

    Example: ocx incident reopen INC-7 jim@example.com --note "Still fails for the HDFC account"
    """
    _incidents().reopen(app.store, incident, ref, note=note, author=app.user)
    render.warn(f"{ref}: case reopened, back to contacted")


@incident_group.command("next")
@click.argument("incident", shell_complete=complete.incidents)
@click.option(
    "--concierge",
    metavar="HANDLE",
    shell_complete=complete.handles,
    help="Who is asking (default: config user).",
)
@json_option
@click.pass_obj
def next_(app: App, incident: str, concierge: str | None, as_json: bool) -> None:
    """The one customer to handle now, with their profile and latest timeline; claims the
    case so two engineers asking at once get different customers.

    Example: ocx incident next INC-7 --concierge alex
    """
    view = _incidents().next_case(app.store, incident, concierge=concierge or app.user)
    if view is None:
        if as_json:
            render.emit_json(None)
        else:
            render.warn("no open case waiting")
        return
    if as_json:
        render.emit_json(view.to_json())
        return
    case = view.case
    render.message(f"{view.incident.ref} case {case['id']}: {case['state']}, concierge "
                   f"{case['concierge']}, waiting since {clock.local_text(case['last_activity_at'], app.tz)}")  # fmt: skip
    render.profile(view.customer, app.tz)


@incident_group.command("update")
@click.argument("incident", shell_complete=complete.incidents)
@click.option("--message", help="The update (a Jinja2 template: {{ customer.name }}, ...).")
@_message_options
@click.option(
    "--next-update", type=DURATION, metavar="DURATION",
    help="Promise the next update within this (1s or more).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print three rendered samples; send nothing.")
@json_option
@click.pass_obj
def update(app: App, incident: str, message: str | None, template_file: Path | None,
           fallback: str | None, next_update: timedelta | None, dry_run: bool,
           as_json: bool) -> None:  # fmt: skip
    """Queue a personal update for every open case, through each customer's own channel
    (delivered by the next 'ocx due --notify'); a customer whose channel nothing configured
    reaches (phone, ...) becomes a call for their concierge. Variables: customer (name,
    first_name, pace, tone, language, ...), incident, case, concierge, next_update.

    Example: ocx incident update 7 --message "Hi {{ customer.first_name }}, ..." --next-update 2h
    """
    template = _template(message, template_file, required=True)
    result = _messages().update(app.store, incident, template or "", next_update=next_update,
                                dry_run=dry_run, config=app.config, author=app.user,
                                fallback=fallback, template_name=_template_name(template_file),
                                plugins=app.plugins)  # fmt: skip
    if dry_run:
        if as_json:
            render.emit_json([{"customer": c, "message": t} for c, t in result.samples])
            return
        for customer, text in result.samples:
            render.message(f"--- to {customer}\n{text}\n")
        return
    if as_json:
        render.emit_json(result.to_json())
        return
    due = (
        f"; next update due {clock.local_text(result.next_update_due, app.tz)}"
        if result.next_update_due
        else ""
    )
    render.warn(_outcome_text(result, "update") + due)
