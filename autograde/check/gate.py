"""Test the tests of every assignment before release (``course check [ASSIGNMENT...]``).

For each source notebook, in a scratch copy of the course, along ``course grade``'s own path (nbgrader
generate, prepare, :func:`autograde.grading.execute.execute_notebook` in the pool, nbgrader's scoring):

- metadata: points, unique grade_ids, solution and hidden-test markers where nbgrader needs them, a locked
  test cell after every answer, tests that assert something, the total stated in the first markdown cell
  (:mod:`autograde.check.metadata_lint`), experiments that train ``epochs(n)`` (:mod:`.epoch_lint`);
- the solution runs without an error and earns every autograded point;
- the student version (nbgrader's generate step) earns 0 points and its test cells fail only because
  of the ``NotImplementedError`` stubs;
- mutation testing: every mutant of every solution (:mod:`autograde.check.mutate`) loses points, or is
  documented as equivalent by a ``# equivalent-mutant: <id> <why>`` comment in its answer cell; the
  mutants run in the same kernel as the solution (:mod:`autograde.check.mutation_run`);
- the grading time of the solution notebook against ``--time-limit``.

This module is the procedure (lint, generate, prepare, run with mutants, judge) and the command line;
:mod:`autograde.check.scratch_grading` is every call into ``autograde.grading``, and
:mod:`autograde.check.verdicts` turns executed notebooks, scores and mutants into problems.

Prints a table, writes an HTML report, exits 1 if anything fails. Every problem is one line naming its cell
as Jupyter shows it (``In [3]``, ``markdown cell 4``: :mod:`autograde.check.explain`), a failing cell with
its line, message and the traceback's last frame in the notebook.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbformat import NotebookNode
from tqdm import tqdm

from autograde.cells import grade_id, is_test
from autograde.check.metadata_lint import metadata_problems, nbgrader_problems, tasks
from autograde.check.mutate import Mutant, equivalent_ids, mutants, select
from autograde.check.mutation_run import (
    KEY,
    MutantStatus,
    failed_restores,
    instrument,
    read_results,
    restore_problem,
    state_changer,
)
from autograde.check.scratch_grading import ScratchGrading
from autograde.check.student_time import time_warnings
from autograde.check.verdicts import (
    NotebookCheck,
    finished,
    judge_solution,
    judge_student,
    mutant_problems,
    solution_problems,
)
from autograde.config import (
    MAX_MUTANTS,
    MUTANT_TIMEOUT,
    SOLUTION_TIME_LIMIT,
    GradingSettings,
    add_setting_arguments,
    command_settings,
)
from autograde.course_dir import course_directory, in_course, load_config, source_assignments
from autograde.errors import CourseError
from autograde.generate import generate_one
from autograde.grading.execute import ExecutionResult
from autograde.grading.prepare import Job

if TYPE_CHECKING:
    from nbgrader.apps import NbGraderAPI

SOLUTION, STUDENT = "solution", "student-version"  # the two made-up students in the scratch course


@dataclass
class CheckSettings:
    """Knobs of one ``course check`` run (defaults fit CI: 2 cores, the whole course in minutes)."""

    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_mutants: int | None = MAX_MUTANTS  # per task; None: every mutant
    mutant_timeout: float = MUTANT_TIMEOUT
    time_limit: float = SOLUTION_TIME_LIMIT
    mutate: bool = True
    kernel_manager_class: str | None = None  # None: as `course grade` (config, else the sandbox: choose_kernel_manager)
    progress: bool = True
    grading: GradingSettings | None = None  # None: the course config's (GradingSettings.for_course)


# --- the procedure: lint, generate, prepare, run (with mutants), judge

@dataclass
class _Plan:
    """One notebook's check in progress: its source, mutation plan, prepared jobs and their results."""

    check: NotebookCheck
    source: NotebookNode
    solution_job: Job | None = None
    student_job: Job | None = None
    plan: dict = field(default_factory=dict)  # answer id -> (task, mutants)
    equivalent: dict = field(default_factory=dict)  # answer id -> {mutant id: why it is equivalent}
    solution_result: ExecutionResult | None = None
    student_result: ExecutionResult | None = None
    scored: bool = True  # False when nbgrader's scoring refused one of the runs
    mutant_timeout: float | None = None


def check_assignments(root: Path, assignments: list[str] | None = None, settings: CheckSettings | None = None,
                      workdir: Path | None = None) -> list[NotebookCheck]:
    """Check the source notebooks of ``assignments`` (default: all) in course ``root``; see the module doc."""
    settings = settings or CheckSettings()
    root = Path(root).resolve()
    wanted = _wanted_assignments(root, assignments)
    with tempfile.TemporaryDirectory(prefix="course-check-") as scratch:
        folder = Path(workdir).resolve() if workdir else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return _check_scratch_course(_scratch_course(root, wanted, folder), wanted, settings)


def _wanted_assignments(root: Path, assignments: list[str] | None) -> list[str]:
    """The assignments asked for (default: every one with source notebooks); exits naming any unknown."""
    coursedir = course_directory(root, config=load_config(root))
    available = source_assignments(coursedir)
    wanted = list(assignments or available)
    unknown = [a for a in wanted if a not in available]
    if not wanted or unknown:
        raise CourseError(f"course check: no source notebooks for {unknown or 'any assignment'} in "
                         f"{Path(coursedir.root) / coursedir.source_directory}; available: {available}")
    return wanted


def _scratch_course(root: Path, assignments: list[str], folder: Path) -> Path:
    """A copy of the course config and the chosen source folders, with its own gradebook in ``folder``."""
    config = load_config(root)
    source = course_directory(root, config=config).source_directory
    text = (root / "nbgrader_config.py").read_text()
    text += (f"\n# course check: a scratch copy of the course\nc.CourseDirectory.root = {str(folder)!r}\n"
             f"c.CourseDirectory.db_url = {'sqlite:///' + str(folder / 'gradebook.db')!r}\n")
    (folder / "nbgrader_config.py").write_text(text)
    for assignment in assignments:
        shutil.copytree(root / source / assignment, folder / source / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return folder


def _check_scratch_course(scratch: Path, wanted: list[str], settings: CheckSettings) -> list[NotebookCheck]:
    """Every step for every notebook of ``wanted`` in the scratch course; one NotebookCheck per notebook."""
    from nbgrader.apps import NbGraderAPI

    config = load_config(scratch)
    api = NbGraderAPI(coursedir=course_directory(scratch, config=config), config=config)
    grading = ScratchGrading.for_course(scratch, config, settings.grading, settings.kernel_manager_class,
                                       settings.workers)
    plans: dict[tuple[str, str], _Plan] = {}
    for assignment in wanted:
        plans.update(_prepare_assignment(api, grading, assignment, settings))
    _run_jobs(plans, grading, settings.progress)
    for item in plans.values():
        _judge(item, grading, settings.time_limit)
    return [p.check for p in plans.values()]


def _prepare_assignment(api: NbGraderAPI, grading: ScratchGrading, assignment: str,
                        settings: CheckSettings) -> dict[tuple[str, str], _Plan]:
    """Lint each notebook, generate the student version, and prepare both made-up students' jobs."""
    scratch, config = grading.scratch, grading.config
    source_dir = scratch / course_directory(scratch, config=config).source_directory / assignment
    notebooks = sorted(source_dir.glob("*.ipynb"))
    plans = {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        check = NotebookCheck(assignment, path.stem, metadata_problems(nb), time_warnings(nb))
        plans[(assignment, path.stem)] = _Plan(check, nb)
    reasons = _generate(api, scratch, assignment, source_dir)
    if reasons:
        explained = {key: bool(nbgrader_problems(item.source)) for key, item in plans.items()}
        for key, item in plans.items():  # the lint names the cells nbgrader refuses; else nbgrader's own reason
            if not explained[key]:
                why = "another notebook of the assignment has the problems listed" if any(explained.values()) \
                    else reasons[0]
                item.check.problems.append(f"nbgrader could not generate the student version: {why}")
        return plans
    _submit_made_up_students(grading, assignment, source_dir, [p.name for p in notebooks])
    with in_course(scratch):
        for student in (SOLUTION, STUDENT):
            submission = grading.prepare(assignment, student, [p.stem for p in notebooks])
            for failure in submission.failures:
                plans[(assignment, failure.notebook)].check.problems.append(f"{student}: {failure.reason}")
            for job in submission.jobs:
                _accept_job(plans[(assignment, job.notebook)], job, settings)
    return plans


def _generate(api: NbGraderAPI, scratch: Path, assignment: str, source_dir: Path) -> list[str]:
    """Run nbgrader's generate step for one assignment (as ``course generate``); [] or why it failed.

    One NbGraderAPI for every assignment: its first call sets up the gradebook (seconds), the rest reuse it.
    """
    with in_course(scratch):
        return generate_one(api, assignment, source_dir)


def _submit_made_up_students(grading: ScratchGrading, assignment: str, source_dir: Path, names: list[str]) -> None:
    """The solution and the generated student version, handed in as two students' submissions."""
    coursedir = course_directory(grading.scratch, assignment, grading.config)
    release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
    for student, folder in ((SOLUTION, source_dir), (STUDENT, release)):
        target = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(folder / name, target / name)


def _accept_job(item: _Plan, job: Job, settings: CheckSettings) -> None:
    """Keep a prepared job; the solution's gets the mutation cells of its plan."""
    if job.student == SOLUTION:
        item.plan, item.equivalent, item.solution_job = _plan_mutants(item.check, job, settings)
        item.mutant_timeout = settings.mutant_timeout
    else:
        item.student_job = job


def _plan_mutants(check: NotebookCheck, job: Job, settings: CheckSettings) -> tuple[dict, dict, Job]:
    """The tasks and mutants of a prepared solution notebook, and the instrumented job that runs them."""
    nb = nbformat.reads(job.notebook_json, as_version=4)
    plan, equivalent = {}, {}
    for task in tasks(nb):
        source = nb.cells[task.answer_index].source
        found = mutants(source) if settings.mutate else []
        plan[task.answer_id] = (task, select(found, settings.max_mutants))
        notes = equivalent[task.answer_id] = equivalent_ids(source)
        known = {m.id for m in found}
        for stale in sorted(set(notes) - known):
            check.warnings.append(f"{task.answer_id}: equivalent-mutant note {stale!r} matches no mutant (code changed?)")
    check.task_ids = list(plan)
    instrumented = instrument(nb, plan, settings.mutant_timeout)
    return plan, equivalent, replace(job, notebook_json=nbformat.writes(instrumented))


def _run_jobs(plans: dict[tuple[str, str], _Plan], grading: ScratchGrading, progress: bool) -> None:
    """Execute every prepared job (solutions first) and score each as it finishes."""
    jobs = [p.solution_job for p in plans.values() if p.solution_job] + \
           [p.student_job for p in plans.values() if p.student_job]
    with in_course(grading.scratch), tqdm(total=len(jobs), desc="check", unit="nb", disable=not progress) as bar:
        for job, result in grading.run(jobs):
            item = plans[(job.assignment, job.notebook)]
            if job.student == SOLUTION:
                result = item.solution_result = _read_solution_run(item, result, grading)
            else:
                item.student_result = result
            try:
                grading.score(job, result)
            except ValueError as error:  # nbgrader's determine_grade: a number a test cell shows is partial credit
                item.scored = False
                item.check.problems.append(f"nbgrader could not score the {job.student}: {error} (a test cell "
                                           "whose last line shows a number gets that number as its points)")
            bar.update()


def _read_solution_run(item: _Plan, result: ExecutionResult, grading: ScratchGrading) -> ExecutionResult:
    """Take the mutants' verdicts out of the solution's run; the solution's own result is what remains."""
    clean, item.check.mutants, problems, injected = read_results(result.notebook_json, item.plan, item.equivalent)
    for answer_id, error in failed_restores(result.notebook_json, item.plan).items():
        found = item.plan[answer_id][1]
        problems.append(restore_problem(answer_id, error, found, _state_changer(item, grading, answer_id)))
    item.check.problems.extend(problems)
    item.check.seconds = result.duration - injected
    result = replace(result, notebook_json=clean)
    ran = [m for m in item.check.mutants if m.status != MutantStatus.NOT_TESTED]
    if ran and (not finished(result) or solution_problems(nbformat.reads(clean, as_version=4))):
        # A mutant may have disturbed the kernel: confirm with a plain run of the solution.
        plain = grading.run_one(_plain_job(item))
        if finished(plain) and not solution_problems(nbformat.reads(plain.notebook_json, as_version=4)):
            item.check.warnings.append(f"the solution failed in the run with its mutants but passes alone; scored "
                                       f"the plain run. Mutants that ran: {', '.join(m.mutant.id for m in ran)}")
        item.check.seconds, result = plain.duration, plain
    return result


def _state_changer(item: _Plan, grading: ScratchGrading, answer_id: str) -> Mutant | None:
    """Run the task's mutants again, each followed by the original answer and tests: the first after which
    they fail is the mutant that changed state (one more run of the notebook, only when this happened)."""
    nb = nbformat.reads(_plain_job(item).notebook_json, as_version=4)
    diagnosis = instrument(nb, {answer_id: item.plan[answer_id]}, item.mutant_timeout, restore_each=True)
    result = grading.run_one(replace(item.solution_job, notebook_json=nbformat.writes(diagnosis)))
    return state_changer(result.notebook_json, answer_id, item.plan[answer_id][1])


def _plain_job(item: _Plan) -> Job:
    """The prepared solution job without the mutation cells (rebuilt from the instrumented one)."""
    nb = nbformat.reads(item.solution_job.notebook_json, as_version=4)
    nb.cells = [c for c in nb.cells if KEY not in c.get("metadata", {})]
    return replace(item.solution_job, notebook_json=nbformat.writes(nb))


# --- judging: scores and executed notebooks turned into problems (autograde.check.verdicts)

def _judge(item: _Plan, grading: ScratchGrading, time_limit: float) -> None:
    """Turn the scores and executed notebooks of one notebook into problems."""
    check = item.check
    if item.solution_job is None or not item.scored:
        return
    solution = grading.scores(check.assignment, SOLUTION, check.notebook)
    test_ids = {grade_id(c) for c in item.source.cells if is_test(c)}
    tests = {cell: most for cell, (_, most) in solution.items() if cell in test_ids}
    judge_solution(check, item.solution_result, solution, tests, time_limit)
    if item.student_result is not None:
        student = grading.scores(check.assignment, STUDENT, check.notebook)
        judge_student(check, item.student_result, student, tests, item.source)
    check.problems.extend(mutant_problems(check))


# --- the command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``course check``."""
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in the source folder")
    parser.add_argument("--workers", type=int, default=None, help="notebooks executed at once (default: CPU count)")
    parser.add_argument("--max-mutants", type=int, default=MAX_MUTANTS, metavar="N",
                        help=f"mutants per task (0: no mutation testing; default {MAX_MUTANTS})")
    parser.add_argument("--mutant-timeout", type=float, default=MUTANT_TIMEOUT, metavar="S",
                        help=f"seconds per mutant cell (default {MUTANT_TIMEOUT:g})")
    parser.add_argument("--time-limit", type=float, default=SOLUTION_TIME_LIMIT, metavar="S",
                        help=f"seconds the solution notebook may take under grading (default {SOLUTION_TIME_LIMIT:g})")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (default: as course grade)")
    parser.add_argument("--html", metavar="FILE", help="HTML report (default: reports/check.html in the course)")
    parser.add_argument("--workdir", metavar="DIR", help="keep the scratch course (generated and graded notebooks) here")
    add_setting_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """``course check``: check, print the tables, write the HTML report; 1 when a notebook failed."""
    from autograde.check.report import print_report, write_html
    from autograde.cli import course_root

    root = course_root(args.course)
    if args.workers is not None and args.workers < 1:
        raise CourseError(f"course check: --workers must be at least 1, got {args.workers}")
    if args.max_mutants < 0:
        raise CourseError(f"course check: --max-mutants must be 0 or more, got {args.max_mutants}")
    settings = CheckSettings(max_mutants=args.max_mutants or None, mutate=args.max_mutants > 0,
                             mutant_timeout=args.mutant_timeout, time_limit=args.time_limit,
                             kernel_manager_class=args.kernel_manager,
                             grading=command_settings(load_config(root), args, "check"))
    if args.workers is not None:
        settings.workers = args.workers
    start = time.monotonic()
    checks = check_assignments(root, args.assignments, settings, Path(args.workdir) if args.workdir else None)
    html = Path(args.html) if args.html else root / "reports" / "check.html"
    write_html(checks, html, settings)
    failed = print_report(checks, time.monotonic() - start, html)
    return 1 if failed else 0
