"""``course export ASSIGNMENT --lms L``: the grade import file of an LMS, as nbgrader ``ExportPlugin`` subclasses.

Each plugin writes the columns its LMS's grade import reads (the same plugins work as
``nbgrader export --exporter=autograde.lms.export.CanvasExport``):

- Brightspace, Grades > Import: ``OrgDefinedId`` and/or ``Username``, ``<item> Points Grade``, and the
  ``End-of-Line Indicator`` column of ``#``; ids written with a leading ``#`` as Brightspace's own export
  does, so spreadsheet programs keep leading zeros (D2L, "Importing grades",
  community.d2l.com/brightspace/kb/articles/3538-importing-grades; UW-Madison KB 4330).
- Canvas, Grades > Import: its gradebook CSV, ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``,
  ``Section``, then the assignment's column, named ``<name> (<assignment id>)`` to update an existing
  assignment (Canvas Guides, "How do I import grades in the Gradebook?").
- Moodle, Assignment > "Upload grading worksheet": ``Identifier`` ("Participant N"), ``Grade`` and
  ``Last modified (grade)`` are the columns its importer requires (mod/assign/feedback/offline
  ``importgradeslib.php``); the others of its worksheet are written too.

Points are nbgrader's: the grades' sum less the late-submission penalty. Students in the roster who handed in nothing get an empty grade (the LMS leaves theirs unchanged). With
written answers still to grade by hand, the export stops and names them, unless ``--allow-pending``.
"""
from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Unicode

from autograde.atomic import write_text
from autograde.course_dir import course_directory, in_course, report_dir
from autograde.errors import CourseError
from autograde.grading.score import awaits_grader
from autograde.lms import LMSS
from autograde.lms.groups import share_grades
from autograde.lms.roster import Person
from autograde.lms.state import LmsState, load_state


class ExportRefused(Exception):
    """The export cannot be written as it should (answers wait for grading by hand, an id is unknown); the
    message names them and says what to do."""


@dataclass
class Row:
    """One student's line in the export: who, points so far (None: handed in nothing), out of how many."""

    person: Person
    score: float | None
    max_score: float
    pending: list[str]
    late: bool = False


def points(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


class LmsExport(ExportPlugin):
    """Grades of one assignment for an LMS's grade import; subclasses say which columns."""

    item = Unicode("", help="the LMS's name for the grade item / column (default: the assignment)").tag(config=True)
    allow_pending = Bool(False, help="export the points graded so far when answers wait for grading by hand").tag(config=True)
    lms = ""
    lms_state: LmsState | None = None  # what `course collect` recorded (roster, names, LMS ids)
    written: list[Row] = []  # the rows of the last export

    def rows(self, gradebook: Gradebook) -> list[Row]:
        """Every student of the assignment, roster students who handed in nothing included."""
        assignment = self.assignment[0]
        # Run by `nbgrader export --exporter=...` (from the course folder), the plugin finds the state itself.
        state = self.lms_state or load_state(Path.cwd(), assignment) or LmsState(self.lms)
        self.lms_state = state
        found = {}
        for submission in gradebook.assignment_submissions(assignment):
            grades = [g for nb in submission.notebooks for g in nb.grades]
            pending = [f"{g.notebook.name}/{g.name}" for g in grades if awaits_grader(g)]
            penalty = sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks)  # as nbgrader export does
            found[submission.student_id] = (max(0.0, sum(g.score or 0.0 for g in grades) - penalty), pending)
        maximum = gradebook.find_assignment(assignment).max_score
        students = {s.id: s for s in gradebook.students}
        rows = []
        for sid in sorted(set(found) | set(state.roster)):
            person = state.people.get(sid) or Person(sid, students[sid].first_name or "", students[sid].last_name or "",
                                                     students[sid].email or "")
            score, pending = found.get(sid, (None, []))
            rows.append(Row(person, score, maximum, pending, bool(state.submissions.get(sid, {}).get("late"))))
        return rows

    def checked_rows(self, gradebook: Gradebook) -> list[Row]:
        rows = self.rows(gradebook)
        pending = [f"{row.person.sid} ({row.person.full_name}): {', '.join(row.pending)}" for row in rows if row.pending]
        if pending and not self.allow_pending:
            raise ExportRefused(f"{len(pending)} student(s) have answers to grade by hand in the formgrader:\n  "
                                + "\n  ".join(pending) + "\ngrade them there, or export the points graded so far "
                                "with --allow-pending")
        return rows

    def export(self, gradebook: Gradebook) -> None:
        rows = self.checked_rows(gradebook)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([self.header(), *(self.line(row) for row in rows)])
        write_text(Path(self.to), out.getvalue())
        self.written = rows

    def header(self) -> list[str]:
        raise NotImplementedError

    def line(self, row: Row) -> list[str]:
        raise NotImplementedError

    @property
    def item_name(self) -> str:
        return self.item or (self.lms_state.item if self.lms_state else "") or self.assignment[0]


class BrightspaceExport(LmsExport):
    """Brightspace's grade import (see the module docstring)."""

    lms = "brightspace"

    def header(self) -> list[str]:
        return ["OrgDefinedId", "Username", f"{self.item_name} Points Grade", "End-of-Line Indicator"]

    def line(self, row: Row) -> list[str]:
        person = row.person
        if not person.username and person.sid not in self.lms_state.roster:
            raise ExportRefused(f"{person.sid} has no Brightspace OrgDefinedId or Username: run `course collect` "
                                f"again with --roster (Brightspace's grade export or class list)")
        org = "" if person.sid == person.username else person.sid
        return [f"#{org}" if org else "", f"#{person.username}" if person.username else "", points(row.score), "#"]


class CanvasExport(LmsExport):
    """Canvas's gradebook import (see the module docstring)."""

    lms = "canvas"

    def header(self) -> list[str]:
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", self.item_name]

    def line(self, row: Row) -> list[str]:
        p = row.person
        return [f"{p.last_name}, {p.first_name}" if p.first_name else p.last_name, p.sid, p.sis_user_id,
                p.sis_login_id, p.section, points(row.score)]


class MoodleExport(LmsExport):
    """Moodle's offline grading worksheet (see the module docstring)."""

    lms = "moodle"

    def header(self) -> list[str]:
        return ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
                "Last modified (submission)", "Last modified (grade)", "Feedback comments"]

    def line(self, row: Row) -> list[str]:
        p = row.person
        status = "No submission" if row.score is None else "Submitted for grading"
        now = datetime.now().strftime("%A, %d %B %Y, %I:%M %p")  # as Moodle writes dates; PHP's strtotime reads it
        return [f"Participant {p.sid}", p.full_name, p.email, status, points(row.score), points(row.max_score), "Yes",
                "-", now, ""]


EXPORTERS: dict[str, type[LmsExport]] = {"brightspace": BrightspaceExport, "canvas": CanvasExport, "moodle": MoodleExport}


def check_exportable(gradebook: Gradebook, assignment: str) -> None:
    """Refuse an assignment the gradebook does not know (naming those it does) or one with nothing graded yet."""
    known = sorted(a.name for a in gradebook.assignments)
    if assignment not in known:
        raise CourseError(f"course export: no assignment {assignment!r} in the gradebook; it has "
                          f"{', '.join(known) or 'none'} (`course generate` adds assignments)")
    if not gradebook.assignment_submissions(assignment):
        raise CourseError(f"course export: nothing of {assignment} is graded yet, so nothing was written; "
                          f"run `course grade {assignment}` first")


def export(root: Path, assignment: str, lms: str, to: Path | None = None, item: str = "",
           allow_pending: bool = False) -> tuple[Path, list[Row]]:
    """Write ``assignment``'s grades for ``lms`` (default ``reports/<assignment>/<lms>-grades.csv``); the rows."""
    root = Path(root).resolve()
    state = load_state(root, assignment)
    if state is not None and state.lms != lms:
        raise CourseError(f"course export: {assignment} was collected from {state.lms}; export with --lms {state.lms}")
    share_grades(root, assignment, state)  # manual grades given since `course grade` reach every group member
    coursedir = course_directory(root, assignment)
    to = Path(to) if to else report_dir(root, assignment) / f"{lms}-grades.csv"
    plugin = EXPORTERS[lms](to=str(to), assignment=[assignment], item=item, allow_pending=allow_pending)
    plugin.lms_state = state
    with in_course(root), Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        check_exportable(gb, assignment)
        try:
            plugin.export(gb)
        except ExportRefused as why:
            raise CourseError(f"course export: nothing written. {why}") from None
    return to, plugin.written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (as in the gradebook)")
    parser.add_argument("--lms", required=True, choices=LMSS, help="the LMS to import the file into")
    parser.add_argument("-o", "--output", metavar="FILE", help="where to write (default: reports/ASSIGNMENT/LMS-grades.csv)")
    parser.add_argument("--item", default="", help="the LMS's grade item or column name (Canvas: 'Name (id)' "
                        "as in its gradebook export; default: the roster's column for the assignment, else its name)")
    parser.add_argument("--allow-pending", action="store_true",
                        help="export the points graded so far when written answers still wait for grading by hand")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    to, rows = export(course_root(args.course), args.assignment, args.lms, args.output, args.item, args.allow_pending)
    graded = [r for r in rows if r.score is not None]
    print(f"wrote {to}: {len(graded)} grade(s) of {args.assignment} for {args.lms}, out of {rows[0].max_score:g} points"
          if rows else f"wrote {to}: no students")
    missing = [f"{r.person.sid} ({r.person.full_name})" for r in rows if r.score is None]
    if missing:
        print(f"  handed in nothing (left empty): {', '.join(missing)}")
    pending = [r.person.sid for r in rows if r.pending]
    if pending:
        print(f"  PARTIAL: {', '.join(pending)} still have answers to grade by hand; their points so far were exported")
    return 0
