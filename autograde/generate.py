"""Make the student versions of assignments with nbgrader's generate step (``course generate [ASSIGNMENT...]``).

When nbgrader refuses a notebook, the reason is said in one line per cell with the fix (the rules of
:func:`autograde.check.metadata_lint.nbgrader_problems`), not as nbgrader's traceback and log.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from autograde.check.metadata_lint import nbgrader_problems
from autograde.course_dir import course_directory, in_course, load_config, source_assignments
from autograde.errors import CourseError

if TYPE_CHECKING:
    from nbgrader.apps import NbGraderAPI

# The line of nbgrader's log that names what went wrong ("RuntimeError: Hidden test region detected ...").
ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception)): (.+)$")


def generate_one(api: NbGraderAPI, assignment: str, source_dir: Path) -> list[str]:
    """Run nbgrader's generate step (force, create) for one assignment; [] when it worked, else why, one line each."""
    result = api.generate_assignment(assignment, force=True, create=True)
    if result["success"]:
        return []
    reasons = [f"{path.name}: {problem}" for path in sorted(Path(source_dir).glob("*.ipynb"))
               for problem in nbgrader_problems(nbformat.read(path, as_version=4))]
    return reasons or [nbgrader_reason(f"{result.get('log', '')}\n{result.get('error', '')}")]


def nbgrader_reason(log: str) -> str:
    """The most specific error line of nbgrader's log, without the cell source some messages append."""
    found = [(name, text) for name, text in (m.groups() for m in map(ERROR_LINE.match, log.splitlines()) if m)
             if name != "NbGraderException" and "see the the above traceback" not in text]
    if not found:
        lines = [line.strip() for line in log.splitlines() if line.strip() and "Traceback" not in line]
        return lines[-1] if lines else "nbgrader gave no reason"
    name, text = found[-1]
    return f"{name}: {text.split(': ')[0].split('. Cell contents')[0]}"


def generate(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Run ``nbgrader generate_assignment`` (force, create) for each assignment; returns those generated.

    Goes on past an assignment nbgrader refuses, then exits naming every refusal, one line per cell."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, config=config)
    source = Path(coursedir.root) / coursedir.source_directory
    available = source_assignments(coursedir)
    wanted = list(assignments or available)
    if not wanted:
        raise CourseError(f"course generate: no assignments in {source}/; add a folder with a source notebook there")
    unknown = [a for a in wanted if a not in available]
    if unknown:
        raise CourseError(f"course generate: no source notebooks for {unknown}; available: {available}")
    from nbgrader.apps import NbGraderAPI

    api = NbGraderAPI(coursedir=coursedir, config=config)
    failed = []
    with in_course(root):
        for assignment in wanted:
            reasons = generate_one(api, assignment, source / assignment)
            failed.extend(f"  {assignment}/{reason}" for reason in reasons)
            for path in sorted((source / assignment).glob("*.ipynb")) if not reasons else []:
                for problem in nbgrader_problems(nbformat.read(path, as_version=4)):  # accepted, but generated wrong
                    print(f"course generate: warning: {assignment}/{path.name}: {problem}", file=sys.stderr)
    if failed:
        raise CourseError("course generate: nbgrader refused to generate:\n" + "\n".join(failed))
    return wanted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in the source folder")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    done = generate(root, args.assignments)
    config = load_config(root)
    release = Path(course_directory(root, config=config).release_directory)
    print(f"generated {len(done)} assignment(s) into {root / release}: {', '.join(done)}")
    return 0
