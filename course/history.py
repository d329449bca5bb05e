"""``History``: what ``fit`` records, one list entry per epoch."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd


class History(dict):
    """A dict of per-epoch lists (``history['validation accuracy'][-1]``), like Keras' ``History.history``."""

    def scalar_keys(self) -> list[str]:
        """Keys whose entries are numbers (everything but the stored network outputs)."""
        return [key for key, values in self.items() if values and np.ndim(values[-1]) == 0]

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame with one row per epoch and one column per scalar key."""
        return pd.DataFrame({key: self[key] for key in self.scalar_keys()})

    def last(self) -> dict:
        """The final epoch's value of every scalar key."""
        return {key: self[key][-1] for key in self.scalar_keys()}

    def save(self, path: str | os.PathLike) -> Path:
        """Write to a ``.npz`` file (no pickle, so loading it is safe); returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        np.savez_compressed(path, **{key: np.asarray(values) for key, values in self.items()})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a history written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as stored:
            return cls({key: list(stored[key]) if stored[key].ndim > 1 else stored[key].tolist()
                        for key in stored.files})

    def __repr__(self) -> str:
        epochs = len(self.get("epochs", []))
        last = ", ".join(f"{key}={value:.4g}" for key, value in self.last().items()
                         if key.endswith(("loss", "accuracy")))
        return f"History({epochs} epochs, {len(self)} keys; last: {last})"
