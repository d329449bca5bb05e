"""Fashion-MNIST loading and splitting, and the synthetic regression data."""

import pytest
import torch

from course import (
    CLASS_NAMES,
    DataNotFoundError,
    data_dir,
    fashion_mnist,
    fashion_mnist_split,
    linear_data,
    polynomial_data,
    polynomial_features,
)
from course.data import stratified_split
from tests.support.paths import SHARED_DATA


def test_loads_generated_idx_files_as_flat_floats(fake_fashion_root):
    train = fashion_mnist(train=True, root=fake_fashion_root)
    test = fashion_mnist(train=False, root=fake_fashion_root)
    assert train.images.shape == (1600, 784) and test.images.shape == (200, 784)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert set(train.labels.tolist()) == set(range(10))
    assert train.classes == CLASS_NAMES
    x, y = train[0]
    assert x.shape == (784,) and 0 <= int(y) <= 9


@pytest.mark.skipif(not (SHARED_DATA / "FashionMNIST").exists(), reason="../shared/data is not on this machine")
def test_loads_the_shared_sample():
    train = fashion_mnist(train=True, root=SHARED_DATA)
    assert len(train) == 3000 and train.images.shape[1] == 784
    counts = torch.bincount(train.labels, minlength=10)
    assert counts.min() > 250  # the sample is roughly balanced


def test_root_comes_from_argument_then_environment_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data_dir() == tmp_path / "env"
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "course-dl"


def test_missing_data_is_a_clear_error_not_fake_data(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        fashion_mnist(root=tmp_path / "empty", download=False)
    message = str(error.value)
    assert "COURSE_DATA_DIR" in message and "train-images-idx3-ubyte" in message
    assert str(tmp_path / "empty") in message


def test_split_sizes_disjoint_balanced_and_seeded(fake_fashion_root):
    train, validation = fashion_mnist_split(root=fake_fashion_root)
    assert (len(train), len(validation)) == (1000, 500)
    assert torch.bincount(train.labels, minlength=10).tolist() == [100] * 10
    assert torch.bincount(validation.labels, minlength=10).tolist() == [50] * 10
    train_rows = {tuple(row.tolist()) for row in (train.images * 255).round().to(torch.uint8)}
    validation_rows = {tuple(row.tolist()) for row in (validation.images * 255).round().to(torch.uint8)}
    assert not train_rows & validation_rows

    again, _ = fashion_mnist_split(root=fake_fashion_root)
    other, _ = fashion_mnist_split(seed=7, root=fake_fashion_root)
    assert torch.equal(train.images, again.images)
    assert not torch.equal(train.images, other.images)


def test_stratified_split_rejects_impossible_sizes():
    labels = torch.arange(20) % 10  # two samples per class
    with pytest.raises(ValueError, match="too few"):
        stratified_split(labels, [20, 10])


def test_linear_data_follows_its_formula():
    w, b = torch.tensor([2.0, -3.4]), 4.2
    X, y = linear_data(w, b, n=2000, noise=0.01, seed=1)
    assert X.shape == (2000, 2) and y.shape == (2000, 1)
    design = torch.cat([X, torch.ones(2000, 1)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution.flatten()
    assert torch.allclose(solution, torch.tensor([2.0, -3.4, 4.2]), atol=0.01)
    assert torch.equal(linear_data(w, b, n=10, seed=3)[0], linear_data(w, b, n=10, seed=3)[0])


def test_polynomial_features_and_data():
    x = torch.tensor([0.0, 1.0, 2.0])
    features = polynomial_features(x, 3)
    assert torch.allclose(features[2], torch.tensor([1.0, 2.0, 4.0 / 2, 8.0 / 6]))
    assert torch.allclose(polynomial_features(x, 2, rescale=False)[2], torch.tensor([1.0, 2.0, 4.0]))
    x, y = polynomial_data((5.0, 1.2, -3.4, 5.6), n=100, noise=0.0, seed=0)
    assert x.shape == (100,) and y.shape == (100, 1)
    expected = 5.0 + 1.2 * x - 3.4 * x**2 / 2 + 5.6 * x**3 / 6
    assert torch.allclose(y.flatten(), expected, atol=1e-4)
