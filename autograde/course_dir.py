"""Where a course keeps things: nbgrader's config and CourseDirectory, submissions, our results and reports."""
from __future__ import annotations

import contextlib
import difflib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SAWarning
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograde.config import on_path

# nbgrader's gradebook code sets off SQLAlchemy warnings ("Object ... not in session") on every grade; they
# say nothing an instructor can act on and bury the summary, so they are not shown.
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")


def load_config(root: Path) -> Config:
    """The course's ``nbgrader_config.py`` as a traitlets Config (root defaults to the file's folder)."""
    from autograde.grading.nbgrader_adapter import read_schema_revision_in_process
    read_schema_revision_in_process()  # every command reads the config before it opens a gradebook
    root = Path(root).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(root)
    return config


def course_directory(root: Path, assignment: str = "", config: Config | None = None) -> CourseDirectory:
    """nbgrader's CourseDirectory for this course, focused on ``assignment`` when given."""
    config = config if config is not None else load_config(root)
    coursedir = CourseDirectory(config=config)
    if assignment:
        coursedir.assignment_id = assignment
    return coursedir


def gradebook_name(db_url: str) -> str:
    """The gradebook as a person may be shown it: ``c.CourseDirectory.db_url`` without its password."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(db_url)


def submitted_students(coursedir: CourseDirectory, assignment: str) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>/`` folder, sorted."""
    base = Path(coursedir.root) / coursedir.submitted_directory
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir() and not p.name.startswith("."))


def source_assignments(coursedir: CourseDirectory) -> list[str]:
    """Assignments (folders with notebooks) in the source directory, sorted."""
    base = Path(coursedir.root) / coursedir.source_directory
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def unknown_assignment(coursedir: CourseDirectory, assignment: str) -> str:
    """" ``assignment`` is not one of this course's: did you mean ...?" when the source folder lacks it, else ""."""
    known = source_assignments(coursedir)
    if not known or assignment in known:
        return ""
    close = difflib.get_close_matches(assignment, known, n=1)
    return (f"; {assignment!r} is not one of this course's assignments"
            + (f": did you mean {close[0]!r}?" if close else f" ({', '.join(known)})"))


def report_dir(root: Path, assignment: str) -> Path:
    """``reports/<assignment>/``: grading results (results.json), grades.csv, the HTML report."""
    return Path(root) / "reports" / assignment


@contextlib.contextmanager
def in_course(root: Path) -> Iterator[None]:
    """Run nbgrader code from the course root, with this environment's bin/ on PATH (nbgrader calls alembic)."""
    old_cwd = os.getcwd()
    os.chdir(root)
    try:
        with on_path(Path(sys.executable).parent):
            yield
    finally:
        os.chdir(old_cwd)
