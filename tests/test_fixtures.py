"""The shared fixtures' guard: missing real letters skip a test locally and fail it where they are
required: when ../shared/data is beside the checkout (CI), or IMR_REQUIRE_REAL_LETTERS=1."""

from __future__ import annotations

import conftest
import pytest
from conftest import missing_real_letters


def test_missing_real_letters_skip_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("IMR_REQUIRE_REAL_LETTERS", raising=False)
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "no-shared-data")
    with pytest.raises(pytest.skip.Exception, match="no letters here"):
        missing_real_letters("no letters here")


def test_missing_real_letters_fail_where_required(monkeypatch, tmp_path):
    monkeypatch.setenv("IMR_REQUIRE_REAL_LETTERS", "1")
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path / "no-shared-data")
    with pytest.raises(pytest.fail.Exception, match="IMR_REQUIRE_REAL_LETTERS=1 but no letters here"):
        missing_real_letters("no letters here")


def test_missing_real_letters_fail_when_shared_data_is_beside_the_checkout(monkeypatch, tmp_path):
    """As on CI, with no variable set: the folder is there, so the letters must be found."""
    monkeypatch.delenv("IMR_REQUIRE_REAL_LETTERS", raising=False)
    monkeypatch.setattr(conftest, "SHARED_DATA", tmp_path)
    with pytest.raises(pytest.fail.Exception, match=f"{tmp_path} exists but no letters here"):
        missing_real_letters("no letters here")
    monkeypatch.setenv("IMR_REQUIRE_REAL_LETTERS", "0")  # an explicit opt-out
    with pytest.raises(pytest.skip.Exception, match="no letters here"):
        missing_real_letters("no letters here")


def test_ci_runs_make_test_and_make_test_runs_every_check():
    script = (conftest.ROOT_DIR / ".ci" / "run").read_text()
    assert script.rstrip().endswith("make test")
    makefile = (conftest.ROOT_DIR / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    for command in ("ruff check .", "ruff format --check .", "lint-imports", "python -m pytest"):
        assert command in recipe
    assert "chromium" in recipe.splitlines()[0]  # the test target depends on the chromium target
