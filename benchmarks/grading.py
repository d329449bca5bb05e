"""Serial `nbgrader autograde` against `course grade --workers N` on the same submissions, side by side.

    python benchmarks/grading.py                      # both classes below, 8 students, 2 workers
    python benchmarks/grading.py --only chapter       # the torch chapter class only (or: --only plain)

Two classes, each graded in one run of this script:
- chapter: the first chapter of notebooks/ (torch), with the course's nbgrader_config.py, so nbgrader's
  kernels are sandboxed too (cold: nbgrader has no warm start);
- plain: a plain-Python assignment of two short notebooks (tests/fixtures/assignments/mini, twice), with
  a plain nbgrader config (no sandbox for nbgrader; `course grade` still sandboxes every kernel).
Both graders run as command-line subprocesses on identical copies of one generated course; the script
prints the wall times, the ratios, and checks that every cell of every student got the same score.
Each time is the fastest of ``--repeat`` runs (default 2; each run regrades its copy with ``--force``): one run
of a 20 s class moves by 10-20 % with what else the machine does.
`course grade` runs as it runs by default (warm kernels forked from a zygote that preloads torch and the
like when the notebooks import them, else the kernel alone) with one worker and with `--workers`, and, for
comparison, with `--cold-start`.
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

from autograde.course_dir import course_directory, load_config, source_assignments
from autograde.demo_class import make_class
from autograde.generate import generate
from autograde.grading.score import cell_scores

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "assignments"
KINDS = ["reference", "partly-right", "untouched", "exception"]  # no endless loop: time the grading, not a timeout


PLAIN_PARTS = ("part1", "part2")


def _setup(folder: Path, kind: str, chapter: str | None) -> tuple[Path, str, str]:
    course = folder / "course"
    if kind == "plain":
        (course / "source" / "plain").mkdir(parents=True)
        shutil.copy(FIXTURES / "nbgrader_config.py", course)
        for part in PLAIN_PARTS:
            shutil.copy(FIXTURES / "mini" / "mini.ipynb", course / "source" / "plain" / f"{part}.ipynb")
        return course, "plain", "source"
    course.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    chapters = source_assignments(course_directory(course))
    if not chapters:
        raise SystemExit("no chapters under notebooks/")
    return course, chapter or chapters[0], "notebooks"


def _timed(command: list[str], cwd: Path, repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``command`` in ``cwd``, in seconds."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return min(times)


def _scores(course: Path, assignment: str) -> list[tuple]:
    config = load_config(course)
    return [(r["student"], r["notebook"], r["cell"], r["auto_score"])
            for r in cell_scores(f"sqlite:///{course}/gradebook.db", config.CourseDirectory.course_id, assignment)]


def compare(kind: str, students: int, workers: int, chapter: str | None, repeat: int) -> dict[int, float]:
    """Grade one class four ways; print the times; return serial nbgrader's time over `course grade`'s, by workers."""
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course, assignment, source_dir = _setup(Path(tmp), kind, chapter)
        generate(course, [assignment])
        kinds = [KINDS[i % len(KINDS)] for i in range(students)]
        make_class(course, assignment, kinds, source_dir=source_dir)
        copies = {name: Path(tmp) / name for name in ("serial", "one-worker", "parallel", "parallel-cold")}
        for copy in copies.values():
            shutil.copytree(course, copy)
        print(f"{kind} class: {students} submissions of {assignment} on {os.cpu_count()} CPU(s), best of {repeat} runs")
        grade = [sys.executable, "-m", "autograde.cli", "grade", assignment, "--force"]
        # Cold kernels where the course config sandboxes nbgrader's (nbgrader has no warm start of its own).
        t_serial = _timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force",
                           "--SandboxKernelManager.warm_start=False"], copies["serial"], repeat)
        print(f"  nbgrader autograde (serial, cold kernels):   {t_serial:7.1f} s")
        t_one = _timed(grade + ["--workers", "1"], copies["one-worker"], repeat)
        print(f"  course grade --workers 1 (default):          {t_one:7.1f} s   {t_serial / t_one:.2f}x")
        t_cold = _timed(grade + ["--workers", str(workers), "--cold-start"], copies["parallel-cold"], repeat)
        print(f"  course grade --workers {workers} --cold-start:     {t_cold:7.1f} s   {t_serial / t_cold:.2f}x")
        t_default = _timed(grade + ["--workers", str(workers)], copies["parallel"], repeat)
        print(f"  course grade --workers {workers} (default):        {t_default:7.1f} s   {t_serial / t_default:.2f}x")
        same = len({repr(_scores(copy, assignment)) for copy in copies.values()}) == 1
        print(f"  identical scores for every cell: {same}")
        if not same:
            raise SystemExit(1)
        return {1: t_serial / t_one, workers: t_serial / t_default}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["chapter", "plain"], help="grade one class only")
    parser.add_argument("--chapter", help="chapter under notebooks/ for the chapter class (default: the first)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each grader; the fastest counts (default 2)")
    args = parser.parse_args()
    ratios = {kind: compare(kind, args.students, args.workers, args.chapter, args.repeat)
              for kind in ("plain", "chapter") if args.only in (None, kind)}
    # Never slower than nbgrader per notebook: at least as fast on one worker, nearly twice on two.
    targets = {("plain", 1): 1.0, ("plain", 2): 1.8, ("chapter", 2): 2.0}
    for kind, by_workers in ratios.items():
        for workers, ratio in by_workers.items():
            target = targets.get((kind, workers))
            print(f"{kind} class: course grade --workers {workers} is {ratio:.2f}x serial nbgrader autograde"
                  + (f" (target >= {target:g}x)" if target else ""))

if __name__ == "__main__":
    main()
