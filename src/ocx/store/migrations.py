"""Ordered schema migrations, recorded in the `migrations` table; never edit a released one."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from ocx import clock
from ocx.errors import OcxError
from ocx.store import Store

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []
# Migrations whose statements run as they are on PostgreSQL as well (its own forms of the
# others are in pg_schema.LATER): written once, so the two cannot drift apart.
PORTABLE: dict[str, str] = {
    "0015_follow_through": """
        CREATE INDEX promises_missed ON promises (customer_id, due_at, state, done_at, cancelled_at)
            WHERE state = 'open' OR (state = 'done' AND done_at > due_at)
               OR (state = 'cancelled' AND cancelled_at >= due_at);
        CREATE INDEX promises_customer_due
            ON promises (customer_id, due_at, id, state, done_at, cancelled_at);
        CREATE INDEX promises_to_no_one
            ON promises (subject_type, subject_id, due_at, id, state, done_at, cancelled_at,
                         created_at, customer_id)
            WHERE customer_id IS NULL;
        CREATE INDEX cases_covered ON cases (incident_id, added_at, resolved_at, customer_id);
""",
}


def migration(name: str) -> Callable[[Migration], Migration]:
    """Register a migration; they run in the order they are declared in this module."""

    def register(func: Migration) -> Migration:
        MIGRATIONS.append((name, func))
        return func

    return register


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit the open transaction; run statement by statement instead.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


@migration("0001_customers")
def _customers(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT,
            company TEXT,
            phone TEXT,
            time_zone TEXT,
            channel TEXT,
            pace TEXT CHECK (pace IN ('slow', 'normal', 'fast')),
            tone TEXT,
            language TEXT,
            quiet_hours TEXT,
            context TEXT,
            sort_name TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX customers_name ON customers (sort_name, email);
        CREATE INDEX customers_company ON customers (company COLLATE NOCASE);
        CREATE TABLE tags (
            customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            tagged_at TEXT,
            PRIMARY KEY (customer_id, tag)
        );
        CREATE INDEX tags_tag ON tags (tag);
        CREATE TABLE customer_sources (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (source, external_id)
        );
        CREATE INDEX customer_sources_customer ON customer_sources (customer_id);
        CREATE TABLE timeline (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            author TEXT,
            text TEXT NOT NULL DEFAULT '',
            direction TEXT CHECK (direction IN ('inbound', 'outbound')),
            channel TEXT,
            subject_type TEXT,
            subject_id INTEGER,
            data TEXT
        );
        CREATE INDEX timeline_customer_at ON timeline (customer_id, at, id);
        CREATE VIRTUAL TABLE customer_search USING fts5 (
            name, email, company, tags, context, notes,
            tokenize = 'unicode61 remove_diacritics 2'
        )
        """,
    )


@migration("0002_conversations")
def _conversations(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            subject TEXT,
            status TEXT,
            created_at TEXT,
            updated_at TEXT,
            imported_at TEXT NOT NULL,
            UNIQUE (source, external_id)
        );
        CREATE INDEX conversations_customer ON conversations (customer_id);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            author TEXT,
            direction TEXT CHECK (direction IN ('inbound', 'outbound')),
            public INTEGER NOT NULL DEFAULT 1,
            body TEXT NOT NULL DEFAULT '',
            created_at TEXT,
            UNIQUE (source, external_id)
        );
        CREATE INDEX messages_conversation ON messages (conversation_id);
        ALTER TABLE customer_sources ADD COLUMN imported TEXT
        """,
    )


@migration("0003_promises")
def _promises(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE team (
            handle TEXT PRIMARY KEY,
            name TEXT,
            email TEXT,
            channel TEXT,
            lead INTEGER NOT NULL DEFAULT 0,
            digest INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE promises (
            id INTEGER PRIMARY KEY,
            -- NULL for a promise made to many at once (an incident's next update)
            customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            owner TEXT NOT NULL,
            due_at TEXT NOT NULL,
            snoozed_until TEXT,
            snoozes INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
            done_at TEXT,
            cancelled_at TEXT,
            note TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT,
            subject_type TEXT,
            subject_id INTEGER
        );
        CREATE INDEX promises_open_due ON promises (coalesce(snoozed_until, due_at))
            WHERE state = 'open';
        CREATE INDEX promises_customer ON promises (customer_id);
        CREATE INDEX promises_owner ON promises (owner, state);
        CREATE INDEX promises_open_owner_due ON promises (owner, coalesce(snoozed_until, due_at))
            WHERE state = 'open';
        CREATE TABLE cadences (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
            tag TEXT,
            schedule TEXT NOT NULL,
            owner TEXT NOT NULL,
            set_at TEXT NOT NULL,
            stopped_at TEXT,
            CHECK ((customer_id IS NULL) <> (tag IS NULL))
        );
        CREATE INDEX cadences_customer ON cadences (customer_id) WHERE stopped_at IS NULL;
        CREATE INDEX cadences_tag ON cadences (tag) WHERE stopped_at IS NULL;
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            payload TEXT,
            promise_id INTEGER REFERENCES promises (id) ON DELETE SET NULL,
            customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'obsolete', 'dead', 'digested')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_at TEXT,
            claim TEXT,
            last_error TEXT,
            delivery_note TEXT,
            fallback_of INTEGER REFERENCES outbox (id),
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX outbox_ready ON outbox (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX outbox_promise ON outbox (promise_id)
        """,
    )


@migration("0004_incidents")
def _incidents(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            severity INTEGER NOT NULL DEFAULT 3 CHECK (severity BETWEEN 1 AND 4),
            lead TEXT,
            summary TEXT,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            started_at TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            resolved_at TEXT,
            rescue_plan TEXT,
            rollback_plan TEXT,
            planned_at TEXT,
            next_update_promise_id INTEGER REFERENCES promises (id) ON DELETE SET NULL,
            created_by TEXT
        );
        CREATE TABLE incident_events (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            author TEXT,
            text TEXT NOT NULL DEFAULT '',
            customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
            data TEXT
        );
        CREATE INDEX incident_events_incident ON incident_events (incident_id, at, id);
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            concierge TEXT,
            state TEXT NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'contacted', 'acknowledged', 'agreed', 'resolved')),
            added_at TEXT NOT NULL,
            contacted_at TEXT,
            acknowledged_at TEXT,
            agreed_at TEXT,
            resolved_at TEXT,
            last_activity_at TEXT NOT NULL,
            last_update_at TEXT,
            claimed_by TEXT,
            claimed_at TEXT,
            UNIQUE (incident_id, customer_id)
        );
        CREATE INDEX cases_customer ON cases (customer_id);
        CREATE INDEX cases_queue ON cases (incident_id, state, last_activity_at);
        CREATE TABLE incident_updates (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            author TEXT,
            template TEXT NOT NULL,
            messages INTEGER NOT NULL,
            next_update_at TEXT
        )
        """,
    )


@migration("0005_postmortems")
def _postmortems(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE postmortems (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
            author TEXT NOT NULL,
            reviewer TEXT,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
            body TEXT NOT NULL,
            facts TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            published_at TEXT
        );
        CREATE INDEX postmortems_incident ON postmortems (incident_id)
        """,
    )


@migration("0006_outbox_cases")
def _outbox_cases(conn: sqlite3.Connection) -> None:
    """Each incident message names its case, so resolving the case can stop what has not
    gone out yet; the customer index keeps superseding held updates off a full scan."""
    _run(
        conn,
        """
        ALTER TABLE outbox ADD COLUMN case_id INTEGER REFERENCES cases (id) ON DELETE SET NULL;
        UPDATE outbox SET case_id = json_extract(payload, '$.case_id')
         WHERE kind = 'incident-update' AND json_valid(payload)
           AND json_extract(payload, '$.case_id') IN (SELECT id FROM cases);
        CREATE INDEX outbox_case ON outbox (case_id) WHERE case_id IS NOT NULL;
        CREATE INDEX outbox_customer ON outbox (customer_id)
        """,
    )


@migration("0007_conversation_details")
def _conversation_details(conn: sqlite3.Connection) -> None:
    """What a support engineer wants to see of a ticket (priority, type, tags, channel,
    satisfaction, custom fields) as one JSON object, and a mark on messages that are only a
    conversation's preview text (exported without its threads)."""
    _run(
        conn,
        """
        ALTER TABLE conversations ADD COLUMN data TEXT;
        ALTER TABLE messages ADD COLUMN preview INTEGER NOT NULL DEFAULT 0
        """,
    )


@migration("0009_report_speed")
def _report_speed(conn: sqlite3.Connection) -> None:
    """Reports read indexes, not tables: every column the promise outcomes count, in owner
    and creation order; who wrote in lately; how fast each incident's cases were reached;
    each customer's outbound contacts (whether a cadence is behind)."""
    _run(
        conn,
        """
        CREATE INDEX promises_report
            ON promises (owner, state, created_at, due_at, done_at, cancelled_at);
        CREATE INDEX timeline_inbound ON timeline (at, customer_id, kind, direction)
            WHERE kind = 'contact' AND direction = 'inbound';
        CREATE INDEX timeline_outbound ON timeline (customer_id, at, kind, direction)
            WHERE kind = 'contact' AND direction = 'outbound';
        CREATE INDEX conversations_created ON conversations (created_at, customer_id);
        CREATE INDEX cases_first_contact ON cases (incident_id, contacted_at, added_at)
        """,
    )


@migration("0011_forgotten")
def _forgotten(conn: sqlite3.Connection) -> None:
    """Tombstones of erased customers (`ocx customer forget`): who erased one and when, and a
    salted hash of each email and (source, external id) they had, so an import does not bring
    them back. The salt is this database's own random secret; nothing personal is kept."""
    _run(
        conn,
        """
        CREATE TABLE forgotten (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            erased_by TEXT,
            erased_at TEXT NOT NULL
        );
        CREATE TABLE forgotten_keys (
            forgotten_id INTEGER NOT NULL REFERENCES forgotten (id) ON DELETE CASCADE,
            hash TEXT NOT NULL,
            PRIMARY KEY (hash, forgotten_id)
        ) WITHOUT ROWID;
        CREATE TABLE forgotten_salt (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            salt TEXT NOT NULL
        );
        INSERT INTO forgotten_salt (id, salt) VALUES (1, lower(hex(randomblob(32))))
        """,
    )


@migration("0008_incident_speed")
def _incident_speed(conn: sqlite3.Connection) -> None:
    """The incident path at 100,000 cases: the promises made about a case (the calls an
    update replaces) found without reading every promise; and `incident next` answered from
    a few index probes, a concierge's own queue and the claimed cases, never a sort of every
    open case."""
    _run(
        conn,
        """
        CREATE INDEX promises_subject ON promises (subject_type, subject_id);
        CREATE INDEX cases_concierge_queue
            ON cases (incident_id, concierge, state, last_activity_at);
        CREATE INDEX cases_claimed ON cases (incident_id, claimed_at) WHERE claimed_by IS NOT NULL
        """,
    )


@migration("0012_inbox")
def _inbox(conn: sqlite3.Connection) -> None:
    """Mail from customers (`ocx inbox ingest`), each message once by its key, filed under
    its sender (NULL while nobody matches: `ocx inbox unmatched`), with its timeline entry
    and, once the thread is followed, the ocx message, case and promise it answers.
    Promises get a kind ('reply' to a customer's message, 'check' that a resolved case is
    fixed; NULL for the others) and at most one open reply promise per customer."""
    _run(
        conn,
        """
        CREATE TABLE inbox (
            id INTEGER PRIMARY KEY,
            -- Message-ID without its angle brackets, or sha256:HEX of headers and body
            message_id TEXT NOT NULL UNIQUE,
            from_address TEXT NOT NULL,
            from_name TEXT,
            subject TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            sent_at TEXT,
            received_at TEXT NOT NULL,
            in_reply_to TEXT,
            reference_ids TEXT,
            source TEXT,
            customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
            timeline_id INTEGER REFERENCES timeline (id) ON DELETE SET NULL,
            outbox_id INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
            case_id INTEGER REFERENCES cases (id) ON DELETE SET NULL,
            promise_id INTEGER REFERENCES promises (id) ON DELETE SET NULL,
            filed_at TEXT,
            filed_by TEXT
        );
        CREATE INDEX inbox_customer ON inbox (customer_id, received_at);
        CREATE INDEX inbox_unmatched ON inbox (from_address) WHERE customer_id IS NULL;
        CREATE INDEX inbox_timeline ON inbox (timeline_id) WHERE timeline_id IS NOT NULL;
        CREATE INDEX inbox_outbox ON inbox (outbox_id) WHERE outbox_id IS NOT NULL;
        CREATE INDEX inbox_case ON inbox (case_id) WHERE case_id IS NOT NULL;
        CREATE INDEX inbox_promise ON inbox (promise_id) WHERE promise_id IS NOT NULL;
        ALTER TABLE promises ADD COLUMN kind TEXT;
        CREATE UNIQUE INDEX promises_open_reply ON promises (customer_id)
            WHERE kind = 'reply' AND state = 'open'
        """,
    )


@migration("0013_confirmed")
def _confirmed(conn: sqlite3.Connection) -> None:
    """A case the customer confirmed fixed is `confirmed`, with when and who recorded it.

    Widening the CHECK on cases.state needs a new table on SQLite, and rebuilding `cases`
    inside this transaction would run its foreign-key actions (outbox.case_id and
    inbox.case_id set to NULL: foreign_keys cannot be turned off inside a transaction). The
    CHECK is widened in place instead, by SQLite's documented procedure for changes that
    touch no stored row (lang_altertable.html, "other kinds of table schema changes"): the
    table's text in sqlite_schema is rewritten, the schema version bumped, and the schema
    read again. Every existing row satisfies the wider CHECK."""
    _run(
        conn,
        """
        ALTER TABLE cases ADD COLUMN confirmed_at TEXT;
        ALTER TABLE cases ADD COLUMN confirmed_by TEXT
        """,
    )
    (table,) = conn.execute(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'cases'"
    ).fetchone()
    narrow = re.compile(r"(CHECK\s*\(\s*state\s+IN\s*\([^)]*'resolved')(\s*\))")
    if len(narrow.findall(table)) != 1:
        raise OcxError("cannot widen the CHECK on cases.state: the table is not as ocx made it")
    wide = narrow.sub(r"\1, 'confirmed'\2", table)
    (version,) = conn.execute("PRAGMA schema_version").fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'cases'", (wide,)
        )
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:  # RESET: off, and this connection reads the schema again
        conn.execute("PRAGMA writable_schema = RESET")
    (check,) = conn.execute("PRAGMA quick_check(cases)").fetchone()
    if check != "ok":
        raise OcxError(f"widening the CHECK on cases.state failed its check: {check}")


@migration("0014_search_append")
def _search_append(conn: sqlite3.Connection) -> None:
    """Nothing to change on SQLite, where FTS5 reads a row's text again whenever it changes.
    On PostgreSQL (pg_schema.LATER) the search trigger keeps a document the statement
    brought up to date itself (an import batch appending the words it adds) instead of
    folding all the customer ever said again."""


@migration("0015_follow_through")
def _follow_through(conn: sqlite3.Connection) -> None:
    """Who is at risk by follow-through (fewer than 3 of the 5 promises made to them that
    came due last kept on time) is judged customer by customer, reading 5 promises each,
    never all they were ever made (ocx.store.reports.follow_through):

    - promises_missed: the promises not kept on time (kept late, cancelled at or after their
      due time) and the open ones (past their original due time at some `now`), by customer
      and due time, with every column judging them: the customers with 3 such promises, the
      only ones who can be at risk, are counted from it without reading the table;
    - promises_customer_due: each customer's promises by original due time (and id, the
      tie-break), with every column judging them: the last 5 that came due are the first
      5 read backwards from `now`;
    - promises_to_no_one: the few promises made to no one customer (an incident's next
      updates, promises about a case or a message) by subject and due time, with every
      column judging them and created_at (which next updates covered a case): a customer's
      last 5 of those, case by case;
    - cases_covered: an incident's cases by when they were added, with when they were
      resolved and whose they are: the customers a next update not kept on time covered,
      without reading the cases."""
    _run(conn, PORTABLE["0015_follow_through"])


def _applied(store: Store) -> list[str]:
    return [row[0] for row in store.conn.execute("SELECT name FROM migrations ORDER BY id")]


def _has_tables(store: Store) -> bool:
    return store.engine.has_schema(store.conn)


def _apply_postgres(store: Store, fresh_ok: bool) -> list[str]:
    """A new PostgreSQL database gets the whole schema at once (ocx.store.pg_schema); the
    write lock (an advisory lock) lets one host of several starting at once do it."""
    from ocx.errors import NoDatabase
    from ocx.store.pg_schema import COVERS, LATER, SCHEMA

    def has_migrations() -> bool:
        row = store.conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone()
        return bool(row[0])

    if not has_migrations():
        # Another program's tables first: 'run ocx init' would be the wrong advice there.
        # Asked again after has_schema: another ocx's init may have committed in between
        # (several first inits at once), and its tables are ocx's.
        if store.engine.has_schema(store.conn) and not has_migrations():
            raise OcxError(
                f"{store.path} is not an ocx database (it holds other tables); "
                "give ocx a database of its own and run 'ocx init'"
            )
        if not fresh_ok:
            raise NoDatabase(f"no ocx database at {store.path}; run 'ocx init'")
    applied = [] if not has_migrations() else _applied(store)
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise OcxError(
            f"{store.path} was made by a newer ocx (unknown migration {unknown[0]!r}); "
            "upgrade ocx to use it"
        )
    if len(applied) == len(known):
        return []
    done: list[str] = []
    with store.write():
        if not has_migrations():  # no other host made it while we waited for the lock
            store.conn.raw.execute(SCHEMA)  # type: ignore[attr-defined]
            stamp = clock.to_iso(clock.now())
            for name in COVERS:
                store.conn.execute(
                    "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, stamp)
                )
            done.extend(COVERS)
        applied = _applied(store)
        for name in known:
            if name in applied:
                continue
            script = LATER.get(name, PORTABLE.get(name))
            if script is None:  # a migration after the schema above must say how it runs here
                raise OcxError(f"migration {name!r} has no PostgreSQL form; upgrade ocx")
            store.conn.raw.execute(script)  # type: ignore[attr-defined]
            store.conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, clock.to_iso(clock.now())),
            )
            done.append(name)
    return done


def apply(store: Store, fresh_ok: bool = False) -> list[str]:
    """Bring the schema up to date; refuse a database from a newer ocx or another program."""
    if store.engine.name == "postgresql":
        return _apply_postgres(store, fresh_ok)
    try:
        applied = store.patiently(lambda: _applied(store))
    except sqlite3.OperationalError:  # no such table: not a database ocx made
        if not fresh_ok or store.patiently(lambda: _has_tables(store)):
            raise OcxError(
                f"{store.path} is not an ocx database; pass --db with an ocx database "
                "or a new path and run 'ocx init'"
            ) from None
        applied = []
    except sqlite3.DatabaseError as exc:
        raise OcxError(f"cannot read database {store.path}: {exc}") from None
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise OcxError(
            f"{store.path} was made by a newer ocx (unknown migration {unknown[0]!r}); "
            "upgrade ocx to use it"
        )
    if len(applied) == len(known):
        return []
    done: list[str] = []
    with store.write():
        store.conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations "
            "(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)"
        )
        applied = _applied(store)  # another process may have migrated while we waited
        for name, func in MIGRATIONS:
            if name in applied:
                continue
            func(store.conn)
            store.conn.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                (name, clock.to_iso(clock.now())),
            )
            done.append(name)
    return done
