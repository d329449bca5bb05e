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
    draws = draw_augmentation(x, bool(noise_sigma), flip_horizontal, shift, generator)
    return apply_augmentation(x, noise_sigma, *draws)


def image_side(pixels: int) -> int:
    side = round(pixels ** 0.5)
    if side * side != pixels:
        raise ValueError(f"augment_batch expects flattened square images, got {pixels} pixels per row")
    return side


def draw_augmentation(x: torch.Tensor, noise: bool, flip_horizontal: bool, shift: int,
                      generator: torch.Generator | None = None) -> tuple:
    """The random numbers ``augment_batch`` uses for a batch ``x`` (B, pixels), in its order:
    unit noise (B, pixels), flip mask (B,), shifts (B, 2); None for each that is off."""
    batch, pixels = x.shape
    image_side(pixels)
    device = x.device
    # Draw where the generator lives (CPU generators stay reproducible with GPU data), then move.
    source = generator.device if generator is not None else device
    noise = torch.randn(x.shape, generator=generator, device=source).to(device) if noise else None
    flip = torch.rand(batch, generator=generator, device=source).to(device) > 0.5 if flip_horizontal else None
    shifts = torch.randint(-int(shift), int(shift) + 1, (batch, 2), generator=generator,
                           device=source).to(device) if shift else None
    return noise, flip, shifts


def apply_augmentation(x: torch.Tensor, noise_sigma, noise: torch.Tensor | None = None,
                       flip: torch.Tensor | None = None, shifts: torch.Tensor | None = None) -> torch.Tensor:
    """Augment flattened images x (..., B, pixels) with drawn numbers: add ``noise_sigma * noise``,
    mirror where ``flip`` (..., B), roll by ``shifts`` (..., B, 2) pixels (torch.roll's direction).
    ``noise_sigma`` may be a tensor that broadcasts, e.g. one sigma per model (M, 1, 1)."""
    pixels = x.shape[-1]
    side = image_side(pixels)
    if noise is not None:
        x = x + noise_sigma * noise
    images = x.reshape(*x.shape[:-1], side, side)
    if flip is not None:
        images = torch.where(flip[..., None, None], images.flip(-1), images)
    if shifts is not None:
        positions = torch.arange(side, device=x.device)
        rows = (positions - shifts[..., :1]) % side  # (..., B, side)
        cols = (positions - shifts[..., 1:]) % side
        images = images.expand(*rows.shape[:-1], side, side)
        images = images.gather(-2, rows[..., :, None].expand(images.shape))
        images = images.gather(-1, cols[..., None, :].expand(images.shape))
    return images.reshape(*images.shape[:-2], pixels)


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
