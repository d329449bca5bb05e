"""Kernel start time in the bubblewrap sandbox vs a plain kernel, measured side by side.

    python benchmarks/sandbox_start.py [--rounds 5]

Prints the median time to a ready kernel, and to a kernel that has imported torch, for both kinds,
and the sandbox/plain ratios. Rounds alternate the two kinds so machine load hits both alike.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from autograde.sandbox import SandboxKernelManager, bwrap_status


def one_run(manager_class: type, folder: str) -> tuple[float, float]:
    """Seconds to a ready kernel, and to one that has run ``import torch``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import torch")]
    client = NotebookClient(nb, km=manager_class(), resources={"metadata": {"path": folder}})
    start = time.perf_counter()
    with client.setup_kernel(cleanup_kc=True):
        ready = time.perf_counter() - start
        client.execute_cell(nb.cells[0], 0)
        with_torch = time.perf_counter() - start
    return ready, with_torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if bwrap_status()[0] is None:
        print(f"no sandbox here: {bwrap_status()[1]}; the sandboxed kernel runs with limits only")
    kinds = {"plain": AsyncKernelManager, "sandbox": SandboxKernelManager}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.rounds):
            for name, cls in kinds.items():
                times[name].append(one_run(cls, folder))
    medians = {name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
               for name, runs in times.items()}
    for name, (ready, torch) in medians.items():
        print(f"{name:8s} ready {ready:5.2f} s   ready+import torch {torch:5.2f} s   ({args.rounds} rounds, median)")
    (plain_ready, plain_torch), (box_ready, box_torch) = medians["plain"], medians["sandbox"]
    print(f"sandbox/plain: ready x{box_ready / plain_ready:.2f}, with torch x{box_torch / plain_torch:.2f}")


if __name__ == "__main__":
    main()
