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
from .execute import Limits
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
          progress: bool = True) -> GradeSummary:
    """Autograde every submission of ``assignment`` in course ``root``; see the module docstring."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    students = submitted_students(coursedir, assignment)
    if not students:
        raise SystemExit(f"course grade: no submissions in {Path(coursedir.root) / coursedir.submitted_directory}"
                         f"/<student>/{assignment}/; collect them first (nbgrader's layout)")
    cell_timeout = config.Execute.get("timeout", 120) if "Execute" in config else 120
    limits = limits or Limits(cell_timeout=cell_timeout)
    execute_options = {k: v for k, v in dict(config.get("Execute", {})).items() if k != "timeout"}
    # A sandbox named in the config (c.Execute.kernel_manager_class) applies here as in `nbgrader autograde`.
    configured_manager = execute_options.pop("kernel_manager_class", None)
    settings = ExecuteSettings(limits=limits, execute_options=execute_options,
                               kernel_manager_class=kernel_manager_class or configured_manager,
                               env={k: v for k, v in os.environ.items() if k.startswith("COURSE_")})
    workers = workers or os.cpu_count() or 1
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
                yield from student_jobs

        results = run_dask(jobs(), settings, scheduler) if scheduler else run_local(jobs(), settings, workers)
        with bar:
            for job, result, attempts in results:
                score_notebook(converter, assignment, job.student, job.notebook, result)
                summary.records.append(NotebookRecord(job.student, job.notebook, _status(result.status, result.cells_failed),
                                                      result.reason, round(result.duration, 3), attempts, result.host))
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="dask.distributed scheduler, e.g. tcp://host:8786")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds per cell (default: c.Execute.timeout in nbgrader_config.py)")
    parser.add_argument("--notebook-timeout", type=float, default=900, metavar="S", help="seconds per notebook")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (e.g. a sandbox)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that were graded before")


def run(args: argparse.Namespace) -> int:
    from .cli import course_root

    root = course_root(args.course)
    config = load_config(root)
    cell_timeout = args.timeout if args.timeout is not None else config.Execute.get("timeout", 120)
    if args.workers is not None and args.workers < 1:
        raise SystemExit(f"course grade: --workers must be at least 1, got {args.workers}")
    summary = grade(root, args.assignment, workers=args.workers, scheduler=args.scheduler,
                    limits=Limits(cell_timeout=cell_timeout, notebook_timeout=args.notebook_timeout),
                    force=args.force, kernel_manager_class=args.kernel_manager)
    for record in summary.records:
        if record.status != "ok":
            print(f"  {record.student}/{record.notebook}: {record.status}: {record.reason}")
    print(summary.line())
    return 0
