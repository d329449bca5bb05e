"""The estimated student time: what counts (prose, given code, points), what does not (model answers,
rubrics, tests), the warning ``course check`` prints, and the bound every bundled chapter keeps."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograde.check import student_time
from autograde.check.student_time import LONGEST_MINUTES, estimate, time_warnings
from tests.support.paths import REPO


def _graded(cell, points: float, solution: bool):
    cell.metadata["nbgrader"] = {"grade": True, "solution": solution, "locked": not solution, "points": points,
                                 "grade_id": f"c{id(cell)}", "schema_version": 3}
    return cell


def _notebook(prose_words: int, given_lines: int, code_points: float, written_points: float):
    answer = new_code_cell("def f():\n" + "    pass\n" * 50)
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "grade_id": "a",
                                   "schema_version": 3}
    return new_notebook(cells=[
        new_markdown_cell(" ".join(["word"] * prose_words)),
        new_code_cell("\n\n".join(["x = 1"] * given_lines)),  # blank lines are not read
        answer,  # written by the student: counted through its tests' points, not its lines
        _graded(new_code_cell("assert f() is None\n" * 30), code_points, solution=False),
        _graded(new_markdown_cell("Rubric: " + " ".join(["model"] * 500)), written_points, solution=True),
    ])


def test_each_part_follows_the_model():
    found = estimate(_notebook(prose_words=800, given_lines=20, code_points=3, written_points=2))
    assert found.prose == pytest.approx(800 / student_time.WORDS_PER_MINUTE)
    assert found.given_code == pytest.approx(20 / student_time.CODE_LINES_PER_MINUTE)
    assert found.tasks == pytest.approx(3 * student_time.MINUTES_PER_TASK_POINT)
    assert found.written == pytest.approx(2 * student_time.MINUTES_PER_WRITTEN_POINT)
    assert found.minutes == pytest.approx(found.prose + found.given_code + found.tasks + found.written)


def test_a_long_notebook_gets_one_warning_with_its_parts():
    assert time_warnings(_notebook(800, 20, 3, 2)) == []
    (warning,) = time_warnings(_notebook(800, 20, 30, 2))
    assert f"over {LONGEST_MINUTES} min" in warning and "tasks 210" in warning and "split" in warning


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_no_chapter_is_longer_than_about_two_and_a_half_hours(path):
    assert time_warnings(nbformat.read(path, as_version=4)) == []
