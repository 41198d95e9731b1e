"""The floor for the import benchmark: the same records parsed with json.load and written
with plain sqlite3 executemany into the same tables ocx fills (customers, customer_sources,
timeline, conversations, messages, customer_search). No matching, no checks, no batching:
the least work that lands the same rows.

    python bench/import_floor.py EXPORT_DIR DB      (DB must be a fresh `ocx init` database)
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

STAMP = "2026-01-01T00:00:00Z"


def main(export: Path, db: Path) -> None:
    with (export / "tickets.json").open("rb") as handle:
        data = json.load(handle)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    end_users = [u for u in data["users"] if u.get("role") == "end-user"]
    ids = {}
    next_id = 1
    for user in end_users:
        ids[user["id"]] = next_id
        next_id += 1
    conn.executemany(
        "INSERT INTO customers (id, email, name, phone, time_zone, language, context, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (ids[u["id"]], u["email"].strip().lower(), u.get("name"), u.get("phone"),
             u.get("iana_time_zone"), u.get("locale"), u.get("notes") or None, STAMP, STAMP)
            for u in end_users
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO customer_sources (customer_id, source, external_id, created_at, imported) "
        "VALUES (?, 'zendesk', ?, ?, '{}')",
        ((ids[u["id"]], str(u["id"]), STAMP) for u in end_users),
    )
    conn.executemany(
        "INSERT INTO timeline (customer_id, at, kind, author, text) "
        "VALUES (?, ?, 'imported', 'bench', 'Imported from zendesk')",
        ((ids[u["id"]], STAMP) for u in end_users),
    )
    tickets = data["tickets"]
    conn.executemany(
        "INSERT INTO conversations (id, customer_id, source, external_id, subject, status, "
        "created_at, updated_at, imported_at) VALUES (?, ?, 'zendesk', ?, ?, ?, ?, ?, ?)",
        (
            (n, ids[t["requester_id"]], str(t["id"]), t.get("subject"), t.get("status"),
             t.get("created_at"), t.get("updated_at"), STAMP)
            for n, t in enumerate(tickets, start=1)
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO messages (conversation_id, source, external_id, author, direction, public, "
        "body, created_at) VALUES (?, 'zendesk', ?, NULL, 'inbound', 1, ?, ?)",
        (
            (n, f"{t['id']}-description", t.get("description") or "", t.get("created_at"))
            for n, t in enumerate(tickets, start=1)
        ),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO customer_search (rowid, name, email, company, tags, context, notes) "
        "SELECT c.id, c.name, c.email, c.company, NULL, c.context, "
        " (SELECT group_concat(subject, ' ') FROM conversations WHERE customer_id = c.id) || ' ' ||"
        " (SELECT group_concat(m.body, ' ') FROM messages m JOIN conversations v "
        "  ON v.id = m.conversation_id WHERE v.customer_id = c.id) FROM customers c"
    )
    conn.execute("COMMIT")
    conn.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
