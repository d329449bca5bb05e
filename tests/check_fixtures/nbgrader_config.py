"""A small course of deliberately broken assignments for tests/test_check.py (notebooks/<assignment>/)."""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "check-fixtures"
c.CourseDirectory.source_directory = "notebooks"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 10
