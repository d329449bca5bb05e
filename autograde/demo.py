"""The instructor's whole job in one command (``course demo [--out DIR] [--workers N]``).

Copies the bundled course (this repository's nbgrader_config.py and notebooks/) to DIR, generates the
student versions, hands in a made-up class through a made-up Brightspace export that ``course collect`` reads (reference solutions, untouched student versions, partly
right answers, a syntax error, an exception, an endless loop, and two students of whom one copied the
other's answers with renamed variables), grades it in parallel, writes feedback and the class report,
looks for shared answers, prints one notebook to PDF when ``course pdf`` is available, and says where
everything is.
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from autograde.config import GradingSettings
from autograde.course_dir import load_config, source_assignments
from autograde.demo_class import make_class
from autograde.errors import CourseError
from autograde.feedback import feedback
from autograde.generate import generate
from autograde.grading.grade import grade
from autograde.grading.status import Status
from autograde.lms.collect import collect
from autograde.lms.demo_export import brightspace_export
from autograde.lms.export import export
from autograde.pdf import PDFError, notebook_to_pdf
from autograde.report import summary_table, write_report
from autograde.similarity import similarity, top_pairs

BUNDLED = Path(__file__).resolve().parents[1]  # the repository: nbgrader_config.py + notebooks/
DEFAULT_KINDS = ["reference", "untouched", "partly-right", "syntax-error", "exception", "endless-loop",
                 "own-variant", "copied-variant"]
MARKER = ".course-demo"  # marks a folder this command made, so a re-run may replace it


def copy_course(out: Path, bundled: Path = BUNDLED) -> Path:
    """A fresh copy of the bundled course in ``out`` (replacing an earlier demo there, never other files)."""
    if not (bundled / "nbgrader_config.py").exists() or not (bundled / "notebooks").is_dir():
        raise CourseError(f"course demo: no bundled course at {bundled} (nbgrader_config.py and notebooks/); "
                         "run it from a clone of the repository installed with `pip install -e .[grading]`")
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise CourseError(f"course demo: {out} exists and is not an earlier demo; pick another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(bundled / "nbgrader_config.py", out / "nbgrader_config.py")
    shutil.copytree(bundled / "notebooks", out / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (out / MARKER).write_text("made by `course demo`; safe to delete\n")
    return out


def _print_pdf(notebook: Path) -> Path | None:
    """Print ``notebook`` to PDF next to it; a missing browser is reported, not fatal to the demo."""
    try:
        return notebook_to_pdf(notebook, notebook.with_suffix(".pdf"))
    except PDFError as error:  # BrowserNotFoundError included: say what to install and go on
        print(f"      no PDF: {error}")
        return None


def hand_in(course: Path, assignment: str, kinds: list[str]) -> dict[str, str]:
    """The made-up class handed in through a made-up Brightspace export, collected by ``course collect``."""
    students = make_class(course, assignment, kinds)
    export_zip, roster = brightspace_export(course, assignment, list(students), course / "lms")
    collected = collect(course, assignment, export_zip, "brightspace", roster)
    print(f"[2/7] {assignment}: {len(students)} submissions ({', '.join(students.values())}) handed in "
          f"through Brightspace; `course collect` placed {len(collected.new)} from {export_zip.name}")
    return students


def brightspace_grades(course: Path, assignment: str) -> Path:
    """The grades for Brightspace's import, written answers awaiting a grader included as points so far (said so)."""
    grades_file, rows = export(course, assignment, "brightspace", allow_pending=True)
    waiting = sum(bool(row.pending) for row in rows)
    print(f"      grades for Brightspace's import: {grades_file}"
          + (f" (PARTIAL: {waiting} student(s) have written answers awaiting a grader; their points so far)"
             if waiting else ""))
    return grades_file


def demo(out: Path, workers: int | None = None, assignments: list[str] | None = None,
         kinds: list[str] | None = None, cell_timeout: float = 30, bundled: Path = BUNDLED) -> int:
    """Run the demo into ``out`` from the ``bundled`` course; returns 0 when every step worked."""
    started = time.monotonic()
    course = copy_course(Path(out).resolve(), bundled)
    from autograde.course_dir import course_directory

    available = source_assignments(course_directory(course))
    if not available:
        raise CourseError(f"course demo: the bundled course has no chapters (no notebooks/NN-*/ folders with a "
                         f"notebook in {bundled / 'notebooks'}); add a chapter first")
    chosen = assignments or available[:1]
    missing = [a for a in chosen if a not in available]
    if missing:
        raise CourseError(f"course demo: no chapter {missing}; available: {available}")
    print(f"[1/7] copied the course to {course}; generating student versions of {', '.join(available)}")
    generate(course, available)
    lines = []
    for assignment in chosen:
        hand_in(course, assignment, kinds or DEFAULT_KINDS)
        print(f"[3/7] grading {assignment} in parallel")
        settings = GradingSettings.for_course(load_config(course), cell_seconds=cell_timeout)
        summary = grade(course, assignment, workers=workers, settings=settings, force=True)
        for record in summary.records:
            if record.status != Status.OK:
                print(f"      {record.student}: {record.status}: {record.reason}")
        print(f"      {summary.line()}")
        pages = feedback(course, assignment)
        print(f"[4/7] wrote {len(pages)} feedback pages into {course / 'feedback'}")
        csv_path, html_path, grades = write_report(course, assignment)
        print(f"[5/7] class report:\n{summary_table(grades)}")
        grades_file = brightspace_grades(course, assignment)
        shared, paths = similarity(course, assignment)
        print(f"[6/7] {shared.line()}")
        print("\n".join(top_pairs(shared)) or "      no pair of students shares answers")
        reference = next(course.glob(f"autograded/*-reference/{assignment}/*.ipynb"), None)
        pdf = _print_pdf(reference) if reference else None
        print(f"[7/7] PDF of the reference submission: {pdf or 'not made'}")
        lines += [f"  {assignment}: grades {csv_path}, for Brightspace {grades_file}", f"  {assignment}: report {html_path}",
                  f"  {assignment}: feedback {course / 'feedback'}/<student>/{assignment}/",
                  f"  {assignment}: shared answers: {', '.join(shared.named_pairs()) or 'none found'}; {paths['html']}"]
        if pdf:
            lines.append(f"  {assignment}: PDF {pdf}")
    print(f"done in {time.monotonic() - started:.0f} s. Everything is in {course}:")
    print(f"  student versions {course / 'release'}/, submissions {course / 'submitted'}/, "
          f"graded notebooks {course / 'autograded'}/, gradebook {course / 'gradebook.db'}")
    print("\n".join(lines))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="course-demo", help="folder for the demo course (default: ./course-demo)")
    parser.add_argument("--workers", type=int, default=None, help="local grading workers (default: CPU count)")
    parser.add_argument("--assignment", action="append", dest="assignments", metavar="CHAPTER",
                        help="chapter(s) to hand in and grade (default: the first one)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per cell while grading (default 30)")


def run(args: argparse.Namespace) -> int:
    return demo(Path(args.out), args.workers, args.assignments, cell_timeout=args.timeout)
