"""Small Fashion-MNIST look-alikes in the real IDX format, for machines without ../shared/data.

Each class is a fixed random 28x28 pattern plus noise, so a network can learn to tell them apart.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format torchvision reads (magic 0x08, big-endian sizes)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_fake_fashion_mnist(root: Path, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Path:
    """Write ``root/FashionMNIST/raw/`` with learnable fake images; returns ``root``."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 255, size=(10, 28, 28))
    raw = Path(root) / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = prototypes[labels] + rng.normal(0, 60, size=(n, 28, 28))
        write_idx(raw / f"{prefix}-images-idx3-ubyte", np.clip(images, 0, 255).astype(np.uint8))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.astype(np.uint8))
    return Path(root)
