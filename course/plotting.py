"""Plots of training histories: a live grid of experiments with a results table, layer statistics, images."""
from __future__ import annotations

import io
import time
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from . import training
from .settings import graded


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _display(obj):
    """Show ``obj`` in Jupyter and return its display handle (to update it in place); None elsewhere."""
    if not _in_notebook():
        return None
    from IPython.display import display
    return display(obj, display_id=True)


class _FigureImage:
    """A figure shown as one PNG drawn at its own layout: the inline backend's 'tight' bounding box would
    draw it twice, and a HistoryPlotter's fixed margins already hold every label."""

    def __init__(self, fig):
        self.fig = fig

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return repr(self.fig)


# A HistoryPlotter grid's margins in inches: room for tick labels, axis labels and titles. Fixed margins
# draw a 4 x 5 grid in about a third of the time constrained layout takes, at every live redraw.
GRID_MARGINS = {"left": 0.55, "right": 0.15, "bottom": 0.55, "top": 0.35, "between_columns": 0.6, "between_rows": 0.95}


def _grid_spacing(rows: int, cols: int, width: float, height: float) -> dict:
    """subplots' gridspec_kw for a rows x cols grid in a width x height (inches) figure with GRID_MARGINS."""
    margins = GRID_MARGINS
    axes_width = (width - margins["left"] - margins["right"] - (cols - 1) * margins["between_columns"]) / cols
    axes_height = (height - margins["bottom"] - margins["top"] - (rows - 1) * margins["between_rows"]) / rows
    return {"left": margins["left"] / width, "right": 1 - margins["right"] / width,
            "bottom": margins["bottom"] / height, "top": 1 - margins["top"] / height,
            "wspace": margins["between_columns"] / axes_width, "hspace": margins["between_rows"] / axes_height}


def _flatten(table) -> list[str]:
    """The seeds pass the table keys as a flat list or as a list of lists."""
    keys = []
    for item in table or []:
        keys.extend([item] if isinstance(item, str) else list(item))
    return keys


# Live redraws are paid for with their rendering time (up to a second for a large grid) from a budget
# that starts at LIVE_BURST seconds and grows by LIVE_SHARE of the time that passes: short runs are
# drawn at every epoch, long runs of quick epochs spend at most about a tenth of their time drawing.
LIVE_SHARE, LIVE_BURST = 0.1, 2.0


class HistoryPlotter:
    """A grid of plots, one cell of ``len(plots)`` axes per experiment, updated in place; a table at the end.

    ``plots`` is a list of ``{'x': key, 'y': [keys]}``; ``table`` lists the keys whose final
    values go into the results table. In Jupyter the figure is live: while ``fit`` runs, the
    running experiment's curves are redrawn after every epoch in the next free cell (after fewer
    when epochs are quicker than drawing, see LIVE_SHARE). Under nbgrader, ``done()`` draws it once.
    """

    def __init__(self, plots: Sequence[dict], table=(), rows: int = 1, cols: int = 1):
        if rows < 1 or cols < 1:
            raise ValueError(f"HistoryPlotter needs rows >= 1 and cols >= 1, got rows={rows}, cols={cols}")
        self.plots = list(plots)
        self.table = _flatten(table)
        self.rows, self.cols = rows, cols
        self.histories: dict = {}
        self.results: list[tuple[str, dict]] = []
        width = cols * len(self.plots)
        size = (3.5 * width, 3 * rows)
        self.fig, self.axs = plt.subplots(nrows=rows, ncols=width, squeeze=False, sharex="col", figsize=size,
                                          gridspec_kw=_grid_spacing(rows, width, *size))
        plt.close(self.fig)  # shown through a display handle, so Jupyter does not draw it twice
        self._filled: list[tuple[int, int]] = []  # cells in the order add() filled them
        self._running = None  # the history fit is filling now, drawn in self._live_cell
        self._live_cell: tuple[int, int] | None = None
        self._live_lines: list = []
        self._drawn_epochs = 0  # epochs of the running experiment the figure shows
        self._colours: dict[str, str] = {}  # series name -> colour, the same in every cell and redraw
        self._credit, self._credited_at = LIVE_BURST, time.perf_counter()  # seconds of drawing allowed
        # Under nbgrader nobody watches: the figure is shown once, by done(), which saves seconds per fit.
        self._handle = None if graded() else _display(_FigureImage(self.fig))
        if self._handle is not None:
            training.epoch_watcher, training.stop_watcher = self._epoch, self._stopped

    def add(self, title: str, history, row: int = 0, col: int = 0) -> None:
        """Plot one experiment's history in grid cell (row, col) and remember its final values."""
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise ValueError(f"cell (row={row}, col={col}) is outside the {self.rows} x {self.cols} grid "
                             f"this HistoryPlotter was made with; pass a larger rows= or cols=")
        self._clear_live()
        self.histories[title] = history
        self.results.append((title, {key: history[key][-1] for key in self.table}))
        self._filled.append((row, col))
        self._draw(title, history, row, col)
        if self._handle is not None:
            self._show()

    def _cell_axes(self, row: int, col: int) -> list:
        return [self.axs[row, col * len(self.plots) + index] for index in range(len(self.plots))]

    def _draw(self, title: str, history, row: int, col: int) -> list:
        """Draw ``history``'s curves in cell (row, col); returns the new lines."""
        lines = []
        for plot, ax in zip(self.plots, self._cell_axes(row, col)):
            x = history[plot["x"]]
            for key in plot["y"]:
                # A single point draws no line: mark it, so the first epoch shows.
                lines += ax.plot(x, history[key], label=key, color=self._colour(key),
                                 marker="o" if len(x) == 1 else None)
            if plot.get("type") == "accuracy" or "accuracy" in plot["y"][0]:
                ax.set_ylim(0, 1.01)
            if plot["x"] == "epochs" or plot["x"].endswith("steps"):  # counts: no ticks at 0.5
                ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # as many as fit
            ax.set_xlabel(plot["x"])
            ax.set_title(title)
            ax.legend(fontsize="small")
        return lines

    def _colour(self, key: str) -> str:
        """The colour of series ``key``: the next of matplotlib's cycle the first time it is drawn, then always."""
        if key not in self._colours:
            cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            self._colours[key] = cycle[len(self._colours) % len(cycle)]
        return self._colours[key]

    def _next_cell(self) -> tuple[int, int] | None:
        """The free cell the next add() will most likely fill: row by row, or column by column when
        the last two adds went down a column."""
        cells = [(row, col) for row in range(self.rows) for col in range(self.cols)]
        if len(self._filled) >= 2:
            (row0, col0), (row1, col1) = self._filled[-2:]
            if col1 == col0 and row1 == row0 + 1:
                cells.sort(key=lambda cell: (cell[1], cell[0]))
        return next((cell for cell in cells if cell not in self._filled), None)

    def _epoch(self, history) -> None:
        """``fit``'s on_epoch: redraw the running experiment's curves so far."""
        if history is not self._running:  # a new fit
            keys = {key for plot in self.plots for key in (plot["x"], *plot["y"])}
            self._clear_live()
            self._running = history
            self._live_cell = self._next_cell() if keys <= set(history) else None
        now = time.perf_counter()
        self._credit = min(LIVE_BURST, self._credit + LIVE_SHARE * (now - self._credited_at))
        self._credited_at = now
        if self._live_cell is None or self._credit <= 0:
            return
        self._redraw_live(history)

    def _redraw_live(self, history) -> None:
        """Draw the running experiment's curves so far, titled with the epochs they hold."""
        self._remove_live_lines()
        self._drawn_epochs = len(history[self.plots[0]["x"]])
        self._live_lines = self._draw(f"training: epoch {self._drawn_epochs}", history, *self._live_cell)
        self._credit -= self._show()

    def _stopped(self, history) -> None:
        """``fit`` stopped early: show its last completed epoch, even if the drawing budget skipped it."""
        if history is self._running and self._live_cell is not None and \
                len(history[self.plots[0]["x"]]) != self._drawn_epochs:
            self._redraw_live(history)

    def _remove_live_lines(self) -> None:
        for line in self._live_lines:
            line.remove()
        self._live_lines = []

    def _clear_live(self) -> None:
        """Take the running experiment's curves off the figure (add() draws the finished ones)."""
        self._remove_live_lines()
        if self._live_cell is not None and self._live_cell not in self._filled:
            for ax in self._cell_axes(*self._live_cell):  # a wrong guess: leave the cell blank again
                ax.set_title("")
                if ax.get_legend() is not None:
                    ax.get_legend().remove()
                ax.relim()
                ax.autoscale_view()
        self._running, self._live_cell = None, None

    def _show(self) -> float:
        """Redraw the figure in its display (the costly part: rendering the image); returns the seconds taken."""
        started = time.perf_counter()
        self._handle.update(_FigureImage(self.fig))
        return time.perf_counter() - started

    def table_frame(self) -> pd.DataFrame:
        """The results table: one row per experiment, one column per table key."""
        return pd.DataFrame([{"experiment": title, **row} for title, row in self.results])

    def print_table(self) -> pd.DataFrame:
        """Show the results table (a pandas DataFrame in Jupyter, text elsewhere) and return it."""
        frame = self.table_frame()
        if _display(frame) is None:
            print(frame.to_string(index=False))
        return frame

    def done(self) -> None:
        """Finish: final figure, then the results table."""
        self._clear_live()
        if training.epoch_watcher == self._epoch:
            training.epoch_watcher, training.stop_watcher = None, None
        if self._handle is not None:
            self._show()
        else:
            _display(_FigureImage(self.fig))
        self.print_table()

    def __repr__(self) -> str:
        return (f"HistoryPlotter({len(self.results)} experiments in a {self.rows} x {self.cols} grid, "
                f"{len(self.plots)} plots each)")


def plot_layer_stats(layers: int, history, phases=("train", "validation")):
    """Mean (top row) and std (bottom row) of each layer's output against epochs (chapters 8, 9)."""
    size = (3.5 * layers, 3 * 2)
    fig, axs = plt.subplots(ncols=layers, nrows=2, squeeze=False, figsize=size,
                            gridspec_kw=_grid_spacing(2, layers, *size))
    for layer in range(layers):
        for row, stat in enumerate(("mean", "std")):
            ax = axs[row, layer]
            for phase in phases:
                keys = [key for key in history if key.startswith(f"{phase} {layer}:")
                        and key.endswith(f" output {stat}")]
                if keys:
                    ax.plot(history["epochs"], history[keys[0]], label=f"{phase} output {stat}")
                    ax.set_title(keys[0].replace(f" output {stat}", "").replace(f"{phase} ", ""))
            ax.set_xlabel("epochs")
            ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
            if ax.lines:
                ax.legend(fontsize="small")
    return fig


def last_layer_key(history, phase: str = "train", stat: str = "abs mean") -> str:
    """The history key of the final layer's output statistic, e.g. ``'train 4: Linear output abs mean'``."""
    keys = [key for key in history if key.startswith(f"{phase} ") and key.endswith(f" output {stat}")
            and key.split(":")[0].split(" ")[-1].isdigit()]
    if not keys:
        raise KeyError(f"no '{phase} N: ... output {stat}' key in this history; fit it with layer_stats=True")
    return max(keys, key=lambda key: int(key.split(":")[0].split(" ")[-1]))


def plot_output_stats(history, title: str = "", epochs: Sequence[int] | None = None):
    """Accuracy, loss, the mean |logit| and histograms of the logits at some epochs (chapter 6)."""
    fig, axs = plt.subplots(ncols=2, nrows=2, figsize=(12, 8))
    for ax, metric in zip(axs[0], ("accuracy", "loss")):
        for phase in ("train", "validation"):
            ax.plot(history["epochs"], history[f"{phase} {metric}"], label=f"{phase} {metric}")
        ax.set(xlabel="epochs", ylabel=metric, title=title)
        ax.legend()
    axs[1, 0].plot(history["epochs"], history[last_layer_key(history)], label="output before softmax (training set)")
    axs[1, 0].set(xlabel="epochs", ylabel="mean absolute output", title=f"Output before softmax {title}")
    axs[1, 0].legend()
    count = len(history["epochs"])
    if epochs is None:
        epochs = sorted({count - 1, count // 2, count // 6, 1, 0} & set(range(count)), reverse=True)
    for epoch in epochs:
        axs[1, 1].hist(np.asarray(history["train outputs"][epoch]).ravel(), bins=50, alpha=0.5,
                       label=f"epoch {epoch}")
    axs[1, 1].set(xlabel="output before softmax (training set)", ylabel="number of values",
                  title=f"Output before softmax {title}")
    axs[1, 1].legend()
    fig.tight_layout()
    return fig


def show_images(images, labels=None, class_names: Sequence[str] | None = None, n: int = 10, side: int = 28):
    """Show the first ``n`` flattened images in a row, titled with their class names."""
    n = min(n, len(images))
    fig, axs = plt.subplots(1, n, figsize=(1.3 * n, 1.6), squeeze=False)
    for i, ax in enumerate(axs[0]):
        ax.imshow(np.asarray(images[i]).reshape(side, side), cmap="gray_r")
        ax.axis("off")
        if labels is not None:
            label = int(labels[i])
            ax.set_title(class_names[label] if class_names else str(label), fontsize="small")
    fig.tight_layout()
    return fig
