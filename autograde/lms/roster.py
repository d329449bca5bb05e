"""The class list: an LMS's own roster or grade export (CSV) read into :class:`Person` rows and nbgrader's students.

Which columns each LMS writes (and reads back on import, see ``autograde.lms.export``):

- Brightspace Grades > Export (or the Classlist export): ``OrgDefinedId``, ``Username``, ``Last Name``,
  ``First Name``, ``Email``, the grade items, ``End-of-Line Indicator``; ids may start with ``#``, which
  "is not part of the data" (UW-Madison KB 4330, "Function of Pound Signs (#) in Grades File Records").
- Canvas Grades > Export: ``Student`` ("Last, First"), ``ID`` (the Canvas user id that submission file
  names carry), ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment; the second
  row may be "Points Possible" (Canvas Guides, "How do I export grades in the Gradebook?").
- Moodle Assignment > "Download grading worksheet": ``Identifier`` ("Participant 12345", the id its
  submission file names carry), ``Full name``, ``Email address``, ... (mod/assign/feedback/offline).

The nbgrader student id is the id the LMS imports grades by: OrgDefinedId (else Username), the Canvas
user id, the Moodle participant number; ``lms_user_id`` holds the same.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.api import Gradebook


class RosterError(ValueError):
    """A roster or groups file this LMS's reader cannot use; the message says what is wrong and what to do."""


@dataclass
class Person:
    """One student as the LMS knows them; ``sid`` is their nbgrader student id."""

    sid: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    username: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def keys(self) -> set[str]:
        """Every way a file name or a groups file may name this person, normalised (see ``name_key``)."""
        return {name_key(k) for k in (self.sid, self.full_name, self.username, self.email, self.sis_login_id,
                                      self.sis_user_id, f"{self.last_name}, {self.first_name}") if k.strip(" ,")}

    def as_dict(self) -> dict:
        return asdict(self)


def name_key(text: str) -> str:
    """A name or id compared loosely: NFC (so "Müller" written either way matches), case and spaces folded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip().casefold()


def read_rows(path: Path, required: set[str], what: str) -> list[dict[str, str]]:
    """The CSV's rows (UTF-8, with or without a byte-order mark); a clear error when a column is missing."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
            columns = {c.strip() for c in reader.fieldnames or []}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"cannot read {path} as a UTF-8 CSV file ({error}); save it from the LMS as CSV again") from None
    separator = next((s for s in ";\t|" if len(columns) == 1 and s in next(iter(columns))), None)
    if separator:  # one column holding every header: a spreadsheet saved it with another separator
        raise RosterError(f"{path} is separated by {separator!r}, not by commas, so its columns cannot be told apart; "
                          f"save it as comma-separated CSV (UTF-8), or export it from the LMS again")
    missing = {c for c in required if not any(c in col for col in columns)}
    if missing:
        raise RosterError(f"{path} is not {what}: it lacks the column(s) {sorted(missing)} (found {sorted(columns)}); "
                          f"export it from the LMS as described in `course collect --help`")
    return rows


def column(row: dict[str, str], name: str) -> str:
    """The value of the first column whose header contains ``name`` (Brightspace appends to some headers)."""
    return next((v for k, v in row.items() if name in k), "")


def brightspace(path: Path) -> list[Person]:
    rows = read_rows(path, {"OrgDefinedId", "Username", "Last Name", "First Name"}, "a Brightspace class list or grade export")
    people = []
    for row in rows:
        org, user = column(row, "OrgDefinedId").lstrip("#"), column(row, "Username").lstrip("#")
        if org or user:
            people.append(Person(org or user, column(row, "First Name"), column(row, "Last Name"), column(row, "Email"), user))
    return people


def canvas(path: Path) -> list[Person]:
    rows = read_rows(path, {"Student", "ID", "SIS User ID", "SIS Login ID"}, "a Canvas gradebook export")
    people = []
    for row in rows:
        if not row.get("ID", "").isdigit():
            continue  # the "Points Possible" row, blank lines
        last, _, first = row["Student"].partition(",")
        people.append(Person(row["ID"], first.strip(), last.strip(), "", row.get("SIS Login ID", ""),
                             row.get("SIS User ID", ""), row.get("SIS Login ID", ""), row.get("Section", "")))
    return people


def moodle(path: Path) -> list[Person]:
    rows = read_rows(path, {"Identifier", "Full name"}, "a Moodle grading worksheet")
    people = []
    for row in rows:
        number = re.sub(r"\D", "", row["Identifier"])
        if number:
            first, _, last = row["Full name"].partition(" ")
            people.append(Person(number, first, last, column(row, "Email address")))
    return people


READERS = {"brightspace": brightspace, "canvas": canvas, "moodle": moodle}


def read_roster(lms: str, path: Path) -> list[Person]:
    """The students in ``path``, an export of ``lms``."""
    people = READERS[lms](Path(path))
    if not people:
        raise RosterError(f"{path} lists no students; export the class list with its students from {lms}")
    return people


def save_students(db_url: str, course_id: str, people: list[Person]) -> None:
    """Put ``people`` into nbgrader's students table (id, names, email, lms_user_id), one transaction."""
    with Gradebook(db_url, course_id) as gb:
        for person in people:
            gb.update_or_create_student(person.sid, first_name=person.first_name or None,
                                        last_name=person.last_name or None, email=person.email or None,
                                        lms_user_id=person.sid)


def grade_item(lms: str, path: Path, assignment: str) -> str:
    """The roster's column for ``assignment`` as the LMS names it, to export into the same column: Canvas's
    ``mini (1234)`` (its assignment id makes the import update that assignment), Brightspace's ``<item>`` of
    ``<item> Points Grade``; "" when there is none."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    patterns = {"canvas": rf"({re.escape(assignment)} \(\d+\))", "brightspace": rf"({re.escape(assignment)}) Points Grade"}
    found = (re.match(patterns[lms], column.strip(), re.IGNORECASE) for column in header if lms in patterns)
    return next((match.group(1) for match in found if match), "")
