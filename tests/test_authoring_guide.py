"""docs/authoring.md: every snippet runs, in order, in a made-up course (the guide's own walk-through)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.authoring import write_course
from tests.support.paths import REPO

GUIDE = REPO / "docs" / "authoring.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUN = {"bash run", "python run"}  # blocks the test runs; "markdown" blocks are cell text, shown as it is


def snippets() -> list[tuple[str, str]]:
    """(info string, code) of every fenced block of the guide, in order."""
    return [(info.strip(), code) for info, code in FENCE.findall(GUIDE.read_text())]


def test_every_snippet_is_run_or_is_cell_text():
    found = snippets()
    assert {info for info, _ in found} <= RUN | {"markdown"}, [info for info, _ in found]
    assert sum(info in RUN for info, _ in found) >= 8
    assert "(docs/authoring.md)" in (REPO / "README.md").read_text()


@pytest.mark.slow
def test_the_guide_runs(tmp_path, monkeypatch):
    """course new, the cell snippets, generate, check (the scaffold passes unchanged), a made-up class graded."""
    course = write_course(tmp_path / "course")
    monkeypatch.chdir(course)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    namespace: dict = {}
    for info, code in snippets():
        if info == "bash run":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{code}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stdout + done.stderr
        elif info == "python run":
            exec(compile(code, str(GUIDE), "exec"), namespace)
    grades = namespace["grades"].set_index("student")  # the guide's last snippet: the class's grades
    assert len(grades) == 2 and (course / "reports/10-early-stopping/grades.csv").exists()
    assert grades.loc["student-01-reference", "test_stop_epoch"] == 2
    assert grades.loc["student-02-untouched", "test_stop_epoch"] == 0
