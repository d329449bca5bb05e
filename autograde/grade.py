"""Autograde every submission of an assignment in parallel (``course grade ASSIGNMENT``).

prepare (nbgrader's sanitising, here) -> execute (worker processes or a dask cluster) -> score (nbgrader's
scoring, here). Only this process writes the gradebook. Each notebook's status, reason and time go to
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

from nbgrader.api import Gradebook, MissingEntry
from tqdm import tqdm

from .course_dir import course_directory, in_course, load_config, report_dir, submitted_students
from . import sandbox, tamper
from .execute import Limits, _first_error, _has_error
from .pool import ExecuteSettings, run_dask, run_local
from .prepare import make_autograder, prepare_submission
from .score import cell_scores, record_zero, score_notebook


@dataclass
class NotebookRecord:
    """How one student's notebook was graded."""

    student: str
    notebook: str
    status: str  # ok, raised, timeout, crashed, error, failed
    reason: str
    duration: float
    attempts: int = 1
    host: str = ""
    score: float = 0.0
    max_score: float = 0.0


@dataclass
class GradeSummary:
    """What one ``course grade`` run did."""

    assignment: str
    records: list[NotebookRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # students already graded (re-run without --force)
    seconds: float = 0.0
    workers: str = ""

    def line(self) -> str:
        counts = Counter(r.status for r in self.records)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to grade"
        students = len({r.student for r in self.records})
        score = (sum(r.score for r in self.records) / students) if students else 0.0
        best = max((sum(r.max_score for r in self.records if r.student == s) for s in {r.student for r in self.records}),
                   default=0.0)
        skipped = f", {len(self.skipped)} already graded (use --force to regrade)" if self.skipped else ""
        return (f"graded {students} submission(s) of {self.assignment} ({len(self.records)} notebooks) in "
                f"{self.seconds:.1f} s on {self.workers}: {statuses}; mean score {score:.2f}/{best:g}{skipped}")

    def __repr__(self) -> str:
        return f"GradeSummary({self.line()!r})"


def _status(result_status: str, cells_failed: int) -> str:
    return "raised" if result_status == "ok" and cells_failed else result_status


def _save(root: Path, assignment: str, records: list[NotebookRecord]) -> Path:
    """Merge this run's records into results.json (a re-run that skips students keeps theirs)."""
    path = report_dir(root, assignment) / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    fresh = {(r.student, r.notebook) for r in records}
    kept = [r for r in old if (r["student"], r["notebook"]) not in fresh]
    merged = sorted(kept + [asdict(r) for r in records], key=lambda r: (r["student"], r["notebook"]))
    path.write_text(json.dumps(merged, indent=1))
    return path


def grade(root: Path, assignment: str, *, workers: int | None = None, scheduler: str | None = None,
          limits: Limits | None = None, force: bool = False, kernel_manager_class: str | None = None,
          progress: bool = True, require_sandbox: bool = False) -> GradeSummary:
    """Autograde every submission of ``assignment`` in course ``root``; see the module docstring."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    students = submitted_students(coursedir, assignment)
    if not students:
        raise SystemExit(f"course grade: no submissions in {Path(coursedir.root) / coursedir.submitted_directory}"
                         f"/<student>/{assignment}/; collect them first (nbgrader's layout)")
    # A sandbox named in the config (c.Execute.kernel_manager_class) applies here as in `nbgrader autograde`.
    settings = ExecuteSettings.for_course(config, limits, kernel_manager_class)
    settings.kernel_manager_class = settings.kernel_manager_class or _sandbox_manager(require_sandbox)
    settings.env["COURSE_GRADE_RUN"] = f"{assignment}-{os.getpid()}"  # names the sandboxes' cgroups
    workers = workers or os.cpu_count() or 1
    if not scheduler and "OMP_NUM_THREADS" not in os.environ:
        # Kernels running side by side share the cores: torch's default of one thread per core in
        # every kernel oversubscribes them and makes small matrix work many times slower.
        settings.env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    summary = GradeSummary(assignment, workers=scheduler or f"{workers} local worker(s)")
    start = time.monotonic()
    with in_course(root):
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            try:
                gb.find_assignment(assignment)
            except MissingEntry:
                raise SystemExit(f"course grade: assignment {assignment!r} is not in the gradebook; "
                                 f"run `course generate {assignment}` first") from None
        converter = make_autograder(coursedir, config, force=force)
        graded_students: list[str] = []
        seals: dict[tuple[str, str], tamper.Seal] = {}
        total = sum(len(list((Path(coursedir.format_path(coursedir.submitted_directory, s, assignment))).glob("*.ipynb")))
                    for s in students)
        bar = tqdm(total=total, desc=f"grade {assignment}", unit="nb", disable=not progress)

        def jobs():
            """Prepared jobs, one student at a time (failures to prepare are recorded on the way)."""
            for student in students:
                prepared = prepare_submission(converter, assignment, student)
                if prepared is None:
                    summary.skipped.append(student)
                    bar.total -= len(list(Path(converter._format_source(assignment, student)).glob("*.ipynb")))
                    bar.refresh()
                    continue
                graded_students.append(student)
                student_jobs, failures = prepared
                for failure in failures:
                    record_zero(coursedir.db_url, coursedir.course_id, assignment, student, failure.notebook)
                    summary.records.append(NotebookRecord(student, failure.notebook, "failed", failure.reason, 0.0, 0))
                    bar.update()
                for job in student_jobs:
                    seals[job.key] = _seal(job)  # checkpoint cells whose answers only this process knows
                    yield job

        results = run_dask(jobs(), settings, scheduler) if scheduler else run_local(jobs(), settings, workers)
        with bar:
            for job, result, attempts in results:
                _unseal(result, seals.pop(job.key, None))
                score_notebook(converter, assignment, job.student, job.notebook, result)
                reason = "; ".join(filter(None, [result.reason, *job.notes]))
                summary.records.append(NotebookRecord(job.student, job.notebook, _status(result.status, result.cells_failed),
                                                      reason, round(result.duration, 3), attempts, result.host))
                bar.update()
        for student in graded_students:
            converter.set_permissions(assignment, student)
        totals = {}
        for row in cell_scores(coursedir.db_url, coursedir.course_id, assignment):
            key = (row["student"], row["notebook"])
            score, best = totals.get(key, (0.0, 0.0))
            totals[key] = (score + (row["score"] or 0.0), best + row["max_score"])
        for record in summary.records:
            record.score, record.max_score = totals.get((record.student, record.notebook), (0.0, 0.0))
    summary.records.sort(key=lambda r: (r.student, r.notebook))
    summary.seconds = time.monotonic() - start
    _save(root, assignment, summary.records)
    return summary


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
    import nbformat

    nb = nbformat.reads(job.notebook_json, as_version=4)
    seal = tamper.seal(nb)
    job.notebook_json = nbformat.writes(nb)
    return seal


def _unseal(result, seal: tamper.Seal | None) -> None:
    """Verify and remove the checkpoints; tampering zeroes the tests and becomes the status and reason."""
    if seal is None:
        return
    import nbformat

    result.notebook, reasons = tamper.check(result.notebook, seal)
    cells = nbformat.reads(result.notebook, as_version=4).cells
    result.cells_failed = sum(_has_error(c) for c in cells)
    if reasons:
        result.status, result.reason = "tampered", "tampering detected: " + "; ".join(reasons)
    elif result.status == "ok":  # our checkpoints fail on purpose; report the student's cells only
        result.reason = f"{result.cells_failed} cell(s) raised; first: {_first_error(cells)}" if result.cells_failed else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds per cell (default: c.Execute.timeout in nbgrader_config.py)")
    parser.add_argument("--notebook-timeout", type=float, default=900, metavar="S", help="seconds per notebook")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (e.g. a sandbox)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that were graded before")
    parser.add_argument("--memory-mb", type=int, default=None, metavar="MB",
                        help="memory per kernel (default: the sandbox's 3 GiB)")
    parser.add_argument("--max-processes", type=int, default=None, metavar="N",
                        help="processes+threads per kernel (default: the sandbox's 256)")
    parser.add_argument("--output-mb", type=float, default=None, metavar="MB",
                        help="output per notebook before its kernel is stopped (default: the sandbox's 8 MiB)")
    parser.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade when bubblewrap is missing (default: warn, limits only)")
    parser.add_argument("--cold-start", action="store_true",
                        help="start every kernel from scratch instead of forking it from a warm zygote")


def run(args: argparse.Namespace) -> int:
    from .cli import course_root

    root = course_root(args.course)
    config = load_config(root)
    cell_timeout = args.timeout if args.timeout is not None else config.Execute.get("timeout", 120)
    if args.workers is not None and args.workers < 1:
        raise SystemExit(f"course grade: --workers must be at least 1, got {args.workers}")
    if args.cold_start:
        os.environ["COURSE_COLD_START"] = "1"  # read where kernels start, in the workers too
    summary = grade(root, args.assignment, workers=args.workers, scheduler=args.scheduler,
                    limits=Limits(cell_timeout=cell_timeout, notebook_timeout=args.notebook_timeout,
                                  memory_bytes=args.memory_mb << 20 if args.memory_mb else None,
                                  max_processes=args.max_processes,
                                  output_bytes=int(args.output_mb * (1 << 20)) if args.output_mb else None),
                    force=args.force, kernel_manager_class=args.kernel_manager,
                    require_sandbox=args.require_sandbox)
    for record in summary.records:
        if record.status != "ok":
            print(f"  {record.student}/{record.notebook}: {record.status}: {record.reason}")
    print(summary.line())
    return 0
