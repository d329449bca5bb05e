"""``fit``: train a network for some epochs and record what happened in a ``History``.

The call and the history keys match the Radboud-style assignments, so their notebooks run
unchanged. Every epoch is a training pass and a validation pass (``Phase``); each step is
``OneNet.step``: clear the gradients, backpropagate, step the optimizer. What makes it fast
changes no number and lives elsewhere: batches cut on the device (``batches``), losses and
layer statistics read once per phase (``_phase``, ``_layer_stats``), threads, fused optimizer
steps and larger validation steps (``_speed``).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LRScheduler
from torch.utils.data import Dataset

from ._layer_stats import LayerStats
from ._phase import BatchOrder, Phase, append, first_weight, learning_rate
from ._speed import cpu_threads, eval_rows, fused_step
from .batches import batch_source
from .device import detect_device
from .history import History
from .progress import progress_bar

# What ``fit`` calls after every epoch when it is given no ``on_epoch``. A ``HistoryPlotter`` waiting
# for its next experiment sets it, so that a notebook's plain ``fit(...)`` draws its curves live.
# Only plain calls use it: sweep's inner fits pass their own ``on_epoch`` (and may run in forked
# processes, which must not draw).
epoch_watcher: Callable[[History], None] | None = None
# What a watched ``fit`` calls when it stops early (an interrupt, an error): the live plot shows where it stopped.
stop_watcher: Callable[[History], None] | None = None


def fit(net: nn.Module, train: Dataset, validation: Dataset, optimizer: torch.optim.Optimizer,
        epochs: int = 25, batch_size: int = 10, device: str | torch.device = "cpu", *,
        loss_fn: Callable = F.cross_entropy, shuffle: bool = True, seed: int | None = None,
        progress: bool = True, layer_stats: bool = True, keep_outputs: bool = True,
        on_epoch: Callable[[History], None] | None = None, scheduler: LRScheduler | None = None) -> History:
    """Train ``net`` on ``train``, evaluate on ``validation`` after every epoch; return the ``History``.

    Losses and accuracies are per-sample means over the epoch; each layer's output mean, abs mean
    and std are means over the epoch's batches of ``batch_size``. ``seed`` fixes the batch order
    (by default torch's global generator's, so ``torch.manual_seed`` fixes it too). After every epoch
    ``scheduler`` (over ``optimizer``) steps, the history recording the epoch's rate as ``"lr"``, and
    ``on_epoch(history)`` is called, untimed (default: a waiting ``HistoryPlotter``'s ``epoch_watcher``).
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"fit needs epochs >= 0 and batch_size >= 1, got epochs={epochs}, batch_size={batch_size}")
    device = detect_device(verbose=False) if str(device) == "auto" else torch.device(device)
    net.to(device)
    train_data, validation_data = batch_source(train, device, progress), batch_source(validation, device, progress)
    orders = BatchOrder(len(train_data), seed, shuffle)
    learner = OneNet(net, optimizer, loss_fn)
    stats = LayerStats(net) if layer_stats else None
    training = Phase("train", learner, train_data, batch_size, batch_size, device, stats, keep_outputs)
    validating = Phase("validation", learner, validation_data, batch_size, eval_rows(net, loss_fn, batch_size),
                       device, stats, keep_outputs)  # eval_rows: several batches per step where no number changes
    watched, on_epoch = on_epoch is None, on_epoch if on_epoch is not None else epoch_watcher
    history = History()
    start_time = time.perf_counter()
    try:  # cpu_threads is told the multiply-adds per step, roughly
        with cpu_threads(device, batch_size * sum(p.numel() for p in net.parameters())), fused_step(optimizer, device):
            bar = progress_bar(range(epochs), desc="Epoch", disable=not progress)
            for epoch in bar:
                append(history, training.run(orders.next())[0])  # one network: one record per phase
                append(history, validating.run()[0])
                append(history, {"epochs": epoch, "time": time.perf_counter() - start_time,
                                 **learning_rate(optimizer, scheduler)})
                if scheduler is not None:
                    scheduler.step()
                bar.set_postfix({key: f"{history[key][-1]:.3f}" for key in ("train loss", "validation accuracy")})
                if on_epoch is not None:
                    called = time.perf_counter()
                    on_epoch(history)
                    start_time += time.perf_counter() - called  # history['time'] is training time only
    except BaseException:
        if watched and stop_watcher is not None:
            stop_watcher(history)
        raise
    finally:
        if stats is not None:
            stats.remove()
    return history


class OneNet:
    """One network with its optimizer and loss, as ``Phase`` trains it: one record per pass."""

    models, sample_dim = 1, 0

    def __init__(self, net: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable):
        self.net, self.optimizer, self.loss_fn = net, optimizer, loss_fn
        self.weight = first_weight(net)
        self.weight_size = self.weight.numel() if self.weight is not None else 1
        self.parameters: list[nn.Parameter] = []

    def __repr__(self) -> str:
        return f"OneNet({type(self.net).__name__}, {type(self.optimizer).__name__})"

    def train(self, mode: bool) -> None:
        """Switch the network to training or evaluation mode for the next pass."""
        self.net.train(mode)  # the parameters list is per pass: on_epoch may have given the optimizer more
        self.parameters = [p for group in self.optimizer.param_groups for p in group["params"]] if mode else []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(output, y)

    def step(self, loss: torch.Tensor) -> list[torch.Tensor]:
        """One optimizer step; returns the first weight's summed |gradient| and |weight| (none without one)."""
        for p in self.parameters:  # optimizer.zero_grad()'s set_to_none, without its profiler record
            p.grad = None
        loss.backward()
        weight, magnitudes = self.weight, []
        if weight is not None and weight.grad is not None:
            magnitudes = [weight.grad.abs().sum(), weight.detach().abs().sum()]
        self.optimizer.step()
        return magnitudes
