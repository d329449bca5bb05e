"""course collect on a real nbgrader gradebook (quick: no kernels, no generate): placement, notes, re-runs."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograde.errors import CourseError
from autograde.lms.collect import collect, summary
from autograde.lms.export import export
from autograde.lms.placement import NOT_GRADED
from tests.support.paths import FIXTURES

CELLS = ["square", "test_square"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A course whose gradebook knows the assignment (made once: creating a gradebook takes seconds)."""
    root = tmp_path_factory.mktemp("template") / "course"
    root.mkdir()
    shutil.copy(FIXTURES / "assignments" / "nbgrader_config.py", root / "nbgrader_config.py")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "grading-tests") as gb:
        gb.add_assignment("mini")
        gb.add_notebook("mini", "mini")
        for name in CELLS:  # as course generate records them: the answer a solution cell, its test a grade cell
            gb.add_source_cell(name, "mini", "mini", cell_type="code", locked=False, source="", checksum="")
        gb.add_solution_cell("square", "mini", "mini")
        gb.add_grade_cell("test_square", "mini", "mini", max_score=1, cell_type="code")
    return root


@pytest.fixture
def course(template, tmp_path):
    return Path(shutil.copytree(template, tmp_path / "course"))


def notebook(ids: list[str], text: str = "") -> str:
    cells = [nbformat.v4.new_code_cell(f"# {text} {i}", metadata={"nbgrader": {"grade_id": i}}) for i in ids]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def brightspace(folder: Path, submissions: dict[str, dict[str, str | bytes]]) -> Path:
    """A Brightspace download folder: {"Name - Mon D, YYYY HHMM PM": {file: content}}."""
    for number, (who_when, files) in enumerate(submissions.items(), 1):
        for name, content in files.items():
            path = folder / f"4000{number}-6000{number} - {who_when}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "index.html").write_text("<html></html>")
    (folder / "notes from a TA.txt").write_text("not a submission")
    return folder


def test_collect_places_newest_renamed_and_pdf_and_lists_the_rest(course, tmp_path):
    export = brightspace(tmp_path / "export", {
        "Anna Müller - Dec 1, 2026 905 AM": {"mini.ipynb": notebook(CELLS, "first try")},
        "Anna Müller - Dec 2, 2026 405 PM": {"mini (2).ipynb": notebook(CELLS, "final"), "mini.pdf": b"%PDF-1.4"},
        "Dan Renamed - Dec 2, 2026 1200 PM": {"mini.ipynb": notebook(CELLS), "other.ipynb": notebook(["x"])}})
    done = collect(course, "mini", export, "brightspace")
    anna, dan = course / "submitted" / "anna-muller" / "mini", course / "submitted" / "dan-renamed" / "mini"
    assert sorted(p.name for p in anna.iterdir()) == ["mini.ipynb", "mini.pdf", "timestamp.txt"]
    assert "final" in (anna / "mini.ipynb").read_text() and (anna / "timestamp.txt").read_text() == "2026-12-02 16:05:00"
    assert (dan / NOT_GRADED / "other.ipynb").exists() and not (dan / "other.ipynb").exists()
    lines = "\n".join(summary(done, "mini"))
    assert "mini (2).ipynb taken as mini.ipynb" in lines and "not used: the one of 2026-12-01 09:05" in lines
    assert "other.ipynb is none of the assignment's notebooks" in lines
    assert "COULD NOT PLACE (1)" in lines and "notes from a TA.txt" in lines and "skipped index.html" in lines
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "grading-tests") as gb:
        assert (gb.find_student("anna-muller").first_name, gb.find_student("anna-muller").last_name) == ("Anna", "Müller")


def test_collect_again_adds_only_what_is_new_and_never_an_older_submission(course, tmp_path):
    first = brightspace(tmp_path / "first", {"Anna Müller - Dec 2, 2026 405 PM": {"mini.ipynb": notebook(CELLS, "v1")},
                                             "Ben Late - Dec 2, 2026 405 PM": {"mini.ipynb": notebook(CELLS, "v1")}})
    assert collect(course, "mini", first, "brightspace").new == ["anna-muller", "ben-late"]
    again = collect(course, "mini", first, "brightspace")
    assert (again.new, again.unchanged) == ([], ["anna-muller", "ben-late"])
    newer = brightspace(tmp_path / "newer", {"Anna Müller - Dec 3, 2026 405 PM": {"mini.ipynb": notebook(CELLS, "v2")},
                                             "Ben Late - Dec 1, 2026 405 PM": {"mini.ipynb": notebook(CELLS, "v0")}})
    done = collect(course, "mini", newer, "brightspace")
    assert (done.new, done.kept) == (["anna-muller"], ["ben-late"])
    assert "v2" in (course / "submitted" / "anna-muller" / "mini" / "mini.ipynb").read_text()
    assert "v1" in (course / "submitted" / "ben-late" / "mini" / "mini.ipynb").read_text()
    assert not list((course / "submitted").glob("*/.*"))  # no temporary folder left behind


def test_collect_from_another_lms_than_before_is_refused(course, tmp_path):
    export = brightspace(tmp_path / "export", {"Anna Müller - Dec 2, 2026 405 PM": {"mini.ipynb": notebook(CELLS)}})
    collect(course, "mini", export, "brightspace")
    with pytest.raises(CourseError, match="collected from brightspace, not canvas"):
        collect(course, "mini", export, "canvas")


def test_a_submission_collect_did_not_write_is_never_overwritten(course, tmp_path):
    by_hand = course / "submitted" / "anna-muller" / "mini"
    by_hand.mkdir(parents=True)
    (by_hand / "mini.ipynb").write_text(notebook(CELLS, "put here by hand"))
    export = brightspace(tmp_path / "export", {"Anna Müller - Dec 2, 2026 405 PM": {"mini.ipynb": notebook(CELLS)}})
    done = collect(course, "mini", export, "brightspace")
    assert done.kept == ["anna-muller"] and "by hand" in (by_hand / "mini.ipynb").read_text()
    assert "was not put there by `course collect`: left as it is" in "\n".join(summary(done, "mini"))


def test_export_refuses_an_unknown_assignment_and_one_with_nothing_graded(course):
    with pytest.raises(CourseError, match=r"no assignment '1-mini' in the gradebook; it has mini"):
        export(course, "1-mini", "canvas")
    with pytest.raises(CourseError, match=r"nothing of mini is graded yet, so nothing was written; run `course grade mini`"):
        export(course, "mini", "canvas")
    assert not (course / "reports" / "mini" / "canvas-grades.csv").exists()
