"""``fit`` against a seed-style training loop, side by side in one run; prints the ratios.

The reference loop is what the assignments' notebooks did before ``course``: a ``DataLoader``
over the dataset, a ``.cpu().numpy()`` for every loss, accuracy, output and layer statistic
of every step (forward hooks), first-layer gradient and weight magnitudes. Same model
(784-128-64-10), same 1000 training / 500 validation images, batch size 32, and the seed's
default of 25 epochs per ``fit`` call. Both loops get the same data in two forms:

- the seed's: torchvision's ``FashionMNIST`` with ``ToTensor`` and a flatten, cut by ``random_split``
  (what the seed notebooks pass to ``fit``; ``fit`` reads its items into tensors once per call);
- the course's: ``fashion_mnist_split()``, the same images already held as tensors.

The runs alternate, several rounds, and the medians are compared, so a machine shared with other
work slows all alike. Each reference runs with torch's default threads and with one; the faster counts.

    python benchmarks/fit_speed.py            # 3 rounds of 25 epochs per run
    python benchmarks/fit_speed.py --quick    # a smoke run
"""
from __future__ import annotations

import argparse
import collections
import statistics
import time

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import Subset
from tqdm.auto import tqdm

from course import data_dir, fashion_mnist_split, fit
from course.data import stratified_split


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


def seed_datasets(root) -> tuple[Subset, Subset]:
    """The images of ``fashion_mnist_split()`` in the seed's form: torchvision items through ``ToTensor``."""
    images = torchvision.datasets.FashionMNIST(root=str(root), train=True, download=False,
                                               transform=torchvision.transforms.Compose([
                                                   torchvision.transforms.ToTensor(), lambda image: image.flatten()]))
    train_index, validation_index = stratified_split(images.targets, [1000, 500])
    return Subset(images, train_index.tolist()), Subset(images, validation_index.tolist())


def time_one(loop: str, train, validation, epochs: int, threads: int) -> tuple[float, float]:
    """Wall and CPU seconds per epoch of one fresh training run."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    start, cpu_start = time.perf_counter(), time.process_time()
    if loop == "fit":
        fit(net, train, validation, optimizer, epochs=epochs, batch_size=32, seed=0, progress=False)
    else:
        reference_fit(net, train, validation, optimizer, epochs, batch_size=32)
    return (time.perf_counter() - start) / epochs, (time.process_time() - cpu_start) / epochs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=25, help="epochs per timed run (the seed's fit default)")
    args = parser.parse_args(argv)
    rounds, epochs = (1, 1) if args.quick else (args.rounds, args.epochs)
    default_threads = torch.get_num_threads()
    data = {"seed": seed_datasets(data_dir()), "course": fashion_mnist_split()}
    thread_choices = sorted({default_threads, 1}, reverse=True)
    runs = [("fit", form, default_threads) for form in data] + \
        [("reference", form, threads) for form in data for threads in thread_choices]
    times = {run: [] for run in runs}
    for _ in tqdm(range(rounds), desc="Rounds"):
        for loop, form, threads in runs:
            times[(loop, form, threads)].append(time_one(loop, *data[form], epochs, threads))
    torch.set_num_threads(default_threads)
    # Wall time is what a student waits; CPU time is steadier on a machine shared with other work.
    wall = {run: statistics.median(t[0] for t in values) for run, values in times.items()}
    cpu = {run: statistics.median(t[1] for t in values) for run, values in times.items()}
    print(f"784-128-64-10, 1000 training / 500 validation images, batch 32, Adam, "
          f"{rounds} rounds x {epochs} epochs per run, torch threads by default: {default_threads}")
    for run in runs:
        loop, form, threads = run
        print(f"  {loop:9} on the {form:6} data, torch threads {threads}: {wall[run] * 1000:7.1f} ms/epoch wall, "
              f"{cpu[run] * 1000:7.1f} ms CPU")

    def reference(form: str) -> float:
        return min(wall[("reference", form, threads)] for threads in thread_choices)

    fit_seed, fit_course = wall[("fit", "seed", default_threads)], wall[("fit", "course", default_threads)]
    print(f"speed-up of fit over the fastest reference (wall), both given the seed's datasets: "
          f"{reference('seed') / fit_seed:.1f}x (target >= 4x)")
    print(f"  seed notebook (reference loop, seed's datasets) -> course notebook (fit, fashion_mnist_split): "
          f"{reference('seed') / fit_course:.1f}x")
    print(f"  both given the course's tensors (the loops alone): {reference('course') / fit_course:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
