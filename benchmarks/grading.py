"""Serial `nbgrader autograde` against `course grade --workers N` on the same submissions, side by side.

    python benchmarks/grading.py                      # first chapter of notebooks/, 8 students, 2 workers
    python benchmarks/grading.py --mini --students 12 # the tiny test assignment (kernel start-up dominates)

Both graders run as command-line subprocesses on identical copies of one generated course; the script
prints the wall times, the ratios, and checks that every cell of every student got the same score.
The baseline is nbgrader as it grades: one notebook after another, each in a new kernel started from
scratch (our sandbox applies, since the course's nbgrader_config.py names it, but not its warm start).
`course grade` runs with its warm start (kernels forked from a zygote that imported torch) and, for
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

from autograde.classroom import make_class
from autograde.course_dir import load_config, source_assignments, course_directory
from autograde.generate import generate
from autograde.score import cell_scores

REPO = Path(__file__).resolve().parents[1]
KINDS = ["reference", "partly-right", "untouched", "exception"]  # no endless loop: time the grading, not a timeout


def _setup(folder: Path, mini: bool, chapter: str | None) -> tuple[Path, str, str]:
    course = folder / "course"
    if mini:
        (course / "source").mkdir(parents=True)
        shutil.copy(REPO / "tests" / "assignments" / "nbgrader_config.py", course)
        shutil.copytree(REPO / "tests" / "assignments" / "mini", course / "source" / "mini")
        return course, "mini", "source"
    course.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    chapters = source_assignments(course_directory(course))
    if not chapters:
        raise SystemExit("no chapters under notebooks/; use --mini")
    return course, chapter or chapters[0], "notebooks"


def _timed(command: list[str], cwd: Path, **extra_env: str) -> float:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra_env}
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return seconds


def _scores(course: Path, assignment: str) -> list[tuple]:
    config = load_config(course)
    return [(r["student"], r["notebook"], r["cell"], r["auto_score"])
            for r in cell_scores(f"sqlite:///{course}/gradebook.db", config.CourseDirectory.course_id, assignment)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mini", action="store_true", help="grade the tiny test assignment instead of a chapter")
    parser.add_argument("--chapter", help="chapter under notebooks/ (default: the first)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        course, assignment, source_dir = _setup(Path(tmp), args.mini, args.chapter)
        generate(course, [assignment])
        kinds = [KINDS[i % len(KINDS)] for i in range(args.students)]
        make_class(course, assignment, kinds, source_dir=source_dir)
        copies = {name: Path(tmp) / name for name in ("serial", "parallel", "parallel-cold")}
        for copy in copies.values():
            shutil.copytree(course, copy)
        print(f"{args.students} submissions of {assignment} on {os.cpu_count()} CPU(s)")
        grade = [sys.executable, "-m", "autograde.cli", "grade", assignment, "--force", "--workers", str(args.workers)]
        t_serial = _timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], copies["serial"],
                          COURSE_COLD_START="1")
        print(f"  nbgrader autograde (serial, cold kernels):   {t_serial:7.1f} s")
        t_cold = _timed(grade + ["--cold-start"], copies["parallel-cold"])
        print(f"  course grade --workers {args.workers} --cold-start:     {t_cold:7.1f} s   {t_serial / t_cold:.2f}x")
        t_warm = _timed(grade, copies["parallel"])
        print(f"  course grade --workers {args.workers} (warm start):     {t_warm:7.1f} s   {t_serial / t_warm:.2f}x")
        same = _scores(copies["serial"], assignment) == _scores(copies["parallel"], assignment) \
            == _scores(copies["parallel-cold"], assignment)
        print(f"  speed-up of course grade over serial nbgrader: {t_serial / t_warm:.2f}x; "
              f"identical scores for every cell: {same}")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
