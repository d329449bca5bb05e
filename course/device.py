"""Pick the fastest device PyTorch can use here."""
from __future__ import annotations

import torch


def detect_device(verbose: bool = True) -> torch.device:
    """Return cuda if a GPU is there, else mps (Apple silicon), else cpu; print the choice."""
    if torch.cuda.is_available():
        device = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if verbose:
        print(f"Running on {device}")
    return device
