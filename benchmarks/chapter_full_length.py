"""What a student waits for: each chapter's source notebook run at full length, as in Jupyter.

Every cell runs in a fresh kernel with the inline backend (so the live ``HistoryPlotter`` draws as
it does for a student), without ``COURSE_FAST`` or ``NBGRADER_EXECUTION``, so ``epochs(n)`` is ``n``.
Prints each chapter's wall time, its slowest cell, and cells that raised.

    COURSE_DATA_DIR=../shared/data python benchmarks/chapter_full_length.py               # all chapters
    COURSE_DATA_DIR=../shared/data python benchmarks/chapter_full_length.py 05-mlp 06-optimisation
    python benchmarks/chapter_full_length.py --quick 01-tensors   # a smoke run, with COURSE_FAST=1
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from autograde.pdf import run_as_student  # noqa: E402 (the one place that runs a notebook as a student does)


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    """A cell's run time from the timestamps nbclient records in its metadata (0 if it did not run)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def run_chapter(folder: Path, timeout: int) -> tuple[float, float, str, list[str]]:
    """(wall seconds, slowest cell's seconds, its first line, errors) of one chapter run in a scratch copy."""
    source = folder / f"{folder.name}.ipynb"
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / folder.name
        shutil.copytree(folder, copy)
        nb = nbformat.read(copy / source.name, as_version=4)
        started = time.perf_counter()
        run_as_student(nb, copy, timeout)
        wall = time.perf_counter() - started
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    slowest = max(code, key=cell_seconds)
    errors = [f"{output.ename}: {output.evalue}"[:120] for cell in code for output in cell.outputs
              if output.output_type == "error"]
    return wall, cell_seconds(slowest), slowest.source.strip().splitlines()[0][:60], errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter folders under notebooks/ (default: all)")
    parser.add_argument("--quick", action="store_true", help="COURSE_FAST=1: check that the script works")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (default 3600)")
    args = parser.parse_args()
    folders = sorted(path for path in (REPO / "notebooks").iterdir() if path.is_dir())
    if args.chapters:
        unknown = set(args.chapters) - {folder.name for folder in folders}
        if unknown:
            parser.error(f"no chapter {sorted(unknown)} under notebooks/; there are {[f.name for f in folders]}")
        folders = [folder for folder in folders if folder.name in args.chapters]
    for variable in ("COURSE_FAST", "NBGRADER_EXECUTION"):
        os.environ.pop(variable, None)
    if args.quick:
        os.environ["COURSE_FAST"] = "1"
    print(f"{'chapter':24s} {'wall':>8s}  slowest cell", flush=True)
    total = 0.0
    for folder in folders:
        wall, slowest, line, errors = run_chapter(folder, args.timeout)
        total += wall
        print(f"{folder.name:24s} {wall:7.1f}s  {slowest:6.1f}s  {line}", flush=True)
        for error in errors:
            print(f"{'':24s} error: {error}", flush=True)
    print(f"{'all':24s} {total:7.1f}s", flush=True)


if __name__ == "__main__":
    main()
