"""Our one use of nbgrader's private API: its autograde steps run one at a time, graded files staged
(quick: a generated course, nbgrader's converters, no kernels)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbgrader.preprocessors import ClearOutput, Execute, LimitOutput, SaveAutoGrades

from autograde.course_dir import course_directory, in_course, load_config
from autograde.grading.nbgrader_adapter import (
    NbgraderAutograde,
    read_schema_revision_in_process,
    scoring_steps,
    start_cell_by_cell,
)
from autograde.sandbox.nbgrader_plugin import SandboxExecute
from tests.support.grading_course import ASSIGNMENT


@pytest.mark.parametrize("steps, expected", [
    ([ClearOutput, Execute, SaveAutoGrades], [ClearOutput, SaveAutoGrades]),
    (["nbgrader.preprocessors.LimitOutput", "nbgrader.preprocessors.Execute"], [LimitOutput]),
    ([SandboxExecute, SaveAutoGrades], [SaveAutoGrades]),  # a subclass of Execute is execution too
    (["autograde.sandbox.nbgrader_plugin.SandboxExecute"], []),
    ([], []),
])
def test_scoring_steps_leave_out_execution(steps, expected):
    assert scoring_steps(steps) == expected


@pytest.fixture
def adapter(mini_course):
    with in_course(mini_course):
        config = load_config(mini_course)
        yield NbgraderAutograde(course_directory(mini_course, ASSIGNMENT, config), config)


@pytest.mark.parametrize("method, args, relative", [
    ("submitted_folder", (ASSIGNMENT, "al"), f"submitted/al/{ASSIGNMENT}"),
    ("graded_folder", (ASSIGNMENT, "al"), f"autograded/al/{ASSIGNMENT}"),
    ("destination", (ASSIGNMENT, "al"), f"autograded/al/{ASSIGNMENT}"),
    ("release_folder", (ASSIGNMENT,), f"release/{ASSIGNMENT}"),
    ("source_folder", (ASSIGNMENT,), f"source/{ASSIGNMENT}"),
])
def test_folders_are_nbgraders(adapter, mini_course, method, args, relative):
    assert Path(getattr(adapter, method)(*args)).resolve() == (mini_course / relative).resolve()


def test_a_staged_student_is_written_to_the_staging_folder(adapter, mini_course, tmp_path):
    adapter.stage(ASSIGNMENT, "al", tmp_path / "staging")
    assert adapter.destination(ASSIGNMENT, "al") == tmp_path / "staging"
    assert adapter.destination(ASSIGNMENT, "bo").resolve() == (mini_course / "autograded" / "bo" / ASSIGNMENT).resolve()
    assert adapter.graded_folder(ASSIGNMENT, "al").resolve() == (mini_course / "autograded" / "al" / ASSIGNMENT).resolve()
    assert "1 staged" in repr(adapter)
    adapter.stage(ASSIGNMENT, "al", None)
    assert adapter.destination(ASSIGNMENT, "al").resolve() == (mini_course / "autograded" / "al" / ASSIGNMENT).resolve()


def test_sanitising_clears_outputs_and_puts_locked_cells_back(adapter, mini_course):
    release = mini_course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(release, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    test.source, test.outputs = "pass", [nbformat.v4.new_output("stream", text="forged\n")]
    path = adapter.submitted_folder(ASSIGNMENT, "al") / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    cleaned = nbformat.reads(adapter.sanitize(nb, path), as_version=4)
    restored = next(c for c in cleaned.cells if c.metadata.nbgrader.get("grade_id") == "test_square")
    assert restored.source.startswith("assert square(3) == 9") and restored.outputs == []  # OverwriteCells, ClearOutput


@pytest.mark.parametrize("resources, kept", [({"metadata": {"path": "/tmp"}}, {"metadata": {"path": "/tmp"}}), ({}, {})])
def test_execute_is_set_up_without_running(resources, kept):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    client = Execute()
    client.code_cells_executed = 5
    start_cell_by_cell(client, nb, resources)
    assert client.nb is nb and client.resources == kept and client.code_cells_executed == 0
    assert client.km is None and nb.cells[0].outputs == []  # no kernel was started, nothing ran


def test_a_new_gradebook_is_stamped_with_what_alembic_heads_prints_without_running_it(tmp_path, monkeypatch):
    import sqlite3
    import subprocess
    import sys

    from nbgrader.api import Gradebook
    from nbgrader.dbutil import write_alembic_ini

    ini = tmp_path / "alembic.ini"  # what nbgrader itself runs
    write_alembic_ini(str(ini), f"sqlite:///{tmp_path / 'scratch.db'}")
    alembic = Path(sys.executable).with_name("alembic")
    printed = subprocess.check_output([str(alembic), "-c", str(ini), "heads"], text=True).split()[0]
    read_schema_revision_in_process()
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no `alembic` command to be found
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
        pass
    stamped = sqlite3.connect(tmp_path / "gradebook.db").execute("SELECT version_num FROM alembic_version").fetchall()
    assert stamped == [(printed,)]
