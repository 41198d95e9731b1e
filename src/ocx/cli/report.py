"""`ocx report`: do we keep our word, and who is at risk of being forgotten."""

from __future__ import annotations

from datetime import datetime

import click

import ocx.cli.complete as complete
from ocx import clock, render
from ocx.cli.app import App
from ocx.cli.options import WHEN, json_option, no_header_option


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


@click.group("report", invoke_without_command=True)
@click.option(
    "--since", type=WHEN, metavar="WHEN", help="Only promises made (and incidents opened) since."
)
@click.option(
    "--owner", metavar="H", shell_complete=complete.handles, help="Only this owner's promises."
)
@json_option
@no_header_option
@click.pass_context
def report_group(
    ctx: click.Context, since: datetime | None, owner: str | None, as_json: bool,
    no_header: bool,
) -> None:  # fmt: skip
    """Promises made, kept on time, kept late, broken, open overdue and the kept-on-time
    rate, overall and by owner; incident first-contact times; cadences on schedule.

    Example: ocx report --since "7 days ago" --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from ocx import reports

    app: App = ctx.obj
    data = reports.report(app.store, since=since, owner=owner)
    if as_json:
        render.emit_json(data)
        return
    columns = ["Owner", "Made", "On time", "Late", "Broken", "Open overdue", "On-time rate"]

    def row(name: str, f: dict) -> tuple:  # type: ignore[type-arg]
        return (name, f["made"], f["kept_on_time"], f["kept_late"], f["broken"],
                f["open_overdue"], _rate(f["kept_on_time_rate"]))  # fmt: skip

    rows = [row(o, f) for o, f in data["by_owner"].items()] + [row("all", data)]
    shown = f" since {clock.local_text(clock.to_iso(since), app.tz)}" if since else ""
    render.table(columns, rows, title="Promises" + shown, header=not no_header)
    if data["incidents"]:
        render.table(
            ["Incident", "Cases", "Contacted", "First contact p50", "p90"],
            [(i["incident"], i["cases"], i["contacted"], _span(i["first_contact_p50_s"]),
              _span(i["first_contact_p90_s"])) for i in data["incidents"]],
            title="Incidents", header=not no_header,
        )  # fmt: skip
    c = data["cadences"]
    render.message(f"Cadences: {c['on_schedule']} on schedule, {c['behind']} behind")


def _span(seconds: float | None) -> str:
    from ocx.figures import span_text

    return span_text(seconds)


@report_group.command("customers")
@click.option("--at-risk", is_flag=True, required=True, help="Customers who need attention now.")
@json_option
@no_header_option
@click.pass_obj
def customers(app: App, at_risk: bool, as_json: bool, no_header: bool) -> None:
    """Customers at risk of being forgotten, ranked, each with the reason: overdue promises,
    incident cases not contacted, squeaky wheels without a cadence.

    Example: ocx report customers --at-risk --json
    """
    from ocx import reports

    found = reports.at_risk(app.store, app.config)
    if as_json:
        render.emit_json([f.to_json() for f in found])
    elif found:
        render.table(
            ["Customer", "Why", "Suggestion"],
            [(f.name or f.customer, "; ".join(r["text"] for r in f.reasons), f.suggestion or "")
             for f in found],
            header=not no_header,
        )  # fmt: skip
    else:
        render.empty("no customers at risk")
