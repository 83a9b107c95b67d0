"""The shared fixtures' guard: missing real letters skip a test locally and fail it where CI
requires them (IMR_REQUIRE_REAL_LETTERS=1, set by .ci/run when ../shared/data exists)."""

from __future__ import annotations

import pytest
from conftest import missing_real_letters


def test_missing_real_letters_skip_by_default(monkeypatch):
    monkeypatch.delenv("IMR_REQUIRE_REAL_LETTERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no letters here"):
        missing_real_letters("no letters here")


def test_missing_real_letters_fail_where_required(monkeypatch):
    monkeypatch.setenv("IMR_REQUIRE_REAL_LETTERS", "1")
    with pytest.raises(pytest.fail.Exception, match="IMR_REQUIRE_REAL_LETTERS=1 but no letters here"):
        missing_real_letters("no letters here")


def test_ci_requires_the_real_letters_when_they_are_there():
    from conftest import ROOT_DIR

    script = (ROOT_DIR / ".ci" / "run").read_text()
    assert "export IMR_REQUIRE_REAL_LETTERS=1" in script and "../shared/data" in script
