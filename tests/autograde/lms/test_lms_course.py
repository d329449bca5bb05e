"""From each LMS and back, end to end on one small course: collect its export (roster, groups), grade, export
the grades, read the file back as that LMS's import reads it; report and feedback pages for every member."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograde.cli import dispatch, main
from autograde.errors import CourseError
from tests.support.grading_course import ASSIGNMENT
from tests.support.lms_class import ANNA, BEN, CHLOE, DAN, EVA, EXPORTS, FINN, GINA, make_lms_course

pytestmark = pytest.mark.slow
ID = {"brightspace": "org_id", "canvas": "canvas_id", "moodle": "moodle_id"}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_lms_course(tmp_path_factory.mktemp("lms") / "course")


def read_back(lms: str, path: Path) -> dict[str, str]:
    """Student id -> grade, reading the columns the LMS's import reads (see autograde/lms/export.py)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    if lms == "brightspace":
        assert header[0] == "OrgDefinedId" and header[-1] == "End-of-Line Indicator"
        assert all(row[-1] == "#" for row in body)
        grade = next(i for i, h in enumerate(header) if h.endswith(" Points Grade"))
        return {row[0].lstrip("#"): row[grade] for row in body}
    table = [dict(zip(header, row)) for row in body]
    if lms == "canvas":
        assert header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        assert header[5] == f"{ASSIGNMENT} (1234)"  # the roster's column: Canvas updates that assignment
        return {row["ID"]: row[header[5]] for row in table}
    for row in table:  # Moodle's importer: Identifier without "Participant ", Grade, a date it can parse
        datetime.strptime(row["Last modified (grade)"], "%A, %d %B %Y, %I:%M %p")
    return {row["Identifier"].removeprefix("Participant "): row["Grade"] for row in table}


def late_is_zero(course: Path) -> None:
    """A due date (Dec 3, 2026 noon, between the class's submissions and Ben's) and nbgrader's "zero" late policy."""
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "grading-tests") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate="2026-12-03 12:00:00")


def grade_by_hand(course: Path) -> list[str]:
    """What the formgrader's save does (its api handler) for every written answer waiting: full points."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "grading-tests") as gb:
        pending = [g for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks for g in nb.grades
                   if g.needs_manual_grade]
        for grade in pending:
            grade.manual_score, grade.needs_manual_grade = grade.max_score, False
        gb.db.commit()
        return sorted(g.student.id for g in pending)


@pytest.mark.parametrize("lms", ["brightspace", "canvas", "moodle"])
def test_from_the_lms_and_back(template, tmp_path, lms, capsys):
    course = Path(shutil.copytree(template, tmp_path / "course"))
    late_is_zero(course)
    files = EXPORTS[lms](course, tmp_path)
    ids = {s: getattr(s, ID[lms]) for s in (ANNA, BEN, CHLOE, DAN, EVA, FINN, GINA)}
    args = ["--course", str(course)]
    main([*args, "collect", ASSIGNMENT, str(files["export"]), "--lms", lms, "--roster", str(files["roster"]),
          "--groups", str(files["groups"])])
    submitted = course / "submitted"
    assert (submitted / ids[ANNA] / ASSIGNMENT / "mini.pdf").exists()  # beside the notebook, never graded
    assert not (submitted / ids[FINN]).exists()  # the group's submission is collected once
    assert (submitted / ids[DAN] / ASSIGNMENT / "mini.ipynb").exists()  # renamed, taken by its grade ids
    assert main([*args, "grade", ASSIGNMENT, "--workers", "2"]) == 0
    with pytest.raises(CourseError, match=rf"(?s)answers to grade by hand.*{ids[ANNA]} \(Anna Müller\): mini/explain"):
        dispatch([*args, "export", ASSIGNMENT, "--lms", lms])
    main([*args, "export", ASSIGNMENT, "--lms", lms, "--allow-pending", "-o", str(tmp_path / "partial.csv")])
    assert "PARTIAL" in capsys.readouterr().out
    assert ids[ANNA] in grade_by_hand(course)
    main([*args, "export", ASSIGNMENT, "--lms", lms, "-o", str(tmp_path / "grades.csv")])
    grades = read_back(lms, tmp_path / "grades.csv")
    partial = read_back(lms, tmp_path / "partial.csv")
    assert float(grades[ids[ANNA]]) == float(partial[ids[ANNA]]) + 1  # the written answer, graded since
    assert grades[ids[ANNA]] == grades[ids[CHLOE]] == grades[ids[DAN]]  # Chloe's newest attempt; Dan's renamed file
    assert grades[ids[FINN]] == grades[ids[EVA]] and float(grades[ids[EVA]]) < float(grades[ids[ANNA]])
    assert grades[ids[GINA]] == ""
    # Brightspace's file names carry the time (timestamp.txt), so nbgrader's late penalty applies to Ben;
    # Canvas's and Moodle's carry none: Ben keeps his points (Canvas's LATE mark is noted instead).
    assert (float(grades[ids[BEN]]) == 0) == (lms == "brightspace")
    if lms == "brightspace":  # the same for every LMS; the upload layouts are checked in test_lms_formats
        check_report_and_feedback(course, lms, ids)


def check_report_and_feedback(course: Path, lms: str, ids: dict) -> None:
    main(["--course", str(course), "report", ASSIGNMENT])
    with open(course / "reports" / ASSIGNMENT / "grades.csv", encoding="utf-8") as handle:
        report = {row["student"]: row for row in csv.DictReader(handle)}
    assert report[ids[GINA]]["status"] == "missing" and report[ids[ANNA]]["name"] == "Anna Müller"
    assert report[ids[FINN]]["score"] == report[ids[EVA]]["score"]
    main(["--course", str(course), "feedback", ASSIGNMENT, "--lms", lms])
    assert (course / "feedback" / ids[FINN] / ASSIGNMENT / "mini.html").exists()
    laid_out = sorted(p.name for p in (course / "reports" / ASSIGNMENT / f"{lms}-feedback").rglob("*.html"))
    assert len(laid_out) == 6
