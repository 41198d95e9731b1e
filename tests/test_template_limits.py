"""Template limits: one message renders within `template_timeout` seconds and
`template_max_bytes` bytes (ocx.toml), or the whole command stops before anything is queued,
with one line naming the template (its file, or --message), the limit and the customer.
Rendering takes no write lock: other commands write while a slow update renders.

Everything goes through the CLI against a real SQLite file; the cooperative checks are also
run in a worker thread, where no SIGALRM can help them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ocx import templates
from ocx.errors import OcxError

if TYPE_CHECKING:
    from click.testing import Result
    from conftest import AssertError, Dump, LoadJson, Run

NOW = {"OCX_NOW": "2026-11-25T10:00:00Z"}
EMAILS = ("margo@example.com", "jim@example.com")
# Never finishes: 10**10 loop passes that print nothing.
ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}Hi"


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def home(run: Run, initialized: Path, env: Path) -> Path:
    """Config user tester (UTC); team sam (lead); Margo (slow) and Jim (fast) in INC-1."""
    (env / "ocx.toml").write_text('user = "tester"\ntimezone = "UTC"\n', encoding="utf-8")
    ok(run("team", "add", "tester", env=NOW))
    ok(run("team", "add", "sam", "--name", "Sam Rivera", "--lead", env=NOW))
    ok(run("customer", "add", EMAILS[0], "--name", "Margo Lane", "--pace", "slow", env=NOW))
    ok(run("customer", "add", EMAILS[1], "--name", "Jim Hollis", "--pace", "fast", env=NOW))
    ok(run("incident", "new", "Bank sync failing", "--lead", "sam", env=NOW))
    ok(run("incident", "fanout", "INC-1", "--all", "--concierge", "sam", env=NOW))
    return env


def set_config(run: Run, key: str, value: str) -> None:
    ok(run("config", "set", key, value))


def outbox(run: Run, load_json: LoadJson) -> list[Any]:
    return load_json(run("outbox", "list", "--json"))  # type: ignore[no-any-return]


def told(run: Run, load_json: LoadJson, email: str, kind: str = "incident-update") -> list[str]:
    """What the customer's timeline says they were sent (the text of each message queued)."""
    timeline = load_json(run("customer", "timeline", email, "--json", env=NOW))
    return [entry["text"] for entry in timeline if entry["kind"] == kind]


OVER_BYTES = {
    "repeat": "{{ 'a' * 10**8 }}",
    "power": "{{ 10 ** (10 ** 10) }}",
    "loop-output": "{% for i in range(100000) %}{{ customer.name }} is affected. {% endfor %}",
    "printf-width": "{{ '%0100000000d' % 1 }}",
    "format-width": "{{ '{:>999999999}'.format(1) }}",
    "center": "{{ customer.name|center(10**9) }}",
    "doubling": "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "set-block": "{% set big = 'a' * 60000 %}{% set x %}{% for i in range(100000) %}"
    "{{ big }}{% endfor %}{% endset %}{{ x|length }}",
    "replace": "{{ 'ab'.replace('', 'x' * 60000) }}",
    "join": "{{ (['a' * 60000] * 60000)|join }}",
}


@pytest.mark.parametrize("source", OVER_BYTES.values(), ids=OVER_BYTES.keys())
@pytest.mark.parametrize("how", ["template", "message", "dry-run", "resolve"])
def test_a_message_over_template_max_bytes_stops_the_command_and_queues_nothing(
    run: Run, home: Path, db_path: Path, tmp_path: Path, dump: Dump, load_json: LoadJson,
    assert_error: AssertError, source: str, how: str,
) -> None:  # fmt: skip
    path = tmp_path / "big.md.j2"
    path.write_text(f"Hello {{{{ customer.first_name }}}},\n{source}\n", encoding="utf-8")
    given = (
        ["--message", path.read_text("utf-8")] if how == "message" else ["--template", str(path)]
    )
    command = ["incident", "resolve"] if how == "resolve" else ["incident", "update"]
    extra = ["--dry-run"] if how == "dry-run" else []
    before = dump(db_path)
    line = assert_error(run(*command, "INC-1", *given, *extra, env=NOW))
    named = "--message" if how == "message" else f"template {path}"
    assert line.startswith(f"Error: {named} made a message over template_max_bytes (65536 bytes) "
                           "for customer ")  # fmt: skip
    assert line.endswith("; shorten it or raise template_max_bytes in ocx.toml")
    assert any(f"for customer {email};" in line for email in EMAILS)
    assert dump(db_path) == before
    assert outbox(run, load_json) == []


@pytest.mark.parametrize(
    "source",
    [
        ENDLESS,
        # a loop over text, not range(); and a macro calling itself twice, 2**40 times
        "{% for c in 'a' * 60000 %}{% for d in 'b' * 60000 %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
    ],
    ids=["nested-range", "nested-text", "macro"],
)
@pytest.mark.parametrize("how", ["template", "message"])
def test_a_message_over_template_timeout_stops_the_command_and_queues_nothing(
    run: Run, home: Path, db_path: Path, tmp_path: Path, dump: Dump, load_json: LoadJson,
    assert_error: AssertError, source: str, how: str,
) -> None:  # fmt: skip
    set_config(run, "template_timeout", "0.5")
    path = tmp_path / "slow.md.j2"
    path.write_text(source, encoding="utf-8")
    given = ["--message", source] if how == "message" else ["--template", str(path)]
    before = dump(db_path)
    line = assert_error(run("incident", "update", "INC-1", *given, "--next-update", "2h", env=NOW))
    named = "--message" if how == "message" else f"template {path}"
    assert line.startswith(f"Error: {named} took longer than template_timeout (0.5 s) for "
                           "customer ")  # fmt: skip
    assert line.endswith("; simplify it or raise template_timeout in ocx.toml")
    assert dump(db_path) == before
    assert outbox(run, load_json) == []


@pytest.mark.parametrize(
    "source", ["{{ 'x'|center(1000000000) }}", "{{ '%0100000000d'|format(1) }}"]
)
def test_a_constant_over_the_limit_is_refused_while_the_template_compiles(
    run: Run, home: Path, db_path: Path, dump: Dump, load_json: LoadJson,
    assert_error: AssertError, source: str,
) -> None:  # fmt: skip
    """Jinja2 works out filters of constants as it compiles, before any customer's turn:
    the limits hold there too (no traceback), and the line names no customer."""
    before = dump(db_path)
    line = assert_error(run("incident", "update", "INC-1", "--message", source, env=NOW))
    assert line == (
        "Error: --message made a message over template_max_bytes (65536 bytes); "
        "shorten it or raise template_max_bytes in ocx.toml"
    )
    assert dump(db_path) == before
    assert outbox(run, load_json) == []


def test_template_max_bytes_counts_utf8_bytes_and_allows_exactly_the_limit(
    run: Run, home: Path, load_json: LoadJson, assert_error: AssertError
) -> None:
    set_config(run, "template_max_bytes", "1024")
    # é is two bytes in UTF-8: 512 of them are the limit exactly, one more letter is over
    ok(run("incident", "update", "INC-1", "--message", "é" * 512, env=NOW))
    assert len(outbox(run, load_json)) == 2
    assert told(run, load_json, EMAILS[0]) == ["é" * 512]
    line = assert_error(run("incident", "update", "INC-1", "--message", "é" * 512 + "a", env=NOW))
    assert "over template_max_bytes (1024 bytes)" in line
    assert len(outbox(run, load_json)) == 2


def test_an_ordinary_template_still_renders_loops_filters_and_macros(
    run: Run, home: Path, load_json: LoadJson
) -> None:
    source = (
        "{% macro greet(who) %}Hi {{ who }}{% endmacro %}{{ greet(customer.first_name) }}: "
        "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}/{{ loop.length }}"
        "{{ ',' if not loop.last }}{% endfor %} {{ range(3)|list|join('-') }} "
        "{{ '%03d'|format(7) }} {{ '{:,}'.format(1234567) }} {{ 'x'|center(5) }}| "
        "{{ 10**10**10 == 10**100 }} {{ (customer.pace ~ '!')|upper }}"
    )
    ok(run("incident", "update", "INC-1", "--message", source, env=NOW))
    assert told(run, load_json, EMAILS[0]) == [
        "Hi Margo: 1/3,2/3,3/3 0-1-2 007 1,234,567   x  | True SLOW!"
    ]
    assert told(run, load_json, EMAILS[1]) == [
        "Hi Jim: 1/3,2/3,3/3 0-1-2 007 1,234,567   x  | True FAST!"
    ]


def test_the_limits_hold_in_a_thread_where_no_alarm_can_help() -> None:
    """The deadline and the byte cap are checked by the renderer itself, not by SIGALRM
    (main thread only): the same template stops in a worker thread too."""
    errors: list[str] = []

    def render(source: str, limits: templates.Limits) -> None:
        try:
            templates.render_all(source, [{}], name="template t.j2", labels=["a@b.c"],
                                 limits=limits)  # fmt: skip
        except OcxError as exc:
            errors.append(str(exc))

    for source, limits in [
        (ENDLESS, templates.Limits(timeout=0.3)),
        ("{{ 'a' * 10**8 }}", templates.Limits()),
        ("{% for i in range(3000) %}{{ 'x' * 1000 }}{% endfor %}", templates.Limits()),
    ]:
        worker = threading.Thread(target=render, args=(source, limits))
        worker.start()
        worker.join(60)
        assert not worker.is_alive(), f"{source!r} ran on past its limit"
    assert errors == [
        "template t.j2 took longer than template_timeout (0.3 s) for customer a@b.c; "
        "simplify it or raise template_timeout in ocx.toml",
        "template t.j2 made a message over template_max_bytes (65536 bytes) for customer "
        "a@b.c; shorten it or raise template_max_bytes in ocx.toml",
        "template t.j2 made a message over template_max_bytes (65536 bytes) for customer "
        "a@b.c; shorten it or raise template_max_bytes in ocx.toml",
    ]


# --- the two keys in ocx.toml --------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("template_timeout", "0.1", 0.1),
        ("template_timeout", "60", 60),
        ("template_timeout", "2.5", 2.5),
        ("template_max_bytes", "1024", 1024),
        ("template_max_bytes", "10485760", 10485760),
    ],
)
def test_config_set_takes_the_template_limits_within_their_bounds(
    run: Run, env: Path, load_json: LoadJson, key: str, value: str, stored: float
) -> None:
    set_config(run, key, value)
    assert load_json(run("config", "show", "--json"))[key] == stored


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("template_timeout", "0.09"),
        ("template_timeout", "60.5"),
        ("template_timeout", "0"),
        ("template_timeout", "-1"),
        ("template_timeout", "soon"),
        ("template_timeout", "true"),
        ("template_max_bytes", "1023"),
        ("template_max_bytes", "10485761"),
        ("template_max_bytes", "2048.5"),
        ("template_max_bytes", "big"),
        ("template_max_bytes", "true"),
    ],
)
def test_config_set_refuses_template_limits_out_of_bounds_and_leaves_the_file(
    run: Run, env: Path, assert_error: AssertError, key: str, value: str
) -> None:
    set_config(run, "user", "tester")
    before = (env / "ocx.toml").read_bytes()
    line = assert_error(run("config", "set", "--", key, value))
    bounds = (
        "seconds from 0.1 to 60" if key == "template_timeout" else "bytes from 1024 to 10485760"
    )
    assert line.startswith(f"Error: {key} in ocx.toml must be a ")
    assert bounds in line and f"'ocx config set {key} " in line
    assert (env / "ocx.toml").read_bytes() == before


def test_a_bad_limit_written_by_hand_stops_the_update_and_changes_nothing(
    run: Run, home: Path, db_path: Path, dump: Dump, assert_error: AssertError
) -> None:
    (home / "ocx.toml").write_text('user = "tester"\ntemplate_max_bytes = 12\n', encoding="utf-8")
    before = dump(db_path)
    line = assert_error(run("incident", "update", "INC-1", "--message", "Hi", env=NOW))
    assert "template_max_bytes in ocx.toml must be a whole number of bytes" in line
    assert dump(db_path) == before


# --- no write lock while rendering ---------------------------------------------------------


def test_resolve_renders_its_closing_messages_before_it_takes_the_write_lock(
    run: Run, home: Path, db_path: Path, load_json: LoadJson
) -> None:
    """A closing message that renders for seconds must not lock out short writers: with
    busy_timeout 0.5 s, a note or a promise written meanwhile would fail if the resolve held
    the write lock while rendering. The template never ends, so the resolve renders for
    exactly template_timeout (4 s), whatever the machine's speed, then fails."""
    set_config(run, "busy_timeout", "0.5")
    set_config(run, "template_timeout", "4")
    env = {**os.environ, "OCX_HOME": str(home), **NOW}
    resolve = subprocess.Popen(
        [sys.executable, "-m", "ocx", "--db", str(db_path), "incident", "resolve", "INC-1",
         "--message", ENDLESS],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(1)  # the resolve is rendering now
        note = run("customer", "note", EMAILS[0], "Called her", env=NOW)
        promise = run("promise", "add", EMAILS[1], "Call back", "--due", "+2h", env=NOW)
        still_rendering = resolve.poll() is None
    finally:
        _, err = resolve.communicate(timeout=120)
    assert note.exit_code == 0, note.output
    assert promise.exit_code == 0, promise.output
    assert still_rendering, "the resolve finished too soon to show anything"
    assert resolve.returncode == 1
    assert err == (
        "Error: --message took longer than template_timeout (4 s) for customer "
        f"{EMAILS[0]}; simplify it or raise template_timeout in ocx.toml\n"
    )
    assert outbox(run, load_json) == []
    cases = load_json(run("incident", "cases", "INC-1", "--json"))
    assert {case["state"] for case in cases} == {"new"}
