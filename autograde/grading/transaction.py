"""One student's grade is written whole or not at all (the trusted side of ``course grade``).

A submission counts as graded when ``autograded/<student>/<assignment>/`` exists and no staging
folder ``autograded/<student>/.<assignment>.grading`` is beside it. Grading a student:

1. ``begin``: the staging folder is created (from now on the student is *pending*) and the student's
   current grades are read from the gradebook;
2. nbgrader writes the graded notebooks into the staging folder and the scores into the gradebook;
3. ``commit``: the staging folder is renamed into place (the old folder goes aside first, then away).

A kill at any point leaves the staging folder or no graded folder, so the next run grades the
student again; ``abort`` puts the old scores back and leaves the (emptied) staging folder as the
mark that the student still needs grading. Nothing is ever half: the old grade stays until the new
one is complete, and a submission with no graded folder is never mistaken for a graded one.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


def staging_folder(dest: Path) -> Path:
    """Where ``dest`` (``autograded/<student>/<assignment>``) is built before it is renamed into place."""
    return dest.with_name(f".{dest.name}.grading")


def _replaced_folder(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.replaced")


def is_pending(dest: Path) -> bool:
    """Whether the student's grade is missing or incomplete (never graded, or a run stopped half-way)."""
    return staging_folder(dest).exists() or not dest.is_dir()


@dataclass
class GradeSnapshot:
    """A student's scores for one assignment as they were before grading began (None: no submission)."""

    timestamp: object = None
    grades: dict[tuple[str, str], tuple] = field(default_factory=dict)  # (notebook, cell) -> (auto_score, needs_manual)
    comments: dict[tuple[str, str], str | None] = field(default_factory=dict)
    manual: dict[tuple[str, str], float | None] = field(default_factory=dict)  # (notebook, cell) -> manual_score
    penalties: dict[str, float | None] = field(default_factory=dict)  # notebook -> late_submission_penalty

    @classmethod
    def read(cls, gb: Gradebook, assignment: str, student: str) -> GradeSnapshot | None:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        snapshot = cls(timestamp=submission.timestamp)
        for notebook in submission.notebooks:
            snapshot.penalties[notebook.name] = notebook.late_submission_penalty
            for grade in notebook.grades:
                snapshot.grades[(notebook.name, grade.name)] = (grade.auto_score, grade.needs_manual_grade)
                snapshot.manual[(notebook.name, grade.name)] = grade.manual_score
            for comment in notebook.comments:
                snapshot.comments[(notebook.name, comment.name)] = comment.auto_comment
        return snapshot

    def restore(self, gb: Gradebook, assignment: str, student: str) -> None:
        submission = gb.find_submission(assignment, student)
        submission.timestamp = self.timestamp
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = self.penalties.get(notebook.name)
            for grade in notebook.grades:
                grade.auto_score, needs_manual = self.grades.get((notebook.name, grade.name), (None, True))
                grade.needs_manual_grade = needs_manual and not self.graded_meanwhile(notebook.name, grade)
            for comment in notebook.comments:
                comment.auto_comment = self.comments.get((notebook.name, comment.name))
        gb.db.commit()

    def graded_meanwhile(self, notebook: str, grade) -> bool:
        """Whether a grader saved ``grade``'s manual score after this snapshot (in the formgrader, during grading)."""
        return grade.manual_score is not None and grade.manual_score != self.manual.get((notebook, grade.name))

    def __repr__(self) -> str:
        return f"GradeSnapshot({len(self.grades)} grades, timestamp={self.timestamp})"


class StudentTransaction:
    """Grading of one student's submission: ``begin``, let nbgrader write into ``staging``, ``commit`` or ``abort``."""

    def __init__(self, db_url: str, course_id: str, assignment: str, student: str, dest: Path):
        self.db_url, self.course_id = db_url, course_id
        self.assignment, self.student = assignment, student
        self.dest = Path(dest)
        self.staging = staging_folder(self.dest)
        self.before: GradeSnapshot | None = None
        self.snapshot_taken = False  # before is None also when begin failed before reading it

    def __repr__(self) -> str:
        return f"StudentTransaction({self.student}/{self.assignment}, staging={str(self.staging)!r})"

    def begin(self) -> None:
        """Remember the grades to fall back on, then mark the student pending (a fresh staging folder).

        In this order, a grade a TA saves once the student shows as pending is never in the snapshot, so it
        counts as given during this grading (``_keep_manual_grades``)."""
        with Gradebook(self.db_url, self.course_id) as gb:
            self.before = GradeSnapshot.read(gb, self.assignment, self.student)
        self.snapshot_taken = True
        shutil.rmtree(self.staging, ignore_errors=True)
        shutil.rmtree(_replaced_folder(self.dest), ignore_errors=True)  # left by a run killed mid-commit
        self.staging.mkdir(parents=True)

    def commit(self, still_pending: bool = False) -> None:
        """Put the complete new grade in place of the old one (two renames; a kill between them leaves it pending).

        ``still_pending``: the grade is recorded, but something needs fixing (a notebook that could not
        run): an empty staging folder stays as the mark, so the next run grades the student again."""
        self._keep_manual_grades()
        replaced = _replaced_folder(self.dest)
        if self.dest.exists():
            os.rename(self.dest, replaced)
        os.rename(self.staging, self.dest)
        shutil.rmtree(replaced, ignore_errors=True)
        if still_pending:
            self.staging.mkdir()

    def _keep_manual_grades(self) -> None:
        """A manual grade saved while this student was being graded was given to this very submission: clear
        the review flag nbgrader's scoring sets on every manually scored cell, which would show it as pending."""
        before = self.before or GradeSnapshot()
        with Gradebook(self.db_url, self.course_id) as gb:
            for notebook in gb.find_submission(self.assignment, self.student).notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade and before.graded_meanwhile(notebook.name, grade):
                        grade.needs_manual_grade = False
            gb.db.commit()

    def discard(self) -> None:
        """Forget a grading that wrote nothing (the submission had nothing to grade): no trace is left."""
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.staging.parent.rmdir()  # the student's folder, if this left it empty

    def abort(self) -> str:
        """Put the old scores back; the emptied staging folder stays, so the next run grades the student.

        Returns what happened to the old grade, for the reason shown to the instructor."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        if not self.snapshot_taken:
            return "nothing was changed, the previous grade (if any) is kept"
        try:
            with Gradebook(self.db_url, self.course_id) as gb:
                if self.before is not None:
                    self.before.restore(gb, self.assignment, self.student)
                    return "the previous grade is kept"
                try:
                    submission = gb.find_submission(self.assignment, self.student)
                except MissingEntry:
                    return "nothing was recorded"
                if any(g.manual_score is not None for nb in submission.notebooks for g in nb.grades):
                    GradeSnapshot().restore(gb, self.assignment, self.student)  # no autograde, the TA's grades kept
                    return "the manual grades entered meanwhile are kept"
                gb.remove_submission(self.assignment, self.student)
                return "nothing was recorded"
        except Exception as error:  # noqa: BLE001 - the gradebook may be the very thing that fails
            return f"the gradebook could not be put back either ({type(error).__name__}: {error})"
