"""``course new``: the scaffold notebook, where it goes, and what it refuses (its check run is in the guide's test)."""
from __future__ import annotations

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from autograde import cli
from autograde.cells import is_answer, is_test, nbgrader_metadata
from autograde.errors import CourseError
from tests.support.authoring import write_course


def test_new_writes_one_cell_of_each_kind(tmp_path, capsys):
    course = write_course(tmp_path)
    assert cli.main(["--course", str(course), "new", "10-early-stopping"]) == 0
    path = course / "notebooks" / "10-early-stopping" / "10-early-stopping.ipynb"
    assert str(path) in capsys.readouterr().out
    nb = nbformat.read(path, as_version=4)
    MetadataValidator().validate_nb(nb)  # nbgrader accepts it as it is
    kinds = [("answer" if is_answer(c) else "test" if is_test(c) else
              "written" if c.cell_type == "markdown" and nbgrader_metadata(c).get("grade") else
              "setup" if nbgrader_metadata(c).get("locked") else c.cell_type) for c in nb.cells]
    assert kinds == ["markdown", "setup", "markdown", "answer", "test", "code", "markdown", "written"]
    assert "worth **4 points**" in nb.cells[0].source and "epochs=epochs(30)" in nb.cells[5].source
    assert all("Replace" in c.source for c in nb.cells if c.cell_type == "code" or "SOLUTION" in c.source)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_new_refuses_to_overwrite_or_a_bad_name(tmp_path):
    course = write_course(tmp_path)
    cli.main(["--course", str(course), "new", "a1"])
    before = (course / "notebooks" / "a1" / "a1.ipynb").read_text()
    with pytest.raises(CourseError, match="already exists; pick another name"):
        cli.dispatch(["--course", str(course), "new", "a1"])
    assert (course / "notebooks" / "a1" / "a1.ipynb").read_text() == before
    with pytest.raises(CourseError, match="is not a usable assignment name"):
        cli.dispatch(["--course", str(course), "new", "my assignment"])
    assert not (course / "notebooks" / "my assignment").exists()
