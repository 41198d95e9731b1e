"""A whole ocx database copied between engines (`ocx db copy`) and checked (`ocx db check`).

A copy reads the source in one read transaction and writes the target in one write
transaction: the schema (made or migrated), every ocx table in foreign-key order with its
ids, PostgreSQL's identity sequences moved past them, the search index rebuilt, and then
every table's row count and checksum compared with the source's before it commits. Anything
wrong rolls the whole target back (a SQLite file the copy made is removed).

The checksum is the same on both engines: every row of a table, in primary-key order, as
one canonical JSON line (values in the order of the sorted column names; integers, text and
nulls as JSON has them), through SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ocx.errors import OcxError
from ocx.store import Store
from ocx.store import dbcopy as sql


def shown(target: Path | str) -> str:
    """A database as messages show it: a URL's password masked."""
    if isinstance(target, str):
        from ocx.store.pg import masked

        return masked(target)
    return str(target)


def engine_name(target: Path | str) -> str:
    return "postgresql" if isinstance(target, str) else "sqlite"


# --- checksums -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value JSON has no form for (a BLOB, which ocx never writes): its bytes in hex."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": bytes(value).hex()}
    raise TypeError(f"cannot checksum a {type(value).__name__}")


_encode = json.JSONEncoder(separators=(",", ":"), default=_plain).encode


class Digest:
    """One table's running row count and checksum: SHA-256 over a first line naming the
    columns (sorted) and then one line per row, its values in that column order, as JSON
    (integers, text and nulls as JSON has them; ASCII only)."""

    def __init__(self, cols: Sequence[str]) -> None:
        self.order = sorted(range(len(cols)), key=lambda i: cols[i])
        self.hash = hashlib.sha256(_encode([cols[i] for i in self.order]).encode("ascii") + b"\n")
        self.rows = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        order = self.order
        if order == list(range(len(order))):
            lines = [_encode(list(row)) for row in rows]
        else:
            lines = [_encode([row[i] for i in order]) for row in rows]
        if lines:
            self.hash.update(("\n".join(lines) + "\n").encode("ascii"))
        self.rows += len(lines)

    def hexdigest(self) -> str:
        return self.hash.hexdigest()


@dataclass
class TableSum:
    table: str
    rows: int
    sha256: str


def sums(store: Store, tables: Iterable[str] | None = None) -> list[TableSum]:
    """Row count and checksum of each ocx table the database has (inside a transaction)."""
    present = sql.table_names(store.conn)
    wanted = set(tables) if tables is not None else None
    found = []
    for table, key in sql.TABLES:
        if table not in present or (wanted is not None and table not in wanted):
            continue
        cols = sql.columns(store.conn, table)
        digest = Digest(cols)
        for batch in sql.batches(store.conn, table, key, cols):
            digest.add(batch)
        found.append(TableSum(table, digest.rows, digest.hexdigest()))
    return found


# --- the schema version ----------------------------------------------------------------------


@dataclass
class Schema:
    applied: int
    known: int
    state: str  # current, behind (migrations pending), newer (an ocx newer than this one), none
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def problem(self, where: str) -> str | None:
        if self.state == "none":
            return f"{where} is not an ocx database (no migrations table)"
        if self.state == "newer":
            return (f"{where} was made by a newer ocx (unknown migration {self.unknown[0]!r}); "
                    "upgrade ocx to use it")  # fmt: skip
        if self.state == "behind":
            return (
                f"{where} has an older ocx schema ({len(self.pending)} migrations pending); "
                f"open it once with this ocx, which migrates it (e.g. ocx --db {_quoted(where)} "
                "customer list --limit 1)"
            )
        return None


def _quoted(where: str) -> str:
    import shlex

    return shlex.quote(where)


def schema(store: Store) -> Schema:
    applied = sql.applied_migrations(store.conn)
    known = sql.known_migrations()
    if applied is None:
        return Schema(0, len(known), "none")
    unknown = [name for name in applied if name not in known]
    pending = [name for name in known if name not in applied]
    state = "newer" if unknown else "behind" if pending else "current"
    return Schema(len(applied), len(known), state, pending, unknown)


# --- copy ------------------------------------------------------------------------------------


@dataclass
class CopyResult:
    source: str
    target: str
    source_engine: str
    target_engine: str
    replaced: bool
    tables: list[TableSum]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "source_engine": self.source_engine,
            "target": self.target, "target_engine": self.target_engine,
            "replaced": self.replaced, "rows": self.rows, "verified": True,
            "tables": [asdict(t) for t in self.tables],
        }  # fmt: skip


def _same(source: Path | str, target: Path | str) -> bool:
    if isinstance(source, str) or isinstance(target, str):
        return source == target
    return source.resolve() == target.resolve()


def copy(source: Path | str, target: Path | str, *, replace: bool = False,
         busy_timeout: float = 30.0) -> CopyResult:  # fmt: skip
    """Copy the whole ocx database SOURCE into TARGET in one write transaction."""
    if _same(source, target):
        raise OcxError(f"source and target are the same database ({shown(source)}); "
                       "give another target")  # fmt: skip
    src = sql.open_read_only(source, busy_timeout)
    try:
        with src.read():
            try:
                found = schema(src)
            except sqlite3.DatabaseError as exc:
                raise OcxError(f"cannot read database {shown(source)}: {exc}") from None
            problem = found.problem(shown(source))
            if problem:
                raise OcxError(problem)
            return _copy_into(src, source, target, replace=replace, busy_timeout=busy_timeout)
    finally:
        src.close()


def _copy_into(src: Store, source: Path | str, target: Path | str, *, replace: bool,
               busy_timeout: float) -> CopyResult:  # fmt: skip
    dst, made = sql.open_writable(target, busy_timeout)
    where = shown(target)
    try:
        with _unchanged(where), dst.write():
            _check_target(dst, where, replace=replace)
            had_schema = "migrations" in sql.table_names(dst.conn)
            sql.create_schema(dst)
            sql.empty(dst.conn)
            copied = []
            for table, key in sql.TABLES:
                copied.append(_copy_table(src, dst, table, key, where))
            sql.restart_ids(dst.conn)
            _reindex(dst)
            _verify(copied, sums(dst), where)
    except BaseException:
        dst.close()
        if made and isinstance(target, Path):
            sql.remove_file(target)
        raise
    dst.close()
    return CopyResult(shown(source), where, engine_name(source), engine_name(target),
                      had_schema, copied)  # fmt: skip


@contextmanager
def _unchanged(where: str) -> Iterator[None]:
    """A database error while copying, as one line that says the target is as it was."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot copy into {where}: {exc}; the target is unchanged") from None


def _check_target(dst: Store, where: str, *, replace: bool) -> None:
    try:
        present = sql.table_names(dst.conn)
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot open database {where}: {exc}") from None
    if "migrations" in present:
        if not replace:
            raise OcxError(
                f"{where} already holds an ocx database; pass --replace to overwrite it "
                "(all its rows are replaced), or give a new file or an empty database"
            )
        return
    others = sorted(name for name in present if not name.startswith("sqlite_"))
    if others:
        shown_names = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise OcxError(
            f"{where} is not an ocx database (it holds other tables: {shown_names}); "
            "give a new file or an empty database"
        )


def _copy_table(src: Store, dst: Store, table: str, key: tuple[str, ...], where: str) -> TableSum:
    cols = sql.columns(src.conn, table)
    theirs = sql.columns(dst.conn, table)
    if sorted(cols) != sorted(theirs):
        raise OcxError(
            f"table {table} has other columns in {where} than in the source; "
            "open both with this ocx first"
        )
    digest = Digest(cols)
    for batch in sql.batches(src.conn, table, key, cols):
        try:
            sql.insert_many(dst.conn, table, cols, batch)
        except sqlite3.DatabaseError as exc:
            raise OcxError(
                f"cannot copy table {table} into {where}: {exc}; the target is unchanged"
            ) from None
        digest.add(batch)
    return TableSum(table, digest.rows, digest.hexdigest())


def _reindex(dst: Store) -> None:
    """The search index, rebuilt on the target from what was copied."""
    from ocx import customers

    for batch in sql.ids(dst.conn, "customers"):
        customers.reindex_many(dst, set(batch))


def _verify(copied: list[TableSum], there: list[TableSum], where: str) -> None:
    theirs = {t.table: t for t in there}
    for mine in copied:
        other = theirs.get(mine.table)
        if other is None or (other.rows, other.sha256) != (mine.rows, mine.sha256):
            rows = other.rows if other else 0
            raise OcxError(
                f"the copy in {where} does not match the source (table {mine.table}: "
                f"{rows} rows vs {mine.rows}, or another checksum); the target is unchanged"
            )


# --- check -----------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    database: str
    engine: str
    schema: Schema
    checks: list[Check]
    tables: list[TableSum]
    problems: list[str]
    against: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "database": self.database,
            "engine": self.engine,
            "ok": self.ok,
            "schema": asdict(self.schema),
            "integrity": {
                "ok": all(c.ok for c in self.checks),
                "checks": [asdict(c) for c in self.checks],
            },
            "tables": [asdict(t) for t in self.tables],
            "problems": self.problems,
        }
        if self.against is not None:
            data["against"] = self.against
        return data


def check(target: Path | str, *, against: Path | str | None = None,
          busy_timeout: float = 30.0) -> Report:  # fmt: skip
    """Schema version, the engine's integrity checks and every table's rows and checksum;
    with `against`, whether another database holds the same rows."""
    where = shown(target)
    store = sql.open_read_only(target, busy_timeout)
    try:
        with store.read():
            report = _check_one(store, where, engine_name(target))
    finally:
        store.close()
    if against is not None:
        report.against = _compare(report, against, busy_timeout)
    return report


def _check_one(store: Store, where: str, engine: str) -> Report:
    try:
        found = schema(store)
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot read database {where}: {exc}") from None
    if found.state == "none":
        raise OcxError(f"{where} is not an ocx database; check --db (or OCX_DB)")
    problems = []
    problem = found.problem(where)
    if problem:
        problems.append(problem)
    present = sql.table_names(store.conn)
    missing = [t for t, _ in sql.TABLES if t not in present]
    if sql.SEARCH not in present:
        missing.append(sql.SEARCH)
    checks = [Check("tables present", not missing,
                    "missing: " + ", ".join(missing) if missing else "ok")]  # fmt: skip
    checks += [Check(*c) for c in sql.integrity(store.conn)]
    problems += [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    return Report(where, engine, found, checks, sums(store), problems)


def _compare(report: Report, other: Path | str, busy_timeout: float) -> dict[str, Any]:
    where = shown(other)
    store = sql.open_read_only(other, busy_timeout)
    try:
        with store.read():
            if sql.applied_migrations(store.conn) is None:
                raise OcxError(f"{where} is not an ocx database; check --against")
            theirs = {t.table: t for t in sums(store)}
    finally:
        store.close()
    tables = []
    mine = {t.table: t for t in report.tables}
    for table in [t for t, _ in sql.TABLES if t in mine or t in theirs]:
        a, b = mine.get(table), theirs.get(table)
        same = a is not None and b is not None and (a.rows, a.sha256) == (b.rows, b.sha256)
        tables.append({
            "table": table, "same": same,
            "rows": a.rows if a else None, "other_rows": b.rows if b else None,
            "sha256": a.sha256 if a else None, "other_sha256": b.sha256 if b else None,
        })  # fmt: skip
        if not same:
            report.problems.append(
                f"table {table} differs from {where}: "
                f"{a.rows if a else 'no'} rows vs {b.rows if b else 'no'}"
                + (", same count, other contents" if a and b and a.rows == b.rows else "")
            )
    return {"database": where, "engine": engine_name(other),
            "same": all(t["same"] for t in tables), "tables": tables}  # fmt: skip
