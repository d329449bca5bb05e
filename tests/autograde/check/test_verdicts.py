"""What course check makes of executed notebooks, scores and mutants (quick: in-memory cells, no kernels)."""
from __future__ import annotations

import nbformat
import pytest

from autograde.cells import error_output
from autograde.check.mutate import Mutant
from autograde.check.mutation_run import MutantResult, MutantStatus
from autograde.check.verdicts import NotebookCheck, judge_student, mutant_problems, student_problems
from autograde.grading.execute import ExecutionResult
from autograde.grading.status import Outcome


def cell(source: str, grade_id: str, *, answer: bool = False, error: tuple[str, str] | None = None):
    """A code cell with nbgrader metadata (an answer, else a test worth 1 point), optionally raising ``error``."""
    made = nbformat.v4.new_code_cell(source)
    made.metadata.nbgrader = {"grade_id": grade_id, "solution": answer, "grade": not answer, "locked": not answer,
                              **({} if answer else {"points": 1})}
    made.outputs = [error_output(*error)] if error else []
    return made


SOURCE = nbformat.v4.new_notebook(cells=[cell("def f(x):\n    return x", "f", answer=True), cell("assert f(1) == 1", "t1")])


@pytest.mark.parametrize("error, problem", [
    (("NotImplementedError", "Replace this line"), None),  # the stub: expected in the student version
    (("NameError", "name 'f' is not defined"), None),  # a name the answer defines
    (("NameError", "name 'g' is not defined"), "crashes on its own"),  # a test that needs what no answer defines
    (("TypeError", "unsupported operand"), "crashes on its own"),
])
def test_a_student_version_test_may_fail_only_through_the_stubs(error, problem):
    executed = nbformat.v4.new_notebook(cells=[SOURCE.cells[0], cell("assert f(1) == 1", "t1", error=error)])
    found = student_problems(executed, SOURCE)
    assert (found == []) if problem is None else (len(found) == 1 and problem in found[0] and "t1" in found[0])


def test_a_student_version_that_earns_points_or_stops_is_a_problem():
    check = NotebookCheck("a1", "nb")
    result = ExecutionResult(nbformat.writes(SOURCE), Outcome.CRASHED, "kernel died in cell 1", 1.0)
    judge_student(check, result, {"t1": (1.0, 1.0)}, {"t1": 1.0}, SOURCE)
    assert check.student_score == 1.0
    assert check.problems == ["the student version earns 1 points without any answer (t1 pass)",
                              "the student version did not finish: crashed: kernel died in cell 1"]


def test_mutants_that_survive_or_never_ran_are_problems_with_their_diff():
    mutant = Mutant("m1234567", "arith", "`+` -> `-`", 2, "def f(x):\n    return -x", "-    return x\n+    return -x")
    check = NotebookCheck("a1", "nb", mutants=[MutantResult("f", mutant, status, "") for status in MutantStatus])
    assert mutant_problems(check) == [f"f: mutant m1234567 {status} (`+` -> `-`):\n      -    return x\n      +    return -x"
                                      for status in ("survived", "not run")]
