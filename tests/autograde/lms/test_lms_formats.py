"""The LMSs' own file and CSV formats read back: submission file names, rosters, groups files (quick, no course)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from autograde.lms.feedback_upload import write_upload
from autograde.lms.filenames import BrightspaceCollector, CanvasCollector, MoodleCollector
from autograde.lms.groups import read_groups, resolve_groups
from autograde.lms.notebooks import which_notebook
from autograde.lms.roster import Person, RosterError, grade_item, read_roster
from autograde.lms.state import LmsState


@pytest.mark.parametrize("collector, path, expected", [
    (BrightspaceCollector, "x/A1 Download/40001-60001 - Anna Müller - Sep 24, 2024 926 PM/mini (2).ipynb",
     ("Anna Müller", "mini (2).ipynb", datetime(2024, 9, 24, 21, 26), False)),
    (BrightspaceCollector, "x/40001-60001 - Group 17- Sep 4, 2024 105 AM - report.pdf",  # 1:05, not 10:5
     ("Group 17", "report.pdf", datetime(2024, 9, 4, 1, 5), False)),
    (BrightspaceCollector, "x/40001-60001 - Ben Late - Sep 29, 2015 4:17 PM/mini.ipynb",  # older versions keep the colon
     ("Ben Late", "mini.ipynb", datetime(2015, 9, 29, 16, 17), False)),
    (CanvasCollector, "x/mülleranna_LATE_5101_90001_mini-1.ipynb", ("5101", "mini-1.ipynb", None, True)),
    (CanvasCollector, "x/anon_x8Yz_90001_mini.ipynb", ("anon_x8Yz", "mini.ipynb", None, False)),
    (MoodleCollector, "x/Anna Müller_7101_assignsubmission_file/mini.ipynb", ("7101", "mini.ipynb", None, False)),
    (MoodleCollector, "x/Group 17_345_assignsubmission_file_mini.pdf", ("345", "mini.pdf", None, False)),
])
def test_each_lms_naming_gives_who_what_and_when(collector, path, expected):
    handed = collector().handed(Path(path))
    assert (handed.key, handed.file_name, handed.when, handed.late) == expected


@pytest.mark.parametrize("collector", [BrightspaceCollector, CanvasCollector, MoodleCollector])
def test_a_file_not_named_as_the_lms_names_submissions_is_not_taken(collector):
    assert collector().handed(Path("x/index.html")) is None
    assert collector().handed(Path("x/my notebook.ipynb")) is None


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_rosters_keep_ids_names_and_emails_in_utf8(tmp_path):
    brightspace = write(tmp_path / "b.csv", "\ufeffOrgDefinedId,Username,Last Name,First Name,Email,A Points Grade "
                        "<Numeric MaxPoints:7>,End-of-Line Indicator\n#0100001,#anna.m,Müller,Anna,a@x.org,,#\n")
    canvas = write(tmp_path / "c.csv", "Student,ID,SIS User ID,SIS Login ID,Section,mini (12)\n"
                   "    Points Possible,,,,,7\n\"Müller, Anna\",5101,S1,anna.m,DL,\n")
    moodle = write(tmp_path / "m.csv", "Identifier,Full name,Email address,Grade\nParticipant 7101,Anna Müller,a@x.org,\n")
    people = {lms: read_roster(lms, path)[0] for lms, path in
              (("brightspace", brightspace), ("canvas", canvas), ("moodle", moodle))}
    assert [(p.sid, p.first_name, p.last_name) for p in people.values()] == [
        ("0100001", "Anna", "Müller"), ("5101", "Anna", "Müller"), ("7101", "Anna", "Müller")]
    assert people["brightspace"].username == "anna.m" and people["moodle"].email == "a@x.org"
    assert (people["canvas"].sis_user_id, people["canvas"].section) == ("S1", "DL")
    # The grade column the export writes back into: the roster's own, where it has one.
    assert (grade_item("canvas", canvas, "mini"), grade_item("brightspace", brightspace, "a")) == ("mini (12)", "A")
    assert grade_item("canvas", canvas, "other") == grade_item("moodle", moodle, "mini") == ""


def test_a_roster_of_another_kind_is_refused_with_what_it_lacks(tmp_path):
    with pytest.raises(RosterError, match=r"not a Canvas gradebook export.*'ID'"):
        read_roster("canvas", write(tmp_path / "x.csv", "Student,Email\nAnna,a@x.org\n"))


def test_groups_files_with_and_without_header_resolve_to_roster_ids(tmp_path):
    people = {p.sid: p for p in read_roster("moodle", write(
        tmp_path / "m.csv", "Identifier,Full name,Email address\nParticipant 1,Eva Group,eva@x.org\n"
                            "Participant 2,Finn Group,finn@x.org\n"))}
    plain = write(tmp_path / "g.csv", "eva@x.org,Group 17\nFinn Group,Group 17\nZoe Stranger,Group 18\n")
    canvas = write(tmp_path / "cg.csv", "name,canvas_user_id,user_id,login_id,sections,group_name,canvas_group_id,group_id\n"
                   "Eva Group,1,,eva,,Group 17,88,\nFinn Group,2,,finn,,Group 17,88,\n")
    groups, notes = resolve_groups(read_groups(plain), people)
    assert groups == {"Group 17": ["1", "2"], "Group 18": ["Zoe Stranger"]}
    assert notes and "Zoe Stranger" in notes[0]
    assert resolve_groups(read_groups(canvas), people)[0] == {"Group 17": ["1", "2"]}


@pytest.mark.parametrize("lms", ["brightspace", "canvas", "moodle"])
def test_feedback_pages_are_named_as_the_lms_bulk_upload_finds_its_students(tmp_path, lms):
    page = tmp_path / "feedback" / "5101" / "mini" / "mini.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>feedback</html>")
    state = LmsState(lms, people={"5101": Person("5101", "Anna", "Müller_Schmidt")})
    target = write_upload(tmp_path / "out", state, [page])
    [written] = [p.relative_to(target).as_posix() for p in target.rglob("*.html")]
    if lms == "canvas":  # Canvas finds the user id between underscores
        assert re.search(r"_(\d+)_", written).group(1) == "5101"
    elif lms == "moodle":  # Moodle splits at "_" into five parts: name, participant id, plugin type, plugin, file
        assert written.split("_", 4)[1:] == ["5101", "assignfeedback", "file", "mini.html"]
    else:
        assert written == "5101 - Anna Müller_Schmidt/mini.html"
    assert (target.with_suffix(".zip").exists()) == (lms != "brightspace")


def test_a_roster_saved_with_semicolons_is_refused_not_read_as_one_column(tmp_path):
    """A spreadsheet's "CSV" with semicolons: one column holding every header name; every line would become a student."""
    path = tmp_path / "grades-export.csv"
    path.write_text("OrgDefinedId;Username;Last Name;First Name;Email;End-of-Line Indicator\n"
                    "#0100001;#anna;Müller;Anna;anna@example.edu;#\n", encoding="utf-8")
    with pytest.raises(RosterError, match="separated by ';', not by commas"):
        read_roster("brightspace", path)


@pytest.mark.parametrize("ids, expected", [
    (["setup", "square", "test_square", "mean", "test_mean"], "mini"),  # renamed, every answer and test there
    (["square", "test_square"], "mini"),                                  # half of them: still this notebook
    (["setup", "square"], None),                                          # another assignment's, sharing a name or two
    (["setup"], None),                                                    # only the setup cell every scaffold has
    ([], None),
])
def test_a_renamed_notebook_is_taken_by_most_of_its_answers_and_tests(tmp_path, ids, expected):
    path = tmp_path / "Assignment1 (2).ipynb"
    cells = [nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": i}}) for i in ids]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    assert which_notebook(path, {"mini": {"square", "test_square", "mean", "test_mean"}}) == expected
