"""Submissions through nbgrader's exchange, as on a shared JupyterHub: two real Unix users fetch and submit,
the instructor collects, and course grade grades what nbgrader collect gathered."""
from __future__ import annotations

import pwd
import shutil
import stat
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps.api import NbGraderAPI

from autograde.cli import main
from autograde.course_dir import course_directory, load_config
from autograde.demo_class import KINDS
from autograde.grading.score import student_totals
from tests.support.grading_course import ASSIGNMENT, make_course
from tests.support.requirements import requires
from tests.support.unix_users import home, nbgrader_as, run_as, unix_users, unix_users_status

pytestmark = [pytest.mark.slow, requires(*unix_users_status())]

COURSE_ID = "grading-tests"  # tests/fixtures/assignments/nbgrader_config.py
ANSWERS = {"reference": 6.0, "partly-right": 3.0}  # what each student hands in -> points (mini: 2 + 3 + 1)


@pytest.fixture
def shared():
    """A folder every user can reach (pytest's tmp_path is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="course-hub-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def formgrader_api(course: Path) -> NbGraderAPI:
    """nbgrader's API for the course, as the formgrader runs it."""
    config = load_config(course)
    return NbGraderAPI(course_directory(course, config=config), config=config)


def answer_files(course: Path, folder: Path) -> dict[str, Path]:
    """Each kind's answer notebook, written where the students can read it."""
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    folder.mkdir(mode=0o755)
    files = {}
    for kind in ANSWERS:
        files[kind] = folder / f"{kind}.ipynb"
        nbformat.write(KINDS[kind](source, release), files[kind])
        files[kind].chmod(0o644)
    return files


def test_two_students_submit_through_the_exchange_and_are_graded(tmp_path, shared):
    exchange = shared / "exchange"  # as nbgrader requires it: world-writable with the sticky bit
    exchange.mkdir()
    exchange.chmod(0o1777)
    course = make_course(tmp_path / "course", config_lines=f"\nc.Exchange.root = {str(exchange)!r}\n")
    instructor = formgrader_api(course)  # what the formgrader's Release and Collect buttons call
    assert instructor.release_assignment(ASSIGNMENT)["success"]
    answers = answer_files(course, shared / "answers")
    with unix_users(len(ANSWERS)) as students:
        handed_in = dict(zip(students, ANSWERS))
        for student, kind in handed_in.items():
            exchange_flags = ("--course", COURSE_ID, f"--Exchange.root={exchange}")
            nbgrader_as(student, "fetch_assignment", ASSIGNMENT, *exchange_flags)
            fetched = home(student) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            assert fetched.stat().st_uid == pwd.getpwnam(student).pw_uid  # the student's own copy
            run_as(student, "cp", str(answers[kind]), str(fetched))  # the student works on it...
            nbgrader_as(student, "submit", ASSIGNMENT, *exchange_flags)  # ...and hands it in
        inbound = exchange / COURSE_ID / "inbound"
        assert sorted(p.name.split("+")[0] for p in inbound.iterdir()) == sorted(students)
        assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777

        assert instructor.collect(ASSIGNMENT)["success"]
        for student in students:
            assert (course / "submitted" / student / ASSIGNMENT / "timestamp.txt").exists()
        assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2"]) == 0
        for student, kind in handed_in.items():
            totals = student_totals(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID, ASSIGNMENT, student)
            assert totals[ASSIGNMENT] == (ANSWERS[kind], 6.0), (student, kind)
