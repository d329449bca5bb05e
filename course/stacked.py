"""Train networks of one shape on the same batches at once, each giving the history ``fit`` would.

Networks made of Linear layers and activations are stacked: their weights become (models, ...)
tensors, the shared input goes through one wide matrix product, the rest through batched products
(``torch.bmm``), and each model keeps its own optimizer. ``sweep`` decides which experiments train
together; ``train_together`` runs them through the same ``Phase`` loop as ``fit``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ._layer_stats import OutputStats
from ._phase import BatchOrder, Phase, append, first_weight, learning_rate
from ._speed import cpu_threads, eval_rows, fused_step
from .augment import NoisyDataset, apply_augmentation, draw_augmentation
from .batches import TensorBatches, as_tensors
from .history import History

if TYPE_CHECKING:  # sweep imports this module; an Experiment is only read here
    from .sweep import Experiment

# Layers that act on every number on its own, so they work unchanged on stacked (models, batch, features).
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SiLU, nn.Softplus, nn.Identity)


def stack_shape(net: nn.Module) -> tuple | None:
    """What another network must match to be stacked with ``net``; None when ``net`` cannot be stacked."""
    if not isinstance(net, nn.Sequential) or list(net.buffers()):
        return None
    layers = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            layers.append(("Linear", layer.in_features, layer.out_features, layer.bias is not None))
        elif type(layer) in ELEMENTWISE:
            layers.append(repr(layer))
        else:
            return None
    if not layers or layers[0][0] != "Linear":
        return None
    return tuple(layers)


class StackedNets:
    """Several networks of one shape (Linear layers and activations) run as one batched computation.

    Each network's parameters become views into stacked (models, ...) tensors: autograd works on
    the stacked ones, each network's own optimizer updates its views, so both stay the same numbers.
    """

    def __init__(self, nets: list[nn.Sequential]):
        self.nets, self.layers = nets, list(nets[0])
        self.stacked: dict[tuple[int, str], torch.Tensor] = {}
        for i, layer in enumerate(self.layers):
            for name, _ in layer.named_parameters():
                stacked = torch.stack([getattr(net[i], name).detach() for net in nets]).requires_grad_()
                for m, net in enumerate(nets):
                    setattr(net[i], name, nn.Parameter(stacked.detach()[m]))  # shares the stacked storage
                self.stacked[(i, name)] = stacked
        self.copy = any(getattr(layer, "inplace", False) for layer in self.layers)
        self.buffer: torch.Tensor | None = None
        weight = first_weight(nets[0])
        self.first = next(s for (i, name), s in self.stacked.items() if getattr(nets[0][i], name) is weight)

    def __len__(self) -> int:
        return len(self.nets)

    def __repr__(self) -> str:
        return f"StackedNets({len(self)} x {self.nets[0]})"

    def zero_grad(self) -> None:
        for stacked in self.stacked.values():
            stacked.grad = None  # backward then hands over its buffer: no zeroing, no accumulating

    def share_grads(self) -> None:
        """Point every network's parameter gradients at its slice of the stacked gradients."""
        for (i, name), stacked in self.stacked.items():
            for m, net in enumerate(self.nets):
                getattr(net[i], name).grad = stacked.grad[m]

    def first_magnitudes(self) -> torch.Tensor:
        """Sums of |gradient| and |weight| of each model's first weight matrix: (2, M).

        Through one kept buffer: a fresh (M, ...) temporary each step costs page faults.
        """
        if self.buffer is None:
            self.buffer = torch.empty_like(self.first)
        sums = []
        for tensor in (self.first.grad, self.first.detach()):
            sums.append(torch.abs(tensor, out=self.buffer).sum((1, 2)))
        return torch.stack(sums)

    def forward(self, x: torch.Tensor, stats: OutputStats | None = None) -> torch.Tensor:
        """Outputs (models, batch, classes) for a shared input (batch, features) or one per model."""
        h = x
        for i, layer in enumerate(self.layers):
            if isinstance(layer, nn.Linear):
                weight, bias = self.stacked[(i, "weight")], self.stacked.get((i, "bias"))
                models, width = weight.shape[:2]
                if h.dim() == 2:  # the input every model shares: one wide matrix product
                    flat_bias = bias.reshape(-1) if bias is not None else None
                    h = F.linear(h, weight.reshape(models * width, -1), flat_bias)  # (B, M * width)
                    h = h.view(len(h), models, width).transpose(0, 1)  # (M, B, width)
                else:  # as (W h^T)^T, so the weight's gradient comes out in the weight's own layout
                    h_t = h.transpose(1, 2)  # (M, features, B)
                    h = (torch.baddbmm(bias.unsqueeze(2), weight, h_t) if bias is not None
                         else torch.bmm(weight, h_t)).transpose(1, 2)  # (M, B, width)
            else:
                h = layer(h)
            if stats is not None:  # a copy where an in-place layer would overwrite the kept output
                stats.add(i, h.detach().clone() if self.copy else h)
        return h


class SharedAugmentation:
    """Every model's augmentation of a shared batch at once: (B, pixels) -> (M, B, pixels).

    Each model gets the numbers its own ``NoisyDataset`` would draw. The sweep seeds them all
    alike, so models that draw the same kinds of numbers (noise or not, flips or not, the same
    shift) get the same numbers: each kind is drawn once, from one of their generators.
    """

    def __init__(self, datasets: list[NoisyDataset | None]):
        self.kinds = [(d.noise_sigma > 0, d.flip_horizontal, d.shift) if d is not None else None for d in datasets]
        self.generators = {kind: d.generator for kind, d in zip(self.kinds, datasets) if kind is not None}
        self.sigma = torch.tensor([d.noise_sigma if d is not None else 0.0 for d in datasets])[:, None, None]

    def __repr__(self) -> str:
        return f"SharedAugmentation({len(self.kinds)} models, {len(self.generators)} kinds of draws)"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        drawn = {kind: draw_augmentation(x, *kind, generator) for kind, generator in self.generators.items()}
        per_model = list(zip(*[drawn.get(kind, (None, None, None)) for kind in self.kinds]))  # noise, flip, shifts
        defaults = (torch.zeros_like(x), torch.zeros(len(x), dtype=torch.bool, device=x.device),
                    torch.zeros(len(x), 2, dtype=torch.long, device=x.device))
        noise, flip, shifts = [torch.stack([d if d is not None else default for d in draws])
                               if any(d is not None for d in draws) else None
                               for draws, default in zip(per_model, defaults)]
        return apply_augmentation(x, self.sigma.to(x.device), noise, flip, shifts)


def shared_optimizers(nets: list[nn.Module], experiments: list[Experiment]) -> list[torch.optim.Optimizer]:
    """Each experiment's optimizer: one per distinct setting (its schedule included), over the parameters of
    all models that use it.

    Optimizers work number by number, so one Adam over four models computes what four Adams
    would, in one call instead of four.
    """
    def setting(e: Experiment) -> tuple:
        return e.optimizer, e.lr, tuple(sorted(e.optimizer_options.items())), e.scheduler

    by_setting: dict = {}
    for net, e in zip(nets, experiments):
        by_setting.setdefault(setting(e), (e, []))[1].extend(net.parameters())
    made = {key: e.make_optimizer(parameters) for key, (e, parameters) in by_setting.items()}
    return [made[setting(e)] for e in experiments]


class StackedLearner:
    """Stacked networks as ``Phase`` trains them: shared augmentation, one loss per model, every optimizer."""

    def __init__(self, nets: StackedNets, optimizers: list[torch.optim.Optimizer], loss_fn: Callable,
                 augment: SharedAugmentation | None = None, stats: OutputStats | None = None):
        self.nets, self.optimizers, self.loss_fn, self.augment, self.stats = nets, optimizers, loss_fn, augment, stats
        self.models, self.sample_dim, self.weight_size = len(nets), 1, nets.first[0].numel()
        self.training = False

    def __repr__(self) -> str:
        return f"StackedLearner({self.nets!r}, {len(self.optimizers)} optimizers)"

    def train(self, mode: bool) -> None:
        self.training = mode  # only augmentation depends on it: stacked layers act the same either way

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.augment is not None:
            x = self.augment(x)  # (M, B, pixels)
        return self.nets.forward(x, self.stats)  # (M, B, classes)

    def loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each model's loss, (M,): cross-entropy in one call, any other ``loss_fn`` once per model."""
        if self.loss_fn is F.cross_entropy:  # (B, classes, M) against (B, M): per-sample losses of every model
            return F.cross_entropy(output.permute(1, 2, 0), y[:, None].expand(-1, len(output)),
                                   reduction="none").mean(0)
        losses = [self.loss_fn(model_output, y) for model_output in output]
        if losses[0].dim() != 0:
            raise ValueError(f"sweep needs a loss_fn that returns one number per batch (a mean over its samples), "
                             f"got shape {tuple(losses[0].shape)}; reduce it, e.g. with reduction='mean'")
        return torch.stack(losses)

    def step(self, loss: torch.Tensor) -> list[torch.Tensor]:
        """One step of every optimizer; returns each model's first weight's summed |gradient| and |weight|."""
        self.nets.zero_grad()
        loss.sum().backward()  # model m's loss reaches only model m's slice of the weights
        self.nets.share_grads()
        magnitudes = self.nets.first_magnitudes()  # (2, M)
        for optimizer in self.optimizers:
            optimizer.step()
        return [magnitudes]


def train_together(nets: list[nn.Sequential], experiments: list[Experiment], train: Dataset, validation: Dataset,
                   device: torch.device, *, seed: int, layer_stats: bool = True, keep_outputs: bool = True,
                   on_epoch: Callable = lambda: None) -> dict[str, History]:
    """Train networks of one shape on the same batches at once; ``{title: History}`` as ``fit`` gives."""
    stacked = StackedNets(nets)
    epochs, batch_size, loss_fn = experiments[0].epochs, experiments[0].batch_size, experiments[0].loss_fn
    train_data, validation_data = (TensorBatches(*[t.to(device) for t in as_tensors(data)[:2]])
                                   for data in (train, validation))
    datasets = [e.training_set(train, seed) if e.augment else None for e in experiments]
    per_model = shared_optimizers(nets, experiments)
    optimizers = list(dict.fromkeys(per_model))  # each shared optimizer once
    schedulers = {optimizer: e.make_scheduler(optimizer)  # one per optimizer: made twice, it would step twice
                  for optimizer, e in dict(zip(per_model, experiments)).items()}
    stats = OutputStats(stacked.layers, batch_dim=1) if layer_stats else None
    learner = StackedLearner(stacked, optimizers, loss_fn, SharedAugmentation(datasets) if any(datasets) else None,
                             stats)
    training = Phase("train", learner, train_data, batch_size, batch_size, device, stats, keep_outputs)
    validating = Phase("validation", learner, validation_data, batch_size, eval_rows(nets[0], loss_fn, batch_size),
                       device, stats, keep_outputs)
    orders = BatchOrder(len(train_data), seed)
    histories = [History() for _ in nets]
    work = batch_size * sum(s.numel() for s in stacked.stacked.values())  # multiply-adds per step, roughly
    start_time = time.perf_counter()
    with ExitStack() as context:
        context.enter_context(cpu_threads(device, work))
        for optimizer in optimizers:
            context.enter_context(fused_step(optimizer, device))
        for epoch in range(epochs):
            records = zip(training.run(orders.next()), validating.run())
            elapsed = time.perf_counter() - start_time
            for history, optimizer, (trained, validated) in zip(histories, per_model, records):
                rate = learning_rate(optimizer, schedulers[optimizer])
                for record in (trained, validated, {"epochs": epoch, "time": elapsed, **rate}):
                    append(history, record)
            for scheduler in filter(None, schedulers.values()):
                scheduler.step()
            on_epoch()
    return {e.title: history for e, history in zip(experiments, histories)}
