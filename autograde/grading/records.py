"""What ``course grade`` recorded for each notebook: ``reports/<assignment>/results.json`` and the run's summary.

Each student's records are written once, as they are final, to a file of their own in the journal
``reports/<assignment>/results.journal/`` (a temporary name, then a rename: a killed run leaves whole files
only). ``ResultsFile.compact`` folds the journal into ``results.json`` once at the end of a run (again a
rename; the journal files go only after it). A journal file always holds the student's latest records,
so readers (``read_records``) take ``results.json`` with the journal laid over it, which is correct at
every moment, also after a run that was killed. The work is linear in the class; rewriting results.json
per student was quadratic (``benchmarks/results_records.py``).
"""
from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograde.atomic import PARTIAL, write_text
from autograde.course_dir import report_dir
from autograde.grading.status import Status


@dataclass
class NotebookRecord:
    """How one student's notebook was graded, or why it was not (see ``Status``)."""

    student: str
    notebook: str
    status: Status
    reason: str
    duration: float = 0.0
    attempts: int = 1
    host: str = ""
    score: float = 0.0
    max_score: float = 0.0
    graded_at: float = 0.0  # when this run recorded it (seconds since the epoch); course report spots later regrades

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # read back from results.json as a plain string

    @property
    def label(self) -> str:
        return f"{self.student}/{self.notebook}" if self.notebook else self.student


def results_path(root: Path, assignment: str) -> Path:
    return report_dir(root, assignment) / "results.json"


def journal_folder(root: Path, assignment: str) -> Path:
    """``reports/<assignment>/results.journal/``: one ``<student>.json`` per student recorded since the last compaction."""
    return report_dir(root, assignment) / "results.journal"


def _journal(folder: Path) -> dict[str, tuple[Path, list[dict]]]:
    """The journal's students: student -> (their file, their records)."""
    found = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix == ".json":  # not a temporary .partial file of a write that was killed
                entry = json.loads(path.read_text())
                found[entry["student"]] = (path, entry["records"])
    return found


def _by_student(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["student"], []).append(row)
    return grouped


def _flatten(students: dict[str, list[dict]]) -> list[dict]:
    return sorted((row for rows in students.values() for row in rows), key=lambda r: (r["student"], r["notebook"]))


def read_records(root: Path, assignment: str) -> list[dict]:
    """Every recorded notebook of ``assignment``, sorted by student and notebook: results.json with the
    journal of a run that is still going, or was killed, laid over it."""
    path = results_path(root, assignment)
    students = _by_student(json.loads(path.read_text()) if path.exists() else [])
    students.update({student: rows for student, (_, rows) in _journal(journal_folder(root, assignment)).items()})
    return _flatten(students)


class ResultsFile:
    """``results.json`` of one assignment and its journal, for one run of ``course grade``."""

    def __init__(self, root: Path, assignment: str):
        self.path = results_path(root, assignment)
        self.journal = journal_folder(root, assignment)
        self._compacted: dict[str, list[dict]] | None = None  # results.json by student, read once when needed

    def __repr__(self) -> str:
        return f"ResultsFile({str(self.path)!r})"

    def save(self, student: str, records: list[NotebookRecord]) -> None:
        """Replace ``student``'s records: their journal file, written whole."""
        self.journal.mkdir(parents=True, exist_ok=True)
        entry = {"student": student, "records": [asdict(r) for r in records]}
        write_text(self.journal / f"{student}.json", json.dumps(entry, indent=1))

    def previous(self, student: str) -> list[NotebookRecord]:
        """``student``'s recorded grades from an earlier run (not their empty or pending notes)."""
        path = self.journal / f"{student}.json"
        if path.exists():
            rows = json.loads(path.read_text())["records"]
        else:
            if self._compacted is None:
                self._compacted = _by_student(json.loads(self.path.read_text()) if self.path.exists() else [])
            rows = self._compacted.get(student, [])
        return [record for record in (NotebookRecord(**row) for row in rows) if record.status.recorded]

    def compact(self) -> Path:
        """Fold the journal into results.json (one rename), then remove the journal files it holds."""
        journal = _journal(self.journal)
        if not journal:
            return self.path
        students = _by_student(json.loads(self.path.read_text()) if self.path.exists() else [])
        students.update({student: rows for student, (_, rows) in journal.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text(self.path, json.dumps(_flatten(students), indent=1))
        self._compacted = students
        for path in [path for path, _ in journal.values()] + list(self.journal.glob(f"*{PARTIAL}")):
            path.unlink()  # the folded files, and what writes killed half-way left (never read)
        with contextlib.suppress(OSError):
            self.journal.rmdir()
        return self.path


@dataclass
class GradeSummary:
    """What one ``course grade`` run did."""

    assignment: str
    records: list[NotebookRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # students already graded (re-run without --force)
    seconds: float = 0.0
    workers: str = ""

    @property
    def attention(self) -> list[NotebookRecord]:
        """Records the instructor must act on: extra notebooks, empty folders, grades not recorded."""
        return [r for r in self.records if r.status.needs_attention]

    def line(self) -> str:
        graded = [r for r in self.records if r.status.graded]
        counts = Counter(str(r.status) for r in graded)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing graded"
        students = {r.student for r in graded}
        score = (sum(r.score for r in graded) / len(students)) if students else 0.0
        best = max((sum(r.max_score for r in graded if r.student == s) for s in students), default=0.0)
        skipped = f", {len(self.skipped)} already graded (use --force to regrade)" if self.skipped else ""
        attention = f"; {len(self.attention)} need(s) attention (listed above)" if self.attention else ""
        mean = f"; mean score {score:.2f}/{best:g}" if students else ""
        return (f"graded {len(students)} submission(s) of {self.assignment} ({len(graded)} notebooks) in "
                f"{self.seconds:.1f} s on {self.workers}: {statuses}{mean}{skipped}{attention}")

    def __repr__(self) -> str:
        return f"GradeSummary({self.line()!r})"
