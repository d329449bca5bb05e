"""course init adds the sandbox and feedback lines once; grade and feedback warn while hidden tests would leak."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from autograde.cli import dispatch, main
from autograde.course_dir import load_config
from autograde.course_init import missing_settings
from autograde.errors import CourseError
from autograde.feedback import warn_if_hidden_tests_leak
from tests.support.grading_course import ASSIGNMENT, add_class, make_course, nbgrader
from tests.support.paths import FIXTURES

FIXTURE_CONFIG = FIXTURES / "assignments" / "nbgrader_config.py"
FEEDBACK_LINE = "feedback_config(c)"
HIDDEN_CODE = "mean([0.5, 1.0])"  # code that appears only inside a hidden test of the mini assignment


def leaky_config() -> str:
    """The grading tests' config without its feedback-hiding line: nbgrader's default feedback."""
    text = FIXTURE_CONFIG.read_text()
    assert FEEDBACK_LINE in text
    return text.replace(FEEDBACK_LINE, "")


def page_text(page: Path) -> str:
    """What a feedback page shows, without its markup (syntax highlighting splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_init_writes_a_minimal_config_once(tmp_path, capsys):
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "+feedback_config(get_config())  # noqa: F821" in out  # shown as a diff
    assert "+get_config().Autograde.autograde_preprocessors = autograde_preprocessors()" in out
    written = (tmp_path / "nbgrader_config.py").read_bytes()
    assert missing_settings(tmp_path) == []
    stamp = (tmp_path / "nbgrader_config.py").stat().st_mtime_ns
    assert main(["init", str(tmp_path)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert (tmp_path / "nbgrader_config.py").read_bytes() == written
    assert (tmp_path / "nbgrader_config.py").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["nbgrader_config.py"]  # no temporary file left


def test_init_keeps_the_course_settings_and_adds_only_what_is_missing(tmp_path, capsys):
    original = leaky_config()
    (tmp_path / "nbgrader_config.py").write_text(original)
    assert [s.name for s in missing_settings(tmp_path)] == ["sandbox", "feedback"]
    assert main(["--course", str(tmp_path), "init"]) == 0
    out = capsys.readouterr().out
    assert "added the sandbox and feedback lines" in out
    assert "\n-" not in out.split("+++", 1)[1]  # nothing of the course's config is removed
    text = (tmp_path / "nbgrader_config.py").read_text()
    assert text.startswith(original.rstrip("\n"))
    config = load_config(tmp_path)
    assert config.Execute.timeout == 4 and config.CourseDirectory.course_id == "grading-tests"
    assert missing_settings(tmp_path) == []


def test_init_refuses_a_config_that_does_not_load_and_changes_nothing(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = (\n")
    with pytest.raises(CourseError, match="does not load .*Nothing was changed"):
        dispatch(["init", str(tmp_path)])
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()\nc.Execute.timeout = (\n"


def test_the_warning_follows_the_loaded_config_not_its_text(tmp_path, capsys):
    # The line is in the file, but a comment: nbgrader does not run it, so the pages would leak.
    (tmp_path / "nbgrader_config.py").write_text(leaky_config() + f"\n# {FEEDBACK_LINE}\n")
    assert warn_if_hidden_tests_leak(load_config(tmp_path), "grade")
    err = capsys.readouterr().err
    assert "HIDDEN TESTS EXPOSED" in err and f"course init {tmp_path}" in err
    # Named as a string, as nbgrader configs may, it counts.
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.GenerateFeedback.preprocessors = ['autograde.feedback.HideHiddenTests']\n")
    assert not warn_if_hidden_tests_leak(load_config(tmp_path), "grade")
    # Named, but switched off: it hides nothing.
    with (tmp_path / "nbgrader_config.py").open("a") as config:
        config.write("c.ClearHiddenTests.enabled = False\n")
    assert warn_if_hidden_tests_leak(load_config(tmp_path), "grade")
    assert main(["init", str(tmp_path)]) == 0  # switched on again, once
    assert not warn_if_hidden_tests_leak(load_config(tmp_path), "grade")
    assert missing_settings(tmp_path) == []


@pytest.mark.parametrize("command", ["grade", "feedback"])
def test_grade_and_feedback_warn_before_anything_else(tmp_path, capsys, command):
    (tmp_path / "nbgrader_config.py").write_text(leaky_config())
    # nothing to grade or to give feedback on: a refusal after the warning
    assert main(["--course", str(tmp_path), command, ASSIGNMENT]) == 1
    assert capsys.readouterr().err.count("HIDDEN TESTS EXPOSED") == 1
    main(["init", str(tmp_path)])
    assert main(["--course", str(tmp_path), command, ASSIGNMENT]) == 1
    assert "HIDDEN TESTS EXPOSED" not in capsys.readouterr().err


@pytest.mark.slow
def test_init_stops_nbgrader_feedback_from_showing_hidden_tests(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    (course / "nbgrader_config.py").write_text(leaky_config())
    add_class(course, ["reference"])
    assert main(["--course", str(course), "grade", ASSIGNMENT, "--workers", "1"]) == 0
    page = course / "feedback" / "student-01-reference" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    assert HIDDEN_CODE in page_text(page)  # nbgrader's default: every hidden test on the student's page

    assert main(["init", str(course)]) == 0
    capsys.readouterr()
    shutil.rmtree(course / "feedback")
    assert main(["--course", str(course), "feedback", ASSIGNMENT]) == 0
    assert "HIDDEN TESTS EXPOSED" not in capsys.readouterr().err
    nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    text = page_text(page)
    assert HIDDEN_CODE not in text and "hidden tests ran here" in text
