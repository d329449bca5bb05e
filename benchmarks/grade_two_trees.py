"""`course grade` from two checkouts of this repository, alternated on the same classes: time and scores.

    git worktree add /tmp/before <commit>
    COURSE_DATA_DIR=../shared/data python benchmarks/grade_two_trees.py /tmp/before

For a change that should not change grading (a refactor): it prints each tree's fastest of ``--rounds``
runs, their ratio, and whether every cell scored the same. Each tree runs as ``python -m autograde.cli``
with its own folder first on PYTHONPATH; kernels import the installed ``course`` either way.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from autograde.course_dir import load_config  # noqa: E402
from autograde.demo_class import make_class  # noqa: E402
from autograde.generate import generate  # noqa: E402
from autograde.grading.score import cell_scores  # noqa: E402

# No endless loop: it would only measure the cell time limit.
KINDS = ["reference", "untouched", "partly-right", "syntax-error", "exception"]
FIXTURES = REPO / "tests" / "fixtures" / "assignments"


def make_classes(folder: Path, students: int) -> dict[str, tuple[Path, str]]:
    """A plain-Python class (the tests' mini assignment, 3 notebooks) and a torch chapter class (01-tensors)."""
    plain, chapter = folder / "plain", folder / "chapter"
    (plain / "source" / "plain").mkdir(parents=True)
    shutil.copy(FIXTURES / "nbgrader_config.py", plain)
    for part in ("part1", "part2", "part3"):
        shutil.copy(FIXTURES / "mini" / "mini.ipynb", plain / "source" / "plain" / f"{part}.ipynb")
    chapter.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", chapter)
    shutil.copytree(REPO / "notebooks" / "01-tensors", chapter / "notebooks" / "01-tensors")
    kinds = [KINDS[i % len(KINDS)] for i in range(students)]
    for course, assignment, source in ((plain, "plain", "source"), (chapter, "01-tensors", "notebooks")):
        generate(course, [assignment])
        make_class(course, assignment, kinds, source_dir=source)
    return {"plain": (plain, "plain"), "chapter": (chapter, "01-tensors")}


def grade_with(tree: Path, course: Path, assignment: str, workers: int) -> float:
    """Seconds ``course grade`` of ``tree`` takes on ``course``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograde.cli", "grade", assignment, "--workers", str(workers)],
                          cwd=course, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: something needs attention, which a made-up class may
        raise SystemExit(f"{tree}: course grade failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def scores(course: Path, assignment: str) -> list[tuple]:
    course_id = load_config(course).CourseDirectory.course_id
    return [(r["student"], r["notebook"], r["cell"], r["auto_score"])
            for r in cell_scores(f"sqlite:///{course}/gradebook.db", course_id, assignment)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the other checkout (e.g. a git worktree of an older commit)")
    parser.add_argument("--after", type=Path, default=REPO, help="default: this checkout")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    with tempfile.TemporaryDirectory(prefix="two-trees-") as scratch:
        for kind, (course, assignment) in make_classes(Path(scratch), args.students).items():
            times: dict[str, list[float]] = {name: [] for name in trees}
            graded: dict[str, list[tuple]] = {}
            for round_ in range(args.rounds):
                order = list(trees.items()) if round_ % 2 == 0 else list(trees.items())[::-1]
                for name, tree in order:
                    copy = Path(scratch) / f"{kind}-{name}-{round_}"
                    shutil.copytree(course, copy)
                    times[name].append(grade_with(tree, copy, assignment, args.workers))
                    graded[name] = scores(copy, assignment)
            best = {name: min(runs) for name, runs in times.items()}
            print(f"{kind} class ({args.students} students of {assignment}, --workers {args.workers}): "
                  f"before {best['before']:.1f} s, after {best['after']:.1f} s -> after/before "
                  f"{best['after'] / best['before']:.2f}; identical scores: {graded['before'] == graded['after']}")


if __name__ == "__main__":
    main()
