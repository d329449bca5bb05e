"""For "write it yourself" tasks: the library routes to a result that the student must compute fail while
the student's answer runs.

A hidden test wraps the call of the student's function::

    with write_it_yourself("torch.softmax", "F.softmax"):
        P = softmax(O)

Names are written as in the task text: ``torch.x``, ``F.x`` (torch.nn.functional), ``nn.X`` (a module
class or ``nn.init``), ``Tensor.x``, ``torch.optim``. The check is by what executes, not by spelling:

- torch functions are caught by identity through a ``TorchFunctionMode`` (each name also covers the other
  spellings listed in ``ALSO``: ``O.softmax(1)`` is ``torch.softmax``), so a reference kept under another
  name is caught too; plain Python functions (``nn.init``) and module classes are swapped on their module
  or class and restored on exit, even on error;
- the ATen operators that compute the forbidden result (``OPERATORS``: the softmax by way of an
  exponentiated log-softmax, batch norm by way of instance or layer norm...) are refused by a
  ``TorchDispatchMode`` (and their ``torch.ops.aten`` spellings by the function mode), whatever Python
  name reached them; the operators a hand-written answer needs (exp, sum, max, mean, clamp...) and the
  ones their autograd backward emits are never in the list;
- ``Tensor.backward``/``torch.autograd.*`` refuse the autograd engine itself, ``torch.optim`` every
  optimiser's step (a global step pre-hook) and the functional optimisers;
- every object bound in the calling namespace (the notebook's) is checked by identity when the block
  starts: an alias bound before the answer runs (``from torch.nn.init import xavier_uniform_ as f``),
  also as a default argument or in a closure, fails there.

The error names the route (``aten::_log_softmax``, ``F.softmax``), the answer's function it ran in and
what the task forbids. Nothing the grading sandbox's tamper checks compare (builtins,
``torch.allclose``...) is touched.
"""
from __future__ import annotations

import functools
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch.autograd.variable import Variable
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

SHORT = {"F": "torch.nn.functional", "nn": "torch.nn", "Tensor": "torch.Tensor"}
# Other spellings of one operation: forbidding the key forbids these as well.
ALSO = {
    "torch.softmax": ("Tensor.softmax", "torch.special.softmax"),
    "F.softmax": ("nn.Softmax",),
    "torch.log_softmax": ("Tensor.log_softmax", "torch.special.log_softmax"),
    "F.log_softmax": ("nn.LogSoftmax",),
    "torch.logsumexp": ("Tensor.logsumexp", "torch.special.logsumexp"),
    "F.cross_entropy": ("torch._C._nn.cross_entropy_loss", "F.kl_div", "nn.KLDivLoss"),
    "F.nll_loss": ("nn.NLLLoss",),
    "torch.relu": ("Tensor.relu", "torch.relu_", "Tensor.relu_"),
    "F.relu": ("F.relu_", "F.threshold", "F.leaky_relu", "F.hardtanh", "F.relu6"),
    "F.dropout": ("torch.dropout",),
    "torch.dropout": ("torch.dropout_", "torch.feature_dropout", "torch.alpha_dropout"),
    "torch.batch_norm": ("torch.native_batch_norm",),
    "F.batch_norm": ("F.instance_norm", "F.layer_norm", "F.group_norm"),
    "torch.cdist": ("torch.pdist", "torch.dist", "torch.pairwise_distance", "torch.cosine_similarity"),
    "F.pairwise_distance": ("nn.PairwiseDistance", "F.pdist"),
    "F.cosine_similarity": ("nn.CosineSimilarity",),
    "torch.optim": ("torch.optim._functional",),
}
# ATen operators (every overload) that compute what a name computes, by any route; a trailing * is a prefix.
_SOFTMAX = ("softmax", "_softmax", "_safe_softmax", "log_softmax", "_log_softmax", "logsumexp",
            "special_softmax", "special_log_softmax", "special_logsumexp")
_CROSS_ENTROPY = ("cross_entropy_loss", "nll_loss", "nll_loss_nd", "nll_loss_forward", "nll_loss2d",
                  "nll_loss2d_forward", "kl_div")
_RELU = ("relu", "relu_", "threshold", "threshold_", "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_",
         "relu6", "relu6_", "rrelu_with_noise", "rrelu_with_noise_", "prelu", "_prelu_kernel")
_DROPOUT = ("dropout", "dropout_", "native_dropout", "feature_dropout", "feature_dropout_", "alpha_dropout",
            "alpha_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_")
_NORMALISATION = ("batch_norm", "native_batch_norm", "_native_batch_norm_legit*", "_batch_norm_*",
                  "cudnn_batch_norm", "miopen_batch_norm", "instance_norm", "layer_norm", "native_layer_norm",
                  "group_norm", "native_group_norm")
_DISTANCE = ("cdist", "_cdist_forward", "_euclidean_dist", "pdist", "_pdist_forward", "pairwise_distance",
             "cosine_similarity", "dist")
OPERATORS = {
    **dict.fromkeys(("torch.softmax", "F.softmax", "torch.log_softmax", "F.log_softmax", "torch.logsumexp"),
                    _SOFTMAX),
    **dict.fromkeys(("F.cross_entropy", "nn.CrossEntropyLoss", "F.nll_loss"), _CROSS_ENTROPY),
    **dict.fromkeys(("torch.relu", "F.relu", "nn.ReLU"), _RELU),
    **dict.fromkeys(("F.dropout", "nn.Dropout", "torch.dropout"), _DROPOUT),
    **dict.fromkeys(("F.batch_norm", "torch.batch_norm", "nn.BatchNorm1d"), _NORMALISATION),
    **dict.fromkeys(("torch.cdist", "F.pairwise_distance", "F.cosine_similarity"), _DISTANCE),
    "torch.optim": ("_foreach_*", "_fused_*"),
}
ENGINE = ("Tensor.backward", "torch.autograd.grad", "torch.autograd.backward")  # refuse the autograd engine


class WriteItYourselfError(RuntimeError):
    """A library route to the result that the task asks the student to compute was taken."""


def _resolve(name: str) -> object:
    """The object a task-text name such as ``F.softmax`` or ``nn.init`` refers to."""
    head, _, rest = name.partition(".")
    path = f"{SHORT.get(head, head)}.{rest}" if rest else SHORT.get(head, head)
    parts = path.split(".")
    if parts[0] != "torch":
        raise ValueError(f"write_it_yourself: {name!r} is not a torch name; write torch.x, F.x, nn.X or Tensor.x")
    obj: object = torch
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"write_it_yourself: {name!r} does not exist ({'.'.join(parts[:i])} has no {part!r})") from None
    return obj


def _targets(name: str) -> list[tuple[str, object, object | None, str | None]]:
    """(shown name, object, owner, attribute) for ``name``: one entry, or one per function of a module (its
    private helpers too: ``nn.init._no_grad_uniform_`` is nn.init).

    A module's function is swapped on the module and, where it was defined elsewhere (``torch.optim._functional``
    re-exports ``torch.optim.sgd.sgd``), on its home module too.
    """
    obj = _resolve(name)
    if isinstance(obj, types.ModuleType):  # a whole module such as nn.init: each of its functions
        found = []
        for attr, value in vars(obj).items():
            if inspect.isfunction(value) and value.__module__.startswith("torch.") and not attr.startswith("__"):
                home = sys.modules.get(value.__module__)
                owners = [obj] + ([home] if home is not obj and getattr(home, attr, None) is value else [])
                found += [(f"{name}.{attr}", value, owner, attr) for owner in owners]
        return found
    owner_name, _, attr = name.rpartition(".")
    owner = _resolve(owner_name) if owner_name else None
    # Python functions found on a module are swapped there; builtins and Tensor methods are not (the mode sees them).
    swap = isinstance(owner, types.ModuleType) and inspect.isfunction(obj)
    return [(name, obj, owner if swap else None, attr if swap else None)]


def _operator_name(func: object) -> str | None:
    """``_softmax`` for aten._softmax (packet or overload), None for anything that is not an ATen operator."""
    schema = getattr(func, "_schema", None)
    if schema is None:
        overloads = getattr(func, "_qualified_op_name", None)
        return overloads.partition("::")[2] if isinstance(overloads, str) and overloads.startswith("aten::") else None
    return schema.name.partition("::")[2] if schema.name.startswith("aten::") else None


class _Refusals:
    """What the block refuses and the messages it raised (also those the answer caught and hid)."""

    def __init__(self, listed: str):
        self.listed = listed
        self.calls: list[str] = []
        self.by_id: dict[int, Callable[[], None]] = {}  # id(forbidden object) -> refusal
        self.operators: dict[str, str] = {}  # ATen operator name or prefix* -> the task name it computes
        self.frame = None  # the frame of the `with` statement, set on entry

    def refusal(self, shown: str, named: str) -> Callable[..., None]:
        """A callable that raises the error for ``shown`` (a spelling of the task-text name ``named``)."""
        def refuse(*args, **kwargs):
            self.refuse(shown if shown == named else f"{shown} (the same as {named})")
        return refuse

    def refuse(self, what: str) -> None:
        task = _answer_function(self.frame)
        where = f"in {task}(); " if task else ""
        message = f"write it yourself: {what} is not allowed in this task ({where}it forbids {self.listed})"
        self.calls.append(message)
        raise WriteItYourselfError(message)

    def operator(self, func: object) -> str | None:
        """The task name whose result ATen operator ``func`` computes, or None if it is allowed."""
        name = _operator_name(func)
        if name is None:
            return None
        if name in self.operators:
            return self.operators[name]
        return next((named for prefix, named in self.operators.items()
                     if prefix.endswith("*") and name.startswith(prefix[:-1])), None)

    def refuse_operator(self, func: object) -> None:
        named = self.operator(func)
        if named is not None:  # a module (torch.optim) runs the operator; a function computes what it does
            how = f"an operator {named} uses" if isinstance(_resolve(named), types.ModuleType) else f"it computes {named}"
            self.refuse(f"aten::{_operator_name(func)} ({how})")


def _answer_function(frame) -> str | None:
    """The outermost function, called from the `with` block's frame, that the current call runs in."""
    if frame is None:
        return None
    current, name = sys._getframe(2), None
    while current is not None and current is not frame:
        if current.f_globals is frame.f_globals and not current.f_code.co_name.startswith("<"):
            name = current.f_code.co_name
        current = current.f_back
    return name if current is frame else None


class _ForbidFunctions(TorchFunctionMode):
    """Sees every torch function call in the block and refuses the forbidden ones (by identity or operator)."""

    def __init__(self, refusals: _Refusals):
        super().__init__()
        self.refusals = refusals

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if id(func) in self.refusals.by_id:
            self.refusals.by_id[id(func)]()
        self.refusals.refuse_operator(func)  # torch.ops.aten.x(...) spellings, including composite ones
        return func(*args, **(kwargs or {}))


class _ForbidOperators(TorchDispatchMode):
    """Sees every ATen operator that runs in the block, whatever Python route reached it, and refuses the forbidden."""

    def __init__(self, refusals: _Refusals):
        super().__init__()
        self.refusals = refusals

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.refusals.refuse_operator(func)
        return func(*args, **(kwargs or {}))


class _RefusingEngine:
    """Stands in for the autograd engine: any backward pass, by whatever Python route, is refused."""

    def __init__(self, refuse: Callable[[], None]):
        self._refuse = refuse

    def __getattr__(self, name: str):
        self._refuse()


def _layers(obj: object) -> list[object]:
    """``obj`` and the functions it wraps (``__wrapped__``, as functools.wraps and torch's decorators set it)."""
    found = [obj]
    while len(found) < 16:
        try:
            inner = inspect.getattr_static(found[-1], "__wrapped__", None)
        except Exception:  # noqa: BLE001 - an object whose attribute lookup itself fails wraps nothing we know
            break
        if inner is None or any(inner is seen for seen in found):
            break
        found.append(inner)
    return found


def _bound_objects(value: object, namespace: dict) -> list[object]:
    """``value`` and what it carries: a partial's function, the defaults and closure of a function defined in
    ``namespace`` (not of helpers imported into it, such as course.fit with its loss_fn=F.cross_entropy)."""
    found = _layers(value)
    if isinstance(value, functools.partial):
        found += [value.func, *value.args, *value.keywords.values()]
    if inspect.isfunction(value) and value.__globals__ is namespace:
        found += list(value.__defaults__ or ()) + list((value.__kwdefaults__ or {}).values())
        for cell in value.__closure__ or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
    return found


def _check_namespace(namespace: dict, refusals: _Refusals) -> None:
    """Refuse if the namespace binds a forbidden object under any name (an alias made before the answer ran)."""
    for variable, value in list(namespace.items()):
        if isinstance(value, types.ModuleType):
            continue
        for obj in _bound_objects(value, namespace):
            refuse = refusals.by_id.get(id(obj))
            if refuse is not None:
                try:
                    refuse()
                except WriteItYourselfError as error:
                    message = f"{error} [bound as {variable!r} in the notebook]"
                    refusals.calls[-1] = message
                    raise WriteItYourselfError(message) from None


def _collect(names: tuple[str, ...], refusals: _Refusals) -> dict:
    """Fill ``refusals`` for ``names``; the swaps to make: {(id(owner), attr): (owner, attr, original, stand-in)}."""
    swaps: dict[tuple[int, str], tuple[object, str, object | None, object]] = {}
    for named in names:
        for operator in OPERATORS.get(named, ()):
            refusals.operators.setdefault(operator, named)
    # the names themselves first, so that an object two names share is shown as the task names it
    spellings = [(named, named) for named in names] + [(also, named) for named in names for also in ALSO.get(named, ())]
    for spelling, named in spellings:
        for shown, obj, owner, attr in _targets(spelling):
            refuse = refusals.refusal(shown, named if spelling != named else shown)
            for layer in _layers(obj):  # obj.__wrapped__ bound before the answer ran is the same route
                refusals.by_id.setdefault(id(layer), refuse)
            if inspect.isclass(obj):  # a module class: its forward refuses, however the class was reached
                swaps.setdefault((id(obj), "forward"), (obj, "forward", obj.__dict__.get("forward"), refuse))
            elif owner is not None:
                swaps.setdefault((id(owner), attr), (owner, attr, obj, refuse))
    return swaps


@contextmanager
def _swapped(swaps: dict) -> Iterator[None]:
    """Each (owner, attr) bound to its stand-in within the block; the originals restored on exit, even on error."""
    done: list[tuple[object, str, object | None]] = []
    try:
        for owner, attr, original, stand_in in swaps.values():
            setattr(owner, attr, stand_in)
            done.append((owner, attr, original))
        yield
    finally:
        for owner, attr, original in reversed(done):
            if original is None:  # forward was inherited: remove our own
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)


def _caller_frame():
    """The frame of the `with write_it_yourself(...)` statement."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") in ("contextlib", __name__):
        frame = frame.f_back
    return frame


@contextmanager
def write_it_yourself(*names: str) -> Iterator[None]:
    """Within the block, every route to the result of a library function in ``names`` raises WriteItYourselfError.

    An error the student's code catches and hides is raised again when the block ends.
    """
    if not names:
        raise ValueError("write_it_yourself needs at least one name, e.g. write_it_yourself('torch.softmax')")
    refusals = _Refusals(", ".join(names))
    swaps = _collect(names, refusals)
    refusals.frame = _caller_frame()
    if refusals.frame is not None:
        _check_namespace(refusals.frame.f_globals, refusals)
    with ExitStack() as stack:
        stack.enter_context(_swapped(swaps))
        if any(name in ENGINE for name in names):
            engine = _RefusingEngine(refusals.refusal("the autograd engine", " or ".join(ENGINE)))
            stack.enter_context(_swapped({0: (Variable, "_execution_engine", Variable._execution_engine, engine)}))
        if "torch.optim" in names:
            hook = register_optimizer_step_pre_hook(lambda optimizer, args, kwargs: refusals.refuse(
                f"{type(optimizer).__name__}.step (an optimiser's own update)"))
            stack.callback(hook.remove)
        stack.enter_context(_ForbidFunctions(refusals))
        stack.enter_context(_ForbidOperators(refusals))
        yield
    if refusals.calls:  # the student's code caught the error and went on
        raise WriteItYourselfError(refusals.calls[0])
