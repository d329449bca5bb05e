"""Restore a submitted notebook's locked cells and points from the released one, before anything runs.

The trusted side.

Unreadable JSON or a foreign nbformat is fatal (the notebook scores 0 with the reason). Locked cells
that were edited, deleted or duplicated, and points forged in metadata, are put back as the release
says; each repair becomes a note in the grade report. (nbgrader's OverwriteCells restores sources and
points of the cells it finds; this step adds the cells it cannot find and says what happened.)
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import is_grade, is_locked, is_solution

from autograde.cells import grade_id as cell_grade_id


@dataclass
class Restored:
    """The outcome for one notebook: ``fatal`` (why it scores 0) or a notebook to grade plus notes."""

    notebook: NotebookNode | None
    fatal: str = ""
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Restored(fatal={self.fatal!r}, notes={self.notes})"


def _grade_id(cell: NotebookNode) -> str | None:
    return cell_grade_id(cell) or None


def parse(text: str | bytes) -> tuple[NotebookNode | None, str]:
    """The notebook in ``text`` or (None, a reason a person can act on)."""
    if not text.strip():
        return None, ("the notebook file is empty (0 bytes): it was probably saved while being copied or uploaded; "
                      "ask the student for the .ipynb file again")
    try:
        raw = json.loads(text)
    except ValueError as error:
        return None, f"the notebook file is not valid JSON ({error}); open it in Jupyter and save it again"
    if not isinstance(raw, dict) or raw.get("nbformat") != 4 or not isinstance(raw.get("cells"), list):
        found = raw.get("nbformat") if isinstance(raw, dict) else type(raw).__name__
        return None, f"not an nbformat 4 notebook (nbformat {found!r}); submit the .ipynb saved by Jupyter"
    try:
        return nbformat.reads(json.dumps(raw), as_version=4), ""  # joins multi-line sources as nbformat does
    except Exception as error:  # noqa: BLE001 - any malformed structure is the same answer for the student
        return None, f"the notebook's structure is broken ({error})"


def _flags(cell: NotebookNode) -> tuple:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type, bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("locked"))


def _untouched(cell: NotebookNode, originals: list[NotebookNode | None]) -> bool:
    """Whether ``cell`` equals one of ``originals`` but for whitespace (editors strip and re-indent blank lines)."""
    words = cell.source.split()
    return any(o is not None and _flags(o) == _flags(cell) and o.source.split() == words for o in originals)


def _other_notebook(nb: NotebookNode, reference: dict, owners: dict[str, str]) -> str:
    """The 'assignment/notebook' whose graded cells ``nb`` holds when it shares none with its release, else ''."""
    graded = [c for c in nb.cells if is_grade(c) or is_solution(c)]
    ids = [g for g in map(_grade_id, graded) if g]  # setup and text cells may share names across notebooks
    if not ids or any(g in reference for g in ids):
        return ""
    found = {owners[f"cell:{g}"] for g in ids if f"cell:{g}" in owners}
    return ", ".join(sorted(found)) or "an unknown notebook"


def restore_locked_cells(text: str | bytes, release: NotebookNode, source: NotebookNode | None = None,
                         owners: dict[str, str] | None = None) -> Restored:
    """Compare a submission with its released notebook; restore locked cells and points.

    ``source`` (the instructor's version, hidden tests included) is what a restored cell gets, as
    nbgrader's OverwriteCells would do; a locked cell equal to either version, but for whitespace,
    counts as untouched. ``owners`` (grade id -> notebook, from ``prepare.notebook_owners``) names
    the notebook a foreign submission belongs to.
    """
    nb, why = parse(text)
    if nb is None:
        return Restored(None, why)
    foreign = _other_notebook(nb, {_grade_id(c) for c in release.cells if _grade_id(c)}, owners or {})
    if foreign:
        return Restored(None, f"this file holds the cells of {foreign}, not of this notebook: the student handed in "
                              f"the wrong notebook under this name; ask for the right one (0 points until then)")
    repair = _Repair({_grade_id(c): c for c in release.cells if _grade_id(c)},
                     {_grade_id(c): c for c in (source.cells if source else []) if _grade_id(c)})
    cells = [restored for cell in nb.cells if (restored := repair.kept(cell)) is not None]
    repair.put_back_deleted(cells, [_grade_id(c) for c in release.cells if _grade_id(c)])
    nb.cells = cells
    return Restored(nb, "", repair.notes)


class _Repair:
    """Walks a submission's cells against the release (``reference``) and the instructor's ``source``."""

    def __init__(self, reference: dict[str, NotebookNode], instructor: dict[str, NotebookNode]):
        self.reference, self.instructor = reference, instructor
        self.seen: set[str] = set()
        self.notes: list[str] = []

    def __repr__(self) -> str:
        return f"_Repair({len(self.seen)} cells seen, notes={self.notes})"

    def original(self, grade_id: str) -> NotebookNode:
        """What a restored cell gets: the instructor's version, else the release's, without outputs."""
        restored = copy.deepcopy(self.instructor.get(grade_id, self.reference[grade_id]))
        if restored.cell_type == "code":
            restored.outputs, restored.execution_count = [], None
        return restored

    def kept(self, cell: NotebookNode) -> NotebookNode | None:
        """The cell to grade in place of ``cell`` (points and locked source restored), None to drop it."""
        grade_id = _grade_id(cell)
        if grade_id in self.seen and grade_id in self.reference:
            self.notes.append(f"cell '{grade_id}' appeared twice; the copy was dropped")
            return None
        if grade_id:
            self.seen.add(grade_id)
        if grade_id not in self.reference:
            return cell
        original = self.reference[grade_id]
        points = cell.metadata.get("nbgrader", {}).get("points")
        expected = original.metadata.get("nbgrader", {}).get("points")
        if points != expected:
            self.notes.append(f"points of '{grade_id}' changed to {points!r}; restored to {expected!r}")
            if expected is None:
                cell.metadata.nbgrader.pop("points", None)
            else:
                cell.metadata.nbgrader["points"] = expected
        if is_locked(original) and not _untouched(cell, [original, self.instructor.get(grade_id)]):
            self.notes.append(f"locked cell '{grade_id}' was edited; restored from the release")
            return self.original(grade_id)
        return cell

    def put_back_deleted(self, cells: list[NotebookNode], order: list[str]) -> None:
        """Insert locked cells that were deleted after the reference cell that preceded them; note missing answers."""
        for position, grade_id in enumerate(order):
            if grade_id in self.seen or grade_id not in self.reference or not is_locked(self.reference[grade_id]):
                continue
            before = next((g for g in reversed(order[:position]) if g in self.seen), None)
            index = next((i + 1 for i, c in enumerate(cells) if before and _grade_id(c) == before),
                         len(cells) if before else 0)
            cells.insert(index, self.original(grade_id))
            self.seen.add(grade_id)
            self.notes.append(f"locked cell '{grade_id}' was missing; restored from the release")
        missing = [g for g in order if g not in self.seen and is_grade(self.reference[g])]
        if missing:
            self.notes.append(f"answer cell(s) {', '.join(missing)} missing: 0 points for them")
