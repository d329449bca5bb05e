"""Feedback pages show a redrawn progress bar as its last line, not every state it went through."""
from __future__ import annotations

import re

from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograde.feedback import feedback_preprocessors
from autograde.progress_output import OneLineProgressBars

BAR = ["epoch 1\n", "  0%|          | 0/30 [00:00<?, ?it/s]\r 40%|####      | 12/30 [00:01<00:01]",
       "\r 80%|########  | 24/30 [00:02<00:00]", "\r100%|##########| 30/30 [00:02<00:00]\n", "done\n"]


def _notebook():
    outputs = [new_output("stream", name="stderr", text=text) for text in BAR]
    return new_notebook(cells=[new_code_cell("train()", outputs=outputs)])


def test_a_redrawn_bar_keeps_its_last_line():
    cell, _ = OneLineProgressBars().preprocess_cell(_notebook().cells[0], {}, 0)
    (output,) = cell.outputs
    assert output.text == "epoch 1\n100%|##########| 30/30 [00:02<00:00]\ndone\n"


def test_feedback_pages_render_one_line_per_bar():
    assert OneLineProgressBars in feedback_preprocessors()
    exporter = HTMLExporter(preprocessors=[OneLineProgressBars])
    html, _ = exporter.from_notebook_node(_notebook())
    assert re.findall(r"\d+/30", html) == ["30/30"]
    plain, _ = HTMLExporter().from_notebook_node(_notebook())
    assert re.findall(r"\d+/30", plain) == ["0/30", "12/30", "24/30", "30/30"]  # what the page showed before
