"""The ``course`` command: one subcommand per module, each with ``add_arguments`` and ``run``."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

# Subcommand name -> module that implements it (``add_arguments(parser)``, ``run(args) -> int``).
COMMANDS = {
    "generate": "autograde.generate",
    "check": "autograde.check",
    "grade": "autograde.grade",
    "feedback": "autograde.feedback",
    "report": "autograde.report",
    "demo": "autograde.demo",
    "pdf": "autograde.pdf",
}


def course_root(explicit: str | None) -> Path:
    """The course directory: ``--course``, else the nearest folder upwards with ``nbgrader_config.py``."""
    if explicit:
        root = Path(explicit).resolve()
        if not (root / "nbgrader_config.py").exists():
            raise SystemExit(f"course: {root} has no nbgrader_config.py; pass --course with a course directory")
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").exists():
            return folder
    raise SystemExit("course: no nbgrader_config.py here or above; run inside a course directory or pass --course DIR")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--course", metavar="DIR", help="course directory (default: found upwards from here)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
