"""The trusted first step: nbgrader's own sanitising of each submitted notebook, in the parent process.

For one submission this does what ``nbgrader autograde`` does before it executes anything: create the
student and submission in the gradebook, copy the instructor's extra files, and run the sanitising
preprocessors (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata, or
whatever ``c.Autograde.sanitize_preprocessors`` says). The result is a :class:`Job` per notebook,
plain data that ``autograde.grading.execute`` can run anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.writers import FilesWriter
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from nbgrader.utils import is_solution, parse_utc

from autograde.grading import bindings, locked_cells as validate_nb


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
    """A notebook that could not even be prepared (unreadable, tampered metadata...); it scores 0."""

    student: str
    assignment: str
    notebook: str
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.student, self.notebook)


class StagedAutograde(Autograde):
    """nbgrader's Autograde whose output for a student goes to the staging folder while it is graded."""

    staged: dict[tuple[str, str], str]

    def _format_dest(self, assignment_id: str, student_id: str, escape: bool = False) -> str:
        staged = getattr(self, "staged", {}).get((assignment_id, student_id))
        return staged if staged and not escape else super()._format_dest(assignment_id, student_id, escape)

    def graded_folder(self, assignment: str, student: str) -> Path:
        """``autograded/<student>/<assignment>``, where the finished grade lives."""
        return Path(super()._format_dest(assignment, student))


def make_autograder(coursedir: CourseDirectory, config: Config) -> StagedAutograde:
    """nbgrader's Autograde converter, set up to be driven one step at a time."""
    converter = StagedAutograde(coursedir=coursedir, config=config)
    converter.staged = {}
    converter.writer = FilesWriter(parent=converter, config=converter.config)
    converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
    return converter


class Unusable(Exception):
    """A submission folder with nothing to grade (empty, or only notebooks of other assignments)."""


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
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id:
                    owners.setdefault(f"cell:{grade_id}", owner)
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


def prepare_submission(converter: StagedAutograde, assignment: str, student: str, expected: list[str],
                       owners: dict[str, str]) -> Submission:
    """Sanitise one student's notebooks into jobs; raises :class:`Unusable` when there is nothing to grade.

    Runs nbgrader's ``init_assignment`` (gradebook rows, zeros for missing notebooks, the submission's
    and the instructor's other files into the student's staging folder) and its sanitising steps.
    """
    converter._sanitizing = True
    source = Path(converter._format_source(assignment, student))
    _check_timestamp(source)
    found = sorted(source.glob("*.ipynb"))
    known = [p for p in found if p.stem in expected]
    submission = Submission()
    for path in found:
        if path.stem not in expected:
            submission.ignored.append(Failure(student, assignment, path.stem, _extra_reason(path, assignment, expected, owners)))
    if not known:
        names = ", ".join(f"{n}.ipynb" for n in expected)
        what = "holds no notebook" if not found else f"holds only {', '.join(p.name for p in found)}"
        raise Unusable(f"{source} {what}; {assignment} expects {names}: put the student's notebook there "
                       f"under that name and run `course grade {assignment}` again (nothing was recorded)")
    converter.notebooks = [str(p) for p in known]
    converter.init_assignment(assignment, student)  # gradebook rows, extra files, zeros for missing notebooks
    converter._init_preprocessors()
    submission.missing = [n for n in expected if not (source / f"{n}.ipynb").exists()]
    files = _extra_files(Path(converter._format_dest(assignment, student)))
    release = Path(converter.coursedir.format_path(converter.coursedir.release_directory, ".", assignment))
    sources = Path(converter.coursedir.format_path(converter.coursedir.source_directory, ".", assignment))
    for path in known:
        notebook_id = path.stem
        try:
            # Refuse unreadable notebooks with a reason; put back locked cells and points from the release.
            release_file, source_file = release / path.name, sources / path.name
            instructor = nbformat.read(source_file, as_version=4) if source_file.exists() else None
            if release_file.exists():
                checked = validate_nb.check(path.read_bytes(), nbformat.read(release_file, as_version=4),
                                            instructor, owners)
                if checked.notebook is None:
                    submission.failures.append(Failure(student, assignment, notebook_id,
                                                       f"could not prepare the notebook: {checked.fatal}"))
                    continue
                notebook, notes = checked.notebook, checked.notes
            else:
                notebook, notes = nbformat.read(path, as_version=nbformat.NO_CONVERT), []
            if notebook.get("nbformat", 0) < 4:
                notebook = nbformat.convert(notebook, 4)
            resources = converter.init_single_notebook_resources(str(path))
            resources["metadata"] = {"name": notebook_id, "path": str(source)}
            output, resources = converter.exporter.from_notebook_node(notebook, resources=resources)
        except Exception as error:  # noqa: BLE001 - one bad notebook must not stop the class
            submission.failures.append(Failure(student, assignment, notebook_id, _describe(error)))
            continue
        answers = [c.source for c in (instructor.cells if instructor else []) if is_solution(c)]
        submission.jobs.append(Job(student, assignment, notebook_id, output, files, notes,
                                   frozenset().union(*map(bindings.bound_names, answers))))
    return submission


def _check_timestamp(folder: Path) -> None:
    """Refuse a submission whose ``timestamp.txt`` nbgrader cannot read (it would fail with an internal error)."""
    stamp = folder / "timestamp.txt"
    text = stamp.read_text(errors="replace").strip() if stamp.is_file() else ""
    try:
        parse_utc(text) if text else None
    except (ValueError, OverflowError):
        raise Unusable(f"{stamp} holds {text[:40]!r}, not a date nbgrader can read: write the hand-in time there as "
                       f"'2026-12-01 10:00:00.000000 UTC', or delete the file (nothing was recorded)") from None


def _extra_reason(path: Path, assignment: str, expected: list[str], owners: dict[str, str]) -> str:
    """Why an extra notebook in a submission is not graded, and what to do about it."""
    names = ", ".join(f"{n}.ipynb" for n in expected)
    owner = owners.get(path.stem)
    if owner and not owner.startswith(f"{assignment}/"):
        return (f"{path.name} is a notebook of assignment {owner.split('/')[0]}, not of {assignment}; it was not "
                f"graded (if it was handed in to the wrong assignment, move it to submitted/{path.parent.parent.name}/"
                f"{owner.split('/')[0]}/)")
    student = path.parent.parent.name
    return (f"{path.name} is not part of {assignment} (expected {names}); it was not graded. If it holds the "
            f"student's answers, put it in place of the expected file and run "
            f"`course grade {assignment} --force --student {student}`")


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"could not prepare the notebook: {type(error).__name__}: {lines[0] if lines else ''}"
