"""``fit`` against a seed-style training loop, side by side in one run; prints the ratio.

The reference loop is what the assignments' notebooks did before ``course``: a ``DataLoader``
over the dataset, a ``.cpu().numpy()`` for every loss, accuracy, output and layer statistic
of every step (forward hooks), first-layer gradient and weight magnitudes. Same model
(784-128-64-10), same 1000 training / 500 validation samples, batch size 32, same epochs.
The two run in alternation, several rounds, and the medians are compared, so a machine
shared with other work slows both alike.

    python benchmarks/fit_speed.py            # 5 rounds of 5 epochs each
    python benchmarks/fit_speed.py --quick    # a smoke run
"""
from __future__ import annotations

import argparse
import collections
import statistics
import time

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from course import fashion_mnist_split, fit
from course.data import ImageDataset


def build_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def reference_fit(net, train, validation, optimizer, epochs: int, batch_size: int) -> dict:
    """The seed-style loop: DataLoader, per-step host reads, hooks that read every layer's stats."""
    history = collections.defaultdict(list)
    loaders = {"train": torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True),
               "validation": torch.utils.data.DataLoader(validation, batch_size=batch_size)}
    state = {"phase": None, "stats": None}

    def hook_for(index):
        def hook(module, inputs, output):
            with torch.no_grad():
                name = f"{state['phase']} {index}: {type(module).__name__} output"
                state["stats"][f"{name} mean"] += output.mean().cpu().numpy()
                state["stats"][f"{name} abs mean"] += output.abs().mean().cpu().numpy()
                state["stats"][f"{name} std"] += output.std().cpu().numpy()
        return hook

    handles = [layer.register_forward_hook(hook_for(i)) for i, layer in enumerate(net)]
    start = time.time()
    for epoch in tqdm(range(epochs), desc="Epoch", leave=False, disable=True):
        state["stats"] = collections.defaultdict(float)
        for phase in ("train", "validation"):
            state["phase"] = phase
            net.train(phase == "train")
            steps, outputs = 0, []
            for x, y in loaders[phase]:
                with torch.set_grad_enabled(phase == "train"):
                    output = net(x)
                    loss = nn.functional.cross_entropy(output, y)
                state["stats"][f"{phase} loss"] += loss.detach().cpu().numpy()
                state["stats"][f"{phase} accuracy"] += (output.argmax(1) == y).float().mean().cpu().numpy()
                outputs.append(output.detach().cpu().numpy())
                if phase == "train":
                    optimizer.zero_grad()
                    loss.backward()
                    state["stats"]["train mean abs grad"] += net[0].weight.grad.abs().mean().cpu().numpy()
                    state["stats"]["train mean abs weight"] += net[0].weight.abs().mean().detach().cpu().numpy()
                    optimizer.step()
                steps += 1
            for key in state["stats"]:
                if key.startswith(phase):
                    history[key].append(state["stats"][key] / steps)
            history[f"{phase} outputs"].append(np.concatenate(outputs))
        history["epochs"].append(epoch)
        history["time"].append(time.time() - start)
    for handle in handles:
        handle.remove()
    return history


def time_one(kind: str, train, validation, epochs: int, threads: int) -> tuple[float, float]:
    """Wall and CPU seconds per epoch of one fresh training run."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "fit":
        fit(net, train, validation, optimizer, epochs=epochs, batch_size=32, seed=0, progress=False)
    else:
        reference_fit(net, train, validation, optimizer, epochs, batch_size=32)
    return (time.perf_counter() - start) / epochs, (time.process_time() - cpu_start) / epochs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed run")
    args = parser.parse_args(argv)
    rounds, epochs = (1, 1) if args.quick else (args.rounds, args.epochs)
    default_threads = torch.get_num_threads()
    try:
        train, validation = fashion_mnist_split()
    except FileNotFoundError:  # no Fashion-MNIST here: random images of the same shape do for timing
        generator = torch.Generator().manual_seed(0)
        train, validation = (ImageDataset(torch.rand(n, 784, generator=generator),
                                          torch.randint(0, 10, (n,), generator=generator)) for n in (1000, 500))
        print("Fashion-MNIST not found; timing on random images of the same shape")
    runs = [("fit", default_threads), ("reference", default_threads)]
    if default_threads != 1:
        runs.append(("reference", 1))  # the seed loop given fit's single thread, for a like-for-like ratio
    times = {run: [] for run in runs}
    for _ in tqdm(range(rounds), desc="Rounds"):
        for kind, threads in runs:
            times[(kind, threads)].append(time_one(kind, train, validation, epochs, threads))
    torch.set_num_threads(default_threads)
    # Wall time is what a student waits; CPU time is steadier on a machine shared with other work.
    wall = {run: statistics.median(t[0] for t in values) for run, values in times.items()}
    cpu = {run: statistics.median(t[1] for t in values) for run, values in times.items()}
    print(f"784-128-64-10, {len(train)} training / {len(validation)} validation samples, batch 32, "
          f"Adam, {rounds} rounds x {epochs} epochs, torch threads by default: {default_threads}")
    for run in runs:
        kind, threads = run
        ratio = "" if kind == "fit" else \
            f"   fit is {wall[run] / wall[runs[0]]:.1f}x faster (wall), {cpu[run] / cpu[runs[0]]:.1f}x (CPU)"
        print(f"  {kind:9} torch threads {threads}: {wall[run] * 1000:7.1f} ms/epoch wall, "
              f"{cpu[run] * 1000:7.1f} ms CPU{ratio}")
    best = min(wall[run] for run in runs[1:])
    print(f"speed-up of fit over the fastest reference (wall): {best / wall[runs[0]]:.1f}x (target >= 4x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
