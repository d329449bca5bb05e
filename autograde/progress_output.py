"""Progress bars in saved outputs as the one line a terminal would show, for pages rendered from notebooks.

A text progress bar (tqdm outside a widget front end, as in a grading kernel) redraws itself with
carriage returns: ``\\r 10%|#  |\\r 20%|## |...``, often split over many stream outputs. A terminal or
JupyterLab shows the last state only; a page rendered from the saved notebook shows every state. nbconvert's
``CoalesceStreamsPreprocessor`` merges the stream outputs and keeps what follows the last carriage return
of each line; it is off unless enabled, so this is that step switched on, for ``feedback_preprocessors``.
"""
from __future__ import annotations

from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from traitlets import Bool


class OneLineProgressBars(CoalesceStreamsPreprocessor):
    """nbconvert's stream coalescing, enabled: a redrawn progress bar keeps only its last line."""

    enabled = Bool(True, help="collapse carriage-return redraws in stream outputs").tag(config=True)

    def __repr__(self) -> str:
        return f"OneLineProgressBars(enabled={self.enabled})"
