"""Tests that need a system facility (bubblewrap, Chromium, writable cgroups...): skip here, fail in CI.

``requires(available, why)`` marks a test. When the facility is missing the test is skipped with
``why``, unless ``COURSE_REQUIRE_SANDBOX=1`` is set (``.ci/run`` sets it): then it fails with ``why``,
so CI can never go green with the isolation, warm-start, PDF or browser tests left out.
"""
from __future__ import annotations

import os

import pytest

STRICT_VARIABLE = "COURSE_REQUIRE_SANDBOX"


def strict() -> bool:
    """Whether a missing requirement fails the test (CI) instead of skipping it."""
    return os.environ.get(STRICT_VARIABLE, "") not in ("", "0")


def requires(available: bool, why: str) -> pytest.MarkDecorator:
    """A mark that skips (locally) or fails (under COURSE_REQUIRE_SANDBOX=1) when ``available`` is false."""
    return pytest.mark.requires(available=bool(available), why=why)


def enforce(item: pytest.Item) -> None:
    """Skip or fail ``item`` for each of its ``requires`` marks that is not met (called from conftest)."""
    for mark in item.iter_markers("requires"):
        if not mark.kwargs["available"]:
            if strict():
                pytest.fail(f"requirement missing ({STRICT_VARIABLE}=1, as in CI): {mark.kwargs['why']}", pytrace=False)
            pytest.skip(mark.kwargs["why"])
