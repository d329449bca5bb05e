"""Feedback pages laid out for an LMS's bulk feedback upload (``course feedback ASSIGNMENT --lms L``).

- Canvas, "Upload Submissions" (feedback files for many students at once): a zip whose file names carry
  the user id between underscores, as its own download does; Canvas finds the student by that
  ``_<user id>_`` (``lib/content_zipper.rb``: "we use /_\\d+_/ to infer the user/attachment ids when
  teachers upload graded submissions").
- Moodle, "Upload multiple feedback files in a zip": ``Full Name_<participant id>_assignfeedback_file_<file>``;
  its importer splits the name at ``_`` into five parts and takes the participant id from the second
  (mod/assign/feedback/file/importziplib.php, ``is_valid_filename_for_import``).
- Brightspace has no bulk upload keyed by file name: one folder per student, ``<OrgDefinedId> - First Last``,
  to attach from the assignment's evaluation page.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from autograde.atomic import replace_folder
from autograde.course_dir import report_dir
from autograde.errors import CourseError
from autograde.lms.roster import Person
from autograde.lms.state import LmsState


def upload_name(lms: str, person: Person, page: str) -> str:
    """The page's name (a path for Brightspace) in the layout ``lms``'s bulk upload reads."""
    if lms == "canvas":
        sortable = re.sub(r"[^\w]|_", "", f"{person.last_name}{person.first_name}".lower()) or "student"
        return f"{sortable}_{person.sid}_feedback_{page}"
    if lms == "moodle":
        return f"{person.full_name.replace('_', ' ') or 'Participant'}_{person.sid}_assignfeedback_file_{page}"
    return f"{person.sid} - {person.full_name}/{page}".replace("\\", "-")


def write_upload(target: Path, state: LmsState, pages: list[Path]) -> Path:
    """``target`` holding every page under its upload name, and beside it a zip of it for Canvas and Moodle
    (outside ``feedback/``, where nbgrader takes every folder for a student's)."""

    def build(folder: Path) -> None:
        for page in pages:
            sid = page.parent.parent.name
            person = state.people.get(sid) or Person(sid)
            path = folder / upload_name(state.lms, person, page.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(page.read_bytes())
    replace_folder(target, build)
    if state.lms in ("canvas", "moodle"):
        archive = target.with_suffix(".zip")
        temporary = archive.with_name(f".{archive.name}.tmp")
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(target.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(target).as_posix())
        temporary.replace(archive)
    return target


def lms_feedback(root: Path, assignment: str, lms: str, pages: list[Path] | None) -> str:
    """Before the pages (``pages`` None): give group members their grade; after: lay the pages out for ``lms``."""
    from autograde.lms.groups import share_grades
    from autograde.lms.state import load_state

    state = load_state(root, assignment) or LmsState(lms)
    if state.lms != lms:
        raise CourseError(f"course feedback: {assignment} was collected from {state.lms}; use --lms {state.lms}")
    if pages is None:
        share_grades(root, assignment, state)
        return ""
    target = write_upload(report_dir(root, assignment) / f"{lms}-feedback", state, pages)
    zipped = f" and {target.with_suffix('.zip')}" if lms in ("canvas", "moodle") else ""
    return f"laid out for {lms}'s bulk feedback upload: {target}{zipped}"
