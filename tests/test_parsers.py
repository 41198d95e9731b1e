"""Property tests for what people type: REFs, emails, quiet hours, durations and times."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ocx.clock import parse_duration, parse_when
from ocx.customers import Ref, normalise_email, parse_quiet_hours, parse_ref
from ocx.errors import OcxError

# A Wednesday, mid-morning in UTC.
REFERENCE = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
blank = st.text(alphabet=" \t\n", max_size=3)
label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.from_regex(r"[a-z0-9]+([._+-][a-z0-9]+)*", fullmatch=True).filter(lambda s: len(s) < 40),
    label,
    st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=6),
)


def random_case(draw: st.DrawFn, value: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    return "".join(c.upper() if flip else c for c, flip in zip(value, flips, strict=True))


# --- REF -----------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**30), blank, blank, st.integers(0, 3))
def test_digits_are_an_id(number: int, before: str, after: str, zeros: int) -> None:
    assert parse_ref(f"{before}{'0' * zeros}{number}{after}") == Ref("id", str(number))


@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,15}", fullmatch=True),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), min_size=1,
            max_size=30).filter(lambda s: s.strip()),
)  # fmt: skip
@example("zendesk", "1234")
@example("Email", "old@example.com")
def test_source_colon_external_id_is_a_source(source: str, external_id: str) -> None:
    assert parse_ref(f"{source}:{external_id}") == Ref(
        "source", external_id.strip(), source.lower()
    )


@given(st.data(), emails, blank, blank)
def test_an_email_ref_is_trimmed_and_lower_cased(
    data: st.DataObject, email: str, before: str, after: str
) -> None:
    typed = before + random_case(data.draw, email) + after
    assert parse_ref(typed) == Ref("email", email)


@given(text)
@example("")
@example("margo")
@example("-1")
@example("١٢")  # Arabic-Indic digits are not an id
def test_parse_ref_returns_a_ref_or_says_no_customer_matches(raw: str) -> None:
    try:
        ref = parse_ref(raw)
    except OcxError as exc:
        assert str(exc) == f"no customer matches {raw!r}"
        return
    assert ref.kind in ("id", "email", "source")
    if ref.kind == "id":
        assert ref.value.isascii() and ref.value.isdigit()


# --- email ---------------------------------------------------------------------------------


@given(st.data(), emails, blank, blank)
def test_emails_in_any_case_with_spaces_normalise_to_one_value(
    data: st.DataObject, email: str, before: str, after: str
) -> None:
    typed = before + random_case(data.draw, email) + after
    assert normalise_email(typed) == email


@given(text)
@example("not-an-email")
@example("a@b")
@example("a b@example.com")
@example("x" * 250 + "@example.com")
def test_normalise_email_is_idempotent_or_refuses_clearly(raw: str) -> None:
    try:
        email = normalise_email(raw)
    except OcxError as exc:
        assert "not a valid email" in str(exc)
        return
    assert email == email.strip().lower()
    assert normalise_email(email) == email
    assert email.count("@") == 1


# --- quiet hours ---------------------------------------------------------------------------


clock_times = st.tuples(st.integers(0, 23), st.integers(0, 59))


@given(clock_times, clock_times, st.booleans(), st.booleans(), blank, blank)
def test_quiet_hours_parse_to_zero_padded_form(
    start: tuple[int, int], end: tuple[int, int], pad_start: bool, pad_end: bool,
    before: str, after: str,
) -> None:  # fmt: skip
    def typed(hour: int, minute: int, pad: bool) -> str:
        return f"{hour:02d}:{minute:02d}" if pad else f"{hour}:{minute:02d}"

    raw = f"{before}{typed(*start, pad_start)}-{typed(*end, pad_end)}{after}"
    if start == end:
        with pytest.raises(OcxError):
            parse_quiet_hours(raw)
        return
    expected = f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"
    assert parse_quiet_hours(raw) == expected
    assert parse_quiet_hours(expected) == expected


@given(st.integers(24, 99), st.integers(0, 59))
def test_quiet_hours_refuse_an_hour_past_23(hour: int, minute: int) -> None:
    with pytest.raises(OcxError, match="quiet hours"):
        parse_quiet_hours(f"{hour}:{minute:02d}-07:00")


@given(text)
@example("22:00")
@example("22:00-07:60")
@example("7-9")
def test_parse_quiet_hours_only_raises_ocx_error(raw: str) -> None:
    try:
        parsed = parse_quiet_hours(raw)
    except OcxError:
        return
    assert len(parsed) == 11 and parsed[2] == ":" and parsed[5] == "-"
    assert parse_quiet_hours(parsed) == parsed


# --- durations -----------------------------------------------------------------------------


UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "hours": 3600, "d": 86400, "w": 604800}


@given(st.lists(st.tuples(st.integers(1, 500), st.sampled_from(sorted(UNIT_SECONDS))),
                min_size=1, max_size=4), st.sampled_from(["", " "]))  # fmt: skip
def test_durations_add_up_their_parts(parts: list[tuple[int, str]], sep: str) -> None:
    raw = sep.join(f"{n}{unit}" for n, unit in parts)
    expected = timedelta(seconds=sum(n * UNIT_SECONDS[unit] for n, unit in parts))
    assert parse_duration(raw) == expected
    assert parse_duration(raw.upper()) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)),
     ("1w", timedelta(weeks=1)), ("1h30m", timedelta(minutes=90)),
     ("2 hours", timedelta(hours=2)), ("1.5h", timedelta(minutes=90))],
)  # fmt: skip
def test_duration_examples(raw: str, expected: timedelta) -> None:
    assert parse_duration(raw) == expected


@given(text)
@example("")
@example("0h")
@example("2 fortnights")
@example("9" * 400 + "d")
@example("99999999999w")
def test_parse_duration_only_raises_ocx_error(raw: str) -> None:
    try:
        parsed = parse_duration(raw)
    except OcxError:
        return
    assert parsed > timedelta(0)


# --- points in time ------------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("now", REFERENCE),
        ("in 2 hours", utc(2026, 11, 25, 12)),
        ("+3d", utc(2026, 11, 28, 10)),
        ("-2h", utc(2026, 11, 25, 8)),
        ("3 days ago", utc(2026, 11, 22, 10)),
        ("today", utc(2026, 11, 25)),
        ("yesterday", utc(2026, 11, 24)),
        ("tomorrow", utc(2026, 11, 26, 9)),
        ("tomorrow 9am", utc(2026, 11, 26, 9)),
        ("Tomorrow  3:30pm", utc(2026, 11, 26, 15, 30)),
        ("tomorrow at noon", utc(2026, 11, 26, 12)),
        ("friday 15:00", utc(2026, 11, 27, 15)),
        ("fri", utc(2026, 11, 27, 9)),
        ("next monday", utc(2026, 11, 30, 9)),
        ("wednesday 8am", utc(2026, 12, 2, 8)),  # today is Wednesday: the next one
        ("17:00", utc(2026, 11, 25, 17)),  # later today
        ("9am", utc(2026, 11, 26, 9)),  # already past today: tomorrow
        ("2026-12-01", utc(2026, 12, 1)),
        ("2026-12-01T15:00", utc(2026, 12, 1, 15)),
        ("2026-12-01 15:00", utc(2026, 12, 1, 15)),
        ("2026-12-01T15:00:00Z", utc(2026, 12, 1, 15)),
        ("2026-12-01T15:00:00+02:00", utc(2026, 12, 1, 13)),
    ],
)
def test_parse_when_examples_in_utc(raw: str, expected: datetime) -> None:
    assert parse_when(raw, tz=UTC, reference=REFERENCE) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-01T15:00", utc(2026, 12, 1, 14)),  # no offset: Paris time
        ("2026-12-01T15:00:00+00:00", utc(2026, 12, 1, 15)),  # an offset wins
        ("2026-07-01", utc(2026, 6, 30, 22)),  # summer time
        ("tomorrow 9am", utc(2026, 11, 26, 8)),
        ("today", utc(2026, 11, 24, 23)),
        ("friday 15:00", utc(2026, 11, 27, 14)),
        ("in 2 hours", utc(2026, 11, 25, 12)),
    ],
)
def test_parse_when_reads_local_forms_in_the_given_zone(raw: str, expected: datetime) -> None:
    assert parse_when(raw, tz=PARIS, reference=REFERENCE) == expected


def test_parse_when_without_reference_uses_ocx_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCX_NOW", "2026-01-01T00:00:00Z")
    assert parse_when("in 90 minutes", tz=UTC) == utc(2026, 1, 1, 1, 30)


@pytest.mark.parametrize(
    "raw", ["", "whenever", "next", "in a bit", "13pm", "25:00", "tomorrow at teatime",
            "2026-02-30", "monday 9 o'clock"],
)  # fmt: skip
def test_parse_when_refuses_what_it_cannot_read(raw: str) -> None:
    with pytest.raises(OcxError, match="cannot read time"):
        parse_when(raw, tz=UTC, reference=REFERENCE)


@given(text, st.sampled_from([UTC, PARIS, ZoneInfo("Pacific/Kiritimati")]))
@example("in 99999999 days", UTC)
@example("-99999999 days", UTC)
@example("0001-01-01T00:00+05:00", UTC)
@example("9999-12-31T23:59", ZoneInfo("Pacific/Kiritimati"))
@example("0001-01-01", PARIS)
def test_parse_when_only_raises_ocx_error(raw: str, tz: ZoneInfo) -> None:
    try:
        parsed = parse_when(raw, tz=tz, reference=REFERENCE)
    except OcxError:
        return
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_parse_when_round_trips_iso_text(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_when(moment.isoformat(), tz=PARIS, reference=REFERENCE) == moment
    assert parse_when(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), tz=PARIS, reference=REFERENCE) == (
        moment
    )
