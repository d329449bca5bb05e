"""Datasets and scripts the course tests share."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from torch.utils.data import Dataset

from tests.support.paths import REPO


class PlainDataset(Dataset):
    """A dataset fit cannot see through: with ``loader_only`` it takes the general DataLoader path."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        return self.dataset[index]


def run_benchmark(script: str, data: Path, timeout: int) -> str:
    """Run ``benchmarks/<script> --quick`` on the data in ``data``; its standard output (it must succeed)."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--quick"], capture_output=True,
                            text=True, timeout=timeout, env={**os.environ, "COURSE_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    return result.stdout
