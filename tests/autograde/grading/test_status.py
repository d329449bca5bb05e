"""What decides a notebook's status and the sentence that says why (quick: plain cells, no kernels)."""
from __future__ import annotations

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograde.cells import TIMED_OUT, error_output
from autograde.grading.status import Status, execution_verdict, grading_verdict, stopped


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
    (DeadKernelError("Kernel died"), 3, (Status.CRASHED, "kernel died in cell 3: Kernel died")),
    (DeadKernelError(""), None, (Status.CRASHED, "kernel died")),
    (CellTimeoutError("Cell execution timed out\nmore lines"), 2, (Status.TIMEOUT, "timed out in cell 2: Cell execution timed out")),
    (TimeoutError("notebook ran past 60 s"), None, (Status.TIMEOUT, "timed out: notebook ran past 60 s")),
    (RuntimeError("Kernel didn't respond\nin 60 s"), 0, (Status.ERROR, "RuntimeError in cell 0: Kernel didn't respond")),
    (ValueError(), None, (Status.ERROR, "ValueError: ")),
])
def test_an_exception_that_stopped_a_run(error, index, expected):
    assert stopped(error, index) == expected


@pytest.mark.parametrize("status, reason, cells, timeout, notes, expected", [
    (Status.OK, "", CLEAN, 4, [], (Status.OK, "")),
    (Status.OK, "", RAISED, 4, [], (Status.OK, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2])")),
    (Status.OK, "", TIMED, 4, [], (Status.TIMEOUT, "In [3] ran past the cell time limit (4 s) and was interrupted")),
    (Status.OK, "", TIMED, None, ["output limit reached"],
     (Status.TIMEOUT, "In [3] ran past the cell time limit (no limit) and was interrupted; output limit reached")),
    (Status.CRASHED, "kernel died in cell 1", RAISED, 4, ["memory limit reached"],
     (Status.CRASHED, "kernel died in cell 1; memory limit reached")),
    (Status.TIMEOUT, "timed out: notebook", TIMED, 4, [], (Status.TIMEOUT, "timed out: notebook")),
])
def test_how_an_execution_went(status, reason, cells, timeout, notes, expected):
    assert execution_verdict(status, reason, cells, timeout, notes) == expected


@pytest.mark.parametrize("status, reason, cells, tampering, repairs, expected", [
    (Status.OK, "", CLEAN, [], [], (Status.OK, "")),
    (Status.OK, "stale reason", RAISED, [], [],
     (Status.RAISED, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2])")),
    (Status.OK, "", CLEAN, [], ["locked cell 't1' was edited; restored from the release"],
     (Status.OK, "locked cell 't1' was edited; restored from the release")),
    (Status.OK, "", CLEAN, ["len was rebound", "np.mean was replaced"], ["points of 't1' changed"],
     (Status.TAMPERED, "tampering detected: len was rebound; np.mean was replaced; points of 't1' changed")),
    (Status.CRASHED, "kernel died", CLEAN, ["torch was rebound"], [], (Status.TAMPERED, "tampering detected: torch was rebound")),
    (Status.TIMEOUT, "timed out in cell 2", TIMED, [], ["r"], (Status.TIMEOUT, "timed out in cell 2; r")),
])
def test_the_graded_notebooks_verdict(status, reason, cells, tampering, repairs, expected):
    assert grading_verdict(status, reason, [], cells, tampering, repairs) == expected


def test_sandbox_notes_follow_the_errors_of_an_ok_run():
    assert grading_verdict(Status.OK, "", ["output limit reached"], RAISED, [], ["fixed"]) == (
        Status.RAISED, "could not run: 2 cell(s) raised; first: AssertionError: AssertionError message (in In [2]); output limit reached; fixed")
