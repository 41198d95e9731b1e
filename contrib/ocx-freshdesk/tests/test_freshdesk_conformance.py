"""ocx's importer conformance suite (ocx.testing.conformance) run against ocx-freshdesk, with
Freshdesk's file names and sample bytes."""

from __future__ import annotations

import json

from hypothesis import strategies as st
from ocx_freshdesk.reader import read

from ocx.testing.conformance import ImporterCase, ImporterConformance, bare

# the odd text test_freshdesk_generated.py feeds the importer, as bytes here
ODD = [
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "佐藤 美咲", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "null", "NaN", "-1", "\\", '"',
]  # fmt: skip
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))


def beside(name: str) -> dict[str, bytes]:
    """A conversations file comes with the tickets.json it belongs to."""
    if not name.startswith("conversations"):
        return {}
    return {"tickets.json": json.dumps([{"id": 1, "requester_id": 1}], indent=1).encode()}


class TestFreshdeskConformance(ImporterConformance):
    case = ImporterCase(
        name="freshdesk",
        read=read,
        deep={"contacts.json": bare, "tickets.json": bare},
        byte_files=("contacts.json", "tickets.json", "conversations/1.json"),
        beside=beside,
        read_file="tickets.json",
        read_bytes=st.one_of(
            st.binary(max_size=200), text.map(lambda t: t.encode("utf-8", "surrogatepass"))
        ),
    )
