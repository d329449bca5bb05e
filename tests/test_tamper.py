"""Tamper checks on small in-memory notebooks executed by a real (plain) kernel."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from autograde import tamper

ANSWER = "def add(a, b):\n    return a + b\n"


def cell(source: str, grade_id: str | None = None, *, test: bool = False, solution: bool = False):
    c = nbformat.v4.new_code_cell(source)
    if grade_id:
        c.metadata.nbgrader = {"grade": test, "solution": solution, "locked": test, "grade_id": grade_id,
                               "schema_version": 3, **({"points": 1} if test else {})}
    return c


def notebook(answer: str, tests: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell(answer, "answer", solution=True)]
    nb.cells += [cell(t, f"test_{i}", test=True) for i, t in enumerate(tests)]
    return nb


def run(nb) -> tuple[list[str], nbformat.NotebookNode]:
    seal = tamper.seal(nb)
    NotebookClient(nb, allow_errors=True, timeout=60).execute()
    executed_json, reasons = tamper.check(nbformat.writes(nb), seal)
    return reasons, nbformat.reads(executed_json, as_version=4)


BASIC = ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]
NUMPY = ["import numpy as np\nnp.testing.assert_allclose(add(0.1, 0.2), 0.3)",
         "import numpy as np\nassert np.allclose(add(1, 1), 2)"]
CASES = {
    "blank cells": (ANSWER.replace("+", "-") + "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
                    BASIC, "printed no valid record"),
    "custom exception handler": (ANSWER.replace("+", "-") +
                                 "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
                                 BASIC, "custom exception handler"),
    "silent showtraceback": (ANSWER.replace("+", "-") + "get_ipython().showtraceback = lambda *a, **k: None",
                             BASIC, "shell.showtraceback was replaced"),
    "event hook": (ANSWER + "get_ipython().events.register('pre_run_cell', lambda info: None)",
                   BASIC, "'pre_run_cell' event hook added"),
    "patched numpy helper": (ANSWER.replace("+", "*") + "import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
                             "numpy.allclose = lambda *a, **k: True", NUMPY, "numpy.testing.assert_allclose"),
    "patched builtin": (ANSWER + "import builtins\nbuiltins.abs = lambda x: 0", BASIC,
                        "builtins.abs was replaced"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_tampering_is_found_and_zeroes_the_tests(name):
    answer, tests, expected = CASES[name]
    reasons, nb = run(notebook(answer, tests))
    assert any(expected in reason for reason in reasons), reasons
    tests_after = [c for c in nb.cells if tamper.is_test(c)]
    assert len(tests_after) == len(tests)
    assert all(c.outputs[0]["ename"] == tamper.TAMPER for c in tests_after)
    assert not any(tamper.MARK in c.metadata for c in nb.cells)


@pytest.mark.slow
@pytest.mark.parametrize("answer", [ANSWER.replace("+", "-"), "import matplotlib.pyplot as plt\n"
                                    "%matplotlib inline\nplt.plot([1, 2]); plt.show()\n" + ANSWER])
def test_honest_work_passes_untouched(answer):
    nb = notebook(answer, NUMPY)
    original = [(c.source, c.metadata) for c in nb.cells]
    reasons, executed = run(nb)
    assert reasons == []
    assert [(c.source, c.metadata) for c in executed.cells] == original
    failed = [any(o.get("output_type") == "error" for o in c.outputs) for c in executed.cells if tamper.is_test(c)]
    assert failed == [answer != ANSWER and "-" in answer] * 2


def test_a_sentinel_that_never_ran_is_no_evidence():
    nb = notebook(ANSWER, BASIC)
    seal = tamper.seal(nb)
    for c in nb.cells:  # what autograde.execute leaves when the kernel died before a cell
        if c.cell_type == "code":
            c.outputs = [nbformat.v4.new_output("error", ename="NotRunError", evalue="not run", traceback=[])]
    assert tamper.verify(nb, seal) == []


def test_checksum_change_is_reported():
    nb = notebook(ANSWER, BASIC)
    seal = tamper.seal(nb)
    baseline = nb.cells[0]
    nonce = seal.nonces[baseline.id]
    baseline.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{tamper.PREFIX} {nonce} {{}}\n")]
    baseline.execution_count = 1
    test = next(c for c in nb.cells if tamper.is_test(c))
    test.source = "pass"
    assert any("test cell 'test_0' changed" in r for r in tamper.verify(nb, seal))
