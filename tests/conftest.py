"""Shared fixtures: where Fashion-MNIST comes from, headless plotting, quick epochs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import matplotlib
import pytest

from tests.support.fake_fashion import write_fake_fashion_mnist
from tests.support.paths import SHARED_DATA
from tests.support.requirements import enforce

# Headless plots in this process only: an MPLBACKEND variable would reach the kernels that tests
# start and stop their inline figures.
matplotlib.use("Agg")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first: the chapter tests, then files with slow tests, then the rest. Under
    ``-n auto --dist loadfile`` a worker takes the next file when it is free, so a long file started last
    would leave the other cores idle at the end (about a minute of CI)."""
    def weight(item: pytest.Item) -> int:
        if item.path.name.startswith("test_chapter_"):
            return 0
        return 1 if item.get_closest_marker("slow") else 2
    items.sort(key=weight)  # stable: the order within each group stays as collected


def pytest_runtest_setup(item: pytest.Item) -> None:
    enforce(item)  # tests marked `requires(...)`: skipped here, failed under COURSE_REQUIRE_SANDBOX=1


def _has_fashion(folder: Path) -> bool:
    return (folder / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()


@pytest.fixture(scope="session")
def fashion_root() -> Path:
    """A folder with FashionMNIST/raw/: $COURSE_DATA_DIR or ../shared/data if there, else generated IDX files."""
    for candidate in (os.environ.get("COURSE_DATA_DIR"), SHARED_DATA):
        if candidate and _has_fashion(Path(candidate)):
            yield Path(candidate)
            return
    # Not under pytest's tmp_path: that is private to root, and sandboxed kernels run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="course-fashion-"))
    folder.chmod(0o755)
    try:
        yield write_fake_fashion_mnist(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def fake_fashion_root(tmp_path_factory) -> Path:
    """Always the generated IDX files (tests of the loader itself)."""
    return write_fake_fashion_mnist(tmp_path_factory.mktemp("fake-fashion"), n_train=1600, n_test=200)


@pytest.fixture
def loader_only(monkeypatch) -> None:
    """fit and sweep read no dataset into memory: what they cannot see through goes through a DataLoader."""
    monkeypatch.setattr("course.batches.READ_LIMIT", 0)


@pytest.fixture
def data_env(fashion_root, monkeypatch) -> Path:
    """COURSE_DATA_DIR set for this test (and the kernels it starts)."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(fashion_root))
    return fashion_root
