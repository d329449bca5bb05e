"""The seed assignment's whole experiment grid through ``sweep``, against the seed-style loop.

The grid of seeds/004 (sections 2.5-2.8), at full length: SGD and Adam x 4 learning rates
(150 epochs), batch sizes 4-128 (150), with and without batch norm (150), 16 augmentation
combinations (250), widths 16-512 (150); about 7,150 epochs. The seed-style loop (the one in
``fit_speed.py``) is timed on a sample of epochs of every part and scaled to the part's
length, in the same run. Prints times, ratios and the peak memory (PSS) of the sweep's processes.

    python benchmarks/seed_grid.py            # the full grid (minutes)
    python benchmarks/seed_grid.py --scale 0.1  # a tenth of every experiment's epochs
    python benchmarks/seed_grid.py --quick    # every experiment for one epoch (a smoke run)
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_speed import reference_fit

from course import NoisyDataset, fashion_mnist_split, grid, sweep
from course.data import ImageDataset

LR = 1e-4  # the seed fixes Adam at this rate after the first experiment


def build_net(width: int = 128) -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.ReLU(),
                         nn.Linear(width // 2, 10))


def build_net_bn() -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 64),
                         nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))


def parts(scale: float) -> list[tuple[str, int, list[dict], dict]]:
    """(name, epochs, experiments, sweep defaults) for each experiment of the seed's section 2."""
    epochs = lambda n: max(1, round(n * scale))  # noqa: E731
    augment = [{"title": f"noise={sigma}{', shift' if shift else ''}{', flip' if flip else ''}",
                "augment": {"noise_sigma": sigma, "shift": int(shift), "flip_horizontal": flip}}
               for sigma in (0, 0.01, 0.1, 0.2) for shift in (False, True) for flip in (False, True)]
    return [
        ("optimizers x learning rates", epochs(150), grid(optimizer=["sgd", "adam"], lr=[0.1, 0.01, 0.001, 0.0001]),
         {"lr": 0.1}),
        ("batch sizes", epochs(150), grid(batch_size=[4, 16, 32, 64, 128]), {"lr": LR}),
        ("batch norm", epochs(150), [{"title": "without batchnorm"},
                                     {"title": "with batchnorm", "build_net": build_net_bn}], {"lr": LR}),
        ("augmentation", epochs(250), augment, {"lr": LR}),
        ("widths", epochs(150), grid(width=[16, 32, 64, 128, 256, 512]), {"lr": LR}),
    ]


def reference_epoch_seconds(experiment: dict, defaults: dict, train, validation, epochs: int) -> float:
    """Seconds per epoch of the seed-style loop for one experiment (one CPU thread, its fastest here)."""
    torch.manual_seed(0)
    net = experiment.get("build_net", build_net)(*([experiment["width"]] if "width" in experiment else []))
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[experiment.get("optimizer", "adam")]
    optimizer = kind(net.parameters(), lr=experiment.get("lr", defaults["lr"]))
    data = NoisyDataset(train, **experiment["augment"]) if "augment" in experiment else train
    start = time.perf_counter()
    reference_fit(net, data, validation, optimizer, epochs, experiment.get("batch_size", 32))
    return (time.perf_counter() - start) / epochs


class PeakMemory:
    """Peak memory of this process and its children together (PSS: shared pages counted once), sampled."""

    def __init__(self, interval: float = 0.2):
        self.peak, self.interval, self.done = 0, interval, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.done.wait(self.interval):
            self.peak = max(self.peak, sum(_pss(pid) for pid in [os.getpid(), *_children(os.getpid())]))


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def _pss(pid: int) -> int:
    """Proportional set size in bytes (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) << 10
    except (OSError, ValueError):
        pass
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one epoch per experiment (a smoke run)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the seed's epochs to run, e.g. 0.1 on a busy machine (default 1: all)")
    parser.add_argument("--sample-epochs", type=int, default=2, help="epochs of the seed-style loop per sample")
    args = parser.parse_args(argv)
    scale, sample_epochs = (0.0, 1) if args.quick else (args.scale, args.sample_epochs)
    try:
        train, validation = fashion_mnist_split()
    except FileNotFoundError:  # timing needs only the shapes
        generator = torch.Generator().manual_seed(0)
        train, validation = (ImageDataset(torch.rand(n, 784, generator=generator),
                                          torch.randint(0, 10, (n,), generator=generator)) for n in (1000, 500))
        print("Fashion-MNIST not found; timing on random images of the same shape")
    threads = torch.get_num_threads()
    rows, total_sweep, total_reference, total_epochs = [], 0.0, 0.0, 0
    peak = 0
    for name, epochs, experiments, defaults in parts(scale):
        start = time.perf_counter()
        with PeakMemory() as memory:  # the sweep trains independent groups in forked processes
            histories = sweep(build_net, train, validation, experiments, epochs=epochs, batch_size=32,
                              progress=not args.quick, **defaults)
        swept = time.perf_counter() - start
        peak = max(peak, memory.peak)
        # The seed-style loop on a sample: every experiment whose cost differs, one where they do not.
        differing = name in ("batch sizes", "widths", "batch norm")
        sample = experiments if differing else experiments[-1:]
        torch.set_num_threads(1)
        per_epoch = [reference_epoch_seconds(e, defaults, train, validation, sample_epochs) for e in sample]
        torch.set_num_threads(threads)
        estimate = sum(per_epoch) * epochs if differing else per_epoch[0] * epochs * len(experiments)
        n_epochs = epochs * len(experiments)
        assert len(histories) == len(experiments) and all(len(h["epochs"]) == epochs for h in histories.values())
        rows.append((name, n_epochs, swept, estimate))
        total_sweep, total_reference, total_epochs = total_sweep + swept, total_reference + estimate, \
            total_epochs + n_epochs
    peak_gb = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10) / 2**30
    print(f"{'part':30} {'epochs':>7} {'sweep s':>9} {'seed-style s (est.)':>20} {'ratio':>7}")
    for name, n_epochs, swept, estimate in rows:
        print(f"{name:30} {n_epochs:7d} {swept:9.1f} {estimate:20.1f} {estimate / swept:6.1f}x")
    print(f"{'whole grid':30} {total_epochs:7d} {total_sweep:9.1f} {total_reference:20.1f} "
          f"{total_reference / total_sweep:6.1f}x")
    if scale != 1:
        print(f"(epochs scaled by {scale}; the full grid would take about {total_sweep / 60 / max(scale, 1e-9):.1f} "
              f"min through sweep at this rate)")
    print(f"whole grid through sweep: {total_sweep / 60:.1f} min (target <= 5, goal 2); "
          f"peak memory of the sweep's processes together (PSS): {peak_gb:.2f} GB (target < 4)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
