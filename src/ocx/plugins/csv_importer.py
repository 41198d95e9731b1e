"""Built-in `csv` importer: ocx's own generic customers.csv and tickets.csv."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from ocx.plugin_api import (
    BadRecord,
    ConversationRecord,
    CustomerRecord,
    Importer,
    ImportFileError,
    MessageRecord,
    Origin,
    Record,
    counted,
    hookimpl,
    html_to_text,
)

CUSTOMER_COLUMNS = ("email", "name", "company", "phone", "time_zone", "tags", "notes")
TICKET_COLUMNS = ("external_id", "customer_email", "subject", "status", "created_at", "body")
_REQUIRED = {"customers": {"email"}, "tickets": {"external_id", "customer_email"}}
# A pasted log can make a body longer than the csv module's default field limit (128 KiB).
_FIELD_LIMIT = 64 * 1024 * 1024
_HTML_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z][a-zA-Z0-9]*)(?:\s[^>]*)?/?>")


def _lines(path: Path) -> Iterator[str]:
    """Decoded lines, checked as they stream: NUL bytes and non-UTF-8 bytes name their line
    (the csv module catches neither); a UTF-8 byte-order mark is accepted. Counted towards
    the progress an import shows, if it shows one."""
    with path.open("rb") as handle:
        for number, raw in enumerate(counted(path, handle), start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if b"\x00" in raw:
                raise ImportFileError(
                    Origin(str(path), number), "contains a NUL byte; is it a CSV file?"
                )
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    Origin(str(path), number),
                    f"not UTF-8 (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); "
                    "save the file as UTF-8",
                ) from None


def _header_kind(header: list[str]) -> str | None:
    names = {h.strip().lower() for h in header}
    for kind, columns in (("customers", CUSTOMER_COLUMNS), ("tickets", TICKET_COLUMNS)):
        if _REQUIRED[kind] <= names and names <= set(columns):
            return kind
    return None


def _first_line(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.readline(65536).removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    except OSError:
        return ""


def kind_of(path: Path) -> str | None:
    """'customers' or 'tickets' for a CSV file of ours, recognised by its header."""
    if not path.is_file():
        return None
    if path.stat().st_size == 0:
        return path.stem if path.name in ("customers.csv", "tickets.csv") else None
    try:
        header = next(csv.reader([_first_line(path)]), [])
    except csv.Error:  # a lone CR, say: no header of ours; reading the rows tells what is wrong
        return None
    return _header_kind(header)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = [
            path / name for name in ("customers.csv", "tickets.csv") if (path / name).is_file()
        ]
        return found
    return [path]


def detect(path: Path) -> bool:
    if path.is_dir():
        return bool(_files(path))
    return path.suffix.lower() == ".csv" or kind_of(path) is not None


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]] | BadRecord]:
    """(line, row) for each record; a row with the wrong number of columns is a BadRecord."""
    if path.stat().st_size == 0:
        raise ImportFileError(str(path), "file is empty; expected a header line and rows")
    lines = _lines(path)
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(str(path), "file is empty; expected a header line and rows") from None
    except csv.Error as exc:
        raise ImportFileError(Origin(str(path), 1), f"cannot read the header: {exc}") from None
    columns = [h.strip().lower() for h in header]
    if _header_kind(columns) is None:
        raise ImportFileError(
            Origin(str(path), 1),
            f"header {','.join(header)!r} is not a customers.csv ({','.join(CUSTOMER_COLUMNS)}) "
            f"or tickets.csv ({','.join(TICKET_COLUMNS)}) header",
        )
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = "unterminated quote" if "unexpected end" in str(exc) else str(exc)
            if "new-line character" in reason:  # the csv module's words for a bare CR
                reason = "a line break (CR) inside an unquoted field"
            raise ImportFileError(Origin(str(path), start), f"{reason}; fix the quoting") from None
        line, start = start, reader.line_num + 1
        if not cells or cells == [""]:
            continue  # a blank line
        if len(cells) != len(columns):
            yield BadRecord(
                Origin(str(path), line), f"{len(cells)} columns, expected {len(columns)}"
            )
            continue
        yield line, dict(zip(columns, cells, strict=True))


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read(path: Path) -> Iterator[Record]:
    files = _files(path)
    # customers before tickets, whatever order the paths came in
    files.sort(key=lambda f: 0 if kind_of(f) == "customers" or f.name == "customers.csv" else 1)
    for file in files:
        kind = kind_of(file)
        for item in _rows(file):
            if isinstance(item, BadRecord):
                yield item
                continue
            line, row = item
            origin = Origin(str(file), line)
            if kind == "customers":
                email = (row.get("email") or "").strip()
                yield CustomerRecord(
                    external_id=email.lower(), email=email, name=_text(row.get("name")),
                    company=_text(row.get("company")), phone=_text(row.get("phone")),
                    time_zone=_text(row.get("time_zone")), context=_text(row.get("notes")),
                    tags=tuple(t.strip() for t in (row.get("tags") or "").split(";") if t.strip()),
                    origin=origin,
                )  # fmt: skip
                continue
            external_id = (row.get("external_id") or "").strip()
            if not external_id:
                yield BadRecord(origin, "ticket has no external_id")
                continue
            body = row.get("body") or ""
            if _HTML_TAG.search(body):
                body = html_to_text(body)
            email = (row.get("customer_email") or "").strip()
            yield ConversationRecord(
                external_id=external_id, customer_email=email,
                subject=_text(row.get("subject")), status=_text(row.get("status")),
                created_at=_text(row.get("created_at")), origin=origin,
                missing_customer=f"ticket {external_id}: customer {email} is not in this "
                "export; import customers.csv too",
            )  # fmt: skip
            yield MessageRecord(
                external_id=f"{external_id}:body", conversation_external_id=external_id,
                body=body.strip(), created_at=_text(row.get("created_at")),
                author=(row.get("customer_email") or "").strip().lower() or None,
                direction="inbound", origin=origin,
            )  # fmt: skip


@hookimpl
def ocx_register_importers(register):  # type: ignore[no-untyped-def]
    register(
        Importer(
            name="csv",
            description="Generic CSV: customers.csv (email,name,company,phone,time_zone,tags,notes) "
            "and tickets.csv (external_id,customer_email,subject,status,created_at,body)",
            detect=detect,
            read=read,
        )
    )
