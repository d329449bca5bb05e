"""``fit``: train a network for some epochs and record what happened in a ``History``.

The call and the history keys match the Radboud-style assignments, so their notebooks run
unchanged. Data that can live on the device (a ``TensorDataset``, Fashion-MNIST from
``course`` or torchvision, a ``Subset`` or ``NoisyDataset`` over either: see ``batches``) is
batched by index on the device and augmented a whole batch at a time; any other ``Dataset``
goes through a ``DataLoader`` in the same batch order. Either way every step only queues work:
losses and outputs stay on the device as per-step tensors, each layer's outputs are kept and
reduced to the per-batch statistics once per phase (``OutputStats``), and everything is read
once per phase and epoch.
Validation runs in steps of about EVAL_ROWS samples where that changes no number (``eval_rows``).
"""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .batches import batch_source
from .device import detect_device
from .history import History
from .progress import progress_bar

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


def first_weight(net: nn.Module) -> torch.Tensor | None:
    """The weight matrix of the first layer that has one (whose gradient ``fit`` tracks)."""
    for name, parameter in net.named_parameters():
        if name.endswith("weight") and parameter.dim() >= 2:
            return parameter
    return None


# Output numbers the layer statistics keep before reducing them to per-batch statistics (64 MB of float32).
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


class OutputStats:
    """Each layer's output mean, abs mean and std per batch, averaged over the batches of a phase.

    ``add`` only keeps the output, so the steps run no extra tensor ops; the kept outputs are
    reduced in a few large ops when the phase ends or more than PENDING_LIMIT numbers wait.
    An output is one batch, or with ``split`` set, batches of ``split`` samples along ``batch_dim``.
    """

    def __init__(self, layers: int, batch_dim: int = 0):
        self.batch_dim, self.split = batch_dim, None
        self.pending: list[list[torch.Tensor]] = [[] for _ in range(layers)]
        self.reduced: list[list[torch.Tensor]] = [[] for _ in range(layers)]
        self.waiting = 0

    def add(self, layer: int, output: torch.Tensor) -> None:
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
    """Forward hooks that hand each child layer's output to ``OutputStats``."""

    def __init__(self, net: nn.Module):
        self.layers = list(net.children()) or [net]
        super().__init__(len(self.layers))
        # An in-place layer (ReLU(inplace=True)) would overwrite a kept output: keep copies then.
        self.copy = any(getattr(module, "inplace", False) for module in net.modules())
        self.handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(self.layers)]

    def __repr__(self) -> str:
        return f"LayerStats({len(self.layers)} layers)"

    def _hook(self, index: int) -> Callable:
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor):
                self.add(index, output.detach().clone() if self.copy else output)
        return hook

    def keys(self, phase: str) -> list[str]:
        return stat_keys(self.layers, phase)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def stat_keys(layers: list[nn.Module], phase: str) -> list[str]:
    """The history keys of the layers' output statistics, in the order ``OutputStats.collect`` gives them."""
    return [f"{phase} {i}: {type(layer).__name__} output {stat}" for i, layer in enumerate(layers) for stat in STATS]


# What ``fit`` calls after every epoch when it is given no ``on_epoch``. A ``HistoryPlotter`` waiting
# for its next experiment sets it, so that a notebook's plain ``fit(...)`` draws its curves live.
# Only plain calls use it: sweep's inner fits pass their own ``on_epoch`` (and may run in forked
# processes, which must not draw).
epoch_watcher: Callable[[History], None] | None = None

# Validation steps take about this many samples where that changes no number (see ``eval_rows``).
EVAL_ROWS = 1024
# Layers whose output for a sample, in eval mode, does not depend on the other samples of its batch.
PER_SAMPLE = (nn.Sequential, nn.Linear, nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.LayerNorm,
              nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.PReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SELU, nn.SiLU,
              nn.Softplus, nn.Mish, nn.Hardtanh)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)  # per sample in eval mode, with running stats
MEAN_LOSSES = (F.cross_entropy, F.mse_loss, F.l1_loss)


def eval_rows(net: nn.Module, loss_fn: Callable, batch_size: int) -> int:
    """Samples per validation step: a multiple of ``batch_size`` near EVAL_ROWS when that gives the
    same numbers as steps of ``batch_size`` (every layer works sample by sample, the loss is a
    per-sample mean), else ``batch_size``. Fewer, larger steps cost far less Python per sample.
    """
    per_sample = all(type(m) in PER_SAMPLE or (type(m) in BATCH_NORMS and m.track_running_stats)
                     for m in net.modules())
    mean_loss = loss_fn in MEAN_LOSSES or (type(loss_fn) in (nn.CrossEntropyLoss, nn.MSELoss, nn.L1Loss)
                                          and loss_fn.reduction == "mean" and getattr(loss_fn, "weight", None) is None)
    return batch_size * max(1, EVAL_ROWS // batch_size) if per_sample and mean_loss else batch_size


def correct_count(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Number of correct class predictions (last output dim = classes), NaN when not classification."""
    if outputs.dim() >= 2 and outputs.shape[-1] > 1 and not targets.is_floating_point():
        return (outputs.argmax(dim=-1) == targets).sum(dim=0).float()
    return torch.full(outputs.shape[1:-1], float("nan"), device=outputs.device)


def fit(net: nn.Module, train: Dataset, validation: Dataset, optimizer: torch.optim.Optimizer,
        epochs: int = 25, batch_size: int = 10, device: str | torch.device = "cpu", *,
        loss_fn: Callable = F.cross_entropy, shuffle: bool = True, seed: int | None = None,
        progress: bool = True, layer_stats: bool = True, keep_outputs: bool = True,
        on_epoch: Callable[[History], None] | None = None) -> History:
    """Train ``net`` on ``train``, evaluate on ``validation`` after every epoch; return the ``History``.

    Losses and accuracies are per-sample means over the epoch; each layer's output mean, abs mean
    and std are means over the epoch's batches of ``batch_size``. ``seed`` fixes the batch order
    (by default it comes from torch's global generator, so ``torch.manual_seed`` fixes it too).
    ``on_epoch(history)`` is called after every epoch, e.g. to plot the curves so far (default: the
    waiting ``HistoryPlotter``'s live plot, see ``epoch_watcher``); its time is not in ``history['time']``.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"fit needs epochs >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    device = detect_device(verbose=False) if str(device) == "auto" else torch.device(device)
    net.to(device)
    sources = {phase: batch_source(data, device, progress) for phase, data in zip(PHASES, (train, validation))}
    orders = BatchOrder(len(sources["train"]), seed, shuffle)
    weight = first_weight(net)
    stats = LayerStats(net) if layer_stats else None
    validation_rows = eval_rows(net, loss_fn, batch_size)
    history = History()
    on_epoch = on_epoch if on_epoch is not None else epoch_watcher
    start_time = time.perf_counter()
    work = batch_size * sum(p.numel() for p in net.parameters())  # multiply-adds per step, roughly
    try:
        with cpu_threads(device, work), fused_step(optimizer, device):
            bar = progress_bar(range(epochs), desc="Epoch", disable=not progress)
            for epoch in bar:
                order = orders.next()
                for phase in PHASES:
                    training = phase == "train"
                    record = _run_phase(net, phase, sources[phase], optimizer if training else None, loss_fn,
                                        batch_size, batch_size if training else validation_rows,
                                        order if training else None, weight, stats, keep_outputs, device)
                    record[f"{phase} steps"] *= epoch + 1
                    append(history, record)
                append(history, {"epochs": epoch, "time": time.perf_counter() - start_time})
                bar.set_postfix({"train loss": f"{history['train loss'][-1]:.3f}",
                                 "validation accuracy": f"{history['validation accuracy'][-1]:.3f}"})
                if on_epoch is not None:
                    called = time.perf_counter()
                    on_epoch(history)
                    start_time += time.perf_counter() - called  # history['time'] is training time only
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


def _run_phase(net, phase, source, optimizer, loss_fn, batch_size, rows, order, weight, stats,
               keep_outputs, device) -> dict:
    """One pass over one phase's data, ``rows`` samples per step; returns this epoch's values.

    Steps are counted in batches of ``batch_size`` for this epoch.
    """
    training = optimizer is not None
    net.train(training)
    if stats is not None:
        stats.split = batch_size if rows > batch_size else None
    parameters = [p for group in optimizer.param_groups for p in group["params"]] if training else []
    losses, sizes, outputs, targets, magnitudes = [], [], [], [], []
    with torch.set_grad_enabled(training):
        for x, y in source.batches(order, rows):
            output = net(x)
            loss = loss_fn(output, y)
            losses.append(loss.detach())
            sizes.append(len(y))
            outputs.append(output.detach())
            targets.append(y)
            if training:
                for p in parameters:  # optimizer.zero_grad()'s set_to_none, without its profiler record
                    p.grad = None
                loss.backward()
                if weight is not None and weight.grad is not None:
                    magnitudes += [weight.grad.abs().sum(), weight.detach().abs().sum()]
                optimizer.step()
    n = sum(sizes)
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
    return phase_record(phase, numbers, n, -(-n // batch_size), stats.keys(phase) if stats is not None else [],
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
