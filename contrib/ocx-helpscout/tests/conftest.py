"""Fixtures for ocx-helpscout's tests: ocx.testing's (an isolated environment with entry points
ON, so the installed package is what gets tested, and a real SQLite file), plus the samples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

# tests/ -> ocx-helpscout/ -> contrib/ -> the ocx checkout; the samples sit beside it.
SAMPLES = Path(
    os.environ.get("OCX_FIXTURES")
    or Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
)


@pytest.fixture
def samples() -> Path:
    folder = SAMPLES / "helpscout"
    assert folder.is_dir(), f"the sample exports are missing: {folder} (set OCX_FIXTURES)"
    return folder
