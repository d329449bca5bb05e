"""Test the tests of every assignment before release (``course check [ASSIGNMENT...]``).

For each source notebook, in a scratch copy of the course, along ``course grade``'s own path (nbgrader
generate, prepare, :func:`autograde.grading.execute.execute_notebook` in the pool, nbgrader's scoring):

- metadata: points, unique grade_ids, a locked test cell after every answer, tests that assert
  something, the total stated in the first markdown cell (:mod:`autograde.check.metadata_lint`);
- the solution runs without an error and earns every autograded point;
- the student version (nbgrader's generate step) earns 0 points and its test cells fail only because
  of the ``NotImplementedError`` stubs;
- mutation testing: every mutant of every solution (:mod:`autograde.check.mutate`) loses points, or is
  documented as equivalent by a ``# equivalent-mutant: <id> <why>`` comment in its answer cell; the
  mutants run in the same kernel as the solution (:mod:`autograde.check.mutation_run`);
- the grading time of the solution notebook against ``--time-limit``.

Prints a table, writes an HTML report, exits 1 if anything fails.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograde.course_dir import course_directory, in_course, load_config, source_assignments
from autograde.grading.execute import ExecutionResult
from autograde.check.mutate import bound_names, equivalent_ids, mutants, select
from autograde.check.mutation_run import CellTimeouts, MutantResult, instrument, read_results
from autograde.grading.pool import ExecuteSettings, run_local
from autograde.grading.prepare import Job, make_autograder, prepare_submission
from autograde.grading.score import cell_scores, score_notebook
from autograde.check.metadata_lint import is_answer, is_test, metadata_problems, tasks

SOLUTION, STUDENT = "solution", "student-version"  # the two made-up students in the scratch course


@dataclass
class CheckSettings:
    """Knobs of one ``course check`` run (defaults fit CI: 2 cores, the whole course in minutes)."""

    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_mutants: int | None = 12  # per task; taken in turn from every operator
    mutant_timeout: float = 20.0  # seconds per injected cell, so an endless mutant cannot hang the check
    time_limit: float = 60.0  # seconds the solution notebook may take under grading
    mutate: bool = True
    kernel_manager_class: str | None = None  # None: as `course grade` (config, else the sandbox when usable)
    progress: bool = True


@dataclass
class NotebookCheck:
    """What ``course check`` found for one source notebook; ``problems`` empty means it passed."""

    assignment: str
    notebook: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    solution_score: float | None = None
    max_score: float | None = None
    student_score: float | None = None
    seconds: float | None = None  # grading time of the solution notebook (kernel start included)
    mutants: list[MutantResult] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        return f"NotebookCheck({self.assignment}/{self.notebook}: {'ok' if self.ok else f'{len(self.problems)} problem(s)'})"


def _settings(config, chosen: str | None) -> ExecuteSettings:
    """Execution settings as ``course grade`` builds them, plus per-cell limits for the injected cells."""
    settings = ExecuteSettings.for_course(config, kernel_manager_class=chosen)
    if settings.kernel_manager_class is None:
        from autograde import sandbox

        if sandbox.bwrap_status()[0] is not None:
            settings.kernel_manager_class = "autograde.sandbox.SandboxKernelManager"
    settings.execute_options["timeout_func"] = CellTimeouts(settings.limits.cell_timeout)
    return settings


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


def _first_error(cell) -> tuple[str, str, str]:
    """(ename, first line of evalue, traceback text) of a cell's first error output, or empty strings."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            value = str(output.get("evalue", "")).strip().splitlines()
            return output.get("ename", ""), value[0] if value else "", "\n".join(output.get("traceback", []))
    return "", "", ""


def _name_of(cell, index: int) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"


def solution_problems(executed: nbformat.NotebookNode) -> list[str]:
    """Cells of the executed solution that raised: it must run clean."""
    problems = []
    for index, cell in enumerate(executed.cells):
        ename, value, _ = _first_error(cell)
        if ename:
            problems.append(f"the solution raises in {_name_of(cell, index)}: {ename}: {value}")
    return problems


def student_problems(executed: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """Test cells of the executed student version that fail for another reason than a NotImplementedError stub.

    A NameError counts as caused by a stub when the name is one an answer cell of the solution defines
    (def, class, assignment; not an import) or one a cell that failed earlier would have defined.
    """
    allowed = {name for cell in source.cells if is_answer(cell) for name in bound_names(cell.source)}
    problems = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        ename, value, traceback = _first_error(cell)
        if not ename:
            continue
        if is_test(cell):
            missing = re.match(r"name '(\w+)' is not defined", value)
            if ename == "NotImplementedError" or "NotImplementedError" in traceback:
                pass
            elif ename == "NameError" and missing and missing.group(1) in allowed:
                pass
            elif ename == "NotRunError":
                problems.append(f"the student version stopped before {_name_of(cell, index)}: {value}")
            else:
                problems.append(f"test cell {_name_of(cell, index)} crashes on its own in the student version: "
                                f"{ename}: {value}")
        allowed.update(bound_names(cell.source))  # a cell that failed never defined these names
    return problems


def _scores(rows: list[dict], student: str, notebook: str) -> dict[str, tuple[float, float]]:
    return {r["cell"]: (r["auto_score"] or 0.0, r["max_score"]) for r in rows
            if r["student"] == student and r["notebook"] == notebook and r["auto_score"] is not None}


@dataclass
class _Plan:
    """One notebook's mutation plan and the prepared jobs that run it."""

    check: NotebookCheck
    solution_job: Job | None = None
    student_job: Job | None = None
    plan: dict = field(default_factory=dict)
    equivalent: dict = field(default_factory=dict)
    source: nbformat.NotebookNode | None = None
    solution_result: ExecutionResult | None = None
    student_result: ExecutionResult | None = None


def _plan_mutants(check: NotebookCheck, job: Job, settings: CheckSettings) -> tuple[dict, dict, Job]:
    """The tasks and mutants of a prepared solution notebook, and the instrumented job that runs them."""
    nb = nbformat.reads(job.notebook_json, as_version=4)
    plan, equivalent = {}, {}
    for task in tasks(nb):
        source = nb.cells[task.answer_index].source
        found = mutants(source) if settings.mutate else []
        plan[task.answer_id] = (task, select(found, settings.max_mutants))
        notes = equivalent_ids(source)
        equivalent[task.answer_id] = notes
        known = {m.id for m in found}
        for stale in sorted(set(notes) - known):
            check.warnings.append(f"{task.answer_id}: equivalent-mutant note {stale!r} matches no mutant (code changed?)")
    check.task_ids = list(plan)
    instrumented = instrument(nb, plan, settings.mutant_timeout)
    return plan, equivalent, replace(job, notebook_json=nbformat.writes(instrumented))


def check(root: Path, assignments: list[str] | None = None, settings: CheckSettings | None = None,
          workdir: Path | None = None) -> list[NotebookCheck]:
    """Check the source notebooks of ``assignments`` (default: all) in course ``root``; see the module doc."""
    settings = settings or CheckSettings()
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, config=config)
    available = source_assignments(coursedir)
    wanted = list(assignments or available)
    unknown = [a for a in wanted if a not in available]
    if not wanted or unknown:
        raise SystemExit(f"course check: no source notebooks for {unknown or 'any assignment'} in "
                         f"{Path(coursedir.root) / coursedir.source_directory}; available: {available}")
    with tempfile.TemporaryDirectory(prefix="course-check-") as scratch:
        folder = Path(workdir).resolve() if workdir else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return _check_in(root, _scratch_course(root, wanted, folder), wanted, settings)


def _check_in(root: Path, scratch: Path, wanted: list[str], settings: CheckSettings) -> list[NotebookCheck]:
    from nbgrader.apps import NbGraderAPI

    config = load_config(scratch)
    api = NbGraderAPI(coursedir=course_directory(scratch, config=config), config=config)
    execute = _settings(config, settings.kernel_manager_class)
    plans: dict[tuple[str, str], _Plan] = {}
    converters = {}
    source_dir = scratch / course_directory(scratch, config=config).source_directory
    for assignment in wanted:
        notebooks = sorted((source_dir / assignment).glob("*.ipynb"))
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            plans[(assignment, path.stem)] = _Plan(NotebookCheck(assignment, path.stem, metadata_problems(nb)), source=nb)
        why = _generate(api, scratch, assignment)
        if why:
            for path in notebooks:
                plans[(assignment, path.stem)].check.problems.append(
                    f"nbgrader could not generate the student version: {why}")
            continue
        coursedir = course_directory(scratch, assignment, config)
        release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        for student, folder in ((SOLUTION, source_dir / assignment), (STUDENT, release)):
            target = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
            target.mkdir(parents=True, exist_ok=True)
            for path in notebooks:
                shutil.copy(folder / path.name, target / path.name)
        with in_course(scratch):
            converter = converters[assignment] = make_autograder(coursedir, config)
            for student in (SOLUTION, STUDENT):
                submission = prepare_submission(converter, assignment, student, [p.stem for p in notebooks], {})
                jobs, failures = submission.jobs, submission.failures
                for failure in failures:
                    plans[(assignment, failure.notebook)].check.problems.append(f"{student}: {failure.reason}")
                for job in jobs:
                    item = plans[(assignment, job.notebook)]
                    if student == SOLUTION:
                        item.plan, item.equivalent, item.solution_job = _plan_mutants(item.check, job, settings)
                    else:
                        item.student_job = job
    jobs = [p.solution_job for p in plans.values() if p.solution_job] + \
           [p.student_job for p in plans.values() if p.student_job]
    with in_course(scratch), tqdm(total=len(jobs), desc="check", unit="nb", disable=not settings.progress) as bar:
        for job, result, _ in run_local(jobs, execute, settings.workers):
            item = plans[(job.assignment, job.notebook)]
            if job.student == SOLUTION:
                clean, item.check.mutants, problems, injected = read_results(result.notebook, item.plan, item.equivalent)
                item.check.problems.extend(problems)
                item.check.seconds = result.duration - injected
                result = replace(result, notebook=clean)
                if result.status != "ok" or solution_problems(nbformat.reads(clean, as_version=4)):
                    # A mutant may have disturbed the kernel: confirm with a plain run of the solution.
                    plain = _plain_job(item)
                    result = execute.run(plain)
                    item.check.seconds = result.duration
                    item.check.warnings.append("the solution failed in the run with mutants; scored a plain run instead")
                item.solution_result = result
            else:
                item.student_result = result
            score_notebook(converters[job.assignment], job.assignment, job.student, job.notebook, result)
            bar.update()
    for (assignment, notebook), item in plans.items():
        _judge(item, scratch, config, settings)
    return [p.check for p in plans.values()]


def _generate(api, scratch: Path, assignment: str) -> str:
    """Run nbgrader's generate step for one assignment (as ``course generate``); '' or why it failed.

    One NbGraderAPI for every assignment: its first call sets up the gradebook (seconds), the rest reuse it.
    """
    with in_course(scratch):
        result = api.generate_assignment(assignment, force=True, create=True)
    if result["success"]:
        return ""
    text = f"{result.get('error', '')}\n{result.get('log', '')}"
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("Traceback")]
    errors = [line for line in lines if "rror" in line]
    return (errors or lines or ["unknown error"])[-1]


def _plain_job(item: _Plan) -> Job:
    """The prepared solution job without the mutation cells (rebuilt from the instrumented one)."""
    nb = nbformat.reads(item.solution_job.notebook_json, as_version=4)
    nb.cells = [c for c in nb.cells if "course_check" not in c.get("metadata", {})]
    return replace(item.solution_job, notebook_json=nbformat.writes(nb))


def _judge(item: _Plan, scratch: Path, config, settings: CheckSettings) -> None:
    """Turn the scores and executed notebooks of one notebook into problems."""
    check = item.check
    if item.solution_job is None:
        return
    coursedir = course_directory(scratch, check.assignment, config)
    rows = cell_scores(coursedir.db_url, coursedir.course_id, check.assignment)
    solution = _scores(rows, SOLUTION, check.notebook)
    student = _scores(rows, STUDENT, check.notebook)
    tests = {cell: most for cell, (_, most) in solution.items() if cell in _test_ids(item.source)}
    check.max_score = sum(tests.values())
    check.solution_score = sum(solution[c][0] for c in tests)
    result = item.solution_result
    executed = nbformat.reads(result.notebook, as_version=4)
    if result.status != "ok":
        check.problems.append(f"the solution did not finish: {result.status}: {result.reason}")
    check.problems.extend(solution_problems(executed))
    if check.solution_score < check.max_score:
        lost = [f"{c} {solution[c][0]:g}/{m:g}" for c, m in tests.items() if solution[c][0] < m]
        check.problems.append(f"the solution earns {check.solution_score:g}/{check.max_score:g} autograded points "
                              f"({', '.join(lost)})")
    if check.seconds is not None and check.seconds > settings.time_limit:
        check.problems.append(f"the solution takes {check.seconds:.0f} s under grading, over the "
                              f"{settings.time_limit:g} s limit")
    student_result = item.student_result
    if student_result is not None:
        check.student_score = sum(student.get(c, (0.0, 0.0))[0] for c in tests)
        if check.student_score > 0:
            passing = [c for c in tests if student.get(c, (0.0, 0.0))[0] > 0]
            check.problems.append(f"the student version earns {check.student_score:g} points without any answer "
                                  f"({', '.join(passing)} pass)")
        if student_result.status not in ("ok",):
            check.problems.append(f"the student version did not finish: {student_result.status}: {student_result.reason}")
        check.problems.extend(student_problems(nbformat.reads(student_result.notebook, as_version=4), item.source))
    for mutant in check.mutants:
        if mutant.status in ("survived", "not run"):
            check.problems.append(f"{mutant.task}: mutant {mutant.mutant.id} {mutant.status} "
                                  f"({mutant.mutant.description}):\n{_indent(mutant.mutant.diff)}")


def _test_ids(nb: nbformat.NotebookNode) -> set[str]:
    return {c.metadata["nbgrader"].get("grade_id") for c in nb.cells if is_test(c)}


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in the source folder")
    parser.add_argument("--workers", type=int, default=None, help="notebooks executed at once (default: CPU count)")
    parser.add_argument("--max-mutants", type=int, default=12, metavar="N", help="mutants per task (0: no mutation testing)")
    parser.add_argument("--mutant-timeout", type=float, default=20.0, metavar="S", help="seconds per mutant cell")
    parser.add_argument("--time-limit", type=float, default=60.0, metavar="S",
                        help="seconds the solution notebook may take under grading (default 60)")
    parser.add_argument("--kernel-manager", metavar="CLASS", help="dotted kernel manager class (default: as course grade)")
    parser.add_argument("--html", metavar="FILE", help="HTML report (default: reports/check.html in the course)")
    parser.add_argument("--workdir", metavar="DIR", help="keep the scratch course (generated and graded notebooks) here")


def run(args: argparse.Namespace) -> int:
    from autograde.check.report import print_report, write_html
    from autograde.cli import course_root

    root = course_root(args.course)
    if args.workers is not None and args.workers < 1:
        raise SystemExit(f"course check: --workers must be at least 1, got {args.workers}")
    if args.max_mutants < 0:
        raise SystemExit(f"course check: --max-mutants must be 0 or more, got {args.max_mutants}")
    settings = CheckSettings(workers=args.workers or os.cpu_count() or 1, max_mutants=args.max_mutants or None,
                             mutate=args.max_mutants > 0, mutant_timeout=args.mutant_timeout,
                             time_limit=args.time_limit, kernel_manager_class=args.kernel_manager)
    start = time.monotonic()
    checks = check(root, args.assignments, settings, Path(args.workdir) if args.workdir else None)
    html = Path(args.html) if args.html else root / "reports" / "check.html"
    write_html(checks, html, settings)
    failed = print_report(checks, time.monotonic() - start, html)
    return 1 if failed else 0
