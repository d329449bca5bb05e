"""What ``course collect`` learnt from the LMS, kept for the commands after it: ``reports/<assignment>/lms.json``.

It holds the LMS, the people (roster and submitters, see ``autograde.lms.roster.Person``), the groups and
who each member's grade comes from, each placed submission's time, late mark and notes, and what could
not be placed. ``course export``, ``course report`` and ``course feedback --lms`` read it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from autograde.atomic import write_text
from autograde.course_dir import report_dir
from autograde.lms.roster import Person


@dataclass
class LmsState:
    """The LMS side of one assignment (see the module docstring)."""

    lms: str
    people: dict[str, Person] = field(default_factory=dict)  # nbgrader student id -> person
    roster: list[str] = field(default_factory=list)  # ids the roster listed (they owe a submission)
    groups: dict[str, list[str]] = field(default_factory=dict)  # group name -> member ids
    graded_as: dict[str, str] = field(default_factory=dict)  # member id -> id whose submission is graded for them
    submissions: dict[str, dict] = field(default_factory=dict)  # id -> {"when", "late", "files", "notes"}
    unplaced: list[dict] = field(default_factory=list)  # {"file", "why", "todo"}
    item: str = ""  # the LMS's name of the grade column, from the roster (see roster.grade_item)

    def __repr__(self) -> str:
        return (f"LmsState({self.lms}, {len(self.people)} people, {len(self.groups)} groups, "
                f"{len(self.submissions)} submissions, {len(self.unplaced)} unplaced)")

    def group_of(self, sid: str) -> str | None:
        return next((name for name, members in self.groups.items() if sid in members), None)

    def missing(self, graded: set[str]) -> list[str]:
        """Roster students with nothing handed in: no submission of their own and none through their group."""
        covered = set(self.submissions) | set(self.graded_as) | graded
        return sorted(sid for sid in self.roster if sid not in covered)


def state_path(root: Path, assignment: str) -> Path:
    return report_dir(root, assignment) / "lms.json"


def load_state(root: Path, assignment: str) -> LmsState | None:
    """The assignment's LMS state, or None when ``course collect`` never ran for it."""
    path = state_path(root, assignment)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    data["people"] = {sid: Person(**person) for sid, person in data["people"].items()}
    return LmsState(**data)


def save_state(root: Path, assignment: str, state: LmsState) -> Path:
    data = {**state.__dict__, "people": {sid: p.as_dict() for sid, p in sorted(state.people.items())}}
    return write_text(state_path(root, assignment), json.dumps(data, indent=1, ensure_ascii=False, default=str))
