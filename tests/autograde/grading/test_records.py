"""results.json and its journal: each student written once, whole; readers see the latest records even
after a killed run (quick: files only, no kernels)."""
from __future__ import annotations

import json
import os
import signal
from dataclasses import asdict

import pytest

from autograde.grading.records import (
    GradeSummary,
    NotebookRecord,
    ResultsFile,
    journal_folder,
    read_records,
    results_path,
)
from autograde.grading.status import Status

A = "a1"


def rows(student: str, status: Status = Status.OK, generation: int = 1, notebooks=("n1", "n2")) -> list[NotebookRecord]:
    return [NotebookRecord(student, notebook, status, f"generation {generation}", attempts=generation, score=1.0,
                           max_score=2.0) for notebook in notebooks]


def shape(root) -> dict[str, list[tuple[str, str, int]]]:
    """What readers see: student -> [(notebook, status, generation)]."""
    seen: dict[str, list] = {}
    for row in read_records(root, A):
        seen.setdefault(row["student"], []).append((row["notebook"], row["status"], row["attempts"]))
    return seen


# Each case: records saved per run (None: the run ends without compaction, as a killed run does), and what
# readers must see afterwards.
@pytest.mark.parametrize("runs, expected", [
    ([{"bo": 1, "al": 1}], {"al": [("n1", "ok", 1), ("n2", "ok", 1)], "bo": [("n1", "ok", 1), ("n2", "ok", 1)]}),
    ([{"al": 1, "bo": 1}, {"bo": 2}], {"al": [("n1", "ok", 1), ("n2", "ok", 1)], "bo": [("n1", "ok", 2), ("n2", "ok", 2)]}),
    ([{"al": 1}, {"al": 2, "killed": None}], {"al": [("n1", "ok", 2), ("n2", "ok", 2)]}),
    ([{"al": 1, "killed": None}, {"bo": 1}], {"al": [("n1", "ok", 1), ("n2", "ok", 1)], "bo": [("n1", "ok", 1), ("n2", "ok", 1)]}),
    ([{"al": 1}, {"al": 0}], {}),  # a student whose records became none: gone from results.json
    ([{}], {}),
])
def test_readers_see_each_students_latest_records(tmp_path, runs, expected):
    for run in runs:
        results = ResultsFile(tmp_path, A)
        for student, generation in run.items():
            if generation is not None:
                results.save(student, rows(student, generation=generation) if generation else [])
        if "killed" not in run:
            results.compact()
            assert not journal_folder(tmp_path, A).exists()
    assert shape(tmp_path) == expected
    ResultsFile(tmp_path, A).compact()  # whatever a killed run left, the next one folds in
    on_disk = json.loads(results_path(tmp_path, A).read_text()) if results_path(tmp_path, A).exists() else []
    assert on_disk == read_records(tmp_path, A)
    assert [(r["student"], r["notebook"]) for r in on_disk] == sorted((r["student"], r["notebook"]) for r in on_disk)


def test_a_run_that_recorded_nothing_writes_no_results_json(tmp_path):
    assert ResultsFile(tmp_path, A).compact() == results_path(tmp_path, A)
    assert not results_path(tmp_path, A).exists() and read_records(tmp_path, A) == []


@pytest.mark.parametrize("status, kept", [
    (Status.OK, True), (Status.RAISED, True), (Status.TAMPERED, True), (Status.FAILED, True), (Status.MISSING, True),
    (Status.IGNORED, True), (Status.EMPTY, False), (Status.UNUSABLE, False), (Status.PENDING, False),
])
@pytest.mark.parametrize("compacted", [True, False])
def test_previous_records_are_the_recorded_grades(tmp_path, status, kept, compacted):
    earlier = ResultsFile(tmp_path, A)
    earlier.save("al", rows("al", status) + rows("al", Status.OK, notebooks=("n3",)))
    earlier.save("bo", rows("bo", Status.RAISED))
    if compacted:
        earlier.compact()
    previous = ResultsFile(tmp_path, A).previous("al")
    assert [(r.notebook, r.status) for r in previous] == [(n, status) for n in ("n1", "n2") if kept] + [("n3", Status.OK)]
    assert all(isinstance(r.status, Status) for r in previous)
    assert ResultsFile(tmp_path, A).previous("nobody") == []


def test_a_write_killed_half_way_is_ignored(tmp_path):
    results = ResultsFile(tmp_path, A)
    results.save("al", rows("al"))
    (journal_folder(tmp_path, A) / ".bo.json.123.partial").write_text('{"student": "bo", "rec')  # killed mid-write
    assert set(shape(tmp_path)) == {"al"}
    results.compact()
    assert set(shape(tmp_path)) == {"al"}


def record_class(root, students: int, acknowledge) -> None:
    """A run's bookkeeping for a class: each student's new records, acknowledged once saved; then compaction."""
    results = ResultsFile(root, A)
    for i in range(students):
        results.save(f"s{i:03d}", rows(f"s{i:03d}", generation=2))
        acknowledge(f"s{i:03d}")
    acknowledge("compacting")
    results.compact()
    acknowledge("done")


def killed_after(lines: int, run) -> list[str]:
    """Run ``run(acknowledge)`` in a forked process and SIGKILL it once it has acknowledged ``lines`` lines."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no pytest teardown, no exit handlers
        os.close(read)
        try:
            run(lambda line: os.write(write, f"{line}\n".encode()))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        acknowledged = [pipe.readline().strip() for _ in range(lines)]
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return acknowledged


@pytest.mark.parametrize("kill_after", [1, 20, 31])  # 31: while it compacts (or just after)
def test_a_killed_run_leaves_every_record_whole_and_none_lost(tmp_path, kill_after):
    """SIGKILL a real process that records a class of 30: every student it acknowledged has its new
    records, every other one its old records, each whole; the next run's compaction loses nothing."""
    students = 30
    results_path(tmp_path, A).parent.mkdir(parents=True)
    results_path(tmp_path, A).write_text(json.dumps([asdict(r) for i in range(students)
                                                     for r in rows(f"s{i:03d}", generation=1)]))
    acknowledged = killed_after(kill_after, lambda acknowledge: record_class(tmp_path, students, acknowledge))
    seen = shape(tmp_path)
    assert sorted(seen) == [f"s{i:03d}" for i in range(students)]
    for student, notebooks in seen.items():
        generation = notebooks[0][2]
        assert notebooks == [("n1", "ok", generation), ("n2", "ok", generation)], student
        assert generation == 2 or student not in acknowledged, student
    ResultsFile(tmp_path, A).compact()
    assert shape(tmp_path) == seen and not journal_folder(tmp_path, A).exists()


@pytest.mark.parametrize("records, expected", [
    ([], "graded 0 submission(s) of a1 (0 notebooks) in 1.5 s on 2 local worker(s): nothing graded"),
    (rows("al") + rows("bo", Status.RAISED),
     "graded 2 submission(s) of a1 (4 notebooks) in 1.5 s on 2 local worker(s): 2 ok, 2 raised; mean score 2.00/4"),
    (rows("al", notebooks=("n1",)) + [NotebookRecord("bo", "", Status.EMPTY, "no notebook")],
     "graded 1 submission(s) of a1 (1 notebooks) in 1.5 s on 2 local worker(s): 1 ok; mean score 1.00/2; "
     "1 need(s) attention (listed above)"),
])
def test_summary_line(records, expected):
    summary = GradeSummary(A, records, seconds=1.5, workers="2 local worker(s)")
    assert summary.line() == expected
    assert [r.label for r in summary.attention] == [r.label for r in records if r.status.needs_attention]
