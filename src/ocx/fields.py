"""The customer profile's fields, declared once.

Every layer reads this: the store's column list, `customers.add`/`edit` validation, an
import's mapping of CustomerRecord fields, the `customer add`/`edit` options and the labels a
profile is shown with. Adding a field is one entry here (plus its column in a migration and
its attribute on `customers.Customer`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocx import clock
from ocx.errors import OcxError

PACES = ("slow", "normal", "fast")
# Internationalised addresses (RFC 6531: garcía@example.com, 用户@例子.广告) are real
# customers' addresses; \w is Unicode-aware here.
_EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})"
)
_QUIET = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_TAG = re.compile(r"[^\s,]+")


# --- normalisers: what people (or an export) type, as stored; OcxError when unusable -------


def normalise_email(text: str) -> str:
    """Trimmed and lower-cased, so Margo@Example.com and margo@example.com are one person."""
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise OcxError(f"{text.strip()!r} is not a valid email address; use e.g. jim@example.com")
    return email


def parse_quiet_hours(text: str) -> str:
    """'22:00-07:00' (may wrap midnight) -> the canonical 'HH:MM-HH:MM'."""
    match = _QUIET.fullmatch(text.strip())
    if match:
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sh < 24 and eh < 24 and sm < 60 and em < 60 and (sh, sm) != (eh, em):
            return f"{sh:02d}:{sm:02d}-{eh:02d}:{em:02d}"
    raise OcxError(
        f"quiet hours {text!r} are not valid; use HH:MM-HH:MM with different start and end, "
        "e.g. 22:00-07:00"
    )


def normalise_tag(text: str) -> str:
    tag = text.strip().lower()
    if not _TAG.fullmatch(tag):
        raise OcxError(f"tag {text!r} is not valid; use one word without spaces or commas")
    return tag


def clean(value: str | None) -> str | None:
    """Empty text clears a field; everything else is trimmed."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _time_zone(text: str) -> str | None:
    return clock.check_zone(text.strip()) if text.strip() else None


def _quiet_hours(text: str) -> str | None:
    return parse_quiet_hours(text) if text.strip() else None


def _pace(text: str) -> str | None:
    pace = text.strip().lower()
    if pace and pace not in PACES:
        raise OcxError(f"pace {text!r} is not one of {', '.join(PACES)}")
    return pace or None


def _imported_zone(text: str) -> str:
    """A helpdesk's zone (a Rails name like 'Central Time (US & Canada)', a city) as IANA."""
    from ocx import zones

    return zones.iana_zone(text) or text


# --- the declaration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One profile field. Values are text (`value_type`); `normalise` turns what was typed into
    what is stored ('' clears, None for a cleared field) or raises OcxError saying why.

    `option`/`help`/`metavar`/`choices`/`completion` make its `customer add`/`edit` option
    (`completion` names a function of ocx.cli.complete; the CLI resolves it). `imported`:
    an import may set it from the CustomerRecord attribute of the same name, first mapped
    through `import_map` when set; a value `normalise` refuses is left out with a warning.
    `column`: False for tags, which live in their own table."""

    name: str
    label: str
    option: str
    help: str
    normalise: Callable[[str], Any] = clean
    value_type: type = str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    completion: str | None = None
    multiple: bool = False
    imported: bool = False
    import_map: Callable[[str], str] | None = None
    column: bool = True

    @property
    def dest(self) -> str:
        """The keyword the CLI passes it as (tags: `tags`, the rest: the field's name)."""
        return "tags" if self.name == "tags" else self.name


# In the order `customer add --help` lists the options and `customer show` the labels.
FIELDS: tuple[Field, ...] = (
    Field("email", "Email", "--email", "New email address.", normalise_email),
    Field("name", "Name", "--name", "Full name, e.g. 'Margo Lane'.", imported=True),
    Field("company", "Company", "--company", "Company or organisation.", imported=True),
    Field("phone", "Phone", "--phone", "Phone number.", imported=True),
    Field(
        "time_zone", "Time zone", "--tz", "Time zone, e.g. Europe/Paris.", _time_zone,
        metavar="IANA", imported=True, import_map=_imported_zone,
    ),
    Field(
        "channel", "Channel", "--channel",
        "Preferred channel: a configured channel, a notifier type or a word like phone.",
        metavar="NAME", completion="channels",
    ),
    Field(
        "pace", "Pace", "--pace",
        "How they like to be served: slow (step by step) to fast (just the answer).",
        _pace, choices=PACES, imported=True,
    ),
    Field("tone", "Tone", "--tone", "Tone that suits them, e.g. 'warm, no jargon'."),
    Field("language", "Language", "--language", "Language to write in, e.g. en, fr.",
          imported=True),
    Field(
        "quiet_hours", "Quiet hours", "--quiet-hours",
        "Do not contact them then (their time zone).", _quiet_hours, metavar="HH:MM-HH:MM",
    ),
    Field(
        "tags", "Tags", "--tag", "Tag (repeatable).", normalise_tag, metavar="T",
        multiple=True, column=False,
    ),
    Field("context", "Context", "--context", "Personal context worth remembering.",
          imported=True),
)  # fmt: skip
BY_NAME = {f.name: f for f in FIELDS}
# The customers table's profile columns, in the table's order.
COLUMNS = tuple(f.name for f in FIELDS if f.column)
# What an import may set from a CustomerRecord (email and tags have rules of their own).
IMPORTED = tuple(f for f in FIELDS if f.imported)
LABELS = {f.name: f.label for f in FIELDS}


def validate_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise profile fields given as text; '' means clear the field."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        found = BY_NAME.get(key)
        if found is None or not found.column:
            raise OcxError(f"unknown customer field {key!r}")
        out[key] = found.normalise(value)
    return out


def imported_value(declared: Field, text: str) -> str | None:
    """An exported value as `customer add` would store it (after the field's import_map);
    OcxError, with add's message, when add would refuse it."""
    if declared.import_map is not None:
        text = declared.import_map(text)
    return declared.normalise(text)
