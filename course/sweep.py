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
    scheduler   a function of the optimizer that returns its learning-rate scheduler, stepped after
                every epoch, e.g. lambda optimizer: CosineAnnealingLR(optimizer, T_max=30); the history
                then records each epoch's learning rate as "lr"
    batch_size  minibatch size
    epochs      number of epochs
    width       passed to the network builder: build_net(width)
    build_net   a different network builder for this experiment
    augment     NoisyDataset settings, e.g. {"noise_sigma": 0.1, "shift": 1, "flip_horizontal": True}
    seed        seed of the network's initial weights (default: sweep's seed)
    loss_fn     the loss, e.g. F.mse_loss (default: sweep's ``loss_fn``, cross-entropy)

Every experiment gives the same history as this plain ``fit`` (up to float rounding)::

    torch.manual_seed(experiment seed); net = build_net(...)
    fit(net, NoisyDataset(train, **augment, seed=seed) if augment else train, validation,
        optimizer, epochs, batch_size, device, loss_fn=loss_fn, seed=seed,
        scheduler=scheduler(optimizer) if scheduler else None)

Experiments whose networks have the same shape (Linear layers and activations) and that share
batch size, epochs and loss see the same batches in the same order, so they train together
(``stacked.train_together``); in such a group the ``time`` entry is the whole group's time.
Any other experiment runs through ``fit`` on its own.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .augment import NoisyDataset
from .batches import as_tensors, in_memory
from .device import detect_device
from .history import History
from .parallel import default_workers, run_jobs
from .progress import progress_bar
from .stacked import stack_shape, train_together
from .training import fit

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "rmsprop": torch.optim.RMSprop}
SETTINGS = ("title", "optimizer", "lr", "optimizer_options", "scheduler", "batch_size", "epochs", "width",
            "build_net", "augment", "seed", "loss_fn")


def grid(**axes: Sequence) -> list[dict]:
    """Every combination of the given settings, e.g. ``grid(optimizer=["sgd", "adam"], lr=[0.1, 0.01])``."""
    for name, values in axes.items():
        if name not in SETTINGS or name == "title":
            raise ValueError(f"grid got an unknown setting {name!r}; settings are {', '.join(SETTINGS[1:])}")
        if isinstance(values, (str, dict)) or not isinstance(values, Sequence):
            raise ValueError(f"grid needs a list of values for {name}, got {values!r}")
    return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]


def _describe(value) -> str:
    """A setting's value as a title shows it: a function or class by its name, a dict as key=value."""
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
    loss_fn: Callable = F.cross_entropy
    scheduler: Callable | None = None  # optimizer -> its torch.optim.lr_scheduler, stepped after every epoch

    @classmethod
    def from_settings(cls, settings: dict, defaults: dict) -> Experiment:
        """The experiment a dict of settings describes; ``defaults`` fills what it leaves out."""
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
                raise ValueError(f"unknown optimizer {optimizer!r}; use one of {sorted(OPTIMIZERS)} "
                                 f"or a torch.optim class")
            optimizer = OPTIMIZERS[optimizer.lower()]
        title = settings.get("title") or ", ".join(f"{key}={_describe(value)}" for key, value in settings.items())
        augment = dict(values.get("augment") or {})
        NoisyDataset([], **augment)  # checks the augmentation settings now, with a clear message
        return cls(title=str(title or "default"), build_net=values["build_net"], optimizer=optimizer,
                   lr=float(values["lr"]), batch_size=int(values["batch_size"]), epochs=int(values["epochs"]),
                   seed=int(values["seed"]), width=values.get("width"), augment=augment,
                   optimizer_options=dict(values.get("optimizer_options") or {}),
                   loss_fn=values.get("loss_fn", F.cross_entropy), scheduler=values.get("scheduler"))

    def make_net(self) -> nn.Module:
        """The network, with initial weights from this experiment's seed (global RNG left as it was)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.build_net(self.width) if self.width is not None else self.build_net()

    def make_optimizer(self, parameters) -> torch.optim.Optimizer:
        """This experiment's optimizer over ``parameters``."""
        return self.optimizer(parameters, lr=self.lr, **self.optimizer_options)

    def make_scheduler(self, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler | None:
        """This experiment's learning-rate scheduler over ``optimizer`` (None: the rate stays as it is)."""
        return self.scheduler(optimizer) if self.scheduler is not None else None

    def training_set(self, train: Dataset, seed: int) -> Dataset:
        """The training data as this experiment sees it: augmented with draws from ``seed``, or as it is."""
        return NoisyDataset(train, **self.augment, seed=seed) if self.augment else train


def group_key(net: nn.Module, e: Experiment, train: Dataset) -> tuple | None:
    """What experiments must share to train together; None when this one cannot be batched."""
    shape = stack_shape(net) if as_tensors(train) is not None else None
    if shape is None:
        return None
    return (shape, e.batch_size, e.epochs, e.loss_fn, next(net.parameters()).device)


def sweep(build_net: Callable, train: Dataset, validation: Dataset, experiments: Sequence[dict],
          epochs: int = 25, device: str | torch.device = "cpu", *, batch_size: int = 32,
          optimizer: str | type = "adam", lr: float = 1e-3, seed: int = 0, loss_fn: Callable = F.cross_entropy,
          batched: bool = True, progress: bool = True, layer_stats: bool = True, keep_outputs: bool = True,
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
                "epochs": epochs, "seed": seed, "loss_fn": loss_fn}
    planned = [Experiment.from_settings(settings, defaults) for settings in experiments]
    titles = [e.title for e in planned]
    duplicates = sorted({t for t in titles if titles.count(t) > 1})
    if duplicates:
        raise ValueError(f"experiment titles must be unique, these repeat: {duplicates}; give each a 'title'")
    groups: dict = {}
    for e in planned:
        net = e.make_net().to(device)
        key = group_key(net, e, train) if batched else None
        groups.setdefault(key if key is not None else id(e), []).append((e, net))
    workers = workers if workers is not None else default_workers(device)
    units = _split_for(workers, list(groups.values()), train)
    options = {"seed": seed, "layer_stats": layer_stats, "keep_outputs": keep_outputs}
    histories: dict[str, History] = {}
    with progress_bar(total=sum(e.epochs for e in planned), desc="Sweep", unit="epoch", disable=not progress) as bar:
        jobs = [_group_job(members, train, validation, device, options) for members in units]
        for found in run_jobs(jobs, workers, bar.update):
            histories.update(found)
    return {title: histories[title] for title in titles}


def _group_job(members: list[tuple[Experiment, nn.Module]], train: Dataset, validation: Dataset,
              device: torch.device, options: dict) -> Callable:
    """A ``run_jobs`` job that trains one group: alone through ``fit``, or stacked through ``train_together``."""
    def run(progress: Callable[[int], None]) -> dict[str, History]:
        if len(members) == 1:
            e, net = members[0]
            optimizer = e.make_optimizer(net.parameters())
            history = fit(net, e.training_set(train, options["seed"]), validation, optimizer, e.epochs,
                          e.batch_size, device, loss_fn=e.loss_fn, scheduler=e.make_scheduler(optimizer),
                          progress=False, on_epoch=lambda _: progress(1), **options)
            return {e.title: history}
        return train_together([net for _, net in members], [e for e, _ in members], train, validation, device,
                              on_epoch=lambda: progress(len(members)), **options)
    return run


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
