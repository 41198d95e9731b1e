"""Deterministic customers for the benchmarks, written through the domain layer, cached.

The same size and seed always give the same database: names, companies, emails, tags,
context sentences and notes come from one seeded random.Random, and OCX_NOW pins every
timestamp. The file is kept under bench/.cache/, keyed by size, seed, this generator's
version and the schema (the migration names), so a rerun opens it instead of rebuilding.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import CACHE_DIR, log

GENERATOR_VERSION = 1  # bump when what is generated changes: older cached files are ignored


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words("""
Aaron Abigail Adam Adrian Aisha Alan Alecia Alejandro Alex Alice Amara Amelia Amir Ana Andre
Andrea Angela Anna Anton Arjun Astrid Ava Beatriz Ben Bianca Bruno Caleb Camille Carlos Carmen
Chen Chloe Chris Clara Daniel Dara David Diego Dmitri Elena Eli Elif Emma Eric Esther Ethan Eva
Fatima Felix Fiona Francesca Frank Gabriel Grace Hana Hannah Hassan Helen Hugo Ibrahim Ines
Isaac Isabel Ivan Jack Jade James Jana Javier Jim Joao Jonas Jose Joy Judy Julia Kai Karim Kate
Kenji Kim Lara Laura Leo Lena Liam Lin Lucas Lucia Luis Maya Margo Margaret Marguerite Maria
Mario Marta Mateo Max Mei Mia Miguel Mila Mohammed Nadia Nina Noah Nora Olga Oliver Omar Oscar
Paula Pedro Priya Rafael Rania Ravi Rosa Ruth Sam Samir Sara Sean Sofia Sophie Tariq Teresa Theo
Tom Uma Valentina Victor Wei Yara Yuki Yusuf Zara Zoe Chloé Zoë José Renée Søren Ágnes
""")

LAST = _words("""
Abbott Adams Ahmed Alvarez Andersen Bailey Baker Banerjee Barnes Becker Bennett Berg Blanco
Brooks Brown Campbell Carter Castillo Chen Clarke Cohen Collins Cruz Das Davies Diaz Dubois
Evans Fischer Flores Fontaine Garcia Gomez Gonzalez Gray Green Gupta Hall Hansen Harris Hollis
Hughes Ito Jackson Jensen Johnson Jones Kaur Kelly Khan Kim Klein Kowalski Kumar Lane Larsen
Lee Lewis Lopez Martin Martinez Meyer Miller Mitchell Moreno Morris Muller Murphy Nakamura
Nguyen Nielsen Novak Okafor Olsen Ortiz Park Patel Perez Petrov Price Quinn Ramirez Reed
Reyes Richter Rivera Roberts Rossi Russo Sanchez Santos Sato Schmidt Schneider Scott Shah
Silva Singh Smith Sousa Stewart Suzuki Tanaka Taylor Thomas Torres Turner Vargas Walker Wang
Weber Williams Wilson Wong Wright Yamamoto Young Zhang Müller Çelik Løvgren Ó'Brien
""")

COMPANY_HEAD = _words("""
Acme Apex Arbor Atlas Aurora Beacon Birch Blue Bright Cedar Clear Cobalt Copper Crest Delta
Echo Elm Ember Falcon Fern Granite Harbor Hollis Horizon Iron Juniper Keystone Lane Lantern
Maple Meadow Moreno North Nova Oak Orbit Park Pine Pioneer Quartz Red River Sage Silver Summit
Swift Terra Tide True Union Valley Vertex Willow Zenith
""")

COMPANY_TAIL = _words("""
Logistics Hardware Studio Labs Bakery Clinic Consulting Dental Design Foods Freight Games
Health Insurance Legal Media Motors Outfitters Partners Pharmacy Printing Realty Robotics
Software Solar Supply Systems Textiles Travel Ventures
""")

COMPANY_SUFFIX = ["", "", "", " Inc", " Ltd", " GmbH", " & Daughters", " & Sons", " Co"]
FREE_MAIL = ["gmail.com", "outlook.com", "proton.me", "yahoo.com", "fastmail.com"]

# Tag and the share of customers carrying it: several match tens of thousands of customers.
TAGS = {
    "monthly": 0.30, "smb": 0.35, "annual": 0.20, "trial": 0.15, "beta": 0.10,
    "enterprise": 0.08, "churn-risk": 0.05, "education": 0.04, "nonprofit": 0.03,
    "vip": 0.02, "reseller": 0.02, "squeaky-wheel": 0.01, "founding": 0.001,
}  # fmt: skip

ZONES = [
    "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo",
    "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Africa/Lagos",
    "Asia/Kolkata", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney",
]  # fmt: skip

CONTEXT = [
    "Likes things slow and explained step by step.",
    "Always in a hurry: answer first, details after.",
    "Her cat {pet} is at the vet this week; ask how {pet} is doing.",
    "His dog {pet} just had surgery.",
    "Prefers a call to email, mornings only.",
    "Travelling in {city} until {month}.",
    "Runs the night shift; reply before {hour}.",
    "Gets anxious about invoices; explain every line.",
    "Reads everything on a phone: keep it short.",
    "Switched from a competitor after a bad outage; reliability matters most.",
    "New parent, replies late in the evening.",
    "Writes in {language_name} when upset; answer in {language_name}.",
    "Very technical: send logs and commands, skip the screenshots.",
    "Not technical at all: screenshots and plain words.",
    "Decision maker is {boss}; loop them in on pricing.",
    "Training for a marathon in {city} in {month}.",
    "Moving office in {month}; shipping address will change.",
]

NOTES = [
    "Called about the {feature} issue; {outcome}.",
    "Asked for a copy of the {month} invoice.",
    "Wants a demo of {feature} for the team.",
    "Reported that {feature} was slow on Monday; {outcome}.",
    "Thanked us for the quick fix to {feature}.",
    "Asked whether {feature} works offline.",
    "Upgraded to the annual plan after the {feature} walkthrough.",
    "Complained about being passed between three people; promised one contact.",
    "Mentioned {pet} is recovering well.",
    "Back from {city}; wants to restart onboarding.",
]

FILL = {
    "pet": ["Miso", "Biscuit", "Luna", "Pepper", "Mochi", "Rex", "Olive", "Tofu"],
    "city": ["Lisbon", "Osaka", "Nairobi", "Denver", "Krakow", "Lima", "Hanoi", "Oslo"],
    "month": ["January", "March", "May", "July", "September", "November"],
    "hour": ["6am", "7am", "noon", "5pm"],
    "language_name": ["Spanish", "French", "German", "Portuguese", "Japanese"],
    "boss": ["the CFO", "their founder", "the office manager", "the head of IT"],
    "feature": ["export", "sync", "billing", "calendar", "reports", "login", "import", "search"],
    "outcome": ["fixed on the call", "escalated to engineering", "workaround sent",
                "waiting for their logs", "turned out to be a browser extension"],
}  # fmt: skip

LANGUAGES = ["en", "en", "en", "es", "fr", "de", "pt", "ja"]
AUTHORS = ["sam", "ana", "lee", "kofi"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def _fill(rng: random.Random, template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(FILL[m.group(1)]), template)


def _ascii(text: str) -> str:
    """An email-safe word: accents dropped, anything else removed, lower case."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def people(size: int, seed: int) -> Iterator[dict[str, Any]]:
    """`size` customers as keyword arguments for ocx.customers.add, plus their notes."""
    rng = random.Random(seed)
    companies = [
        f"{rng.choice(COMPANY_HEAD)} {rng.choice(COMPANY_TAIL)}{rng.choice(COMPANY_SUFFIX)}"
        for _ in range(max(size // 20, 10))
    ]
    seen: set[str] = set()
    for _ in range(size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(companies) if rng.random() < 0.8 else None
        domain = f"{_ascii(company.split()[0] + company.split()[1])}.com" if company else None
        local = rng.choice(
            [f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}", _ascii(first)]
        )
        email = f"{local}@{domain or rng.choice(FREE_MAIL)}"
        if email in seen:
            email = f"{local}{len(seen)}@{domain or rng.choice(FREE_MAIL)}"
        seen.add(email)
        context = None
        if rng.random() < 0.6:
            context = " ".join(_fill(rng, rng.choice(CONTEXT)) for _ in range(rng.randint(1, 2)))
        yield {
            "email": email,
            "name": f"{first} {last}",
            "company": company,
            "phone": f"+1 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.4 else None,
            "time_zone": rng.choice(ZONES) if rng.random() < 0.7 else None,
            "channel": rng.choice(["email", "email", "phone", "chat", None]),
            "pace": rng.choice(["slow", "normal", "normal", "fast", None]),
            "language": rng.choice(LANGUAGES),
            "quiet_hours": rng.choice([None, None, "22:00-07:00", "20:00-08:00"]),
            "context": context,
            "tags": [tag for tag, share in TAGS.items() if rng.random() < share],
            "notes": [
                _fill(rng, rng.choice(NOTES))
                for _ in range(rng.choice([0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3]))
            ],
            "author": rng.choice(AUTHORS),
            "at": START + timedelta(minutes=rng.randint(0, 700 * 24 * 60)),
        }


def schema_key() -> str:
    """Changes when a migration is added, so a cached file always has the current schema."""
    names = ",".join(_known())
    return hashlib.sha256(names.encode()).hexdigest()[:8]


def _known() -> list[str]:
    from ocx.store.migrations import MIGRATIONS

    return [name for name, _ in MIGRATIONS]


def _applied(path: Path) -> list[str] | None:
    """The migrations a cached file has; a file that does not match is made again."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY id")]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(path: Path, size: int, seed: int) -> dict[str, Any]:
    """Write `size` customers (and their notes) to a new database through the domain layer,
    in one write transaction, as `ocx customer add` / `ocx customer note` would."""
    from ocx import customers
    from ocx.store import create_store

    started = time.perf_counter()
    pinned = os.environ.get("OCX_NOW")
    store = create_store(path)
    notes = 0
    try:
        with store.write():
            for count, person in enumerate(people(size, seed), 1):
                at, author, texts = person.pop("at"), person.pop("author"), person.pop("notes")
                os.environ["OCX_NOW"] = _stamp(at)
                customer_id = customers.add(store, person.pop("email"), author=author, **person)
                for offset, text in enumerate(texts, 1):
                    os.environ["OCX_NOW"] = _stamp(at + timedelta(days=offset * 9))
                    customers.note(store, str(customer_id), text, author=author)
                notes += len(texts)
                if count % 10_000 == 0:
                    log(f"  {count:,} customers ({time.perf_counter() - started:.1f} s)")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
        if pinned is None:
            os.environ.pop("OCX_NOW", None)
        else:
            os.environ["OCX_NOW"] = pinned
    return {
        "customers": size, "seed": seed, "notes": notes,
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": path.stat().st_size, "generator": GENERATOR_VERSION,
    }  # fmt: skip


def cached(
    stem: str, generator: int, build: Callable[[Path], dict[str, Any]], what: str
) -> tuple[Path, dict[str, Any]]:
    """The cached database `STEM-gGENERATOR-sSCHEMA.db` and its facts (`cached` True), or,
    when there is none with the current generator and schema, one made by `build(tmp)`
    (which returns its facts), renamed into place only when complete (`cached` False)."""
    path = CACHE_DIR / f"{stem}-g{generator}-s{schema_key()}.db"
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file() and _applied(path) == _known():
        return path, {**json.loads(meta_path.read_text(encoding="utf-8")), "cached": True}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{stem}-*"):
        stale.unlink()  # an older generator or schema: never read again
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    leftovers = (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"))
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    log(f"building {what} into {path.name}")
    try:
        meta = build(tmp)
        os.replace(tmp, path)  # only a complete database ever gets the cached name
    finally:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(f"built {what} in {meta['seconds']} s ({meta['bytes'] / 1e6:.0f} MB)")
    return path, {**meta, "cached": False}


def ensure(size: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """The cached database of `size` customers for this seed, generated first if there is none."""
    return cached(f"customers-n{size}-seed{seed}", GENERATOR_VERSION,
                  lambda tmp: generate(tmp, size, seed), f"{size:,} customers (seed {seed})")  # fmt: skip
