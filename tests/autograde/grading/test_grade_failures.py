"""Broken submissions are recorded with a reason while the rest of the class is graded."""
from __future__ import annotations

import json

import nbformat
import pytest

from autograde.cli import main
from autograde.config import GradingSettings
from autograde.demo_class import reference, write_submission
from autograde.grading.execute import execute_notebook
from autograde.grading.status import Outcome
from tests.support.grading_course import ASSIGNMENT, add_class, make_course

pytestmark = pytest.mark.slow

# Kills the process that drives the kernel (the grading worker) from inside student code.
KILL_WORKER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("failures") / "course")
    add_class(course, ["reference", "kernel-crash"])
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    write_submission(course, ASSIGNMENT, "student-03-unreadable", {ASSIGNMENT: '{"cells": [ this is not json'})
    killer = reference(source, release)
    answer = next(c for c in killer.cells if c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = KILL_WORKER + answer.source
    write_submission(course, ASSIGNMENT, "student-04-kills-worker", {ASSIGNMENT: killer})
    # Without the sandbox, so that student code can reach (and kill) its worker and the retry shows;
    # in the sandbox the kill stays inside it (tests/test_hostile.py).
    # 1: the unreadable notebook and the dead worker need the instructor's attention.
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "2",
                 "--kernel-manager", "jupyter_client.manager.AsyncKernelManager"]) == 1
    records = json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())
    return course, {r["student"]: r for r in records}


def test_the_good_submission_is_graded_in_full(graded):
    _, records = graded
    assert records["student-01-reference"]["status"] == "ok"
    assert records["student-01-reference"]["score"] == records["student-01-reference"]["max_score"] == 6


def test_kernel_crash_is_recorded_with_zero(graded):
    _, records = graded
    crash = records["student-02-kernel-crash"]
    assert crash["status"] == "crashed" and "kernel died" in crash["reason"]
    assert crash["score"] == 0 and crash["max_score"] == 6


def test_unreadable_notebook_is_recorded_with_zero(graded):
    _, records = graded
    bad = records["student-03-unreadable"]
    assert bad["status"] == "failed" and "could not prepare" in bad["reason"]
    assert bad["score"] == 0 and bad["max_score"] == 6


def test_worker_death_is_retried_once_then_failed(graded):
    _, records = graded
    dead = records["student-04-kills-worker"]
    assert dead["status"] == "failed" and "worker process died" in dead["reason"]
    assert dead["attempts"] == 2
    assert dead["score"] == 0


def test_notebook_time_limit_stops_the_run_and_zeroes_the_rest():
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell("import time\nvalue = 41"),
                nbformat.v4.new_code_cell("time.sleep(30)"),
                nbformat.v4.new_code_cell("value + 1")]
    result = execute_notebook(nbformat.writes(nb), GradingSettings(cell_seconds=60, notebook_seconds=4))
    assert result.outcome == Outcome.TIMEOUT and "time limit" in result.reason
    assert result.duration < 20
    cells = nbformat.reads(result.notebook_json, as_version=4).cells
    assert cells[0].outputs == []  # ran cleanly
    assert [o.ename for o in cells[2].outputs] == ["NotRunError"]


def test_bad_input_is_a_result_not_an_exception():
    result = execute_notebook("{ not a notebook")
    assert result.outcome == Outcome.ERROR and "not valid" in result.reason
