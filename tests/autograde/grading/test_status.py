"""What decides a notebook's status and the sentence that says why (quick: plain cells, no kernels)."""
from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograde.cells import TIMED_OUT, error_output
from autograde.grading.status import Outcome, Status, execution_verdict, grading_verdict, stopped


def code(*errors: str) -> nbformat.NotebookNode:
    """A code cell whose outputs are error outputs named ``errors`` (none: a cell that ran cleanly)."""
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [nbformat.v4.new_output("stream", text="hi\n")] + [error_output(e, f"{e} message") for e in errors]
    return cell


CLEAN = [nbformat.v4.new_markdown_cell("# title"), code(), code()]
RAISED = [code(), code("AssertionError"), code("NameError")]
TIMED = [code(), code("AssertionError"), code(TIMED_OUT)]


@pytest.mark.parametrize("status, graded, attention, recorded", [
    (Status.OK, True, False, True),
    (Status.RAISED, True, False, True),
    (Status.TIMEOUT, True, False, True),
    (Status.CRASHED, True, False, True),
    (Status.ERROR, True, False, True),
    (Status.FAILED, True, True, True),  # scores 0 now, graded again once fixed
    (Status.TAMPERED, True, False, True),
    (Status.MISSING, True, False, True),
    (Status.IGNORED, False, True, True),
    (Status.EMPTY, False, True, False),
    (Status.UNUSABLE, False, True, False),
    (Status.PENDING, False, True, False),
    (Status.REGRADED, True, False, True),
])
def test_what_each_status_means(status, graded, attention, recorded):
    assert (status.graded, status.needs_attention, status.recorded) == (graded, attention, recorded)
    assert Status(str(status)) is status and status == status.value  # round trip through results.json


@pytest.mark.parametrize("error, index, expected", [
    (DeadKernelError("Kernel died"), 3, (Outcome.CRASHED, "kernel died in cell 3: Kernel died")),
    (DeadKernelError(""), None, (Outcome.CRASHED, "kernel died")),
    (CellTimeoutError("Cell execution timed out\nmore lines"), 2, (Outcome.TIMEOUT, "timed out in cell 2: Cell execution timed out")),
    (TimeoutError("notebook ran past 60 s"), None, (Outcome.TIMEOUT, "timed out: notebook ran past 60 s")),
    (RuntimeError("Kernel didn't respond\nin 60 s"), 0, (Outcome.ERROR, "RuntimeError in cell 0: Kernel didn't respond")),
    (ValueError(), None, (Outcome.ERROR, "ValueError: ")),
])
def test_an_exception_that_stopped_a_run(error, index, expected):
    assert stopped(error, index) == expected


@pytest.mark.parametrize("outcome, reason, cells, timeout, notes, expected", [
    (Outcome.FINISHED, "", CLEAN, 4, [], (Outcome.FINISHED, "")),
    (Outcome.FINISHED, "", RAISED, 4, [], (Outcome.FINISHED, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2])")),
    (Outcome.FINISHED, "", TIMED, 4, [], (Outcome.TIMEOUT, "In [3] ran past the cell time limit (4 s) and was interrupted")),
    (Outcome.FINISHED, "", TIMED, None, ["output limit reached"],
     (Outcome.TIMEOUT, "In [3] ran past the cell time limit (no limit) and was interrupted; output limit reached")),
    (Outcome.CRASHED, "kernel died in cell 1", RAISED, 4, ["memory limit reached"],
     (Outcome.CRASHED, "kernel died in cell 1; memory limit reached")),
    (Outcome.TIMEOUT, "timed out: notebook", TIMED, 4, [], (Outcome.TIMEOUT, "timed out: notebook")),
])
def test_how_an_execution_went(outcome, reason, cells, timeout, notes, expected):
    assert execution_verdict(outcome, reason, cells, timeout, notes) == expected


@pytest.mark.parametrize("outcome, reason, cells, tampering, repairs, expected", [
    (Outcome.FINISHED, "", CLEAN, [], [], (Status.OK, "")),
    (Outcome.FINISHED, "stale reason", RAISED, [], [],
     (Status.RAISED, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2])")),
    (Outcome.FINISHED, "", CLEAN, [], ["locked cell 't1' was edited; restored from the release"],
     (Status.OK, "locked cell 't1' was edited; restored from the release")),
    (Outcome.FINISHED, "", CLEAN, ["len was rebound", "np.mean was replaced"], ["points of 't1' changed"],
     (Status.TAMPERED, "tampering detected: len was rebound; np.mean was replaced; points of 't1' changed")),
    (Outcome.CRASHED, "kernel died", CLEAN, ["torch was rebound"], [], (Status.TAMPERED, "tampering detected: torch was rebound")),
    (Outcome.TIMEOUT, "timed out in cell 2", TIMED, [], ["r"], (Status.TIMEOUT, "timed out in cell 2; r")),
])
def test_the_graded_notebooks_verdict(outcome, reason, cells, tampering, repairs, expected):
    assert grading_verdict(outcome, reason, [], cells, tampering, repairs) == expected


@pytest.mark.parametrize("outcome", [o for o in Outcome if o != Outcome.FINISHED])
def test_a_run_that_did_not_finish_gives_the_notebook_the_same_word(outcome):
    assert grading_verdict(outcome, "why", [], CLEAN, [], []) == (Status(outcome.value), "why")


def test_sandbox_notes_follow_the_errors_of_a_finished_run():
    assert grading_verdict(Outcome.FINISHED, "", ["output limit reached"], RAISED, [], ["fixed"]) == (
        Status.RAISED, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2]); output limit reached; fixed")
