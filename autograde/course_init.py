"""``course init [DIR]``: make an existing nbgrader course grade in the sandbox and never show hidden tests.

It appends to the course's ``nbgrader_config.py`` the lines this repository's own config has (the
sandboxed autograde pipeline, the feedback step that drops hidden tests), only those the loaded config
lacks, so a second run changes nothing. It prints what it changed as a diff and writes the file
atomically (a temporary file renamed over it). Without a config it writes a minimal one.
"""
from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

from autograde.atomic import write_text
from autograde.course_dir import load_config
from autograde.errors import CourseError
from autograde.feedback import hides_hidden_tests

CONFIG_NAME = "nbgrader_config.py"
MINIMAL_CONFIG = '''"""nbgrader configuration of this course (written by `course init`)."""
import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
'''
HEADER = "\n# Added by `course init` (course-dl): see its README, \"For instructors\".\n"


@dataclass(frozen=True)
class Setting:
    """One block of lines ``course init`` adds, and how to tell from a loaded config that it is in force."""

    name: str
    in_force: Callable[[Config], bool]
    lines: str


def _sandboxed(config: Config) -> bool:
    from autograde.sandbox import SandboxExecute

    steps = config.Autograde.get("autograde_preprocessors", []) if "Autograde" in config else []
    return any(isinstance(step, type) and issubclass(step, SandboxExecute) for step in steps)


SETTINGS = [
    Setting("sandbox", _sandboxed,
            "# `nbgrader autograde` runs every kernel in the bubblewrap sandbox, under limits (autograde/sandbox/).\n"
            "from autograde.sandbox import autograde_preprocessors  # noqa: E402\n\n"
            "get_config().Autograde.autograde_preprocessors = autograde_preprocessors()  # noqa: F821\n"),
    Setting("feedback", hides_hidden_tests,
            "# Feedback pages never show hidden tests, their code or output: `nbgrader generate_feedback` and the\n"
            "# formgrader's \"Generate Feedback\" button run the same step as `course feedback` (autograde/feedback.py).\n"
            "from autograde.feedback import feedback_config  # noqa: E402\n\n"
            "feedback_config(get_config())  # noqa: F821\n"
            "get_config().HideHiddenTests.enabled = True  # noqa: F821\n"),
]


def missing_settings(root: Path) -> list[Setting]:
    """The settings the course's loaded ``nbgrader_config.py`` does not put in force (all, without a file)."""
    if not (Path(root) / CONFIG_NAME).exists():
        return list(SETTINGS)
    try:
        config = load_config(root)
    except Exception as error:  # noqa: BLE001 - whatever the instructor's Python raises
        raise CourseError(f"course init: {Path(root) / CONFIG_NAME} does not load ({type(error).__name__}: {error}); "
                         f"fix it so that nbgrader can read it, then run course init again. Nothing was changed.") from None
    return [setting for setting in SETTINGS if not setting.in_force(config)]


def init_course(root: Path) -> tuple[list[str], str]:
    """Add the missing settings to ``root``'s config; returns (names added, unified diff), both empty when none."""
    path = Path(root) / CONFIG_NAME
    missing = missing_settings(root)
    if not missing:
        return [], ""
    old = path.read_text() if path.exists() else ""
    new = (old or MINIMAL_CONFIG).rstrip("\n") + "\n" + HEADER + "\n".join(s.lines for s in missing)
    write_text(path, new)
    diff = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                fromfile=f"{path} (before)", tofile=str(path))
    return [s.name for s in missing], "".join(diff)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=None,
                        help="the course directory (default: --course, else the current folder)")


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir or args.course or ".").resolve()
    if not root.is_dir():
        raise CourseError(f"course init: {root} is not a folder; pass an existing course directory")
    added, diff = init_course(root)
    if not added:
        print(f"course init: {root / CONFIG_NAME} already has the sandbox and the feedback lines; nothing changed")
        return 0
    print(diff, end="")
    print(f"course init: added the {' and '.join(added)} lines to {root / CONFIG_NAME}")
    return 0
