"""A made-up class as three LMSs hand it over: "download all submissions" exports, rosters and group files.

The same people in each LMS's own naming (see ``autograde/lms/filenames.py`` for where each naming is
documented): Anna Müller (a non-ASCII name, a PDF beside her notebook), Ben Late (late), Chloe Redo (handed
in twice), Dan Renamed (his notebook renamed), Eva and Finn (group 17, Eva hands in for both) and Gina
Absent (in the roster, handed in nothing). Notebooks come from the course's source and released versions.
"""
from __future__ import annotations

import csv
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.demo_class import partly_right, reference, untouched
from autograde.generate import generate
from tests.support.grading_course import ASSIGNMENT
from tests.support.paths import FIXTURES

PDF = b"%PDF-1.4\n% a made-up PDF of the notebook\n%%EOF\n"
WRITTEN_ID = "explain"  # a written answer graded by hand in the formgrader


@dataclass(frozen=True)
class Student:
    first: str
    last: str
    org_id: str  # Brightspace OrgDefinedId
    canvas_id: str
    moodle_id: str  # Moodle participant id

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def username(self) -> str:
        return f"{self.first}.{self.last}".lower()


ANNA, BEN, CHLOE, DAN = (Student("Anna", "Müller", "0100001", "5101", "7101"), Student("Ben", "Late", "0100002", "5102", "7102"),
                         Student("Chloe", "Redo", "0100003", "5103", "7103"), Student("Dan", "Renamed", "0100004", "5104", "7104"))
EVA, FINN, GINA = (Student("Eva", "Group", "0100005", "5105", "7105"), Student("Finn", "Group", "0100006", "5106", "7106"),
                   Student("Gina", "Absent", "0100007", "5107", "7107"))
CLASS = [ANNA, BEN, CHLOE, DAN, EVA, FINN, GINA]
GROUP = "Group 17"


def make_lms_course(folder: Path) -> Path:
    """The mini assignment plus one written answer (graded by hand), generated, in ``folder``."""
    course = Path(folder)
    (course / "source").mkdir(parents=True)
    shutil.copy(FIXTURES / "assignments" / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(FIXTURES / "assignments" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    path = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell("Because the mean is the sum over the count.")  # why divide by len?
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 1,
                                 "grade_id": WRITTEN_ID, "schema_version": 3}
    nb.cells.append(cell)
    nbformat.write(nb, path)
    generate(course, [ASSIGNMENT])
    return course


def notebooks(course: Path) -> dict[str, bytes]:
    """The kinds of notebook the class hands in, as file contents."""
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return {kind: nbformat.writes(make(source, release)).encode()
            for kind, make in (("reference", reference), ("untouched", untouched), ("partly", partly_right))}


def submissions(course: Path) -> list[tuple[Student, str, dict[str, bytes]]]:
    """(student, attempt time "Mon DD, YYYY HHMM AM", {file name: content}) for every attempt handed in."""
    nb = notebooks(course)
    return [
        (ANNA, "Dec 1, 2026 1005 AM", {"mini.ipynb": nb["reference"], "mini.pdf": PDF}),
        (BEN, "Dec 3, 2026 1130 PM", {"mini.ipynb": nb["partly"]}),
        (CHLOE, "Dec 1, 2026 905 AM", {"mini.ipynb": nb["untouched"]}),
        (CHLOE, "Dec 2, 2026 405 PM", {"mini.ipynb": nb["reference"]}),
        (DAN, "Dec 2, 2026 1200 PM", {"mini (2).ipynb": nb["reference"]}),
        (EVA, "Dec 2, 2026 1015 AM", {"mini.ipynb": nb["partly"], "group-report.pdf": PDF}),
    ]


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def email(student: Student) -> str:
    return f"{student.username}@example.edu"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def brightspace(course: Path, folder: Path) -> dict[str, Path]:
    """A Brightspace download (a zip of per-submission folders and index.html), its grade export, groups."""
    tree = folder / "bs-tree"
    for number, (student, when, files) in enumerate(submissions(course), 1):
        who = GROUP if student is EVA else student.full
        for name, data in files.items():
            path = tree / f"{40000 + number}-{60000 + number} - {who} - {when}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    (tree / "index.html").write_text("<html><body>Assignment mini: submissions</body></html>")
    roster = write_csv(folder / "bs-grades.csv",
                       ["OrgDefinedId", "Username", "Last Name", "First Name", "Email",
                        "mini Points Grade <Numeric MaxPoints:7>", "End-of-Line Indicator"],
                       [[f"#{s.org_id}", f"#{s.username}", s.last, s.first, email(s), "", "#"] for s in CLASS])
    groups = write_csv(folder / "bs-groups.csv", ["Username", "Group Name"], [[EVA.username, GROUP], [FINN.username, GROUP]])
    return {"export": zip_folder(tree, folder / "mini Download Dec 4, 2026 200 PM.zip"), "roster": roster, "groups": groups}


def canvas(course: Path, folder: Path) -> dict[str, Path]:
    """A Canvas "Download Submissions" zip (flat, latest attempt only), its gradebook export, its groups export."""
    tree = folder / "canvas-tree"
    tree.mkdir()
    names = {ANNA: "mülleranna", BEN: "lateben", CHLOE: "redochloe", DAN: "renameddan", EVA: "groupeva"}
    renamed = {CHLOE: "mini-1.ipynb", DAN: "mini (2).ipynb"}
    latest = {student: files for student, _, files in submissions(course)}
    for attachment, (student, files) in enumerate(latest.items(), 90001):
        late = "_LATE" if student is BEN else ""
        for name, data in files.items():
            name = renamed.get(student, name) if name.endswith(".ipynb") else name
            (tree / f"{names[student]}{late}_{student.canvas_id}_{attachment}_{name}").write_bytes(data)
    roster = write_csv(folder / "canvas-grades.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mini (1234)"],
                       [["    Points Possible", "", "", "", "", "7.00"]]
                       + [[f"{s.last}, {s.first}", s.canvas_id, s.org_id, s.username, "DL 2026", ""] for s in CLASS])
    groups = write_csv(folder / "canvas-groups.csv",
                       ["name", "canvas_user_id", "user_id", "login_id", "sections", "group_name", "canvas_group_id", "group_id"],
                       [[s.full, s.canvas_id, s.org_id, s.username, "DL 2026", GROUP, "88", ""] for s in (EVA, FINN)])
    return {"export": zip_folder(tree, folder / "dl-mini submissions.zip"), "roster": roster, "groups": groups}


def moodle(course: Path, folder: Path) -> dict[str, Path]:
    """A Moodle "Download all submissions" (folders), its grading worksheet, a two-column groups file (email,group)."""
    tree = folder / "moodle-tree"
    latest = {student: files for student, _, files in submissions(course)}
    for student, files in latest.items():
        prefix = f"{GROUP}_345" if student is EVA else f"{student.full}_{student.moodle_id}"
        for name, data in files.items():
            path = tree / f"{prefix}_assignsubmission_file" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    roster = write_csv(folder / "moodle-worksheet.csv",
                       ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                        "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"],
                       [[f"Participant {s.moodle_id}", s.full, email(s), "Submitted for grading", "", "7.00", "Yes", "-", "-", ""]
                        for s in CLASS])
    groups = folder / "moodle-groups.csv"
    groups.write_text(f"{email(EVA)},{GROUP}\n{email(FINN)},{GROUP}\n", encoding="utf-8")
    return {"export": zip_folder(tree, folder / "DL-mini-42.zip"), "roster": roster, "groups": groups}


EXPORTS = {"brightspace": brightspace, "canvas": canvas, "moodle": moodle}
