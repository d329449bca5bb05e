"""The feedback steps on in-memory cells: which failures keep their message, and what the page says of pending grades."""
from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from autograde.cells import TIMED_OUT
from autograde.feedback import (
    FAILED_NOTE,
    CourseFeedbackExporter,
    ExplainTimeouts,
    HideHiddenTests,
    failed_line,
    feedback_config,
    visible_lines,
)

SOURCE = ("assert double(2) == 4, 'double(2) should be 4'\n### BEGIN HIDDEN TESTS\nprint('hidden')\n"
          "assert double(-1) == -2, 'secret'\n### END HIDDEN TESTS\nassert double(0) == 0, 'zero'")


def _error(line: int, evalue: str) -> nbformat.NotebookNode:
    """An error output as IPython 8 writes it (ANSI colours included), raised on ``line`` of the test cell."""
    frame = f"\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[5]\x1b[39m\x1b[32m, line {line}\x1b[39m\n  source"
    return new_output("error", ename="AssertionError", evalue=evalue,
                      traceback=["\x1b[31m-----\x1b[39m", frame, f"\x1b[31mAssertionError\x1b[39m: {evalue}"])


def _test_cell(error) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"grade": True, "grade_id": "test_double", "points": 2, "solution": False, "locked": True}}
    return new_code_cell(SOURCE, metadata=meta, outputs=[new_output("stream", name="stdout", text="hidden\n"), error])


def test_visible_lines_leave_out_hidden_regions_and_delimiters():
    assert visible_lines(SOURCE, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS") == {1, 6}


def test_failed_line_reads_the_test_cells_own_frame():
    assert failed_line(_error(4, "x")) == 4
    assert failed_line(new_output("error", ename="E", evalue="", traceback=["no frame"])) is None


def _shown(line: int, evalue: str) -> str:
    cell, _ = HideHiddenTests().preprocess_cell(_test_cell(_error(line, evalue)), {}, 0)
    assert "secret" not in cell.source and "print('hidden')" not in cell.source
    return json.dumps(cell.outputs)


def test_a_visible_failure_keeps_its_message_a_hidden_one_does_not():
    assert "double(2) should be 4" in _shown(1, "double(2) should be 4")
    assert "zero" in _shown(6, "zero")  # a visible test after the hidden region
    hidden = _shown(4, "secret")
    assert "secret" not in hidden and FAILED_NOTE in hidden and "hidden\\n" not in hidden


def test_page_says_awaiting_a_grader_and_loads_no_mathjax_from_a_cdn():
    written = {"nbgrader": {"grade": True, "solution": True, "grade_id": "why", "points": 1, "score": 0,
                            "pending": True}}
    nb = new_notebook(cells=[new_markdown_cell("$$Z = X W_1 + b_1$$"), new_markdown_cell("answer", metadata=written)])
    resources = {"nbgrader": {"notebook": "nb", "score": 2.0, "max_score": 3.0, "graded_max": 2.0,
                              "pending_points": 1.0, "late_penalty": 0}, "course_mathjax": "file:///x/MathJax.js"}
    html, _ = CourseFeedbackExporter(config=feedback_config(Config())).from_notebook_node(nb, resources=resources)
    assert "Score: 2.0 of 2.0 points graded so far" in html and "1.0 points awaiting a grader" in html
    assert "awaiting a grader</span> / 1.0" in html and "Score: 0.0" not in html
    assert "cdnjs" not in html and 'data-course-mathjax="file:///x/MathJax.js"' in html


def test_a_cell_stopped_at_the_time_limit_says_so_in_words():
    interrupted = new_output("error", ename="KeyboardInterrupt", evalue="", traceback=["KeyboardInterrupt: "])
    timed_out = new_output("error", ename=TIMED_OUT, evalue="", traceback=["CellTimeoutError: No reply from kernel"])
    printed = new_output("stream", name="stdout", text="epoch 1\n")
    cell = new_code_cell("while True: pass", outputs=[printed, interrupted, timed_out])
    cell = ExplainTimeouts()(new_notebook(cells=[cell]), {})[0].cells[0]  # as nbconvert calls a step: enabled
    assert cell.outputs[0] == printed and len(cell.outputs) == 2
    assert cell.outputs[1].ename == "TimeLimit" and "ran past the grading time limit" in cell.outputs[1].evalue
    raised = new_code_cell("1 / 0", outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                                        traceback=[])])
    assert ExplainTimeouts().preprocess_cell(raised, {}, 0)[0].outputs[0].ename == "ZeroDivisionError"  # untouched
