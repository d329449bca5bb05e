"""course.scratch: library functions a task forbids raise while the answer runs, and are restored afterwards."""
import ast
import builtins
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import WriteItYourselfError, write_it_yourself
from tests.support.paths import REPO



def naive_softmax(O):
    e = torch.exp(O - O.max(dim=1, keepdim=True).values)
    return e / e.sum(dim=1, keepdim=True)


@pytest.mark.parametrize("call, shown", [
    (lambda O: torch.softmax(O, 1), "torch.softmax is"),
    (lambda O: O.softmax(1), "Tensor.softmax (the same as torch.softmax) is"),
    (lambda O: torch.special.softmax(O, 1), "torch.special.softmax (the same as torch.softmax) is"),
    (lambda O: F.softmax(O, dim=1), "F.softmax is"),
    (lambda O: nn.Softmax(dim=1)(O), "nn.Softmax (the same as F.softmax) is"),
])
def test_every_spelling_of_a_forbidden_function_raises_with_the_task_names(call, shown):
    with pytest.raises(WriteItYourselfError) as error:
        with write_it_yourself("torch.softmax", "F.softmax"):
            call(torch.randn(3, 4))
    assert str(error.value) == (f"write it yourself: {shown} not allowed in this task "
                                "(it forbids torch.softmax, F.softmax)")


def test_a_reference_kept_under_another_name_is_caught():
    keep = torch.log_softmax  # as in `from torch import log_softmax as ls` before the block
    with pytest.raises(WriteItYourselfError, match="torch.log_softmax is not allowed"):
        with write_it_yourself("torch.log_softmax"):
            keep(torch.randn(2, 3), dim=1)


def test_a_whole_module_and_a_module_class_are_forbidden_and_restored():
    originals = (nn.init.xavier_uniform_, nn.init.uniform_, nn.BatchNorm1d.forward, F.batch_norm)
    weight = torch.empty(5, 4)
    with pytest.raises(WriteItYourselfError, match=r"nn.init.xavier_uniform_ is not allowed .*\(it forbids nn.init\)"):
        with write_it_yourself("nn.init"):
            nn.init.xavier_uniform_(weight)
    with pytest.raises(WriteItYourselfError, match="nn.BatchNorm1d is not allowed"):
        with write_it_yourself("F.batch_norm", "nn.BatchNorm1d"):
            nn.BatchNorm1d(4)(torch.randn(3, 4))
    assert (nn.init.xavier_uniform_, nn.init.uniform_, nn.BatchNorm1d.forward, F.batch_norm) == originals
    assert nn.BatchNorm1d(4)(torch.randn(3, 4)).shape == (3, 4)


def test_allowed_operations_work_and_give_the_same_results_inside():
    O = torch.randn(6, 5, generator=torch.Generator().manual_seed(0))
    expected = torch.softmax(O, dim=1)
    with write_it_yourself("torch.softmax", "F.softmax", "F.cross_entropy", "nn.init", "F.dropout"):
        got = naive_softmax(O)
        weight = torch.empty(3, 3).uniform_(-1, 1)  # what a from-scratch Xavier uses
    assert torch.allclose(got, expected)
    assert weight.abs().max() <= 1


def test_everything_is_restored_after_an_error_in_the_answer():
    before = (F.softmax, nn.Softmax.forward, torch._C._len_torch_function_stack())
    with pytest.raises(ZeroDivisionError):
        with write_it_yourself("torch.softmax", "F.softmax"):
            1 / 0
    assert (F.softmax, nn.Softmax.forward, torch._C._len_torch_function_stack()) == before
    assert torch.allclose(F.softmax(torch.zeros(1, 2), dim=1), torch.full((1, 2), 0.5))


def test_an_error_the_answer_swallows_is_raised_when_the_block_ends():
    def sneaky(O):
        try:
            return torch.softmax(O, 1)
        except Exception:
            return naive_softmax(O)
    with pytest.raises(WriteItYourselfError, match="torch.softmax is not allowed"):
        with write_it_yourself("torch.softmax"):
            sneaky(torch.randn(2, 2))


def test_what_the_tamper_checks_compare_is_never_touched():
    # autograde/grading/tamper.py compares these between a baseline and every test cell's checkpoint.
    watched = (torch.allclose, torch.isclose, torch.equal, builtins.isinstance, builtins.len, builtins.abs)
    with write_it_yourself("torch.softmax", "F.softmax", "nn.init", "F.batch_norm", "nn.BatchNorm1d"):
        assert (torch.allclose, torch.isclose, torch.equal) == watched[:3]
        assert torch.allclose(torch.zeros(1), torch.zeros(1)) and not torch.equal(torch.zeros(1), torch.ones(1))
    assert (torch.allclose, torch.isclose, torch.equal, builtins.isinstance, builtins.len, builtins.abs) == watched


@pytest.mark.parametrize("names, problem", [((), "at least one name"), (("numpy.exp",), "not a torch name"),
                                            (("F.sofmax",), "has no 'sofmax'")])
def test_bad_names_get_a_clear_error(names, problem):
    with pytest.raises(ValueError, match=problem):
        with write_it_yourself(*names):
            pass


def _uses(source: str) -> list[list[str]]:
    """The string arguments of every write_it_yourself(...) call in a cell's source."""
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "write_it_yourself"]
    return [[arg.value for arg in call.args] for call in calls]


def _guarded_tests() -> list[tuple[str, str, list[str]]]:
    """(notebook, grade_id, names) for every test cell that forbids library functions."""
    found = []
    for path in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        task_text = ""
        for cell in cells:
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and "### Task" in source:
                task_text = source
            if cell["cell_type"] == "code" and "write_it_yourself" in source:
                for names in _uses(source):
                    found.append((path.name, cell["metadata"]["nbgrader"]["grade_id"], names, task_text))
    return found


def test_each_task_text_names_exactly_what_its_test_forbids():
    guarded = _guarded_tests()
    assert {notebook for notebook, *_ in guarded} >= {"04-softmax-regression.ipynb", "05-mlp.ipynb",
                                                      "07-regularisation.ipynb", "08-initialisation.ipynb",
                                                      "09-batchnorm.ipynb"}
    for notebook, grade_id, names, task_text in guarded:
        missing = [name for name in names if f"`{name}`" not in task_text]
        assert not missing, f"{notebook} {grade_id}: the task text does not name {missing}"
