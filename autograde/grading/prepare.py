"""The trusted first step: nbgrader's own sanitising of each submitted notebook, in the parent process.

For one submission this does what ``nbgrader autograde`` does before it executes anything: create the
student and submission in the gradebook, copy the instructor's extra files, and run the sanitising
preprocessors (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata, or
whatever ``c.Autograde.sanitize_preprocessors`` says). Before that, ``locked_cells`` refuses unreadable
or foreign notebooks and puts back locked cells. The result is a :class:`Job` per notebook, plain data
that ``autograde.grading.execute`` can run anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc
from traitlets.config import Config

from autograde.cells import grade_id, is_solution
from autograde.grading import bindings
from autograde.grading.locked_cells import restore_locked_cells
from autograde.grading.nbgrader_adapter import NbgraderAutograde
from autograde.grading.status import Status


@dataclass
class Job:
    """One sanitised notebook of one student, ready to execute."""

    student: str
    assignment: str
    notebook: str  # notebook id (file name without .ipynb)
    notebook_json: str
    files: dict[str, bytes] = field(default_factory=dict)  # the submission's other files, by relative path
    notes: list[str] = field(default_factory=list)  # repairs made before execution (autograde.grading.locked_cells)
    answer_names: frozenset[str] = frozenset()  # what the instructor's answers define (autograde.grading.bindings)

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)

    def __repr__(self) -> str:
        return f"Job({self.student}/{self.assignment}/{self.notebook}, {len(self.files)} extra files)"


@dataclass
class Failure:
    """A notebook that could not even be prepared (unreadable, foreign...), or one left out; it scores 0."""

    student: str
    assignment: str
    notebook: str
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)


def make_autograder(coursedir: CourseDirectory, config: Config) -> NbgraderAutograde:
    """nbgrader's autograde steps for this course, to be run one at a time."""
    return NbgraderAutograde(coursedir, config)


@dataclass
class Reference:
    """The instructor's side of one assignment, read once per run: what every submission is checked against."""

    assignment: str
    expected: list[str]  # the notebooks the gradebook lists for the assignment
    release: dict[str, NotebookNode]  # the student version of each notebook, by name
    source: dict[str, NotebookNode]  # the instructor's version (hidden tests included), by name
    owners: dict[str, str] = field(default_factory=dict)  # see notebook_owners
    _answer_names: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Reference({self.assignment}, expected={self.expected})"

    @classmethod
    def load(cls, autograde: NbgraderAutograde, assignment: str, expected: list[str],
             owners: dict[str, str] | None = None) -> Reference:
        """Read the assignment's released and source notebooks (the ones that exist)."""
        def read(folder: Path) -> dict[str, NotebookNode]:
            return {name: nbformat.read(folder / f"{name}.ipynb", as_version=4)
                    for name in expected if (folder / f"{name}.ipynb").exists()}
        return cls(assignment, list(expected), read(autograde.release_folder(assignment)),
                   read(autograde.source_folder(assignment)), owners or {})

    def answer_names(self, notebook: str) -> frozenset[str]:
        """The names the instructor's answers in ``notebook`` define (tests may use them; see tamper);
        worked out once per notebook, not once per student."""
        if notebook not in self._answer_names:
            cells = self.source[notebook].cells if notebook in self.source else []
            self._answer_names[notebook] = frozenset().union(*(bindings.bound_names(c.source)
                                                               for c in cells if is_solution(c)))
        return self._answer_names[notebook]

    def imports(self) -> set[str]:
        """The top-level modules the instructor's notebooks import."""
        modules: set[str] = set()
        for nb in self.source.values():
            for cell in nb.cells:
                if cell.cell_type == "code":
                    found, stars = bindings.imports(cell.source)
                    modules.update(spec[1].split(".")[0] for spec in found.values())
                    modules.update(module.split(".")[0] for module in stars)
        return modules


class Unusable(Exception):
    """A submission folder with nothing to grade (``EMPTY``: no notebook of this assignment) or that nbgrader
    cannot read (``UNUSABLE``); nothing is recorded for it."""

    def __init__(self, reason: str, status: Status = Status.EMPTY):
        super().__init__(reason)
        self.status = status


@dataclass
class Submission:
    """One student's prepared submission: notebooks to run, notebooks that score 0, notebooks left out."""

    jobs: list[Job] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # could not be prepared: 0 with a reason
    missing: list[str] = field(default_factory=list)  # expected notebooks not handed in: 0 (as nbgrader does)
    ignored: list[Failure] = field(default_factory=list)  # extra notebooks, not graded, with what to do

    def __repr__(self) -> str:
        return (f"Submission({len(self.jobs)} jobs, {len(self.failures)} failures, missing={self.missing}, "
                f"ignored={[f.notebook for f in self.ignored]})")


def notebook_owners(coursedir: CourseDirectory) -> dict[str, str]:
    """Every source notebook of the course by file stem, and every grade id: -> 'assignment/notebook'."""
    owners: dict[str, str] = {}
    base = Path(coursedir.root) / coursedir.source_directory
    for path in sorted(base.glob("*/*.ipynb")):
        owner = f"{path.parent.name}/{path.stem}"
        owners.setdefault(path.stem, owner)
        try:
            for cell in nbformat.read(path, as_version=4).cells:
                if grade_id(cell):
                    owners.setdefault(f"cell:{grade_id(cell)}", owner)
        except Exception:  # noqa: BLE001 - an unreadable source is `course check`'s business, not grading's
            continue
    return owners


def _extra_files(folder: Path) -> dict[str, bytes]:
    """Every non-notebook file under ``folder`` (data files the notebooks may open)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def prepare_submission(autograde: NbgraderAutograde, reference: Reference, student: str) -> Submission:
    """Sanitise one student's notebooks into jobs; raises :class:`Unusable` when there is nothing to grade.

    Runs nbgrader's ``init_assignment`` (gradebook rows, zeros for missing notebooks, the submission's
    and the instructor's other files into the student's staging folder) and its sanitising steps.
    """
    assignment = reference.assignment
    folder = autograde.submitted_folder(assignment, student)
    _check_timestamp(folder)
    found = sorted(folder.glob("*.ipynb"))
    known = [path for path in found if path.stem in reference.expected]
    submission = Submission(ignored=[Failure(student, assignment, path.stem, _extra_reason(path, reference))
                                     for path in found if path.stem not in reference.expected])
    if not known:
        names = ", ".join(f"{n}.ipynb" for n in reference.expected)
        what = "holds no notebook" if not found else f"holds only {', '.join(p.name for p in found)}"
        raise Unusable(f"{folder} {what}; {assignment} expects {names}: put the student's notebook there "
                       f"under that name and run `course grade {assignment}` again (nothing was recorded)")
    autograde.begin_submission(assignment, student, known)
    submission.missing = [n for n in reference.expected if not (folder / f"{n}.ipynb").exists()]
    files = _extra_files(autograde.destination(assignment, student))
    for path in known:
        try:
            notebook, notes = _restored(path, reference)
            job = Job(student, assignment, path.stem, autograde.sanitize(notebook, path), files, notes,
                      reference.answer_names(path.stem))
        except _Refused as refused:
            submission.failures.append(Failure(student, assignment, path.stem, f"could not prepare the notebook: {refused}"))
        except Exception as error:  # noqa: BLE001 - one bad notebook must not stop the class
            submission.failures.append(Failure(student, assignment, path.stem, _describe(error)))
        else:
            submission.jobs.append(job)
    return submission


class _Refused(Exception):
    """A notebook that cannot be graded as handed in (its reason is for the instructor)."""


def _restored(path: Path, reference: Reference) -> tuple[NotebookNode, list[str]]:
    """The submitted notebook with locked cells and points put back from the release, and what was repaired."""
    release = reference.release.get(path.stem)
    if release is None:  # no released version to compare with: nbgrader's OverwriteCells alone
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        return (nbformat.convert(notebook, 4) if notebook.get("nbformat", 0) < 4 else notebook), []
    restored = restore_locked_cells(path.read_bytes(), release, reference.source.get(path.stem), reference.owners)
    if restored.notebook is None:
        raise _Refused(restored.fatal)
    return restored.notebook, restored.notes


def _check_timestamp(folder: Path) -> None:
    """Refuse a submission whose ``timestamp.txt`` nbgrader cannot read (it would fail with an internal error)."""
    stamp = folder / "timestamp.txt"
    text = stamp.read_text(errors="replace").strip() if stamp.is_file() else ""
    try:
        parse_utc(text) if text else None
    except (ValueError, OverflowError):
        raise Unusable(f"{stamp} holds {text[:40]!r}, not a date nbgrader can read: write the hand-in time there as "
                       f"'2026-12-01 10:00:00.000000 UTC', or delete the file (nothing was recorded)", Status.UNUSABLE) from None


def _extra_reason(path: Path, reference: Reference) -> str:
    """Why an extra notebook in a submission is not graded, and what to do about it."""
    assignment, student = reference.assignment, path.parent.parent.name
    owner = reference.owners.get(path.stem)
    if owner and not owner.startswith(f"{assignment}/"):
        return (f"{path.name} is a notebook of assignment {owner.split('/')[0]}, not of {assignment}; it was not "
                f"graded (if it was handed in to the wrong assignment, move it to submitted/{student}/"
                f"{owner.split('/')[0]}/)")
    names = ", ".join(f"{n}.ipynb" for n in reference.expected)
    return (f"{path.name} is not part of {assignment} (expected {names}); it was not graded. If it holds the "
            f"student's answers, put it in place of the expected file and run "
            f"`course grade {assignment} --force --student {student}`")


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"could not prepare the notebook: {type(error).__name__}: {lines[0] if lines else ''}"
