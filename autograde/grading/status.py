"""The status of a graded notebook and the one sentence that says why: decided here and nowhere else.

An execution has an :class:`Outcome`: ``finished`` (every cell ran, some may have raised), ``timeout``,
``crashed`` (the kernel died), ``error`` (it never ran properly) or ``failed`` (its worker died twice).
Grading turns it into the notebook's :class:`Status`: a finished run is ``ok`` when no cell raised and
``raised`` otherwise, a notebook whose tests were tampered with is ``tampered``. Notebooks that were not run have a status too (``missing``, ``ignored``, ``empty``,
``unusable``, ``pending``); ``course report`` marks a notebook graded again by
nbgrader's own tools ``regraded``. Statuses are strings in ``results.json`` (a StrEnum compares equal to its value).
"""
from __future__ import annotations

from enum import StrEnum

from nbformat import NotebookNode

from autograde.cells import TIMED_OUT, cell_name, errors_summary, has_error


class Outcome(StrEnum):
    """How one execution of a notebook ended (``autograde.grading.execute``), before grading judges it."""

    FINISHED = "finished"  # every cell ran; some may have raised
    TIMEOUT = "timeout"  # a cell or the notebook ran past its time limit
    CRASHED = "crashed"  # the kernel died (a limit killed it, os._exit...)
    ERROR = "error"  # the kernel never ran the notebook properly
    FAILED = "failed"  # it could not be run at all: its worker process died on every attempt


class Status(StrEnum):
    """How a notebook was graded, or why it was not."""

    OK = "ok"  # every cell ran and none raised
    RAISED = "raised"  # every cell ran; some raised (wrong answers, failed tests)
    TIMEOUT = "timeout"  # a cell or the notebook ran past its time limit
    CRASHED = "crashed"  # the kernel died (a limit killed it, os._exit...)
    ERROR = "error"  # the kernel never ran the notebook properly
    FAILED = "failed"  # the notebook could not be run at all (0-byte, foreign, a worker died twice)
    TAMPERED = "tampered"  # the answers changed the tests or the grader: every test scores 0
    MISSING = "missing"  # an expected notebook was not handed in: 0 points for it
    IGNORED = "ignored"  # an extra notebook, not graded
    EMPTY = "empty"  # a submission folder with nothing to grade: nothing recorded
    UNUSABLE = "unusable"  # a submission folder nbgrader cannot read (a malformed timestamp.txt): nothing recorded
    PENDING = "pending"  # grading could not be recorded: the next run grades the student again
    REGRADED = "regraded"  # course report only: nbgrader autograde or the formgrader graded it again since

    @property
    def graded(self) -> bool:
        """The notebook has its grade in the gradebook (possibly 0)."""
        return self not in (Status.IGNORED, Status.EMPTY, Status.UNUSABLE, Status.PENDING)

    @property
    def needs_attention(self) -> bool:
        """The instructor must act: listed in the summary, exit code 1. A ``failed`` notebook scores 0
        meanwhile and keeps its student pending, so the next run grades it again once it is fixed."""
        return self in (Status.FAILED, Status.IGNORED, Status.EMPTY, Status.UNUSABLE, Status.PENDING)

    @property
    def recorded(self) -> bool:
        """This record holds a grade worth keeping from one run to the next (not empty, unusable or pending)."""
        return self not in (Status.EMPTY, Status.UNUSABLE, Status.PENDING)


def stopped(error: BaseException, index: int | None) -> tuple[Outcome, str]:
    """Outcome and one-line reason for an exception that stopped an execution (at cell ``index``)."""
    where = f" in cell {index}" if index is not None else ""
    name = type(error).__name__
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    if name == "DeadKernelError":
        return Outcome.CRASHED, f"kernel died{where}: {detail}" if detail else f"kernel died{where}"
    if name in (TIMED_OUT, "TimeoutError"):
        return Outcome.TIMEOUT, f"timed out{where}: {detail}"
    return Outcome.ERROR, f"{name}{where}: {detail}"


def execution_verdict(outcome: Outcome, reason: str, cells: list[NotebookNode], cell_timeout: float | None,
                      notes: list[str]) -> tuple[Outcome, str]:
    """How an execution went, from how it ended, its executed cells and what the sandbox noted.

    A cell stopped by the per-cell limit makes the run a timeout; otherwise a finished run says which
    cells raised. ``notes`` (e.g. "memory limit reached") say why a kernel died."""
    timed_out = [index for index, cell in enumerate(cells) if cell.cell_type == "code"
                 and any(output.get("ename") == TIMED_OUT for output in cell.get("outputs", []))]
    if outcome == Outcome.FINISHED and timed_out:
        limit = f"{cell_timeout:g} s" if cell_timeout else "no limit"
        outcome, reason = Outcome.TIMEOUT, f"{cell_name(cells, timed_out[0])} ran past the cell time limit ({limit}) and was interrupted"
    elif outcome == Outcome.FINISHED:
        reason = errors_summary(cells)
    return outcome, "; ".join(filter(None, [reason, *notes]))


def grading_verdict(outcome: Outcome, reason: str, notes: list[str], cells: list[NotebookNode],
                    tampering: list[str], repairs: list[str]) -> tuple[Status, str]:
    """The graded notebook's status and reason: tampering first, else the execution's outcome (a finished
    run recounted on ``cells``, the notebook without our checkpoints, which fail on purpose: ``ok`` or
    ``raised``); then the sandbox's ``notes`` and the ``repairs`` made before it ran."""
    if tampering:
        status, reason = Status.TAMPERED, "tampering detected: " + "; ".join(tampering)
    elif outcome == Outcome.FINISHED:
        reason = "; ".join(filter(None, [errors_summary(cells), *notes]))
        status = Status.RAISED if any(has_error(cell) for cell in cells) else Status.OK
    else:
        status = Status(outcome.value)  # timeout, crashed, error, failed: the same word for the notebook
    return status, "; ".join(filter(None, [reason, *repairs]))
