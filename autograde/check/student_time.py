"""How long a student needs for a notebook, estimated from what it asks them to read and to do.

The model, in one place (calibrated so that the two chapters a lecturer timed by hand come out near the
lecturer's figures, chapter 5 at 170 and chapter 7 at 180 minutes before they were trimmed; the model
says 164 and 184):

- prose: the markdown a student reads, at ``WORDS_PER_MINUTE`` (slow: it has formulas and plots to look at);
- given code: the lines of code cells the student runs but does not write, at ``CODE_LINES_PER_MINUTE``;
- tasks: ``MINUTES_PER_TASK_POINT`` for each point of autograded code (writing, running, fixing);
- written answers: ``MINUTES_PER_WRITTEN_POINT`` for each point of a hand-graded answer.

Model answers and rubrics (the solution cells students never see) are not counted. Waiting for the
experiments to train is not counted either: ``benchmarks/chapter_full_length.py`` measures it.
"""
from __future__ import annotations

from dataclasses import dataclass

from nbformat import NotebookNode

from autograde.cells import is_answer, is_solution, is_test, nbgrader_metadata

WORDS_PER_MINUTE = 80
CODE_LINES_PER_MINUTE = 5
MINUTES_PER_TASK_POINT = 7
MINUTES_PER_WRITTEN_POINT = 4
LONGEST_MINUTES = 150  # about 2.5 hours: longer chapters are split or trimmed


@dataclass(frozen=True)
class StudentTime:
    """The estimate's parts, in minutes."""

    prose: float
    given_code: float
    tasks: float
    written: float

    @property
    def minutes(self) -> float:
        """The whole estimate."""
        return self.prose + self.given_code + self.tasks + self.written

    def __str__(self) -> str:
        return (f"{self.minutes:.0f} min (prose {self.prose:.0f}, given code {self.given_code:.0f}, "
                f"tasks {self.tasks:.0f}, written answers {self.written:.0f})")


def _graded_points(nb: NotebookNode, cell_type: str) -> float:
    """The points of the notebook's graded cells of one type (code: tests, markdown: written answers)."""
    return sum(float(nbgrader_metadata(cell).get("points") or 0) for cell in nb.cells
               if cell.cell_type == cell_type and nbgrader_metadata(cell).get("grade"))


def estimate(nb: NotebookNode) -> StudentTime:
    """The estimated student time of a source notebook (see the module's docstring for the model)."""
    words = sum(len(cell.source.split()) for cell in nb.cells
                if cell.cell_type == "markdown" and not is_solution(cell))
    given = sum(sum(1 for line in cell.source.splitlines() if line.strip()) for cell in nb.cells
                if cell.cell_type == "code" and not is_answer(cell) and not is_test(cell))
    return StudentTime(prose=words / WORDS_PER_MINUTE, given_code=given / CODE_LINES_PER_MINUTE,
                       tasks=_graded_points(nb, "code") * MINUTES_PER_TASK_POINT,
                       written=_graded_points(nb, "markdown") * MINUTES_PER_WRITTEN_POINT)


def time_warnings(nb: NotebookNode) -> list[str]:
    """A warning for ``course check`` when the notebook is estimated to take longer than ``LONGEST_MINUTES``."""
    found = estimate(nb)
    if found.minutes <= LONGEST_MINUTES:
        return []
    return [f"estimated student time {found}: over {LONGEST_MINUTES} min, about 2.5 hours; split the notebook "
            f"or trim it"]
