"""Fixtures of the grading tests: the mini course, generated once per session (nbgrader takes seconds)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.grading_course import make_course


@pytest.fixture(scope="session")
def generated_mini(tmp_path_factory) -> Path:
    """The mini course (source, release, gradebook) as ``nbgrader generate_assignment`` left it: do not change."""
    return make_course(tmp_path_factory.mktemp("mini") / "course")


@pytest.fixture
def mini_course(generated_mini, tmp_path) -> Path:
    """A private copy of the generated mini course, for a test that writes to it."""
    return Path(shutil.copytree(generated_mini, tmp_path / "course"))
