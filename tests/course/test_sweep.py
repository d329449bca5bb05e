"""sweep trains same-shape models together with the same results as fit on each alone; grid builds experiments."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from course import HistoryPlotter, NoisyDataset, fashion_mnist_split, fit, grid, linear_data, sweep
from course.parallel import run_jobs
from course.stacked import StackedNets
from course.sweep import Experiment, group_key
from tests.support.datasets import run_benchmark

EPOCHS, BATCH, SEED = 2, 32, 5


def build_net(width: int = 32) -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.Tanh(),
                         nn.Linear(width // 2, 10))


def build_net_bn() -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10))


@pytest.fixture(scope="module")
def data(fashion_root):
    return fashion_mnist_split(n_train=160, n_validation=80, root=fashion_root)


def fit_alone(settings: dict, train, validation, loss_fn=F.cross_entropy):
    """What the sweep promises each experiment equals: a plain fit with the same seeds."""
    torch.manual_seed(settings.get("seed", SEED))
    net = settings.get("build_net", build_net)(*([settings["width"]] if "width" in settings else []))
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[settings.get("optimizer", "adam")]
    optimizer = kind(net.parameters(), lr=settings.get("lr", 1e-3), **settings.get("optimizer_options", {}))
    augment = settings.get("augment")
    data = NoisyDataset(train, **augment, seed=SEED) if augment else train
    scheduler = settings["scheduler"](optimizer) if "scheduler" in settings else None
    return fit(net, data, validation, optimizer, EPOCHS, settings.get("batch_size", BATCH), seed=SEED, progress=False,
               loss_fn=loss_fn, scheduler=scheduler)


def assert_close(swept, alone, title):
    assert list(swept) == list(alone), title
    for key in swept:
        if key == "time":
            continue
        for x, y in zip(swept[key], alone[key]):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4, err_msg=f"{title}: {key}")


def cosine(optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)


EXPERIMENTS = [
    {"optimizer": "sgd", "lr": 0.05},
    {"optimizer": "sgd", "lr": 0.01, "optimizer_options": {"momentum": 0.9}},
    {"optimizer": "adam", "lr": 1e-3},
    {"optimizer": "adam", "lr": 1e-3, "seed": 11},  # another initialisation, same batches
    {"optimizer": "adam", "lr": 3e-3, "augment": {"noise_sigma": 0.1, "flip_horizontal": True, "shift": 1}},
    {"optimizer": "sgd", "lr": 0.05, "augment": {"noise_sigma": 0.2}},
    {"title": "wide", "width": 64},
    {"title": "batch norm", "build_net": build_net_bn},
    {"title": "batch 16", "batch_size": 16},
    {"title": "cosine", "optimizer": "sgd", "lr": 0.05, "optimizer_options": {"momentum": 0.9}, "scheduler": cosine},
    {"title": "cosine, seed 11", "optimizer": "sgd", "lr": 0.05, "optimizer_options": {"momentum": 0.9},
     "scheduler": cosine, "seed": 11},  # shares the optimizer and the schedule of "cosine": one step per epoch
]


@pytest.fixture(scope="module")
def swept(data):
    # Two worker processes: the groups train side by side in forked processes, as on a student's laptop.
    return sweep(build_net, *data, EXPERIMENTS, epochs=EPOCHS, batch_size=BATCH, seed=SEED, progress=False, workers=2)


def test_same_shape_experiments_share_one_batched_group(data):
    defaults = {"build_net": build_net, "optimizer": "adam", "lr": 1e-3, "batch_size": BATCH, "epochs": EPOCHS,
                "seed": SEED}
    planned = [Experiment.from_settings(settings, defaults) for settings in EXPERIMENTS]
    keys = [group_key(e.make_net(), e, data[0]) for e in planned]
    assert len({keys[i] for i in range(6)}) == 1 and keys[0] is not None  # SGD, Adam, seeds, augmentation
    assert keys[6] != keys[0] and keys[8] != keys[0]  # another width, another batch size
    assert keys[7] is None  # batch norm trains alone through fit


@pytest.mark.parametrize("index", range(len(EXPERIMENTS)))
def test_each_experiment_equals_fit_alone(swept, data, index):
    settings = EXPERIMENTS[index]
    title = list(swept)[index]
    assert_close(swept[title], fit_alone(settings, *data), title)


def test_a_scheduled_experiment_records_the_rate_of_each_epoch(swept):
    # cosine annealing over 2 epochs: the full rate, then half of it (a schedule stepped twice would give 0)
    for title in ("cosine", "cosine, seed 11"):
        np.testing.assert_allclose(swept[title]["lr"], [0.05, 0.025], err_msg=title)
    assert "lr" not in swept[list(swept)[0]], "only a scheduled run records its rate"


def test_one_worker_gives_what_two_give(swept, data):
    here = sweep(build_net, *data, EXPERIMENTS[:3] + EXPERIMENTS[6:], epochs=EPOCHS, batch_size=BATCH, seed=SEED,
                 progress=False, workers=1)
    for title, history in here.items():
        assert_close(history, swept[title], title)


def test_parallel_jobs_report_failures_and_deaths():
    assert run_jobs([lambda progress: 1, lambda progress: progress(3) or 2], workers=2) == [1, 2]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        run_jobs([lambda progress: 1, lambda progress: 1 / 0], workers=2)
    with pytest.raises(RuntimeError, match="died"):
        run_jobs([lambda progress: os._exit(3), lambda progress: 1], workers=2)


def test_histories_are_ready_for_history_plotter(swept):
    assert list(swept)[:3] == ["optimizer=sgd, lr=0.05", "optimizer=sgd, lr=0.01, optimizer_options=momentum=0.9",
                               "optimizer=adam, lr=0.001"]
    plotter = HistoryPlotter(plots=[{"x": "epochs", "y": ["train loss", "validation loss"]}],
                             table=["validation accuracy"], rows=len(swept), cols=1)
    for row, (title, history) in enumerate(swept.items()):
        plotter.add(title, history, row=row)
    assert list(plotter.table_frame()["experiment"]) == list(swept)


def test_stacked_nets_keep_the_networks_trained(data):
    """After a batched run each network holds its own trained weights (views into the stacked ones)."""
    nets = [build_net() for _ in range(3)]
    before = [net[0].weight.detach().clone() for net in nets]
    stacked = StackedNets(nets)
    x = data[0].images[:8]
    with torch.no_grad():
        together = stacked.forward(x)
    for m, net in enumerate(nets):
        torch.testing.assert_close(together[m], net(x).detach())
        assert torch.equal(net[0].weight, before[m])
    with torch.no_grad():
        stacked.stacked[(0, "weight")][1] += 1.0
    assert torch.equal(nets[1][0].weight, before[1] + 1.0) and torch.equal(nets[0][0].weight, before[0])


def test_grid_makes_every_combination():
    experiments = grid(optimizer=["sgd", "adam"], lr=[0.1, 0.01], augment=[{}, {"noise_sigma": 0.1}])
    assert len(experiments) == 8
    assert experiments[1] == {"optimizer": "sgd", "lr": 0.1, "augment": {"noise_sigma": 0.1}}
    assert isinstance(Experiment.from_settings(experiments[0], {"build_net": build_net, "optimizer": "adam", "lr": 1,
                                                                "batch_size": 1, "epochs": 1, "seed": 0}), Experiment)


@pytest.mark.parametrize("call,message", [
    (lambda: grid(learning_rate=[0.1]), "unknown setting 'learning_rate'"),
    (lambda: grid(lr=0.1), "needs a list of values for lr"),
    (lambda: sweep(build_net, None, None, [{"lr": 0.1, "momentum": 0.9}]), "unknown experiment setting"),
    (lambda: sweep(build_net, None, None, [{"optimizer": "lbfgs2"}]), "unknown optimizer 'lbfgs2'"),
    (lambda: sweep(build_net, None, None, [{"lr": 0.1}, {"lr": 0.1}]), "titles must be unique"),
    (lambda: sweep(build_net, None, None, [{"augment": {"shift": -1}}]), "shift must be >= 0"),
])
def test_bad_experiments_get_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def smoothed_cross_entropy(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(output, y, label_smoothing=0.1)


def test_sweep_trains_with_the_given_loss(swept, data):
    """Stacked experiments train on sweep's loss_fn: each equals fit with that loss, not cross-entropy."""
    smoothed = sweep(build_net, *data, EXPERIMENTS[:2], epochs=EPOCHS, batch_size=BATCH, seed=SEED,
                     loss_fn=smoothed_cross_entropy, progress=False, workers=1)
    first, second = smoothed.values()
    assert first["time"] == second["time"]  # one group: they trained stacked
    for settings, (title, history) in zip(EXPERIMENTS[:2], smoothed.items()):
        assert_close(history, fit_alone(settings, *data, loss_fn=smoothed_cross_entropy), title)
        assert not np.allclose(history["train loss"], swept[title]["train loss"], rtol=1e-3), title


def regression_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def test_each_experiment_may_set_its_own_loss():
    x, y = linear_data([1.0, -2.0, 0.5], 0.3, n=120, noise=0.1)
    train, validation = TensorDataset(x[:80], y[:80]), TensorDataset(x[80:], y[80:])
    experiments = [{"lr": 0.05, "loss_fn": F.mse_loss}, {"lr": 0.01, "loss_fn": F.mse_loss}, {"loss_fn": F.l1_loss}]
    swept = sweep(regression_net, train, validation, experiments, epochs=3, batch_size=10, optimizer="sgd",
                  seed=SEED, progress=False, workers=1)
    assert list(swept)[2] == "loss_fn=l1_loss"
    for settings, (title, history) in zip(experiments, swept.items()):
        torch.manual_seed(SEED)
        net = regression_net()
        alone = fit(net, train, validation, torch.optim.SGD(net.parameters(), lr=settings.get("lr", 1e-3)), 3, 10,
                    loss_fn=settings["loss_fn"], seed=SEED, progress=False)
        assert_close(history, alone, title)
    assert np.isnan(swept[title]["validation accuracy"]).all()  # no classes, no accuracy


def test_a_loss_with_one_number_per_sample_gets_a_clear_error(data):
    per_sample = lambda output, y: F.cross_entropy(output, y, reduction="none")  # noqa: E731
    with pytest.raises(ValueError, match="one number per batch"):
        sweep(build_net, *data, EXPERIMENTS[:2], epochs=1, batch_size=BATCH, loss_fn=per_sample, progress=False,
              workers=1)


@pytest.mark.slow
def test_seed_grid_benchmark_runs(fashion_root):
    output = run_benchmark("seed_grid.py", fashion_root, timeout=900)
    assert "whole grid" in output and "peak memory" in output
