"""Feedback pages for students (``course feedback ASSIGNMENT``): nbgrader's, minus the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, hidden tests included, so a
student learns the hidden tests from the first feedback (nbgrader #917 / #1363). Here the same
converter runs with one more step, :class:`HideHiddenTests`: a test cell keeps its visible part and
its score, says where hidden tests ran, and shows only whether it failed: nothing the hidden tests
printed, displayed or raised. ``nbgrader_config.py`` puts the same step into nbgrader's own
``generate_feedback`` (command line and the formgrader's button), so every path writes the same page.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from autograde.course_dir import course_directory, in_course, load_config

HIDDEN_NOTE = "# (hidden tests ran here; their code and output are not shown)"
FAILED_NOTE = "a test in this cell failed"


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden-test code and every output of a cell that held hidden tests; a failure shows as such."""

    # nbgrader's feedback config sets this for its steps; declared as GetGrades declares it (nbgrader 0.9),
    # else traitlets warns on every run that HideHiddenTests does not recognise it.
    display_data_priority = List(GetGrades.display_data_priority.default_value).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type != "code" or not utils.is_grade(cell) or not self._remove_hidden_test_region(cell):
            return cell, resources
        cell.source = (cell.source.rstrip() + "\n" + HIDDEN_NOTE).lstrip("\n")
        # Outputs cannot be told apart by the code that wrote them: a hidden test's print, display or
        # traceback (which quotes the failing line and may name the expected value) all go.
        error = next((o for o in cell.outputs if o.output_type == "error"), None)
        cell.outputs = [] if error is None else [new_output(
            "error", ename=error.ename, evalue=FAILED_NOTE, traceback=[f"{error.ename}: {FAILED_NOTE}"])]
        return cell, resources

    def __repr__(self) -> str:
        return f"HideHiddenTests(begin={self.begin_test_delimeter!r}, end={self.end_test_delimeter!r})"


def feedback_preprocessors() -> list[type]:
    """nbgrader's feedback steps with :class:`HideHiddenTests`; for ``c.GenerateFeedback.preprocessors``."""
    return [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]


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
    config = load_config(root)
    config.GenerateFeedback.preprocessors = feedback_preprocessors()
    config.HTMLExporter.template_name = "feedback"
    coursedir = course_directory(root, assignment, config)
    if student:
        coursedir.student_id = student
    return coursedir


def write_feedback(coursedir: CourseDirectory, assignment: str, student: str | None = None) -> list[Path]:
    """nbgrader's GenerateFeedback for ``assignment`` in ``coursedir`` (see ``_feedback_course``); the pages."""
    autograded = Path(coursedir.root) / coursedir.autograded_directory
    if not any(autograded.glob(f"*/{assignment}/*.ipynb")):
        raise SystemExit(f"course feedback: nothing autograded for {assignment!r} in {autograded}; "
                         f"run `course grade {assignment}` first")
    with in_course(Path(coursedir.root)):
        converter = GenerateFeedback(coursedir=coursedir, config=coursedir.config)
        converter.force = True
        converter.start()
    feedback_dir = Path(coursedir.root) / coursedir.feedback_directory
    return sorted(feedback_dir.glob(f"{student or '*'}/{assignment}/*.html"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--student", help="only this student (default: everyone autograded)")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    warn_if_hidden_tests_leak(load_config(root), "feedback")
    coursedir = _feedback_course(root, args.assignment, args.student)
    pages = write_feedback(coursedir, args.assignment, args.student)
    folders = sorted({p.parent.parent.parent for p in pages})
    print(f"wrote {len(pages)} feedback page(s) for {args.assignment} into {', '.join(map(str, folders)) or 'nowhere'}")
    with_pages = {p.parent.parent.name for p in pages}
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    without = sorted(p.parent.name for p in submitted.glob(f"*/{args.assignment}")
                     if p.parent.name not in with_pages and (not args.student or p.parent.name == args.student))
    if without:
        print(f"no page for {', '.join(without)}: nothing graded yet (see `course grade {args.assignment}`)")
    return 0
