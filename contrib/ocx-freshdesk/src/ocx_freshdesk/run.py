"""What one Freshdesk import has learnt as it reads: names of companies, agents and people,
each export folder's conversations files, and what the summary should warn about."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ocx.plugin_api import BadRecord, ImportWarning, Origin, Record, Satisfaction, plural
from ocx_freshdesk.files import _pages


class _Folder:
    """One export folder's conversations: where they are, which ticket pages of the folder
    were read, and which conversations files no ticket has asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.conversations = folder / "conversations"
        try:
            self.entry_files = set(os.listdir(self.conversations))
        except OSError:
            self.entry_files = set()
        self.unclaimed = {name for name in self.entry_files if name.endswith(".json")}
        self.pages_read: set[Path] = set()

    def entries_file(self, ticket_id: str) -> Path | None:
        name = f"{ticket_id}.json"
        if name not in self.entry_files:
            return None
        self.unclaimed.discard(name)
        return self.conversations / name

    def skip(self, ticket_id: str) -> None:
        """The ticket is left out: its conversations file goes with it, unread."""
        self.unclaimed.discard(f"{ticket_id}.json")

    def orphans(self) -> Iterator[Record]:
        """A conversations file of a ticket that is not in the export: bad input. Told only
        when every tickets page of the folder was read (one page of several cannot say)."""
        pages = {p.resolve() for p in _pages(self.folder, "tickets")}
        if not pages or not pages <= self.pages_read:
            return
        for name in sorted(self.unclaimed):
            path = self.conversations / name
            if path.is_file():
                ticket_id = name.removesuffix(".json")
                yield BadRecord(
                    Origin(str(path), record=f"conversations for ticket {ticket_id}"),
                    "that ticket is not in the export",
                )


class _Import:
    """What one `ocx import freshdesk PATH...` has learnt so far: companies' and agents'
    names, the people it has yielded, and what the summary should warn about."""

    def __init__(self) -> None:
        self.companies: dict[str, str] = {}
        self.agents: dict[str, str | None] = {}
        # each ticket's latest satisfaction rating: (when, its Satisfaction)
        self.ratings: dict[str, tuple[str, Satisfaction]] = {}
        self.names: dict[str, str] = {}  # contacts' and requesters' names by id
        self.customers: set[str] = set()  # ids yielded as a CustomerRecord
        self.folders: dict[Path, _Folder] = {}
        self.read_entries: set[Path] = set()  # conversations files read with their ticket
        self.no_description = 0
        self.unnamed_agents: set[str] = set()

    def folder(self, path: Path) -> _Folder:
        key = path.resolve()
        if key not in self.folders:
            self.folders[key] = _Folder(path)
        return self.folders[key]

    def agent(self, agent_id: str) -> str:
        """An agent by name (agents.json), else `agent ID`: never a bare number."""
        name = self.agents.get(agent_id)
        if name:
            return name
        self.unnamed_agents.add(agent_id)
        return f"agent {agent_id}"

    def warnings(self) -> Iterator[Record]:
        if self.no_description:
            yield ImportWarning(
                f"{plural(self.no_description, 'ticket')} had no description "
                "(export with include=description)"
            )
        if self.unnamed_agents:
            yield ImportWarning(
                f"{plural(len(self.unnamed_agents), 'agent')} had no name, their messages say "
                "'agent ID' (save GET /api/v2/agents as agents.json beside the tickets)"
            )
