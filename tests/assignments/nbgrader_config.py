"""A small course for the grading tests: tests/assignments/<assignment>/ as the source folder."""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "grading-tests"
c.CourseDirectory.source_directory = "source"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.Execute.timeout = 4  # short, so an endless loop costs the tests seconds

# As in the bundled course: feedback hides hidden tests in every tool (autograde/feedback.py).
from autograde.feedback import feedback_preprocessors  # noqa: E402

c.GenerateFeedback.preprocessors = feedback_preprocessors()
