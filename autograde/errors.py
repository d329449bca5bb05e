"""The one exception library code raises for a problem the user can fix.

Library functions (``grade()``, ``similarity()``, ``collect()``...) raise :class:`CourseError` with the
message a person needs: what is wrong and what to do. Only ``cli.main`` turns it into an exit code, so
every function can also be called from a notebook, a test or a server extension.
"""
from __future__ import annotations


class CourseError(Exception):
    """Something the user can fix; the message says what and how. ``course`` prints it and exits 1."""

    exit_code = 1
