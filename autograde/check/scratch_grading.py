"""Every call of ``course check`` into ``autograde.grading``, in one place: the scratch course graded along
``course grade``'s own path (prepare, execute in the worker pool, nbgrader's scoring, the gradebook's scores)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from autograde.check.mutation_run import CellTimeouts
from autograde.config import GradingSettings
from autograde.course_dir import course_directory
from autograde.grading.execute import ExecutionResult
from autograde.grading.pool import ExecuteSettings, run_local
from autograde.grading.prepare import Job, Reference, Submission, make_autograder, prepare_submission
from autograde.grading.score import cell_scores, score_notebook
from autograde.sandbox import choose_kernel_manager


@dataclass
class ScratchGrading:
    """``course grade``'s own path through the scratch course: prepare, execute, score, read the scores."""

    scratch: Path
    config: Config
    execute: ExecuteSettings
    workers: int
    converters: dict = field(default_factory=dict)  # assignment -> (NbgraderAutograde, Reference)

    @classmethod
    def for_course(cls, scratch: Path, config: Config, grading: GradingSettings | None,
                   kernel_manager_class: str | None, workers: int) -> ScratchGrading:
        """Execution settings as ``course grade`` builds them (``grading`` None: the config's), plus per-cell
        limits for the injected cells."""
        grading = grading if grading is not None else GradingSettings.for_course(config)
        execute = ExecuteSettings.for_course(config, grading, kernel_manager_class)
        if execute.kernel_manager_class is None:  # as course grade: the sandbox, refused or warned about
            execute.kernel_manager_class = choose_kernel_manager(grading.require_sandbox, "check")
        execute.execute_options["timeout_func"] = CellTimeouts(grading.cell_seconds)
        return cls(scratch, config, execute, workers)

    def prepare(self, assignment: str, student: str, notebooks: list[str]) -> Submission:
        """One made-up student's submitted notebooks, sanitised into jobs (inside ``in_course``)."""
        if assignment not in self.converters:
            autograde = make_autograder(course_directory(self.scratch, assignment, self.config), self.config)
            self.converters[assignment] = (autograde, Reference.load(autograde, assignment, notebooks))
        autograde, reference = self.converters[assignment]
        return prepare_submission(autograde, reference, student)

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, ExecutionResult]]:
        """Execute the jobs in the worker pool, yielding each as it finishes."""
        for job, result, _ in run_local(jobs, self.execute, self.workers):
            yield job, result

    def run_one(self, job: Job) -> ExecutionResult:
        """Execute one job here, outside the pool."""
        return self.execute.run(job)

    def score(self, job: Job, result: ExecutionResult) -> None:
        """Score an executed notebook into the scratch gradebook, as ``course grade`` does."""
        score_notebook(self.converters[job.assignment][0], job.assignment, job.student, job.notebook, result)

    def scores(self, assignment: str, student: str, notebook: str) -> dict[str, tuple[float, float]]:
        """Cell grade_id -> (points, most) of one notebook of one made-up student, from the gradebook."""
        coursedir = course_directory(self.scratch, assignment, self.config)
        return {r["cell"]: (r["auto_score"] or 0.0, r["max_score"])
                for r in cell_scores(coursedir.db_url, coursedir.course_id, assignment)
                if r["student"] == student and r["notebook"] == notebook and r["auto_score"] is not None}
