"""Time per student of recording a class's results (``reports/<assignment>/results.json``), old way and new.

    python benchmarks/results_records.py                 # classes of 50 and 500 students
    python benchmarks/results_records.py --sizes 50 500 2000

Old (before the journal): ``course grade`` read, re-sorted and rewrote the whole results.json twice per
student, so the work per student grew with the class. New (``autograde.grading.records.ResultsFile``):
one journal file per student, folded into results.json once at the end of the run. Each student has
two notebook records, as the small plain-Python class of ``benchmarks/grading.py``. Two cases: a first
run (no results.json yet) and a regrade (``--force``: results.json already holds the whole class).
Nothing else runs: no kernels, no gradebook; the times are the bookkeeping alone. The new way syncs each
student's file to disk (the old never did): a last line says what that fsync costs on this disk, a floor
per student that does not grow with the class.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autograde.atomic import write_text
from autograde.grading.records import NotebookRecord, ResultsFile, read_records, results_path
from autograde.grading.status import Status

ASSIGNMENT = "a1"
REASON = "cell 4 raised AssertionError: expected the mean of the batch to be 0.5, got 0.47 (tests test_mean)"


def records(student: str) -> list[NotebookRecord]:
    return [NotebookRecord(student, notebook, Status.RAISED, REASON, 1.234, 1, "localhost", 3.0, 5.0, time.time())
            for notebook in ("part1", "part2")]


def old_save(root: Path, student: str, rows: list[NotebookRecord]) -> None:
    """records.save_records as it was: read the whole file, replace one student, re-sort, rewrite."""
    path = results_path(root, ASSIGNMENT)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    kept = [r for r in old if r["student"] != student]
    merged = sorted(kept + [asdict(r) for r in rows], key=lambda r: (r["student"], r["notebook"]))
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(merged, indent=1))
    os.replace(temporary, path)


def old_run(root: Path, students: list[str]) -> None:
    for student in students:  # once before the graded folder's rename, once when the student is final
        old_save(root, student, records(student))
        old_save(root, student, records(student))


def new_run(root: Path, students: list[str]) -> None:
    results = ResultsFile(root, ASSIGNMENT)
    for student in students:
        results.save(student, records(student))
    results.compact()


def per_student_ms(run, students: list[str], regrade: bool) -> float:
    """Milliseconds per student of one run in a fresh folder (after a first run there, for a regrade)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if regrade:
            run(root, students)
        start = time.perf_counter()
        run(root, students)
        seconds = time.perf_counter() - start
        assert len(read_records(root, ASSIGNMENT)) == 2 * len(students)
    return 1000 * seconds / len(students)


def sync_floor_ms(count: int = 50) -> float:
    """Median milliseconds of one write_text of a small file (write, fsync, rename): the disk's share of
    the new column, which the old code, never syncing, did not pay."""
    with tempfile.TemporaryDirectory() as folder:
        times = []
        for i in range(count):
            start = time.perf_counter()
            write_text(Path(folder) / f"{i}.json", "{}")
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500], help="class sizes (default: 50 500)")
    args = parser.parse_args()
    print(f"{'students':>8}  {'case':<9} {'old ms/student':>15} {'new ms/student':>15} {'speed-up':>9}")
    for size in args.sizes:
        students = [f"student-{i:04d}" for i in range(size)]
        for case, regrade in (("first run", False), ("regrade", True)):
            old, new = per_student_ms(old_run, students, regrade), per_student_ms(new_run, students, regrade)
            print(f"{size:>8}  {case:<9} {old:>15.2f} {new:>15.2f} {old / new:>8.1f}x")
    print(f"of the new time, {sync_floor_ms():.2f} ms per student is one fsync'd write (durable across a crash of the "
          f"machine; the old code never synced)")


if __name__ == "__main__":
    main()
