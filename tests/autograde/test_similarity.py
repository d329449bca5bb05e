"""course similarity: copied answers are found through renames, new comments and reordering; honest ones are not.

No kernels and no nbgrader apps: the class is written with nbformat from tests/fixtures/assignments/mini, whose
answer cells are ``square``, ``mean`` and ``count_words`` (grade ids of the same names).
"""
from __future__ import annotations

import shutil

import nbformat
import pandas as pd
import pytest
from nbgrader.preprocessors import ClearSolutions

from autograde.cli import dispatch, main
from autograde.course_dir import load_config
from autograde.demo_class import disguise, make_class, write_submission
from autograde.errors import CourseError
from autograde.similarity import THRESHOLD, WHOLE, collect_answers, compare, similarity
from tests.support.grading_course import ASSIGNMENT
from tests.support.paths import FIXTURES

# One student's own count_words (not the model answer's one-liner), and a classmate's disguised copy.
OWN_COUNT = '''def count_words(text):
    # walk through the text and count where a word starts
    count = 0
    inside = False
    for character in text:
        if character.isspace():
            inside = False
        elif not inside:
            inside = True
            count = count + 1
    return count
'''
COPIED_COUNT = '''def count_words(text):
    """Counts words."""
    n_words = 0
    in_word = False

    for ch in text:   # every letter
        if ch.isspace():
            in_word = False
        elif not in_word:
            in_word = True
            n_words = n_words + 1
    return n_words
'''
# Another correct count_words, written independently.
OTHER_COUNT = '''import re

def count_words(text):
    return len(re.findall(r"\\S+", text))
'''
# A model answer long enough to fingerprint (the mini notebook's own answers are one-liners).
MODEL_MEAN = '''    values = list(values)
    if len(values) == 0:
        raise ValueError("the mean of no values is undefined")
    result = 0.0
    for value in values:
        result += value
    return result / len(values)
'''
# Two helpers and the answer; the copy has them in another order, renamed.
OWN_MEAN = '''def total(values):
    result = 0.0
    for value in values:
        result += value
    return result


def how_many(values):
    number = 0
    for _ in values:
        number += 1
    return number


def mean(values):
    if how_many(values) == 0:
        raise ValueError("mean of nothing")
    return total(values) / how_many(values)
'''
REORDERED_MEAN = '''def mean(xs):
    # the average
    if how_many(xs) == 0:
        raise ValueError("no values given")
    return total(xs) / how_many(xs)


def how_many(xs):
    k = 0
    for _ in xs:
        k += 1
    return k


def total(xs):
    acc = 0.0
    for x in xs:
        acc += x
    return acc
'''


@pytest.fixture
def course(tmp_path):
    """The mini assignment as a course (source/ and its release/), no submissions yet."""
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(FIXTURES / "assignments" / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(FIXTURES / "assignments" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release, _ = ClearSolutions(config=load_config(course)).preprocess(source, {})
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(release, course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return course


def hand_in(course, student: str, answers: dict[str, str]) -> None:
    """The released notebook with the given answer cells (grade_id -> code) filled in."""
    nb = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    write_submission(course, ASSIGNMENT, student, {ASSIGNMENT: nb})


def flagged_pairs(result) -> set[tuple[str, str]]:
    return set(zip(result.flagged()["student_a"], result.flagged()["student_b"]))


def task_row(result, task: str, a: str, b: str) -> pd.Series:
    rows = result.pairs[(result.pairs["task"] == f"{ASSIGNMENT}/{task}") & (result.pairs["student_a"] == a)
                        & (result.pairs["student_b"] == b)]
    assert len(rows) == 1, f"no comparison of {a} and {b} on {task}:\n{result.pairs}"
    return rows.iloc[0]


def test_copy_with_renamed_variables_and_new_comments_is_found(course):
    hand_in(course, "ada", {"count_words": OWN_COUNT})
    hand_in(course, "bob", {"count_words": COPIED_COUNT})
    hand_in(course, "cy", {"count_words": OTHER_COUNT})
    result = compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT)
    assert flagged_pairs(result) == {("ada", "bob")}
    row = task_row(result, "count_words", "ada", "bob")
    assert row["similarity"] >= 0.8 and row["flagged"]
    assert not ((result.pairs["student_a"] == "cy") | (result.pairs["student_b"] == "cy")).any()


def test_equal_answers_are_compared_once_and_reported_for_every_pair(course):
    hand_in(course, "ada", {"count_words": OWN_COUNT, "mean": OWN_MEAN})
    hand_in(course, "bob", {"count_words": COPIED_COUNT, "mean": OWN_MEAN})
    hand_in(course, "cy", {"count_words": OWN_COUNT.replace("count", "words_seen"), "mean": OTHER_COUNT})
    result = compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT)
    assert flagged_pairs(result) == {("ada", "bob"), ("ada", "cy"), ("bob", "cy")}
    # ada's and cy's answers are equal once tokenized (compared once): bob's rows with them mirror each other.
    with_ada, with_cy = task_row(result, "count_words", "ada", "bob"), task_row(result, "count_words", "bob", "cy")
    assert (with_ada["similarity_a"], with_ada["similarity_b"]) == (with_cy["similarity_b"], with_cy["similarity_a"])
    assert with_ada["similarity_a"] != with_ada["similarity_b"]  # bob's docstring: the two shares differ
    assert task_row(result, "count_words", "ada", "cy")["similarity"] == 1.0
    assert result.matrix.loc["ada", "bob"] == result.matrix.loc["bob", "ada"] > result.matrix.loc["bob", "cy"] > 0


def test_reordered_functions_are_still_found(course):
    hand_in(course, "ada", {"mean": OWN_MEAN})
    hand_in(course, "bob", {"mean": REORDERED_MEAN})
    result = compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT)
    assert flagged_pairs(result) == {("ada", "bob")}
    assert task_row(result, "mean", "ada", "bob")["similarity"] >= THRESHOLD


def test_independent_correct_short_answers_are_not_flagged(course):
    hand_in(course, "ada", {"count_words": OTHER_COUNT})
    hand_in(course, "bob", {"count_words": OWN_COUNT})
    assert compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT).pairs.empty


def test_answers_equal_to_the_model_answer_count_only_when_asked(course):
    source_path = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    source = nbformat.read(source_path, as_version=4)
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "mean")
    cell.source = "def mean(values):\n    ### BEGIN SOLUTION\n" + MODEL_MEAN + "    ### END SOLUTION\n"
    nbformat.write(source, source_path)
    hand_in(course, "ada", {"mean": "def mean(values):\n" + MODEL_MEAN})
    hand_in(course, "bob", {"mean": disguise("def mean(values):\n" + MODEL_MEAN)})
    hand_in(course, "cy", {"mean": OWN_MEAN})
    # Correct answers look like the model answer without being shared: not evidence by default.
    assert compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT).pairs.empty
    counted = compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT, count_solution=True)
    assert flagged_pairs(counted) == {("ada", "bob")}


def test_the_released_template_alone_gives_no_similarity(course):
    for student in ("ada", "bob", "cy"):
        hand_in(course, student, {})  # handed in as released
    hand_in(course, "dee", {"square": "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"})
    for count_solution in (False, True):
        result = compare(collect_answers(course, ASSIGNMENT), ASSIGNMENT, count_solution=count_solution)
        assert result.pairs.empty
        assert (result.matrix.values == 0).all() and list(result.matrix.index) == ["ada", "bob", "cy", "dee"]


def test_a_broken_notebook_is_reported_not_fatal(course, capsys):
    hand_in(course, "ada", {"count_words": OWN_COUNT})
    hand_in(course, "bob", {"count_words": COPIED_COUNT})
    write_submission(course, ASSIGNMENT, "zed", {ASSIGNMENT: '{"cells": [ not json'})
    write_submission(course, ASSIGNMENT, "yu", {"other-name": nbformat.v4.new_notebook()})
    assert main(["--course", str(course), "similarity", ASSIGNMENT]) == 0
    out = capsys.readouterr().out
    assert "4 students" in out and "1 pair(s)" in out and "2 notebook(s) skipped" in out
    assert "ada ~ bob" in out and "skipped: zed/mini.ipynb: NotJSONError" in out
    assert "skipped: yu/mini.ipynb: not handed in" in out
    folder = course / "reports" / ASSIGNMENT / "similarity"
    pairs = pd.read_csv(folder / "pairs.csv")
    assert pairs.loc[pairs["task"] == WHOLE, ["student_a", "student_b"]].values.tolist() == [["ada", "bob"]]
    page = (folder / "report.html").read_text()
    assert "zed/mini.ipynb" in page and "<mark" in page and "data:image/png;base64," in page
    assert (folder / "heatmap.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "answers" / ASSIGNMENT / "count_words" / "bob.py").read_text() == COPIED_COUNT
    with pytest.raises(CourseError, match="--threshold must be in"):
        dispatch(["--course", str(course), "similarity", ASSIGNMENT, "--threshold", "50"])


def test_the_demo_pair_is_the_only_one_flagged(course):
    """classroom's own-variant and copied-variant (what `course demo` hands in) among solution-based kinds."""
    students = make_class(course, ASSIGNMENT, ["reference", "partly-right", "own-variant", "copied-variant",
                                               "syntax-error"], source_dir="source")
    result, _ = similarity(course, ASSIGNMENT)
    assert flagged_pairs(result) == {("student-03-own-variant", "student-04-copied-variant")}
    assert result.named_pairs()[0].startswith("student-03-own-variant and student-04-copied-variant (")
    assert set(students) == set(result.answers.students)


def test_disguise_renames_and_rewrites_but_keeps_behaviour():
    copied = disguise(OWN_COUNT)
    assert " count = 0" not in copied and "# walk" not in copied and "def count_words(text):" in copied
    mine, theirs = {}, {}
    exec(OWN_COUNT, mine)
    exec(copied, theirs)
    for text in ("", "one", "  two  words ", "a b\tc\nd"):
        assert theirs["count_words"](text) == mine["count_words"](text) == len(text.split())
    # A parameter changed in place keeps its name (renaming only the assignment would unbind it).
    exec(disguise("def accumulate_(total, x):\n    total += x\n    return total\n"), theirs)
    assert theirs["accumulate_"](2, 3) == 5


def test_side_by_side_marks_shared_work_not_the_template_and_agrees_with_pairs_csv(tmp_path):
    """The template's signature and docstring are never highlighted; every pair listed is flagged in pairs.csv."""
    from autograde.similarity import Answers, write_report

    template = 'def count_words(text):\n    """How many whitespace-separated words the text has, for the report."""\n'
    answers = Answers(template={"mini/count_words": template + "    raise NotImplementedError()\n"},
                      solution={"mini/count_words": template + "    return len(text.split())\n"},
                      students=["ada", "bob"])
    answers.answers["mini/count_words"] = {"ada": template + OWN_COUNT.split("\n", 1)[1],
                                           "bob": template + COPIED_COUNT.split('"""Counts words."""\n', 1)[1]}
    result = compare(answers, "mini")
    page = write_report(result, tmp_path)["html"].read_text()
    assert page.count("<mark") > 0, "the shared loop is highlighted"
    assert "How many whitespace-separated" in page
    for marked in page.split("<mark")[1:]:
        assert "whitespace-separated" not in marked.split("</mark>")[0] and "def count_words" not in marked.split("</mark>")[0]
    pairs = pd.read_csv(tmp_path / "pairs.csv")
    listed = {(a, b) for a, b in pairs[pairs["flagged"] & (pairs["task"] == WHOLE)][["student_a", "student_b"]].itertuples(index=False)}
    assert listed == {("ada", "bob")} and "ada and bob:" in page
