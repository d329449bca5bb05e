"""Mutation testing inside one execution of the solution notebook: add the mutants' cells, read their verdicts.

:func:`instrument` adds cells to the (prepared) solution notebook so that one kernel runs the whole
notebook once and, right after each task's own test cells, every mutant of that task:

    [save RNG]  answer  tests  | begin, mutant answer, tests | ... | begin, answer, tests (restore)

``begin`` puts the random number generators (random, numpy, torch) back to their state before the
answer cell ran and forgets the names the answer cell defines, so each mutant runs as the original did
and a mutant that fails to define a function is not rescued by the original's. After the last mutant the
original answer and tests run again, which rebuilds the state the rest of the notebook expects.
Injected cells carry ``metadata.course_check`` (role, task, mutant id, timeout) and no nbgrader
metadata; :func:`read_results` strips them again, giving the solution notebook as a plain run would
have produced it, plus one :class:`MutantResult` per mutant (scored with nbgrader's ``determine_grade``).
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from enum import StrEnum

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import determine_grade, is_grade

from autograde.cells import TIMED_OUT, CellError, first_error, grade_id, has_error, is_not_run, nbgrader_metadata
from autograde.check.explain import cell_seconds
from autograde.check.metadata_lint import Task
from autograde.check.mutate import Mutant, defined_names

KEY = "course_check"  # cell metadata key of injected cells
HELPER_TIMEOUT = 30  # seconds for the bookkeeping cells (RNG snapshots, forgetting names)

HELPER = '''\
def __course_check_make():
    """Kernel side of `course check`: random-state snapshots, forgetting an answer's names."""
    import random, sys
    try:
        import numpy
    except ImportError:
        numpy = None

    class CourseCheck:
        def __init__(self):
            self.states = {}

        def save(self, key):
            state = {"random": random.getstate()}
            if numpy is not None:
                state["numpy"] = numpy.random.get_state()
            torch = sys.modules.get("torch")
            if torch is not None:
                state["torch"] = torch.random.get_rng_state()
                if torch.cuda.is_available() and torch.cuda.is_initialized():
                    state["cuda"] = torch.cuda.get_rng_state_all()
            self.states[key] = state

        def begin(self, key, names):
            namespace = get_ipython().user_ns
            for name in names:
                namespace.pop(name, None)
            state = self.states[key]
            random.setstate(state["random"])
            if "numpy" in state:
                numpy.random.set_state(state["numpy"])
            torch = sys.modules.get("torch")
            if torch is not None and "torch" in state:
                torch.random.set_rng_state(state["torch"])
                if "cuda" in state:
                    torch.cuda.set_rng_state_all(state["cuda"])
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                pyplot.close("all")

    return CourseCheck()


__course_check__ = __course_check_make()
del __course_check_make
'''


class MutantStatus(StrEnum):
    """How one mutant fared against its task's tests (the HTML report and the tables print the value)."""

    KILLED = "killed"  # a test failed: the tests catch this wrong answer
    SURVIVED = "survived"  # every test passed
    EQUIVALENT = "equivalent"  # every test passed, and the source documents it as a correct variant
    NOT_RUN = "not run"  # the run stopped before it
    NOT_TESTED = "not tested"  # the solution itself fails these tests, so the mutant proves nothing


@dataclass
class MutantResult:
    """How one mutant fared against its task's tests."""

    task: str  # grade_id of the answer cell
    mutant: Mutant
    status: MutantStatus
    detail: str  # e.g. "test_x: AssertionError: ..." for a killed mutant
    score: float = 0.0  # points its task's tests gave it
    max_score: float = 0.0

    def __repr__(self) -> str:
        return f"MutantResult({self.task}/{self.mutant.id}: {self.status}, {self.score:g}/{self.max_score:g})"


def _injected(source: str, role: str, task: str, timeout: float | None, **extra) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata[KEY] = {"role": role, "task": task, "timeout": timeout, **extra}
    return cell


def _as_original(cell: NotebookNode) -> NotebookNode:
    """An injected copy of a cell (with its outputs) under the original's nbgrader metadata, as scoring reads it."""
    original = nbformat.from_dict(json.loads(json.dumps(cell)))
    original.metadata["nbgrader"] = cell.metadata[KEY].get("nbgrader", {})
    return original


def _replay(cell: NotebookNode, role: str, task: str, timeout: float | None, **extra) -> NotebookNode:
    """A copy of an original cell to run again, without nbgrader metadata (so no scoring picks it up)."""
    copied = _injected(cell.source, role, task, timeout, **extra)
    copied.metadata[KEY]["nbgrader"] = copy.deepcopy(dict(nbgrader_metadata(cell)))
    return copied


def instrument(nb: NotebookNode, plan: dict[str, tuple[Task, list[Mutant]]], timeout: float | None,
               restore_each: bool = False) -> NotebookNode:
    """A copy of ``nb`` that also runs each task's mutants (``plan``: answer id -> (task, mutants)).

    ``restore_each``: run the original answer and tests again after every mutant, not only after the last,
    to find the mutant that changes state the tests read (:func:`state_changer`).
    """
    by_answer = {task.answer_index: (task, found) for task, found in plan.values() if task.test_indices}
    after_last_test = {task.test_indices[-1]: (task, found) for task, found in by_answer.values()}
    cells = [_injected(HELPER, "helper", "", HELPER_TIMEOUT)]
    for index, cell in enumerate(nb.cells):
        if index in by_answer:
            task, _ = by_answer[index]
            cells.append(_injected(f"__course_check__.save({task.answer_id!r})", "save", task.answer_id, HELPER_TIMEOUT))
        cells.append(cell)
        task, found = after_last_test.get(index, (None, []))
        if not found:  # no mutant runs here, so nothing to restore
            continue
        for mutant in found:
            cells.extend(_begin(nb, task, mutant.id))
            cells.append(_injected(mutant.source, "mutant", task.answer_id, timeout, mutant=mutant.id))
            for replayed in task.replay_indices[1:]:
                cells.append(_replay(nb.cells[replayed], "replay", task.answer_id, timeout, mutant=mutant.id))
            if restore_each:
                cells.extend(_restore(nb, task, timeout, f"after {mutant.id}"))
        cells.extend(_restore(nb, task, timeout, ""))
    instrumented = copy.deepcopy(nb)
    instrumented.cells = cells
    return instrumented


def _begin(nb: NotebookNode, task: Task, tag: str) -> list[NotebookNode]:
    """The cell that puts the RNGs back and forgets the answer's names before a mutant (or a restore) runs."""
    names = defined_names(nb.cells[task.answer_index].source)
    begin = f"__course_check__.begin({task.answer_id!r}, {names!r})"
    return [_injected(begin, "begin", task.answer_id, HELPER_TIMEOUT, mutant=tag)]


def _restore(nb: NotebookNode, task: Task, timeout: float | None, tag: str) -> list[NotebookNode]:
    """The original answer and tests run again (tag "" after the last mutant, "after <id>" after one mutant)."""
    return _begin(nb, task, tag) + [_replay(nb.cells[i], "restore", task.answer_id, timeout, mutant=tag)
                                    for i in task.replay_indices]


def state_changer(executed_json: str, answer_id: str, found: list[Mutant]) -> Mutant | None:
    """The first mutant after which the original answer and tests fail (a run instrumented with restore_each)."""
    nb = nbformat.reads(executed_json, as_version=4)
    failed = {c.metadata[KEY].get("mutant") for c in nb.cells if KEY in c.get("metadata", {})
              and c.metadata[KEY]["role"] == "restore" and c.metadata[KEY]["task"] == answer_id and has_error(c)}
    return next((m for m in found if f"after {m.id}" in failed), None)


class CellTimeouts:
    """nbclient ``timeout_func``: the course's limit for original cells, a short one for injected cells.

    A replayed test gets ``factor`` times what the original cell took in this run (measured between
    calls: nbclient asks for a cell's timeout when it starts it), at least the mutant limit, so a slow
    but sound test is not mistaken for an endless mutant on a busy machine.
    """

    def __init__(self, default: float | None, factor: float = 5.0):
        self.default, self.factor = default, factor
        self.seconds: dict[str, float] = {}  # grade_id of an original cell -> its wall time in this run
        self._running: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"CellTimeouts(default={self.default}, factor={self.factor}, timed={len(self.seconds)})"

    def __call__(self, cell: NotebookNode) -> float | None:
        now = time.monotonic()
        if self._running is not None:
            self.seconds[self._running[0]] = now - self._running[1]
        injected = cell.get("metadata", {}).get(KEY)
        if not injected:
            self._running = (grade_id(cell), now) if grade_id(cell) else None
            return self.default
        self._running = None
        limit = injected.get("timeout") or self.default
        original = self.seconds.get(grade_id(_as_original(cell)), 0.0)
        if limit is None:
            return None
        return max(limit, self.factor * original) if self.default is None else min(self.default, max(limit, self.factor * original))


def read_results(executed_json: str, plan: dict[str, tuple[Task, list[Mutant]]],
                 equivalent: dict[str, dict[str, str]]) -> tuple[str, list[MutantResult], list[str], float]:
    """(solution notebook without injected cells, mutant results, problems, seconds spent in injected cells)."""
    nb = nbformat.reads(executed_json, as_version=4)
    original = [c for c in nb.cells if KEY not in c.get("metadata", {})]
    injected = [c for c in nb.cells if KEY in c.get("metadata", {})]
    groups: dict[tuple[str, str], list[NotebookNode]] = {}  # (task, mutant id or "" for the restore) -> cells
    for cell in injected:
        meta = cell.metadata[KEY]
        if meta["role"] in ("mutant", "replay", "restore"):
            groups.setdefault((meta["task"], meta.get("mutant", "")), []).append(cell)
    problems = _bookkeeping_problems(injected)
    results = []
    for answer_id, (task, found) in plan.items():
        if any(has_error(original[i]) for i in task.test_indices if i < len(original)):
            # the solution already fails this task: its mutants prove nothing (and its restore fails as well)
            results.extend(MutantResult(answer_id, m, MutantStatus.NOT_TESTED, "the solution fails these tests") for m in found)
            continue
        results.extend(_verdict(task, m, groups.get((answer_id, m.id), []), equivalent.get(answer_id, {})) for m in found)
    clean = copy.deepcopy(nb)
    clean.cells = original
    return nbformat.writes(clean), results, problems, sum(cell_seconds(c) for c in injected)


def _bookkeeping_problems(injected: list[NotebookNode]) -> list[str]:
    """The check's own cells (helper, RNG snapshots, forgetting names) that raised rather than never ran."""
    return [f"course check's own cell failed ({c.metadata[KEY]['role']} {c.metadata[KEY]['task']}): {first_error(c)}"
            for c in injected
            if c.metadata[KEY]["role"] in ("helper", "save", "begin") and has_error(c) and not is_not_run(c)]


def failed_restores(executed_json: str, plan: dict[str, tuple[Task, list[Mutant]]]) -> dict[str, CellError]:
    """Tasks whose solution passed its tests, ran mutants, then failed them when run again: answer id -> error."""
    nb = nbformat.reads(executed_json, as_version=4)
    original = [c for c in nb.cells if KEY not in c.get("metadata", {})]
    restored = [c for c in nb.cells if KEY in c.get("metadata", {}) and c.metadata[KEY]["role"] == "restore"
                and c.metadata[KEY].get("mutant") == "" and has_error(c)]
    failed = {}
    for answer_id, (task, found) in plan.items():
        passed = not any(has_error(original[i]) for i in task.test_indices if i < len(original))
        errors = [first_error(c) for c in restored if c.metadata[KEY]["task"] == answer_id]
        if found and passed and errors:
            failed[answer_id] = errors[0]
    return failed


def restore_problem(answer_id: str, error: CellError, found: list[Mutant], changer: Mutant | None) -> str:
    """What it means when the solution fails its tests after its mutants ran; ``changer``: the mutant to blame."""
    if changer is not None:
        culprit = f"mutant {changer.id} ({changer.description}) changed state they read"
    else:
        culprit = f"one of its mutants changed state they read (they ran in this order: {', '.join(m.id for m in found)})"
    return (f"{answer_id}: the solution passed its tests, then failed them ({error}) when run again after its "
            f"mutants: {culprit}; a global modified in place? Let the tests build what they check")


def _verdict(task: Task, mutant: Mutant, cells: list[NotebookNode], equivalent: dict[str, str]) -> MutantResult:
    """Killed when its task's replayed tests lose points; otherwise documented as equivalent, or survived."""
    replayed = [_as_original(c) for c in cells if c.metadata[KEY]["role"] == "replay"]
    tests = [c for c in replayed if is_grade(c)]
    if not tests or any(is_not_run(c) for c in cells):
        return MutantResult(task.answer_id, mutant, MutantStatus.NOT_RUN, "the run stopped before this mutant")
    score = maximum = 0.0
    detail = ""
    for cell in tests:
        points, most = determine_grade(cell)
        score += points or 0.0
        maximum += most
        if (points or 0.0) < most and not detail:
            detail = f"{grade_id(cell)}: {_why_it_lost(cell)}"
    if score < maximum:
        return MutantResult(task.answer_id, mutant, MutantStatus.KILLED, detail, score, maximum)
    if mutant.id in equivalent:
        return MutantResult(task.answer_id, mutant, MutantStatus.EQUIVALENT, equivalent[mutant.id] or "documented", score, maximum)
    return MutantResult(task.answer_id, mutant, MutantStatus.SURVIVED, "every test passed", score, maximum)


def _why_it_lost(test: NotebookNode) -> str:
    """Why a replayed test lost points: the mutant time limit, its first error, or output on stderr."""
    if any(o.get("ename") in (TIMED_OUT, "KeyboardInterrupt") for o in test.get("outputs", [])):
        return f"stopped at the mutant time limit ({test.metadata[KEY]['timeout']:g} s)"
    return str(first_error(test) or "output on stderr")
