"""What a course folder holds decides how its kernels run: `course grade` and `nbgrader autograde` apply the
limits of its nbgrader_config.py alike, and a copy of `course/` in it does not hide the installed library."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from autograde.cli import dispatch, main
from autograde.demo_class import reference, write_submission
from autograde.errors import CourseError
from tests.support.grading_course import ASSIGNMENT, make_course, nbgrader

pytestmark = pytest.mark.slow
MEMORY = 700 << 20
# An answer that also prints the limits its kernel runs under.
PROBE = "import resource\nprint('PROBE', resource.getrlimit(resource.RLIMIT_DATA)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"


def probe_line(course, student: str) -> str:
    graded = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    texts = [output.get("text", "") for cell in graded.cells for output in cell.get("outputs", [])]
    return next(line for text in texts for line in text.splitlines() if line.startswith("PROBE"))


def test_both_tools_apply_the_sandbox_settings_of_nbgrader_config(tmp_path):
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nfrom autograde.sandbox import autograde_preprocessors\n"
                     "c.Autograde.autograde_preprocessors = autograde_preprocessors()\n"
                     f"c.SandboxKernelManager.memory_bytes = {MEMORY}\n"
                     "c.GradingSettings.file_bytes = 5 << 20\n")  # the settings' own home; the manager's too
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    probe = reference(source, release)
    answer = next(c for c in probe.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = PROBE + answer.source
    for student in ("student-01-course-grade", "student-02-nbgrader"):
        write_submission(course, ASSIGNMENT, student, {ASSIGNMENT: probe})

    assert main(["--course", str(course), "grade", ASSIGNMENT, "--student", "student-01-course-grade"]) == 0
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "student-02-nbgrader")

    expected = f"PROBE {MEMORY} {5 << 20}"
    assert probe_line(course, "student-01-course-grade") == expected
    assert probe_line(course, "student-02-nbgrader") == expected
    # The command line still wins over the config.
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--student", "student-01-course-grade", "--force",
                 "--memory-mb", "600"]) == 0
    assert probe_line(course, "student-01-course-grade") == f"PROBE {600 << 20} {5 << 20}"


def test_nonsense_limits_and_the_retired_variable_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    course = make_course(tmp_path / "course")
    write_submission(course, ASSIGNMENT, "student-01", {ASSIGNMENT: nbformat.read(
        course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)})
    for option in (["--timeout", "-1"], ["--memory-mb", "0"], ["--notebook-timeout", "0"]):
        with pytest.raises(CourseError, match="must be positive"):
            dispatch(["--course", str(course), "grade", ASSIGNMENT, *option])
    monkeypatch.setenv("COURSE_COLD_START", "1")
    with pytest.raises(CourseError, match="--cold-start"):
        dispatch(["--course", str(course), "grade", ASSIGNMENT])
    assert not (course / "autograded").exists()


def test_a_course_that_requires_the_sandbox_is_not_graded_without_it(tmp_path, monkeypatch):
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.SandboxKernelManager.require_sandbox = True\n")
    write_submission(course, ASSIGNMENT, "student-01", {ASSIGNMENT: nbformat.read(
        course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)})
    monkeypatch.setattr("autograde.sandbox.bubblewrap.bwrap_status", lambda: (None, "bwrap hidden by this test"))
    with pytest.raises(CourseError, match="course grade: the sandbox is required, but bwrap hidden by this test"):
        dispatch(["--course", str(course), "grade", ASSIGNMENT])
    assert not (course / "autograded").exists()
    # course check runs the instructor's notebooks and their mutants under the same policy
    with pytest.raises(CourseError, match="course check: the sandbox is required, but bwrap hidden by this test"):
        dispatch(["--course", str(course), "check", ASSIGNMENT, "--max-mutants", "0"])


def test_kernels_import_the_installed_library_when_the_course_folder_holds_a_copy(tmp_path):
    """Run from the course folder, the grading process sees ./course first; its kernels must still import
    (and the sandbox must let them read) the installed library, as they do without the copy."""
    course = make_course(tmp_path / "course")
    (course / "course").mkdir()
    (course / "course" / "__init__.py").write_text("raise ImportError('a stale copy, not the installed library')\n")
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    probe = reference(source, nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))
    answer = next(c for c in probe.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = "import course\nassert hasattr(course, 'fit')\n" + answer.source
    write_submission(course, ASSIGNMENT, "student-01-imports-course", {ASSIGNMENT: probe})
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"}
    # 60 s cells, not the course's 4: the cold kernel imports torch, which takes longer than 4 s on a busy machine.
    run = subprocess.run([sys.executable, "-m", "autograde.cli", "grade", ASSIGNMENT, "--cold-start", "--timeout", "60"],
                         cwd=course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    records = json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())
    assert [(r["status"], r["reason"]) for r in records] == [("ok", "")]
