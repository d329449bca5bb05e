"""Run many experiments and get their histories, ready for ``HistoryPlotter``.

    experiments = grid(optimizer=["sgd", "adam"], lr=[0.1, 0.01, 0.001, 0.0001])
    histories = sweep(build_net, train, validation, experiments, epochs=150, batch_size=32)
    for row, (title, history) in enumerate(histories.items()):
        plotter.add(title, history, row=row // 2, col=row % 2)

An experiment is a dict of settings; whatever it leaves out comes from ``sweep``'s arguments:

    title       the name in the returned dict (default: made from the other settings)
    optimizer   "sgd", "adam", "adamw", "rmsprop", or a torch.optim class
    lr          learning rate
    optimizer_options   more keyword arguments for the optimizer, e.g. {"momentum": 0.9}
    batch_size  minibatch size
    epochs      number of epochs
    width       passed to the network builder: build_net(width)
    build_net   a different network builder for this experiment
    augment     NoisyDataset settings, e.g. {"noise_sigma": 0.1, "shift": 1, "flip_horizontal": True}
    seed        seed of the network's initial weights (default: sweep's seed)

Every experiment gives the same history as this plain ``fit`` (up to float rounding)::

    torch.manual_seed(experiment seed); net = build_net(...)
    fit(net, NoisyDataset(train, **augment, seed=seed) if augment else train, validation,
        optimizer, epochs, batch_size, device, seed=seed)

Experiments whose networks have the same shape (Linear layers and activations) and that share
batch size and epochs see the same batches in the same order, so they train together: their
weights are stacked, the shared input goes through one wide matrix product, the rest through
batched products (``torch.bmm``), and each model keeps its own optimizer. In such a group the
``time`` entry is the whole group's time. Any other experiment runs through ``fit`` on its own.
"""
from __future__ import annotations

import itertools
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .augment import NoisyDataset, apply_augmentation, draw_augmentation
from .batches import TensorBatches, as_tensors, in_memory
from .device import detect_device
from .history import History
from .parallel import default_workers, run_jobs
from .progress import progress_bar
from .training import (PHASES, BatchOrder, OutputStats, append, correct_count, cpu_threads, eval_rows,
                       first_weight, fit, fused_step, phase_record, stat_keys)

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "rmsprop": torch.optim.RMSprop}
SETTINGS = ("title", "optimizer", "lr", "optimizer_options", "batch_size", "epochs", "width",
            "build_net", "augment", "seed")
# Layers that act on every number on its own, so they work unchanged on stacked (models, batch, features).
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SiLU, nn.Softplus, nn.Identity)


def grid(**axes: Sequence) -> list[dict]:
    """Every combination of the given settings, e.g. ``grid(optimizer=["sgd", "adam"], lr=[0.1, 0.01])``."""
    for name, values in axes.items():
        if name not in SETTINGS or name == "title":
            raise ValueError(f"grid got an unknown setting {name!r}; settings are {', '.join(SETTINGS[1:])}")
        if isinstance(values, (str, dict)) or not isinstance(values, Sequence):
            raise ValueError(f"grid needs a list of values for {name}, got {values!r}")
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def _describe(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{key}={item}" for key, item in value.items()) or "none"
    return getattr(value, "__name__", str(value))


@dataclass
class Experiment:
    """One experiment's settings, with ``sweep``'s defaults filled in."""

    title: str
    build_net: Callable
    optimizer: type
    lr: float
    batch_size: int
    epochs: int
    seed: int
    width: int | None = None
    augment: dict = field(default_factory=dict)
    optimizer_options: dict = field(default_factory=dict)

    def make_net(self) -> nn.Module:
        """The network, with initial weights from this experiment's seed (global RNG left as it was)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.build_net(self.width) if self.width is not None else self.build_net()

    def make_optimizer(self, parameters) -> torch.optim.Optimizer:
        return self.optimizer(parameters, lr=self.lr, **self.optimizer_options)


def _experiment(settings: dict, defaults: dict) -> Experiment:
    if not isinstance(settings, dict):
        raise TypeError(f"each experiment must be a dict of settings, got {settings!r}")
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown experiment setting(s) {sorted(unknown)} in {settings!r}; "
                         f"settings are {', '.join(SETTINGS)}")
    values = {**defaults, **settings}
    optimizer = values["optimizer"]
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; use one of {sorted(OPTIMIZERS)} or a torch.optim class")
        optimizer = OPTIMIZERS[optimizer.lower()]
    title = settings.get("title") or ", ".join(f"{key}={_describe(value)}" for key, value in settings.items()) \
        or "default"
    augment = dict(values.get("augment") or {})
    NoisyDataset([], **augment)  # checks the augmentation settings now, with a clear message
    return Experiment(title=str(title), build_net=values["build_net"], optimizer=optimizer, lr=float(values["lr"]),
                      batch_size=int(values["batch_size"]), epochs=int(values["epochs"]), seed=int(values["seed"]),
                      width=values.get("width"), augment=augment,
                      optimizer_options=dict(values.get("optimizer_options") or {}))


def sweep(build_net: Callable, train: Dataset, validation: Dataset, experiments: Sequence[dict],
          epochs: int = 25, device: str | torch.device = "cpu", *, batch_size: int = 32,
          optimizer: str | type = "adam", lr: float = 1e-3, seed: int = 0, batched: bool = True,
          progress: bool = True, layer_stats: bool = True, keep_outputs: bool = True,
          workers: int | None = None) -> dict[str, History]:
    """Train one network per experiment; return ``{title: History}`` in the experiments' order.

    See the module docstring for the experiment settings. ``seed`` fixes the batch order, the
    augmentation draws and (unless an experiment sets its own) the initial weights.
    ``batched=False`` trains every experiment alone through ``fit``. Independent groups train side
    by side in ``workers`` processes (default: one per CPU core; one on a GPU or under grading).
    """
    device = detect_device(verbose=False) if str(device) == "auto" else torch.device(device)
    train, validation = in_memory(train, progress), in_memory(validation, progress)
    defaults = {"build_net": build_net, "optimizer": optimizer, "lr": lr, "batch_size": batch_size,
                "epochs": epochs, "seed": seed}
    planned = [_experiment(settings, defaults) for settings in experiments]
    titles = [e.title for e in planned]
    duplicates = sorted({t for t in titles if titles.count(t) > 1})
    if duplicates:
        raise ValueError(f"experiment titles must be unique, these repeat: {duplicates}; give each a 'title'")
    groups: dict = {}
    for e in planned:
        net = e.make_net().to(device)
        key = _group_key(net, e, train) if batched else None
        groups.setdefault(key if key is not None else id(e), []).append((e, net))
    workers = workers if workers is not None else default_workers(device)
    units = _split_for(workers, list(groups.values()), train)

    def job(members: list) -> Callable:
        def run(progress: Callable[[int], None]) -> dict[str, History]:
            if len(members) == 1:
                e, net = members[0]
                history = fit(net, _training_set(train, e, seed), validation, e.make_optimizer(net.parameters()),
                              e.epochs, e.batch_size, device, seed=seed, progress=False,
                              layer_stats=layer_stats, keep_outputs=keep_outputs, on_epoch=lambda _: progress(1))
                return {e.title: history}
            return train_together([net for _, net in members], [e for e, _ in members], train, validation,
                                  device, seed=seed, layer_stats=layer_stats, keep_outputs=keep_outputs,
                                  on_epoch=lambda: progress(len(members)))
        return run

    histories: dict[str, History] = {}
    with progress_bar(total=sum(e.epochs for e in planned), desc="Sweep", unit="epoch", disable=not progress) as bar:
        for found in run_jobs([job(members) for members in units], workers, bar.update):
            histories.update(found)
    return {title: histories[title] for title in titles}


def _cost(members: list, train: Dataset) -> float:
    """Rough seconds of a group of experiments: steps times (overhead + multiply-adds) per step."""
    e = members[0][0]
    steps = e.epochs * (len(train) // e.batch_size + 1)
    work = e.batch_size * sum(p.numel() for _, n in members for p in n.parameters())
    return steps * (1.0 + work / 3e6)


def _split_for(workers: int, groups: list[list], train: Dataset) -> list[list]:
    """Groups longest first; while there are fewer than ``workers``, halve the largest batched one."""
    units = sorted(groups, key=lambda m: -_cost(m, train))
    while len(units) < workers and any(len(m) > 1 for m in units):
        largest = max((m for m in units if len(m) > 1), key=lambda m: _cost(m, train))
        units.remove(largest)
        half = len(largest) // 2
        units += [largest[:half], largest[half:]]
        units.sort(key=lambda m: -_cost(m, train))
    return units


def _training_set(train: Dataset, e: Experiment, seed: int) -> Dataset:
    return NoisyDataset(train, **e.augment, seed=seed) if e.augment else train


def _group_key(net: nn.Module, e: Experiment, train: Dataset):
    """What experiments must share to train together; None when this one cannot be batched."""
    if not isinstance(net, nn.Sequential) or as_tensors(train) is None or list(net.buffers()):
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
    return (tuple(layers), e.batch_size, e.epochs, next(net.parameters()).device)


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


def train_together(nets: list[nn.Sequential], experiments: list[Experiment], train: Dataset, validation: Dataset,
                   device: torch.device, *, seed: int, layer_stats: bool = True, keep_outputs: bool = True,
                   on_epoch: Callable = lambda: None) -> dict[str, History]:
    """Train networks of one shape on the same batches at once; ``{title: History}`` as ``fit`` gives."""
    stacked = StackedNets(nets)
    epochs, batch_size = experiments[0].epochs, experiments[0].batch_size
    sources = {phase: TensorBatches(*[t.to(device) for t in as_tensors(data)[:2]])
               for phase, data in (("train", train), ("validation", validation))}
    datasets = [_training_set(train, e, seed) if e.augment else None for e in experiments]
    augment = SharedAugmentation(datasets) if any(datasets) else None
    optimizers = _shared_optimizers(nets, experiments)
    orders = BatchOrder(len(sources["train"]), seed)
    histories = [History() for _ in nets]
    work = batch_size * sum(s.numel() for s in stacked.stacked.values())  # multiply-adds per step, roughly
    start_time = time.perf_counter()
    with ExitStack() as context:
        context.enter_context(cpu_threads(device, work))
        for optimizer in optimizers:
            context.enter_context(fused_step(optimizer, device))
        for epoch in range(epochs):
            order = orders.next()
            for phase in PHASES:
                training = phase == "train"
                records = _run_phase_together(stacked, phase, sources[phase], order if training else None,
                                              batch_size, augment, optimizers, layer_stats, keep_outputs)
                for history, record in zip(histories, records):
                    record[f"{phase} steps"] *= epoch + 1
                    append(history, record)
            elapsed = time.perf_counter() - start_time
            for history in histories:
                append(history, {"epochs": epoch, "time": elapsed})
            on_epoch()
    return {e.title: history for e, history in zip(experiments, histories)}


def _shared_optimizers(nets: list[nn.Module], experiments: list[Experiment]) -> list[torch.optim.Optimizer]:
    """One optimizer per distinct optimizer setting, over the parameters of all models that use it.

    Optimizers work number by number, so one Adam over four models computes what four Adams
    would, in one call instead of four.
    """
    by_setting: dict = {}
    for net, e in zip(nets, experiments):
        setting = (e.optimizer, e.lr, tuple(sorted(e.optimizer_options.items())))
        by_setting.setdefault(setting, (e, []))[1].extend(net.parameters())
    return [e.make_optimizer(parameters) for e, parameters in by_setting.values()]


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


def _run_phase_together(stacked: StackedNets, phase: str, source: TensorBatches, order, batch_size: int,
                        augment, optimizers: list, layer_stats: bool, keep_outputs: bool) -> list[dict]:
    """One pass of all models over one phase's data; one history record per model."""
    training = order is not None
    augmenting = training and augment is not None
    models, device = len(stacked), source.x.device
    losses, sizes, outputs, targets, magnitudes = [], [], [], [], []
    stats = OutputStats(len(stacked.layers), batch_dim=1) if layer_stats else None
    step_rows = batch_size if training else eval_rows(stacked.nets[0], F.cross_entropy, batch_size)
    if stats is not None:
        stats.split = batch_size if step_rows > batch_size else None
    with torch.set_grad_enabled(training):
        for x, y in source.batches(order, step_rows):
            if augmenting:
                x = augment(x)  # (M, B, pixels)
            output = stacked.forward(x, stats)  # (M, B, classes)
            # (B, classes, M) against (B, M): every model's per-sample losses in one call
            loss = F.cross_entropy(output.permute(1, 2, 0), y[:, None].expand(-1, models), reduction="none").mean(0)
            losses.append(loss.detach())
            sizes.append(len(y))
            outputs.append(output.detach())
            targets.append(y)
            if training:
                stacked.zero_grad()
                loss.sum().backward()  # model m's loss reaches only model m's slice of the weights
                stacked.share_grads()
                magnitudes.append(stacked.first_magnitudes())
                for optimizer in optimizers:
                    optimizer.step()
    weights = torch.tensor(sizes, dtype=torch.float32, device=device)
    outputs, targets = torch.cat(outputs, dim=1).float(), torch.cat(targets)  # (M, n, classes), (n,)
    rows = [torch.stack(losses).T @ weights, correct_count(outputs.transpose(0, 1), targets[:, None])]  # (M,) each
    if stats is not None:
        rows.extend(stats.collect(device))  # 3 rows of (M,) per layer
    if magnitudes:
        rows.extend(torch.stack(magnitudes).mean(0) / stacked.first[0].numel())  # 2 rows of (M,)
    numbers = torch.stack(rows, dim=1).cpu().tolist()  # (M, values): the one read per phase
    if keep_outputs and training:
        outputs = torch.empty_like(outputs).index_copy_(1, order.to(device), outputs)
    keys = stat_keys(stacked.layers, phase) if layer_stats else []
    n = sum(sizes)
    return [phase_record(phase, numbers[m], n, -(-n // batch_size), keys, training, bool(magnitudes),
                         outputs[m] if keep_outputs else None) for m in range(models)]
