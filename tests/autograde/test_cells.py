"""What the graded-notebook summary says about cells with errors: wrong answers apart from code that could not run."""
from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

from autograde.cells import cell_name, error_output, errors_summary, first_error


def _cell(source: str, grade_id: str = "", test: bool = False, error: tuple[str, str] | None = None):
    meta = {"nbgrader": {"grade_id": grade_id, "grade": test, "solution": not test, "points": 1 if test else 0}} \
        if grade_id else {}
    return new_code_cell(source, metadata=meta, outputs=[error_output(*error)] if error else [])


NOTEBOOK = [
    new_markdown_cell("## 5.3 Backpropagation by hand"),
    _cell("x = 1 / 0", error=("ZeroDivisionError", "division by zero")),
    _cell("def square(x): ...", grade_id="square"),
    _cell("assert square(3) == 9, 'square(3)'", grade_id="test_square", test=True, error=("AssertionError", "square(3)")),
]


def test_cells_are_named_by_grade_id_else_by_the_heading_above():
    assert cell_name(NOTEBOOK, 3) == "test_square"
    assert cell_name(NOTEBOOK, 1) == 'In [1], under "5.3 Backpropagation by hand"'
    assert cell_name([_cell("pass")], 0) == "In [1]"


def test_summary_separates_what_could_not_run_from_wrong_answers():
    summary = errors_summary(NOTEBOOK)
    assert summary.startswith('could not run: 1 cell(s) raised; first: ZeroDivisionError: division by zero '
                              '(in In [1], under "5.3 Backpropagation by hand")')
    assert "wrong answer: 1 test(s) failed (test_square); first: AssertionError: square(3)" in summary
    assert errors_summary(NOTEBOOK[2:]) == "wrong answer: 1 test(s) failed (test_square); first: AssertionError: square(3)"
    assert errors_summary(NOTEBOOK[:1] + NOTEBOOK[2:3]) == ""


def test_a_syntax_error_names_its_line_not_ipythons_temporary_file():
    cell = _cell("def f(:", error=("SyntaxError", "invalid syntax (2536332178.py, line 1)"))
    assert str(first_error(cell)) == "SyntaxError: invalid syntax (line 1)"
