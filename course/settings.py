"""The one module of ``course`` that reads the process environment (tests/test_architecture.py checks it).

Each switch is read when asked, so a notebook (or a test) that sets a variable sees it at once:
``NBGRADER_EXECUTION`` (nbgrader is running the notebook), ``COURSE_FAST`` (short experiments, for CI),
``COURSE_DATA_DIR`` (where the data lies) and ``XDG_CACHE_HOME``.
"""
from __future__ import annotations

import os
from pathlib import Path


def graded() -> bool:
    """Whether nbgrader (or ``course grade``, which sets the same variable) is running the notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def fast_requested() -> bool:
    """Whether ``COURSE_FAST`` asks for short experiments (set and not 0, false or no)."""
    return os.environ.get("COURSE_FAST", "").strip().lower() not in ("", "0", "false", "no")


def data_folder() -> Path | None:
    """``COURSE_DATA_DIR``, when set: the folder that holds ``FashionMNIST/raw/``."""
    folder = os.environ.get("COURSE_DATA_DIR")
    return Path(folder).expanduser() if folder else None


def cache_home() -> Path:
    """``XDG_CACHE_HOME``, else ``~/.cache``: where downloads are kept."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
