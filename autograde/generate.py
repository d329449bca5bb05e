"""Make the student versions of assignments with nbgrader's generate step (``course generate [ASSIGNMENT...]``)."""
from __future__ import annotations

import argparse
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from autograde.course_dir import course_directory, in_course, load_config, source_assignments


def generate(root: Path, assignments: list[str] | None = None) -> list[str]:
    """Run ``nbgrader generate_assignment`` (force, create) for each assignment; returns those generated."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, config=config)
    available = source_assignments(coursedir)
    wanted = list(assignments or available)
    if not wanted:
        raise SystemExit(f"course generate: no assignments in {Path(coursedir.root) / coursedir.source_directory}/; "
                         "add a folder with a source notebook there")
    unknown = [a for a in wanted if a not in available]
    if unknown:
        raise SystemExit(f"course generate: no source notebooks for {unknown}; available: {available}")
    api = NbGraderAPI(coursedir=coursedir, config=config)
    with in_course(root):
        for assignment in wanted:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise SystemExit(f"course generate: nbgrader could not generate {assignment}:\n"
                                 f"{result.get('log', '')}\n{result.get('error', '')}")
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
