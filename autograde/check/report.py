"""The results of ``course check`` as tables: one row per notebook, one per task, on the terminal and in HTML."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from autograde.check.mutation_run import MutantStatus
from autograde.pages import render, table

if TYPE_CHECKING:
    from autograde.check.gate import CheckSettings
    from autograde.check.mutation_run import MutantResult
    from autograde.check.verdicts import NotebookCheck


def _mutation_counts(results: list[MutantResult]) -> tuple[int, int, int]:
    """(killed, documented equivalent, total) over the mutants that could be tested."""
    results = [r for r in results if r.status != MutantStatus.NOT_TESTED]
    killed = sum(r.status == MutantStatus.KILLED for r in results)
    equivalent = sum(r.status == MutantStatus.EQUIVALENT for r in results)
    return killed, equivalent, len(results)


def _score(results: list[MutantResult]) -> str:
    """The mutation score: killed and documented equivalent mutants over those tested ("-" for none)."""
    killed, equivalent, total = _mutation_counts(results)
    return f"{100 * (killed + equivalent) / total:.0f}%" if total else "-"


def summary_frame(checks: list[NotebookCheck]) -> pd.DataFrame:
    """One row per notebook: the verdict and each part of the check."""
    rows = []
    for c in checks:
        killed, equivalent, total = _mutation_counts(c.mutants)
        rows.append({
            "assignment": c.assignment if c.notebook == c.assignment else f"{c.assignment}/{c.notebook}",
            "verdict": "ok" if c.ok else "FAIL",
            "solution": "-" if c.solution_score is None else f"{c.solution_score:g}/{c.max_score:g}",
            "student": "-" if c.student_score is None else f"{c.student_score:g}",
            "mutants killed": f"{killed}/{total}" + (f" (+{equivalent} eq.)" if equivalent else ""),
            "mutation score": _score(c.mutants),
            "time (s)": "-" if c.seconds is None else f"{c.seconds:.0f}",
            "problems": len(c.problems),
        })
    return pd.DataFrame(rows)


def task_frame(checks: list[NotebookCheck]) -> pd.DataFrame:
    """One row per task: mutants tried, killed, documented equivalent, surviving, and the mutation score."""
    rows = []
    for c in checks:
        for task in c.task_ids:
            results = [r for r in c.mutants if r.task == task]
            killed, equivalent, total = _mutation_counts(results)
            rows.append({"assignment": c.assignment, "task": task, "mutants": total, "killed": killed,
                         "equivalent": equivalent, "survived": total - killed - equivalent, "score": _score(results)})
    return pd.DataFrame(rows, columns=["assignment", "task", "mutants", "killed", "equivalent", "survived", "score"])


def print_report(checks: list[NotebookCheck], seconds: float, html_path: Path | None = None) -> bool:
    """Print the tables and every problem; returns True when something failed."""
    with pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_colwidth", 60):
        print(summary_frame(checks).to_string(index=False))
        tasks = task_frame(checks)
        if len(tasks):
            print()
            print(tasks.to_string(index=False))
    failed = [c for c in checks if not c.ok]
    for c in checks:
        for problem in c.problems:
            print(f"FAIL {c.assignment}/{c.notebook}: {problem}")
        for warning in c.warnings:
            print(f"warning {c.assignment}/{c.notebook}: {warning}")
    where = f"; report: {html_path}" if html_path else ""
    print(f"checked {len(checks)} notebook(s) in {seconds:.0f} s: {len(checks) - len(failed)} ok, "
          f"{len(failed)} failed{where}")
    return bool(failed)


def write_html(checks: list[NotebookCheck], path: Path, settings: CheckSettings | None = None) -> Path:
    """The report as one self-contained HTML page: tables, problems, surviving mutants with their diffs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = [(c, [r for r in c.mutants if r.status not in (MutantStatus.KILLED, MutantStatus.NOT_TESTED)]) for c in checks]
    path.write_text(render("check.html.j2", checks=shown, settings=None if settings is None else repr(settings),
                           summary=table(summary_frame(checks)), tasks=table(task_frame(checks))))
    return path
