"""The LMS's class in ``course report``: every student's name, and roster students who handed in nothing."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from autograde.lms.state import load_state

MISSING = "missing"
MISSING_REASON = "in the LMS roster; handed in nothing"


def with_roster(root: Path, assignment: str, grades: pd.DataFrame) -> pd.DataFrame:
    """``grades`` (one row per student) with a ``name`` column and a row per roster student without a submission;
    unchanged when the assignment was not collected from an LMS."""
    state = load_state(root, assignment)
    if state is None:
        return grades
    missing = state.missing(set(grades["student"]))
    rows = pd.DataFrame({"student": missing, "status": MISSING, "reason": MISSING_REASON})
    table = pd.concat([grades, rows], ignore_index=True) if missing else grades.copy()
    names = {sid: person.full_name for sid, person in state.people.items()}
    table.insert(1, "name", table["student"].map(names).fillna(""))
    return table
