"""Each layer's output mean, abs mean and std per batch, kept without slowing the training steps down."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import nn

STATS = ("mean", "abs mean", "std")
# Output numbers kept before reducing them to per-batch statistics (64 MB of float32).
PENDING_LIMIT = 2**24


def batch_stats(batches: torch.Tensor, keep: int = 1) -> torch.Tensor:
    """Mean, abs mean and std of each batch in ``batches`` (k, ...), over all but its first ``keep`` dims.

    Returns (3, k, ...). The std is ``Tensor.std``'s (unbiased), 0 for batches of one number; it is
    computed from the centred values, as ``Tensor.std`` does (which is much slower along a dim here).
    """
    x = batches.detach().reshape(*batches.shape[:keep], -1)
    if x.dtype != torch.float32:
        x = x.float()
    mean = x.mean(-1)
    centred = x - mean.unsqueeze(-1)
    std = (centred.square().sum(-1) / max(x.shape[-1] - 1, 1)).sqrt()
    return torch.stack([mean, x.abs().mean(-1), std])


def stat_keys(layers: list[nn.Module], phase: str) -> list[str]:
    """The history keys of the layers' output statistics, in the order ``OutputStats.collect`` gives them."""
    return [f"{phase} {i}: {type(layer).__name__} output {stat}" for i, layer in enumerate(layers) for stat in STATS]


class OutputStats:
    """Each layer's output mean, abs mean and std per batch, averaged over the batches of a phase.

    ``add`` only keeps the output, so the steps run no extra tensor ops; the kept outputs are
    reduced in a few large ops when the phase ends or more than PENDING_LIMIT numbers wait.
    An output is one batch, or with ``split`` set, batches of ``split`` samples along ``batch_dim``.
    """

    def __init__(self, layers: list[nn.Module], batch_dim: int = 0):
        self.layers, self.batch_dim, self.split = layers, batch_dim, None
        self.pending: list[list[torch.Tensor]] = [[] for _ in layers]
        self.reduced: list[list[torch.Tensor]] = [[] for _ in layers]
        self.waiting = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.layers)} layers)"

    def keys(self, phase: str) -> list[str]:
        """The history keys of ``collect``'s numbers in ``phase``."""
        return stat_keys(self.layers, phase)

    def add(self, layer: int, output: torch.Tensor) -> None:
        """Keep ``output`` of layer ``layer`` for the statistics of this phase."""
        self.pending[layer].append(output)
        self.waiting += output.numel()
        if self.waiting > PENDING_LIMIT:
            self.reduce()

    @torch.no_grad()
    def reduce(self) -> None:
        """Turn the kept outputs into per-batch statistics, one stack per run of equal-sized batches."""
        for pending, reduced in zip(self.pending, self.reduced):
            batches = [batch for output in pending
                       for batch in (output.split(self.split, self.batch_dim) if self.split else (output,))]
            for _, run in itertools.groupby(batches, key=lambda batch: batch.shape):
                reduced.append(batch_stats(torch.stack(list(run)), self.batch_dim + 1))
            pending.clear()
        self.waiting = 0

    def collect(self, device: torch.device) -> torch.Tensor:
        """(3 * layers, ...): each layer's batch-mean (mean, abs mean, std), NaN without outputs; then reset."""
        self.reduce()
        values = [torch.cat(reduced, dim=1).mean(1) if reduced else torch.full((3,), float("nan"), device=device)
                  for reduced in self.reduced]
        self.reduced = [[] for _ in self.reduced]
        return torch.cat(values)


class LayerStats(OutputStats):
    """Forward hooks that hand each child layer's output of ``net`` to ``OutputStats``."""

    def __init__(self, net: nn.Module):
        super().__init__(list(net.children()) or [net])
        # An in-place layer (ReLU(inplace=True)) would overwrite a kept output: keep copies then.
        self.copy = any(getattr(module, "inplace", False) for module in net.modules())
        self.handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(self.layers)]

    def _hook(self, index: int) -> Callable:
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor):
                self.add(index, output.detach().clone() if self.copy else output)
        return hook

    def remove(self) -> None:
        """Take the hooks off the network."""
        for handle in self.handles:
            handle.remove()
