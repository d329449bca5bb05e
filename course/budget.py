"""How long experiments run: full length for students, short under grading and in CI.

This is the one place that decides it. A notebook writes ``epochs(150)``; a student gets
150 epochs, while ``nbgrader autograde`` (which sets ``NBGRADER_EXECUTION``) and CI
(``COURSE_FAST=1``) get a few, so that grading a whole class stays fast.
"""
from __future__ import annotations

from .settings import fast_requested, graded

FAST_EPOCHS = 2  # enough for every history to have a curve, short enough to grade in seconds


def fast_mode() -> bool:
    """True when the notebook runs under nbgrader or with ``COURSE_FAST=1``."""
    return graded() or fast_requested()


def epochs(n: int, fast: int = FAST_EPOCHS) -> int:
    """Return ``n`` normally, ``min(n, fast)`` under grading or with ``COURSE_FAST=1``."""
    if n < 0:
        raise ValueError(f"epochs(n) needs n >= 0, got {n}")
    return min(n, fast) if fast_mode() else n
