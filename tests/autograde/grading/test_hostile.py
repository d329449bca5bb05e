"""Hostile submissions graded by `course grade` next to honest ones, in one run, in the sandbox.

Each snippet in tests/fixtures/hostile/ goes in front of the first answer of the reference solution (so an
attack that silently worked would keep full marks). For each we check the score of the work it
touches, the reason recorded, that no host file outside the scratch directory was read or written,
that the honest submissions score exactly as in a run without the hostile ones, and that no process
of any sandbox is left afterwards.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main
from autograde.demo_class import write_submission
from autograde.sandbox.bubblewrap import bwrap_status
from autograde.sandbox.cgroups import own_cgroup
from tests.support.grading_course import ASSIGNMENT, add_class, make_course, nbgrader
from tests.support.hostile import EXPECTED, hostile_notebooks, scores
from tests.support.processes import sandbox_processes
from tests.support.requirements import requires

pytestmark = [pytest.mark.slow,
              requires(bwrap_status()[0] is not None, bwrap_status()[1])]
HONEST = ["reference", "partly-right", "untouched"]
# 20 s per cell, not the course's 4 s: the memory bomb must meet the memory limit, not the clock, also on a fresh
# virtual machine where the first touch of memory is slow (see test_cluster); the endless loop pays for it.
LIMITS = ["--workers", "2", "--memory-mb", "700", "--max-processes", "64", "--output-mb", "1",
          "--notebook-timeout", "60", "--timeout", "20", "--require-sandbox"]
def snapshot(folder: Path, skip: tuple[str, ...]) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under ``folder`` except the paths grading itself writes."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_file() and not relative.startswith(skip):
            files[relative] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return files


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    alone = make_course(base / "honest-only")
    add_class(alone, HONEST)
    assert main(["--course", str(alone), "grade", ASSIGNMENT, *LIMITS]) == 0

    course = make_course(base / "course")
    honest_students = add_class(course, HONEST)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(listener.accept())
            except OSError:
                pass

    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    for case, notebook in hostile_notebooks(course, port).items():
        write_submission(course, ASSIGNMENT, f"hostile-{case}", {ASSIGNMENT: notebook})
    host_secret = base / "host-secret.txt"
    host_secret.write_text("host secret 7d1f")
    writable = ("gradebook.db", "autograded", "feedback", "reports", ".nbgrader", "nbgrader.log")
    before = snapshot(course, writable)
    before_home = snapshot(base, ("course", "honest-only"))
    processes_before = sandbox_processes(f"sandbox-{ASSIGNMENT}-{os.getpid()}-")
    try:
        # 1: the invalid JSON notebook could not run, which needs the instructor's attention.
        assert main(["--course", str(course), "grade", ASSIGNMENT, *LIMITS]) == 1
    finally:
        stop.set()
        watcher.join()
        listener.close()
    records = {r["student"]: r for r in json.loads((course / "reports" / ASSIGNMENT / "results.json").read_text())}
    return {
        "course": course, "alone": alone, "records": records, "honest": list(honest_students),
        "before": before, "after": snapshot(course, writable), "before_home": before_home,
        "after_home": snapshot(base, ("course", "honest-only")), "connections": connections,
        "processes_before": processes_before, "processes_after": sandbox_processes(f"sandbox-{ASSIGNMENT}-{os.getpid()}-"),
    }


@pytest.mark.parametrize("case", list(EXPECTED))
def test_hostile_submission_scores_zero_for_what_it_touches(graded, case):
    statuses, square, total, words = EXPECTED[case]
    record = graded["records"][f"hostile-{case}"]
    cells = scores(graded["course"])
    assert record["status"] in statuses, record
    assert words in record["reason"], record
    assert cells[(f"hostile-{case}", "test_square")] == square, record
    if total is not None:
        assert record["score"] == total, record
    assert record["max_score"] == 6  # forged points changed nothing
    assert record["attempts"] <= 1  # nothing reached the grading worker (0: never executed)


def test_honest_submissions_graded_as_without_the_hostile_ones(graded):
    mixed, alone = scores(graded["course"]), scores(graded["alone"])
    honest = {key: value for key, value in mixed.items() if key[0] in graded["honest"]}
    assert honest == alone
    assert {r["student"]: r["status"] for r in graded["records"].values() if r["student"] in graded["honest"]} == {
        "student-01-reference": "ok", "student-02-partly-right": "raised", "student-03-untouched": "raised"}


def test_no_host_file_read_or_written(graded):
    course = graded["course"]
    assert graded["after"] == graded["before"]  # contents and mtimes of the source, submissions, config...
    assert graded["after_home"] == graded["before_home"]
    assert not (course / "pwned.txt").exists()
    assert graded["connections"] == []
    assert all(grade["manual_score"] is None for grade in _grades(course))
    leaked = ("BEGIN HIDDEN TESTS", "SQLite format", "host secret 7d1f")
    for folder in (course / "autograded").glob("hostile-*"):
        graded_file = folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        text = graded_file.read_text() if graded_file.exists() else ""  # none for the unreadable one
        # What the student's code printed or displayed (tracebacks of failed tests quote their source:
        # that is nbgrader's feedback, not a leak through the sandbox).
        outputs = json.dumps([o for c in json.loads(text)["cells"] for o in c.get("outputs", [])
                              if o.get("output_type") != "error"]) if text else ""
        assert not [word for word in leaked if word in outputs], folder.name


def test_nothing_left_running(graded):
    assert graded["processes_before"] == set() and graded["processes_after"] == set()
    cgroups = [p for kind in ("memory", "pids") for p in own_cgroup(kind).glob(f"sandbox-{ASSIGNMENT}-{os.getpid()}-*")]
    assert cgroups == []


def _grades(course: Path) -> list[dict]:
    import sqlite3

    with sqlite3.connect(course / "gradebook.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("select manual_score from grade")]


def test_nbgrader_autograde_runs_in_the_sandbox_through_its_config(tmp_path):
    course = make_course(tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as config:  # the lines the course's own config has
        config.write("\nfrom autograde.sandbox import autograde_preprocessors\n"
                     "c.Autograde.autograde_preprocessors = autograde_preprocessors()\n")
    add_class(course, ["reference"])
    snooper = hostile_notebooks(course, 9)["read_source"]
    write_submission(course, ASSIGNMENT, "hostile-read_source", {ASSIGNMENT: snooper})
    nbgrader(course, "autograde", ASSIGNMENT)
    graded = nbformat.read(course / "autograded" / "hostile-read_source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                           as_version=4)
    errors = [o.get("ename") for c in graded.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert "FileNotFoundError" in errors
    cells = scores(course)
    assert cells[("hostile-read_source", "test_square")] == 0
    assert cells[("student-01-reference", "test_square")] == 2
