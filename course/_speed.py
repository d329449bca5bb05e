"""How ``fit`` and ``sweep`` run fast on a CPU: thread count, fused optimizer steps, larger validation steps.

None of these changes a number ``fit`` records; each only changes how long it takes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

# Below this many multiply-adds per step a second CPU thread costs more than it gains: the
# matrices are too small to split, and on a shared machine (a JupyterHub, CI, our 2-core box)
# an OpenMP thread that waits for a busy core stalls every op (measured here: 14-20x slower,
# for one network and for 16 stacked ones alike). Only multi-GFLOP steps get all threads.
SMALL_STEP = 2_000_000_000


@contextmanager
def fused_step(optimizer: torch.optim.Optimizer, device: torch.device) -> Iterator[None]:
    """Let a CPU Adam/AdamW left to torch's defaults use its fused kernel for the block, then restore.

    Same algorithm, one pass over memory instead of a dozen (about 3x faster per step here);
    the results agree with the default kernel to float rounding.
    """
    groups = []
    if device.type == "cpu" and type(optimizer) in (torch.optim.Adam, torch.optim.AdamW):
        groups = [group for group in optimizer.param_groups
                  if group.get("fused") is None and group.get("foreach") is None
                  and not group.get("differentiable") and not group.get("capturable")]
    for group in groups:
        group["fused"] = True
    try:
        yield
    finally:
        for group in groups:
            group["fused"] = None


@contextmanager
def cpu_threads(device: torch.device, work: int) -> Iterator[None]:
    """Run the block on one CPU thread when each step is ``work`` multiply-adds or fewer."""
    threads = torch.get_num_threads()
    single = device.type == "cpu" and work <= SMALL_STEP and threads > 1
    if single:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if single:
            torch.set_num_threads(threads)


# Validation steps take about this many samples where that changes no number (see ``eval_rows``).
EVAL_ROWS = 1024
# Layers whose output for a sample, in eval mode, does not depend on the other samples of its batch.
PER_SAMPLE = (nn.Sequential, nn.Linear, nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.LayerNorm,
              nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.PReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SELU, nn.SiLU,
              nn.Softplus, nn.Mish, nn.Hardtanh)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)  # per sample in eval mode, with running stats
MEAN_LOSSES = (F.cross_entropy, F.mse_loss, F.l1_loss)


def eval_rows(net: nn.Module, loss_fn: Callable, batch_size: int) -> int:
    """Samples per validation step: a multiple of ``batch_size`` near EVAL_ROWS when that gives the
    same numbers as steps of ``batch_size`` (every layer works sample by sample, the loss is a
    per-sample mean), else ``batch_size``. Fewer, larger steps cost far less Python per sample.
    """
    per_sample = all(type(m) in PER_SAMPLE or (type(m) in BATCH_NORMS and m.track_running_stats)
                     for m in net.modules())
    mean_loss = loss_fn in MEAN_LOSSES or (type(loss_fn) in (nn.CrossEntropyLoss, nn.MSELoss, nn.L1Loss)
                                          and loss_fn.reduction == "mean" and getattr(loss_fn, "weight", None) is None)
    return batch_size * max(1, EVAL_ROWS // batch_size) if per_sample and mean_loss else batch_size
