"""The demo's class as Brightspace hands it over: a "download all submissions" zip and a grade export (roster).

``course demo`` writes its made-up class into ``submitted/`` and then moves it into this made-up export, in
Brightspace's naming (``autograde.lms.filenames``), so that the demo starts where an instructor starts.
"""
from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

HANDED_IN = "Dec 1, 2026 1000 AM"  # every made-up submission's time, as Brightspace writes it


def display_name(student: str) -> tuple[str, str]:
    """("Student 01", "Reference") for "student-01-reference"."""
    _, number, kind = student.split("-", 2)
    return f"Student {number}", kind.replace("-", " ").title()


def brightspace_export(course: Path, assignment: str, students: list[str], out: Path) -> tuple[Path, Path]:
    """Move ``students``' folders of ``submitted/`` into a Brightspace download zip and write a roster; (zip, roster)."""
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{assignment} Download Dec 4, 2026 200 PM.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for number, student in enumerate(students, 1):
            folder = course / "submitted" / student / assignment
            first, last = display_name(student)
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    name = f"{40000 + number}-{60000 + number} - {first} {last} - {HANDED_IN}/{path.relative_to(folder)}"
                    zipped.write(path, name)
            shutil.rmtree(folder.parent)
        zipped.writestr("index.html", f"<html><body>{assignment}: submissions</body></html>")
    roster = out / "grades-export.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["OrgDefinedId", "Username", "Last Name", "First Name", "Email", "End-of-Line Indicator"])
        for student in students:
            first, last = display_name(student)
            writer.writerow(["", f"#{student}", last, first, f"{student}@example.edu", "#"])
    return archive, roster
