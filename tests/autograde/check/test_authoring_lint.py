"""The lint rules behind issue 27: each mistake a new author makes gives one line naming the cell as Jupyter
shows it, with the fix; the scaffold of ``course new`` and the nine chapters give none."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograde.cells import CellError
from autograde.check.epoch_lint import epoch_problems
from autograde.check.explain import describe, label, position, slowest
from autograde.check.metadata_lint import marker_problems, metadata_problems
from autograde.generate import nbgrader_reason
from autograde.scaffold import scaffold_notebook
from tests.support.authoring import LINT_LINES, planted
from tests.support.paths import REPO


def test_the_scaffold_is_clean():
    assert metadata_problems(scaffold_notebook("x")) == []


@pytest.mark.parametrize("mistake", sorted(LINT_LINES))
def test_each_planted_mistake_gives_one_line(mistake):
    (problem,) = metadata_problems(planted(mistake))
    assert LINT_LINES[mistake] in problem
    assert "\n" not in problem and "BEGIN HIDDEN TESTS\nassert" not in problem  # no pasted cell source


def test_the_chapters_pass_the_lint():
    chapters = sorted((REPO / "notebooks").glob("*/*.ipynb"))
    assert len(chapters) == 9
    found = {path.stem: metadata_problems(nbformat.read(path, as_version=4)) for path in chapters}
    assert found == {name: [] for name in found}


def _nb(*sources: str, test: int | None = None) -> nbformat.NotebookNode:
    cells = [new_code_cell(source) for source in sources]
    if test is not None:
        cells[test].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                            "grade_id": "t", "schema_version": 3}
    return new_notebook(cells=cells)


@pytest.mark.parametrize("source, expected", [
    ("h = fit(net, a, b, opt, 40)", "line 1 calls fit(..., epochs=40)"),
    ("EPOCHS = 12\nh = sweep(build, a, b, runs, epochs=EPOCHS)", "calls sweep(..., epochs=EPOCHS), a literal count"),
    ("h = course.fit(net, a, b, opt)", "calls fit(...) without epochs=: it trains its default 25 epochs"),
    ("for seed in range(3):\n    for _ in range(50):\n        loss.backward()\n        opt.step()",
     "line 2 trains in a loop over range(50)"),
])
def test_literal_epoch_counts_are_found(source, expected):
    (problem,) = epoch_problems(_nb("x = 1", source))
    assert problem.startswith("In [2] ") and expected in problem


@pytest.mark.parametrize("source", [
    "h = fit(net, a, b, opt, epochs=epochs(40))",
    "h = fit(net, a, b, opt, epochs=n)",  # a parameter: its caller decides
    "model.fit(X, y)",  # someone else's fit
    "for i in range(100):\n    M = M @ W",  # a loop that does not train
    "for _ in range(epochs(100, fast=20)):\n    opt.step()",
    "%time fit(net, a, b, opt, epochs=40)",  # a magic: not Python, not read
    "for seed in range(5):\n    fit(net, a, b, opt, epochs=epochs(9), seed=seed)",  # runs, not epochs
])
def test_epoch_counts_that_are_fine(source):
    assert epoch_problems(_nb(source)) == []


def test_tests_may_train_a_literal_count():
    assert epoch_problems(_nb("x = 1", "h = fit(net, a, b, opt, epochs=3)\nassert h", test=1)) == []


def test_markers_partly_missing_or_misplaced():
    answer = new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "f"}
    assert "unbalanced solution markers (begin)" in marker_problems(answer, "f (In [1])")[0]
    plain = new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    assert "is not a solution cell" in marker_problems(plain, "In [2]")[0]
    written = new_markdown_cell("An answer")  # a written answer without markers is fine: all of it is replaced
    written.metadata["nbgrader"] = {"solution": True, "grade": True, "points": 1, "grade_id": "q"}
    assert marker_problems(written, "q (markdown cell 1)") == []


def test_cells_are_named_as_jupyter_shows_them():
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("a"), new_markdown_cell("b"), new_code_cell("c")])
    nb.cells[3].metadata["nbgrader"] = {"grade_id": "test_c"}
    assert [position(nb, i) for i in range(4)] == ["markdown cell 1", "In [1]", "markdown cell 2", "In [2]"]
    assert label(nb, 3) == "test_c (In [2])"


def test_a_failure_says_its_line_and_the_last_frame_in_the_notebook():
    nb = _nb("def f(x):\n    y = x + 1\n    assert y < 3, y\n    return y", "# visible\nassert f(1) == 2\nassert f(5) == 6", test=1)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 7, 9  # counts as run, injected cells included
    traceback = ("\x1b[0;31mAssertionError\x1b[0m  Traceback (most recent call last)\n"
                 "Cell \x1b[0;32mIn[9], line 3\x1b[0m\n----> 3 assert f(5) == 6\n"
                 "Cell \x1b[0;32mIn[7], line 3, in f(x)\x1b[0m\n----> 3     assert y < 3, y\nAssertionError: 6")
    nb.cells[1].outputs = [new_output("error", ename="AssertionError", evalue="6", traceback=[traceback])]
    text = describe(nb, 1, CellError("AssertionError", "6", traceback))
    assert text == ("line 3: `assert f(5) == 6` -> AssertionError: 6 "
                    "(raised in f at In [1] line 3: `assert y < 3, y`)")
    assert describe(nb, 1, CellError("AssertionError", "", "Cell In[9], line 2")) == \
        "line 2: `assert f(1) == 2` -> AssertionError (no message)"


def test_nbgrader_reason_is_one_line_without_the_cell_source():
    log = ("[ERROR] Traceback (most recent call last):\n  File \"x.py\", line 1, in y\n"
           "    RuntimeError: Hidden test region detected in a non-grade cell; please make sure all solution "
           "regions are within 'Autograder tests' cells.\n[ERROR] Please see the the above traceback for details\n"
           "nbgrader.converters.base.NbGraderException: Please see the the above traceback for details")
    assert nbgrader_reason(log) == ("RuntimeError: Hidden test region detected in a non-grade cell; please make sure "
                                    "all solution regions are within 'Autograder tests' cells.")
    assert nbgrader_reason("jsonschema.exceptions.ValidationError: nbgrader cell does not have a grade_id: x = 1\n"
                           "assert x") == "ValidationError: nbgrader cell does not have a grade_id"


@pytest.mark.parametrize("source, shows", [
    ("assert f() == 1\nf()", True),  # nbgrader would read the number as partial credit
    ("assert f() == 1\nf();", False),
    ("assert f() == 1\nprint(f())", False),
    ("assert f() == 1\npd.testing.assert_frame_equal(a, b)", False),
    ("assert f() == 1", False),
])
def test_a_test_cell_that_shows_a_value(source, shows):
    nb = _nb("def f(): return 1", source, test=1)
    assert any("nbgrader takes a number shown there as the cell's points" in p for p in metadata_problems(nb)) == shows


def test_the_slowest_cells_are_named():
    nb = _nb("import torch", "h = fit(net, a, b, opt, epochs=40)", "x = 1")
    for cell, (start, end) in zip(nb.cells, [("00:00:00", "00:00:03.2"), ("00:00:04", "00:00:21"), ("00:00:21", "00:00:21.1")]):
        cell.metadata["execution"] = {"iopub.execute_input": f"2026-01-01T{start}Z", "shell.execute_reply": f"2026-01-01T{end}Z"}
    assert slowest(nb) == "In [2] 17 s, In [1] 3 s"


def test_the_mutant_that_changes_state_is_named():
    from autograde.check.metadata_lint import tasks
    from autograde.check.mutate import mutants
    from autograde.check.mutation_run import KEY, failed_restores, instrument, restore_problem, state_changer

    answer = new_code_cell("def grow(x):\n    ### BEGIN SOLUTION\n    DATA.append(x)\n    return len(DATA) + 0\n    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "grow"}
    nb = _nb("DATA = [1, 2]", "assert grow(3) == 3", test=1)
    nb.cells.insert(1, answer)
    (task,) = tasks(nb)
    found = mutants(answer.source)[:3]
    plan = {"grow": (task, found)}
    assert failed_restores(nbformat.writes(instrument(nb, {"grow": (task, [])}, 5)), plan) == {}  # no mutant ran
    executed = instrument(nb, plan, 5, restore_each=True)
    for cell in executed.cells:  # as if the second mutant appended to DATA: every restore after it fails
        meta = cell.metadata.get(KEY, {})
        if meta.get("role") == "restore" and meta.get("mutant") in (f"after {found[1].id}", f"after {found[2].id}", ""):
            cell.outputs = [new_output("error", ename="AssertionError", evalue="", traceback=[])]
    failed = failed_restores(nbformat.writes(executed), plan)
    assert list(failed) == ["grow"]
    changer = state_changer(nbformat.writes(executed), "grow", found)
    assert changer == found[1]
    assert f"mutant {found[1].id} ({found[1].description}) changed state they read" in \
        restore_problem("grow", failed["grow"], found, changer)
