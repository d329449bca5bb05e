"""Group submissions: read the LMS's group export, and give every member the grade of the one graded submission.

A group's submission is collected once, under one member (the one who handed it in, else the first
member), and graded once by ``course grade``. ``share_grades`` then copies that student's gradebook rows
(scores, manual grades, comments, late penalty), graded notebooks and ``results.json`` records to the
other members, so each of them has the grade in the gradebook, ``course report``, ``course export`` and a
feedback page. It runs after ``course grade`` and again before export and feedback, so grades a TA gives
later in the formgrader reach every member. A member who handed in a submission of their own keeps it.

Groups file: Canvas's group export/import CSV (``canvas_user_id``/``login_id`` and ``group_name``; Canvas
Guides, "How do I import groups in a course?"), any CSV with a column whose header names the student (an
id, username, email or full name) and one that says "group", or two columns ``student,group``.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograde.atomic import replace_folder
from autograde.course_dir import course_directory, in_course
from autograde.grading.records import NotebookRecord, ResultsFile
from autograde.lms.roster import Person, RosterError, name_key
from autograde.lms.state import LmsState, load_state

GROUP_COLUMNS = ("group_name", "group name", "group", "groups")
MEMBER_COLUMNS = ("canvas_user_id", "orgdefinedid", "identifier", "username", "login_id", "user_id", "email", "email address", "student", "name", "full name")


def read_groups(path: Path) -> list[tuple[str, str]]:
    """(member as the file names them, group name) pairs from a groups file (see the module docstring)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"cannot read the groups file {path} ({error}); give a CSV file") from None
    if not rows or len(rows[0]) < 2:
        raise RosterError(f"{path} has no two columns (student, group); export the groups from the LMS as CSV")
    header = [h.casefold() for h in rows[0]]
    group_at = next((i for i, h in enumerate(header) if h in GROUP_COLUMNS), None)
    if group_at is None or not any(h in MEMBER_COLUMNS for h in header):  # no header: student,group
        return [(row[0], row[1]) for row in rows if len(row) > 1 and row[1]]
    member_at = next((header.index(c) for c in MEMBER_COLUMNS if c in header), 0 if group_at else 1)
    return [(row[member_at], row[group_at]) for row in rows[1:] if len(row) > max(member_at, group_at) and row[group_at]]


def resolve_groups(pairs: list[tuple[str, str]], people: dict[str, Person]) -> tuple[dict[str, list[str]], list[str]]:
    """Group name -> member ids (a member the roster does not know keeps the name given); notes on those."""
    by_key = {key: sid for sid, person in people.items() for key in person.keys()}
    groups: dict[str, list[str]] = {}
    notes = []
    for member, group in pairs:
        sid = by_key.get(name_key(member))
        if sid is None:
            sid = member
            if people:
                notes.append(f"groups file: {member!r} (group {group}) is not in the roster; kept under that id")
        groups.setdefault(group, [])
        if sid not in groups[group]:
            groups[group].append(sid)
    return {name: sorted(members) for name, members in groups.items()}, notes


def share_grades(root: Path, assignment: str, state: LmsState | None = None) -> list[str]:
    """Copy each group's graded submission to its other members (see the module docstring); what was done."""
    state = state or load_state(root, assignment)
    if state is None or not state.graded_as:
        return []
    coursedir = course_directory(root, assignment)
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    done = []
    with in_course(Path(root)), Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for member, source in sorted(state.graded_as.items()):
            if (submitted / member / assignment).is_dir():
                done.append(f"{member}: handed in a submission of their own; not given {source}'s group grade")
                continue
            try:
                copy_submission(gb, assignment, source, member)
            except MissingEntry:
                continue  # the group's submission is not graded yet
            copy_graded_folder(Path(coursedir.root) / coursedir.autograded_directory, assignment, source, member)
            copy_records(Path(root), assignment, source, member, state.group_of(member) or "")
            done.append(f"{member}: given the grade of {source}'s submission (group {state.group_of(member)})")
    return done


def copy_submission(gb: Gradebook, assignment: str, source: str, member: str) -> None:
    """``member``'s gradebook submission made equal to ``source``'s, in one commit."""
    original = gb.find_submission(assignment, source)
    gb.update_or_create_student(member)
    try:
        copy = gb.find_submission(assignment, member)
    except MissingEntry:
        copy = gb.add_submission(assignment, member)
    copy.timestamp = original.timestamp
    for notebook in original.notebooks:
        target = gb.find_submission_notebook(notebook.name, assignment, member)
        target.late_submission_penalty, target.flagged = notebook.late_submission_penalty, notebook.flagged
        for grade in notebook.grades:
            twin = gb.find_grade(grade.name, notebook.name, assignment, member)
            twin.auto_score, twin.manual_score = grade.auto_score, grade.manual_score
            twin.extra_credit, twin.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
        for comment in notebook.comments:
            twin = gb.find_comment(comment.name, notebook.name, assignment, member)
            twin.auto_comment, twin.manual_comment = comment.auto_comment, comment.manual_comment
    gb.db.commit()


def copy_graded_folder(autograded: Path, assignment: str, source: str, member: str) -> None:
    """``autograded/<member>/<assignment>/`` replaced by a copy of the source's (for feedback pages)."""
    original = autograded / source / assignment
    if original.is_dir():
        replace_folder(autograded / member / assignment,
                       lambda folder: shutil.copytree(original, folder, dirs_exist_ok=True))


def copy_records(root: Path, assignment: str, source: str, member: str, group: str) -> None:
    """The source's results.json records, for ``member``, saying whose submission was graded."""
    results = ResultsFile(root, assignment)
    records = [NotebookRecord(**{**record.__dict__, "student": member,
                                 "reason": f"group {group}: graded as {source}'s submission; {record.reason}".rstrip("; ")})
               for record in results.previous(source)]
    if records:
        results.save(member, records)
