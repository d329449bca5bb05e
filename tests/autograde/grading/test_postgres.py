"""The gradebook on a real PostgreSQL server (c.CourseDirectory.db_url, psycopg 3): course grade while a TA
saves written-answer grades in nbgrader's formgrader, and not one grade is lost."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from autograde.cli import dispatch, main
from autograde.errors import CourseError
from autograde.grading.score import cell_scores
from autograde.grading.transaction import staging_folder
from tests.support.browser import free_port
from tests.support.formgrader import Formgrader, formgrader
from tests.support.grading_course import WRITTEN, add_class, make_course
from tests.support.paths import FIXTURES
from tests.support.postgres import postgres_server, postgres_status
from tests.support.requirements import requires

KINDS = {"reference": 5.0, "untouched": 0.0, "exception": 3.0}  # kind -> autograded points
WRITTEN_CELL = "explain"


def ta_grades_written_answers(fg: Formgrader, course: Path, expected: int, grading: subprocess.Popen) -> dict:
    """A TA in the formgrader grades every written answer through its REST API: while ``grading`` runs, each
    student whose grading is open at that moment; the rest after it. Returns student -> (score, during grading)."""
    saved: dict[str, tuple[float, bool]] = {}
    while len(saved) < expected:
        running = grading.poll() is None
        for submission in fg.call(f"/formgrader/api/submitted_notebooks/{WRITTEN}/{WRITTEN}"):
            student = submission["student"]
            grading_open = staging_folder(course / "autograded" / student / WRITTEN).exists()
            if student in saved or (running and not grading_open):
                continue
            grades = fg.call(f"/formgrader/api/grades?submission_id={submission['id']}")
            written = next(g for g in grades if g["name"] == WRITTEN_CELL)
            score = 0.5 * (1 + len(saved) % 4)
            fg.call(f"/formgrader/api/grade/{written['id']}", "PUT", {"manual_score": score})
            saved[student] = (score, running)
        time.sleep(0.02)
    return saved


def gradebook_rows(url: str) -> list[dict]:
    return cell_scores(url, "grading-tests", WRITTEN)


def test_an_unreachable_database_server_stops_grading_before_anything_is_done(tmp_path):
    url = f"postgresql+psycopg://grader:s3cret@127.0.0.1:{free_port()}/gradebook"  # nothing listens there
    config = (FIXTURES / "assignments" / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(config + f"\nc.CourseDirectory.db_url = {url!r}\n")
    (tmp_path / "submitted" / "alice" / WRITTEN).mkdir(parents=True)
    with pytest.raises(CourseError) as stop:
        dispatch(["--course", str(tmp_path), "grade", WRITTEN])
    message = str(stop.value)
    assert "cannot be written" in message and "database server is running" in message and "nothing was graded" in message
    assert "s3cret" not in message and "grader:***@127.0.0.1" in message
    assert list((tmp_path / "submitted" / "alice").iterdir()) == [tmp_path / "submitted" / "alice" / WRITTEN]
    assert not (tmp_path / "autograded").exists()


@pytest.mark.slow
@requires(*postgres_status())
def test_grades_and_a_ta_writing_at_once_lose_nothing(tmp_path, capsys):
    with postgres_server() as url:
        course = make_course(tmp_path / "course", WRITTEN, config_lines=f"\nc.CourseDirectory.db_url = {url!r}\n")
        assert not (course / "gradebook.db").exists()
        students = add_class(course, list(KINDS), WRITTEN)
        assert main(["--course", str(course), "grade", WRITTEN, "--workers", "2"]) == 0
        # The formgrader lists a submission once its grade is in place; the TA grades the written answers
        # while the class is regraded (as after resubmissions), each student's grading open or not.
        with formgrader(course) as fg:
            started = time.monotonic()
            grading = subprocess.Popen([sys.executable, "-m", "autograde.cli", "--course", str(course), "grade", WRITTEN,
                                        "--force", "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
            saved = ta_grades_written_answers(fg, course, len(students), grading)
            out = grading.communicate(timeout=300)[0]
        assert grading.returncode == 0, out
        assert sorted(saved) == sorted(students), (saved, out)
        assert any(during for _, during in saved.values()), ("the TA never graded during a grading", saved, out)

        rows = gradebook_rows(url)
        for student, kind in students.items():
            mine = {r["cell"]: r for r in rows if r["student"] == student}
            written = mine.pop(WRITTEN_CELL)
            assert (written["score"], written["needs_manual_grade"]) == (saved[student][0], False), student
            assert sum(r["auto_score"] for r in mine.values()) == KINDS[kind], (student, mine)
            assert not any(r["needs_manual_grade"] for r in mine.values())

        assert main(["--course", str(course), "report", WRITTEN]) == 0
        grades = pd.read_csv(course / "reports" / WRITTEN / "grades.csv").set_index("student")
        for student, kind in students.items():  # the report counts the TA's points; nothing waits for a hand
            assert grades.loc[student, "score"] == KINDS[kind] + saved[student][0], student
            assert pd.isna(grades.loc[student, "awaiting_a_grader"]), student
            assert grades.loc[student, "graded_max_score"] == grades.loc[student, "max_score"], student
        capsys.readouterr()
        assert main(["--course", str(course), "grade", WRITTEN]) == 0
        assert "nothing graded" in capsys.readouterr().out
        assert gradebook_rows(url) == rows
        print(f"graded {len(students)} students with a TA at work in {time.monotonic() - started:.1f} s")
