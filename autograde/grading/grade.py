"""Autograde every submission of an assignment in parallel (``course grade ASSIGNMENT``).

prepare (nbgrader's sanitising, here) -> execute (worker processes or a dask cluster) -> score (nbgrader's
scoring, here). Only this process writes the gradebook. Each student is graded whole or not at all
(``autograde.grading.transaction``): a run that is killed, or a gradebook that refuses a write, leaves that
student pending for the next run and every earlier grade intact. One bad folder never stops the
class: empty folders, extra notebooks and grades that could not be recorded are listed as needing
attention (exit code 1). Each notebook's status, reason and time go to
``reports/<assignment>/results.json`` for ``course report``.
"""
from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Assignment, Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograde.config import (
    GradingSettings,
    add_setting_arguments,
    command_settings,
    retired_variables_set,
    threads_chosen,
)
from autograde.course_dir import (
    course_directory,
    gradebook_name,
    in_course,
    load_config,
    submitted_students,
    unknown_assignment,
)
from autograde.errors import CourseError
from autograde.feedback import warn_if_hidden_tests_leak
from autograde.grading import tamper
from autograde.grading.execute import ExecutionResult
from autograde.grading.nbgrader_adapter import NbgraderAutograde
from autograde.grading.pool import ExecuteSettings, Finished, run_dask, run_local
from autograde.grading.prepare import (
    Job,
    Reference,
    Submission,
    Unusable,
    make_autograder,
    notebook_owners,
    prepare_submission,
)
from autograde.grading.records import GradeSummary, NotebookRecord, ResultsFile
from autograde.grading.score import record_zero, score_notebook, student_totals
from autograde.grading.status import Status, grading_verdict
from autograde.grading.transaction import StudentTransaction, is_pending
from autograde.lms.groups import share_grades
from autograde.sandbox import choose_kernel_manager, preload_for


def grade(root: Path, assignment: str, *, workers: int | None = None, scheduler: str | None = None,
          settings: GradingSettings | None = None, force: bool = False, kernel_manager_class: str | None = None,
          progress: bool = True, only: list[str] | None = None) -> GradeSummary:
    """Autograde every submission of ``assignment`` in course ``root``; see the module docstring.

    ``settings``: the limits and switches (None: the course's, ``GradingSettings.for_course``); with
    ``warm_start`` kernels are forked from the warm zygote where the sandbox allows it (preloading the
    chapter libraries when the notebooks import them, else the kernel alone). ``only``: these students and no others (``--student``)."""
    root = Path(root).resolve()
    config = load_config(root)
    settings = settings if settings is not None else GradingSettings.for_course(config)
    coursedir = course_directory(root, assignment, config)
    students = _chosen_students(coursedir, assignment, only)
    workers = workers or os.cpu_count() or 1
    summary = GradeSummary(assignment, workers=scheduler or f"{workers} local worker(s)")
    start = time.monotonic()
    with in_course(root):
        expected = _check_gradebook(coursedir, assignment)
        autograde = make_autograder(coursedir, config)
        pending = [s for s in students if force or _needs_grading(autograde, assignment, s)]
        summary.skipped = [s for s in students if s not in pending]
        if pending:
            reference = Reference.load(autograde, assignment, expected, notebook_owners(coursedir))
            execution = _execute_settings(config, settings, kernel_manager_class, assignment, scheduler, workers)
            execution.preload = preload_for(reference.imports())
            execute = ((lambda jobs: run_dask(jobs, execution, scheduler)) if scheduler
                       else (lambda jobs: run_local(jobs, execution, workers)))
            _ClassRun(root, autograde, reference, summary, progress).grade(pending, execute)
    summary.records.sort(key=lambda r: (r.student, r.notebook))
    summary.seconds = time.monotonic() - start
    return summary


def _chosen_students(coursedir: CourseDirectory, assignment: str, only: list[str] | None) -> list[str]:
    """The students with a submission of ``assignment`` (just ``only``, if given); a clear exit when none."""
    students = submitted_students(coursedir, assignment)
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    if only:
        unknown = sorted(set(only) - set(students))
        if unknown:
            raise CourseError(f"course grade: no submission of {assignment} from {', '.join(unknown)} in {submitted}")
        students = [s for s in students if s in only]
    if not students:
        raise CourseError(f"course grade: no submissions in {submitted}/<student>/{assignment}/; "
                          f"collect them first (nbgrader's layout){unknown_assignment(coursedir, assignment)}")
    return students


def _execute_settings(config, settings: GradingSettings, kernel_manager_class: str | None, assignment: str,
                      scheduler: str | None, workers: int) -> ExecuteSettings:
    """How kernels run: the config's Execute options, the settings, a sandbox, one torch thread per core share."""
    # A sandbox named in the config (c.Execute.kernel_manager_class) applies here as in `nbgrader autograde`.
    execution = ExecuteSettings.for_course(config, settings, kernel_manager_class)
    if execution.kernel_manager_class is None:
        execution.kernel_manager_class = choose_kernel_manager(settings.require_sandbox, "grade")
    execution.run_tag = f"{assignment}-{os.getpid()}"  # names the sandboxes' cgroups
    if not scheduler and not threads_chosen():
        # Kernels running side by side share the cores: torch's default of one thread per core in
        # every kernel oversubscribes them and makes small matrix work many times slower.
        execution.env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    return execution


def _check_gradebook(coursedir, assignment: str) -> list[str]:
    """The assignment's notebook names, after proving the gradebook can be written (else a clear exit)."""
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                raise CourseError(f"course grade: assignment {assignment!r} is not in the gradebook; "
                                 f"run `course generate {assignment}` first") from None
            names = sorted(nb.name for nb in found.notebooks)
            # Write the assignment's row with its own value: fails now, before any work, if writes will.
            gb.db.execute(update(Assignment).where(Assignment.id == found.id).values(name=found.name))
            gb.db.commit()
    except (SQLAlchemyError, ModuleNotFoundError) as error:
        raise CourseError(f"course grade: the gradebook {gradebook_name(coursedir.db_url)} cannot be written "
                         f"({getattr(error, 'orig', None) or error}); nothing was graded. {_gradebook_hint(coursedir.db_url, error)}"
                         ) from None
    return names


def _gradebook_hint(db_url: str, error: Exception) -> str:
    """What to do about a gradebook that cannot be written: a file (sqlite) or a database server."""
    if isinstance(error, ModuleNotFoundError):
        return (f"Its driver {error.name!r} is not installed: pip install 'psycopg[binary]' for PostgreSQL "
                f"(postgresql+psycopg://...), then run the command again.")
    if db_url.startswith("sqlite"):
        return ("Close any program holding it (an open sqlite3 shell, a formgrader that is saving), check that the "
                "file and its folder are writable, then run the command again.")
    return ("Check that the database server is running and reachable at that address, that the database exists "
            "and that this user may write to it (c.CourseDirectory.db_url in nbgrader_config.py), then run the "
            "command again.")


def _needs_grading(autograde: NbgraderAutograde, assignment: str, student: str) -> bool:
    """Never graded, left half-done by an interrupted run, or handed in again since (nbgrader's timestamp rule)."""
    dest = autograde.graded_folder(assignment, student)
    if is_pending(dest):
        return True
    try:
        new = autograde.coursedir.get_existing_timestamp(str(autograde.submitted_folder(assignment, student)))
        old = autograde.coursedir.get_existing_timestamp(str(dest))
    except Exception:  # noqa: BLE001 - an unreadable timestamp.txt: prepare says what is wrong with it
        return True
    return new is not None and old is not None and new > old


@dataclass
class _Graded:
    """One executed notebook, verified and judged: what commit scores and records."""

    job: Job
    result: ExecutionResult
    attempts: int
    status: Status
    reason: str


@dataclass
class _Open:
    """A student whose notebooks are executing: their transaction, submission and results so far."""

    transaction: StudentTransaction
    submission: Submission
    graded: list[_Graded] = field(default_factory=list)


class _ClassRun:
    """One run over the pending students: prepare each, execute their notebooks, commit each student whole."""

    def __init__(self, root: Path, autograde: NbgraderAutograde, reference: Reference, summary: GradeSummary,
                 progress: bool):
        self.root, self.autograde, self.reference, self.summary = root, autograde, reference, summary
        self.assignment = reference.assignment
        self.results = ResultsFile(root, self.assignment)
        self.opened: dict[str, _Open] = {}
        self.seals: dict[tuple[str, str], tamper.Seal] = {}
        self.progress = progress

    def __repr__(self) -> str:
        return f"_ClassRun({self.assignment}, {len(self.opened)} students open)"

    def grade(self, students: list[str], execute: Callable[[Iterable[Job]], Iterator[Finished]]) -> None:
        """Prepare, execute and record ``students``; each student's grade is committed as soon as it is complete."""
        with tqdm(total=len(students), desc=f"grade {self.assignment}", unit="student",
                  disable=not self.progress) as self.bar:
            for job, result, attempts in execute(self.jobs(students)):
                self.receive(job, result, attempts)
        self.results.compact()

    def finish(self, student: str, records: list[NotebookRecord], saved: bool = False) -> None:
        """The student's records are final for this run (graded, or why not): save them (unless ``saved``), count them."""
        self.summary.records.extend(records)
        if not saved:
            self.results.save(student, records)
        self.bar.update(1)

    def jobs(self, students: list[str]) -> Iterator[Job]:
        """Prepared jobs, one student at a time (what cannot be prepared is recorded on the way)."""
        for student in students:
            entry = self.open(student)
            if entry is None:
                continue
            if not entry.submission.jobs:
                self.commit(student)
            for job in entry.submission.jobs:
                self.seals[job.key] = _seal(job)  # checkpoint cells whose answers only this process knows
                yield job

    def open(self, student: str) -> _Open | None:
        """Begin the student's transaction and prepare their submission; None when there is nothing to run."""
        transaction = StudentTransaction(self.autograde.coursedir.db_url, self.autograde.coursedir.course_id,
                                         self.assignment, student, self.autograde.graded_folder(self.assignment, student))
        try:
            transaction.begin()
            self.autograde.stage(self.assignment, student, transaction.staging)
            submission = prepare_submission(self.autograde, self.reference, student)
        except Unusable as why:  # raised before anything is written
            transaction.discard()
            self.autograde.stage(self.assignment, student, None)
            self.finish(student, self.results.previous(student)
                        + [NotebookRecord(student, "", why.status, str(why), 0.0, 0)])
            return None
        except Exception as error:  # noqa: BLE001 - a gradebook locked mid-run, a full disk...
            self.autograde.stage(self.assignment, student, None)
            self.finish(student, self.abandon(student, transaction, error))
            return None
        self.opened[student] = _Open(transaction, submission)
        return self.opened[student]

    def receive(self, job: Job, result: ExecutionResult, attempts: int) -> None:
        """Verify and judge one executed notebook; commit its student once all their notebooks are back."""
        result.notebook_json, tampering = tamper.unseal(result.notebook_json, self.seals.pop(job.key))
        cells = nbformat.reads(result.notebook_json, as_version=4).cells
        status, reason = grading_verdict(result.outcome, result.reason, result.notes, cells, tampering, job.notes)
        entry = self.opened[job.student]
        entry.graded.append(_Graded(job, result, attempts, status, reason))
        if len(entry.graded) == len(entry.submission.jobs):
            self.commit(job.student)

    def commit(self, student: str) -> None:
        """Score the student's notebooks into the staging folder and the gradebook, then put the grade in place."""
        entry = self.opened.pop(student)
        try:
            records = self.score(student, entry)
            self.results.save(student, records)  # before the rename: a kill in between regrades
            entry.transaction.commit(still_pending=any(r.status == Status.FAILED for r in records))
        except Exception as error:  # noqa: BLE001 - whatever failed, the old grade stays and the student stays pending
            self.finish(student, self.abandon(student, entry.transaction, error))
            return
        finally:
            self.autograde.stage(self.assignment, student, None)
        self.autograde.set_permissions(self.assignment, student)
        self.finish(student, records, saved=True)

    def score(self, student: str, entry: _Open) -> list[NotebookRecord]:
        """Write every notebook's grade (0 with a placeholder for those that could not run); the records."""
        coursedir, submission, records = self.autograde.coursedir, entry.submission, []
        for failure in submission.failures:
            record_zero(coursedir.db_url, coursedir.course_id, self.assignment, student, failure.notebook)
            self.placeholder(student, failure.notebook, failure.reason)
            records.append(NotebookRecord(student, failure.notebook, Status.FAILED, failure.reason, 0.0, 0))
        for graded in entry.graded:
            score_notebook(self.autograde, self.assignment, student, graded.job.notebook, graded.result)
            records.append(NotebookRecord(student, graded.job.notebook, graded.status, graded.reason,
                                          round(graded.result.duration, 3), graded.attempts, graded.result.host))
        for notebook in submission.missing:
            reason = f"{notebook}.ipynb was not handed in: 0 points for it"
            self.placeholder(student, notebook, reason)
            records.append(NotebookRecord(student, notebook, Status.MISSING, reason, 0.0, 0))
        totals = student_totals(coursedir.db_url, coursedir.course_id, self.assignment, student)
        for record in records:
            record.score, record.max_score = totals.get(record.notebook, (0.0, 0.0))
        records += [NotebookRecord(student, f.notebook, Status.IGNORED, f.reason, 0.0, 0) for f in submission.ignored]
        now = time.time()
        for record in records:
            record.graded_at = now
        return records

    def placeholder(self, student: str, notebook: str, reason: str) -> None:
        """The released notebook with the reason on top, where a graded notebook could not be made: the
        formgrader and the feedback page then show why the notebook scored 0 (nbgrader's own page for a
        notebook without a graded file fails)."""
        release = self.reference.release.get(notebook)
        if release is None:
            return
        nb = copy.deepcopy(release)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Not graded: {reason}.** Every test in this notebook "
                                                         f"scores 0. Below is the notebook as it was handed out."))
        destination = self.autograde.destination(self.assignment, student)
        destination.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, destination / f"{notebook}.ipynb")

    def abandon(self, student: str, transaction: StudentTransaction, error: BaseException) -> list[NotebookRecord]:
        """Undo a student's unfinished grading; their records: the previous ones plus why this one is pending."""
        kept = transaction.abort()
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        reason = (f"grading could not be recorded ({type(error).__name__}: {cause[0] if cause else ''}); {kept}, and "
                  f"the next `course grade {self.assignment}` grades this student again")
        return self.results.previous(student) + [NotebookRecord(student, "", Status.PENDING,
                                                                                      reason, 0.0, 0)]


def _seal(job: Job) -> tamper.Seal:
    """Add tamper checkpoints to ``job``'s notebook (in place) and return what they must show."""
    nb = nbformat.reads(job.notebook_json, as_version=4)
    seal = tamper.seal(nb, job.answer_names)
    job.notebook_json = nbformat.writes(nb)
    return seal


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (e.g. a sandbox)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that were graded before")
    parser.add_argument("--student", action="append", metavar="NAME",
                        help="grade only this student (repeat for more); with --force, regrade just them")
    add_setting_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    if args.workers is not None and args.workers < 1:
        raise CourseError(f"course grade: --workers must be at least 1, got {args.workers}")
    for retired in retired_variables_set():
        raise CourseError(f"course grade: {retired}")
    config = load_config(root)
    warn_if_hidden_tests_leak(config, "grade")
    summary = grade(root, args.assignment, workers=args.workers, scheduler=args.scheduler,
                    settings=command_settings(config, args, "grade"), force=args.force,
                    kernel_manager_class=args.kernel_manager, only=args.student)
    for line in share_grades(root, args.assignment):  # groups collected from an LMS: graded once, given to all
        print(f"  {line}")
    for record in summary.records:
        if record.status != Status.OK and not record.status.needs_attention:
            print(f"  {record.label}: {record.status}: {record.reason}")
    if summary.attention:
        print(f"NEEDS ATTENTION ({len(summary.attention)}):")
        for record in summary.attention:
            print(f"  {record.label}: {record.status}: {record.reason}")
    print(summary.line())
    return 1 if summary.attention else 0
