"""``fit``: train a network for some epochs and record what happened in a ``History``.

The call and the history keys match the Radboud-style assignments, so their notebooks run
unchanged. Data that can live on the device (a ``TensorDataset``, Fashion-MNIST from
``course``, a ``Subset`` or ``NoisyDataset`` over either) is batched by index on the device
and augmented a whole batch at a time; any other ``Dataset`` goes through a ``DataLoader``
in the same batch order. Either way every step only queues work: losses, outputs and layer
statistics stay on the device as per-step tensors and are read once per phase and epoch.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.linalg import vector_norm
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from .augment import NoisyDataset
from .device import detect_device
from .history import History

PHASES = ("train", "validation")
STATS = ("mean", "abs mean", "std")
# Below this many multiply-adds per step a second CPU thread costs more than it gains: the
# matrices are too small to split, and on a shared machine (a JupyterHub, CI, our 2-core box)
# an OpenMP thread that waits for a busy core stalls every op (measured here: 14-20x slower,
# for one network and for 16 stacked ones alike). Only multi-GFLOP steps get all threads.
SMALL_STEP = 2_000_000_000


@contextmanager
def fused_step(optimizer: torch.optim.Optimizer, device: torch.device):
    """Let a CPU Adam/AdamW left to torch's defaults use its fused kernel for the block, then restore.

    Same algorithm, one pass over memory instead of a dozen (about 3x faster per step here);
    the results agree with the default kernel to float rounding.
    """
    groups = []
    if device.type == "cpu" and type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        groups = [group for group in optimizer.param_groups
                  if group.get("fused") is None and group.get("foreach") is None
                  and not group.get("differentiable") and not group.get("capturable")]
    for group in groups:
        group["fused"] = True
    try:
        yield
    finally:
        for group in groups:
            group["fused"] = None


@contextmanager
def cpu_threads(device: torch.device, work: int):
    """Run the block on one CPU thread when each step is ``work`` multiply-adds or fewer."""
    threads = torch.get_num_threads()
    single = device.type == "cpu" and work <= SMALL_STEP and threads > 1
    if single:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if single:
            torch.set_num_threads(threads)


class TensorBatches:
    """A dataset held as tensors on the device, cut into batches by index; the one place data moves."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, augmenters=()):
        self.x, self.y, self.augmenters = x, y, tuple(augmenters)

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        return f"TensorBatches({len(self)} samples on {self.x.device}, {len(self.augmenters)} augmenters)"

    def batches(self, order: torch.Tensor | None, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, y) batches in ``order`` (None: dataset order, where the batches are views, no copies)."""
        x, y = self.x, self.y
        if order is not None:
            index = order.to(x.device)
            x, y = x[index], y[index]  # one gather per epoch instead of one per step
        for start in range(0, len(x), batch_size):
            xb = x[start:start + batch_size]
            for augment in self.augmenters:
                xb = augment(xb)
            yield xb, y[start:start + batch_size]


class LoaderBatches:
    """Batches of any ``Dataset`` through a ``DataLoader`` that follows the given order."""

    def __init__(self, dataset: Dataset, device: torch.device):
        self.dataset, self.device = dataset, device

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return f"LoaderBatches({type(self.dataset).__name__}, {len(self)} samples -> {self.device})"

    def batches(self, order: torch.Tensor | None, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        sampler = order.tolist() if order is not None else range(len(self.dataset))
        for x, y in DataLoader(self.dataset, batch_size=batch_size, sampler=sampler):
            yield x.to(self.device), y.to(self.device)


def as_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor, list] | None:
    """(inputs, targets, augmenters) when the dataset is tensors underneath, else None."""
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        return dataset.tensors[0], dataset.tensors[1], []
    if isinstance(dataset, Subset):
        inner = as_tensors(dataset.dataset)
        if inner is not None:
            index = torch.as_tensor(dataset.indices, dtype=torch.long)
            return inner[0][index], inner[1][index], inner[2]
    if isinstance(dataset, NoisyDataset):
        inner = as_tensors(dataset.dataset)
        if inner is not None:
            return inner[0], inner[1], inner[2] + [dataset.augment]
    return None


def batch_source(dataset: Dataset, device: torch.device) -> TensorBatches | LoaderBatches:
    """The fast tensor path where the dataset allows it, else a DataLoader."""
    tensors = as_tensors(dataset)
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


def moments(x: torch.Tensor, dims=None) -> list[torch.Tensor]:
    """Sum, abs sum and 2-norm of ``x`` (over ``dims``): three cheap reductions (vector_norm(x, 1) is slow)."""
    x = x.detach()
    if x.dtype != torch.float32:
        x = x.float()
    if dims is None:
        return [x.sum(), x.abs().sum(), vector_norm(x, 2)]
    return [x.sum(dims), x.abs().sum(dims), vector_norm(x, 2, dims)]


def batch_stats(sums: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """Per-batch mean, abs mean and std from ``moments`` (steps, 3, ...) and element counts (steps,)."""
    n = sizes.reshape((-1,) + (1,) * (sums.dim() - 2)).to(sums)
    total, abs_total, norm = sums[:, 0], sums[:, 1], sums[:, 2]  # as returned by ``moments``
    mean = total / n
    # Same as Tensor.std (unbiased); 0 for single elements, as the lead's hooks did.
    variance = (norm * norm - total * mean).clamp(min=0) / (n - 1).clamp(min=1)
    return torch.stack([mean, abs_total / n, variance.sqrt()], dim=1)  # (steps, 3, ...)


class LayerStats:
    """Forward hooks that keep each layer's output moments per batch, on the device."""

    def __init__(self, net: nn.Module):
        self.layers = list(net.children()) or [net]
        self.sums: list[list[torch.Tensor]] = [[] for _ in self.layers]  # per layer: 3 tensors per batch
        self.sizes: list[list[int]] = [[] for _ in self.layers]
        self.handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(self.layers)]

    def __repr__(self) -> str:
        return f"LayerStats({len(self.layers)} layers)"

    def _hook(self, index: int) -> Callable:
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor):
                self.sums[index].extend(moments(output))
                self.sizes[index].append(output.numel())
        return hook

    def keys(self, phase: str) -> list[str]:
        return [f"{phase} {i}: {type(layer).__name__} output {stat}"
                for i, layer in enumerate(self.layers) for stat in STATS]

    def collect(self, device: torch.device) -> torch.Tensor:
        """Mean over this phase's batches of each layer's (mean, abs mean, std), flattened; then reset."""
        values = []
        for sums, sizes in zip(self.sums, self.sizes):
            if sums:
                stacked = torch.stack(sums).reshape(-1, 3)
                values.append(batch_stats(stacked, torch.tensor(sizes)).mean(0))
            else:
                values.append(torch.full((3,), float("nan"), device=device))
        self.sums = [[] for _ in self.layers]
        self.sizes = [[] for _ in self.layers]
        return torch.cat(values)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def correct_count(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Number of correct class predictions (last output dim = classes), NaN when not classification."""
    if outputs.dim() >= 2 and outputs.shape[-1] > 1 and not targets.is_floating_point():
        return (outputs.argmax(dim=-1) == targets).sum(dim=0).float()
    return torch.full(outputs.shape[1:-1], float("nan"), device=outputs.device)


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
    orders = BatchOrder(len(sources["train"]), seed, shuffle)
    weight = first_weight(net)
    stats = LayerStats(net) if layer_stats else None
    history = History()
    start_time = time.perf_counter()
    work = batch_size * sum(p.numel() for p in net.parameters())  # multiply-adds per step, roughly
    try:
        with cpu_threads(device, work), fused_step(optimizer, device):
            bar = tqdm(range(epochs), desc="Epoch", leave=False, disable=not progress)
            for epoch in bar:
                order = orders.next()
                for phase in PHASES:
                    record = _run_phase(net, phase, sources[phase], optimizer if phase == "train" else None,
                                        loss_fn, batch_size, order if phase == "train" else None,
                                        weight, stats, keep_outputs, device)
                    record[f"{phase} steps"] *= epoch + 1
                    append(history, record)
                append(history, {"epochs": epoch, "time": time.perf_counter() - start_time})
                bar.set_postfix({"train loss": f"{history['train loss'][-1]:.3f}",
                                 "validation accuracy": f"{history['validation accuracy'][-1]:.3f}"})
    finally:
        if stats is not None:
            stats.remove()
    return history


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


def _run_phase(net, phase, source, optimizer, loss_fn, batch_size, order, weight, stats,
               keep_outputs, device) -> dict:
    """One pass over one phase's data; returns this epoch's values (steps counted for this epoch)."""
    training = optimizer is not None
    net.train(training)
    losses, sizes, outputs, targets, magnitudes = [], [], [], [], []
    with torch.set_grad_enabled(training):
        for x, y in source.batches(order, batch_size):
            output = net(x)
            loss = loss_fn(output, y)
            losses.append(loss.detach())
            sizes.append(len(y))
            outputs.append(output.detach())
            targets.append(y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                if weight is not None and weight.grad is not None:
                    magnitudes += [weight.grad.abs().sum(), weight.detach().abs().sum()]
                optimizer.step()
    steps = len(losses)
    outputs = torch.cat(outputs).float() if outputs else torch.zeros((0,), device=device)
    targets = torch.cat(targets) if targets else torch.zeros((0,), device=device)
    weights = torch.tensor(sizes, dtype=torch.float32, device=device)
    values = [torch.stack(losses).float() @ weights if losses else torch.zeros((), device=device),
              correct_count(outputs, targets)]
    if stats is not None:
        values.append(stats.collect(device))
    if magnitudes:
        values.append(torch.stack(magnitudes).reshape(-1, 2).mean(0) / weight.numel())
    numbers = torch.cat([v.reshape(-1) for v in values]).cpu().tolist()  # the one read per phase
    if keep_outputs and order is not None:  # back to dataset order, so epochs compare sample by sample
        outputs = torch.empty_like(outputs).index_copy_(0, order.to(outputs.device), outputs)
    return phase_record(phase, numbers, sum(sizes), steps, stats.keys(phase) if stats is not None else [],
                        training, bool(magnitudes), outputs if keep_outputs else None)


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
