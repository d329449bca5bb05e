"""`course check`: mutation operators, metadata checks, and real runs on broken fixture assignments and a chapter."""
from __future__ import annotations

import re
import time

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograde import cli
from autograde.check.gate import CheckSettings, check_assignments
from autograde.check.metadata_lint import metadata_problems, stated_points, tasks
from autograde.check.mutate import defined_names, equivalent_ids, mutants, select, solution_lines
from autograde.check.mutation_run import CellTimeouts, MutantStatus
from tests.support.paths import FIXTURES, REPO

CHECK_COURSE = FIXTURES / "check"

ANSWER = '''def normalize_rows(X):
    """Every row divided by its sum."""
    ### BEGIN SOLUTION
    total = X.sum(dim=1, keepdim=True)
    return X / total + 0.0
    ### END SOLUTION
'''


def _diffs(source: str) -> dict[str, str]:
    """Description -> the changed line, stripped ("+new code")."""
    return {m.description: "+" + m.diff.splitlines()[-1][1:].strip() for m in mutants(source)}


def test_operators_change_only_the_solution_block():
    found = _diffs(ANSWER)
    assert found["axis 1 -> 0"] == "+total = X.sum(dim=0, keepdim=True)"
    assert found["keepdim=True -> False"] == "+total = X.sum(dim=1, keepdim=False)"
    assert found["`sum` -> `mean`"] == "+total = X.mean(dim=1, keepdim=True)"
    assert found["`/` -> `*`"] == "+return X * total + 0.0"
    assert found["drop `+ 0.0`"] == "+return X / total"
    assert found["0.0 -> 1.0"] == "+return X / total + 1.0"
    # the signature and the docstring are given to students, so they are never mutated
    assert all(m.line in solution_lines(ANSWER) for m in mutants(ANSWER))
    assert solution_lines(ANSWER) == {4, 5}


def test_more_operators_and_layout_kept():
    source = ("def f(xs, n):\n    out = xs\n    for x in xs:\n        out += x  # keep me\n"
              "    if n > 0 and not xs:\n        out.clear()\n    return out\n")
    found = _diffs(source)
    assert found["`+=` -> `-=`"] == "+out -= x  # keep me"
    assert found["in place -> out of place"] == "+out = out + x  # keep me"
    assert found["`>` -> `>=`"] == "+if n >= 0 and not xs:"
    assert found["`and` -> `or`"] == "+if n > 0 or not xs:"
    assert found["delete `out.clear()`"] == "+pass"
    assert found["return `n` instead of `out`"] == "+return n"
    assert found["condition negated"].startswith("+if not (n > 0 and")
    for mutant in mutants(source):
        compile(mutant.source, "mutant", "exec")  # every mutant is valid Python


def test_ids_are_stable_and_notes_are_read():
    first = {m.id: m.diff for m in mutants(ANSWER)}
    moved = {m.id: m.diff for m in mutants("import math\n\n" + ANSWER)}  # lines elsewhere change, ids do not
    assert first == moved and len(first) == len(mutants(ANSWER))
    some = next(iter(first))
    assert equivalent_ids(f"x = 1\n# equivalent-mutant: {some} same for 2-d inputs\n") == {some: "same for 2-d inputs"}
    assert mutants("%time x = 1") == []  # magics do not parse: nothing to mutate


def test_select_caps_and_spreads_over_operators():
    found = mutants(ANSWER)
    chosen = select(found, 4)
    assert len(chosen) == 4 and len({m.operator for m in chosen}) == 4
    assert select(found, None) == found


def test_defined_names_skip_rebinding_and_imports():
    assert defined_names("import numpy as np\ndef f(): pass\nclass C: pass\nw = 2\nnet = net.to('cpu')\n") == ["f", "C", "w"]


def _cell(source, grade_id, *, grade=False, solution=False, locked=False, points=None):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": grade, "grade_id": grade_id, "locked": locked, "solution": solution,
                                 "schema_version": 3, "task": False, **({"points": points} if points else {})}
    return cell


def _answer(name: str) -> str:
    return f"def {name}():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"


def test_metadata_problems_name_each_mistake():
    nb = new_notebook(cells=[
        new_markdown_cell("# Chapter\n\nThis notebook is worth **9 points**: 5 points for code that is graded automatically."),
        _cell(_answer("f"), "f", solution=True),
        _cell("f()", "test_f", grade=True, points=2),  # not locked, asserts nothing
        _cell(_answer("g"), "g", solution=True),  # no test follows
        _cell(_answer("h"), "h", solution=True),
        _cell("assert h() == 3", "test_h", grade=True, locked=True, points=2),
    ])
    problems = "\n".join(metadata_problems(nb))
    assert "test cell test_f (In [2]) is not locked" in problems
    assert "test cell test_f (In [2]) asserts nothing" in problems
    assert "answer cell g (In [3]) is not followed by a test cell" in problems
    assert "states 9 points but the graded cells add up to 4" in problems
    assert "states 5 automatically graded points but the test cells add up to 4" in problems
    assert [(t.answer_id, t.test_ids) for t in tasks(nb)] == [("f", ["test_f"]), ("g", []), ("h", ["test_h"])]
    nb.cells[4].metadata.nbgrader["grade_id"] = "f"
    problems = metadata_problems(nb)  # nbgrader refuses duplicated ids: that alone, not what follows from it
    assert problems[0] == "grade_id 'f' is used by f (In [1]) and f (In [4]); grade_ids must be unique"
    assert not any("states 9 points" in p for p in problems)


@pytest.mark.parametrize("text, expected", [
    ("This notebook is worth **13 points**: 11 points for code that is graded automatically and 2 for", (13, 11)),
    ("**Points:** 16 in total (13 checked automatically, 3 for written answers)", (16, 13)),
    ("Total: 20 points", (20, None)),
    ("No statement here.", (None, None)),
])
def test_stated_points_conventions(text, expected):
    assert stated_points(new_notebook(cells=[new_markdown_cell(text)])) == expected


@pytest.fixture(scope="module")
def fixture_results(tmp_path_factory) -> dict:
    """One real check of the broken fixture assignments (sandboxed kernels, nbgrader, mutants)."""
    settings = CheckSettings(workers=2, max_mutants=20, mutant_timeout=3, time_limit=60, progress=False)
    results = check_assignments(CHECK_COURSE, ["good", "wrong-solution", "duplicate-ids", "student-crash"], settings,
                                workdir=tmp_path_factory.mktemp("check-work"))
    return {r.assignment: r for r in results}


@pytest.mark.slow
def test_sound_assignment_passes_with_documented_equivalents(fixture_results):
    good = fixture_results["good"]
    assert good.ok, good.problems
    assert (good.solution_score, good.max_score, good.student_score) == (7, 7, 0)
    statuses = {r.mutant.id: r.status for r in good.mutants}
    documented = ["m5b658ca", "mfc61a89", "m584aa03", "mf43183e"]  # the notebook's equivalent-mutant notes
    assert [statuses[m] for m in documented] == ["equivalent"] * 4
    assert sum(s == "killed" for s in statuses.values()) == len(statuses) - 4
    # endless mutants (the loop counter never reaches n) are stopped by the per-cell limit and lose points
    endless = [r for r in good.mutants if r.mutant.description in ("`+=` -> `-=`", "delete `steps += 1`")]
    assert len(endless) == 2 and all(r.status == MutantStatus.KILLED and r.detail == "test_count_up: stopped at the mutant time limit (3 s)"
                                     for r in endless)
    assert good.seconds is not None and 0 < good.seconds < 60


@pytest.mark.slow
def test_solution_that_loses_points_fails(fixture_results):
    wrong = fixture_results["wrong-solution"]
    assert not wrong.ok
    assert (wrong.solution_score, wrong.max_score) == (2, 4)
    problems = "\n".join(wrong.problems)
    assert "earns" not in problems  # the failing test says where it lost its points
    assert "the solution fails test_square (In [3]) of task square: line 2: `assert square(3) == 9, square(3)` -> AssertionError: 6" in problems
    statuses = {r.task: set() for r in wrong.mutants}
    for r in wrong.mutants:
        statuses[r.task].add(r.status)
    assert statuses == {"square": {"not tested"}, "cube": {"killed"}}  # a failing task's mutants prove nothing


@pytest.mark.slow
def test_duplicated_grade_ids_fail(fixture_results):
    duplicate = fixture_results["duplicate-ids"]
    assert not duplicate.ok
    assert "grade_id 'add' is used by add (In [2]) and add (In [4]); grade_ids must be unique" in duplicate.problems


@pytest.mark.slow
def test_student_version_that_crashes_fails(fixture_results):
    crash = fixture_results["student-crash"]
    assert not crash.ok and crash.solution_score == crash.max_score == 2 and crash.student_score == 0
    assert crash.problems == ["test cell test_half (In [3]) crashes on its own in the student version: line 5: "
                              "`assert value + 0 == 2  # ...and crashes here with a TypeError instead` -> TypeError: unsupported operand type(s) for +: "
                              "'NoneType' and 'int'"]


@pytest.mark.slow
def test_cli_fails_on_a_test_that_asserts_nothing(tmp_path, capsys):
    html = tmp_path / "check.html"
    status = cli.main(["--course", str(CHECK_COURSE), "check", "no-assert", "--html", str(html), "--mutant-timeout", "3"])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL no-assert/no-assert: test cell test_double (In [3]) asserts nothing" in out
    survivors = re.findall(r"double: mutant (m[0-9a-f]{7}) survived", out)
    assert len(survivors) >= 3  # `*` -> `/`, constants, dropped factors: nothing notices
    assert re.search(r"no-assert\s+FAIL\s+2/2\s+0\s+0/\d+\s+0%", out), out
    page = html.read_text()
    assert all(s in page for s in survivors) and "+    return 2 / x" in page


@pytest.mark.slow
def test_chapter_01_passes(tmp_path, data_env):
    """The first chapter of the course, as CI would check it (the whole course takes minutes; see the report)."""
    results = check_assignments(REPO, ["01-tensors"], CheckSettings(workers=2, progress=False), workdir=tmp_path / "work")
    (chapter,) = results
    assert chapter.ok, chapter.problems
    assert chapter.solution_score == chapter.max_score == 11 and chapter.student_score == 0
    assert len(chapter.mutants) >= 20 and all(r.status == MutantStatus.KILLED for r in chapter.mutants)


def test_replayed_tests_get_time_in_proportion_to_the_original():
    timeouts = CellTimeouts(default=120, factor=1000)
    original = _cell("assert slow()", "test_slow", grade=True, locked=True, points=1)
    replay = new_code_cell("assert slow()")
    replay.metadata["course_check"] = {"role": "replay", "timeout": 3, "nbgrader": dict(original.metadata["nbgrader"])}
    mutant = new_code_cell("def slow(): pass")
    mutant.metadata["course_check"] = {"role": "mutant", "timeout": 3}
    assert timeouts(original) == 120  # original cells keep the course's limit
    time.sleep(0.05)
    assert timeouts(mutant) == 3  # a mutated answer gets the short limit
    assert 50 <= timeouts(replay) <= 120  # the replayed test: 1000 x its 0.05 s, capped by the course's limit
