"""For "write it yourself" tasks: named library functions raise an error while a student's answer runs.

A hidden test wraps the call of the student's function::

    with write_it_yourself("torch.softmax", "F.softmax"):
        P = softmax(O)

Names are written as in the task text: ``torch.x``, ``F.x`` (torch.nn.functional), ``nn.X`` (a module
class or ``nn.init``), ``Tensor.x``. Each name also covers the other spellings of the same operation
listed in ``ALSO`` (``O.softmax(1)`` is ``torch.softmax``). Torch functions are caught by identity through
a ``TorchFunctionMode``, so a reference kept under another name is caught too; plain Python functions
(``nn.init``) and module classes are swapped on their module or class and restored on exit, even on error.
Nothing the grading sandbox's tamper checks compare (builtins, ``torch.allclose``...) is touched.
"""
from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

SHORT = {"F": "torch.nn.functional", "nn": "torch.nn", "Tensor": "torch.Tensor"}
# Other spellings of one operation: forbidding the key forbids these as well.
ALSO = {
    "torch.softmax": ("Tensor.softmax", "torch.special.softmax"),
    "F.softmax": ("nn.Softmax",),
    "torch.log_softmax": ("Tensor.log_softmax", "torch.special.log_softmax"),
    "F.log_softmax": ("nn.LogSoftmax",),
    "torch.logsumexp": ("Tensor.logsumexp", "torch.special.logsumexp"),
    "F.cross_entropy": ("torch._C._nn.cross_entropy_loss",),
    "F.nll_loss": ("nn.NLLLoss",),
    "torch.relu": ("Tensor.relu", "torch.relu_", "Tensor.relu_"),
    "F.relu": ("F.relu_",),
    "torch.dropout": ("torch.dropout_",),
    "torch.batch_norm": ("torch.native_batch_norm",),
}


class WriteItYourselfError(RuntimeError):
    """A library function that the task asks the student to write was called."""


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
    """(shown name, object, owner, attribute) for ``name``: one entry, or one per function of a module."""
    obj = _resolve(name)
    if isinstance(obj, types.ModuleType):  # a whole module such as nn.init: each of its public functions
        return [(f"{name}.{attr}", value, obj, attr) for attr, value in vars(obj).items()
                if inspect.isfunction(value) and value.__module__ == obj.__name__ and not attr.startswith("_")]
    owner_name, _, attr = name.rpartition(".")
    owner = _resolve(owner_name) if owner_name else None
    # Python functions found on a module are swapped there; builtins and Tensor methods are not (the mode sees them).
    swap = isinstance(owner, types.ModuleType) and inspect.isfunction(obj)
    return [(name, obj, owner if swap else None, attr if swap else None)]


class _Forbid(TorchFunctionMode):
    """Sees every torch function call in the block and refuses the forbidden ones."""

    def __init__(self, refuse):
        super().__init__()
        self.refuse = refuse  # id(function) -> callable raising the error

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if id(func) in self.refuse:
            self.refuse[id(func)]()
        return func(*args, **(kwargs or {}))


@contextmanager
def write_it_yourself(*names: str) -> Iterator[None]:
    """Within the block, calling any library function in ``names`` raises WriteItYourselfError.

    An error the student's code catches and hides is raised again when the block ends.
    """
    if not names:
        raise ValueError("write_it_yourself needs at least one name, e.g. write_it_yourself('torch.softmax')")
    listed = ", ".join(names)
    calls: list[str] = []

    def refusal(shown: str, named: str):
        same = "" if shown == named else f" (the same as {named})"
        message = f"write it yourself: {shown}{same} is not allowed in this task (it forbids {listed})"

        def refuse(*args, **kwargs):
            calls.append(message)
            raise WriteItYourselfError(message)
        return refuse

    refuse_ids: dict[int, object] = {}
    swaps: dict[tuple[int, str], tuple[object, str, object | None, object]] = {}  # owner, attr, original, stand-in
    for named in names:
        for spelling in (named, *ALSO.get(named, ())):
            for shown, obj, owner, attr in _targets(spelling):
                refuse = refusal(shown, named if spelling != named else shown)
                if inspect.isclass(obj):  # a module class: its forward refuses, however the class was reached
                    owner, attr = obj, "forward"
                    swaps.setdefault((id(obj), attr), (obj, attr, obj.__dict__.get(attr), refuse))
                    continue
                refuse_ids.setdefault(id(obj), refuse)
                if owner is not None:
                    swaps.setdefault((id(owner), attr), (owner, attr, obj, refuse))
    done: list[tuple[object, str, object | None]] = []
    try:
        for owner, attr, original, refuse in swaps.values():
            setattr(owner, attr, refuse)
            done.append((owner, attr, original))
        with _Forbid(refuse_ids):
            yield
    finally:
        for owner, attr, original in reversed(done):
            if original is None:  # forward was inherited: remove our own
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
    if calls:  # the student's code caught the error and went on
        raise WriteItYourselfError(calls[0])
