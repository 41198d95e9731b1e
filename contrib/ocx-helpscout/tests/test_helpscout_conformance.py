"""ocx's importer conformance suite (ocx.testing.conformance) run against ocx-helpscout, with
Help Scout's page files and sample bytes."""

from __future__ import annotations

import json
from collections.abc import Callable

from hypothesis import strategies as st
from ocx_helpscout.reader import read

from ocx.testing.conformance import ImporterCase, ImporterConformance

# the odd text test_helpscout_generated.py feeds the importer, as bytes here
ODD = [
    "", " ", "\x00", "\ud800", "\u202eevil", "Zoë Ångström", "陽翔", "فريد حداد",
    "Ð”Ð¼Ð¸Ñ‚Ñ€Ð¸Ð¹", "😀👍🏽", "a\r\nb", "<b>bold</b> &amp; <script>x</script>", "&#x27;",
    "<p>unclosed <div", "null", "\\", '"',
]  # fmt: skip
text = st.one_of(st.text(max_size=40), st.sampled_from(ODD))


def embedded(kind: str) -> Callable[[str], str]:
    """A Help Scout page whose `_embedded` array is the nested brackets."""
    return lambda brackets: f'{{"_embedded": {{"{kind}": ' + brackets + "}}"


class TestHelpScoutConformance(ImporterConformance):
    case = ImporterCase(
        name="helpscout",
        read=read,
        deep={"customers.json": embedded("customers"),
              "conversations.json": embedded("conversations")},
        byte_files=("customers.json", "conversations.json"),
        read_file="customers.json",
        read_bytes=st.one_of(
            st.binary(max_size=200),
            text.map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.recursive(
                st.none() | st.booleans() | st.integers() | text,
                lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                    st.sampled_from(["_embedded", "customers", "conversations", "page", "id"]),
                    inner, max_size=3),
                max_leaves=8,
            ).map(lambda v: json.dumps(v).encode("utf-8")),
        ),
    )  # fmt: skip
