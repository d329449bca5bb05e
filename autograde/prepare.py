"""The trusted first step: nbgrader's own sanitising of each submitted notebook, in the parent process.

For one submission this does what ``nbgrader autograde`` does before it executes anything: create the
student and submission in the gradebook, copy the instructor's extra files, and run the sanitising
preprocessors (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata, or
whatever ``c.Autograde.sanitize_preprocessors`` says). The result is a :class:`Job` per notebook,
plain data that ``autograde.execute`` can run anywhere.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.writers import FilesWriter
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import validate_nb


@dataclass
class Job:
    """One sanitised notebook of one student, ready to execute."""

    student: str
    assignment: str
    notebook: str  # notebook id (file name without .ipynb)
    notebook_json: str
    files: dict[str, bytes] = field(default_factory=dict)  # the submission's other files, by relative path
    notes: list[str] = field(default_factory=list)  # repairs made before execution (autograde.validate_nb)

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


def make_autograder(coursedir: CourseDirectory, config: Config, force: bool = False) -> Autograde:
    """nbgrader's Autograde converter, set up to be driven one step at a time."""
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = force
    converter.writer = FilesWriter(parent=converter, config=converter.config)
    converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
    return converter


def _extra_files(folder: Path) -> dict[str, bytes]:
    """Every non-notebook file under ``folder`` (data files the notebooks may open)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def prepare_submission(converter: Autograde, assignment: str, student: str) -> tuple[list[Job], list[Failure]] | None:
    """Jobs and failures for one submission, or None when nbgrader would skip it (already graded, not --force)."""
    converter._sanitizing = True
    source = Path(converter._format_source(assignment, student))
    converter.notebooks = sorted(glob.glob(os.path.join(source, "*.ipynb")))
    if not converter.init_destination(assignment, student):
        return None
    converter.init_assignment(assignment, student)  # gradebook rows, extra files, zeros for missing notebooks
    converter._init_preprocessors()
    destination = Path(converter._format_dest(assignment, student))
    destination.mkdir(parents=True, exist_ok=True)
    files = _extra_files(destination)
    jobs, failures = [], []
    for filename in converter.notebooks:
        notebook_id = Path(filename).stem
        try:
            # Refuse unreadable notebooks with a reason; put back locked cells and points from the release.
            release = Path(converter.coursedir.format_path(converter.coursedir.release_directory, ".", assignment))
            release_file = release / f"{notebook_id}.ipynb"
            source_file = Path(converter.coursedir.format_path(converter.coursedir.source_directory, ".", assignment),
                               f"{notebook_id}.ipynb")
            if release_file.exists():
                instructor = nbformat.read(source_file, as_version=4) if source_file.exists() else None
                checked = validate_nb.check(Path(filename).read_bytes(), nbformat.read(release_file, as_version=4),
                                            instructor)
                if checked.notebook is None:
                    failures.append(Failure(student, assignment, notebook_id, f"could not prepare the notebook: {checked.fatal}"))
                    continue
                notebook, notes = checked.notebook, checked.notes
            else:
                notebook, notes = nbformat.read(filename, as_version=nbformat.NO_CONVERT), []
            if notebook.get("nbformat", 0) < 4:
                notebook = nbformat.convert(notebook, 4)
            resources = converter.init_single_notebook_resources(filename)
            resources["metadata"] = {"name": notebook_id, "path": str(source)}
            output, resources = converter.exporter.from_notebook_node(notebook, resources=resources)
            converter.write_single_notebook(output, resources)
        except Exception as error:  # noqa: BLE001 - one bad notebook must not stop the class
            failures.append(Failure(student, assignment, notebook_id, _describe(error)))
            continue
        jobs.append(Job(student, assignment, notebook_id, output, files, notes))
    return jobs, failures


def _describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"could not prepare the notebook: {type(error).__name__}: {lines[0] if lines else ''}"
