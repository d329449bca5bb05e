"""``fit``: train a network for some epochs and record what happened in a ``History``.

The call and the history keys match the Radboud-style assignments, so their notebooks run
unchanged. Data that can live on the device (a ``TensorDataset``, Fashion-MNIST from
``course``, a ``Subset`` or ``NoisyDataset`` over either) is batched by index on the device
and augmented a whole batch at a time; metrics stay on the device and are read once per epoch.
Any other ``Dataset`` goes through a ``DataLoader`` in the same batch order.
"""
from __future__ import annotations

import time
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from .augment import NoisyDataset
from .device import detect_device
from .history import History

PHASES = ("train", "validation")
STATS = ("mean", "abs mean", "std")


class TensorBatches:
    """Batches of a dataset held as device tensors; the one place data moves to the device."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, augmenters=()):
        self.x, self.y, self.augmenters = x, y, tuple(augmenters)

    def __len__(self) -> int:
        return len(self.x)

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
        order = order.to(self.x.device)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            x = self.x[index]
            for augment in self.augmenters:
                x = augment(x)
            yield index, x, self.y[index]


class LoaderBatches:
    """Batches of any ``Dataset`` through a ``DataLoader`` that follows the given order."""

    def __init__(self, dataset: Dataset, device: torch.device):
        self.dataset, self.device = dataset, device

    def __len__(self) -> int:
        return len(self.dataset)

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, ...]]:
        loader = DataLoader(self.dataset, batch_size=batch_size, sampler=order.tolist())
        for start, (x, y) in zip(range(0, len(order), batch_size), loader):
            yield order[start:start + batch_size].to(self.device), x.to(self.device), y.to(self.device)


def _as_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor, list] | None:
    """(inputs, targets, augmenters) when the dataset is tensors underneath, else None."""
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        return dataset.tensors[0], dataset.tensors[1], []
    if isinstance(dataset, Subset):
        inner = _as_tensors(dataset.dataset)
        if inner is not None:
            index = torch.as_tensor(dataset.indices, dtype=torch.long)
            return inner[0][index], inner[1][index], inner[2]
    if isinstance(dataset, NoisyDataset):
        inner = _as_tensors(dataset.dataset)
        if inner is not None:
            return inner[0], inner[1], inner[2] + [dataset.augment]
    return None


def batch_source(dataset: Dataset, device: torch.device) -> TensorBatches | LoaderBatches:
    """The fast tensor path where the dataset allows it, else a DataLoader."""
    tensors = _as_tensors(dataset)
    if tensors is None:
        return LoaderBatches(dataset, device)
    x, y, augmenters = tensors
    return TensorBatches(x.to(device), y.to(device), augmenters)


def first_weight(net: nn.Module) -> torch.Tensor | None:
    """The weight matrix of the first layer that has one (whose gradient ``fit`` tracks)."""
    for name, parameter in net.named_parameters():
        if name.endswith("weight") and parameter.dim() >= 2:
            return parameter
    return None


class LayerStats:
    """Forward hooks that sum each layer's output mean, abs mean and std on the device."""

    def __init__(self, net: nn.Module):
        self.layers = list(net.children()) or [net]
        self.sums: torch.Tensor | None = None  # (layers, 3), summed over the batches of a phase
        self.batches = 0
        self.handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(self.layers)]

    def _hook(self, index: int) -> Callable:
        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor) or self.sums is None:
                return
            out = output.detach().float()
            self.sums[index, 0] += out.mean()
            self.sums[index, 1] += out.abs().mean()
            self.sums[index, 2] += out.std() if out.numel() > 1 else 0.0
        return hook

    def start(self, device: torch.device) -> None:
        self.sums = torch.zeros(len(self.layers), len(STATS), device=device)

    def keys(self, phase: str) -> list[str]:
        return [f"{phase} {i}: {type(layer).__name__} output {stat}"
                for i, layer in enumerate(self.layers) for stat in STATS]

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.sums = None


def _accuracy_count(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if output.dim() == 2 and output.shape[1] > 1 and not y.is_floating_point():
        return (output.argmax(dim=1) == y).sum()
    return torch.tensor(float("nan"), device=output.device)


def fit(net: nn.Module, train: Dataset, validation: Dataset, optimizer: torch.optim.Optimizer,
        epochs: int = 25, batch_size: int = 10, device: str | torch.device = "cpu", *,
        loss_fn: Callable = F.cross_entropy, shuffle: bool = True, seed: int | None = None,
        progress: bool = True, layer_stats: bool = True, keep_outputs: bool = True) -> History:
    """Train ``net`` on ``train``, evaluate on ``validation`` after every epoch; return the ``History``.

    Losses and accuracies are per-sample means over the epoch. ``seed`` fixes the batch order
    (by default it comes from torch's global generator, so ``torch.manual_seed`` fixes it too).
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"fit needs epochs >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    device = detect_device(verbose=False) if str(device) == "auto" else torch.device(device)
    net.to(device)
    sources = {"train": batch_source(train, device), "validation": batch_source(validation, device)}
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    order_generator = torch.Generator().manual_seed(seed)
    weight = first_weight(net)
    stats = LayerStats(net) if layer_stats else None
    history = History()
    start_time = time.perf_counter()
    try:
        bar = tqdm(range(epochs), desc="Epoch", leave=False, disable=not progress)
        for epoch in bar:
            for phase in PHASES:
                _run_phase(net, phase, sources[phase], optimizer if phase == "train" else None,
                           loss_fn, batch_size, device, order_generator if shuffle else None,
                           epoch, weight, stats, keep_outputs, history)
            history.setdefault("epochs", []).append(epoch)
            history.setdefault("time", []).append(time.perf_counter() - start_time)
            bar.set_postfix({"train loss": f"{history['train loss'][-1]:.3f}",
                             "validation accuracy": f"{history['validation accuracy'][-1]:.3f}"})
    finally:
        if stats is not None:
            stats.remove()
    return history


def _run_phase(net, phase, source, optimizer, loss_fn, batch_size, device, order_generator,
               epoch, weight, stats, keep_outputs, history) -> None:
    """One pass over one phase's data; appends this epoch's entries to ``history``."""
    training = optimizer is not None
    net.train(training)
    n = len(source)
    order = torch.randperm(n, generator=order_generator) if training and order_generator is not None \
        else torch.arange(n)
    sums = torch.zeros(4, device=device)  # loss * samples, correct, |grad| mean, |weight| mean
    outputs = None
    steps = 0
    if stats is not None:
        stats.start(device)
    with torch.set_grad_enabled(training):
        for index, x, y in source.batches(order, batch_size):
            output = net(x)
            loss = loss_fn(output, y)
            sums[0] += loss.detach() * len(y)
            sums[1] += _accuracy_count(output.detach(), y)
            if keep_outputs:
                if outputs is None:
                    outputs = torch.zeros((n,) + tuple(output.shape[1:]), device=device)
                outputs[index] = output.detach().float()
            if training:
                optimizer.zero_grad()
                loss.backward()
                if weight is not None and weight.grad is not None:
                    sums[2] += weight.grad.detach().abs().mean()
                    sums[3] += weight.detach().abs().mean()
                optimizer.step()
            steps += 1
    # One read from the device per phase and epoch.
    values = torch.cat([sums, stats.sums.flatten()]) if stats is not None else sums
    values = values.cpu().tolist()
    record = {f"{phase} loss": values[0] / max(n, 1), f"{phase} accuracy": values[1] / max(n, 1)}
    if stats is not None:
        record.update(zip(stats.keys(phase), (v / max(steps, 1) for v in values[4:])))
    if training:
        record["train mean abs grad"] = values[2] / max(steps, 1)
        record["train mean abs weight"] = values[3] / max(steps, 1)
    record[f"{phase} steps"] = (epoch + 1) * steps
    if keep_outputs:
        record[f"{phase} outputs"] = outputs.cpu().numpy() if outputs is not None else np.zeros((0,))
    for key, value in record.items():
        history.setdefault(key, []).append(value)
