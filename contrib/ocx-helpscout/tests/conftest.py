"""Fixtures for ocx-helpscout's tests: ocx.testing's (an isolated environment with entry points
ON, so the installed package is what gets tested, and a real SQLite file), plus the samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocx.testing import db, dump, env, error, ocx, rows, summary  # noqa: F401

# tests/ -> ocx-helpscout/ -> contrib/ -> the ocx checkout, whose tests/fixtures/ holds the
# samples (made by tests/fixtures/build.py).
SAMPLES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"


@pytest.fixture
def samples() -> Path:
    folder = SAMPLES / "helpscout"
    assert folder.is_dir(), (
        f"the sample exports are missing: {folder} (run tests/fixtures/build.py)"
    )
    return folder
