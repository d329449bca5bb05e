"""nbgrader configuration: this repository is the course directory, its notebooks/ the source."""
import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "deep-learning-pytorch"
c.CourseDirectory.source_directory = "notebooks"

# What a student sees where a solution was.
c.ClearSolutions.code_stub = {"python": '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your answer")'}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Per-cell time limit when nbgrader executes a notebook (autograde, validate).
c.Execute.timeout = 120

# `nbgrader autograde` runs every kernel in the bubblewrap sandbox, under limits (autograde/sandbox/;
# `course grade` always does). Limits (autograde.config.GradingSettings, for both tools):
# c.GradingSettings.memory_bytes, .processes, .output_bytes, .notebook_seconds, .file_bytes;
# c.GradingSettings.require_sandbox = True refuses to run without bubblewrap;
# c.GradingSettings.warm_start = False starts every kernel cold (no zygote).
from autograde.sandbox import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()

# Feedback pages never show hidden tests, their code or their output, whichever tool writes them:
# `course feedback`, `nbgrader generate_feedback` and the formgrader's "Generate Feedback" button. They say
# which answers await a grader, and every page (feedback and the formgrader's) typesets formulas with the
# MathJax installed here (jupyter-server-mathjax), never a CDN (autograde/templates/).
# c.CourseFeedback.refuse_while_pending = True makes `course feedback` refuse while answers await a grader.
from autograde.feedback import feedback_config  # noqa: E402

feedback_config(c)

# nbgrader's exchange (release and collect on a shared server) lives in the course folder, so it exists
# and the formgrader shows no warning; on a multi-user JupyterHub point it at a folder all users share.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
