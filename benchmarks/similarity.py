"""Time ``course similarity`` on a made-up class (default 200 students) of one bundled chapter.

    python benchmarks/similarity.py [--students 200] [--chapter 08-initialisation]

The class cycles through solution-based kinds (reference, partly right, untouched, a raised
exception) plus one pair who shared answers, handed in as nbgrader ``submitted/`` notebooks (the
release made with nbgrader's ClearSolutions; no kernels). Times the whole command (read every
notebook, compare, write report, CSV, heat map and answer files) twice: as it runs by default, and
with ``--count-solution``, where most of the class matches the model answer and nearly every pair
must be compared (the worst case).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearSolutions

from autograde.course_dir import load_config
from autograde.demo_class import make_class
from autograde.similarity import WHOLE, similarity

REPO = Path(__file__).resolve().parents[1]
KINDS = ["reference", "partly-right", "untouched", "exception"]


def make_course(folder: Path, chapter: str, students: int) -> Path:
    """A course in ``folder`` with the chapter's source, its release and a class of ``students``."""
    (folder / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(REPO / "notebooks" / chapter, folder / "notebooks" / chapter)
    clear = ClearSolutions(config=load_config(folder))
    (folder / "release" / chapter).mkdir(parents=True)
    for path in (folder / "notebooks" / chapter).glob("*.ipynb"):
        released, _ = clear.preprocess(nbformat.read(path, as_version=4), {})
        nbformat.write(released, folder / "release" / chapter / path.name)
    kinds = [KINDS[i % len(KINDS)] for i in range(students - 2)] + ["own-variant", "copied-variant"]
    make_class(folder, chapter, kinds)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--chapter", default="08-initialisation", help="default: the chapter with the most tasks (8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        course = make_course(Path(folder) / "course", args.chapter, args.students)
        print(f"made a class of {args.students} for {args.chapter} in {time.perf_counter() - start:.1f} s")
        for count_solution in (False, True):
            start = time.perf_counter()
            result, _ = similarity(course, args.chapter, count_solution=count_solution)
            seconds = time.perf_counter() - start
            compared = (result.pairs["task"] != WHOLE).sum()
            print(f"{'--count-solution' if count_solution else 'default':>16}: {seconds:5.1f} s for "
                  f"{args.students} students x {len(result.answers.template)} tasks "
                  f"({compared} task pairs with a match, {len(result.flagged())} pairs flagged)")
            print(f"{'':>18}{'; '.join(result.named_pairs()[:3])}")


if __name__ == "__main__":
    main()
