"""Issue 27's planted mistakes through the real commands: ``course check`` and ``course generate`` fail each
with its one clear line and no traceback (nbgrader, kernels and the sandbox as in use)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.authoring import CHECK_LINES, LINT_LINES, MISTAKES, planted, write_course

GENERATE_REFUSES = ["no-grade-id", "test-not-graded"]  # nbgrader's own refusals
GENERATE_WARNS = ["no-markers", "points-not-graded"]  # nbgrader accepts them and generates the wrong thing


def _course(*args: str, course: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["course", "--course", str(course), *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def planted_course(tmp_path_factory) -> Path:
    return write_course(tmp_path_factory.mktemp("planted"), {mistake: planted(mistake) for mistake in MISTAKES})


@pytest.fixture(scope="module")
def check_output(planted_course) -> str:
    """One ``course check`` of every planted assignment (no mutants: the lines asked for come without them)."""
    done = _course("check", "--max-mutants", "0", "--workers", "2", course=planted_course)
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_check_fails_with_one_clear_line(check_output, mistake):
    lines = [line for line in check_output.splitlines() if line.startswith((f"FAIL {mistake}/", f"warning {mistake}/"))]
    assert len(lines) == 1 and CHECK_LINES[mistake] in lines[0], lines
    assert "Traceback" not in check_output and "see the the above traceback" not in check_output


@pytest.mark.slow
def test_generate_says_why_nbgrader_refuses_in_one_line_each(planted_course):
    done = _course("generate", *GENERATE_REFUSES, *GENERATE_WARNS, course=planted_course)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    for mistake in GENERATE_REFUSES + GENERATE_WARNS:
        (line,) = [line for line in output.splitlines() if f"{mistake}/{mistake}.ipynb: " in line]
        assert LINT_LINES[mistake] in line
    assert "Traceback" not in output and len(output.splitlines()) == 5, output
