"""What ``course check`` found for one source notebook: its executed solution and student version, their
scores and its mutants turned into problems, one line each, in the order the report lists them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from autograde.cells import NOT_RUN, CellError, first_error, is_answer, is_test
from autograde.check.explain import describe, label, slowest
from autograde.check.metadata_lint import tasks
from autograde.check.mutate import defined_names
from autograde.check.mutation_run import MutantResult, MutantStatus
from autograde.grading.execute import ExecutionResult
from autograde.grading.status import Outcome


@dataclass
class NotebookCheck:
    """What ``course check`` found for one source notebook; ``problems`` empty means it passed."""

    assignment: str
    notebook: str  # file name without .ipynb
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
        """Whether the notebook passed every part of the check."""
        return not self.problems

    def __repr__(self) -> str:
        return f"NotebookCheck({self.assignment}/{self.notebook}: {'ok' if self.ok else f'{len(self.problems)} problem(s)'})"


def finished(result: ExecutionResult) -> bool:
    """Whether every cell of an execution ran (cells may still have raised)."""
    return result.outcome == Outcome.FINISHED


def solution_problems(executed: NotebookNode) -> list[str]:
    """Cells of the executed solution that raised: it must run clean. Each says its cell, line and message."""
    answers = {i: task.answer_id for task in tasks(executed) for i in task.test_indices}
    problems = []
    for index, cell in enumerate(executed.cells):
        error = first_error(cell)
        if error is not None:
            task = f" of task {answers[index]}" if index in answers else ""
            problems.append(f"the solution fails {label(executed, index)}{task}: {describe(executed, index, error)}")
    return problems


def student_problems(executed: NotebookNode, source: NotebookNode) -> list[str]:
    """Test cells of the executed student version that fail for another reason than a NotImplementedError stub.

    A NameError counts as caused by a stub when the name is one an answer cell of the solution defines
    (def, class, assignment; not an import) or one a cell that failed earlier would have defined.
    """
    allowed = {name for cell in source.cells if is_answer(cell) for name in defined_names(cell.source)}
    problems = []
    for index, cell in enumerate(executed.cells):
        error = first_error(cell) if cell.cell_type == "code" else None
        if error is None:
            continue
        if is_test(cell) and not _caused_by_a_stub(error, allowed):
            if error.ename == NOT_RUN:
                problems.append(f"the student version stopped before {label(executed, index)}: {error.message}")
            else:
                problems.append(f"test cell {label(executed, index)} crashes on its own in the student version: "
                                f"{describe(executed, index, error)}")
        allowed.update(defined_names(cell.source))  # a cell that failed never defined these names
    return problems


def _caused_by_a_stub(error: CellError, allowed: set[str]) -> bool:
    """A NotImplementedError, or a NameError for a name an answer (or an earlier failed cell) defines."""
    missing = re.match(r"name '(\w+)' is not defined", error.message)
    if error.ename == "NotImplementedError" or "NotImplementedError" in error.traceback:
        return True
    return error.ename == "NameError" and missing is not None and missing.group(1) in allowed


def judge_solution(check: NotebookCheck, result: ExecutionResult, scores: dict[str, tuple[float, float]],
                   tests: dict[str, float], time_limit: float) -> None:
    """The solution must finish, raise nowhere, earn every autograded point, and stay within the time limit."""
    check.max_score = sum(tests.values())
    check.solution_score = sum(scores[c][0] for c in tests)
    if not finished(result):
        check.problems.append(f"the solution did not finish: {result.outcome}: {result.reason}")
    failures = solution_problems(nbformat.reads(result.notebook_json, as_version=4))
    check.problems.extend(failures)
    lost = [f"{c} {scores[c][0]:g}/{most:g}" for c, most in tests.items()
            if scores[c][0] < most and not any(f"fails {c} (" in failure for failure in failures)]
    if lost:  # tests that lose points without a failure said above (output on stderr, say)
        check.problems.append(f"the solution earns {check.solution_score:g}/{check.max_score:g} autograded points "
                              f"({', '.join(lost)})")
    if check.seconds is not None and check.seconds > time_limit:
        check.problems.append(f"the solution takes {check.seconds:.0f} s under grading, over the course's budget of "
                              f"{time_limit:g} s per notebook (--time-limit){_slowest(result)}")


def _slowest(result: ExecutionResult) -> str:
    """"; slowest: In [5] 14 s, ..." for the cells that took most of an executed notebook's time."""
    cells = slowest(nbformat.reads(result.notebook_json, as_version=4))
    return f"; slowest: {cells} (experiments should train epochs(n) epochs)" if cells else ""


def judge_student(check: NotebookCheck, result: ExecutionResult, scores: dict[str, tuple[float, float]],
                  tests: dict[str, float], source: NotebookNode) -> None:
    """The student version must finish, earn nothing, and fail its tests only through the stubs."""
    check.student_score = sum(scores.get(c, (0.0, 0.0))[0] for c in tests)
    if check.student_score > 0:
        passing = [c for c in tests if scores.get(c, (0.0, 0.0))[0] > 0]
        check.problems.append(f"the student version earns {check.student_score:g} points without any answer "
                              f"({', '.join(passing)} pass)")
    if not finished(result):
        check.problems.append(f"the student version did not finish: {result.outcome}: {result.reason}")
    check.problems.extend(student_problems(nbformat.reads(result.notebook_json, as_version=4), source))


def mutant_problems(check: NotebookCheck) -> list[str]:
    """One problem per mutant that survived the task's tests or never ran, with its diff."""
    return [f"{m.task}: mutant {m.mutant.id} {m.status} ({m.mutant.description}):\n{_indent(m.mutant.diff)}"
            for m in check.mutants if m.status in (MutantStatus.SURVIVED, MutantStatus.NOT_RUN)]


def _indent(text: str) -> str:
    return "\n".join("      " + line for line in text.splitlines())
