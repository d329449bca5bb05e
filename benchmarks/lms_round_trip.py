"""One class from each LMS and back, printing what every step says: collect, grade, export, export --allow-pending.

    PYTHONPATH=. python benchmarks/lms_round_trip.py [--keep DIR]

The made-up exports (tests/support/lms_class.py) hold a roster, a group of two, a resubmission, a renamed
notebook, a late hand-in, a PDF, a non-ASCII name and a roster student who handed in nothing. Not a timing:
the output is what an instructor reads, for reviewing messages side by side across the three LMSs.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.grading_course import ASSIGNMENT
from tests.support.lms_class import EXPORTS, make_lms_course

STEPS = (["collect"], ["grade", "--workers", "2"], ["export"], ["export", "--allow-pending"])


def round_trip(base: Path, template: Path, lms: str) -> None:
    """Collect, grade and export one LMS's made-up class, printing each command's output."""
    course, exports = base / lms, base / f"{lms}-export"
    shutil.copytree(template, course)
    exports.mkdir()
    files = EXPORTS[lms](course, exports)
    for step in STEPS:
        command = [step[0], ASSIGNMENT, *step[1:]]
        if step[0] == "collect":
            command += [str(files["export"]), "--lms", lms, "--roster", str(files["roster"]), "--groups", str(files["groups"])]
        elif step[0] == "export":
            command += ["--lms", lms]
        done = subprocess.run([sys.executable, "-m", "autograde.cli", "--course", str(course), *command],
                              capture_output=True, text=True)
        print(f"=== {lms}: course {step[0]} {ASSIGNMENT} {' '.join(step[1:])} -> exit {done.returncode}")
        print("\n".join(line for line in (done.stdout + done.stderr).splitlines() if "%|" not in line))
    for written in sorted((course / "reports" / ASSIGNMENT).glob(f"{lms}-grades.csv")):
        print(f"--- {written.name} (first lines)\n" + "\n".join(written.read_text(encoding="utf-8").splitlines()[:3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-round-trip-") as tmp:
        base = Path(args.keep or tmp)
        base.mkdir(parents=True, exist_ok=True)
        template = make_lms_course(base / "template")
        for lms in EXPORTS:
            round_trip(base, template, lms)


if __name__ == "__main__":
    main()
