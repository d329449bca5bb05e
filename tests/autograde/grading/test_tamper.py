"""Tamper checks on small in-memory notebooks executed by a real (plain) kernel."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from autograde.cells import is_test
from autograde.grading import tamper

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
    executed_json, reasons = tamper.unseal(nbformat.writes(nb), seal)
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
    tests_after = [c for c in nb.cells if is_test(c)]
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
    failed = [any(o.get("output_type") == "error" for o in c.outputs) for c in executed.cells if is_test(c)]
    assert failed == [answer != ANSWER and "-" in answer] * 2


def test_a_sentinel_that_never_ran_is_no_evidence():
    nb = notebook(ANSWER, BASIC)
    seal = tamper.seal(nb)
    for c in nb.cells:  # what autograde.grading.execute leaves when the kernel died before a cell
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
    test = next(c for c in nb.cells if is_test(c))
    test.source = "pass"
    assert any("test cell 'test_0' changed" in r for r in tamper.verify(nb, seal))


# Rebinding: tests rely on names the notebook's own cells bind (torch, np, a course helper) and on builtins.
SETUP = "import numpy as np\nimport torch\nfrom course import *\n"
REBIND_TESTS = ["assert torch.allclose(double(torch.tensor([1.0])), torch.tensor([2.0]))",
                "assert np.allclose(double(np.array([1.0, 2.0])), [2.0, 4.0])",
                "X = polynomial_features(torch.tensor([1.0, 2.0]), 2)\nassert torch.equal(double(X), 2 * X)",
                "assert len(double([1, 2])) == 4 and isinstance(double(3), int)"]
WRONG = "def double(x):\n    return x\n"
REBINDINGS = {
    "torch": ("real = torch\nclass Fake:\n    def __getattr__(self, name):\n        return getattr(real, name)\n"
              "    def allclose(self, *a, **k):\n        return True\ntorch = Fake()\n", "'torch'"),
    "np": ("import types\nnp = types.SimpleNamespace(allclose=lambda *a, **k: True, array=torch.tensor)\n", "'np'"),
    "a course helper": ("polynomial_features = lambda x, degree: torch.zeros(2, 3)\n", "'polynomial_features'"),
    "a builtin": ("len = lambda value: 4\n", "'len'"),
    "a name that puts itself back": (  # fools a check after the test, not the one before it
        "real_np = np\nclass Once:\n    def allclose(self, *a, **k):\n        globals()['np'] = real_np\n"
        "        return True\nnp = Once()\n", "'np'"),
}


def rebinding_notebook(answer: str) -> nbformat.NotebookNode:
    nb = notebook(answer, REBIND_TESTS)
    setup = nbformat.v4.new_code_cell(SETUP)
    setup.metadata.nbgrader = {"grade": False, "solution": False, "locked": True, "grade_id": "setup",
                               "schema_version": 3}
    nb.cells.insert(0, setup)
    return nb


def test_the_guarded_names_are_those_the_tests_take_from_the_notebook_and_builtins():
    guard = tamper.bindings.guarded_names(rebinding_notebook(WRONG), frozenset({"double"}))
    assert guard["torch"] == ("module", "torch") and guard["np"] == ("module", "numpy")
    assert guard["polynomial_features"] == ("loose", ["course"]) and guard["len"] == ("loose", ["course"])
    assert "double" not in guard and "X" not in guard  # the answer's name, and one the test binds itself


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REBINDINGS))
def test_rebinding_a_name_the_tests_use_is_tampering(name, fashion_root):
    answer, expected = REBINDINGS[name]
    nb = rebinding_notebook(WRONG + answer)
    reasons, executed = run_guarded(nb)
    assert any("rebound" in r and expected in r for r in reasons), reasons
    assert all(c.outputs[0]["ename"] == tamper.TAMPER for c in executed.cells if is_test(c))


@pytest.mark.slow
def test_honest_answers_that_import_again_are_not_tampering(fashion_root):
    answer = ("import numpy as np\nimport torch\nfrom course import *\nfrom course import polynomial_features\n"
              "def double(x):\n    values = x * 2\n    return values\n")
    reasons, executed = run_guarded(rebinding_notebook(answer))
    assert reasons == []
    errors = [o for c in executed.cells if is_test(c) for o in c.outputs if o.get("output_type") == "error"]
    assert errors == []


def run_guarded(nb) -> tuple[list[str], nbformat.NotebookNode]:
    seal = tamper.seal(nb, frozenset({"double"}))
    NotebookClient(nb, allow_errors=True, timeout=120).execute()
    executed_json, reasons = tamper.unseal(nbformat.writes(nb), seal)
    return reasons, nbformat.reads(executed_json, as_version=4)


@pytest.mark.slow
def test_patching_the_write_it_yourself_guard_is_tampering(fashion_root):
    answer = "import course.scratch\ncourse.scratch.write_it_yourself = lambda *names: __import__('contextlib').nullcontext()\n"
    reasons, _ = run_guarded(rebinding_notebook(WRONG.replace("x\n", "x * 2\n") + answer))
    assert any("course.scratch.write_it_yourself was replaced" in r for r in reasons), reasons
