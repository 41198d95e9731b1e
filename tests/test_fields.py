"""The customer profile's fields, declared once in ocx.fields: every layer reads the same
declaration, and an import applies `customer add`'s validation, leaving out (with a warning)
what add would refuse."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ocx import fields
from ocx.customers import Customer
from ocx.errors import OcxError
from ocx.plugin_api import CustomerRecord
from ocx.store import customers as customer_sql

if TYPE_CHECKING:
    from conftest import LoadJson, Rows, Run


def test_every_layer_reads_the_one_declaration() -> None:
    assert customer_sql.PROFILE_COLUMNS == fields.COLUMNS
    assert fields.COLUMNS[0] == "email" and "tags" not in fields.COLUMNS
    customer_attrs = {f.name for f in dataclasses.fields(Customer)}
    assert set(fields.COLUMNS) | {"tags"} <= customer_attrs
    record_attrs = {f.name for f in dataclasses.fields(CustomerRecord)}
    assert {f.name for f in fields.IMPORTED} <= record_attrs
    assert len({f.option for f in fields.FIELDS}) == len(fields.FIELDS)


@pytest.mark.parametrize(
    ("name", "text", "stored"),
    [
        ("email", " Margo@Example.com ", "margo@example.com"),
        ("time_zone", " Europe/Paris ", "Europe/Paris"),
        ("time_zone", "", None),
        ("pace", " FAST ", "fast"),
        ("pace", "", None),
        ("quiet_hours", "7:00 - 9:30", "07:00-09:30"),
        ("context", "  likes cats  ", "likes cats"),
        ("tone", "   ", None),
    ],
)
def test_validate_profile_normalises(name: str, text: str, stored: str | None) -> None:
    assert fields.validate_profile({name: text}) == {name: stored}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("email", "nope", "'nope' is not a valid email address; use e.g. jim@example.com"),
        ("pace", "sloth", "pace 'sloth' is not one of slow, normal, fast"),
        ("time_zone", "Mars/Olympus",
         "unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Paris or UTC"),
        ("quiet_hours", "9-5", "quiet hours '9-5' are not valid; use HH:MM-HH:MM with different "
                               "start and end, e.g. 22:00-07:00"),
        ("tags", "a b", "unknown customer field 'tags'"),
        ("shoe_size", "42", "unknown customer field 'shoe_size'"),
    ],
)  # fmt: skip
def test_validate_profile_refuses_with_the_messages_people_see(
    name: str, text: str, message: str
) -> None:
    with pytest.raises(OcxError) as raised:
        fields.validate_profile({name: text})
    assert str(raised.value) == message


def test_an_import_maps_a_helpdesk_zone_then_validates_as_add_does() -> None:
    zone = fields.BY_NAME["time_zone"]
    assert fields.imported_value(zone, "Central Time (US & Canada)") == "America/Chicago"
    with pytest.raises(OcxError, match="unknown time zone 'Mars/Olympus'"):
        fields.imported_value(zone, "Mars/Olympus")


def _zendesk_users(folder: Path) -> Path:
    folder.mkdir()
    users = [
        {"id": 1, "name": "Ana Ruiz", "email": "ana@example.com", "role": "end-user",
         "iana_time_zone": "Europe/Madrid", "user_fields": {"pace": "sloth"}},
        {"id": 2, "name": "Bo Lin", "email": "bo@example.com", "role": "end-user",
         "user_fields": {"pace": "Fast"}},
        {"id": 3, "name": "Cy Moss", "email": "cy@example.com", "role": "end-user",
         "user_fields": {"pace": "sloth"}},
    ]  # fmt: skip
    (folder / "users.json").write_text(json.dumps({"users": users}), encoding="utf-8")
    return folder


def test_an_imported_value_add_would_refuse_is_left_out_with_a_warning(
    run: Run, initialized: Path, tmp_path: Path, rows: Rows, load_json: LoadJson
) -> None:
    export = _zendesk_users(tmp_path / "zendesk")
    summary = load_json(run("import", "zendesk", str(export), "--json"))
    assert summary["created"]["customers"] == 3
    assert summary["skipped"] == []
    assert summary["warnings"] == [
        f"{export / 'users.json'}: user 1: pace 'sloth' is not one of slow, normal, fast; "
        "not imported (here and for 1 more customer)"
    ]
    stored = rows(initialized, "SELECT email, pace, time_zone FROM customers ORDER BY email")
    assert stored == [
        {"email": "ana@example.com", "pace": None, "time_zone": "Europe/Madrid"},
        {"email": "bo@example.com", "pace": "fast", "time_zone": None},
        {"email": "cy@example.com", "pace": None, "time_zone": None},
    ]
    # the same refusal `customer add` makes
    add = run("customer", "add", "dee@example.com", "--pace", "sloth")
    assert add.exit_code == 2 and "'sloth' is not one of 'slow', 'normal', 'fast'" in add.output


def test_an_unknown_time_zone_in_a_csv_is_left_out_and_said_in_the_summary(
    run: Run, initialized: Path, tmp_path: Path, rows: Rows
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "email,name,time_zone\nana@example.com,Ana,Mars/Olympus\nbo@example.com,Bo,Asia/Tokyo\n",
        encoding="utf-8",
    )
    result = run("import", "csv", str(path))
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {path}:2: unknown time zone 'Mars/Olympus'; use an IANA name such as "
        "Europe/Paris or UTC; not imported\n"
    ) in result.output
    stored = rows(initialized, "SELECT email, time_zone FROM customers ORDER BY email")
    assert stored == [
        {"email": "ana@example.com", "time_zone": None},
        {"email": "bo@example.com", "time_zone": "Asia/Tokyo"},
    ]
    refused = run("customer", "add", "cy@example.com", "--tz", "Mars/Olympus")
    assert refused.exit_code == 1
    assert "unknown time zone 'Mars/Olympus'" in refused.output


def test_a_dry_run_warns_too(run: Run, initialized: Path, tmp_path: Path,
                             load_json: LoadJson) -> None:  # fmt: skip
    export = _zendesk_users(tmp_path / "zendesk")
    summary = load_json(run("import", "zendesk", str(export), "--dry-run", "--json"))
    assert len(summary["warnings"]) == 1 and "pace 'sloth'" in summary["warnings"][0]
