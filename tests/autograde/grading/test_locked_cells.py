"""Submitted notebooks checked against the release: unreadable ones refused, tampered cells restored."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from autograde.grading.locked_cells import restore_locked_cells
from tests.support.paths import FIXTURES

RELEASE = nbformat.read(FIXTURES / "assignments" / "mini" / "mini.ipynb", as_version=4)


def by_id(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submit(edit) -> str:
    nb = copy.deepcopy(RELEASE)
    edit(nb)
    return nbformat.writes(nb)


@pytest.mark.parametrize("text, expected", [
    ('{"cells": [', "not valid JSON"),
    (json.dumps({"nbformat": 3, "worksheets": []}), "nbformat 3"),
    ("[1, 2]", "nbformat 'list'"),
])
def test_unreadable_notebooks_are_fatal_with_a_reason(text, expected):
    result = restore_locked_cells(text, RELEASE)
    assert result.notebook is None and expected in result.fatal


def test_an_honest_submission_has_no_notes():
    def answer(nb):
        by_id(nb, "square").source = "def square(x):\n    return x ** 2"
    result = restore_locked_cells(submit(answer), RELEASE)
    assert result.fatal == "" and result.notes == []
    assert by_id(result.notebook, "square").source == "def square(x):\n    return x ** 2"


def test_edited_locked_cell_is_restored():
    def edit(nb):
        by_id(nb, "test_square").source = "pass"
    result = restore_locked_cells(submit(edit), RELEASE)
    assert "locked cell 'test_square' was edited; restored from the release" in result.notes
    assert compute_checksum(by_id(result.notebook, "test_square")) == compute_checksum(by_id(RELEASE, "test_square"))


def test_forged_points_are_restored():
    def forge(nb):
        by_id(nb, "square").metadata.nbgrader["points"] = 100
        by_id(nb, "test_mean").metadata.nbgrader["points"] = 100
    result = restore_locked_cells(submit(forge), RELEASE)
    assert any("points of 'test_mean' changed to 100; restored to 3" in n for n in result.notes), result.notes
    assert by_id(result.notebook, "test_mean").metadata.nbgrader["points"] == 3
    assert by_id(result.notebook, "square").metadata.nbgrader.get("points") is None


def test_deleted_and_duplicated_cells_are_put_back_in_place():
    def mangle(nb):
        test = by_id(nb, "test_mean")
        nb.cells.remove(test)
        square_test = by_id(nb, "test_square")
        nb.cells.append(copy.deepcopy(square_test))
    result = restore_locked_cells(submit(mangle), RELEASE)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in result.notebook.cells]
    assert ids == [c.metadata.get("nbgrader", {}).get("grade_id") for c in RELEASE.cells]
    assert "locked cell 'test_mean' was missing; restored from the release" in result.notes
    assert "cell 'test_square' appeared twice; the copy was dropped" in result.notes


@pytest.mark.parametrize("text, fatal", [
    ("", "the notebook file is empty (0 bytes)"),
    (b"  \n", "the notebook file is empty (0 bytes)"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [1]}), "the notebook's structure is broken"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}),
     "the notebook's structure is broken"),
    (nbformat.writes(RELEASE).encode(), ""),  # bytes, as prepare reads the file
])
def test_what_can_be_read_as_a_notebook(text, fatal):
    result = restore_locked_cells(text, RELEASE)
    assert result.fatal[:len(fatal)] == fatal and (result.notebook is None) == bool(fatal)
    assert repr(result).startswith(f"Restored(fatal={result.fatal!r}")


def with_essay(nb):
    """``nb`` with a manually graded answer cell ("essay", 2 points) after the intro."""
    nb = copy.deepcopy(nb)
    essay = nbformat.v4.new_markdown_cell("Explain.", metadata={"nbgrader": {
        "grade": True, "solution": True, "locked": False, "points": 2, "grade_id": "essay", "schema_version": 3}})
    nb.cells.insert(1, essay)
    return nb


@pytest.mark.parametrize("owners, fatal", [
    ({}, "this file holds the cells of an unknown notebook, not of this notebook"),
    ({"cell:other-square": "week2/other"}, "this file holds the cells of week2/other, not of this notebook"),
])
def test_a_foreign_notebook_is_named_when_its_owner_is_known(owners, fatal):
    def rename(nb):
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                cell.metadata.nbgrader["grade_id"] = "other-" + cell.metadata.nbgrader["grade_id"]
    result = restore_locked_cells(submit(rename), RELEASE, owners=owners)
    assert result.notebook is None and result.fatal.startswith(fatal)


def test_a_deleted_answer_cell_scores_0_with_a_note():
    release = with_essay(RELEASE)
    result = restore_locked_cells(nbformat.writes(RELEASE), release, release)  # handed in without the essay
    assert result.notes == ["answer cell(s) essay missing: 0 points for them"]
    assert "essay" not in [c.metadata.get("nbgrader", {}).get("grade_id") for c in result.notebook.cells]
