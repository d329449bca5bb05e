"""A small course for the grading tests: tests/fixtures/assignments/mini generated with nbgrader, plus a class."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograde.demo_class import make_class
from autograde.generate import generate
from tests.support.paths import FIXTURES

ASSIGNMENT = "mini"
WRITTEN = "written-mini"  # mini's first two tasks and one written answer graded by hand (2 points)
# The kinds plain `nbgrader autograde` survives too, so all three graders can be compared on them.
COMPARABLE_KINDS = ["reference", "untouched", "partly-right", "syntax-error", "exception", "endless-loop"]


def make_course(folder: Path, assignment: str = ASSIGNMENT, config_lines: str = "") -> Path:
    """A course in ``folder`` with the ``assignment`` fixture (mini) generated (gradebook and release/); ``config_lines``
    are added to its nbgrader_config.py first (another ``c.CourseDirectory.db_url``...)."""
    course = Path(folder)
    (course / "source").mkdir(parents=True)
    config = (FIXTURES / "assignments" / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config + config_lines)
    shutil.copytree(FIXTURES / "assignments" / assignment, course / "source" / assignment)
    generate(course, [assignment])
    return course


def add_class(course: Path, kinds: list[str], assignment: str = ASSIGNMENT) -> dict[str, str]:
    """Submissions of the given kinds (student-NN-kind) for the assignment (the mini one by default)."""
    return make_class(course, assignment, kinds, source_dir="source")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the real ``nbgrader`` command line in ``course`` (its bin/ on PATH: nbgrader calls alembic)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
