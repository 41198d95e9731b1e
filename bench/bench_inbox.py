"""Inbox: `ocx inbox ingest` over a generated mbox, against a floor, with peak memory.

Issue 20's goal: a 100,000-message mbox ingested in under 60 s on this machine, in flat
memory. The mail is generated (seeded, cached in bench/.cache/) as customers write it:
plain text, multipart/alternative with an HTML part, some HTML alone, some attachments
(multipart/mixed, base64), RFC 2047 encoded subjects and sender names with accents,
Message-IDs on most (a hash keys the rest), a third replies (In-Reply-To and References).
Most senders are customers of a database made first (bench/datagen.py, 3,000 customers),
some in other letter cases; the rest are unknown (they wait as unmatched mail).

Two sizes, 10,000 and 100,000 messages (1,000 and 10,000 with --quick), the small mbox
being the first messages of the large one. For each size, whole processes, timed once:

- floor: Python's mailbox module iterating the mbox, each message parsed by the email
  package's compat32 policy (what mailbox.mbox does), and its From header read: the least
  work that reads every message;
- `ocx --db DB inbox ingest MBOX --json` into a copy of the customers' database: its
  counts are checked against what was generated (ingested + unmatched = all, 0 duplicates);
- the same command again over the same mbox: every message a duplicate (checked).

CPU seconds (user + system) and peak RSS (ru_maxrss) of the child are in each row's note
(on a shared machine the wall time also holds others' turns on the CPUs); flat memory
means the peak at the large size is about the peak at the small one (the last note
compares them).
Goal: the first ingest of the large mbox under 60 s (6 s for 10,000 with --quick).

    python bench/run.py --only inbox [--quick]
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import datagen
from harness import CACHE_DIR, BenchError, Context, Goal, Row, log

NAME = "inbox"
GENERATOR_VERSION = 1  # bump when the generated mail changes: older cached files are ignored
CUSTOMERS = 3_000
SIZES, QUICK_SIZES = (10_000, 100_000), (1_000, 10_000)
GOAL_MS = 60_000  # at 100,000 messages; scaled by size for --quick
FLOOR = (
    "import mailbox, sys\n"
    "n = sum(1 for m in mailbox.mbox(sys.argv[1], create=False) if m['From'] is not None)\n"
    "print(n)\n"
)

SUBJECTS = [
    "Invoice question", "Can't log in since this morning", "Export is stuck at 90%",
    "Re: your update about the outage", "Thanks, that fixed it", "Still broken for us",
    "Billing address change", "Feature request: dark mode", "Refund for last month",
    "Sync fails on Android", "Where is my order?", "Password reset link expired",
]  # fmt: skip
ENCODED_SUBJECTS = [
    "Réclamation: facture de février", "Überweisung nicht angekommen", "Pedido atrasado, ¿qué pasó?",
    "ログインできません", "Ça marche de nouveau, merci !", "Zahlung fehlgeschlagen – bitte prüfen",
]  # fmt: skip
LINES = [
    "Hi team,", "Hello,", "Good morning,",
    "Since yesterday the dashboard shows an error when I open the reports page.",
    "We were charged twice for the annual plan, could you look into it?",
    "The export has been stuck for two hours now and nobody here can use the app.",
    "Thanks for the quick update, everything works again on our side.",
    "It is still failing for three of our users, screenshots attached.",
    "Could you call me back tomorrow morning? My number is in the signature.",
    "I tried clearing the cache as you suggested but nothing changed.",
    "Our accountant needs the invoice with the new VAT number on it.",
    "Best regards,", "Thanks,", "Cheers,",
]  # fmt: skip
QUOTE = (
    "> On {date}, support wrote:\n> We are looking into it and will write again within the hour.\n"
)
UNKNOWN_DOMAINS = ["example.net", "mailinator.com", "newco.io", "gmx.de", "web.de"]


# --- the generated mail ----------------------------------------------------------------------


def _customer_emails(seed: int) -> list[tuple[str, str]]:
    """(email, name) of the customers datagen makes for this size and seed, in order."""
    return [(p["email"], p["name"]) for p in datagen.people(CUSTOMERS, seed)]


def _address(name: str, email: str) -> str:
    if name.isascii():
        return f'"{name}" <{email}>'
    return f"{Header(name, 'utf-8').encode()} <{email}>"


def _message(rng: random.Random, number: int, sender: str, moment: datetime,
             earlier: list[str]) -> tuple[bytes, str | None]:  # fmt: skip
    """One message's bytes (headers and body, \\n line ends) and its Message-ID, if any."""
    headers = [f"From: {sender}", "To: support@ocx.example", f"Date: {format_datetime(moment)}"]
    if rng.random() < 0.12:
        subject = Header(rng.choice(ENCODED_SUBJECTS), "utf-8").encode()
    else:
        subject = rng.choice(SUBJECTS)
    message_id = None
    if rng.random() < 0.95:
        message_id = f"{number}.{rng.getrandbits(40):x}@mail{number % 7}.example"
        headers.append(f"Message-ID: <{message_id}>")
    text_lines = [rng.choice(LINES[:3]), ""]
    text_lines += [rng.choice(LINES[3:11]) for _ in range(rng.randint(1, 6))]
    text_lines += ["", rng.choice(LINES[11:])]
    if earlier and rng.random() < 0.33:
        parent = rng.choice(earlier)
        headers.append(f"In-Reply-To: <{parent}>")
        headers.append(f"References: <{rng.choice(earlier)}> <{parent}>")
        subject = "Re: " + subject
        text_lines += ["", *QUOTE.format(date=format_datetime(moment)).splitlines()]
    headers.append(f"Subject: {subject}")
    headers.append("MIME-Version: 1.0")
    text = "\n".join(text_lines) + "\n"
    html = (
        "<html><body>"
        + "".join(f"<p>{line}</p>" for line in text_lines if line)
        + ("</body></html>\n")
    )
    kind = rng.random()
    if kind < 0.50:
        headers.append("Content-Type: text/plain; charset=utf-8")
        headers.append("Content-Transfer-Encoding: 8bit")
        body = text
    elif kind < 0.55:
        headers.append("Content-Type: text/html; charset=utf-8")
        body = html
    else:
        boundary = f"=_alt_{number}_{rng.getrandbits(32):x}"
        alternative = (
            f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{text}\n"
            f"--{boundary}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--{boundary}--\n"
        )
        if kind < 0.85:
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            body = alternative
        else:
            mixed = f"=_mix_{number}_{rng.getrandbits(32):x}"
            blob = base64.encodebytes(rng.randbytes(rng.randint(2_000, 12_000))).decode()
            headers.append(f'Content-Type: multipart/mixed; boundary="{mixed}"')
            body = (
                f'--{mixed}\nContent-Type: multipart/alternative; boundary="{boundary}"\n\n'
                f'{alternative}\n--{mixed}\nContent-Type: application/pdf; name="report.pdf"\n'
                f'Content-Disposition: attachment; filename="report.pdf"\n'
                f"Content-Transfer-Encoding: base64\n\n{blob}\n--{mixed}--\n"
            )
    return ("\n".join(headers) + "\n\n" + body).encode("utf-8"), message_id


def generate_mbox(path: Path, size: int, seed: int) -> dict[str, Any]:
    """Write `size` messages to an mbox at `path`; what was written, for the checks."""
    rng = random.Random(seed * 7919 + 20)
    known = _customer_emails(seed)
    unknown = [
        f"{datagen._ascii(rng.choice(datagen.FIRST))}{n}@{rng.choice(UNKNOWN_DOMAINS)}"
        for n in range(1_500)
    ]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    earlier: list[str] = []
    matched = 0
    with path.open("wb") as out:
        for number in range(1, size + 1):
            moment = start + timedelta(seconds=number * 25 + rng.randint(0, 20))
            if rng.random() < 0.85:
                email, name = rng.choice(known)
                if rng.random() < 0.05:
                    email = email.upper() if rng.random() < 0.5 else email.title()
                sender = _address(name, email)
                matched += 1
            else:
                sender = rng.choice(unknown)
                if rng.random() < 0.5:
                    sender = f"{sender.split('@')[0].title()} <{sender}>"
            data, message_id = _message(rng, number, sender, moment, earlier)
            if message_id:
                earlier.append(message_id)
                if len(earlier) > 2_000:
                    del earlier[:1_000]
            stamp = moment.strftime("%a %b %d %H:%M:%S %Y")
            out.write(f"From bench@ocx.example {stamp}\n".encode() + data + b"\n")
    return {"messages": size, "matched": matched, "unmatched": size - matched,
            "bytes": path.stat().st_size}  # fmt: skip


def _mbox(size: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached mbox of this size and seed (and its facts), generated when missing."""
    stem = f"inbox-n{size}-seed{seed}-g{GENERATOR_VERSION}"
    path, meta_path = CACHE_DIR / f"{stem}.mbox", CACHE_DIR / f"{stem}.json"
    if path.is_file() and meta_path.is_file():
        return path, json.loads(meta_path.read_text(encoding="utf-8"))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log(f"inbox: generating a {size:,}-message mbox into {path.name}")
    started = time.perf_counter()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        meta = generate_mbox(tmp, size, seed)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path, meta


# --- timing ---------------------------------------------------------------------------------


def _run(argv: list[str], env: dict[str, str], tmp: Path) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MB, the child's ru_maxrss), stdout and CPU seconds (user +
    system: on a shared machine the wall time also holds the time others had the CPUs)."""
    out_path, err_path = tmp / "inbox-stdout", tmp / "inbox-stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err)  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    if process.returncode != 0:
        stderr = err_path.read_text(errors="replace").strip()
        raise BenchError(f"{' '.join(map(str, argv))} failed ({process.returncode}): "
                         f"{stderr[-500:]}")  # fmt: skip
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, stdout, cpu  # ru_maxrss is in KB on Linux


def _counts(stdout: str) -> dict[str, int]:
    try:
        value = json.loads(stdout)
    except ValueError:
        raise BenchError(f"ocx inbox ingest --json printed {stdout[:200]!r}") from None
    if not isinstance(value, dict):
        raise BenchError(f"ocx inbox ingest --json printed {stdout[:200]!r}")
    return value


def _expect(counts: dict[str, int], wanted: dict[str, int], what: str) -> None:
    if counts != wanted:
        raise BenchError(f"{what}: ocx inbox ingest printed {counts}, expected {wanted}")


# --- the benchmark --------------------------------------------------------------------------


def _sizes(ctx: Context) -> tuple[int, int]:
    return QUICK_SIZES if ctx.settings.quick else SIZES


def prepare(ctx: Context) -> None:
    customers_db, _ = datagen.ensure(CUSTOMERS, ctx.settings.seed)
    ctx.facts["inbox_customers"] = str(customers_db)
    small, large = _sizes(ctx)
    mboxes = {}
    for size in (small, large):
        path, meta = _mbox(size, ctx.settings.seed)
        mboxes[str(size)] = {**meta, "path": str(path)}
    ctx.facts["inbox_mboxes"] = mboxes


def run(ctx: Context) -> list[Row]:
    env = ctx.env()
    small, large = _sizes(ctx)
    rows: list[Row] = []
    peaks: dict[int, float] = {}
    for size in (small, large):
        meta = ctx.facts["inbox_mboxes"][str(size)]
        mbox = meta["path"]
        log(f"inbox: floor over {size:,} messages")
        floor_s, floor_rss, out, floor_cpu = _run([sys.executable, "-c", FLOOR, mbox], env, ctx.tmp)
        if out.strip() != str(size):
            raise BenchError(f"the floor read {out.strip()} messages of {size:,}")
        floor = Row(NAME, f"floor: mailbox.mbox + compat32 ({size:,} messages)",
                    [floor_s * 1000], note=f"CPU {floor_cpu:.1f} s, peak RSS {floor_rss:,.0f} MB, "
                    f"{size / floor_s:,.0f} msg/s, mbox {meta['bytes'] / 1e6:,.0f} MB")  # fmt: skip
        db = ctx.tmp / "inbox.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(ctx.facts["inbox_customers"], db)
        command = [str(ctx.ocx), "--db", str(db), "inbox", "ingest", mbox, "--json"]
        log(f"inbox: ocx inbox ingest, {size:,} messages (first)")
        first_s, first_rss, out, first_cpu = _run(command, env, ctx.tmp)
        _expect(_counts(out), {"ingested": meta["matched"], "duplicates": 0,
                               "unmatched": meta["unmatched"]}, "first run")  # fmt: skip
        log(f"inbox: ocx inbox ingest, {size:,} messages (again: all duplicates)")
        again_s, again_rss, out, again_cpu = _run(command, env, ctx.tmp)
        _expect(_counts(out), {"ingested": 0, "duplicates": size, "unmatched": 0}, "second run")
        peaks[size] = first_rss
        goal = Goal(GOAL_MS * size / 100_000, "ms") if size == large else None
        rows += [
            floor,
            Row(NAME, f"ocx inbox ingest ({size:,}, first)", [first_s * 1000], baseline=floor,
                goal=goal, note=f"CPU {first_cpu:.1f} s, peak RSS {first_rss:,.0f} MB, "
                f"{size / first_s:,.0f} msg/s, "
                f"{meta['matched']:,} matched, {meta['unmatched']:,} unmatched"),
            Row(NAME, f"ocx inbox ingest ({size:,}, again)", [again_s * 1000], baseline=floor,
                note=f"CPU {again_cpu:.1f} s, peak RSS {again_rss:,.0f} MB, "
                f"{size / again_s:,.0f} msg/s, "
                "all duplicates"),
        ]  # fmt: skip
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    ctx.facts.setdefault("notes", []).append(
        f"inbox: peak RSS of the first ingest {peaks[small]:,.0f} MB at {small:,} messages, "
        f"{peaks[large]:,.0f} MB at {large:,} ({peaks[large] / peaks[small]:.2f}x: flat "
        "memory is about 1x)"
    )
    return rows
