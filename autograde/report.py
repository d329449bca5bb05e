"""The class report (``course report ASSIGNMENT``): grades.csv, an HTML page with figures, a terminal table."""
from __future__ import annotations

import argparse
import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the report runs on servers without a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from autograde.course_dir import course_directory, load_config, report_dir  # noqa: E402
from autograde.grading.records import read_records  # noqa: E402
from autograde.grading.score import cell_scores  # noqa: E402
from autograde.grading.status import Status  # noqa: E402
from autograde.lms.report_rows import with_roster  # noqa: E402


def load_tables(root: Path, assignment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, results): one row per graded cell from the gradebook; one per notebook run from results.json."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    cells = pd.DataFrame(cell_scores(coursedir.db_url, coursedir.course_id, assignment))
    if cells.empty:
        raise SystemExit(f"course report: no grades for {assignment!r} in the gradebook; run `course grade {assignment}` first")
    records = read_records(root, assignment)
    results = pd.DataFrame(records) if records else pd.DataFrame(
        columns=["student", "notebook", "status", "reason", "duration", "attempts"])
    return cells, _mark_regraded(results, Path(coursedir.root) / coursedir.autograded_directory, assignment)


def _mark_regraded(results: pd.DataFrame, autograded: Path, assignment: str) -> pd.DataFrame:
    """Statuses of students that something else (``nbgrader autograde``, the formgrader) regraded after
    ``course grade`` recorded them: their scores come from the gradebook, their old status would mislead."""
    if results.empty or "graded_at" not in results:
        return results
    results = results.copy()
    for student, rows in results.groupby("student"):
        folder = autograded / student / assignment
        if folder.is_dir() and folder.stat().st_mtime > rows["graded_at"].max() + 1:
            results.loc[rows.index, ["status", "reason"]] = [
                Status.REGRADED, "regraded after course grade (by nbgrader autograde or the formgrader); see the gradebook"]
    return results


def grades_table(cells: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One row per student: total score, max, percent, every cell's score, grading status, reasons, seconds."""
    # A written answer nobody has graded yet is pending: an empty cell, not a 0.
    graded = cells.assign(score=cells["score"].where(~cells["needs_manual_grade"].astype(bool)))
    per_cell = graded.groupby(["student", "cell"])["score"].sum(min_count=1).unstack("cell")
    totals = graded.groupby("student").agg(score=("score", "sum"), max_score=("max_score", "sum"))
    totals["percent"] = (100 * totals["score"] / totals["max_score"]).round(1)
    # The total counts what is graded so far; say how many answers wait for the formgrader.
    totals["to_grade_by_hand"] = cells.groupby("student")["needs_manual_grade"].sum().astype(int)
    table = totals.join(per_cell)
    if not results.empty:
        runs = results.groupby("student").agg(
            status=("status", lambda s: ",".join(sorted(set(s)))),
            reason=("reason", lambda s: "; ".join(r for r in s if r)),
            seconds=("duration", "sum"))
        table = table.join(runs)
        # Students with nothing graded (an empty folder) have no gradebook rows: listed all the same.
        table = pd.concat([table, runs.loc[runs.index.difference(table.index)]])
    return table.rename_axis("student").reset_index()


def _figure_html(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def figures(cells: pd.DataFrame, grades: pd.DataFrame) -> dict[str, object]:
    """The three figures: score histogram, pass rate per question, grading time per submission."""
    out = {}
    fig, ax = plt.subplots(figsize=(6, 3.2))
    best = float(grades["max_score"].max())
    ax.hist(grades["score"], bins=min(20, max(5, int(best) + 1)), range=(0, best), color="tab:blue", edgecolor="white")
    ax.set(xlabel=f"score (out of {best:g})", ylabel="students", title="Scores")
    out["scores"] = fig

    graded = cells[~cells["needs_manual_grade"].astype(bool)]  # pending written answers are not failures
    passed = graded.assign(passed=graded["score"] >= graded["max_score"]).groupby("cell")["passed"].mean()
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(passed) + 1.2))
    ax.barh(passed.index, 100 * passed.values, color="tab:green")
    ax.set(xlim=(0, 100), xlabel="% of students with full points", title="Pass rate per question")
    out["questions"] = fig

    if "seconds" in grades:
        timing = grades.sort_values("seconds")
        colors = ["tab:gray" if s == Status.OK else "tab:orange" if s == Status.RAISED else "tab:red"
                  for s in timing["status"].fillna("")]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(timing) + 1.2))
        ax.barh(timing["student"], timing["seconds"], color=colors)
        ax.set(xlabel="seconds (grey: ok, orange: raised, red: timeout/crash/failed)", title="Grading time per submission")
        out["timing"] = fig
    return out


def write_report(root: Path, assignment: str) -> tuple[Path, Path, pd.DataFrame]:
    """Write reports/<assignment>/grades.csv and report.html; returns (csv, html, grades)."""
    cells, results = load_tables(root, assignment)
    grades = with_roster(root, assignment, grades_table(cells, results))  # names, missing students (LMS)
    folder = report_dir(root, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / "grades.csv", folder / "report.html"
    grades.to_csv(csv_path, index=False)
    images = {name: _figure_html(fig) for name, fig in figures(cells, grades).items()}
    # From results.json: students with nothing graded (an empty folder) are not in the gradebook.
    problems = results[results["status"] != Status.OK] if not results.empty else results
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(assignment)}: class report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} table{{border-collapse:collapse;font-size:90%}}
td,th{{border:1px solid #ccc;padding:2px 6px}} img{{max-width:100%}}</style></head><body>
<h1>{html.escape(assignment)}: class report</h1>
<p>{len(grades)} students; mean {grades['score'].mean():.2f} of {grades['max_score'].max():g} points;
median {grades['score'].median():.2f}. {int(grades['to_grade_by_hand'].sum())} answer(s) wait for grading by hand
(nbgrader formgrader): their cells are empty below, the totals count what is graded so far, and the pass rates
leave them out.</p>
{images['scores']}{images['questions']}{images.get('timing', '')}
<h2>Submissions that did not run cleanly or need attention</h2>
{problems[['student', 'notebook', 'status', 'reason']].to_html(index=False) if len(problems) else '<p>none</p>'}
<h2>All grades</h2>{grades.to_html(index=False, na_rep='')}
</body></html>"""
    html_path.write_text(page)
    return csv_path, html_path, grades


def summary_table(grades: pd.DataFrame) -> str:
    """A compact table for the terminal: student, score, percent, status."""
    columns = [c for c in ("student", "name", "score", "max_score", "percent", "status", "seconds") if c in grades]
    return grades[columns].to_string(index=False, float_format=lambda v: f"{v:.1f}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    csv_path, html_path, grades = write_report(root, args.assignment)
    print(summary_table(grades))
    print(f"{len(grades)} students, mean {grades['score'].mean():.2f}/{grades['max_score'].max():g}; "
          f"wrote {csv_path} and {html_path}")
    return 0
