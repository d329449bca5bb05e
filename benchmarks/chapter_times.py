"""Wall time of real `nbgrader autograde` on each chapter's reference solution, with its point totals and
the estimated student time (autograde/check/student_time.py has the model).

    COURSE_DATA_DIR=../shared/data python benchmarks/chapter_times.py

Each chapter must stay under 60 s on 2 cores (its notebook runs with short `epochs(n)` under grading).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import nbformat  # noqa: E402

from autograde.check.student_time import estimate  # noqa: E402
from tests.support.nbgrader_harness import make_course, run_nbgrader  # noqa: E402


def points(notebook: nbformat.NotebookNode) -> tuple[float, float]:
    """(autograded points, total points) of a source notebook."""
    graded = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    total = sum(cell.metadata["nbgrader"].get("points", 0) for cell in graded)
    auto = sum(cell.metadata["nbgrader"].get("points", 0) for cell in graded if cell.cell_type == "code")
    return auto, total


def main() -> None:
    for folder in sorted(path for path in (REPO / "notebooks").iterdir() if path.is_dir()):
        with tempfile.TemporaryDirectory() as scratch:
            course, stem = make_course(Path(scratch), folder.name)
            source = course / "notebooks" / folder.name / f"{stem}.ipynb"
            target = course / "submitted" / "reference" / folder.name / f"{stem}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copy(source, target)
            start = time.perf_counter()
            run_nbgrader([sys.executable, "-m", "nbgrader", "autograde", folder.name, "--force"], course, None)
            elapsed = time.perf_counter() - start
            notebook = nbformat.read(source, as_version=4)
            auto, total = points(notebook)
        print(f"{folder.name:24s} autograde {elapsed:5.1f} s   points: {auto:g} autograded, {total:g} in all   "
              f"student: {estimate(notebook)}", flush=True)


if __name__ == "__main__":
    main()
