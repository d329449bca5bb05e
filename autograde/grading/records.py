"""What ``course grade`` recorded for each notebook: ``reports/<assignment>/results.json`` and the run's summary."""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

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


def save_records(root: Path, assignment: str, student: str, records: list[NotebookRecord]) -> Path:
    """Replace ``student``'s records in results.json (written to a temporary name, then renamed)."""
    path = results_path(root, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else []
    kept = [r for r in old if r["student"] != student]
    merged = sorted(kept + [asdict(r) for r in records], key=lambda r: (r["student"], r["notebook"]))
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(merged, indent=1))
    os.replace(temporary, path)
    return path


def previous_records(root: Path, assignment: str, student: str) -> list[NotebookRecord]:
    """``student``'s recorded grades from an earlier run (not their empty or pending notes)."""
    path = results_path(root, assignment)
    old = json.loads(path.read_text()) if path.exists() else []
    return [record for record in (NotebookRecord(**r) for r in old if r["student"] == student)
            if record.status.recorded]


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
