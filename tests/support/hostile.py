"""Hostile submissions of the test assignment: attack snippets, invalid and forged notebooks, and what each must score."""
from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from autograde.demo_class import reference
from autograde.grading.score import cell_scores
from autograde.sandbox import cgroups_writable
from tests.support.grading_course import ASSIGNMENT
from tests.support.paths import FIXTURES

HOSTILE = FIXTURES / "hostile"
# case -> (statuses allowed, score of test_square, total score, words expected in the reason)
EXPECTED = {
    "read_source": ({"raised"}, 0, 4, "FileNotFoundError"),
    "read_gradebook": ({"raised"}, 0, 4, "FileNotFoundError"),
    "write_gradebook": ({"raised"}, 0, 4, "unable to open database"),
    "network": ({"raised"}, 0, 4, "gaierror"),  # the loopback refusal is chained below it
    "patched_assert": ({"tampered"}, 0, 0, "math.isclose was replaced"),
    "blank_tests": ({"tampered"}, 0, 0, "printed no valid record"),
    "swallow_exceptions": ({"tampered"}, 0, 0, "custom exception handler"),
    "sys_exit": ({"raised"}, 0, 4, "SystemExit"),
    "os_exit": ({"crashed"}, 0, 0, "kernel died"),
    "kill_kernel": ({"crashed"}, 0, 0, "kernel died"),  # its parent (the sandbox's init) refused the kill
    "endless_loop": ({"timeout"}, 0, 4, "time limit"),
    "memory_bomb": ({"raised", "crashed"}, 0, None, "Memory"),
    # Without a pids cgroup the kernel's own uid's RLIMIT_NPROC refuses the forks and the memory watch notes it;
    # not root and no cgroup: the forks are refused and nothing is noted.
    "fork_bomb": ({"raised", "timeout"}, 0, None, "process limit reached" if cgroups_writable() or os.geteuid() == 0
                  else ""),
    "output_flood": ({"crashed"}, 0, 0, "output limit"),
    "invalid_json": ({"failed"}, 0, 0, "not valid JSON"),
    "edited_locked": ({"raised"}, 0, 4, "locked cell 'test_square' was edited"),
    "forged_points": ({"ok"}, 2, 6, "points of 'test_count_words' changed to 100"),
}



def scores(course: Path) -> dict[tuple[str, str], float]:
    rows = cell_scores(f"sqlite:///{course / 'gradebook.db'}", "grading-tests", ASSIGNMENT)
    return {(r["student"], r["cell"]): r["score"] for r in rows}


def hostile_notebooks(course: Path, port: int) -> dict[str, nbformat.NotebookNode | str]:
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    good = reference(source, release)

    def with_prefix(text: str) -> nbformat.NotebookNode:
        nb = copy.deepcopy(good)
        answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
        answer.source = text.replace("{course}", str(course)).replace("{port}", str(port)) + "\n" + answer.source
        return nb

    notebooks: dict[str, nbformat.NotebookNode | str] = {
        path.stem: with_prefix(path.read_text()) for path in sorted(HOSTILE.glob("*.py"))}
    notebooks["invalid_json"] = nbformat.writes(good)[:-40]
    edited = copy.deepcopy(release)  # the student version, square answered wrongly, its test emptied
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in edited.cells}
    by_id["square"].source = "def square(x):\n    return 0"
    by_id["test_square"].source = "pass"
    for answer in ("mean", "count_words"):
        by_id[answer].source = next(c.source for c in good.cells
                                    if c.metadata.get("nbgrader", {}).get("grade_id") == answer)
    notebooks["edited_locked"] = edited
    forged = copy.deepcopy(good)
    for cell in forged.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("test_count_words", "square"):
            cell.metadata.nbgrader["points"] = 100
    notebooks["forged_points"] = forged
    return notebooks
