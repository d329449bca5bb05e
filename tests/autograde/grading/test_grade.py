"""course grade against plain nbgrader: same scores, serial or parallel or on a dask cluster; idempotent."""
from __future__ import annotations

import json
import shutil

import pytest

from autograde.cli import main
from autograde.course_dir import load_config
from autograde.grading.score import cell_scores
from tests.support.grading_course import ASSIGNMENT, COMPARABLE_KINDS, add_class, make_course, nbgrader

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def class_course(tmp_path_factory):
    """The mini course with one student of each comparable kind (generated once, copied per grader)."""
    course = make_course(tmp_path_factory.mktemp("grade") / "course")
    add_class(course, COMPARABLE_KINDS)
    return course


def _copy(course, tmp_path, name):
    target = tmp_path / name
    shutil.copytree(course, target)
    return target


def _scores(course):
    config = load_config(course)
    return [(r["student"], r["notebook"], r["cell"], r["auto_score"], r["max_score"])
            for r in cell_scores(f"sqlite:///{course}/gradebook.db", config.CourseDirectory.course_id, ASSIGNMENT)]


@pytest.fixture(scope="module")
def serial_scores(class_course, tmp_path_factory):
    """Scores from plain, serial `nbgrader autograde` on the same submissions."""
    course = _copy(class_course, tmp_path_factory.mktemp("serial"), "course")
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return _scores(course)


def test_serial_reference_is_meaningful(serial_scores):
    by_student = {}
    for student, _, _, score, best in serial_scores:
        got, total = by_student.get(student, (0, 0))
        by_student[student] = (got + score, total + best)
    assert by_student["student-01-reference"] == (6, 6)
    assert by_student["student-02-untouched"] == (0, 6)
    assert 0 < by_student["student-03-partly-right"][0] < 6


def test_workers_match_nbgrader_and_rerun_is_idempotent(class_course, serial_scores, tmp_path, capsys):
    course = _copy(class_course, tmp_path, "course")
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2"]) == 0
    first = _scores(course)
    assert first == serial_scores
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith(f"graded {len(COMPARABLE_KINDS)} submission(s)")
    results = json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())
    statuses = {r["student"]: r["status"] for r in results}
    assert statuses["student-01-reference"] == "ok"
    assert statuses["student-05-exception"] == "raised"
    assert statuses["student-06-endless-loop"] == "timeout"
    loop = next(r for r in results if r["student"] == "student-06-endless-loop")
    assert "time limit" in loop["reason"]

    # Again without --force: nothing is regraded, nothing changes.
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2"]) == 0
    assert "already graded" in capsys.readouterr().out
    assert _scores(course) == first
    assert json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text()) == results

    # With --force everything is regraded, to the same scores, and nbgrader's own tools read the gradebook.
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2", "--force"]) == 0
    assert _scores(course) == first
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert "student-01-reference" in (course / "grades.csv").read_text()


def test_dask_cluster_matches_nbgrader(class_course, serial_scores, tmp_path):
    distributed = pytest.importorskip("distributed")
    course = _copy(class_course, tmp_path, "course")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert main(["--course", str(course), "grade", ASSIGNMENT, "--scheduler", cluster.scheduler_address]) == 0
    assert _scores(course) == serial_scores
    results = json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())
    assert len(results) == len(COMPARABLE_KINDS)
