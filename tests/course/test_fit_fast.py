"""fit's tensor fast path gives the same History as the general DataLoader path, and the seed's numbers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Subset

from course import NoisyDataset, fashion_mnist_split, fit
from course.batches import LoaderBatches, TensorBatches, batch_source
from course.training import eval_rows
from tests.support.datasets import PlainDataset, run_benchmark


def build_net(batch_norm: bool = False) -> nn.Sequential:
    norm = [nn.BatchNorm1d(32)] if batch_norm else []
    return nn.Sequential(nn.Linear(784, 32), *norm, nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


@pytest.fixture(scope="module")
def data(fashion_root):
    return fashion_mnist_split(n_train=200, n_validation=100, root=fashion_root)


def train(net_seed: int, train_set, validation_set, *, batch_norm=False, optimizer="adam", **options):
    torch.manual_seed(net_seed)
    net = build_net(batch_norm)
    kind = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    history = fit(net, train_set, validation_set, kind(net.parameters(), lr=1e-2), epochs=3, batch_size=32,
                  seed=7, progress=False, **options)
    return net, history


def assert_same_history(a, b, atol=1e-5):
    assert list(a) == list(b)
    for key in a:
        if key == "time":
            continue
        assert len(a[key]) == len(b[key]), key
        for x, y in zip(a[key], b[key]):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=atol, err_msg=key)


@pytest.mark.parametrize("batch_norm,optimizer", [(False, "sgd"), (True, "adam")])
def test_fast_path_matches_the_dataloader_path(data, batch_norm, optimizer, loader_only):
    train_set, validation_set = data
    assert isinstance(batch_source(train_set, torch.device("cpu")), TensorBatches)
    assert isinstance(batch_source(PlainDataset(train_set), torch.device("cpu")), LoaderBatches)
    _, fast = train(0, train_set, validation_set, batch_norm=batch_norm, optimizer=optimizer)
    _, general = train(0, PlainDataset(train_set), PlainDataset(validation_set), batch_norm=batch_norm,
                       optimizer=optimizer)
    assert_same_history(fast, general)
    layers = 6 if batch_norm else 5
    assert len([k for k in fast if k.startswith("train ") and " output " in k]) == 3 * layers
    assert fast["train outputs"][-1].shape == (200, 10)
    assert fast["train steps"] == [7, 14, 21]  # ceil(200 / 32) per epoch, counted from the start
    assert fast["train loss"][-1] < fast["train loss"][0]


def test_subset_takes_the_fast_path_with_the_same_numbers(data, loader_only):
    train_set, validation_set = data
    subset = Subset(train_set, list(range(0, 200, 2)))
    assert isinstance(batch_source(subset, torch.device("cpu")), TensorBatches)
    _, fast = train(1, subset, validation_set)
    _, general = train(1, PlainDataset(subset), PlainDataset(validation_set))
    assert_same_history(fast, general)


def test_layer_stats_and_outputs_mean_what_the_seed_computes(data):
    """The seed's hooks average each batch's output mean / abs mean / std over the batches."""
    train_set, validation_set = data
    net, history = train(2, train_set, validation_set)
    net.eval()
    x = validation_set.images
    with torch.no_grad():
        batches = [x[i:i + 32] for i in range(0, len(x), 32)]
        outputs = [net[0](b) for b in batches]  # validation is the last thing fit runs, on the final weights
        logits = net(x)
    for stat, compute in (("mean", torch.mean), ("abs mean", lambda t: t.abs().mean()), ("std", torch.std)):
        expected = np.mean([compute(o).item() for o in outputs])
        assert history[f"validation 0: Linear output {stat}"][-1] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(history["validation outputs"][-1], logits.numpy(), rtol=1e-5, atol=1e-5)
    accuracy = (logits.argmax(1) == validation_set.labels).float().mean().item()
    assert history["validation accuracy"][-1] == pytest.approx(accuracy)
    # Training outputs are stored in dataset order although the batches were shuffled.
    assert not np.allclose(history["train outputs"][0], history["train outputs"][-1])
    assert history["train mean abs weight"][-1] > 0 and history["train mean abs grad"][-1] > 0


def test_validation_takes_large_steps_only_where_that_changes_no_number():
    cross_entropy = nn.functional.cross_entropy
    assert eval_rows(build_net(), cross_entropy, 32) == 1024
    assert eval_rows(build_net(batch_norm=True), cross_entropy, 32) == 1024  # running statistics in eval mode
    assert eval_rows(build_net(), nn.CrossEntropyLoss(), 100) == 1000
    batch_statistics = nn.Sequential(nn.Linear(784, 32), nn.BatchNorm1d(32, track_running_stats=False))
    assert eval_rows(batch_statistics, cross_entropy, 32) == 32
    assert eval_rows(nn.Sequential(nn.Linear(784, 10), nn.Softmax(dim=0)), cross_entropy, 32) == 32
    assert eval_rows(build_net(), lambda output, y: cross_entropy(output, y, reduction="sum"), 32) == 32


def test_in_place_layers_do_not_change_the_layer_statistics(data):
    train_set, validation_set = data
    _, plain = train(5, train_set, validation_set)
    torch.manual_seed(5)
    net = build_net()
    net[1].inplace = True  # ReLU(inplace=True) overwrites the first Linear's output
    history = fit(net, train_set, validation_set, torch.optim.Adam(net.parameters(), lr=1e-2), epochs=3,
                  batch_size=32, seed=7, progress=False)
    assert_same_history(plain, history)


def test_augmented_fast_path_is_reproducible_and_augments(data):
    train_set, validation_set = data
    noisy = lambda: NoisyDataset(train_set, noise_sigma=0.3, flip_horizontal=True, shift=1, seed=3)  # noqa: E731
    assert isinstance(batch_source(noisy(), torch.device("cpu")), TensorBatches)
    _, first = train(4, noisy(), validation_set)
    _, again = train(4, noisy(), validation_set)
    _, clean = train(4, train_set, validation_set)
    assert_same_history(first, again, atol=0)
    assert first["train loss"][0] != pytest.approx(clean["train loss"][0], rel=1e-3)


def test_fit_leaves_threads_and_optimizer_as_it_found_them(data):
    train_set, validation_set = data
    threads = torch.get_num_threads()
    net = build_net()
    optimizer = torch.optim.Adam(net.parameters())
    fit(net, train_set, validation_set, optimizer, epochs=1, progress=False)
    assert torch.get_num_threads() == threads
    assert optimizer.param_groups[0]["fused"] is None


def test_fit_rejects_bad_arguments(data):
    with pytest.raises(ValueError, match="batch_size >= 1, got epochs=1, batch_size=0"):
        fit(build_net(), *data, torch.optim.SGD(build_net().parameters(), lr=0.1), epochs=1, batch_size=0)


@pytest.mark.slow
def test_fit_speed_benchmark_runs(fashion_root):
    assert "speed-up of fit over the fastest reference" in run_benchmark("fit_speed.py", fashion_root, timeout=600)
