"""The ``course`` command: one subcommand per module, each with ``add_arguments`` and ``run``.

Only the module of the subcommand being run is imported: ``course pdf`` must work with the
students' ``pdf`` extra, which has no nbgrader (and ``course --help`` should not load torch).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from autograde.errors import CourseError

# Subcommand name -> (module that implements it: ``add_arguments(parser)``, ``run(args) -> int``; one-line help).
# The help lives here so that listing the subcommands imports none of them.
COMMANDS = {
    "init": ("autograde.course_init", "add the sandbox and the hidden-test-hiding lines to a course's nbgrader_config.py"),
    "new": ("autograde.scaffold", "start a new assignment from a scaffold notebook with one cell of each kind"),
    "collect": ("autograde.lms.collect", "an LMS's \"download all submissions\" into submitted/, with roster and groups"),
    "generate": ("autograde.generate", "make the student versions of assignments with nbgrader's generate step"),
    "check": ("autograde.check.gate", "test the tests of every assignment before release"),
    "grade": ("autograde.grading.grade", "autograde every submission of an assignment in parallel, sandboxed"),
    "feedback": ("autograde.feedback", "feedback pages for students, without the hidden tests"),
    "report": ("autograde.report", "the class report: grades.csv, an HTML page with figures, a table"),
    "export": ("autograde.lms.export", "the grade import file of an LMS (Brightspace, Canvas, Moodle)"),
    "demo": ("autograde.demo", "the instructor's whole job on a made-up class"),
    "pdf": ("autograde.pdf", "print a notebook or a feedback page to PDF, offline"),
    "similarity": ("autograde.similarity", "pairs of students whose answers match, with a report and a heat map"),
}
COURSE_HELP = "course directory (default: found upwards from here); before or after the subcommand"


def course_root(explicit: str | None) -> Path:
    """The course directory: ``--course``, else the nearest folder upwards with ``nbgrader_config.py``."""
    if explicit:
        root = Path(explicit).resolve()
        if not (root / "nbgrader_config.py").exists():
            raise CourseError(f"course: {root} has no nbgrader_config.py; pass --course with a course directory")
        return root
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").exists():
            return folder
    raise CourseError("course: no nbgrader_config.py here or above; run inside a course directory or pass --course DIR")


def chosen_command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option or --course's value)."""
    words = iter(argv)
    for word in words:
        if word == "--course":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def load(name: str, module_name: str):
    """The subcommand's module; a clear error when a package of another extra is missing."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] in ("autograde", "course"):
            raise  # our own bug, not an installation problem
        extra = "pdf" if name == "pdf" else "grading"
        raise CourseError(f"course {name} needs the Python package {error.name!r}, which is not installed here; "
                         f"install it with: pip install -e '.[{extra}]' (or pip install 'course-dl[{extra}]')") from error


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser: every subcommand listed, the arguments of ``command`` only (importing its module)."""
    parser = argparse.ArgumentParser(prog="course", description="Generate, check, grade and print the course's "
                                     "notebooks. `course COMMAND --help` lists a command's options.")
    parser.add_argument("--course", metavar="DIR", help=COURSE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        # SUPPRESS: when given only before the subcommand, the subparser must not overwrite it with None.
        sub.add_argument("--course", metavar="DIR", default=argparse.SUPPRESS, help=COURSE_HELP)
        if name == command:
            module = load(name, module_name)
            module.add_arguments(sub)
            sub.set_defaults(module=module)
    return parser


def dispatch(argv: list[str]) -> int:
    """Run the subcommand ``argv`` names; its exit code. A problem the user can fix raises CourseError."""
    args = build_parser(chosen_command(argv)).parse_args(argv)
    return int(args.module.run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    """The ``course`` command: the one place where a CourseError becomes a message and an exit code."""
    # nbformat imports jsonschema, which builds 39 parsers for rfc3987_syntax's IRI formats (1.3 s of the
    # 2.9 s a command took to start); no `course` command validates those formats, so it goes without them.
    sys.modules.setdefault("rfc3987_syntax", None)
    try:
        return dispatch(sys.argv[1:] if argv is None else list(argv))
    except CourseError as error:
        print(error, file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
