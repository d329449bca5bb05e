"""Data for the chapters: Fashion-MNIST through torchvision, and synthetic regression data.

Where the Fashion-MNIST files come from, in order: the ``root`` argument, the
``COURSE_DATA_DIR`` environment variable, then a cache folder (``~/.cache/course-dl``).
torchvision downloads the files there when the network allows; offline and without the
files you get :class:`DataNotFoundError`, never made-up data.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from . import settings

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
RAW_FILES = (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
)
SPLIT_SEED = 12345  # the seed every assignment uses, so all students see the same split


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST is neither on disk nor downloadable."""


class ImageDataset(TensorDataset):
    """Flattened images (N, 784) in [0, 1] with integer labels (N,), held as tensors."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes=CLASS_NAMES):
        super().__init__(images, labels)
        self.classes = tuple(classes)

    @property
    def images(self) -> torch.Tensor:
        return self.tensors[0]

    @property
    def labels(self) -> torch.Tensor:
        return self.tensors[1]

    def __repr__(self) -> str:
        return (f"ImageDataset({len(self)} images of {self.images.shape[1]} pixels, "
                f"{len(self.classes)} classes)")


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds ``FashionMNIST/raw/``: argument, then ``COURSE_DATA_DIR``, then cache."""
    if root is not None:
        return Path(root).expanduser()
    return settings.data_folder() or settings.cache_home() / "course-dl"


def _missing_data_message(root: Path, reason: str) -> str:
    files = ", ".join(RAW_FILES)
    return (
        f"Fashion-MNIST is not in {root / 'FashionMNIST' / 'raw'} and could not be downloaded "
        f"({reason}). Put the four IDX files ({files}, uncompressed or as .gz) into "
        f"<folder>/FashionMNIST/raw/ and set COURSE_DATA_DIR=<folder>, or pass root=<folder>."
    )


def fashion_mnist(train: bool = True, root: str | os.PathLike | None = None,
                  download: bool = True) -> ImageDataset:
    """Fashion-MNIST as flattened float images in [0, 1] and labels 0-9 (chapter 4 onwards)."""
    import torchvision  # imported here: it is slow to import and only this function needs it

    folder = data_dir(root)
    try:
        raw = torchvision.datasets.FashionMNIST(root=str(folder), train=train, download=False)
    except RuntimeError:
        if not download:
            raise DataNotFoundError(_missing_data_message(folder, "download=False")) from None
        try:
            raw = torchvision.datasets.FashionMNIST(root=str(folder), train=train, download=True)
        except Exception as error:  # any network failure means the same thing to a student
            raise DataNotFoundError(_missing_data_message(folder, f"{type(error).__name__}: {error}")) from error
    images = raw.data.reshape(len(raw.data), -1).float().div_(255)  # (N, 784)
    return ImageDataset(images, raw.targets.long(), raw.classes or CLASS_NAMES)


def stratified_split(labels: torch.Tensor, sizes: list[int], seed: int = SPLIT_SEED) -> list[torch.Tensor]:
    """Disjoint random index sets of the given sizes, each with the classes as equal as possible."""
    generator = torch.Generator().manual_seed(seed)
    classes = torch.unique(labels)
    order = torch.randperm(len(labels), generator=generator)
    per_class = [order[labels[order] == c] for c in classes]  # shuffled indices of each class
    taken = [0] * len(classes)
    splits = []
    for size in sizes:
        counts = [size // len(classes) + (i < size % len(classes)) for i in range(len(classes))]
        parts = []
        for i, count in enumerate(counts):
            if taken[i] + count > len(per_class[i]):
                raise ValueError(f"class {int(classes[i])} has {len(per_class[i])} samples, "
                                 f"too few for splits of sizes {sizes}")
            parts.append(per_class[i][taken[i]:taken[i] + count])
            taken[i] += count
        chosen = torch.cat(parts)
        splits.append(chosen[torch.randperm(len(chosen), generator=generator)])
    return splits


def fashion_mnist_split(n_train: int = 1000, n_validation: int = 500, seed: int = SPLIT_SEED,
                        root: str | os.PathLike | None = None,
                        download: bool = True) -> tuple[ImageDataset, ImageDataset]:
    """The assignments' training and validation sets: disjoint, seeded, class-balanced."""
    full = fashion_mnist(train=True, root=root, download=download)
    train_idx, validation_idx = stratified_split(full.labels, [n_train, n_validation], seed)
    return (ImageDataset(full.images[train_idx], full.labels[train_idx], full.classes),
            ImageDataset(full.images[validation_idx], full.labels[validation_idx], full.classes))


def linear_data(w, b: float, n: int = 1000, noise: float = 0.01,
                seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features X ~ N(0, 1) of shape (n, len(w)) and targets y = Xw + b + noise, shape (n, 1)."""
    w = torch.as_tensor(w, dtype=torch.float32).reshape(-1)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    X = torch.randn(n, len(w), generator=generator)
    y = X @ w + b + noise * torch.randn(n, generator=generator)
    return X, y.reshape(-1, 1)


def polynomial_features(x: torch.Tensor, degree: int, rescale: bool = True) -> torch.Tensor:
    """Columns x^0 .. x^degree of a 1-d tensor, each divided by i! when ``rescale`` (keeps them small)."""
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1)
    powers = torch.arange(degree + 1, dtype=torch.float32)
    features = x ** powers  # (n, degree + 1)
    if rescale:
        features = features / torch.tensor([math.factorial(int(i)) for i in powers])
    return features


def polynomial_data(coefficients=(5.0, 1.2, -3.4, 5.6), n: int = 200, noise: float = 0.1,
                    seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x ~ N(0, 1), shape (n,), and y = sum_i c_i x^i / i! + noise, shape (n, 1)."""
    coefficients = torch.as_tensor(coefficients, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    x = torch.randn(n, generator=generator)
    y = polynomial_features(x, len(coefficients) - 1) @ coefficients
    y = y + noise * torch.randn(n, generator=generator)
    return x, y.reshape(-1, 1)
