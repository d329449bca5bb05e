"""Helpers for the deep-learning chapters: devices, data, training, plots and sweeps.

Every notebook starts with ``from course import *``.
"""
from .augment import NoisyDataset, augment_batch
from .budget import epochs, fast_mode
from .data import (
    CLASS_NAMES,
    DataNotFoundError,
    ImageDataset,
    data_dir,
    fashion_mnist,
    fashion_mnist_split,
    linear_data,
    polynomial_data,
    polynomial_features,
)
from .device import detect_device
from .history import History
from .plotting import HistoryPlotter, plot_layer_stats, plot_output_stats, show_images
from .scratch import WriteItYourselfError, write_it_yourself
from .sweep import grid, sweep
from .training import fit

__all__ = [
    "CLASS_NAMES", "DataNotFoundError", "History", "HistoryPlotter", "ImageDataset", "NoisyDataset",
    "augment_batch", "data_dir", "detect_device", "epochs", "fashion_mnist", "fashion_mnist_split",
    "fast_mode", "fit", "grid", "linear_data", "plot_layer_stats", "plot_output_stats", "polynomial_data",
    "polynomial_features", "show_images", "sweep", "write_it_yourself", "WriteItYourselfError",
]
