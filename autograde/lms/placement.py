"""Where each handed-in file goes: whose submission it is, which attempt is kept, under which name.

The rules: a file belongs to the student (or group) its name names; of a student's attempts the newest is
kept and the others are noted; a notebook keeps its name when it is one of the assignment's, is taken as
the assignment's notebook whose grade ids its cells carry (with a note) when renamed, and otherwise goes
to ``not-graded/`` in the folder (listed, never dropped); every other file (the PDF) lies beside the
notebooks, where nbgrader copies it along but never grades it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograde.lms.filenames import Handed
from autograde.lms.notebooks import which_notebook
from autograde.lms.roster import Person, name_key
from autograde.lms.state import LmsState

NOT_GRADED = "not-graded"  # the folder, inside a submission, for notebooks that are none of the assignment's


@dataclass
class Planned:
    """One student's submission folder as it will be written: files (destination -> source) and notes."""

    sid: str
    files: dict[str, Path] = field(default_factory=dict)
    when: datetime | None = None
    late: bool = False
    group: str | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Planned({self.sid}, {sorted(self.files)}, when={self.when}, group={self.group})"


def slug(name: str) -> str:
    """A student id made from a name when the LMS gives none ("Anna Müller" -> "anna-muller")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "unnamed"


def owner(handed: Handed, state: LmsState) -> tuple[str, str | None]:
    """(student id, group name or None) for a file: the person or group its name names."""
    groups = {name_key(g): g for g in state.groups}
    for text in (handed.name, handed.key):  # a Brightspace or Moodle group submission names the group
        if name_key(text) in groups:
            group = groups[name_key(text)]
            return state.groups[group][0], group
    by_key = {key: sid for sid, person in state.people.items() for key in person.keys()}
    sid = by_key.get(name_key(handed.key)) or (slug(handed.key) if state.lms == "brightspace" else handed.key)
    return sid, state.group_of(sid)


def person_from_name(sid: str, name: str, lms: str) -> Person:
    """A student the roster does not list, named as the file name spells it."""
    if lms == "canvas":  # "mülleranna": the sortable name with its comma and spaces gone, not splittable
        return Person(sid, "", name)
    first, _, last = name.partition(" ")
    return Person(sid, first, last)


def newest(attempts: list[Handed]) -> tuple[datetime | None, list[Handed], list[str]]:
    """The newest attempt's files (files without a time form one attempt) and notes on the older ones."""
    by_time: dict[datetime | None, list[Handed]] = {}
    for handed in attempts:
        by_time.setdefault(handed.when, []).append(handed)
    times = sorted(by_time, key=lambda t: (t is not None, t or datetime.min))
    kept = times[-1]
    notes = [f"handed in again: kept the newest ({kept:%Y-%m-%d %H:%M}); not used: the one of {t:%Y-%m-%d %H:%M} "
             f"({', '.join(h.file_name for h in by_time[t])}), still in the export" for t in times[:-1]
             if t is not None and kept is not None]
    return kept, by_time[kept], notes


def plan(sid: str, attempts: list[Handed], expected: dict[str, set[str]]) -> Planned:
    """The folder ``submitted/<sid>/<assignment>/`` for one student's handed-in files (see the module docstring)."""
    when, files, notes = newest(attempts)
    planned = Planned(sid, when=when, late=any(h.late for h in files), notes=notes)
    notebooks = sorted((h for h in files if h.file_name.endswith(".ipynb")),
                       key=lambda h: (Path(h.file_name).stem not in expected, h.file_name))
    for handed in notebooks:
        name = which_notebook(handed.path, expected)
        if name is not None and f"{name}.ipynb" not in planned.files:
            planned.files[f"{name}.ipynb"] = handed.path
            if Path(handed.file_name).name != f"{name}.ipynb":
                planned.notes.append(f"{handed.file_name} taken as {name}.ipynb (its cells carry {name}'s grade ids)")
        else:
            planned.files[f"{NOT_GRADED}/{Path(handed.file_name).name}"] = handed.path
            why = "a second copy of " + name if name else "none of the assignment's notebooks (no grade id of theirs)"
            planned.notes.append(f"{handed.file_name} is {why}: kept in {NOT_GRADED}/, not graded; if it is the one "
                                 f"to grade, move it up as {sorted(expected)[0]}.ipynb and run `course grade` again")
    for handed in files:
        if not handed.file_name.endswith(".ipynb"):
            planned.files.setdefault(handed.file_name, handed.path)
    if planned.late:
        planned.notes.append("marked LATE by the LMS; its file names carry no time, so nbgrader computes no late "
                             "penalty: apply the LMS's late policy there")
    return planned
