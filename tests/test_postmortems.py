"""`ocx postmortem ...`: a full incident built through the commands under a moving OCX_NOW,
then the prefilled postmortem's figures, the blame check, review, publish and action items.

Every expected figure is computed here from the times the test chose (our own median and
percentile), never read back from ocx's code."""

from __future__ import annotations

import json
import math
import shlex
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, Dump, LoadJson, Rows, Run

PARIS = ZoneInfo("Europe/Paris")
DAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; Paris is UTC+1 (CET)


def t(hour: int, minute: int = 0) -> datetime:
    """A time on the incident's day, in UTC."""
    return DAY.replace(hour=hour, minute=minute)


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(moment: datetime) -> dict[str, str]:
    return {"OCX_NOW": z(moment)}


def paris(moment: datetime) -> str:
    """How the Markdown shows a time with timezone = Europe/Paris."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M CET")


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def write_config(home: Path, text: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "ocx.toml").write_text(
        f'user = "dana"\ntimezone = "Europe/Paris"\n{text}', encoding="utf-8"
    )


# --- our own statistics: the contract's definitions, written independently --------------------


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks: rank r = q/100 * (n - 1), 0-based."""
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def test_our_statistics_agree_with_the_textbook() -> None:
    sample = [180.0, 420.0, 2700.0, 9000.0]
    assert median(sample) == statistics.median(sample) == 1560.0
    # statistics.quantiles 'inclusive' is the same closest-ranks interpolation
    assert percentile(sample, 90) == pytest.approx(
        statistics.quantiles(sample, n=10, method="inclusive")[8]
    )
    assert percentile([5.0], 90) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0


# --- the incident, built through the commands -------------------------------------------------

TEAM = [  # handle, name, team lead?
    ("sam", "Sam Rivera", False),  # the incident's lead
    ("kim", "Kim Park", True),  # the team lead: may review, she did not lead the incident
    ("alex", "Alex Moreau", False),
    ("dana", "Dana Whitfield", False),  # config user: the default author
]
CUSTOMERS = [  # email, name, company, tags
    ("margo@example.com", "Margo Lane", "Acme", ["bank-sync", "vip"]),
    ("jim@example.com", "Jim Hollis", "Acme", ["bank-sync"]),
    ("judy@example.com", "Judy Moss", "Globex", ["bank-sync", "vip"]),
    ("bob@example.com", "Bob Stone", None, ["bank-sync"]),
    ("lena@example.com", "Lena Berg", "Initech", ["eu"]),
    ("zed@example.com", "Zed Quinn", "Acme", ["other"]),  # never affected
]
STARTED = t(9, 12)
DETECTED = t(9, 40)  # `incident new` runs then
FANOUT_1 = t(9, 45)  # --tag bank-sync: margo, jim, judy, bob
FANOUT_2 = t(11, 0)  # --company Initech: lena
FIRST_CONTACTS = {  # customer -> (first contact, the fanout that added them)
    "margo@example.com": (t(9, 52), FANOUT_1),
    "jim@example.com": (t(10, 30), FANOUT_1),
    "lena@example.com": (t(11, 3), FANOUT_2),
    "judy@example.com": (t(12, 15), FANOUT_1),
}  # bob is never contacted
AGREED = ["margo@example.com", "judy@example.com"]
RESCUE = "Re-issue the HDFC tokens"
ROLLBACK = "Restore the previous tokens from the vault"
RESOLVED = t(13, 30)
UPDATES = [(t(10, 50), 4), (t(12, 40), 5)]  # when, how many open cases then


@pytest.fixture
def world(run: Run, initialized: Path, env: Path) -> Path:
    write_config(env)
    before = at(DAY - timedelta(days=10))
    for handle, name, lead in TEAM:
        ok(run("team", "add", handle, "--name", name, *(["--lead"] if lead else []), env=before))
    for email, name, company, tags in CUSTOMERS:
        options = ["--name", name, *(["--company", company] if company else [])]
        for tag in tags:
            options += ["--tag", tag]
        ok(run("customer", "add", email, *options, env=before))
    return initialized


@pytest.fixture
def incident(run: Run, world: Path) -> list[tuple[datetime, str]]:
    """INC-1 from start to resolution; returns the (time, kind) of each event it should log."""
    events: list[tuple[datetime, str]] = []

    def step(moment: datetime, kind: str | None, *args: str) -> Result:
        result = ok(run(*args, env=at(moment)))
        if kind:
            events.append((moment, kind))
        return result

    opened = step(DETECTED, "opened", "incident", "new", "Bank sync failing", "--severity", "2",
                  "--lead", "sam", "--started", z(STARTED),
                  "--summary", "HDFC bank sync failed for every customer using it.")  # fmt: skip
    assert opened.stdout.strip() == "INC-1"
    step(FANOUT_1, "fanout", "incident", "fanout", "INC-1", "--tag", "bank-sync",
         "--concierge", "alex")  # fmt: skip
    step(FIRST_CONTACTS["margo@example.com"][0], "contact", "incident", "contact", "1",
         "margo@example.com", "--note", "Called, explained the workaround")  # fmt: skip
    step(FIRST_CONTACTS["jim@example.com"][0], "contact", "incident", "contact", "1",
         "jim@example.com")  # fmt: skip
    step(t(10, 40), "plan", "incident", "plan", "1", "--rescue", RESCUE, "--rollback", ROLLBACK)
    step(UPDATES[0][0], "update", "incident", "update", "1", "--message",
         "Hi {{ customer.first_name }}, we are on it.", "--next-update", "2h")  # fmt: skip
    step(FANOUT_2, "fanout", "incident", "fanout", "1", "--company", "Initech")
    step(FIRST_CONTACTS["lena@example.com"][0], "contact", "incident", "contact", "1",
         "lena@example.com")  # fmt: skip
    step(t(11, 10), "agree", "incident", "agree", "1", "margo@example.com")
    step(FIRST_CONTACTS["judy@example.com"][0], "contact", "incident", "contact", "1",
         "judy@example.com")  # fmt: skip
    step(t(12, 20), "agree", "incident", "agree", "1", "judy@example.com")
    # a second call to margo: her first contact stays 09:52
    step(t(12, 30), "contact", "incident", "contact", "1", "margo@example.com")
    step(UPDATES[1][0], "update", "incident", "update", "1", "--message",
         "Hi {{ customer.first_name }}, the fix is rolling out.", "--next-update", "2h")  # fmt: skip
    step(RESOLVED, None, "incident", "resolve", "1", "--note", "Tokens re-issued")
    events += [(RESOLVED, "resolve")] * 5 + [(RESOLVED, "resolved")]  # each open case, then it
    return events


@pytest.fixture
def postmortem(run: Run, incident: list[tuple[datetime, str]]) -> int:
    result = ok(run("postmortem", "new", "INC-1", "--reviewer", "kim", env=at(t(15))))
    return int(result.stdout.strip())


def show(run: Run, load_json: LoadJson, pm: int | str, now: datetime | None = None) -> Any:
    return load_json(run("postmortem", "show", str(pm), "--json", env=at(now or t(15))))


# --- the prefilled figures --------------------------------------------------------------------


def test_new_prefills_the_figures_from_the_record(
    run: Run, postmortem: int, incident: list[tuple[datetime, str]], load_json: LoadJson
) -> None:
    assert postmortem == 1
    data = show(run, load_json, postmortem)

    waits = [(first - fanout).total_seconds() for first, fanout in FIRST_CONTACTS.values()]
    assert sorted(waits) == [180, 420, 2700, 9000]  # lena's 3 min counts from her own fanout
    affected = [c for c in CUSTOMERS if "bank-sync" in c[3] or c[2] == "Initech"]
    by_company: dict[str, int] = {}
    by_tag: dict[str, int] = {}
    for _, _, company, tags in affected:
        by_company[company or "(none)"] = by_company.get(company or "(none)", 0) + 1
        for tag in tags:
            by_tag[tag] = by_tag.get(tag, 0) + 1

    assert data["customers_affected"] == len(affected) == 5
    assert data["customers_contacted"] == len(FIRST_CONTACTS)
    assert data["customers_agreed"] == len(AGREED)
    assert data["first_contact_p50_s"] == pytest.approx(median(waits))  # 1560 s
    assert data["first_contact_p90_s"] == pytest.approx(percentile(waits, 90))  # 7110 s
    assert data["by_company"] == by_company == {"Acme": 2, "Globex": 1, "(none)": 1, "Initech": 1}
    assert data["by_tag"] == by_tag == {"bank-sync": 4, "vip": 2, "eu": 1}
    assert data["started_at"] == z(STARTED)
    assert data["detected_at"] == z(DETECTED)
    assert data["resolved_at"] == z(RESOLVED)
    assert data["duration_s"] == (RESOLVED - STARTED).total_seconds() == 4 * 3600 + 18 * 60
    assert data["time_to_detect_s"] == (DETECTED - STARTED).total_seconds()
    assert data["severity"] == 2 and data["lead"] == "sam"
    assert data["rescue_plan"] == RESCUE and data["rollback_plan"] == ROLLBACK
    assert data["updates"] == [
        # queued for n open cases; this incident never ran `ocx due --notify`, so none delivered
        {
            "at": z(when),
            "messages": n,
            "author": "dana",
            "delivered": 0,
            "replaced": 0,
            "stopped": n,
            "first_delivered_at": None,
            "last_delivered_at": None,
        }
        for when, n in UPDATES
    ]
    assert [(e["at"], e["kind"]) for e in data["events"]] == [(z(w), k) for w, k in incident]
    assert data["author"] == "dana"  # config user
    assert data["reviewer"] == "kim"
    assert data["status"] == "draft"
    assert data["actions"] == []
    assert data["incident"] == "INC-1"


def test_the_markdown_has_every_section_and_the_figures(
    run: Run, postmortem: int, load_json: LoadJson
) -> None:
    body = show(run, load_json, postmortem)["body"]
    headings = [line[3:] for line in body.splitlines() if line.startswith("## ")]
    wanted = ["Summary", "Impact", "Timeline", "Rescue plan and roll-back", "Root cause",
              "What went well", "What went wrong", "Where we got lucky", "Action items"]  # fmt: skip
    assert [h for h in headings if h in wanted] == wanted  # all there, in this order
    assert body.startswith("# Postmortem: INC-1 Bank sync failing\n")
    assert "HDFC bank sync failed for every customer using it." in body
    assert "Customers affected: 5" in body
    for company, n in {"Acme": 2, "Globex": 1, "Initech": 1, "(none)": 1}.items():
        assert f"{company} {n}" in body
    assert f"Started {paris(STARTED)}" in body
    assert f"resolved {paris(RESOLVED)}" in body
    assert "Duration: 4h 18m" in body
    assert "median 26m" in body  # 1560 s
    assert "90th percentile 1h 58m" in body  # 7110 s
    assert "Agreed to the rescue plan: 2 of 5" in body
    for when, n in UPDATES:
        assert f"posted {paris(when)} for {n} customers: 0 delivered" in body
    assert f"- Rescue: {RESCUE}" in body and f"- Roll-back: {ROLLBACK}" in body
    # the sections people write start empty
    for section in ("Root cause", "What went well", "What went wrong", "Where we got lucky"):
        after = body.split(f"## {section}\n", 1)[1]
        assert after.split("## ", 1)[0].strip() == ""
    # the human view prints the same text
    shown = ok(run("postmortem", "show", "1", env=at(t(15)))).stdout
    assert "Postmortem 1 for INC-1 (draft); author dana, reviewer kim" in shown
    assert "## Where we got lucky" in shown


def test_the_prefilled_text_is_itself_blameless(run: Run, postmortem: int) -> None:
    result = ok(run("postmortem", "check", str(postmortem), env=at(t(15))))
    assert result.stdout == ""
    assert "no blaming language found" in result.stderr


def test_an_open_incident_has_no_resolution_or_duration_yet(
    run: Run, world: Path, load_json: LoadJson
) -> None:
    ok(run("incident", "new", "Login slow", "--lead", "sam", "--started", z(t(8)), env=at(t(9))))
    ok(run("incident", "fanout", "1", "--tag", "vip", env=at(t(9, 10))))
    ok(run("postmortem", "new", "1", "--author", "alex", env=at(t(10))))
    data = show(run, load_json, 1, now=t(10))
    assert data["resolved_at"] is None and data["duration_s"] is None
    assert data["customers_affected"] == 2
    assert data["first_contact_p50_s"] is None and data["first_contact_p90_s"] is None
    assert data["author"] == "alex" and data["reviewer"] is None


# --- independent review, unknown things ---------------------------------------------------------


@pytest.mark.parametrize("reviewer", ["sam", "SAM", " Sam "])
def test_the_incident_lead_cannot_review(
    run: Run, incident: list, db_path: Path, dump: Dump, assert_error: AssertError,
    reviewer: str,
) -> None:  # fmt: skip
    before = dump(db_path)
    line = assert_error(run("postmortem", "new", "1", "--reviewer", reviewer, env=at(t(15))))
    assert "sam" in line and "independent" in line
    assert dump(db_path) == before


def test_review_sets_the_reviewer_but_not_the_lead(
    run: Run, incident: list, db_path: Path, dump: Dump, assert_error: AssertError,
    load_json: LoadJson,
) -> None:  # fmt: skip
    ok(run("postmortem", "new", "1", env=at(t(15))))
    assert show(run, load_json, 1)["reviewer"] is None
    before = dump(db_path)
    assert "independent" in assert_error(run("postmortem", "review", "1", "sam", env=at(t(16))))
    assert dump(db_path) == before
    ok(run("postmortem", "review", "1", "alex", env=at(t(16))))
    data = show(run, load_json, 1)
    assert data["reviewer"] == "alex"
    assert data["updated_at"] == z(t(16))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("postmortem", "new", "INC-9"), "no incident 'INC-9'"),
        (("postmortem", "new", "bogus"), "no incident 'bogus'"),
        (("postmortem", "new", "1", "--reviewer", "nobody"), "no team member 'nobody'"),
        (("postmortem", "new", "1", "--author", "nobody"), "no team member 'nobody'"),
        (("postmortem", "show", "7"), "no postmortem '7'"),
        (("postmortem", "show", "PM-x"), "no postmortem 'PM-x'"),
        (("postmortem", "export", "7"), "no postmortem '7'"),
        (("postmortem", "check", "7"), "no postmortem '7'"),
        (("postmortem", "publish", "7"), "no postmortem '7'"),
        (("postmortem", "edit", "7"), "no postmortem '7'"),
        (("postmortem", "review", "7", "kim"), "no postmortem '7'"),
        (("postmortem", "review", "1", "nobody"), "no team member 'nobody'"),
        (("postmortem", "action", "7", "Fix", "--owner", "kim", "--due", "+1d"),
         "no postmortem '7'"),
        (("postmortem", "action", "1", "Fix", "--owner", "nobody", "--due", "+1d"),
         "no team member 'nobody'"),
        (("postmortem", "action", "1", "Fix", "--owner", "kim", "--due", "yesterday"),
         "in the past"),
    ],
)  # fmt: skip
def test_unknown_things_are_clear_errors_that_change_nothing(
    run: Run, postmortem: int, db_path: Path, dump: Dump, assert_error: AssertError,
    args: tuple[str, ...], needle: str,
) -> None:  # fmt: skip
    before = dump(db_path)
    assert needle in assert_error(run(*args, env=at(t(16))))
    assert dump(db_path) == before


def test_the_author_defaults_to_the_config_user_who_must_be_on_the_team(
    run: Run, incident: list, env: Path, assert_error: AssertError
) -> None:
    (env / "ocx.toml").write_text('user = "ghost"\n', encoding="utf-8")
    assert "no team member 'ghost'" in assert_error(run("postmortem", "new", "1", env=at(t(15))))


def test_list_json_newest_first_without_the_body(
    run: Run, postmortem: int, load_json: LoadJson
) -> None:
    ok(run("postmortem", "new", "INC-1", "--author", "alex", env=at(t(16))))
    found = load_json(run("postmortem", "list", "--json", env=at(t(17))))
    assert [p["id"] for p in found] == [2, 1]
    assert [p["author"] for p in found] == ["alex", "dana"]
    assert [p["reviewer"] for p in found] == [None, "kim"]
    for p in found:
        assert p["incident"] == "INC-1" and p["status"] == "draft"
        assert p["customers_affected"] == 5
        assert "body" not in p and "events" not in p and "updates" not in p
    human = ok(run("postmortem", "list", env=at(t(17)))).stdout
    assert "INC-1" in human and "draft" in human


def test_list_is_empty_json_before_any_postmortem(
    run: Run, initialized: Path, load_json: LoadJson
) -> None:
    assert load_json(run("postmortem", "list", "--json")) == []
    assert ok(run("postmortem", "list")).stdout == ""


# --- edit -------------------------------------------------------------------------------------


def editor(tmp_path: Path, new_text: str | None, *, exit_code: int = 0) -> dict[str, str]:
    """An $EDITOR (a Python one-liner in a shell script) that records what it was given in
    seen.md, then writes `new_text` over the file (None: leaves it untouched)."""
    payload = tmp_path / "new.md"
    if new_text is not None:
        payload.write_text(new_text, encoding="utf-8")
    code = (
        "import pathlib, shutil, sys; f = pathlib.Path(sys.argv[1]); "
        f"shutil.copy(f, {str(tmp_path / 'seen.md')!r}); "
        + (f"f.write_bytes(pathlib.Path({str(payload)!r}).read_bytes())" if new_text else "")
    )
    script = tmp_path / "fake-editor"
    script.write_text(
        f'#!/bin/sh\n{shlex.quote(sys.executable)} -c {shlex.quote(code)} "$1"\nexit {exit_code}\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return {"EDITOR": str(script), "VISUAL": str(script), "OCX_NOW": z(t(16))}


BLAMELESS_ROOT_CAUSE = (
    "## Root cause\n\nThe HDFC token expired and nothing alerted on expiry. The renewal "
    "runbook had no step for HDFC.\n"
)


def test_edit_opens_the_editor_on_the_markdown_and_stores_what_is_saved(
    run: Run, postmortem: int, load_json: LoadJson, tmp_path: Path, db_path: Path,
    rows: Rows,
) -> None:  # fmt: skip
    original = show(run, load_json, postmortem)["body"]
    edited = original.replace("## Root cause\n\n", BLAMELESS_ROOT_CAUSE)
    assert edited != original
    result = ok(run("postmortem", "edit", "1", env=editor(tmp_path, edited)))
    assert "saved" in result.stderr
    assert (tmp_path / "seen.md").read_text(encoding="utf-8") == original
    data = show(run, load_json, postmortem)
    assert data["body"] == edited
    assert data["updated_at"] == z(t(16)) and data["created_at"] == z(t(15))
    assert rows(db_path, "SELECT body FROM postmortems WHERE id = 1") == [{"body": edited}]
    # the figures are the record's, not the prose's
    assert data["customers_affected"] == 5


def test_edit_without_saving_or_with_a_failing_editor_stores_nothing(
    run: Run, postmortem: int, tmp_path: Path, db_path: Path, dump: Dump
) -> None:
    before = dump(db_path)
    result = ok(run("postmortem", "edit", "1", env=editor(tmp_path, None)))
    assert "nothing changed" in result.stderr
    assert dump(db_path) == before
    failed = run("postmortem", "edit", "1", env=editor(tmp_path, "# gone\n", exit_code=3))
    assert failed.exit_code == 1 and "Editing failed" in failed.stderr
    assert "Traceback" not in failed.output
    assert dump(db_path) == before


# --- export -----------------------------------------------------------------------------------


def test_export_md_and_json(run: Run, postmortem: int, load_json: LoadJson) -> None:
    data = show(run, load_json, postmortem)
    md = ok(run("postmortem", "export", "1", env=at(t(16)))).stdout
    assert md == ok(run("postmortem", "export", "1", "--format", "md", env=at(t(16)))).stdout
    assert md.rstrip("\n") == data["body"].rstrip("\n")  # no action items yet: the text
    exported = load_json(run("postmortem", "export", "1", "--format", "json", env=at(t(16))))
    assert exported == data
    json.dumps(exported)  # plain JSON all the way down


# --- action items are promises ------------------------------------------------------------------


def test_action_items_are_promises_in_due_and_show_with_their_state(
    run: Run, postmortem: int, load_json: LoadJson, assert_error: AssertError
) -> None:
    now = t(16)
    alert = ok(run("postmortem", "action", "1", "Alert on token expiry", "--owner", "kim",
                   "--due", z(now + timedelta(hours=3)), env=at(now)))  # fmt: skip
    runbook = ok(run("postmortem", "action", "PM-1", "Add HDFC to the renewal runbook",
                     "--owner", "alex", "--due", z(now + timedelta(days=2)), env=at(now)))  # fmt: skip
    drill = ok(run("postmortem", "action", "1", "Run a token-expiry drill", "--owner", "sam",
                   "--due", z(now + timedelta(days=1)), env=at(now)))  # fmt: skip
    alert_id, runbook_id, drill_id = (int(r.stdout.split()[0]) for r in (alert, runbook, drill))
    assert "owner kim" in alert.stdout

    promises = {p["id"]: p for p in load_json(run("promise", "list", "--all", "--json"))}
    assert promises[alert_id]["customer"] == "PM-1"
    assert promises[alert_id]["owner"] == "kim"
    assert promises[alert_id]["due_at"] == z(now + timedelta(hours=3))

    def due_ids(moment: datetime) -> list[int]:
        items = load_json(run("due", "--json", env=at(moment)))
        return [i["promise_id"] for i in items if i["kind"] == "promise"]

    assert alert_id not in due_ids(now)  # three hours ahead, `due` looks one hour ahead
    assert alert_id in due_ids(now + timedelta(hours=2, minutes=30))  # due within the hour
    assert alert_id in due_ids(now + timedelta(hours=4))  # overdue
    assert ok(run("due", env=at(now + timedelta(hours=4)))).stdout.count("PM-1") >= 1

    # kept on time, kept late, broken: like any promise
    ok(run("promise", "done", str(alert_id), env=at(now + timedelta(hours=2))))
    ok(run("promise", "done", str(drill_id), env=at(now + timedelta(days=1, hours=1))))
    ok(run("promise", "cancel", str(runbook_id), "--reason", "Superseded by the drill",
           env=at(now + timedelta(days=3))))  # fmt: skip
    actions = {a["id"]: a for a in show(run, load_json, 1, now + timedelta(days=4))["actions"]}
    assert actions[alert_id]["state"] == "done" and actions[alert_id]["outcome"] == "kept"
    assert actions[drill_id]["state"] == "done" and actions[drill_id]["outcome"] == "kept_late"
    assert actions[runbook_id]["state"] == "cancelled"
    assert actions[runbook_id]["outcome"] == "broken"
    assert actions[alert_id]["done_at"] == z(now + timedelta(hours=2))
    assert [a["text"] for a in actions.values()] == [
        "Alert on token expiry", "Run a token-expiry drill", "Add HDFC to the renewal runbook"
    ]  # fmt: skip
    assert alert_id not in due_ids(now + timedelta(days=4))

    md = ok(run("postmortem", "export", "1", env=at(now + timedelta(days=4)))).stdout
    assert "- [x] Alert on token expiry (owner kim" in md
    assert "- [ ] Add HDFC to the renewal runbook (owner alex" in md and "broken)" in md
    human = ok(run("postmortem", "show", "1", env=at(now + timedelta(days=4)))).stdout
    assert "kept late" in human

    # an action item counts in the report like any other promise of its owner
    report = load_json(run("report", "--json", "--owner", "kim", env=at(now + timedelta(days=4))))
    assert report["made"] == 1 and report["kept_on_time"] == 1


def test_an_open_action_item_shows_open_then_overdue(
    run: Run, postmortem: int, load_json: LoadJson
) -> None:
    ok(run("postmortem", "action", "1", "Alert on token expiry", "--owner", "kim",
           "--due", z(t(18)), env=at(t(16))))  # fmt: skip
    assert show(run, load_json, 1, t(17))["actions"][0]["outcome"] == "open"
    late = show(run, load_json, 1, t(19))["actions"][0]
    assert late["state"] == "open" and late["outcome"] == "overdue"
    listing = load_json(run("postmortem", "list", "--json", env=at(t(19))))
    assert listing[0]["actions"][0]["outcome"] == "overdue"


# --- the blameless check ----------------------------------------------------------------------

BLAMING = [  # one blaming line each: (line, what it must flag)
    "The outage was caused by human error during the deploy.",
    "Alex should have checked the token expiry date.",
    "A careless change went out on Friday.",
    "In the end it was Kim's fault.",
    "sam failed to renew the certificate.",
    "The root cause was Alex Moreau.",
    "The deploy broke because of Dana.",
    "Someone forgot to update the runbook.",
    "Kim Park caused the outage by restarting the wrong node.",
    "Rivera missed the alert.",  # a surname alone names sam
]
BLAMELESS = [
    "The HDFC token expired and nothing alerted on expiry.",
    "The renewal runbook had no step for HDFC; the calendar reminder pointed at a retired inbox.",
    "Sam noticed the spike in failed syncs at 09:40 and opened the incident.",
    "Kim and Alex re-issued the tokens with the rescue plan; the fault tolerance layer held.",
    "The restart hit the wrong node because both nodes share one name in the console.",
]


def body_with(root_cause: list[str], went_wrong: list[str]) -> str:
    return (
        "# Postmortem: INC-1 Bank sync failing\n\n## Summary\n\nBank sync failed.\n\n"
        "## Root cause\n\n"
        + "\n".join(root_cause)
        + "\n\n## What went wrong\n\n"
        + "\n".join(went_wrong)
        + "\n\n## Action items\n"
    )


def set_body(run: Run, tmp_path: Path, text: str) -> None:
    ok(run("postmortem", "edit", "1", env=editor(tmp_path, text)))


def check(run: Run) -> Result:
    return run("postmortem", "check", "1", "--json", env=at(t(17)))


def test_check_flags_each_blaming_line_with_a_suggestion_and_exits_1(
    run: Run, postmortem: int, tmp_path: Path
) -> None:
    # "The root cause was Alex Moreau." names a person as the cause without a verb the
    # built-in rules know; it is listed to be found by an extra rule below, not here.
    built_in = [line for line in BLAMING if line != "The root cause was Alex Moreau."]
    text = body_with(built_in[:5], built_in[5:] + BLAMELESS[:2])
    set_body(run, tmp_path, text)
    result = check(run)
    assert result.exit_code == 1, result.output
    flags = json.loads(result.stdout)
    lines = text.splitlines()
    expected = {number for number, line in enumerate(lines, start=1) if line in built_in}
    assert {f["line"] for f in flags} == expected  # every blaming line, nothing else
    for f in flags:
        assert f["text"] == lines[f["line"] - 1]
        assert f["match"].lower() in f["text"].lower()
        assert f["suggestion"].strip()
    matched = {f["text"]: f["match"].lower() for f in flags}
    assert "human error" in matched[BLAMING[0]]
    assert "should have" in matched[BLAMING[1]]
    assert "careless" in matched[BLAMING[2]]
    assert "fault" in matched[BLAMING[3]]
    assert "failed to" in matched[BLAMING[4]]
    assert any(f["match"].lower().endswith("dana") for f in flags if f["text"] == BLAMING[6])
    assert any("forgot to" in f["match"].lower() for f in flags if f["text"] == BLAMING[7])
    # the human form: one entry per flag with its line number, and exit 1
    human = run("postmortem", "check", "1", env=at(t(17)))
    assert human.exit_code == 1
    for number in expected:
        assert f"line {number}:" in human.stdout


@pytest.mark.parametrize("line", [b for b in BLAMING if b != "The root cause was Alex Moreau."])
def test_each_blaming_phrase_alone_is_flagged(
    run: Run, postmortem: int, tmp_path: Path, line: str
) -> None:
    set_body(run, tmp_path, body_with([line], BLAMELESS))
    result = check(run)
    assert result.exit_code == 1, result.output
    flags = json.loads(result.stdout)
    assert {f["text"] for f in flags} == {line}


def test_a_blameless_rewrite_passes(run: Run, postmortem: int, tmp_path: Path) -> None:
    set_body(run, tmp_path, body_with(BLAMELESS[:2], BLAMELESS[2:]))
    result = check(run)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    human = ok(run("postmortem", "check", "1", env=at(t(17))))
    assert "no blaming language found" in human.stderr


def test_extra_rules_from_the_config_are_applied(
    run: Run, postmortem: int, tmp_path: Path, env: Path
) -> None:
    text = body_with(["The root cause was Alex Moreau."], BLAMELESS)
    set_body(run, tmp_path, text)
    assert check(run).exit_code == 0  # the built-in rules do not see this one
    write_config(env, (
        "[[postmortem.rules]]\n"
        'pattern = "root cause (?:was|is) (?:{people})"\n'
        'suggestion = "name the missing safeguard as the root cause"\n'
        "[[postmortem.rules]]\n"
        'pattern = "\\\\bretired inbox\\\\b"\n'
        "\n"
    ))  # fmt: skip
    result = check(run)
    assert result.exit_code == 1, result.output
    flags = json.loads(result.stdout)
    assert [(f["text"], f["suggestion"]) for f in flags] == [
        ("The root cause was Alex Moreau.", "name the missing safeguard as the root cause"),
        (BLAMELESS[1], "rephrase without blame"),  # no suggestion given: the default one
    ]
    assert flags[0]["match"] == "root cause was Alex Moreau"


@pytest.mark.parametrize(
    "rule",
    ['pattern = "(unclosed"\nsuggestion = "x"', 'suggestion = "no pattern"'],
)
def test_an_invalid_extra_rule_is_a_clear_error(
    run: Run, postmortem: int, env: Path, assert_error: AssertError, rule: str
) -> None:
    write_config(env, f"[[postmortem.rules]]\n{rule}\n")
    line = assert_error(check(run))
    assert "postmortem" in line and ("pattern" in line)
    assert "(unclosed" in line or "needs a pattern" in line
    assert_error(run("postmortem", "publish", "1", env=at(t(17))))


# --- publish ------------------------------------------------------------------------------------


def test_publish_needs_a_reviewer_and_a_clean_check_then_it_is_final(
    run: Run, incident: list, tmp_path: Path, db_path: Path, dump: Dump,
    assert_error: AssertError, load_json: LoadJson,
) -> None:  # fmt: skip
    ok(run("postmortem", "new", "1", env=at(t(15))))  # no reviewer
    before = dump(db_path)
    line = assert_error(run("postmortem", "publish", "1", env=at(t(16))))
    assert "no reviewer" in line and "ocx postmortem review 1" in line
    assert dump(db_path) == before

    ok(run("postmortem", "review", "1", "kim", env=at(t(16))))
    set_body(run, tmp_path, body_with(BLAMING[:2], BLAMELESS))
    before = dump(db_path)
    line = assert_error(run("postmortem", "publish", "1", env=at(t(17))))
    assert "2 blaming phrases" in line and "ocx postmortem check 1" in line
    assert dump(db_path) == before
    assert show(run, load_json, 1)["status"] == "draft"

    final = body_with(BLAMELESS[:2], BLAMELESS[2:])
    set_body(run, tmp_path, final)
    ok(run("postmortem", "publish", "1", env=at(t(18))))
    data = show(run, load_json, 1)
    assert data["status"] == "published"
    assert data["published_at"] == z(t(18))
    assert data["body"] == final

    # final: no more edits (the editor is not even opened), no new reviewer, no second publish
    (tmp_path / "seen.md").unlink()
    before = dump(db_path)
    line = assert_error(run("postmortem", "edit", "1", env=editor(tmp_path, "# rewritten\n")))
    assert "published" in line
    assert not (tmp_path / "seen.md").exists()
    assert "published" in assert_error(run("postmortem", "review", "1", "alex", env=at(t(19))))
    assert "already published" in assert_error(run("postmortem", "publish", "1", env=at(t(19))))
    assert dump(db_path) == before
    listed = load_json(run("postmortem", "list", "--json"))
    assert listed[0]["status"] == "published"


def test_the_blame_rules_catch_a_person_named_as_the_cause_and_spare_nobody_at_fault() -> None:
    from ocx.postmortems import RULES, check_text

    people = "kai|Kai Moana|Moana|eng3"
    blaming = [
        "It was Kai's mistake.",
        "The outage was eng3's mistake.",
        "Moana was responsible for the outage.",
        "Kai Moana's error took the site down.",
        "The incident happened because kai pushed a bad config.",
    ]
    blameless = [
        "Nobody is at fault; the rotation cron was missing.",
        "The deploy pipeline had no config validation step.",
        "Fault tolerance was missing in the queue.",
    ]
    flagged = {f.line for f in check_text("\n".join(blaming + blameless), RULES, people)}
    assert flagged == set(range(1, len(blaming) + 1))
