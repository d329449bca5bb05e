"""The class report (``course report ASSIGNMENT``): grades.csv, an HTML page with figures, a terminal table."""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; the report runs on servers without a display
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from autograde.course_dir import course_directory, load_config, report_dir
from autograde.errors import CourseError
from autograde.grading.records import read_records
from autograde.grading.score import cell_scores
from autograde.grading.status import Status
from autograde.lms.report_rows import with_roster
from autograde.pages import figure_png, render, table


def load_tables(root: Path, assignment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, results): one row per graded cell from the gradebook; one per notebook run from results.json."""
    root = Path(root).resolve()
    config = load_config(root)
    coursedir = course_directory(root, assignment, config)
    cells = pd.DataFrame(cell_scores(coursedir.db_url, coursedir.course_id, assignment))
    if cells.empty:
        raise CourseError(f"course report: no grades for {assignment!r} in the gradebook; run `course grade {assignment}` first")
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
    """One row per student: score, max, percent (of the points graded so far), points graded so far, answers awaiting a grader, every cell's
    score (empty while it awaits a grader), grading status, reasons, seconds."""
    pending = cells["pending"].astype(bool)
    graded = cells.assign(score=cells["score"].where(~pending), graded_max=cells["max_score"].where(~pending, 0))
    per_cell = graded.groupby(["student", "cell"])["score"].sum(min_count=1).unstack("cell")
    totals = graded.groupby("student").agg(score=("score", "sum"), max_score=("max_score", "sum"),
                                           graded_max_score=("graded_max", "sum"))
    # Of the points graded so far: a total that still waits for a grader must not read as final.
    totals["percent"] = (100 * totals["score"] / totals["graded_max_score"].where(lambda m: m > 0)).round(1)
    # The total counts what is graded so far; say which answers wait for the formgrader.
    totals["awaiting_a_grader"] = cells[pending].groupby("student")["cell"].agg(", ".join)
    totals["awaiting_a_grader"] = totals["awaiting_a_grader"].fillna("")
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


def score_text(row: pd.Series) -> str:
    """A student's total as people should read it: "16 of 17 points graded so far" while answers wait."""
    if pd.isna(row["score"]):
        return "not graded"
    if row["awaiting_a_grader"]:
        return (f"{row['score']:g} of {row['graded_max_score']:g} points graded so far "
                f"(awaiting a grader: {row['awaiting_a_grader']}; {row['max_score']:g} in all)")
    return f"{row['score']:g} / {row['max_score']:g}"


def figures(cells: pd.DataFrame, grades: pd.DataFrame) -> dict[str, object]:
    """The three figures: score histogram, pass rate per question, grading time per submission."""
    out = {}
    fig, ax = plt.subplots(figsize=(6, 3.2))
    best = float(grades["max_score"].max())
    scored = grades["score"].dropna()
    ax.hist(scored, bins=min(20, max(5, int(best) + 1)), range=(0, best), color="tab:blue", edgecolor="white")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # students come whole
    ax.set(xlabel=f"score (out of {best:g}; graded so far)", ylabel="students", title="Scores")
    out["scores"] = fig

    graded = cells[~cells["pending"].astype(bool)]  # answers awaiting a grader are not failures
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
        ax.set(xlabel="time (s); grey: ok, orange: raised, red: timeout/crash/failed", title="Grading time per submission")
        out["timing"] = fig
    return out


def problems(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wrong answers, could not run): notebooks whose only errors are failed tests, and every other one not ok."""
    if results.empty:
        return results, results
    not_ok = results[results["status"] != Status.OK]
    wrong = (not_ok["status"] == Status.RAISED) & ~not_ok["reason"].str.contains("could not run", regex=False)
    columns = ["student", "notebook", "status", "reason"]
    return not_ok.loc[wrong, columns], not_ok.loc[~wrong, columns]


def write_report(root: Path, assignment: str) -> tuple[Path, Path, pd.DataFrame]:
    """Write reports/<assignment>/grades.csv and report.html; returns (csv, html, grades)."""
    cells, results = load_tables(root, assignment)
    grades = with_roster(root, assignment, grades_table(cells, results))  # names, missing students (LMS)
    folder = report_dir(root, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / "grades.csv", folder / "report.html"
    grades.to_csv(csv_path, index=False)
    wrong, broken = problems(results)
    shown = grades.assign(score=grades.apply(score_text, axis=1)).rename(columns={"seconds": "time (s)"})
    shown = shown.drop(columns=["max_score", "graded_max_score", "awaiting_a_grader"])
    page = render("report.html.j2", assignment=assignment, grades=grades, figures={
        name: figure_png(fig, name) for name, fig in figures(cells, grades).items()},
        graded=int(grades["score"].notna().sum()), pending=cells[cells["pending"].astype(bool)],
        wrong=table(wrong) if len(wrong) else None, broken=table(broken) if len(broken) else None,
        all_grades=table(shown, float_format=lambda v: f"{v:g}"))
    temporary = html_path.with_name(f".{html_path.name}.tmp")
    temporary.write_text(page)
    temporary.replace(html_path)
    return csv_path, html_path, grades


def summary_table(grades: pd.DataFrame) -> str:
    """A compact table for the terminal: student, score, percent, status."""
    columns = [c for c in ("student", "name", "score", "max_score", "percent", "status", "seconds") if c in grades]
    if grades.get("awaiting_a_grader", pd.Series(dtype=str)).fillna("").any():
        columns.insert(columns.index("percent"), "awaiting_a_grader")
    return grades[columns].to_string(index=False, float_format=lambda v: f"{v:.1f}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="assignment name (a folder under submitted/<student>/)")


def run(args: argparse.Namespace) -> int:
    from autograde.cli import course_root

    root = course_root(args.course)
    csv_path, html_path, grades = write_report(root, args.assignment)
    print(summary_table(grades))
    graded = int(grades["score"].notna().sum())
    print(f"{len(grades)} students, {graded} graded: mean {grades['score'].mean():.2f}/{grades['max_score'].max():g} "
          f"over the {graded} graded; wrote {csv_path} and {html_path}")
    return 0
