"""fit reads a dataset with fixed items (torchvision's, as the seed builds it) into tensors once,
with the numbers of the DataLoader path; random or oversized datasets keep the DataLoader."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset, random_split

from course import fit
from course.batches import LoaderBatches, TensorBatches, batch_source, in_memory, read_items
from tests.support.datasets import PlainDataset

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def seed_style(fashion_root):
    """Training and validation sets built the way the seed notebooks build them."""
    images = torchvision.datasets.FashionMNIST(
        root=str(fashion_root), train=True, download=False,
        transform=torchvision.transforms.Compose([torchvision.transforms.ToTensor(), lambda image: image.flatten()]))
    train, validation, _ = random_split(images, [200, 100, len(images) - 300], generator=torch.Generator().manual_seed(0))
    return train, validation


def train(train_set, validation_set) -> dict:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    return fit(net, train_set, validation_set, torch.optim.Adam(net.parameters(), lr=1e-2), epochs=2,
               batch_size=32, seed=5, progress=False)


def test_seed_style_data_is_read_once_and_trains_to_the_same_numbers(seed_style, monkeypatch):
    train_set, validation_set = seed_style
    source = batch_source(train_set, CPU)
    assert isinstance(source, TensorBatches)
    x, y = next(iter(DataLoader(train_set, batch_size=len(train_set))))
    assert torch.equal(source.x, x) and torch.equal(source.y, y)
    read = train(train_set, validation_set)
    monkeypatch.setattr("course.batches.READ_LIMIT", 0)
    assert isinstance(batch_source(train_set, CPU), LoaderBatches)
    loaded = train(train_set, validation_set)
    assert list(read) == list(loaded)
    for key in read:
        if key != "time":
            np.testing.assert_allclose(np.asarray(read[key]), np.asarray(loaded[key]), rtol=1e-6, atol=1e-7,
                                       err_msg=key)


class RandomItems(Dataset):
    """An instructor's augmentation: every read draws from one of the global random generators."""

    def __init__(self, dataset, draw):
        self.dataset, self.draw = dataset, draw

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        return x + float(self.draw()), y


# Draws that leave the items as they are (a random flip that did not flip): only the generators tell.
@pytest.mark.parametrize("draw", [lambda: torch.rand(()) * 0, lambda: np.random.rand() * 0, lambda: random.random() * 0],
                         ids=["torch", "numpy", "random"])
def test_items_that_draw_random_numbers_are_not_read_and_the_draws_are_put_back(seed_style, draw):
    dataset = RandomItems(seed_style[0], draw)
    states = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    assert read_items(dataset) is None
    assert isinstance(batch_source(dataset, CPU), LoaderBatches)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1]) and random.getstate() == states[2]


class PrivateGenerator(PlainDataset):
    """Random items from a generator of its own, which no global state shows."""

    def __init__(self, dataset):
        super().__init__(dataset)
        self.generator = np.random.default_rng(0)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        return x + float(self.generator.normal()), y


def test_items_that_differ_between_reads_are_not_read(seed_style):
    assert isinstance(batch_source(PrivateGenerator(seed_style[0]), CPU), LoaderBatches)


def test_datasets_over_the_limit_or_not_tensors_stay_with_the_dataloader(seed_style, fashion_root, monkeypatch):
    train_set = seed_style[0]
    monkeypatch.setattr("course.batches.READ_LIMIT", len(train_set) * 785 * 4 - 1)  # one byte short
    assert read_items(train_set) is None
    monkeypatch.setattr("course.batches.READ_LIMIT", len(train_set) * (784 * 4 + 8))  # images and labels: fits
    assert read_items(train_set) is not None
    pil_images = torchvision.datasets.FashionMNIST(root=str(fashion_root), train=False, download=False)
    assert read_items(pil_images) is None


def test_in_memory_gives_sweeps_tensors_and_leaves_tensor_data_alone(seed_style):
    train_set = seed_style[0]
    tensors = in_memory(train_set)
    assert isinstance(tensors, TensorDataset)
    assert torch.equal(tensors.tensors[1], torch.tensor([train_set[i][1] for i in range(len(train_set))]))
    assert in_memory(tensors) is tensors
    random_items = RandomItems(train_set, lambda: torch.randn(()))
    assert in_memory(random_items) is random_items
