"""The loop ``fit`` and ``sweep`` run over one phase of an epoch, and the history record it gives.

A ``Phase`` drives a ``Learner``: one network with its optimizer (``fit``) or several stacked
networks that share every batch (``sweep``). Every step only queues work on the device: the
losses, outputs and gradient sizes stay there as per-step tensors and are read once per phase.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from ._layer_stats import OutputStats


class Batches(Protocol):
    """A phase's data: ``TensorBatches`` or ``LoaderBatches``."""

    def __len__(self) -> int: ...

    def batches(self, order: torch.Tensor | None, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


class Learner(Protocol):
    """What a ``Phase`` trains: outputs, losses and gradient sizes have a leading models dim when ``models > 1``."""

    models: int  # how many models each step trains; one history record each
    sample_dim: int  # where the samples are in an output: 0, or 1 after the models dim
    weight_size: int  # numbers in one model's first weight matrix (its mean abs gradient is recorded)

    def train(self, mode: bool) -> None: ...

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...

    def step(self, loss: torch.Tensor) -> list[torch.Tensor]: ...


@dataclass
class Phase:
    """One phase ("train" or "validation") of every epoch: the learner, its data and what to keep."""

    name: str
    learner: Learner
    source: Batches
    batch_size: int  # the training batch size: steps and layer statistics count batches of this size
    rows: int  # samples per step; validation takes several batches at once where that changes no number
    device: torch.device
    stats: OutputStats | None = None
    keep_outputs: bool = True
    passes: int = field(default=0, repr=False)

    def run(self, order: torch.Tensor | None = None) -> list[dict]:
        """One pass over the data in ``order`` (None: dataset order); one history record per model."""
        training = self.name == "train"
        self.learner.train(training)
        if self.stats is not None:
            self.stats.split = self.batch_size if self.rows > self.batch_size else None
        losses, sizes, outputs, targets, magnitudes = [], [], [], [], []
        with torch.set_grad_enabled(training):
            for x, y in self.source.batches(order, self.rows):
                output = self.learner(x)
                loss = self.learner.loss(output, y)
                losses.append(loss.detach())
                sizes.append(len(y))
                outputs.append(output.detach())
                targets.append(y)
                if training:
                    magnitudes += self.learner.step(loss)
        self.passes += 1
        return self.records(losses, sizes, outputs, targets, magnitudes, order)

    def records(self, losses: list, sizes: list, outputs: list, targets: list, magnitudes: list,
                order: torch.Tensor | None) -> list[dict]:
        """Each model's record of this pass from the per-step tensors, read off the device at once."""
        models, dim, device = self.learner.models, self.learner.sample_dim, self.device
        weights = torch.tensor(sizes, dtype=torch.float32, device=device)
        outputs = torch.cat(outputs, dim=dim).float() if outputs else torch.zeros((0,), device=device)
        targets = torch.cat(targets) if targets else torch.zeros((0,), device=device)
        # Each step's mean loss times its batch size: the loss summed over samples, () or (models,) like the count.
        values = [torch.stack(losses).float().movedim(0, -1) @ weights if losses else torch.zeros((), device=device),
                  correct_count(outputs, targets, dim)]
        if self.stats is not None:
            values.append(self.stats.collect(device))
        if magnitudes:  # each step's summed |gradient| and |weight| of the first weight: 2 numbers per model
            values.append(torch.stack(magnitudes).reshape(-1, 2, models).mean(0) / self.learner.weight_size)
        table = torch.cat([v.reshape(-1, models) for v in values]).T.cpu().tolist()  # the one read per phase
        if self.keep_outputs and order is not None:  # back to dataset order, so epochs compare sample by sample
            outputs = torch.empty_like(outputs).index_copy_(dim, order.to(device), outputs)
        n = sum(sizes)
        keys = self.stats.keys(self.name) if self.stats is not None else []
        model_outputs = outputs.unsqueeze(0) if dim == 0 else outputs  # (models, n, ...) for either learner
        return [phase_record(self.name, numbers, n, -(-n // self.batch_size) * self.passes, keys,
                             self.name == "train", bool(magnitudes), model_outputs[m] if self.keep_outputs else None)
                for m, numbers in enumerate(table)]


def correct_count(outputs: torch.Tensor, targets: torch.Tensor, sample_dim: int = 0) -> torch.Tensor:
    """Correct class predictions (last output dim = classes) summed over ``sample_dim``; NaN when not classes."""
    if outputs.dim() >= 2 and outputs.shape[-1] > 1 and not targets.is_floating_point():
        return (outputs.argmax(dim=-1) == targets).sum(dim=sample_dim).float()
    shape = outputs.shape[:sample_dim] + outputs.shape[sample_dim + 1:-1]
    return torch.full(shape, float("nan"), device=outputs.device)


def phase_record(phase: str, numbers: list[float], n: int, steps: int, stat_keys: list[str],
                 training: bool, magnitudes: bool, outputs: torch.Tensor | None) -> dict:
    """One phase's history entries from the numbers read off the device, in ``fit``'s key order.

    ``numbers``: loss summed over samples, correct count, the layer statistics, then (when
    ``magnitudes``) the first layer's mean abs gradient and weight.
    """
    n = max(n, 1)
    record = {f"{phase} loss": numbers[0] / n, f"{phase} accuracy": numbers[1] / n}
    record.update(zip(stat_keys, numbers[2:2 + len(stat_keys)]))
    if training:
        grad, size = (numbers[-2], numbers[-1]) if magnitudes else (float("nan"), float("nan"))
        record["train mean abs grad"], record["train mean abs weight"] = grad, size
    record[f"{phase} steps"] = steps
    if outputs is not None:
        record[f"{phase} outputs"] = outputs.cpu().numpy()
    return record


class BatchOrder:
    """The training set's sample order for each epoch: seeded shuffles, or dataset order (None)."""

    def __init__(self, n: int, seed: int | None = None, shuffle: bool = True):
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __repr__(self) -> str:
        return f"BatchOrder(n={self.n}, seed={self.seed}, shuffle={self.shuffle})"

    def next(self) -> torch.Tensor | None:
        return torch.randperm(self.n, generator=self.generator) if self.shuffle else None


def append(history: dict, record: dict) -> None:
    """Append one epoch's values to the history's lists."""
    for key, value in record.items():
        history.setdefault(key, []).append(value)


def learning_rate(optimizer: torch.optim.Optimizer, scheduler: object | None) -> dict:
    """What a scheduled epoch adds to its record: ``{"lr": the rate it trained with}``; ``{}`` without a scheduler."""
    return {"lr": optimizer.param_groups[0]["lr"]} if scheduler is not None else {}


def first_weight(net: nn.Module) -> torch.Tensor | None:
    """The weight matrix of the first layer that has one (whose gradient ``fit`` tracks)."""
    for name, parameter in net.named_parameters():
        if name.endswith("weight") and parameter.dim() >= 2:
            return parameter
    return None
