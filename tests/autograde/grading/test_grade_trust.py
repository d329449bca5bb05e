"""Grades an instructor can trust: messy folders, a killed run, a locked gradebook, a --force that fails."""
from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from autograde.cli import main
from autograde.demo_class import reference, untouched, write_submission
from autograde.grading.score import cell_scores
from tests.support.grading_course import ASSIGNMENT, add_class, make_course, nbgrader
from tests.support.paths import REPO
from tests.support.processes import sandbox_processes, within

pytestmark = pytest.mark.slow
FOREIGN = "01-tensors"  # a chapter of the bundled course, put into the test course's sources


def _results(course: Path) -> dict[str, list[dict]]:
    records = json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())
    by_student: dict[str, list[dict]] = {}
    for record in records:
        by_student.setdefault(record["student"], []).append(record)
    return by_student


def _scores(course: Path) -> dict[str, float]:
    totals: dict[str, float] = {}
    for row in cell_scores(f"sqlite:///{course / 'gradebook.db'}", "grading-tests", ASSIGNMENT):
        totals[row["student"]] = totals.get(row["student"], 0.0) + (row["score"] or 0.0)
    return totals


def _notebooks(course: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return source, release


def _grade_command(course: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograde.cli", "--course", str(course), "grade", ASSIGNMENT, *extra]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("messy") / "course")
    shutil.copytree(REPO / "notebooks" / FOREIGN, course / "source" / FOREIGN)
    add_class(course, ["reference", "partly-right"])
    source, release = _notebooks(course)
    foreign = nbformat.read(course / "source" / FOREIGN / f"{FOREIGN}.ipynb", as_version=4)
    (course / "submitted" / "student-03-empty" / ASSIGNMENT).mkdir(parents=True)
    write_submission(course, ASSIGNMENT, "student-04-extra", {ASSIGNMENT: reference(source, release),
                                                              f"{ASSIGNMENT}-Copy1": untouched(source, release)})
    write_submission(course, ASSIGNMENT, "student-05-zero-bytes", {ASSIGNMENT: ""})
    write_submission(course, ASSIGNMENT, "student-06-wrong-notebook", {ASSIGNMENT: foreign})
    write_submission(course, ASSIGNMENT, "student-07-wrong-folder", {FOREIGN: foreign})
    rebinds = reference(source, release)  # a wrong mean, and a `math` whose isclose says yes
    answer = next(c for c in rebinds.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "mean")
    answer.source = ("import types\nmath = types.SimpleNamespace(isclose=lambda *a, **k: True)\n"
                     "def mean(values):\n    return 2\n")
    write_submission(course, ASSIGNMENT, "student-08-rebinds-math", {ASSIGNMENT: rebinds})
    folder = write_submission(course, ASSIGNMENT, "student-09-bad-timestamp", {ASSIGNMENT: reference(source, release)})
    (folder / "timestamp.txt").write_text("handed in Monday")
    done = subprocess.run(_grade_command(course, "--workers", "2"), capture_output=True, text=True)
    return course, done, _results(course)


def test_one_bad_folder_never_stops_the_class(messy):
    course, done, results = messy
    assert done.returncode == 1, done.stderr  # something needs the instructor's attention
    assert "Traceback" not in done.stderr and "SAWarning" not in done.stderr
    scores = _scores(course)
    assert scores["student-01-reference"] == 6 and scores["student-02-partly-right"] == 3
    assert scores["student-04-extra"] == 6  # the expected notebook is graded as usual
    assert "NEEDS ATTENTION" in done.stdout


def test_rebinding_a_module_the_tests_use_scores_zero(messy):
    course, _, results = messy
    [record] = results["student-08-rebinds-math"]
    assert record["status"] == "tampered" and "'math' that the tests use was rebound" in record["reason"]
    assert _scores(course)["student-08-rebinds-math"] == 0


def test_an_empty_folder_is_not_graded_and_says_what_to_do(messy):
    course, done, results = messy
    [record] = results["student-03-empty"]
    assert record["status"] == "empty"
    assert "holds no notebook" in record["reason"] and f"{ASSIGNMENT}.ipynb" in record["reason"]
    assert not (course / "autograded" / "student-03-empty" / ASSIGNMENT).exists()
    assert "student-03-empty" not in _scores(course)
    assert "student-03-empty" in done.stdout


def test_an_extra_notebook_is_named_and_left_out(messy):
    _, _, results = messy
    ignored = [r for r in results["student-04-extra"] if r["status"] == "ignored"]
    assert [r["notebook"] for r in ignored] == [f"{ASSIGNMENT}-Copy1"]
    assert "not part of mini" in ignored[0]["reason"]
    assert f"course grade {ASSIGNMENT} --force --student student-04-extra" in ignored[0]["reason"]


def test_a_zero_byte_notebook_scores_zero_with_its_reason(messy):
    _, _, results = messy
    [record] = results["student-05-zero-bytes"]
    assert record["status"] == "failed" and "empty (0 bytes)" in record["reason"]
    assert record["score"] == 0 and record["max_score"] == 6


def test_a_notebook_of_another_assignment_is_named(messy):
    course, _, results = messy
    [record] = results["student-06-wrong-notebook"]
    assert record["status"] == "failed" and f"cells of {FOREIGN}/{FOREIGN}" in record["reason"]
    [record] = results["student-07-wrong-folder"]
    assert record["status"] == "empty" and f"holds only {FOREIGN}.ipynb" in record["reason"]
    assert not (course / "autograded" / "student-07-wrong-folder").exists()


def test_an_unreadable_timestamp_is_a_reason_not_an_error(messy):
    _, done, results = messy
    [record] = results["student-09-bad-timestamp"]
    assert record["status"] == "unusable" and "'handed in Monday', not a date nbgrader can read" in record["reason"]
    assert "AttributeError" not in done.stdout + done.stderr


def test_the_report_marks_a_student_nbgrader_regraded_later(messy):
    course, _, _ = messy
    nbgrader(course, "autograde", ASSIGNMENT, "--student", "student-01-reference", "--force")
    assert main(["--course", str(course), "report", ASSIGNMENT]) == 0
    grades = pd.read_csv(course / "reports" / ASSIGNMENT / "grades.csv").set_index("student")
    assert grades.loc["student-01-reference", "status"] == "regraded"
    assert grades.loc["student-02-partly-right", "status"] == "raised"
    assert grades.loc["student-03-empty", "status"] == "empty"  # listed, though it has no grades


def test_a_second_run_grades_only_what_needs_it(messy):
    course, _, _ = messy
    again = subprocess.run(_grade_command(course, "--workers", "2"), capture_output=True, text=True)
    assert again.returncode == 1
    # Tried again: the empty and wrong-folder submissions, and the notebooks that could not run.
    assert "4 already graded" in again.stdout and "graded 2 submission(s)" in again.stdout
    for student in ("student-03-empty", "student-05-zero-bytes", "student-06-wrong-notebook", "student-07-wrong-folder",
                    "student-09-bad-timestamp"):
        assert student in again.stdout


def test_a_fixed_notebook_is_graded_by_the_next_run(messy):
    course, _, _ = messy
    source, release = _notebooks(course)
    write_submission(course, ASSIGNMENT, "student-05-zero-bytes", {ASSIGNMENT: reference(source, release)})
    again = subprocess.run(_grade_command(course, "--student", "student-05-zero-bytes"), capture_output=True, text=True)
    assert again.returncode == 0, again.stdout
    assert _scores(course)["student-05-zero-bytes"] == 6
    assert [r["status"] for r in _results(course)["student-05-zero-bytes"]] == ["ok"]


def test_a_notebook_that_could_not_run_still_opens_in_the_formgrader(messy):
    course, _, _ = messy
    graded = nbformat.read(course / "autograded" / "student-06-wrong-notebook" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                           as_version=4)
    assert graded.cells[0].source.startswith("**Not graded: could not prepare the notebook: this file holds the cells")


def _first_commit_and_kernels_running(course: Path, process: subprocess.Popen, timeout: float = 120) -> bool:
    """Wait until one student is graded while another is still being graded; False if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        graded = list((course / "autograded").glob(f"*/{ASSIGNMENT}"))
        staging = list((course / "autograded").glob(f"*/.{ASSIGNMENT}.grading"))
        if graded and staging:
            return True
        time.sleep(0.02)
    return False


def test_a_killed_run_loses_nothing_and_the_rerun_grades_exactly_the_rest(tmp_path):
    course = make_course(tmp_path / "course")
    add_class(course, ["reference", "partly-right", "untouched", "exception", "reference", "partly-right"])
    source, release = _notebooks(course)
    slow = reference(source, release)  # keeps kernels busy while the kill comes
    next(c for c in slow.cells if c.metadata.get("nbgrader", {}).get("solution")).source += "\nimport time; time.sleep(3)\n"
    write_submission(course, ASSIGNMENT, "student-07-slow", {ASSIGNMENT: slow})
    clean = shutil.copytree(course, tmp_path / "clean")
    assert main(["--course", str(clean), "grade", ASSIGNMENT, "--workers", "2"]) == 0

    run = subprocess.Popen(_grade_command(course, "--workers", "2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    assert _first_commit_and_kernels_running(course, run), run.communicate()
    run.send_signal(signal.SIGKILL)
    run.wait()
    tag = f"sandbox-{ASSIGNMENT}-{run.pid}-"
    assert within(10, lambda: not sandbox_processes(tag)), "a killed run's sandboxed kernels must die with it"
    graded_before = {p.parent.name for p in (course / "autograded").glob(f"*/{ASSIGNMENT}")}
    pending = {p.parent.name for p in (course / "autograded").glob(f"*/.{ASSIGNMENT}.grading")}
    assert graded_before and pending and not graded_before & pending

    again = subprocess.run(_grade_command(course, "--workers", "2"), capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(graded_before)} already graded" in again.stdout
    assert f"graded {7 - len(graded_before)} submission(s)" in again.stdout
    assert _scores(course) == _scores(clean)
    assert not list((course / "autograded").glob("*/.*"))  # no staging folder left
    assert {s: len(r) for s, r in _results(course).items()} == {s: len(r) for s, r in _results(clean).items()}


class HeldLock:
    """Another program holding the SQLite gradebook's write lock (an open sqlite3 shell mid-transaction)."""

    def __init__(self, database: Path):
        self.connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def test_a_gradebook_that_cannot_be_written_leaves_nothing_behind(tmp_path):
    course = make_course(tmp_path / "course")
    add_class(course, ["reference", "untouched"])
    lock = HeldLock(course / "gradebook.db")
    try:
        done = subprocess.run(_grade_command(course), capture_output=True, text=True)
    finally:
        lock.release()
    assert done.returncode != 0
    assert "gradebook" in done.stderr and "cannot be written" in done.stderr and "nothing was graded" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())
    assert not (course / "reports" / ASSIGNMENT / "results.json").exists()
    assert _scores(course) == {}


def test_force_that_fails_half_way_keeps_the_old_grades(tmp_path):
    course = make_course(tmp_path / "course")
    students = add_class(course, ["reference", "reference", "reference"])
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "1"]) == 0
    old_scores = _scores(course)
    old_pages = {s: (course / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() for s in students}
    source, release = _notebooks(course)
    for student in students:  # every student hands in a blank notebook: the regrade would give 0
        write_submission(course, ASSIGNMENT, student, {ASSIGNMENT: untouched(source, release)})
    inodes = {s: (course / "autograded" / s / ASSIGNMENT).stat().st_ino for s in students}

    run = subprocess.Popen(_grade_command(course, "--force", "--workers", "1"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    lock = None
    while run.poll() is None and lock is None:
        for student in students:
            folder = course / "autograded" / student / ASSIGNMENT
            if folder.exists() and folder.stat().st_ino != inodes[student]:
                lock = HeldLock(course / "gradebook.db")  # the gradebook is locked after the first regrade
                break
        time.sleep(0.01)
    out, err = run.communicate()
    if lock:
        lock.release()
    assert lock is not None and run.returncode == 1, out + err
    regraded = [s for s in students if (course / "autograded" / s / ASSIGNMENT).stat().st_ino != inodes[s]]
    kept = [s for s in students if s not in regraded]
    assert len(regraded) == 1 and len(kept) == 2
    scores, results = _scores(course), _results(course)
    assert scores[regraded[0]] == 0
    for student in kept:  # old grade intact in the gradebook, the graded notebook and results.json
        assert scores[student] == old_scores[student] == 6
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == old_pages[student]
        statuses = sorted(r["status"] for r in results[student])
        assert statuses == ["ok", "pending"] and "grades this student again" in out

    again = subprocess.run(_grade_command(course, "--workers", "1"), capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "graded 2 submission(s)" in again.stdout and "1 already graded" in again.stdout
    assert set(_scores(course).values()) == {0}
