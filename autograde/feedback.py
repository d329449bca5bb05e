"""Feedback pages for students (``course feedback ASSIGNMENT``): nbgrader's, minus the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, hidden tests included, so a
student learns the hidden tests from the first feedback (nbgrader #917 / #1363). Here the same
converter runs with one more step, :class:`HideHiddenTests`: a test cell keeps its visible part and
its score, says where hidden tests ran, and shows only whether it failed: nothing the hidden tests
printed, displayed or raised, unless the line that failed is a *visible* test: then its own message
(the student has that test in their notebook). :class:`GetGradesAndPending` marks the answers that wait
for a grader, and the ``course_feedback`` template (``autograde/templates/``) says so instead of a 0, fits
the window and typesets formulas from this machine. ``nbgrader_config.py`` puts the same steps and template
into nbgrader's own ``generate_feedback`` (command line and the formgrader's button), so every path writes
the same page.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from nbgrader.server_extensions import formgrader
from traitlets import Bool, List
from traitlets.config import Config, Configurable
from traitlets.utils.importstring import import_item

from autograde.cells import TIMED_OUT
from autograde.course_dir import course_directory, in_course, load_config, unknown_assignment
from autograde.errors import CourseError
from autograde.grading.score import awaits_grader
from autograde.progress_output import OneLineProgressBars

HIDDEN_NOTE = "# (hidden tests ran here; their code and output are not shown)"
FAILED_NOTE = "a test in this cell failed"
TIMEOUT_NOTE = ("this cell ran past the grading time limit and was stopped (an endless loop, or far more work than "
                "the task needs); the cells after it ran without what it would have defined")
TEMPLATES = Path(__file__).parent / "templates"
# The test cell's own frame in an IPython 8 traceback: "Cell In[7], line 2" (ANSI colours around it).
CELL_LINE = re.compile(r"Cell In ?\[\d*\], line (\d+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CourseFeedback(Configurable):
    """The course's choices for feedback pages, set in ``nbgrader_config.py`` (``c.CourseFeedback...``)."""

    refuse_while_pending = Bool(False, help="`course feedback` refuses to write pages while written answers "
                                "wait for a grader (else it warns and the pages say so)").tag(config=True)


class CourseFeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter for the feedback pages only, so that its template settings (set on this class
    in ``feedback_config``) win over those nbgrader gives every ``HTMLExporter`` and leave the formgrader's alone."""


def feedback_config(config: Config) -> Config:
    """``config`` set for this course's pages: the feedback steps and template, offline MathJax in the formgrader."""
    nbgrader_templates = Path(formgrader.__file__).parent / "templates"
    config.GenerateFeedback.preprocessors = feedback_preprocessors()
    config.GenerateFeedback.exporter_class = CourseFeedbackExporter
    config.CourseFeedbackExporter.template_name = "course_feedback"  # extends nbgrader's "feedback"
    config.CourseFeedbackExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates)]
    # Searched last: "feedback/index.html.j2" by name, and nbgrader's bootstrap.min.css (inlined in the page).
    config.CourseFeedbackExporter.extra_template_paths = [
        str(nbgrader_templates), str(nbgrader_templates.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    # The formgrader's pages: its "formgrade" template finds templates/formgrade/mathjax.html.j2 first.
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates)]
    config.HTMLExporter.extra_template_paths = [str(TEMPLATES)]
    return config


def visible_lines(source: str, begin: str, end: str) -> set[int]:
    """Line numbers (from 1) of ``source`` outside its hidden-test regions and their delimiter lines."""
    visible, hidden = set(), False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line or end in line:
            hidden = begin in line
        elif not hidden:
            visible.add(number)
    return visible


def failed_line(error: NotebookNode) -> int | None:
    """The line of the test cell itself where ``error`` was raised (its traceback's first cell frame)."""
    for entry in error.get("traceback", []):
        found = CELL_LINE.search(ANSI.sub("", entry))
        if found:
            return int(found.group(1))
    return None


class ExplainTimeouts(Preprocessor):
    """A cell the grader stopped at the time limit says so in words, instead of nbclient's KeyboardInterrupt
    and "CellTimeoutError: No reply from kernel", which a student cannot read as "my code took too long"."""

    enabled = Bool(True, help="say in words that a cell was stopped at the time limit").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type == "code" and any(o.get("ename") == TIMED_OUT for o in cell.get("outputs", [])):
            kept = [o for o in cell.outputs if o.output_type != "error"]
            cell.outputs = kept + [new_output("error", ename="TimeLimit", evalue=TIMEOUT_NOTE,
                                              traceback=[f"TimeLimit: {TIMEOUT_NOTE}"])]
        return cell, resources

    def __repr__(self) -> str:
        return "ExplainTimeouts()"


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden-test code and every output of a cell that held hidden tests; a failure shows as such."""

    # nbgrader's feedback config sets this for its steps; declared as GetGrades declares it (nbgrader 0.9),
    # else traitlets warns on every run that HideHiddenTests does not recognise it.
    display_data_priority = List(GetGrades.display_data_priority.default_value).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int) -> tuple[NotebookNode, dict]:
        source = cell.source
        if cell.cell_type != "code" or not utils.is_grade(cell) or not self._remove_hidden_test_region(cell):
            return cell, resources
        cell.source = (cell.source.rstrip() + "\n" + HIDDEN_NOTE).lstrip("\n")
        # Outputs cannot be told apart by the code that wrote them: a hidden test's print, display or
        # traceback (which quotes the failing line and may name the expected value) all go. A failure on
        # a visible line keeps its own message: the student has that line and would see it themselves.
        error = next((o for o in cell.outputs if o.output_type == "error"), None)
        cell.outputs = [] if error is None else [self._failure(error, source)]
        return cell, resources

    def _failure(self, error: NotebookNode, source: str) -> NotebookNode:
        """What the page shows of a failed test cell: the visible test's message, or only that it failed."""
        if failed_line(error) in visible_lines(source, self.begin_test_delimeter, self.end_test_delimeter):
            message = f"{error.ename}: {error.evalue}" if error.evalue else error.ename
            return new_output("error", ename=error.ename, evalue=error.evalue,
                              traceback=[f"{message}  (a visible test failed: run this cell in your notebook)"])
        return new_output("error", ename=error.ename, evalue=FAILED_NOTE, traceback=[f"{error.ename}: {FAILED_NOTE}"])

    def __repr__(self) -> str:
        return f"HideHiddenTests(begin={self.begin_test_delimeter!r}, end={self.end_test_delimeter!r})"


class GetGradesAndPending(GetGrades):
    """nbgrader's GetGrades, and which grades wait for a grader: ``cell.metadata.nbgrader.pending``, and in
    ``resources['nbgrader']`` the points awaiting a grader, the points graded so far and the local MathJax."""

    def _get_score(self, cell: NotebookNode, resources: dict) -> None:
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata.nbgrader["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["pending"] = awaits_grader(grade)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb, resources = super().preprocess(nb, resources)
        grades = [c.metadata.nbgrader for c in nb.cells if utils.is_grade(c) or utils.is_task(c)]
        pending = sum(float(g["points"] or 0) for g in grades if g.get("pending"))
        resources["nbgrader"].update(pending_points=pending, graded_max=resources["nbgrader"]["max_score"] - pending)
        resources["course_mathjax"] = local_mathjax_url()
        if pending:
            self.log.warning("%s/%s: %g points await a grader (the formgrader); the page says so, and its total "
                             "counts what is graded so far", self.student_id, self.notebook_id, pending)
        return nb, resources

    def __repr__(self) -> str:
        return "GetGradesAndPending()"


def local_mathjax_url() -> str:
    """The file:// address of the MathJax copy installed here (jupyter-server-mathjax), or "" if none."""
    from autograde.pdf import PDFError, mathjax_dir

    try:
        return (mathjax_dir() / "MathJax.js").as_uri()
    except PDFError:
        return ""


def feedback_preprocessors() -> list[type]:
    """nbgrader's feedback steps with pending grades, :class:`HideHiddenTests` and one-line progress bars; for
    ``c.GenerateFeedback.preprocessors``."""
    return [GetGradesAndPending, ExplainTimeouts, HideHiddenTests, OneLineProgressBars, CSSHTMLHeaderPreprocessor]


def hides_hidden_tests(config: Config) -> bool:
    """Whether nbgrader's own feedback (``generate_feedback``, the formgrader's button) runs :class:`HideHiddenTests`
    under ``config``, the course's loaded ``nbgrader_config.py`` (nbgrader's default shows every hidden test)."""
    steps = config.GenerateFeedback.get("preprocessors", []) if "GenerateFeedback" in config else []
    steps = [import_item(step) if isinstance(step, str) else step for step in steps]
    # Switched off, it hides nothing: its own `enabled` wins, else its parent class's (traitlets applies both).
    enabled = next((config[name]["enabled"] for name in ("HideHiddenTests", "ClearHiddenTests")
                    if name in config and "enabled" in config[name]), True)
    return bool(enabled) and any(isinstance(step, type) and issubclass(step, HideHiddenTests) for step in steps)


def warn_if_hidden_tests_leak(config: Config, command: str) -> bool:
    """One loud block on stderr when nbgrader's feedback path would show hidden tests; whether it warned."""
    if hides_hidden_tests(config):
        return False
    where = Path(config.CourseDirectory.get("root", ".")) / "nbgrader_config.py"
    print(f"course {command}: WARNING: HIDDEN TESTS EXPOSED: {where} does not set (or switches off)\n"
          f"  c.GenerateFeedback.preprocessors = feedback_preprocessors()\n"
          f"  so `nbgrader generate_feedback` and the formgrader's \"Generate Feedback\" button write every hidden\n"
          f"  test's code and output into the students' feedback pages (`course feedback` alone hides them).\n"
          f"  Fix: course init {where.parent}", file=sys.stderr)
    return True


def feedback(root: Path, assignment: str, student: str | None = None) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/*.html`` for every autograded student; returns the pages."""
    return write_feedback(_feedback_course(root, assignment, student), assignment, student)


def _feedback_course(root: Path, assignment: str, student: str | None) -> CourseDirectory:
    """The course directory, its config set for feedback pages without hidden tests (read once)."""
    root = Path(root).resolve()
    config = feedback_config(load_config(root))
    coursedir = course_directory(root, assignment, config)
    if student:
        coursedir.student_id = student
    return coursedir


def write_feedback(coursedir: CourseDirectory, assignment: str, student: str | None = None) -> list[Path]:
    """nbgrader's GenerateFeedback for ``assignment`` in ``coursedir`` (see ``_feedback_course``); the pages."""
    autograded = Path(coursedir.root) / coursedir.autograded_directory
    if not any(autograded.glob(f"*/{assignment}/*.ipynb")):
        raise CourseError(f"course feedback: nothing autograded for {assignment!r} in {autograded}; "
                          f"run `course grade {assignment}` first{unknown_assignment(coursedir, assignment)}")
    with in_course(Path(coursedir.root)):
        converter = GenerateFeedback(coursedir=coursedir, config=coursedir.config)
        converter.force = True
        converter.start()
    feedback_dir = Path(coursedir.root) / coursedir.feedback_directory
    return sorted(feedback_dir.glob(f"{student or '*'}/{assignment}/*.html"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--student", help="only this student (default: everyone autograded)")
    parser.add_argument("--lms", choices=("brightspace", "canvas", "moodle"),
                        help="also lay the pages out for that LMS's bulk feedback upload (see autograde/lms/feedback_upload.py)")


def pending_answers(coursedir: CourseDirectory, assignment: str, student: str | None = None) -> list[str]:
    """"student: notebook/cell" of every grade of ``assignment`` that waits for a grader."""
    from autograde.grading.score import cell_scores

    rows = cell_scores(coursedir.db_url, coursedir.course_id, assignment)
    return [f"{r['student']}: {r['notebook']}/{r['cell']}" for r in rows
            if r["pending"] and (not student or r["student"] == student)]


def check_pending(coursedir: CourseDirectory, assignment: str, student: str | None = None) -> None:
    """Warn (stderr) while written answers wait for a grader; refuse when the course says so."""
    waiting = pending_answers(coursedir, assignment, student)
    if not waiting:
        return
    shown = ", ".join(waiting[:5]) + (f" and {len(waiting) - 5} more" if len(waiting) > 5 else "")
    if CourseFeedback(config=coursedir.config).refuse_while_pending:
        raise CourseError(f"course feedback: {len(waiting)} answer(s) await a grader ({shown}); grade them in the "
                         "formgrader first (this course sets c.CourseFeedback.refuse_while_pending = True)")
    print(f"warning: {len(waiting)} answer(s) await a grader ({shown}); the pages say so and their totals count "
          "only what is graded so far. Grade them in the formgrader before sending the pages out.", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    warn_if_hidden_tests_leak(load_config(root), "feedback")
    coursedir = _feedback_course(root, args.assignment, args.student)
    if getattr(args, "lms", None):
        from autograde.lms.feedback_upload import lms_feedback
        lms_feedback(Path(coursedir.root), args.assignment, args.lms, None)  # group members get their pages too
    check_pending(coursedir, args.assignment, args.student)
    pages = write_feedback(coursedir, args.assignment, args.student)
    folders = sorted({p.parent.parent.parent for p in pages})
    print(f"wrote {len(pages)} feedback page(s) for {args.assignment} into {', '.join(map(str, folders)) or 'nowhere'}")
    if getattr(args, "lms", None):
        print(lms_feedback(Path(coursedir.root), args.assignment, args.lms, pages))
    with_pages = {p.parent.parent.name for p in pages}
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    without = sorted(p.parent.name for p in submitted.glob(f"*/{args.assignment}")
                     if p.parent.name not in with_pages and (not args.student or p.parent.name == args.student))
    if without:
        print(f"no page for {', '.join(without)}: nothing graded yet (see `course grade {args.assignment}`)")
    return 0
