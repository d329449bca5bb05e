"""Progress bars that a saved notebook can show again: a live widget while running, plain text once done.

tqdm's Jupyter bar is an ipywidgets model that lives only as long as the kernel does; a notebook
saved with it, reopened, graded or printed, shows "Error displaying widget: model not found".
Here the widget is shown through an IPython display handle, and when the bar closes the handle is
updated to the bar's final line as text/plain, which is what the notebook then keeps.
"""
from __future__ import annotations

from tqdm.auto import tqdm as auto_tqdm
from tqdm.notebook import tqdm_notebook


class NotebookBar(tqdm_notebook):
    """tqdm's widget bar, replaced by its last text line (or by nothing, with ``leave=False``) when closed."""

    def __init__(self, *args, **kwargs):
        from IPython.display import display

        super().__init__(*args, **kwargs, display=False)
        self._handle = None if self.disable else display(self.container, display_id=True)

    def close(self) -> None:
        if self.disable or self._handle is None:
            return super().close()
        super().close()
        finished = not self.total or self.n >= self.total
        # A bar that stopped early (an error, an interrupt) always leaves its line: it says where.
        record = "" if finished and not self.leave else self.format_meter(**self.format_dict)
        self._handle.update({"text/plain": record}, raw=True)
        self._handle = None
        self.container.close()  # the model is gone; no output refers to it any more


def progress_bar(iterable=None, **kwargs):
    """A ``tqdm.auto`` bar (same arguments); in Jupyter its widget turns into plain text when it closes."""
    if issubclass(auto_tqdm, tqdm_notebook):  # tqdm.auto chose the widget: we are in Jupyter
        return NotebookBar(iterable, **kwargs)
    return auto_tqdm(iterable, **kwargs)
