"""Fanout: one case per affected customer of an incident, each given a concierge."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocx import clock, customers, search, team
from ocx.errors import NotFound, OcxError
from ocx.incidents import _event, _find, _unswept
from ocx.store import Store
from ocx.store import incidents as sql

# Customers a fanout adds per transaction (about a second of work each).
FANOUT_BATCH = 100_000


@dataclass
class Fanout:
    added: int = 0
    already_present: int = 0
    unknown: list[str] = field(default_factory=list)
    dry_run: bool = False
    assigned: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "already_present": self.already_present,
                "unknown": self.unknown}  # fmt: skip


def _refs_in(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise OcxError(
            f"{path}: no such file; give a file with one customer REF per line"
        ) from None
    except UnicodeDecodeError:
        raise OcxError(f"{path}: not UTF-8 text; one customer REF per line") from None
    except OSError as exc:
        raise OcxError(f"cannot read {path}: {exc.strerror}") from None
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


@_unswept
def fanout(
    store: Store, incident: str | int, *, tags: tuple[str, ...] = (),
    companies: tuple[str, ...] = (), files: tuple[Path, ...] = (), queries: tuple[str, ...] = (),
    everyone: bool = False, concierges: tuple[str, ...] = (), dry_run: bool = False,
    author: str | None,
) -> Fanout:  # fmt: skip
    """One case per affected customer; again later adds only those not yet in. Concierges
    are given least-loaded first, and a customer who already has one in an open incident
    keeps that person."""
    if not (tags or companies or files or queries or everyone):
        raise OcxError("say who is affected: --tag, --company, --customers FILE, --query or --all")
    result = Fanout(dry_run=dry_run)
    refs = [r for path in files for r in _refs_in(path)]
    # Finding who is affected (searches, a file of refs) is read-only work: it is done
    # before the write lock, which is then held only to add the cases.
    with store.read():
        found = _find(store, incident)
        if found.status != "open":
            raise OcxError(f"{found.ref} is resolved; open a new incident for a new outage")
        helpers = [team.get(store, h).handle for h in dict.fromkeys(concierges)]
        conn = store.conn
        affected: dict[int, None] = {}
        for tag in tags:
            affected.update(dict.fromkeys(sql.customers_by(conn, tag=customers.normalise_tag(tag))))
        for company in companies:
            affected.update(dict.fromkeys(sql.customers_by(conn, company=company.strip())))
        for query in queries:
            affected.update(dict.fromkeys(search.search_ids(store, query)))
        if everyone:
            affected.update(dict.fromkeys(sql.customers_by(conn, everyone=True)))
        for text in refs:
            try:
                affected[customers.resolve(store, text)] = None
            except NotFound:
                result.unknown.append(text)
    ids = list(affected)
    added = 0
    # A million customers take seconds to add: in batches of FANOUT_BATCH, each committed
    # with its cases' timeline rows, so other commands get the lock in between and a fanout
    # killed half-way leaves whole cases behind (running it again adds the rest).
    for start in range(0, max(len(ids), 1), FANOUT_BATCH):
        chunk = ids[start : start + FANOUT_BATCH]
        with store.read() if dry_run else store.write():
            found = _find(store, incident)
            if found.status != "open":
                raise OcxError(f"{found.ref} was resolved meanwhile; open a new incident")
            conn = store.conn
            if start == 0:  # who is in, who keeps whom, who carries what: read once
                present = sql.case_customer_ids(conn, found.id)
                keep = sql.concierges_in_open_incidents(conn, found.id)
                load = sql.open_load(conn, helpers)
            batch = _assign(
                [(seq, cid) for seq, cid in enumerate(chunk, 1) if cid not in present],
                keep, helpers, load, result,
            )  # fmt: skip
            if dry_run:
                result.already_present += len(chunk) - len(batch)
                continue
            sql.stage_fanout(conn, batch)
            left_out = sql.fanout_leave_out(conn, found.id)
            result.already_present += len(chunk) - len(batch) + len(left_out)
            stamp = clock.to_iso(clock.now())
            added += sql.add_fanout_cases(conn, found.id, stamp)
            sql.record_fanout(conn, found.id, f"Affected by {found.ref}: {found.title}", author,
                              stamp)  # fmt: skip
            if start + FANOUT_BATCH >= len(ids):
                _event(store, found.id, "fanout", f"{added} cases added", author=author,
                       data={"added": added, "already_present": result.already_present,
                             "unknown": len(result.unknown)})  # fmt: skip
    result.added = len(ids) - result.already_present
    return result


def _assign(
    batch: list[tuple[int, int]], keep: dict[int, str], helpers: list[str],
    load: dict[str, int], result: Fanout,
) -> list[tuple[int, int, str | None]]:  # fmt: skip
    """Concierges for a batch of new cases, (seq, customer id) each: a customer keeps their
    concierge from another open incident, else gets the least-loaded helper (the first
    named, on a tie); `load` is kept up to date. Returns (seq, customer id, concierge)."""
    # A heap of (load, position, handle), one entry per helper: an entry may lag behind its
    # helper's load (loads only grow), and is brought up to date when it comes to the top.
    heap = [(load[h], position, h) for position, h in enumerate(helpers)]
    heapq.heapify(heap)
    out = []
    for seq, cid in batch:
        concierge = keep.get(cid)
        if concierge is None and heap:
            while heap[0][0] != load[heap[0][2]]:
                _, position, handle = heap[0]
                heapq.heapreplace(heap, (load[handle], position, handle))
            concierge = heap[0][2]
        if concierge in load:
            load[concierge] += 1
        if concierge:
            result.assigned[concierge] = result.assigned.get(concierge, 0) + 1
        out.append((seq, cid, concierge))
    return out
