"""Data augmentation for flattened 28x28 images: Gaussian noise, horizontal flips, shifts.

``NoisyDataset`` augments one sample at a time, for any code that indexes a dataset.
``augment_batch`` does the same to a whole batch at once; ``fit`` uses it so that
augmentation costs no per-sample Python.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

SIDE = 28  # Fashion-MNIST images are 28 x 28 pixels


def augment_batch(x: torch.Tensor, noise_sigma: float = 0.0, flip_horizontal: bool = False,
                  shift: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a batch of flattened square images (B, side*side); returns a new tensor."""
    batch, pixels = x.shape
    side = round(pixels ** 0.5)
    if side * side != pixels:
        raise ValueError(f"augment_batch expects flattened square images, got {pixels} pixels per row")
    device = x.device
    # Draw where the generator lives (CPU generators stay reproducible with GPU data), then move.
    source = generator.device if generator is not None else device
    if noise_sigma:
        x = x + noise_sigma * torch.randn(x.shape, generator=generator, device=source).to(device)
    images = x.reshape(batch, side, side)
    if flip_horizontal:
        flip = torch.rand(batch, generator=generator, device=source).to(device) > 0.5  # (B,)
        images = torch.where(flip[:, None, None], images.flip(2), images)
    if shift:
        shifts = torch.randint(-int(shift), int(shift) + 1, (batch, 2), generator=generator, device=source).to(device)
        positions = torch.arange(side, device=device)
        rows = (positions[None, :] - shifts[:, :1]) % side  # (B, side): torch.roll's convention
        cols = (positions[None, :] - shifts[:, 1:]) % side
        images = images[torch.arange(batch, device=device)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return images.reshape(batch, pixels)


class NoisyDataset(Dataset):
    """A dataset whose images get random noise, a flip with probability 0.5, and a shift of up to ``shift`` pixels."""

    def __init__(self, dataset: Dataset, noise_sigma: float = 0.0, flip_horizontal: bool = False,
                 shift: int = 0, *, seed: int | None = None, generator: torch.Generator | None = None):
        if noise_sigma < 0:
            raise ValueError(f"noise_sigma must be >= 0, got {noise_sigma}")
        if shift < 0:
            raise ValueError(f"shift must be >= 0 pixels, got {shift}")
        self.dataset = dataset
        self.noise_sigma = float(noise_sigma)
        self.flip_horizontal = bool(flip_horizontal)
        self.shift = int(shift)  # the seed's notebooks pass True, which means one pixel
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        self.generator = generator

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        return self.augment(x.reshape(1, -1)).reshape(x.shape), y

    def augment(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment a batch of flattened images (B, 784) with this dataset's settings."""
        generator = generator if generator is not None else self.generator
        return augment_batch(batch, self.noise_sigma, self.flip_horizontal, self.shift, generator)

    def __repr__(self) -> str:
        return (f"NoisyDataset({len(self)} samples, noise_sigma={self.noise_sigma}, "
                f"flip_horizontal={self.flip_horizontal}, shift={self.shift})")
