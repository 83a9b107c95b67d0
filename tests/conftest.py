"""Shared fixtures. The real letters live outside the repository, in its sibling folder
../shared/data; tests that need them skip (with the path in the reason) when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.extract import read_letter_text
from features.letter import Letter
from features.parser import parse_letter

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PDF_DIR = SHARED_DATA / "dwc-imr-letters"
SEED_DIR = SHARED_DATA / "seed-letters"
TESTS_DATA = Path(__file__).resolve().parent / "data"


def _require(folder: Path, pattern: str) -> list[Path]:
    files = sorted(folder.glob(pattern))
    if not files:
        pytest.skip(f"real letters not found: no {pattern} in {folder}")
    return files


@pytest.fixture(scope="session")
def pdf_paths() -> list[Path]:
    """The 147 bundled PDF letters, sorted by case number."""
    return _require(PDF_DIR, "*.pdf")


@pytest.fixture(scope="session")
def seed_paths() -> list[Path]:
    """The 5 seed letters (text), sorted: 000_..., 001_..., ..."""
    return _require(SEED_DIR, "*.txt")


@pytest.fixture(scope="session")
def real_letters(pdf_paths) -> dict[str, Letter]:
    """Every bundled PDF parsed once, keyed by file stem (the case number)."""
    return {p.stem: parse_letter(read_letter_text(p)) for p in pdf_paths}


@pytest.fixture(scope="session")
def seed_letters(seed_paths) -> dict[str, Letter]:
    """Seed letters parsed once, keyed by their 3-digit prefix ("000" ... "004")."""
    return {p.name[:3]: parse_letter(read_letter_text(p)) for p in seed_paths}
