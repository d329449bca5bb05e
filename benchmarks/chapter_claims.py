"""Check the numbers and comparisons that chapters' texts and rubrics state about their experiments, over seeds.

A chapter states its claims once, next to its notebook, in ``notebooks/NN-name/claims.py``::

    def measure(seed: int) -> dict[str, float]:   # the chapter's experiment, run with one seed
    CLAIMS = [{"where": "Question 4 rubric", "claim": "with batch norm, lr 1.0 is not better than 0.01",
               "values": ["bn 0.01", "bn 1.0"], "holds": lambda m: m["bn 1.0"] < m["bn 0.01"]}, ...]

This script runs ``measure`` for every seed (at least 3) and prints, per claim, the mean and the standard
deviation over the seeds of the values it rests on and on how many seeds it held. A claim must hold on
every seed; the exit status is 1 if one does not (then the claim needs more seeds, or goes).

    python benchmarks/chapter_claims.py                  # every chapter with a claims file, seeds 0 1 2
    python benchmarks/chapter_claims.py 07 08 --seeds 0 1 2 3 4
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def claims_files(chapters: list[str]) -> list[Path]:
    """The claims files of the chapters whose folder names start with one of ``chapters`` (all if empty)."""
    found = sorted(REPO.glob("notebooks/*/claims.py"))
    return [path for path in found if not chapters or any(path.parent.name.startswith(c) for c in chapters)]


def load(path: Path) -> ModuleType:
    """Import a chapter's claims file as a module."""
    spec = importlib.util.spec_from_file_location(f"claims_{path.parent.name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(module: ModuleType, seeds: list[int]) -> list[dict]:
    """Run the chapter's experiment for every seed; one row per claim: values' mean and spread, seeds held."""
    measured = [module.measure(seed) for seed in seeds]
    rows = []
    for claim in module.CLAIMS:
        held = [bool(claim["holds"](m)) for m in measured]
        spread = {name: (statistics.mean(m[name] for m in measured), statistics.stdev(m[name] for m in measured))
                  for name in claim["values"]}
        rows.append({"where": claim["where"], "claim": claim["claim"], "values": spread, "held": sum(held),
                     "seeds": len(seeds)})
    return rows


def report(chapter: str, rows: list[dict]) -> bool:
    """Print the table of one chapter's claims; True if every claim held on every seed."""
    print(f"\n{chapter}")
    for row in rows:
        verdict = "holds" if row["held"] == row["seeds"] else "FAILS"
        values = ", ".join(f"{name} {mean:.4g} ± {std:.2g}" for name, (mean, std) in row["values"].items())
        print(f"  [{verdict} on {row['held']}/{row['seeds']} seeds] {row['where']}: {row['claim']}\n      {values}")
    return all(row["held"] == row["seeds"] for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter prefixes such as 07 or 09-batchnorm (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="at least 3 (default: 0 1 2)")
    args = parser.parse_args(argv)
    if len(args.seeds) < 3:
        parser.error(f"give at least 3 seeds, got {args.seeds}: a claim must hold across seeds")
    files = claims_files(args.chapters)
    if not files:
        parser.error(f"no notebooks/*/claims.py matches {args.chapters}")
    ok = True
    for path in files:
        start = time.perf_counter()
        ok &= report(path.parent.name, check(load(path), args.seeds))
        print(f"  ({time.perf_counter() - start:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
