"""ocx's own Message-IDs, made from an outbox message's key: the email notifier sends them,
and the inbox reads them back from a reply's In-Reply-To and References to find what the
customer answers. In the core so both reach it (plugins through ocx.plugin_api)."""

from __future__ import annotations


def message_id(key: str) -> str:
    """`<KEY@ocx>` with every character a Message-ID may not hold written as `=XX` (so two
    keys never share an id): `promise:12:reminder` -> `<promise=3A12=3Areminder@ocx>`."""
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_+") else
        "".join(f"={byte:02X}" for byte in ch.encode("utf-8"))
        for ch in key
    )  # fmt: skip
    return f"<{safe}@ocx>"


def key_of(message_id: str) -> str | None:
    """The outbox key a Message-ID made by message_id() carries (with or without its angle
    brackets), or None when ocx did not make it: how a customer's reply finds what it
    answers."""
    text = message_id.strip().removeprefix("<").removesuffix(">")
    if not text.endswith("@ocx"):
        return None
    safe = text[: -len("@ocx")]
    out, pos = bytearray(), 0
    while pos < len(safe):
        ch = safe[pos]
        if ch == "=":
            try:
                out.append(int(safe[pos + 1 : pos + 3], 16))
            except ValueError:
                return None
            if len(safe[pos + 1 : pos + 3]) != 2:
                return None
            pos += 3
        elif ch.isascii() and (ch.isalnum() or ch in "-_+"):
            out += ch.encode("ascii")
            pos += 1
        else:
            return None
    try:
        key = out.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return key if key and message_id_text(key) == text else None


def message_id_text(key: str) -> str:
    """message_id() without its angle brackets: the form ocx's inbox keeps ids in."""
    return message_id(key)[1:-1]
