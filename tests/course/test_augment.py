"""NoisyDataset: noise statistics, exact mirror flips, shifts that are rolls, reproducibility."""
import pytest
import torch
from torch.utils.data import TensorDataset

from course import NoisyDataset, augment_batch


@pytest.fixture
def images():
    return TensorDataset(torch.rand(64, 784), torch.arange(64) % 10)


def test_noise_has_the_requested_std(images):
    noisy = NoisyDataset(images, noise_sigma=0.2, seed=0)
    differences = torch.stack([noisy[i][0] - images[i][0] for i in range(len(images))])
    assert differences.mean().abs() < 0.01
    assert differences.std().item() == pytest.approx(0.2, rel=0.03)
    assert noisy[3][1] == images[3][1]  # labels untouched


def test_flip_is_an_exact_mirror_about_half_the_time(images):
    flipped = NoisyDataset(images, flip_horizontal=True, seed=1)
    mirrored = same = 0
    for i in range(len(images)):
        original, augmented = images[i][0].reshape(28, 28), flipped[i][0].reshape(28, 28)
        if torch.equal(augmented, original.flip(1)):
            mirrored += 1
        elif torch.equal(augmented, original):
            same += 1
    assert mirrored + same == len(images)
    assert 16 < mirrored < 48


def test_shift_is_a_roll_of_at_most_shift_pixels(images):
    shifted = NoisyDataset(images, shift=2, seed=2)
    seen = set()
    for i in range(len(images)):
        original, augmented = images[i][0].reshape(28, 28), shifted[i][0].reshape(28, 28)
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(augmented, torch.roll(original, shifts=(dy, dx), dims=(0, 1)))]
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) > 10  # many different shifts were drawn


def test_shift_true_means_one_pixel(images):
    assert NoisyDataset(images, shift=True).shift == 1


def test_same_seed_same_augmentations(images):
    a = NoisyDataset(images, noise_sigma=0.1, flip_horizontal=True, shift=1, seed=5)
    b = NoisyDataset(images, noise_sigma=0.1, flip_horizontal=True, shift=1, seed=5)
    c = NoisyDataset(images, noise_sigma=0.1, flip_horizontal=True, shift=1, seed=6)
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(8))
    assert not torch.equal(a[0][0], c[0][0])


def test_batched_form_matches_the_per_sample_statistics():
    x = torch.zeros(4000, 784)
    x[:, 0] = 1.0  # one bright pixel in the top-left corner
    out = augment_batch(x, flip_horizontal=True, generator=torch.Generator().manual_seed(0))
    moved = (out.reshape(-1, 28, 28)[:, 0, 27] == 1.0).float().mean()
    assert moved.item() == pytest.approx(0.5, abs=0.05)


def test_bad_arguments_and_repr(images):
    with pytest.raises(ValueError, match="noise_sigma"):
        NoisyDataset(images, noise_sigma=-1)
    with pytest.raises(ValueError, match="square"):
        augment_batch(torch.zeros(2, 10), noise_sigma=0.1)
    assert repr(NoisyDataset(images, 0.1, True, 1)) == \
        "NoisyDataset(64 samples, noise_sigma=0.1, flip_horizontal=True, shift=1)"
