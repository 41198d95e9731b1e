"""ocx.toml: where it lives, reading, writing (0600) and the redacted view."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from ocx.errors import OcxError

CONFIG_NAME = "ocx.toml"
DB_NAME = "ocx.db"
# Keys whose value would be a secret if someone wrote one in by hand; shown redacted.
_SECRET = re.compile(r"(password|passwd|secret|token|api_?key|credential)s?$", re.IGNORECASE)
REDACTED = "********"


def default_db_path() -> Path:
    """The database path when nothing overrides it: the platformdirs user data dir."""
    import platformdirs  # lazily: 20 ms of start-up most commands never need

    return Path(platformdirs.user_data_dir("ocx", appauthor=False)) / DB_NAME


def is_url(target: object) -> bool:
    """Whether a database setting names a PostgreSQL database rather than a file."""
    return isinstance(target, str) and target.lower().startswith(("postgresql://", "postgres://"))


def _target(value: str, base: Path | None = None) -> Path | str:
    if is_url(value):
        return value
    path = Path(value).expanduser()
    return base / path if base is not None and not path.is_absolute() else path


def explicit_db(option: str | None) -> Path | str | None:
    """The database named on the command line (--db) or in OCX_DB, if any."""
    if option:
        return _target(option)
    if os.environ.get("OCX_DB"):
        return _target(os.environ["OCX_DB"])
    return None


def resolve_db_path(option: str | None, configured: Any = None, base: Path | None = None
                    ) -> Path | str:  # fmt: skip
    """--db > OCX_DB > the `db` key of ocx.toml > $OCX_HOME/ocx.db > the user data dir.
    A postgresql:// (or postgres://) URL is returned as text, a file as a Path; a relative
    `db` path in ocx.toml is read from the config's folder (`base`)."""
    explicit = explicit_db(option)
    if explicit is not None:
        return explicit
    if isinstance(configured, str) and configured.strip():
        return _target(configured.strip(), base)
    if configured is not None and not isinstance(configured, str):
        raise OcxError("config key 'db' must be a path or a postgresql:// URL (a string)")
    if os.environ.get("OCX_HOME"):
        return Path(os.environ["OCX_HOME"]).expanduser() / DB_NAME
    return default_db_path()


def resolve_config_path(db_path: Path | str | None) -> Path:
    """$OCX_HOME/ocx.toml when OCX_HOME is set, else ocx.toml beside a database file named
    by --db or OCX_DB, else the one in the user data dir (also for a database URL)."""
    if os.environ.get("OCX_HOME"):
        return Path(os.environ["OCX_HOME"]).expanduser() / CONFIG_NAME
    if db_path is None or isinstance(db_path, str):
        return default_db_path().parent / CONFIG_NAME
    return db_path.parent / CONFIG_NAME


def shown_db(target: Path | str) -> str:
    """A database as messages show it: a URL's password masked."""
    if isinstance(target, str):
        from ocx.store.pg import masked

        return masked(target)
    return str(target)


def load(path: Path) -> dict[str, Any]:
    """The config as a dict; a missing file is an empty config."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise OcxError(f"{path} is not valid TOML ({exc}); fix or remove it") from None
    except OSError as exc:
        raise OcxError(f"cannot read config {path}: {exc.strerror}") from None


def save(path: Path, data: dict[str, Any], header: str = "") -> None:
    """Write the config atomically with mode 0600 (its folder 0700): it may name where
    secrets live."""
    import tomli_w

    from ocx import private

    private.write_file(path, (header + tomli_w.dumps(data)).encode("utf-8"))


def starter(user: str | None, timezone: str | None) -> dict[str, Any]:
    """What `ocx init` writes when there is no config yet."""
    data: dict[str, Any] = {}
    if user:
        data["user"] = user
    if timezone:
        data["timezone"] = timezone
    return data


STARTER_HEADER = """\
# ocx configuration. Edit with `ocx config set KEY VALUE`; see docs/configuration.md.
# user: your team handle; timezone: IANA name used to show times.
# Secrets never go here: a key ending in _env names the environment variable holding one.
"""


# Top-level keys later features read, with the value they take when ocx.toml is silent.
DEFAULTS: dict[str, Any] = {
    "escalate_after": "4h",  # overdue this long: the team lead is told (ocx due --notify)
    "confirm_after": "1d",  # a resolved case: check with the customer this long after
    "max_attempts": 5,  # deliveries tried before a message gives up (then its fallback)
    "squeaky_contacts": 3,  # inbound contacts within squeaky_days that make a squeaky wheel
    "squeaky_days": 7,
    "busy_timeout": 30,  # seconds a command waits for another ocx's write lock before failing
    "template_timeout": 2,  # seconds one customer's message may take to render
    "template_max_bytes": 65536,  # UTF-8 bytes one rendered message may have
    # how soon a customer's mail is answered, by their pace (a reply promise's due time)
    "reply_within": {"fast": "1h", "normal": "4h", "slow": "1d"},
}
MAX_BUSY_TIMEOUT = 3600
TEMPLATE_TIMEOUT_RANGE = (0.1, 60)
TEMPLATE_MAX_BYTES_RANGE = (1024, 10 * 1024 * 1024)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def confirm_after(data: dict[str, Any]) -> timedelta:
    """`confirm_after` from ocx.toml, checked: how long after a case is resolved its
    concierge checks with the customer that it is fixed."""
    return _duration(data.get("confirm_after", DEFAULTS["confirm_after"]), "confirm_after", "1d")


def _duration(value: Any, key: str, example: str) -> timedelta:
    """A duration key of ocx.toml, checked; the error names the key and how to set it."""
    from ocx import clock

    try:
        if not isinstance(value, str):
            raise OcxError(f"{value!r} is not a duration")
        return clock.parse_duration(value)
    except OcxError as exc:
        raise OcxError(
            f"{key} in ocx.toml: {exc}; fix it with 'ocx config set {key} {example}'"
        ) from None


def busy_timeout(data: dict[str, Any]) -> float:
    """`busy_timeout` from ocx.toml, checked: seconds, 0 to an hour."""
    value = data.get("busy_timeout", DEFAULTS["busy_timeout"])
    if not _number(value) or not (0 <= value <= MAX_BUSY_TIMEOUT):
        raise OcxError(
            f"busy_timeout in ocx.toml must be a number of seconds from 0 to {MAX_BUSY_TIMEOUT}; "
            "fix it with 'ocx config set busy_timeout 30'"
        )
    return float(value)


def template_timeout(data: dict[str, Any]) -> float:
    """`template_timeout` from ocx.toml, checked: seconds one message may take to render."""
    low, high = TEMPLATE_TIMEOUT_RANGE
    value = data.get("template_timeout", DEFAULTS["template_timeout"])
    if not _number(value) or not (low <= value <= high):
        raise OcxError(
            f"template_timeout in ocx.toml must be a number of seconds from {low:g} to "
            f"{high:g}; fix it with 'ocx config set template_timeout 2'"
        )
    return float(value)


def template_max_bytes(data: dict[str, Any]) -> int:
    """`template_max_bytes` from ocx.toml, checked: the size one rendered message may have."""
    low, high = TEMPLATE_MAX_BYTES_RANGE
    value = data.get("template_max_bytes", DEFAULTS["template_max_bytes"])
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise OcxError(
            f"template_max_bytes in ocx.toml must be a whole number of bytes from {low} to "
            f"{high}; fix it with 'ocx config set template_max_bytes 65536'"
        )
    return value


def reply_within(data: dict[str, Any]) -> dict[str, timedelta]:
    """`reply_within` from ocx.toml, checked: how soon a customer of each pace (fast,
    normal, slow) is answered; a table naming only some paces keeps the defaults for the
    rest."""
    from ocx.fields import PACES

    table = data.get("reply_within", {})
    if not isinstance(table, dict):
        raise OcxError(
            "reply_within in ocx.toml must be a table of durations by pace, e.g. "
            'reply_within = {fast = "1h", normal = "4h", slow = "1d"}'
        )
    unknown = sorted(set(table) - set(PACES))
    if unknown:
        raise OcxError(
            f"reply_within.{unknown[0]} in ocx.toml is not a pace; use {', '.join(PACES)}"
        )
    return {
        pace: _duration(table.get(pace, default), f"reply_within.{pace}", default)
        for pace, default in DEFAULTS["reply_within"].items()
    }


def inbox_owner(data: dict[str, Any], *, user: str) -> str:
    """`inbox_owner` from ocx.toml, checked: who owns the reply to a customer's mail when
    no open case of theirs has a concierge (default: the configured user)."""
    value = data.get("inbox_owner", user)
    if not isinstance(value, str) or not value.strip():
        raise OcxError(
            "inbox_owner in ocx.toml must be a team handle; fix it with "
            "'ocx config set inbox_owner HANDLE'"
        )
    return value.strip().lower()


_CHECKED_KEYS = {
    "busy_timeout": busy_timeout,
    "confirm_after": confirm_after,
    "template_timeout": template_timeout,
    "template_max_bytes": template_max_bytes,
    "reply_within": reply_within,  # and its keys: reply_within.fast
    "inbox_owner": lambda data: inbox_owner(data, user=""),
}


def effective(data: dict[str, Any], *, user: str) -> dict[str, Any]:
    """What ocx will actually use: the file's keys over the defaults, and who `user` is."""
    reply = DEFAULTS["reply_within"]
    given = data.get("reply_within")
    if isinstance(given, dict):  # a table naming only some paces keeps the other defaults
        reply = {**reply, **given}
    elif given is not None:
        reply = given
    return {"user": user, **DEFAULTS, "inbox_owner": user, **data, "reply_within": reply}


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to print: `*_env` keys keep the variable's name, secret-looking keys are masked."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = redacted(value)
        elif _SECRET.search(key) and not key.endswith("_env"):
            out[key] = REDACTED
        elif isinstance(value, str) and "://" in value:
            out[key] = _shown_url(value)
        else:
            out[key] = value
    return out


def _shown_url(url: str) -> str:
    """A URL without what may be a secret: credentials before the host, the query string."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    host = parts.hostname or ""
    netloc = ("********@" if parts.username or parts.password else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def parse_value(key: str, text: str) -> Any:
    """A value typed on the command line: TOML literals (numbers, booleans) stay typed."""
    if key.split(".")[-1] in ("user", "timezone") or key.endswith("_env"):
        return text
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def set_key(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Set a dotted key (`channels.email.host`) in place and return the dict."""
    parts = key.split(".")
    if not all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for part in parts):
        raise OcxError(f"config key {key!r} is not valid; use letters, digits, _ and - with dots")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise OcxError(f"config key {part!r} holds a value, not a table; cannot set {key!r}")
        node = child
    if isinstance(node.get(parts[-1]), dict):
        raise OcxError(f"config key {key!r} is a table; set one of its keys instead")
    if parts[-1].endswith("_env") and (not isinstance(value, str) or not value.isidentifier()):
        raise OcxError(f"{key} names an environment variable; give its name, not the secret")
    if _SECRET.search(parts[-1]) and not parts[-1].endswith("_env"):
        raise OcxError(
            f"secrets are not stored in the config; set {key}_env to the name of an "
            "environment variable that holds it"
        )
    found = credential_in(value)
    if found and key == "db":
        raise OcxError(
            f"db: the URL carries {found}; passwords are not stored in the config: leave it "
            "out and let libpq find it (PGPASSWORD, ~/.pgpass or PGSERVICE; see docs/team.md)"
        )
    if found:
        raise OcxError(
            f"{key}: the value carries {found}; secrets are not stored in the config: put it "
            "in an environment variable and name that variable with a *_env key "
            "(see docs/configuration.md)"
        )
    node[parts[-1]] = value
    checked = _CHECKED_KEYS.get(key) or _CHECKED_KEYS.get(parts[0])
    if checked is not None:
        checked(data)
    return data


# Query parameters that carry a credential, in any letter case.
_SECRET_PARAM = re.compile(
    r"(password|passwd|pwd|token|access_token|api_key|apikey|key|secret|.*_token|.*_secret)",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def credential_in(value: Any) -> str | None:
    """What credential a value typed for the config carries, described without repeating
    it: a URL's `user:password@`, or a query parameter such as `token=`. Looks into lists
    and tables (a TOML literal); `user@host` without a password is fine."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = credential_in(item)
            if found:
                return found
        return None
    if not isinstance(value, str) or not _SCHEME.match(value):
        return None
    from urllib.parse import parse_qsl, urlsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.password:
        return "a password in its URL (user:password@)"
    for params in (parts.query, parts.fragment):
        for name, _ in parse_qsl(params, keep_blank_values=True):
            if _SECRET_PARAM.fullmatch(name.strip()):
                return f"a credential in its URL (the query parameter {name.strip()!r})"
    return None
