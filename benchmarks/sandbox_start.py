"""Per-submission kernel overhead: a plain kernel, a cold sandboxed one and a warm one, side by side.

    python benchmarks/sandbox_start.py [--rounds 5]

For each kind it times what grading pays per notebook before and after the student's own work: start
the kernel, run the imports a chapter notebook begins with, shut the kernel down. The kinds alternate
within each round, so machine load hits all alike; medians are printed with the ratios. A warm kernel
is forked from the zygote (autograde.sandbox.zygote), which starts once per grading run: that one-time cost is
printed separately.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from autograde.sandbox import SandboxKernelManager, bwrap_status, zygote

IMPORTS = "import numpy, torch, torchvision, pandas, matplotlib.pyplot, course"


def one_submission(make_manager, folder: str) -> tuple[float, float]:
    """Seconds to a ready kernel, and for the whole start + imports + shutdown."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(IMPORTS)]
    client = NotebookClient(nb, km=make_manager(), resources={"metadata": {"path": folder}}, timeout=120)
    start = time.perf_counter()
    with client.setup_kernel(cleanup_kc=True):
        ready = time.perf_counter() - start
        client.execute_cell(nb.cells[0], 0)
    return ready, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kinds = {"plain kernel": AsyncKernelManager,
             "sandbox, cold": lambda: SandboxKernelManager(warm_start=False),
             "sandbox, warm": SandboxKernelManager}
    if bwrap_status()[0] is None or not zygote.warm_start_possible():
        print(f"no warm sandbox here ({bwrap_status()[1] or 'not root'}); its kernels start cold")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as course grade sets it for two kernels on two cores
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        start = time.perf_counter()
        one_submission(SandboxKernelManager, folder)  # starts the zygote, as the first kernel of a run does
        print(f"zygote start plus the first kernel (once per grading run): {time.perf_counter() - start:.2f} s")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
        for _ in range(args.rounds):
            for name, make in kinds.items():
                times[name].append(one_submission(make, folder))
    medians = {name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
               for name, runs in times.items()}
    for name, (ready, whole) in medians.items():
        print(f"{name:14s} ready {ready:5.2f} s   start + imports + shutdown {whole:5.2f} s   "
              f"({args.rounds} rounds, median)")
    cold, warm = medians["sandbox, cold"][1], medians["sandbox, warm"][1]
    print(f"per-submission overhead, sandbox cold / warm: {cold / warm:.1f}x less with the warm start "
          f"(target >= 2x); sandbox cold / plain: {cold / medians['plain kernel'][1]:.2f}")


if __name__ == "__main__":
    main()
