"""course.scratch: library functions a task forbids raise while the answer runs, and are restored afterwards."""
import ast
import builtins
import functools
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
            _ = 1 / 0
    assert (F.softmax, nn.Softmax.forward, torch._C._len_torch_function_stack()) == before
    assert torch.allclose(F.softmax(torch.zeros(1, 2), dim=1), torch.full((1, 2), 0.5))


def test_an_error_the_answer_swallows_is_raised_when_the_block_ends():
    def sneaky(O):
        try:
            return torch.softmax(O, 1)
        except Exception:  # noqa: BLE001 - what a student who hides the refusal writes
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


# --- enforcement by what executes: operators, aliases, the autograd engine, optimisers


@pytest.mark.parametrize("names, route, shown", [
    (("torch.softmax", "F.softmax"), lambda O: torch.exp(torch.log_softmax(O, 1)), "aten::_log_softmax"),
    (("torch.softmax", "F.softmax"), lambda O: torch.ops.aten._softmax(O, 1, False), "aten::_softmax"),
    (("torch.log_softmax",), lambda O: torch.log(torch.special.softmax(O, 1)), "aten::_softmax"),
    (("torch.relu",), lambda O: torch.ops.aten.relu(O), "aten::relu"),
    (("F.batch_norm",), lambda O: torch.ops.aten.native_batch_norm(O, None, None, None, None, True, 0.1, 1e-5)[0],
     "aten::native_batch_norm"),
    (("torch.cdist",), lambda O: torch.ops.aten._euclidean_dist(O, O), "aten::_euclidean_dist"),
    (("torch.optim",), lambda O: torch._foreach_add_([O], [O]), "aten::_foreach_add_"),
])
def test_an_operator_that_computes_the_forbidden_result_is_refused_whatever_called_it(names, route, shown):
    how = "an operator torch.optim uses" if names == ("torch.optim",) else f"it computes {names[0]}"
    with pytest.raises(WriteItYourselfError, match=f"write it yourself: {shown} \\({how}\\)"):
        with write_it_yourself(*names):
            route(torch.randn(3, 4))


@pytest.mark.parametrize("names, route, shown", [
    (("F.dropout",), lambda X: torch._VF.dropout(X, 0.5, True), "torch.dropout \\(the same as F.dropout\\)"),  # CPU dropout is no one ATen op
    (("F.batch_norm",), lambda X: F.layer_norm(X.T, (X.shape[0],)).T, "F.layer_norm"),
    (("F.batch_norm",), lambda X: nn.InstanceNorm1d(4)(X.T[None]), "F.instance_norm"),
    (("F.relu",), lambda X: F.hardtanh(X, 0.0, float("inf")), "F.hardtanh"),
    (("torch.cdist",), lambda X: F.pairwise_distance(X[:, None], X[None]), "torch.pairwise_distance"),
])
def test_another_library_function_with_the_same_result_is_refused(names, route, shown):
    with pytest.raises(WriteItYourselfError, match=f"write it yourself: {shown} "):
        with write_it_yourself(*names):
            route(torch.randn(3, 4))


def test_the_autograd_engine_is_refused_by_every_python_route():
    routes = [lambda w: (w ** 2).sum().backward(), lambda w: torch.func.grad(lambda v: (v ** 2).sum())(w.detach()),
              lambda w: torch.autograd.functional.vjp(lambda v: (v ** 2).sum(), w.detach())]
    for route in routes:
        with pytest.raises(WriteItYourselfError, match="is not allowed in this task"):
            with write_it_yourself("Tensor.backward", "torch.autograd.grad", "torch.autograd.backward"):
                route(torch.ones(2, requires_grad=True))
    w = torch.ones(2, requires_grad=True)
    (w ** 2).sum().backward()  # restored
    assert torch.equal(w.grad, torch.full((2,), 2.0))


def test_an_optimisers_own_step_is_refused_and_a_step_by_hand_is_not():
    p = torch.ones(2, requires_grad=True)
    p.grad = torch.ones(2)
    with pytest.raises(WriteItYourselfError, match="write it yourself: SGD.step \\(an optimiser's own update\\)"):
        with write_it_yourself("torch.optim"):
            torch.optim.SGD([p], lr=0.1, weight_decay=0.5).step()
    with write_it_yourself("torch.optim"):
        with torch.no_grad():
            p.sub_(p.grad, alpha=0.1)
    torch.optim.SGD([p], lr=0.1).step()  # the hook is gone after the block
    assert torch.allclose(p.detach(), torch.full((2,), 0.8))


def answer_with_alias(O):
    return ALIAS(O, dim=1)


def test_an_alias_bound_before_the_answer_runs_is_refused_with_its_name():
    global ALIAS
    ALIAS = F.softmax  # as `from torch.nn.functional import softmax as ALIAS` in an answer cell
    try:
        with pytest.raises(WriteItYourselfError, match="F.softmax is not allowed .* \\[bound as 'ALIAS'"):
            with write_it_yourself("torch.softmax", "F.softmax"):
                pass
    finally:
        del ALIAS


def test_the_function_a_forbidden_one_wraps_is_refused_when_bound_before_the_answer_runs():
    global inner, rewrapped
    assert hasattr(nn.utils.clip_grad_norm_, "__wrapped__")  # torch's no-grad decorator keeps the inner function
    inner = nn.utils.clip_grad_norm_.__wrapped__  # as `f = nn.utils.clip_grad_norm_.__wrapped__` in an answer cell
    try:
        with pytest.raises(WriteItYourselfError, match="nn.utils.clip_grad_norm_ is not allowed .* \\[bound as 'inner'"):
            with write_it_yourself("nn.utils"):
                pass
        del inner

        @functools.wraps(F.softmax)  # a wrapper of the student's own around the forbidden function
        def rewrapped(*args, **kwargs):
            return 0
        with pytest.raises(WriteItYourselfError, match="F.softmax is not allowed .* \\[bound as 'rewrapped'"):
            with write_it_yourself("F.softmax"):
                pass
    finally:
        globals().pop("inner", None)
        globals().pop("rewrapped", None)


def test_a_library_function_kept_as_a_default_argument_is_refused():
    global by_default
    def by_default(weight, initialise=nn.init.xavier_uniform_):
        return initialise(weight)
    try:
        with pytest.raises(WriteItYourselfError, match="nn.init.xavier_uniform_ is not allowed .* \\[bound as 'by_default'"):
            with write_it_yourself("nn.init"):
                pass
    finally:
        del by_default


def hand_written_softmax(O):
    return naive_softmax(O)


def test_the_refusal_names_the_answer_function_it_ran_in():
    def softmax_by_log(O):
        return torch.log_softmax(O, 1).exp()
    with pytest.raises(WriteItYourselfError, match="in softmax_by_log\\(\\); it forbids torch.softmax"):
        with write_it_yourself("torch.softmax"):
            softmax_by_log(torch.randn(2, 3))


def test_what_a_hand_written_answer_needs_and_its_backward_still_run():
    X = torch.randn(8, 5, requires_grad=True)
    names = ("torch.softmax", "F.softmax", "torch.log_softmax", "torch.relu", "F.relu", "F.batch_norm",
             "F.dropout", "torch.cdist", "torch.optim", "nn.init")
    with write_it_yourself(*names):
        P = hand_written_softmax(X)
        R = torch.clamp(X, min=0) + torch.maximum(X, torch.zeros(())) + torch.where(X > 0, X, 0.0)
        B = (X - X.mean(dim=0)) / torch.sqrt(X.var(dim=0, unbiased=False) + 1e-5)
        D = (torch.rand(X.shape) > 0.5).to(X.dtype) * X / 0.5
        S = ((X[:, None, :] - X[None, :, :]) ** 2).sum(dim=-1)
        (P.sum() + R.sum() + B.pow(3).sum() + D.sum() + S.sum()).backward()  # the backward of allowed operators
        torch.empty(3, 3).uniform_(-1, 1).normal_(0, 1)
    assert X.grad is not None and torch.isfinite(X.grad).all()


def test_library_defaults_of_an_imported_helper_are_not_an_alias():
    global imported_helper
    from course import fit as imported_helper  # its loss_fn defaults to F.cross_entropy
    try:
        with write_it_yourself("F.cross_entropy"):
            pass
    finally:
        del imported_helper
