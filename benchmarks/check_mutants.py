"""Mutation testing in one kernel (what ``course check`` does) against one notebook run per mutant; prints the ratio.

In-kernel: the solution notebook runs once and each mutant replays only its answer cell and test
cells (:mod:`autograde.check.mutation_run`). Per-run: every mutant is a whole notebook with the mutated
answer, executed from a fresh kernel, the obvious way to do it. Both use
:func:`autograde.grading.execute.execute_notebook`, no sandbox, and the same ``N`` mutants per task, and
must agree on which mutants are killed (the script says so when they do not).

    COURSE_DATA_DIR=../shared/data python benchmarks/check_mutants.py                  # chapter 1, 2 mutants per task
    python benchmarks/check_mutants.py --notebook notebooks/02-autograd/02-autograd.ipynb --mutants 1
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograde.cells import has_error
from autograde.check.metadata_lint import tasks
from autograde.check.mutate import equivalent_ids, mutants, select
from autograde.check.mutation_run import CellTimeouts, MutantStatus, instrument, read_results
from autograde.config import CELL_TIMEOUT, MUTANT_TIMEOUT, GradingSettings
from autograde.grading.execute import execute_notebook

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default=str(REPO / "notebooks/01-tensors/01-tensors.ipynb"))
    parser.add_argument("--mutants", type=int, default=2, help="mutants per task")
    args = parser.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    env = {k: v for k, v in os.environ.items() if k.startswith("COURSE_")}
    limits = GradingSettings(cell_seconds=CELL_TIMEOUT, notebook_seconds=1800)  # one run of every mutant takes long
    plan = {t.answer_id: (t, select(mutants(nb.cells[t.answer_index].source), args.mutants)) for t in tasks(nb)}
    equivalent = {t.answer_id: equivalent_ids(nb.cells[t.answer_index].source) for t, _ in plan.values()}
    count = sum(len(found) for _, found in plan.values())

    start = time.monotonic()
    result = execute_notebook(nbformat.writes(instrument(nb, plan, MUTANT_TIMEOUT)), limits, env=env,
                              execute_options={"timeout_func": CellTimeouts(CELL_TIMEOUT)})
    in_kernel = time.monotonic() - start
    _, results, _, _ = read_results(result.notebook_json, plan, equivalent)
    killed_in_kernel = {r.mutant.id for r in results if r.status == MutantStatus.KILLED}

    start = time.monotonic()
    killed_per_run = set()
    execute_notebook(nbformat.writes(nb), limits, env=env)  # the solution itself, as the in-kernel run does
    with tqdm(total=count, desc="one run per mutant") as bar:
        for task, found in plan.values():
            for mutant in found:
                copy = nbformat.from_dict(nb)
                copy.cells[task.answer_index].source = mutant.source
                executed = nbformat.reads(execute_notebook(nbformat.writes(copy), limits, env=env).notebook_json, as_version=4)
                if any(has_error(executed.cells[i]) for i in task.test_indices):
                    killed_per_run.add(mutant.id)
                bar.update()
    per_run = time.monotonic() - start

    print(f"{Path(args.notebook).name}: solution + {count} mutants")
    print(f"  in one kernel (course check): {in_kernel:7.1f} s")
    print(f"  one notebook run per mutant : {per_run:7.1f} s")
    print(f"  ratio: {per_run / in_kernel:.1f}x faster in one kernel")
    if killed_in_kernel != killed_per_run:
        print(f"  DISAGREE: killed only in one kernel {sorted(killed_in_kernel - killed_per_run)}, "
              f"only per run {sorted(killed_per_run - killed_in_kernel)}")
    else:
        print(f"  both kill the same {len(killed_in_kernel)} of {count} mutants")


if __name__ == "__main__":
    main()
