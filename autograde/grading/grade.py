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
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Assignment, Gradebook, MissingEntry
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from autograde.grading import bindings, tamper
from autograde import sandbox
from autograde.sandbox import zygote
from autograde.course_dir import course_directory, in_course, load_config, report_dir, submitted_students
from autograde.config import Limits
from autograde.cells import errors_summary, has_error
from autograde.grading.pool import ExecuteSettings, run_dask, run_local
from autograde.grading.prepare import Submission, Unusable, make_autograder, notebook_owners, prepare_submission
from autograde.grading.score import record_zero, score_notebook, student_totals
from autograde.grading.transaction import StudentTransaction, is_pending


# Statuses of a notebook that was graded (it has its grade) and of things that need the instructor.
GRADED = ("ok", "raised", "timeout", "crashed", "error", "failed", "tampered", "missing")
# What the instructor must act on: the summary lists them and the exit code is 1. "failed": the notebook
# could not run at all (0-byte, foreign, a worker that died twice); it scores 0 meanwhile and the student
# stays pending, so the next run grades them again once it is fixed. "empty" and "pending" have no new grade.
ATTENTION = ("failed", "ignored", "empty", "pending")
UNGRADED = ("empty", "pending")


@dataclass
class NotebookRecord:
    """How one student's notebook was graded (``status`` in GRADED), or why it was not (in ATTENTION)."""

    student: str
    notebook: str
    status: str
    reason: str
    duration: float
    attempts: int = 1
    host: str = ""
    score: float = 0.0
    max_score: float = 0.0
    graded_at: float = 0.0  # when this run recorded it (seconds since the epoch); course report spots later regrades

    @property
    def label(self) -> str:
        return f"{self.student}/{self.notebook}" if self.notebook else self.student


@dataclass
class GradeSummary:
    """What one ``course grade`` run did."""

    assignment: str
    records: list[NotebookRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # students already graded (re-run without --force)
    seconds: float = 0.0
    workers: str = ""

    @property
    def attention(self) -> list[NotebookRecord]:
        """Records the instructor must act on: extra notebooks, empty folders, grades not recorded."""
        return [r for r in self.records if r.status in ATTENTION]

    def line(self) -> str:
        graded = [r for r in self.records if r.status in GRADED]
        counts = Counter(r.status for r in graded)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing graded"
        students = {r.student for r in graded}
        score = (sum(r.score for r in graded) / len(students)) if students else 0.0
        best = max((sum(r.max_score for r in graded if r.student == s) for s in students), default=0.0)
        skipped = f", {len(self.skipped)} already graded (use --force to regrade)" if self.skipped else ""
        attention = f"; {len(self.attention)} need(s) attention (listed above)" if self.attention else ""
        mean = f"; mean score {score:.2f}/{best:g}" if students else ""
        return (f"graded {len(students)} submission(s) of {self.assignment} ({len(graded)} notebooks) in "
                f"{self.seconds:.1f} s on {self.workers}: {statuses}{mean}{skipped}{attention}")

    def __repr__(self) -> str:
        return f"GradeSummary({self.line()!r})"


def _status(result_status: str, cells_failed: int) -> str:
    return "raised" if result_status == "ok" and cells_failed else result_status


def _save(root: Path, assignment: str, student: str, records: list[NotebookRecord]) -> Path:
    """Replace ``student``'s records in results.json (written to a temporary name, then renamed)."""
    path = report_dir(root, assignment) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    kept = [r for r in old if r["student"] != student]
    merged = sorted(kept + [asdict(r) for r in records], key=lambda r: (r["student"], r["notebook"]))
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(merged, indent=1))
    os.replace(temporary, path)
    return path


def _previous_records(root: Path, assignment: str, student: str) -> list[NotebookRecord]:
    path = report_dir(root, assignment) / "results.json"
    old = json.loads(path.read_text()) if path.exists() else []
    return [NotebookRecord(**r) for r in old if r["student"] == student and r["status"] not in UNGRADED]


@dataclass
class _Open:
    """A student whose notebooks are executing: their transaction, submission and results so far."""

    transaction: StudentTransaction
    submission: Submission
    results: list = field(default_factory=list)


def grade(root: Path, assignment: str, *, workers: int | None = None, scheduler: str | None = None,
          limits: Limits | None = None, force: bool = False, kernel_manager_class: str | None = None,
          progress: bool = True, require_sandbox: bool = False, cold_start: bool | None = None,
          only: list[str] | None = None) -> GradeSummary:
    """Autograde every submission of ``assignment`` in course ``root``; see the module docstring.

    ``cold_start``: True starts every kernel from scratch, False forks them from the warm zygote where
    the sandbox allows it, None (default) forks them only when the notebooks import what it preloads.
    ``only``: these students and no others (``--student``)."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    students = submitted_students(coursedir, assignment)
    if only:
        unknown = sorted(set(only) - set(students))
        if unknown:
            raise SystemExit(f"course grade: no submission of {assignment} from {', '.join(unknown)} in "
                             f"{Path(coursedir.root) / coursedir.submitted_directory}")
        students = [s for s in students if s in only]
    if not students:
        raise SystemExit(f"course grade: no submissions in {Path(coursedir.root) / coursedir.submitted_directory}"
                         f"/<student>/{assignment}/; collect them first (nbgrader's layout)")
    summary = GradeSummary(assignment, workers=scheduler or f"{workers or os.cpu_count() or 1} local worker(s)")
    start = time.monotonic()
    with in_course(root):
        expected = _check_gradebook(coursedir, assignment)
        converter = make_autograder(coursedir, config)
        pending = [s for s in students if force or _needs_grading(converter, assignment, s)]
        summary.skipped = [s for s in students if s not in pending]
        if pending:
            settings = _execute_settings(config, limits, kernel_manager_class, require_sandbox, assignment, scheduler,
                                         workers or os.cpu_count() or 1)
            settings.warm = not cold_start if cold_start is not None else _warm_start_pays(coursedir, assignment)
            _grade_students(root, converter, assignment, pending, expected, settings, summary,
                            workers or os.cpu_count() or 1, scheduler, progress)
    summary.records.sort(key=lambda r: (r.student, r.notebook))
    summary.seconds = time.monotonic() - start
    return summary


def _execute_settings(config, limits, kernel_manager_class, require_sandbox, assignment, scheduler, workers):
    """How kernels run: the config's Execute options, the limits, a sandbox, one torch thread per core share."""
    # A sandbox named in the config (c.Execute.kernel_manager_class) applies here as in `nbgrader autograde`.
    settings = ExecuteSettings.for_course(config, limits, kernel_manager_class)
    settings.kernel_manager_class = settings.kernel_manager_class or _sandbox_manager(require_sandbox)
    settings.env["COURSE_GRADE_RUN"] = f"{assignment}-{os.getpid()}"  # names the sandboxes' cgroups
    if not scheduler and "OMP_NUM_THREADS" not in os.environ:
        # Kernels running side by side share the cores: torch's default of one thread per core in
        # every kernel oversubscribes them and makes small matrix work many times slower.
        settings.env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    return settings


def _warm_start_pays(coursedir, assignment: str) -> bool:
    """Whether the assignment's notebooks import what the zygote preloads (torch, pandas, course...).

    Forking from the zygote saves seconds per kernel when a notebook imports torch, but the zygote
    itself takes seconds to import it: for plain Python notebooks a cold kernel is quicker."""
    heavy = {name.split(".")[0] for name in zygote.PRELOAD} - {"IPython", "ipykernel"}
    folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    for path in folder.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                found, stars = bindings.imports(cell.source)
                modules = [spec[1] for spec in found.values()] + stars
                if any(module.split(".")[0] in heavy for module in modules):
                    return True
    return False


def _check_gradebook(coursedir, assignment: str) -> list[str]:
    """The assignment's notebook names, after proving the gradebook can be written (else a clear exit)."""
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                raise SystemExit(f"course grade: assignment {assignment!r} is not in the gradebook; "
                                 f"run `course generate {assignment}` first") from None
            names = sorted(nb.name for nb in found.notebooks)
            # Write the assignment's row with its own value: fails now, before any work, if writes will.
            gb.db.execute(update(Assignment).where(Assignment.id == found.id).values(name=found.name))
            gb.db.commit()
    except SQLAlchemyError as error:
        raise SystemExit(f"course grade: the gradebook {coursedir.db_url} cannot be written "
                         f"({getattr(error, 'orig', error)}); nothing was graded. Close any program holding it "
                         f"(an open sqlite3 shell, a formgrader that is saving), check that the file and its folder "
                         f"are writable, then run the command again.") from None
    return names


def _needs_grading(converter, assignment: str, student: str) -> bool:
    """Never graded, left half-done by an interrupted run, or handed in again since (nbgrader's timestamp rule)."""
    dest = converter.graded_folder(assignment, student)
    if is_pending(dest):
        return True
    try:
        new = converter.coursedir.get_existing_timestamp(converter._format_source(assignment, student))
        old = converter.coursedir.get_existing_timestamp(str(dest))
    except Exception:  # noqa: BLE001 - an unreadable timestamp.txt: prepare says what is wrong with it
        return True
    return new is not None and old is not None and new > old


def _grade_students(root, converter, assignment, students, expected, settings, summary, workers, scheduler, progress):
    """Prepare, execute and record ``students``; each student's grade is committed as soon as it is complete."""
    coursedir = converter.coursedir
    owners = notebook_owners(coursedir)
    opened: dict[str, _Open] = {}
    seals: dict[tuple[str, str], tamper.Seal] = {}
    total = sum(len(list(Path(converter._format_source(assignment, s)).glob("*.ipynb"))) for s in students)
    bar = tqdm(total=total, desc=f"grade {assignment}", unit="nb", disable=not progress)

    def finish(student: str, records: list[NotebookRecord]) -> None:
        summary.records.extend(records)
        _save(root, assignment, student, records)
        bar.update(len(records))

    def jobs():
        """Prepared jobs, one student at a time (what cannot be prepared is recorded on the way)."""
        for student in students:
            transaction = StudentTransaction(coursedir.db_url, coursedir.course_id, assignment, student,
                                             converter.graded_folder(assignment, student))
            try:
                transaction.begin()
                converter.staged[(assignment, student)] = str(transaction.staging)
                submission = prepare_submission(converter, assignment, student, expected, owners)
            except Unusable as why:  # raised before anything is written
                transaction.discard()
                finish(student, _previous_records(root, assignment, student)
                       + [NotebookRecord(student, "", "empty", str(why), 0.0, 0)])
                continue
            except Exception as error:  # noqa: BLE001 - a gradebook locked mid-run, a full disk...
                finish(student, _abandon(root, assignment, student, transaction, error))
                continue
            opened[student] = _Open(transaction, submission)
            if not submission.jobs:
                _commit(root, converter, assignment, student, opened.pop(student), finish)
            for job in submission.jobs:
                seals[job.key] = _seal(job)  # checkpoint cells whose answers only this process knows
                yield job

    results = run_dask(jobs(), settings, scheduler) if scheduler else run_local(jobs(), settings, workers)
    with bar:
        for job, result, attempts in results:
            _unseal(result, seals.pop(job.key, None))
            entry = opened[job.student]
            entry.results.append((job, result, attempts))
            if len(entry.results) == len(entry.submission.jobs):
                _commit(root, converter, assignment, job.student, opened.pop(job.student), finish)


def _commit(root, converter, assignment: str, student: str, entry: _Open, finish) -> None:
    """Score the student's notebooks into the staging folder and the gradebook, then put the grade in place."""
    coursedir = converter.coursedir
    submission, records = entry.submission, []
    try:
        for failure in submission.failures:
            record_zero(coursedir.db_url, coursedir.course_id, assignment, student, failure.notebook)
            _write_placeholder(converter, assignment, student, failure.notebook, failure.reason)
            records.append(NotebookRecord(student, failure.notebook, "failed", failure.reason, 0.0, 0))
        for job, result, attempts in entry.results:
            score_notebook(converter, assignment, student, job.notebook, result)
            reason = "; ".join(filter(None, [result.reason, *job.notes]))
            records.append(NotebookRecord(student, job.notebook, _status(result.status, result.cells_failed),
                                          reason, round(result.duration, 3), attempts, result.host))
        for notebook in submission.missing:
            reason = f"{notebook}.ipynb was not handed in: 0 points for it"
            _write_placeholder(converter, assignment, student, notebook, reason)
            records.append(NotebookRecord(student, notebook, "missing", reason, 0.0, 0))
        totals = student_totals(coursedir.db_url, coursedir.course_id, assignment, student)
        for record in records:
            record.score, record.max_score = totals.get(record.notebook, (0.0, 0.0))
        records += [NotebookRecord(student, f.notebook, "ignored", f.reason, 0.0, 0) for f in submission.ignored]
        now = time.time()
        for record in records:
            record.graded_at = now
        _save(root, assignment, student, records)  # before the rename: a kill in between regrades the student
        entry.transaction.commit(still_pending=any(r.status == "failed" for r in records))
    except Exception as error:  # noqa: BLE001 - whatever failed, the old grade stays and the student stays pending
        finish(student, _abandon(root, assignment, student, entry.transaction, error))
        return
    finally:
        converter.staged.pop((assignment, student), None)
    converter.set_permissions(assignment, student)
    finish(student, records)


def _write_placeholder(converter, assignment: str, student: str, notebook: str, reason: str) -> None:
    """The released notebook with the reason on top, where a graded notebook could not be made: the
    formgrader and the feedback page then show why the notebook scored 0 (nbgrader's own page for a
    notebook without a graded file fails)."""
    release = Path(converter.coursedir.format_path(converter.coursedir.release_directory, ".", assignment))
    if not (release / f"{notebook}.ipynb").exists():
        return
    nb = nbformat.read(release / f"{notebook}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Not graded: {reason}.** Every test in this notebook scores 0. "
                                                     f"Below is the notebook as it was handed out."))
    destination = Path(converter._format_dest(assignment, student))
    destination.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination / f"{notebook}.ipynb")


def _abandon(root, assignment: str, student: str, transaction: StudentTransaction, error: BaseException) -> list:
    """Undo a student's unfinished grading; their records: the previous ones plus why this one is pending."""
    kept = transaction.abort()
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()
    reason = (f"grading could not be recorded ({type(error).__name__}: {cause[0] if cause else ''}); {kept}, and "
              f"the next `course grade {assignment}` grades this student again")
    return _previous_records(root, assignment, student) + [NotebookRecord(student, "", "pending", reason, 0.0, 0)]


def _sandbox_manager(required: bool) -> str:
    """The sandboxed kernel manager; refuses (required) or warns loudly when bubblewrap is unusable."""
    path, why = sandbox.bwrap_status()
    if path is None and required:
        raise SystemExit(f"course grade: --require-sandbox, but {why}")
    if path is None:
        print(f"course grade: WARNING: SANDBOX OFF: {why}. Submissions run with your rights, under limits only.")
    return "autograde.sandbox.StrictSandboxKernelManager" if required else "autograde.sandbox.SandboxKernelManager"


def _seal(job) -> tamper.Seal:
    """Add tamper checkpoints to ``job``'s notebook (in place) and return what they must show."""
    nb = nbformat.reads(job.notebook_json, as_version=4)
    seal = tamper.seal(nb, job.answer_names)
    job.notebook_json = nbformat.writes(nb)
    return seal


def _unseal(result, seal: tamper.Seal | None) -> None:
    """Verify and remove the checkpoints; tampering zeroes the tests and becomes the status and reason."""
    if seal is None:
        return
    result.notebook, reasons = tamper.check(result.notebook, seal)
    cells = nbformat.reads(result.notebook, as_version=4).cells
    result.cells_failed = sum(has_error(c) for c in cells)
    if reasons:
        result.status, result.reason = "tampered", "tampering detected: " + "; ".join(reasons)
    elif result.status == "ok":  # our checkpoints fail on purpose; report the student's cells only
        result.reason = errors_summary(cells)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds per cell (default: c.Execute.timeout in nbgrader_config.py)")
    parser.add_argument("--notebook-timeout", type=float, default=900, metavar="S", help="seconds per notebook")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (e.g. a sandbox)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that were graded before")
    parser.add_argument("--student", action="append", metavar="NAME",
                        help="grade only this student (repeat for more); with --force, regrade just them")
    parser.add_argument("--memory-mb", type=int, default=None, metavar="MB",
                        help="memory per kernel (default: the sandbox's 3 GiB)")
    parser.add_argument("--max-processes", type=int, default=None, metavar="N",
                        help="processes+threads per kernel (default: the sandbox's 256)")
    parser.add_argument("--output-mb", type=float, default=None, metavar="MB",
                        help="output per notebook before its kernel is stopped (default: the sandbox's 8 MiB)")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade when bubblewrap is missing (default: warn, limits only)")
    parser.add_argument("--cold-start", action="store_true",
                        help="start every kernel from scratch (default: fork kernels from a warm zygote with torch "
                             "imported when the notebooks import torch, pandas, matplotlib or course)")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    config = load_config(root)
    cell_timeout = args.timeout if args.timeout is not None else config.Execute.get("timeout", 120)
    if args.workers is not None and args.workers < 1:
        raise SystemExit(f"course grade: --workers must be at least 1, got {args.workers}")
    summary = grade(root, args.assignment, workers=args.workers, scheduler=args.scheduler,
                    limits=Limits(cell_timeout=cell_timeout, notebook_timeout=args.notebook_timeout,
                                  memory_bytes=args.memory_mb << 20 if args.memory_mb else None,
                                  max_processes=args.max_processes,
                                  output_bytes=int(args.output_mb * (1 << 20)) if args.output_mb else None),
                    force=args.force, kernel_manager_class=args.kernel_manager,
                    require_sandbox=args.require_sandbox, cold_start=True if args.cold_start else None,
                    only=args.student)
    for record in summary.records:
        if record.status not in ("ok", *ATTENTION):
            print(f"  {record.label}: {record.status}: {record.reason}")
    if summary.attention:
        print(f"NEEDS ATTENTION ({len(summary.attention)}):")
        for record in summary.attention:
            print(f"  {record.label}: {record.status}: {record.reason}")
    print(summary.line())
    return 1 if summary.attention else 0
