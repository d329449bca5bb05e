"""The gradebook on a real PostgreSQL server (c.CourseDirectory.db_url, psycopg 3): course grade while a TA
saves written-answer grades from another process, and not one grade is lost."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from autograde.cli import main
from autograde.grading.score import cell_scores
from tests.support.grading_course import WRITTEN, add_class, make_course
from tests.support.paths import FIXTURES
from tests.support.postgres import free_port, postgres_server, postgres_status
from tests.support.requirements import requires

KINDS = {"reference": 5.0, "untouched": 0.0, "exception": 3.0}  # kind -> autograded points
WRITTEN_CELL = "explain"

# A TA in the formgrader: every submission that appears gets its written answer graded at once, while
# course grade is still running it. The write is the formgrader's own (nbgrader's GradeHandler.put).
TEACHING_ASSISTANT = """
import json, sys, time
from nbgrader.api import Gradebook
url, course_id, assignment, cell, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
with Gradebook(url, course_id):
    print("ready", flush=True)  # connected: course grade may start
saved, deadline = {}, time.monotonic() + 120
while len(saved) < expected and time.monotonic() < deadline:
    with Gradebook(url, course_id) as gb:
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name != cell or submission.student_id in saved:
                        continue
                    early = all(g.auto_score is None for g in notebook.grades if g.name != cell)
                    grade.manual_score = 0.5 * (1 + len(saved) % 4)
                    grade.extra_credit = None
                    grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
                    gb.db.commit()
                    saved[submission.student_id] = {"score": grade.manual_score, "before_autograde": early}
    time.sleep(0.05)
print(json.dumps(saved))
"""


def gradebook_rows(url: str) -> list[dict]:
    return cell_scores(url, "grading-tests", WRITTEN)


def test_an_unreachable_database_server_stops_grading_before_anything_is_done(tmp_path):
    url = f"postgresql+psycopg://grader:s3cret@127.0.0.1:{free_port()}/gradebook"  # nothing listens there
    config = (FIXTURES / "assignments" / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(config + f"\nc.CourseDirectory.db_url = {url!r}\n")
    (tmp_path / "submitted" / "alice" / WRITTEN).mkdir(parents=True)
    with pytest.raises(SystemExit) as stop:
        main(["--course", str(tmp_path), "grade", WRITTEN])
    message = str(stop.value)
    assert "cannot be written" in message and "database server is running" in message and "nothing was graded" in message
    assert "s3cret" not in message and "grader:***@127.0.0.1" in message
    assert list((tmp_path / "submitted" / "alice").iterdir()) == [tmp_path / "submitted" / "alice" / WRITTEN]
    assert not (tmp_path / "autograded").exists()


@pytest.mark.slow
@requires(*postgres_status())
def test_grades_and_a_ta_writing_at_once_lose_nothing(tmp_path, capsys):
    with postgres_server() as url:
        course = make_course(tmp_path / "course", f"\nc.CourseDirectory.db_url = {url!r}\n", WRITTEN)
        assert not (course / "gradebook.db").exists()
        students = add_class(course, list(KINDS), WRITTEN)
        ta = subprocess.Popen([sys.executable, "-c", TEACHING_ASSISTANT, url, "grading-tests", WRITTEN,
                               WRITTEN_CELL, str(len(students))], stdout=subprocess.PIPE, text=True)
        assert ta.stdout.readline().strip() == "ready"
        started = time.monotonic()
        code = main(["--course", str(course), "grade", WRITTEN, "--workers", "2"])
        saved = json.loads(ta.communicate(timeout=120)[0])
        assert code == 0, capsys.readouterr().out
        assert sorted(saved) == sorted(students)
        assert any(s["before_autograde"] for s in saved.values()), "the TA never graded during course grade"

        rows = gradebook_rows(url)
        for student, kind in students.items():
            mine = {r["cell"]: r for r in rows if r["student"] == student}
            written = mine.pop(WRITTEN_CELL)
            assert (written["score"], written["needs_manual_grade"]) == (saved[student]["score"], False), student
            assert sum(r["auto_score"] for r in mine.values()) == KINDS[kind], (student, mine)
            assert not any(r["needs_manual_grade"] for r in mine.values())

        assert main(["--course", str(course), "report", WRITTEN]) == 0
        grades = pd.read_csv(course / "reports" / WRITTEN / "grades.csv").set_index("student")
        for student, kind in students.items():  # the report counts the TA's points; nothing waits for a hand
            assert grades.loc[student, "score"] == KINDS[kind] + saved[student]["score"], student
            assert grades.loc[student, "to_grade_by_hand"] == 0, student
        capsys.readouterr()
        assert main(["--course", str(course), "grade", WRITTEN]) == 0
        assert "nothing graded" in capsys.readouterr().out
        assert gradebook_rows(url) == rows
        print(f"graded {len(students)} students with a TA at work in {time.monotonic() - started:.1f} s")
