"""Where ``fit`` and ``sweep`` get their batches: tensors on the device cut by index, or a DataLoader.

A dataset that is tensors underneath (a ``TensorDataset``, Fashion-MNIST from ``course``, a
``Subset`` or ``NoisyDataset`` over either) is used as it is. Any other map-style dataset whose
items are fixed is read into tensors once per call, when it fits in READ_LIMIT bytes: for example
torchvision's ``FashionMNIST`` with ``ToTensor`` behind a ``random_split``, as the seed notebooks
build it. An item is fixed when reading draws no random numbers from torch, numpy or ``random``
and the first item reads the same twice. Everything else goes through a ``DataLoader`` every epoch.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Subset, TensorDataset, default_collate

from .augment import NoisyDataset
from .progress import progress_bar

# Datasets larger than this, as tensors, stay where they are and go through a DataLoader.
READ_LIMIT = 2**30


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
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            for augment in self.augmenters:
                xb = augment(xb)
            yield xb, yb


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


def as_tensors(dataset, read: bool = False, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor, list] | None:
    """(inputs, targets, augmenters) when the dataset is tensors underneath, else None.

    With ``read``, a dataset that is not is read into tensors where ``read_items`` allows.
    """
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        return dataset.tensors[0], dataset.tensors[1], []
    if isinstance(dataset, Subset):
        inner = as_tensors(dataset.dataset)  # not read: that would read all of it for a part
        if inner is not None:
            index = torch.as_tensor(dataset.indices, dtype=torch.long)
            return inner[0][index], inner[1][index], inner[2]
    if isinstance(dataset, NoisyDataset):
        inner = as_tensors(dataset.dataset, read, progress)
        if inner is not None:
            return inner[0], inner[1], inner[2] + [dataset.augment]
        return None  # its items are random: never read them as they are
    if read:
        tensors = read_items(dataset, progress)
        if tensors is not None:
            return tensors[0], tensors[1], []
    return None


def batch_source(dataset: Dataset, device: torch.device, progress: bool = False) -> TensorBatches | LoaderBatches:
    """The fast tensor path where the dataset allows it, else a DataLoader."""
    tensors = as_tensors(dataset, read=True, progress=progress)
    if tensors is None:
        return LoaderBatches(dataset, device)
    x, y, augmenters = tensors
    return TensorBatches(x.to(device), y.to(device), augmenters)


def in_memory(dataset: Dataset, progress: bool = False) -> Dataset:
    """The dataset itself if it is tensors underneath, else its items read into a ``TensorDataset``
    where ``read_items`` allows, else the dataset itself."""
    if as_tensors(dataset) is not None:
        return dataset
    tensors = read_items(dataset, progress)
    return TensorDataset(*tensors) if tensors is not None else dataset


def read_items(dataset, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor] | None:
    """All (x, y) items of ``dataset`` stacked as ``DataLoader`` would stack them, or None when
    they are not fixed, not pairs that stack, or over READ_LIMIT bytes. Leaves the random state as it was."""
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
        return None
    try:
        n = len(dataset)
    except TypeError:
        return None
    if n == 0:
        return None
    with random_state_kept() as untouched:
        try:
            item = dataset[0]
            first, again = default_collate([item]), default_collate([dataset[0]])
            if not (_pair_of_tensors(first) and untouched() and all(map(torch.equal, first, again))
                    and n * sum(t.element_size() * t.numel() for t in first) <= READ_LIMIT):
                return None
            reading = progress_bar(range(1, n), desc=f"Reading {type(dataset).__name__} into memory",
                                   leave=False, disable=not progress)
            rest = (dataset[i] for i in reading)
            x, y = default_collate([item, *rest])
        except Exception:  # noqa: BLE001 - the DataLoader path will raise it again, with the dataset's own traceback
            return None
        return (x, y) if untouched() else None


def _pair_of_tensors(batch) -> bool:
    return isinstance(batch, (list, tuple)) and len(batch) == 2 and all(isinstance(t, torch.Tensor) for t in batch)


@contextmanager
def random_state_kept() -> Iterator[Callable[[], bool]]:
    """Restore torch's, numpy's and ``random``'s global random state after the block; yields a
    function that tells whether the state is still what it was when the block began."""
    torch_state, numpy_state, python_state = torch.get_rng_state(), np.random.get_state(), random.getstate()

    def untouched() -> bool:
        numpy_now = np.random.get_state()
        return (torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == python_state
                and all(np.array_equal(a, b) for a, b in zip(numpy_now, numpy_state)))

    try:
        yield untouched
    finally:
        torch.set_rng_state(torch_state)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
