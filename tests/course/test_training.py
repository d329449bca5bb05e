"""fit: the same numbers as a plain PyTorch loop, every history key, any Dataset."""
import copy

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from course import History, NoisyDataset, fit
from tests.support.datasets import PlainDataset


def build_net(width=32):
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.ReLU(),
                         nn.Linear(width // 2, 10))


@pytest.fixture
def data():
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(120, 784, generator=generator), torch.randint(0, 10, (120,), generator=generator)
    return TensorDataset(x[:90], y[:90]), TensorDataset(x[90:], y[90:])


def plain_loop(net, train, validation, optimizer, epochs, batch_size):
    """The textbook loop, unshuffled: per-epoch mean loss and accuracy over samples."""
    losses = {"train": [], "validation": []}
    accuracies = {"train": [], "validation": []}
    for _ in range(epochs):
        for phase, dataset in (("train", train), ("validation", validation)):
            net.train(phase == "train")
            x_all, y_all = dataset.tensors
            loss_sum = correct = 0.0
            for start in range(0, len(x_all), batch_size):
                x, y = x_all[start:start + batch_size], y_all[start:start + batch_size]
                with torch.set_grad_enabled(phase == "train"):
                    output = net(x)
                    loss = nn.functional.cross_entropy(output, y)
                loss_sum += loss.item() * len(y)
                correct += (output.argmax(1) == y).sum().item()
                if phase == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
            losses[phase].append(loss_sum / len(x_all))
            accuracies[phase].append(correct / len(x_all))
    return losses, accuracies


@pytest.mark.parametrize("general_path", [False, True])
def test_fit_matches_a_plain_pytorch_loop(data, general_path, loader_only):
    train, validation = data
    torch.manual_seed(1)
    net = build_net()
    twin = copy.deepcopy(net)
    train_arg = PlainDataset(train) if general_path else train
    history = fit(net, train_arg, validation, torch.optim.SGD(net.parameters(), lr=0.1), epochs=3,
                  batch_size=16, shuffle=False, progress=False)
    losses, accuracies = plain_loop(twin, train, validation, torch.optim.SGD(twin.parameters(), lr=0.1), 3, 16)
    for phase in ("train", "validation"):
        assert history[f"{phase} loss"] == pytest.approx(losses[phase], rel=1e-5)
        assert history[f"{phase} accuracy"] == pytest.approx(accuracies[phase])
    for mine, theirs in zip(net.parameters(), twin.parameters()):
        assert torch.allclose(mine, theirs, atol=1e-6)


def test_history_has_every_key_with_one_entry_per_epoch(data):
    train, validation = data
    net = build_net()
    history = fit(net, train, validation, torch.optim.Adam(net.parameters()), epochs=4, batch_size=32,
                  progress=False)
    assert isinstance(history, History)
    expected = ["train loss", "train accuracy", "validation loss", "validation accuracy", "train steps",
                "validation steps", "train outputs", "validation outputs", "epochs", "time",
                "train mean abs grad", "train mean abs weight"]
    for phase in ("train", "validation"):
        for index, name in enumerate(["Linear", "ReLU", "Linear", "ReLU", "Linear"]):
            expected += [f"{phase} {index}: {name} output {stat}" for stat in ("mean", "abs mean", "std")]
    assert sorted(history) == sorted(expected)
    assert all(len(values) == 4 for values in history.values())
    assert history["epochs"] == [0, 1, 2, 3]
    assert history["train steps"] == [3, 6, 9, 12]  # 90 samples in batches of 32
    assert history["train outputs"][-1].shape == (90, 10)
    assert history["time"] == sorted(history["time"])
    relu_mean = history["train 1: ReLU output mean"]
    assert all(value >= 0 for value in relu_mean)
    assert history["train 4: Linear output abs mean"][-1] >= abs(history["train 4: Linear output mean"][-1])


def test_layer_stats_are_epoch_means_of_batch_statistics(data):
    train, validation = data
    net = nn.Sequential(nn.Linear(784, 10))
    history = fit(net, train, validation, torch.optim.SGD(net.parameters(), lr=0.0), epochs=1,
                  batch_size=30, shuffle=False, progress=False)
    with torch.no_grad():
        batches = [net(train.tensors[0][i:i + 30]) for i in range(0, 90, 30)]
    expected_std = sum(b.std().item() for b in batches) / 3
    expected_abs = sum(b.abs().mean().item() for b in batches) / 3
    assert history["train 0: Linear output std"][0] == pytest.approx(expected_std, rel=1e-5)
    assert history["train 0: Linear output abs mean"][0] == pytest.approx(expected_abs, rel=1e-5)


def test_seeded_shuffle_is_reproducible_and_hooks_are_removed(data):
    train, validation = data
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        net = build_net()
        runs.append(fit(net, NoisyDataset(train, noise_sigma=0.1, seed=4), validation,
                        torch.optim.SGD(net.parameters(), lr=0.05), epochs=2, batch_size=8, seed=11,
                        progress=False))
        assert not any(module._forward_hooks for module in net.modules())
    assert runs[0]["train loss"] == pytest.approx(runs[1]["train loss"], rel=1e-6)


def test_regression_with_another_loss(data):
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    net = nn.Sequential(nn.Linear(3, 1))
    history = fit(net, TensorDataset(x, y), TensorDataset(x, y), torch.optim.SGD(net.parameters(), lr=0.1),
                  epochs=20, batch_size=8, loss_fn=nn.functional.mse_loss, progress=False)
    assert history["validation loss"][-1] < 0.01 < history["validation loss"][0]
